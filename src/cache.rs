//! The per-file result cache of the source checks.
//!
//! A file's findings depend only on its bytes, where it sits (path, package, unsafe mode, the
//! re-exports of its crate), the rules and the engine. The cache keeps them under a key that
//! hashes all of that (the file's bytes with XXH3-128, the rest with BLAKE3), in one JSON file per scanned root and *namespace* (the
//! fleetward version and executable, the rule packs, the policy's own rules and the engine
//! settings), in the platform's cache directory (`~/.cache/fleetward` on Linux),
//! `$FLEETWARD_CACHE_DIR` or `--cache-dir`.
//!
//! The cache is never trusted blindly: a file that does not parse, or that was written for
//! another version, namespace or root, is ignored and rewritten. It lives outside the scanned
//! repository, so the repository cannot plant entries. Only the entries used by a run are
//! written back, so the file does not grow with history; a run that only hit the cache writes
//! nothing. Writes go to a temporary file renamed into place, so concurrent runs never see a
//! half-written cache.
//!
//! Reading every file to hash it is most of an unchanged rerun, so the cache also remembers
//! each file's content hash under its *stamp* (size, modification and change times, inode):
//! a file whose stamp is unchanged is not read again, as git's index and cargo do. A file
//! modified in the two seconds before the run gets no stamp (a write in the same clock tick
//! could leave it unchanged), so it is always read and hashed.

use crate::diag::Finding;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

const FORMAT: u32 = 4;

/// The cache directory: `$FLEETWARD_CACHE_DIR`, else the platform's cache directory.
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var_os("FLEETWARD_CACHE_DIR") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::cache_dir().map(|d| d.join("fleetward")),
    }
}

/// Hex BLAKE3 of the parts, each length-prefixed so that boundaries cannot collide (BLAKE3
/// rather than SHA-256: a warm run hashes every source file, and it is several times faster).
pub fn digest<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().to_hex().to_string()
}

