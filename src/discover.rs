//! discover: one parallel walk of the scanned tree that lists the files later stages read.
//!
//! It owns the answer to "which files are part of the fleet": `.gitignore` (even outside a git
//! repository), hidden directories, build output (`target/` beside a manifest or tagged with
//! `CACHEDIR.TAG`), vendored trees (`vendor/`, directories of vendored crates holding
//! `.cargo-checksum.json`) and the policy's `fleet.exclude` globs are skipped. Symlinks are
//! followed only when their target stays inside the root; a link leaving the root, a link loop
//! or an unreadable directory becomes a `fleetward/skipped-path` finding. The walk opens no file
//! (it parses nothing) and its output is sorted, so it is identical at any thread count.

use crate::config::Policy;
use crate::diag::{Finding, Location, Severity, Span};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The rule id of "a path was not scanned".
pub const SKIPPED_PATH: &str = "fleetward/skipped-path";

/// File names of the coverage reports discovery lists (besides any `*.lcov`).
pub const COVERAGE_FILE_NAMES: &[&str] =
    &["lcov.info", "cobertura.xml", "coverage.json", "tarpaulin-report.json"];

/// What the walk found. Every list holds paths relative to the root, `/`-separated, sorted and
/// free of duplicates.
#[derive(Debug, Default, Clone)]
pub struct Discovered {
    /// Every `Cargo.toml`.
    pub manifests: Vec<String>,
    /// Every `Cargo.lock`.
    pub lockfiles: Vec<String>,
    /// Every `*.rs` file.
    pub rust_files: Vec<String>,
    /// `lcov.info`, `*.lcov`, `cobertura.xml`, `coverage.json`, `tarpaulin-report.json`.
    pub coverage_reports: Vec<String>,
    /// Every other file that may hold text (the `secrets` check reads them): not a known
    /// binary or media format by its extension. Includes hidden files (`.env`, `.npmrc`), not
    /// hidden directories other than `.github`.
    pub text_files: Vec<String>,
    /// `fleetward/skipped-path` findings (links leaving the root, loops, unreadable paths),
    /// sorted.
    pub problems: Vec<Finding>,
}

/// Which list a file belongs to, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileClass {
    Manifest,
    Lockfile,
    Rust,
    Coverage,
    Text,
}

/// Extensions of files that hold no text worth scanning for secrets (binaries, media,
/// archives, fonts, compiled artefacts).
const BINARY_EXTENSIONS: &[&str] = &[
    "7z", "a", "avif", "bin", "bmp", "bz2", "class", "dll", "dylib", "eot", "exe", "gif", "gz", "ico", "jar",
    "jpeg", "jpg", "lib", "mp3", "mp4", "o", "obj", "otf", "pdf", "png", "pyc", "rlib", "so", "tar", "tgz",
    "ttf", "wasm", "webm", "webp", "woff", "woff2", "xz", "zip", "zst",
];

fn classify(name: &str) -> Option<FileClass> {
    let hidden = name.starts_with('.');
    match name {
        _ if hidden => {
            // Hidden files are listed for the secrets check only (`.env`, `.npmrc`, ...).
            Some(FileClass::Text)
        }
        "Cargo.toml" => Some(FileClass::Manifest),
        "Cargo.lock" => Some(FileClass::Lockfile),
        _ if name.ends_with(".rs") && name.len() > 3 => Some(FileClass::Rust),
        _ if name.ends_with(".lcov") || COVERAGE_FILE_NAMES.contains(&name) => Some(FileClass::Coverage),
        _ => {
            let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
            match ext {
                Some(e) if BINARY_EXTENSIONS.contains(&e.as_str()) => None,
                _ => Some(FileClass::Text),
            }
        }
    }
}

/// The severity of `fleetward/skipped-path`, from the rule registry.
fn skipped_severity() -> Severity {
    crate::registry::rule(SKIPPED_PATH).map_or(Severity::Info, |r| r.severity)
}

/// A `fleetward/skipped-path` finding for `rel` (relative to the root).
pub fn skipped(rel: &str, why: &str) -> Finding {
    let file = if rel.is_empty() { "." } else { rel };
    Finding::new(
        SKIPPED_PATH,
        skipped_severity(),
        format!("skipped `{file}`: {why}"),
        Location::new(file, Span::line(1)),
    )
    .with_key(why.to_string())
}

