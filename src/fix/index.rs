//! What versions of a crate exist: the registry index, read from disk without any network.
//!
//! Two places are read, in this order:
//! - a `local-registry` that cargo's configuration puts in place of crates.io
//!   (`[source.crates-io] replace-with = ...`): cargo resolves only from it, so it is
//!   authoritative;
//! - cargo's own cache of the crates.io sparse index (`$CARGO_HOME/registry/index/*/.cache`),
//!   a snapshot from cargo's last update: versions it lists are real, but a newer one may exist.
//!
//! Without either, the plan takes the smallest version the advisories' patched ranges accept.

use rustsec::{Version, VersionReq};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One published version of a crate.
#[derive(Debug, Clone)]
pub struct Release {
    pub version: Version,
    pub yanked: bool,
    /// (real crate name, requirement) of its non-dev dependencies.
    pub deps: Vec<(String, VersionReq)>,
}

#[derive(Deserialize)]
struct Line {
    vers: String,
    #[serde(default)]
    deps: Vec<LineDep>,
    #[serde(default)]
    yanked: bool,
}

#[derive(Deserialize)]
struct LineDep {
    name: String,
    req: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    package: Option<String>,
}

enum Store {
    Local(PathBuf),
    SparseCache(Vec<PathBuf>),
    None,
}

/// The index, read lazily per crate.
pub struct Index {
    store: Store,
    cache: Mutex<HashMap<String, Option<std::sync::Arc<Vec<Release>>>>>,
}

impl Index {
    /// The index cargo would use for a workspace at `dir`.
    pub fn for_workspace(dir: &Path) -> Index {
        let store = local_registry(dir)
            .map(Store::Local)
            .or_else(|| {
                let dirs = sparse_cache_dirs();
                (!dirs.is_empty()).then_some(Store::SparseCache(dirs))
            })
            .unwrap_or(Store::None);
        Index { store, cache: Mutex::new(HashMap::new()) }
    }

    /// An index that knows nothing (the plan then relies on the advisories alone).
    pub fn none() -> Index {
        Index { store: Store::None, cache: Mutex::new(HashMap::new()) }
    }

    /// Whether the index lists every version there is (a local registry), rather than what
    /// cargo happened to cache.
    pub fn authoritative(&self) -> bool {
        matches!(self.store, Store::Local(_))
    }

    /// What this index is, for the plan's header.
    pub fn describe(&self) -> String {
        match &self.store {
            Store::Local(p) => format!("local registry {}", p.display()),
            Store::SparseCache(_) => "cargo's cached crates.io index".to_string(),
            Store::None => "no registry index (patched ranges only)".to_string(),
        }
    }

    /// Every release of `name`, sorted by version, or `None` when the index does not know it.
    pub fn releases(&self, name: &str) -> Option<std::sync::Arc<Vec<Release>>> {
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.entry(name.to_string()).or_insert_with(|| self.load(name).map(std::sync::Arc::new)).clone()
    }

    fn load(&self, name: &str) -> Option<Vec<Release>> {
        let rel = index_path(name);
        let lines: Vec<String> = match &self.store {
            Store::Local(dir) => {
                let text = std::fs::read_to_string(dir.join("index").join(&rel)).ok()?;
                text.lines().map(str::to_string).collect()
            }
            Store::SparseCache(dirs) => {
                let mut out = None;
                for d in dirs {
                    if let Ok(bytes) = std::fs::read(d.join(".cache").join(&rel)) {
                        out = parse_cache_file(&bytes);
                        if out.is_some() {
                            break;
                        }
                    }
                }
                out?
            }
            Store::None => return None,
        };
        let mut releases: Vec<Release> = lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str::<Line>(l).ok())
            .filter_map(|l| {
                let version = Version::parse(&l.vers).ok()?;
                let deps = l
                    .deps
                    .into_iter()
                    .filter(|d| d.kind.as_deref() != Some("dev"))
                    .filter_map(|d| Some((d.package.unwrap_or(d.name), VersionReq::parse(&d.req).ok()?)))
                    .collect();
                Some(Release { version, yanked: l.yanked, deps })
            })
            .collect();
        releases.sort_by(|a, b| a.version.cmp(&b.version));
        Some(releases)
    }
}

/// The path of a crate's file in a crates.io-style index (`se/rd/serde`, `3/s/syn`, `1/a`).
pub fn index_path(name: &str) -> PathBuf {
    let n = name.to_lowercase();
    match n.len() {
        1 => PathBuf::from("1").join(&n),
        2 => PathBuf::from("2").join(&n),
        3 => PathBuf::from("3").join(&n[..1]).join(&n),
        _ => PathBuf::from(&n[..2]).join(&n[2..4]).join(&n),
    }
}

/// cargo's index cache file: a version byte, a u32 index version, a revision string and a NUL,
/// then (version NUL json NUL) pairs.
fn parse_cache_file(bytes: &[u8]) -> Option<Vec<String>> {
    let rest = bytes.get(5..)?;
    let mut parts = rest.split(|b| *b == 0);
    parts.next()?; // the revision
    let mut out = Vec::new();
    while let (Some(_version), Some(json)) = (parts.next(), parts.next()) {
        out.push(String::from_utf8_lossy(json).into_owned());
    }
    Some(out)
}

