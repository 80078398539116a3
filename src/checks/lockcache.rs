//! Every lockfile of a run, read and parsed at most once, whichever checks need it
//! (`advisories`, `manifest`) and in whichever order they ask: the first to ask parses it,
//! the others wait for that result.

use super::advisories::Graph;
use super::advisories::lockfile::{self, LockPackage};
use crate::diag::{self, Finding};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Lockfiles larger than this are reported, not parsed.
pub const MAX_LOCKFILE_BYTES: u64 = 64 * 1024 * 1024;

/// One parsed `Cargo.lock`.
pub struct Parsed {
    pub packages: Vec<LockPackage>,
    /// The entries each entry depends on (lockfile order).
    pub edges: Vec<Vec<usize>>,
}

impl Parsed {
    /// The dependency graph over these entries.
    pub fn graph(&self) -> Graph<'_> {
        Graph::from_edges(&self.packages, &self.edges)
    }
}

/// A lockfile, or the `fleetward/parse-error` finding that says why it could not be read.
pub type Loaded = Result<Arc<Parsed>, Box<Finding>>;

#[derive(Default)]
pub struct LockCache {
    root: std::path::PathBuf,
    slots: HashMap<String, Mutex<Slot>>,
}

/// A lockfile parsed for the readers still to come, and how many those are.
#[derive(Default)]
struct Slot {
    loaded: Option<Loaded>,
    readers_left: usize,
}

impl LockCache {
    /// A cache for the lockfiles `rels` under `root` (nothing is read yet); `readers` is how
    /// many checks or callers will ask for each. A lockfile is kept only until its last reader
    /// has it (a reader that skips one leaves it kept until the run ends).
    pub fn new(root: &Path, rels: &[String], readers: usize) -> LockCache {
        let slot = || Mutex::new(Slot { loaded: None, readers_left: readers });
        LockCache { root: root.to_path_buf(), slots: rels.iter().map(|r| (r.clone(), slot())).collect() }
    }

    /// The lockfile `rel`, parsed by its first reader; `None` when it is not one of the run's.
    /// The others wait for that parse rather than parse it again.
    pub fn get(&self, rel: &str) -> Option<Loaded> {
        let mut slot = self.slots.get(rel)?.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let loaded = match &slot.loaded {
            Some(l) => l.clone(),
            None => load(&self.root, rel),
        };
        slot.readers_left = slot.readers_left.saturating_sub(1);
        slot.loaded = (slot.readers_left > 0).then(|| loaded.clone());
        Some(loaded)
    }
}

fn load(root: &Path, rel: &str) -> Loaded {
    let fail =
        |line: u32, col: u32, message: String| Err(Box::new(diag::parse_error(rel, line, col, message)));
    let path = root.join(rel);
    match std::fs::metadata(&path) {
        Ok(m) if m.len() > MAX_LOCKFILE_BYTES => {
            return fail(1, 1, format!("lockfile is too large to audit ({} bytes)", m.len()));
        }
        Err(e) => return fail(1, 1, format!("cannot read lockfile: {e}")),
        Ok(_) => {}
    }
    let text = match std::fs::read(&path).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            let (line, col) =
                diag::line_col(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
            return fail(line, col, "lockfile is not valid UTF-8".into());
        }
        Err(e) => return fail(1, 1, format!("cannot read lockfile: {e}")),
    };
    let packages = match lockfile::parse(&text) {
        Ok(p) => p,
        Err(message) => {
            let (line, col) = super::advisories::error_position(&message);
            let first = message.lines().next().unwrap_or("invalid lockfile").trim().to_lowercase();
            return fail(line, col, format!("invalid Cargo.lock: {first}"));
        }
    };
    let edges = Graph::new(&packages).into_edges();
    Ok(Arc::new(Parsed { packages, edges }))
}
