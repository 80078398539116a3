//! Reading a lockfile into the shape the checks share: its entries, each with its `name = `
//! line, and the dependency edges between them.

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

/// Reads the run's lockfiles for the pass over them ([`super::lockpass`]), and keeps them for a
/// caller that plans from them after the checks (`fleetward fix`) when asked to.
#[derive(Default)]
pub struct LockCache {
    root: std::path::PathBuf,
    keep: bool,
    kept: Mutex<HashMap<String, Loaded>>,
}

impl LockCache {
    /// Lockfiles under `root`, kept after the pass when `keep`.
    pub fn new(root: &Path, keep: bool) -> LockCache {
        LockCache { root: root.to_path_buf(), keep, kept: Mutex::default() }
    }

    /// Read and parse lockfile `rel` (the pass does it once per lockfile).
    pub fn load(&self, rel: &str) -> Loaded {
        let loaded = load(&self.root, rel);
        if self.keep {
            self.kept
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(rel.to_string(), loaded.clone());
        }
        loaded
    }

    /// Lockfile `rel` as the pass read it; `None` when it was not kept (or not read).
    pub fn get(&self, rel: &str) -> Option<Loaded> {
        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(rel).cloned()
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