/// `path` relative to `root` with `/` separators, or `None` when it is not under `root` or not
/// valid UTF-8.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    // The walk's own paths are `root/name/...` with no `.`, `..` or empty component: compared
    // as bytes (called once per file of the tree), else component by component.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let rest = path
            .as_os_str()
            .as_bytes()
            .strip_prefix(root.as_os_str().as_bytes())
            .and_then(|r| r.strip_prefix(b"/"));
        if let Some(rest) = rest
            && !rest.is_empty()
            && !rest.split(|&b| b == b'/').any(|c| c.is_empty() || c == b"." || c == b"..")
            && let Ok(rel) = std::str::from_utf8(rest)
        {
            return Some(rel.to_string());
        }
    }
    let rel = path.strip_prefix(root).ok()?;
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            std::path::Component::Normal(s) => parts.push(s.to_str()?),
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// A best-effort relative rendering of `path` for messages (never an absolute path outside
/// the root).
fn display_rel(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => path.file_name().map_or_else(|| "?".to_string(), |n| n.to_string_lossy().into_owned()),
    }
}

/// What one walker thread collects.
#[derive(Default)]
struct Collected {
    files: Vec<(FileClass, String)>,
    /// Relative paths of followed symlinks (their contents may duplicate the real tree).
    links: Vec<String>,
    problems: Vec<Finding>,
}

/// Skip decisions that need only the entry itself (and at most one `stat`).
struct Filter {
    root: PathBuf,
    exclude: Vec<crate::config::PolicyGlob>,
    problems: Arc<Mutex<Vec<Finding>>>,
    links: Arc<Mutex<Vec<String>>>,
}

impl Filter {
    fn keep(&self, entry: &ignore::DirEntry) -> bool {
        let path = entry.path();
        let Some(rel) = relative(&self.root, path) else {
            self.problem(skipped(&display_rel(&self.root, path), "the path is not valid UTF-8"));
            return false;
        };
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        // Hidden directories (`.git`, `.idea`, `.venv`) are not the fleet's; `.github` holds
        // workflows, which can hold secrets. Hidden files are kept for the secrets check.
        let name = entry.file_name().to_str().unwrap_or("");
        if is_dir && entry.depth() > 0 && name.starts_with('.') && name != ".github" {
            return false;
        }
        // `dir/` in the policy names a directory, as in .gitignore
        if self.exclude.iter().any(|g| g.is_match(&rel) || (is_dir && g.is_match(&format!("{rel}/")))) {
            return false;
        }
        if entry.path_is_symlink() {
            match std::fs::canonicalize(path) {
                Ok(target) if target.starts_with(&self.root) => {
                    if let Ok(mut links) = self.links.lock() {
                        links.push(rel.clone());
                    }
                }
                Ok(_) => {
                    self.problem(skipped(&rel, "the symlink points outside the scanned root"));
                    return false;
                }
                Err(_) => {
                    self.problem(skipped(&rel, "the symlink target cannot be resolved"));
                    return false;
                }
            }
        }
        !(is_dir && is_skipped_dir(path))
    }

    fn problem(&self, finding: Finding) {
        if let Ok(mut p) = self.problems.lock() {
            p.push(finding);
        }
    }
}

/// Build output and vendored trees: `vendor/`, `target/` beside a `Cargo.toml` or holding a
/// `CACHEDIR.TAG`, and vendored crates (a `.cargo-checksum.json` inside).
fn is_skipped_dir(path: &Path) -> bool {
    match path.file_name().and_then(|n| n.to_str()) {
        Some("vendor") => true,
        Some("target") => {
            path.join("CACHEDIR.TAG").exists() || path.parent().is_some_and(|p| p.join("Cargo.toml").exists())
        }
        _ => path.join(".cargo-checksum.json").exists(),
    }
}