fn sparse_cache_dirs() -> Vec<PathBuf> {
    let Some(home) = crate::db::cargo_home() else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(home.join("registry").join("index"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("index.crates.io-")))
        .filter(|p| p.join(".cache").is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The `local-registry` directory that replaces crates.io in cargo's configuration as seen from
/// `dir` (its `.cargo/config.toml` and its parents', then `$CARGO_HOME/config.toml`; the
/// nearest file that says wins, as in cargo).
fn local_registry(dir: &Path) -> Option<PathBuf> {
    let mut files: Vec<(PathBuf, PathBuf)> = Vec::new(); // (config file, base for relative paths)
    for d in dir.ancestors() {
        for name in ["config.toml", "config"] {
            let f = d.join(".cargo").join(name);
            if f.is_file() {
                files.push((f, d.to_path_buf()));
                break;
            }
        }
    }
    if let Some(home) = crate::db::cargo_home() {
        for name in ["config.toml", "config"] {
            let f = home.join(name);
            if f.is_file() && !files.iter().any(|(g, _)| g == &f) {
                let base = home.parent().map(Path::to_path_buf).unwrap_or_else(|| home.clone());
                files.push((f, base));
                break;
            }
        }
    }
    let tables: Vec<(toml::Table, PathBuf)> = files
        .iter()
        .filter_map(|(f, base)| {
            Some((std::fs::read_to_string(f).ok()?.parse::<toml::Table>().ok()?, base.clone()))
        })
        .collect();
    let source = |t: &toml::Table, name: &str, key: &str| -> Option<String> {
        t.get("source")?.get(name)?.get(key)?.as_str().map(str::to_string)
    };
    let replacement = tables.iter().find_map(|(t, _)| source(t, "crates-io", "replace-with"))?;
    tables.iter().find_map(|(t, base)| {
        let p = PathBuf::from(source(t, &replacement, "local-registry")?);
        Some(if p.is_absolute() { p } else { base.join(p) })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_follow_the_crates_io_layout() {
        assert_eq!(index_path("a"), PathBuf::from("1/a"));
        assert_eq!(index_path("io"), PathBuf::from("2/io"));
        assert_eq!(index_path("syn"), PathBuf::from("3/s/syn"));
        assert_eq!(index_path("Serde"), PathBuf::from("se/rd/serde"));
    }

    #[test]
    fn cache_files_are_split_into_json_lines() {
        let mut bytes = vec![3, 2, 0, 0, 0];
        bytes.extend_from_slice(b"etag\0");
        bytes.extend_from_slice(b"1.0.0\0{\"vers\":\"1.0.0\"}\0");
        bytes.extend_from_slice(b"1.0.1\0{\"vers\":\"1.0.1\",\"yanked\":true}\0");
        let lines = parse_cache_file(&bytes).unwrap();
        assert_eq!(lines, vec!["{\"vers\":\"1.0.0\"}", "{\"vers\":\"1.0.1\",\"yanked\":true}"]);
    }

    #[test]
    fn a_local_registry_is_read_from_cargo_configuration() {
        let tmp = tempfile::tempdir().unwrap();
        let reg = tmp.path().join("reg");
        std::fs::create_dir_all(reg.join("index/3/f")).unwrap();
        std::fs::write(
            reg.join("index/3/f/foo"),
            "{\"name\":\"foo\",\"vers\":\"0.2.0\",\"deps\":[{\"name\":\"b\",\"package\":\"bar\",\"req\":\"^1\",\"kind\":\"normal\"},{\"name\":\"t\",\"req\":\"1\",\"kind\":\"dev\"}],\"cksum\":\"00\",\"yanked\":true}\n{\"name\":\"foo\",\"vers\":\"0.1.0\",\"deps\":[],\"cksum\":\"00\"}\n",
        )
        .unwrap();
        let ws = tmp.path().join("repo/ws");
        std::fs::create_dir_all(ws.join(".cargo")).unwrap();
        std::fs::write(
            ws.join(".cargo/config.toml"),
            "[source.crates-io]\nreplace-with = \"mine\"\n[source.mine]\nlocal-registry = \"../reg\"\n",
        )
        .unwrap();
        // Relative paths are relative to the directory holding `.cargo`: ws/../reg is repo/reg.
        std::fs::rename(&reg, tmp.path().join("repo/reg")).unwrap();
        let index = Index::for_workspace(&ws);
        assert!(index.authoritative());
        let r = index.releases("foo").unwrap();
        assert_eq!(r.iter().map(|r| r.version.to_string()).collect::<Vec<_>>(), ["0.1.0", "0.2.0"]);
        assert!(r[1].yanked);
        assert_eq!(r[1].deps.len(), 1);
        assert_eq!(r[1].deps[0].0, "bar");
        assert!(index.releases("nope").is_none());
    }
}