/// The content hash of a file's bytes (XXH3-128, hex): not cryptographic, and need not be, as
/// the cache lives outside the scanned tree.
pub fn content_digest(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// What identifies the running fleetward build: its version, and the size and modification
/// time of its executable (so a rebuilt binary never reads results of the previous one).
pub fn build_stamp() -> String {
    let exe = std::env::current_exe().ok().and_then(|p| std::fs::metadata(p).ok());
    let stamp = exe.map(|m| {
        let modified = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        format!("{}:{}", m.len(), modified.map_or(0, |d| d.as_nanos()))
    });
    format!("{}:{}", env!("CARGO_PKG_VERSION"), stamp.unwrap_or_default())
}

/// A file's stamp (see the module docs), or `None` when it was modified less than two seconds
/// before `now` or the platform gives no modification time.
pub fn stamp(meta: &std::fs::Metadata, now: std::time::SystemTime) -> Option<String> {
    let modified = meta.modified().ok()?;
    if now.duration_since(modified).ok()? < std::time::Duration::from_secs(2) {
        return None;
    }
    let mtime = modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos();
    #[cfg(unix)]
    let more = {
        use std::os::unix::fs::MetadataExt;
        format!("{}.{}:{}:{}", meta.ctime(), meta.ctime_nsec(), meta.ino(), meta.dev())
    };
    #[cfg(not(unix))]
    let more = String::new();
    Some(format!("{}:{mtime}:{more}", meta.len()))
}

#[derive(Serialize, Deserialize)]
struct OnDisk {
    format: u32,
    namespace: String,
    root: String,
    entries: HashMap<String, Vec<Finding>>,
    /// Package key (its files' paths and contents) -> digest of its crate index.
    #[serde(default)]
    indexes: HashMap<String, String>,
    /// File path -> (stamp, content hash).
    #[serde(default)]
    hashes: HashMap<String, (String, String)>,
    /// Other results stored by key (the auth check's public-entry hits per workspace).
    #[serde(default)]
    values: HashMap<String, serde_json::Value>,
}

/// An open cache for one run.
pub struct Cache {
    path: PathBuf,
    namespace: String,
    root: String,
    old: HashMap<String, Vec<Finding>>,
    used: Mutex<HashMap<String, Vec<Finding>>>,
    old_indexes: HashMap<String, String>,
    used_indexes: Mutex<HashMap<String, String>>,
    old_hashes: HashMap<String, (String, String)>,
    used_hashes: Mutex<HashMap<String, (String, String)>>,
    old_values: HashMap<String, serde_json::Value>,
    used_values: Mutex<HashMap<String, serde_json::Value>>,
    hits: AtomicUsize,
    misses: AtomicUsize,
    /// A run that checks only some packages keeps the entries of the others.
    partial: bool,
    /// Something was stored that the file did not already hold (else saving compares sizes only).
    changed: std::sync::atomic::AtomicBool,
}

impl Cache {
    /// Open the cache of `root` under `namespace` in `dir`. Never fails: a missing,
    /// unreadable, corrupted or foreign cache file is an empty cache.
    pub fn open(dir: &Path, root: &Path, namespace: &str, partial: bool) -> Cache {
        let root = root.to_string_lossy().into_owned();
        let name = digest([namespace.as_bytes(), root.as_bytes()]);
        let path = dir.join(format!("source-{}.json", &name[..24]));
        let (old, old_indexes, old_hashes, old_values) = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<OnDisk>(&bytes).ok())
            .filter(|d| d.format == FORMAT && d.namespace == namespace && d.root == root)
            .map(|d| (d.entries, d.indexes, d.hashes, d.values))
            .unwrap_or_default();
        Cache {
            path,
            namespace: namespace.to_string(),
            root,
            old,
            used: Mutex::new(HashMap::new()),
            old_indexes,
            used_indexes: Mutex::new(HashMap::new()),
            old_hashes,
            used_hashes: Mutex::new(HashMap::new()),
            old_values,
            used_values: Mutex::new(HashMap::new()),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
            partial,
            changed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The content hash (XXH3-128, hex) of the file at `rel` under `root`: the recorded one when
    /// its stamp is unchanged, else read and hashed (and recorded under its stamp).
    pub fn content_hash(&self, root: &Path, rel: &str, now: std::time::SystemTime) -> Option<String> {
        let path = root.join(rel);
        let meta = std::fs::metadata(&path).ok()?;
        let stamp = stamp(&meta, now);
        if let Some(known) = stamp.as_deref().and_then(|s| self.known_hash(rel, s)) {
            return Some(known);
        }
        let hash = content_digest(&std::fs::read(&path).ok()?);
        if let Some(s) = stamp {
            self.put_hash(rel, s, hash.clone());
        }
        Some(hash)
    }

    /// The value stored under `key`, if any.
    pub fn get_value(&self, key: &str) -> Option<serde_json::Value> {
        let found = self.old_values.get(key)?.clone();
        self.lock_values().insert(key.to_string(), found.clone());
        Some(found)
    }

    /// Store a value computed this run.
    pub fn put_value(&self, key: String, value: serde_json::Value) {
        self.note(self.old_values.get(&key) != Some(&value));
        self.lock_values().insert(key, value);
    }

    /// Remember that the cache file no longer holds what this run knows.
    fn note(&self, differs: bool) {
        if differs {
            self.changed.store(true, Ordering::Relaxed);
        }
    }

    fn lock_values(&self) -> std::sync::MutexGuard<'_, HashMap<String, serde_json::Value>> {
        self.used_values.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The findings stored under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Vec<Finding>> {
        let Some(found) = self.old.get(key) else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(key.to_string(), found.clone());
        Some(found.clone())
    }

    /// The digest of the crate index of a package whose files have not changed.
    pub fn index_digest(&self, package_key: &str) -> Option<String> {
        let found = self.old_indexes.get(package_key)?.clone();
        self.lock_indexes().insert(package_key.to_string(), found.clone());
        Some(found)
    }

    /// Remember the digest of a package's crate index.
    pub fn put_index_digest(&self, package_key: String, digest: String) {
        self.note(self.old_indexes.get(&package_key) != Some(&digest));
        self.lock_indexes().insert(package_key, digest);
    }

    fn lock_indexes(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.used_indexes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The content hash of the file at `rel` when its stamp is the one recorded with it.
    pub fn known_hash(&self, rel: &str, stamp: &str) -> Option<String> {
        let (s, hash) = self.old_hashes.get(rel).filter(|(s, _)| s == stamp)?;
        self.lock_hashes().insert(rel.to_string(), (s.clone(), hash.clone()));
        Some(hash.clone())
    }

    /// Remember the content hash of the file at `rel` under its stamp.
    pub fn put_hash(&self, rel: &str, stamp: String, hash: String) {
        self.note(self.old_hashes.get(rel).is_none_or(|(s, h)| *s != stamp || *h != hash));
        self.lock_hashes().insert(rel.to_string(), (stamp, hash));
    }

    fn lock_hashes(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, String)>> {
        self.used_hashes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Store the findings of a file scanned this run.
    pub fn put(&self, key: String, findings: &[Finding]) {
        self.note(self.old.get(&key).is_none_or(|f| f != findings));
        self.lock().insert(key, findings.to_vec());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Finding>>> {
        self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// (hits, misses) so far.
    pub fn stats(&self) -> (usize, usize) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }

    /// Write the entries used by this run back (with the others too when the run was partial,
    /// so that checking one changed service does not evict the rest), unless nothing changed.
    pub fn save(self) -> std::io::Result<()> {
        let mut used = self.used.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut indexes = self.used_indexes.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut hashes = self.used_hashes.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut values = self.used_values.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.partial {
            fn keep<V>(used: &mut HashMap<String, V>, old: HashMap<String, V>) {
                for (k, v) in old {
                    used.entry(k).or_insert(v);
                }
            }
            keep(&mut used, self.old.clone());
            keep(&mut indexes, self.old_indexes.clone());
            keep(&mut hashes, self.old_hashes.clone());
            keep(&mut values, self.old_values.clone());
        }
        // Every entry used was either read from the file or stored equal to it (`changed` is
        // false): the maps equal the file's when they are as large.
        let unchanged = !self.changed.load(Ordering::Relaxed)
            && self.misses.load(Ordering::Relaxed) == 0
            && used.len() == self.old.len()
            && indexes.len() == self.old_indexes.len()
            && hashes.len() == self.old_hashes.len()
            && values.len() == self.old_values.len();
        if unchanged {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let disk = OnDisk {
            format: FORMAT,
            namespace: self.namespace,
            root: self.root,
            entries: used,
            indexes,
            hashes,
            values,
        };
        let tmp = self.path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec(&disk).map_err(std::io::Error::other)?)?;
        std::fs::rename(&tmp, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Location, Severity, Span};

    fn finding() -> Finding {
        Finding::new("banned/memory-transmute", Severity::Medium, "m", Location::new("a.rs", Span::line(3)))
    }

    #[test]
    fn round_trip_and_only_used_entries_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new("/repo");
        let c = Cache::open(dir.path(), root, "ns", false);
        assert!(c.get("a").is_none());
        c.put("a".into(), &[finding()]);
        c.put("b".into(), &[]);
        c.save().unwrap();

        let c = Cache::open(dir.path(), root, "ns", false);
        assert_eq!(c.get("a"), Some(vec![finding()]));
        assert_eq!(c.stats(), (1, 0));
        let path = c.path().to_path_buf();
        c.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"a\"") && !text.contains("\"b\""), "{text}");

        // Another namespace or root does not see these entries.
        assert!(Cache::open(dir.path(), root, "other", false).get("a").is_none());
        assert!(Cache::open(dir.path(), Path::new("/elsewhere"), "ns", false).get("a").is_none());
    }

    #[test]
    fn corrupted_or_foreign_files_are_ignored_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new("/repo");
        let c = Cache::open(dir.path(), root, "ns", false);
        let path = c.path().to_path_buf();
        c.put("a".into(), &[finding()]);
        c.save().unwrap();
        for bad in [
            b"{ not json".to_vec(),
            br#"{"format":2,"namespace":"ns2","root":"/repo","entries":{"a":[]}}"#.to_vec(),
            br#"{"format":9,"namespace":"ns","root":"/repo","entries":{"a":[]}}"#.to_vec(),
            vec![0xff, 0x00, 0x13],
        ] {
            std::fs::write(&path, &bad).unwrap();
            let c = Cache::open(dir.path(), root, "ns", false);
            assert!(c.get("a").is_none());
            c.put("a".into(), &[finding()]);
            c.save().unwrap();
            assert_eq!(Cache::open(dir.path(), root, "ns", false).get("a"), Some(vec![finding()]));
        }
    }

    #[test]
    fn digest_separates_parts() {
        assert_ne!(digest([b"ab".as_slice(), b"c"]), digest([b"a".as_slice(), b"bc"]));
        assert_eq!(digest([b"x".as_slice()]).len(), 64);
    }
}