/// Walk `root` in parallel and list manifests, lockfiles, Rust sources and coverage reports.
pub fn walk(root: &Path, policy: &Policy) -> Discovered {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let problems = Arc::new(Mutex::new(Vec::new()));
    let links = Arc::new(Mutex::new(Vec::new()));
    let filter = Filter {
        root: root.clone(),
        exclude: policy.fleet.exclude.clone(),
        problems: Arc::clone(&problems),
        links: Arc::clone(&links),
    };

    let mut builder = ignore::WalkBuilder::new(&root);
    builder
        .hidden(false) // hidden directories are skipped by the filter, hidden files kept
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false) // the result must not depend on the user's machine
        .require_git(false)
        .follow_links(true)
        .filter_entry(move |e| filter.keep(e));
    let walker = builder.build_parallel();

    let results: Mutex<Vec<Collected>> = Mutex::new(Vec::new());
    walker.visit(&mut VisitorBuilder { root: &root, results: &results });

    let mut manifests = BTreeSet::new();
    let mut lockfiles = BTreeSet::new();
    let mut rust_files = BTreeSet::new();
    let mut coverage = BTreeSet::new();
    let mut text = BTreeSet::new();
    let mut all_problems = std::mem::take(&mut *problems.lock().unwrap_or_else(|e| e.into_inner()));
    let mut all_links = std::mem::take(&mut *links.lock().unwrap_or_else(|e| e.into_inner()));
    for c in results.into_inner().unwrap_or_else(|e| e.into_inner()) {
        all_problems.extend(c.problems);
        all_links.extend(c.links);
        for (class, rel) in c.files {
            match class {
                FileClass::Manifest => manifests.insert(rel),
                FileClass::Lockfile => lockfiles.insert(rel),
                FileClass::Rust => rust_files.insert(rel),
                FileClass::Coverage => coverage.insert(rel),
                FileClass::Text => text.insert(rel),
            };
        }
    }

    // A link inside the root shows files that the walk also found at their real path: keep
    // each file once, under its real path.
    all_links.sort();
    all_links.dedup();
    if !all_links.is_empty() {
        for set in [&mut manifests, &mut lockfiles, &mut rust_files, &mut coverage, &mut text] {
            drop_link_duplicates(&root, &all_links, set);
        }
    }

    crate::diag::sort_findings(&mut all_problems);
    all_problems.dedup_by(|a, b| a.location == b.location && a.message == b.message);
    Discovered {
        manifests: manifests.into_iter().collect(),
        lockfiles: lockfiles.into_iter().collect(),
        rust_files: rust_files.into_iter().collect(),
        coverage_reports: coverage.into_iter().collect(),
        text_files: text.into_iter().collect(),
        problems: all_problems,
    }
}

fn drop_link_duplicates(root: &Path, links: &[String], set: &mut BTreeSet<String>) {
    let via_link: Vec<String> = set
        .iter()
        .filter(|f| links.iter().any(|l| f.as_str() == l || f.starts_with(&format!("{l}/"))))
        .cloned()
        .collect();
    for f in via_link {
        let real = std::fs::canonicalize(root.join(&f)).ok().and_then(|p| relative(root, &p));
        if let Some(real) = real
            && real != f
            && set.contains(&real)
        {
            set.remove(&f);
        }
    }
}

struct VisitorBuilder<'a> {
    root: &'a Path,
    results: &'a Mutex<Vec<Collected>>,
}

impl<'a> ignore::ParallelVisitorBuilder<'a> for VisitorBuilder<'a> {
    fn build(&mut self) -> Box<dyn ignore::ParallelVisitor + 'a> {
        Box::new(Visitor {
            root: self.root.to_path_buf(),
            local: Some(Collected::default()),
            results: self.results,
        })
    }
}

struct Visitor<'a> {
    root: PathBuf,
    local: Option<Collected>,
    results: &'a Mutex<Vec<Collected>>,
}

impl Visitor<'_> {
    fn error(&mut self, err: &ignore::Error) {
        let Some(local) = self.local.as_mut() else { return };
        match err {
            ignore::Error::Partial(errs) => {
                for e in errs {
                    self.error(e);
                }
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                self.error(err);
            }
            ignore::Error::Loop { child, .. } => {
                let rel = display_rel(&self.root, child);
                local.problems.push(skipped(&rel, "the symlink forms a loop"));
            }
            ignore::Error::WithPath { path, err } => {
                let rel = display_rel(&self.root, path);
                let why = match err.as_ref() {
                    ignore::Error::Loop { .. } => "the symlink forms a loop".to_string(),
                    ignore::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
                        "the path does not exist (a dangling symlink?)".to_string()
                    }
                    ignore::Error::Io(io) => format!("cannot read it: {}", lower_first(&io.to_string())),
                    // A malformed line in an ignore file: the walk goes on with the rest of it.
                    ignore::Error::Glob { .. } | ignore::Error::WithLineNumber { .. } => return,
                    other => lower_first(&other.to_string()),
                };
                local.problems.push(skipped(&rel, &why));
            }
            ignore::Error::Io(io) => {
                local
                    .problems
                    .push(skipped(".", &format!("cannot read it: {}", lower_first(&io.to_string()))));
            }
            _ => {}
        }
    }
}

/// `Permission denied` -> `permission denied`, for messages.
pub(crate) fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect::<String>().trim_end_matches('.').to_string(),
        None => String::new(),
    }
}

impl ignore::ParallelVisitor for Visitor<'_> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> ignore::WalkState {
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                self.error(&err);
                return ignore::WalkState::Continue;
            }
        };
        if entry.file_type().is_some_and(|t| t.is_dir()) {
            return ignore::WalkState::Continue;
        }
        let Some(class) = entry.file_name().to_str().and_then(classify) else {
            return ignore::WalkState::Continue;
        };
        let Some(rel) = relative(&self.root, entry.path()) else {
            return ignore::WalkState::Continue;
        };
        if let Some(local) = self.local.as_mut() {
            local.files.push((class, rel));
        }
        ignore::WalkState::Continue
    }
}

impl Drop for Visitor<'_> {
    fn drop(&mut self) {
        if let Some(local) = self.local.take()
            && let Ok(mut r) = self.results.lock()
        {
            r.push(local);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    #[test]
    fn lists_sorted_and_skips_build_vendor_ignored_and_excluded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in [
            "Cargo.toml",
            "Cargo.lock",
            "src/main.rs",
            "b/Cargo.toml",
            "b/src/lib.rs",
            "a/Cargo.toml",
            "a/lcov.info",
            "a/x.lcov",
            "target/debug/build/Cargo.toml",
            "vendor/dep/Cargo.toml",
            "third/dep/Cargo.toml",
            "third/dep/.cargo-checksum.json",
            "gen/Cargo.toml",
            ".hidden/Cargo.toml",
            "skipme/Cargo.toml",
            "notbuild/target/Cargo.toml",
        ] {
            write(root, f, "");
        }
        write(root, ".gitignore", "gen/\n");
        let mut policy = Policy::default();
        policy.fleet.exclude.push(crate::config::PolicyGlob::new("skipme/").expect("glob"));
        let d = walk(root, &policy);
        assert_eq!(d.manifests, ["Cargo.toml", "a/Cargo.toml", "b/Cargo.toml", "notbuild/target/Cargo.toml"]);
        assert_eq!(d.lockfiles, ["Cargo.lock"]);
        assert_eq!(d.rust_files, ["b/src/lib.rs", "src/main.rs"]);
        assert_eq!(d.coverage_reports, ["a/lcov.info", "a/x.lcov"]);
        assert!(d.problems.is_empty(), "{:?}", d.problems);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_inside_followed_once_outside_and_loops_reported() {
        let outside = tempfile::tempdir().expect("tempdir");
        write(outside.path(), "evil/Cargo.toml", "");
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "real/Cargo.toml", "");
        write(root, "real/src/lib.rs", "");
        std::os::unix::fs::symlink(root.join("real"), root.join("alias")).expect("link");
        std::os::unix::fs::symlink(outside.path().join("evil"), root.join("out")).expect("link");
        std::os::unix::fs::symlink("..", root.join("real/loop")).expect("link");
        let d = walk(root, &Policy::default());
        assert_eq!(d.manifests, ["real/Cargo.toml"]);
        assert_eq!(d.rust_files, ["real/src/lib.rs"]);
        let msgs: Vec<&str> = d.problems.iter().map(|f| f.message.as_str()).collect();
        assert!(msgs.iter().any(|m| m.contains("`out`") && m.contains("outside")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("loop")), "{msgs:?}");
        assert!(d.problems.iter().all(|f| f.rule == SKIPPED_PATH && f.severity == Severity::Info));
    }
}
