//! The RustSec advisory database: where it is, opening it once per run, and `fleetward db
//! fetch|info` (git is run as a command; the `rustsec` crate is used without its git stack).

use anyhow::Context;
use std::path::{Path, PathBuf};

pub const DEFAULT_URL: &str = "https://github.com/rustsec/advisory-db.git";
pub const ENV_DB: &str = "FLEETWARD_ADVISORY_DB";

/// An opened database, shared read-only by every lockfile audit. Opening lists the advisory
/// files; a crate's advisories are parsed (with `rustsec`) the first time a lockfile names the
/// crate, so a run parses the few dozen advisories of the crates its fleet uses, not all 1,200+.
pub struct AdvisoryDb {
    pub path: PathBuf,
    /// `crates/<name>/`: the advisory files of each crate, parsed on first use.
    crates: std::collections::HashMap<String, CrateAdvisories>,
    /// Every advisory file, of both collections (`crates/`, `rust/`), sorted.
    files: Vec<PathBuf>,
    /// The date of the newest advisory, read once.
    newest: std::sync::OnceLock<Option<String>>,
}

use rustsec::Advisory;
use rustsec::Collection;

/// A crate's advisory files, and once parsed, its advisories (or the first parse error).
type CrateAdvisories = (Vec<PathBuf>, std::sync::OnceLock<Result<Vec<Advisory>, String>>);

/// A database being opened on another thread while the fleet is discovered (loading the real
/// database is a large part of an otherwise cached run). The first check that needs it waits.
pub struct Pending {
    path: PathBuf,
    handle: std::sync::Mutex<Option<std::thread::JoinHandle<anyhow::Result<AdvisoryDb>>>>,
    opened: std::sync::OnceLock<Result<AdvisoryDb, String>>,
}

impl Pending {
    /// Start opening the database at `path`.
    pub fn start(path: PathBuf) -> Pending {
        let p = path.clone();
        let handle =
            std::thread::Builder::new().name("fleetward-db".into()).spawn(move || AdvisoryDb::open(&p)).ok();
        Pending { path, handle: std::sync::Mutex::new(handle), opened: std::sync::OnceLock::new() }
    }

    /// The opened database, or why it could not be opened.
    pub fn get(&self) -> Result<&AdvisoryDb, &str> {
        self.opened
            .get_or_init(|| {
                let handle = self.handle.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
                let result = match handle {
                    Some(h) => {
                        h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("opening the database failed")))
                    }
                    None => AdvisoryDb::open(&self.path),
                };
                result.map_err(|e| format!("{e:#}"))
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

/// What reports say about the database used.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DbSummary {
    pub path: String,
    pub advisories: usize,
    /// Date of the newest advisory (the database's age is measured from it).
    pub newest: Option<String>,
    pub age_days: Option<i64>,
}

/// Cargo's home: `$CARGO_HOME`, else `$HOME/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// Fail with [`AdvisoryDb::open`]'s clear message when there is no database at `path`, before
/// any work (opening it is left to a [`Pending`]).
pub fn require(path: &Path) -> anyhow::Result<()> {
    if !path.join("crates").is_dir() {
        AdvisoryDb::open(path)?;
    }
    Ok(())
}

impl AdvisoryDb {
    pub fn open(path: &Path) -> anyhow::Result<AdvisoryDb> {
        if !path.join("crates").is_dir() {
            anyhow::bail!(
                "no advisory database at {}\n  fetch it with `fleetward db fetch --advisory-db {}`, or point --advisory-db / {ENV_DB} at a copy of https://github.com/rustsec/advisory-db",
                path.display(),
                path.display()
            );
        }
        let mut crates = std::collections::HashMap::new();
        let mut files = Vec::new();
        for collection in [Collection::Crates, Collection::Rust] {
            let dir = path.join(collection.as_str());
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(_) if collection == Collection::Rust => continue,
                Err(e) => return Err(e).with_context(|| format!("could not read {}", dir.display())),
            };
            for entry in entries {
                let entry = entry.with_context(|| format!("could not read {}", dir.display()))?;
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let mut mine: Vec<PathBuf> = std::fs::read_dir(entry.path())
                    .with_context(|| format!("could not read {}", entry.path().display()))?
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "md"))
                    .filter(|p| !p.file_name().and_then(|f| f.to_str()).is_some_and(|f| f.starts_with('.')))
                    .collect();
                mine.sort();
                files.extend(mine.iter().cloned());
                if collection == Collection::Crates {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    crates.insert(name, (mine, std::sync::OnceLock::new()));
                }
            }
        }
        files.sort();
        Ok(AdvisoryDb { path: path.to_path_buf(), crates, files, newest: std::sync::OnceLock::new() })
    }

    /// The advisories of crate `name` (of the `crates` collection), parsed on first use. A file
    /// that does not parse is an error naming it.
    pub fn advisories_of(&self, name: &str) -> Result<&[Advisory], &str> {
        let Some((files, parsed)) = self.crates.get(name) else { return Ok(&[]) };
        parsed
            .get_or_init(|| {
                files
                    .iter()
                    .map(|f| {
                        let mut a = Advisory::load_file(f)
                            .map_err(|e| format!("could not load the advisory {}: {e}", f.display()))?;
                        a.metadata.collection = Some(Collection::Crates);
                        Ok(a)
                    })
                    .collect()
            })
            .as_deref()
            .map_err(String::as_str)
    }

    /// The advisories of `name` that `query` matches.
    pub fn query<'a>(
        &'a self,
        query: &'a rustsec::database::Query,
        name: &str,
    ) -> impl Iterator<Item = &'a Advisory> {
        self.advisories_of(name).unwrap_or(&[]).iter().filter(move |a| query.matches(a))
    }

    /// The advisories that could not be parsed by this run (an unusable database: exit 2).
    pub fn errors(&self) -> Vec<String> {
        let mut e: Vec<String> = self
            .crates
            .values()
            .filter_map(|(_, p)| p.get().and_then(|r| r.as_ref().err()).cloned())
            .collect();
        e.sort();
        e
    }

    /// Every advisory, parsed (`db info`).
    pub fn all(&self) -> anyhow::Result<Vec<Advisory>> {
        use rayon::prelude::*;
        self.files
            .par_iter()
            .map(|f| {
                Advisory::load_file(f).with_context(|| format!("could not load the advisory {}", f.display()))
            })
            .collect()
    }

    /// Advisory count, and the database's age measured from its newest advisory (no git is
    /// run: `check` executes nothing). Dates are read from each file's `date = "..."` line.
    pub fn summary(&self, now: jiff::civil::Date) -> DbSummary {
        let newest = self
            .newest
            .get_or_init(|| {
                use rayon::prelude::*;
                self.files.par_iter().filter_map(|f| advisory_date(&std::fs::read_to_string(f).ok()?)).max()
            })
            .clone();
        let age_days = newest
            .as_deref()
            .and_then(|d| d.parse::<jiff::civil::Date>().ok())
            .and_then(|d| now.since(d).ok())
            .map(|span| i64::from(span.get_days()));
        DbSummary { path: self.path.display().to_string(), advisories: self.files.len(), newest, age_days }
    }
}

/// The `date` of an advisory's TOML front matter.
fn advisory_date(text: &str) -> Option<String> {
    text.lines().take_while(|l| !l.starts_with("```") || l.starts_with("```toml")).find_map(|l| {
        l.trim()
            .strip_prefix("date")?
            .trim()
            .strip_prefix('=')?
            .trim()
            .strip_prefix('"')?
            .get(..10)
            .map(str::to_string)
    })
}

/// `--advisory-db`, then `FLEETWARD_ADVISORY_DB`, then the policy's `db`, then `~/.cargo/advisory-db`.
pub fn resolve_path(cli: Option<&Path>, policy_db: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(p) = cli {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(ENV_DB).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = policy_db {
        return Ok(p.to_path_buf());
    }
    let home = cargo_home().context("cannot find the advisory database: neither --advisory-db, FLEETWARD_ADVISORY_DB, CARGO_HOME nor HOME is set")?;
    Ok(home.join("advisory-db"))
}

/// `fleetward db fetch`: clone the database with git, or update an existing clone to the
/// remote's newest commit. Only the database directory is touched.
pub fn fetch(path: &Path, url: &str, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    if path.join(".git").exists() {
        git(Some(path), &["fetch", "--depth", "1", "--quiet", "origin"])?;
        git(Some(path), &["reset", "--hard", "--quiet", "FETCH_HEAD"])?;
        writeln!(out, "updated {}", path.display())?;
    } else {
        if path.exists() && std::fs::read_dir(path).map(|mut d| d.next().is_some()).unwrap_or(false) {
            anyhow::bail!(
                "{} exists and is not a git clone: remove it or choose another --advisory-db",
                path.display()
            );
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let target = path.to_string_lossy();
        git(None, &["clone", "--depth", "1", "--quiet", url, &target])?;
        writeln!(out, "cloned {} into {}", redact(url), path.display())?;
    }
    info(path, crate::commands::today(), out)
}

/// `fleetward db info`: where the database is, its commit and date (when it is a git clone),
/// how many advisories of each kind it holds, and its age.
pub fn info(path: &Path, now: jiff::civil::Date, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let db = AdvisoryDb::open(path)?;
    writeln!(out, "path: {}", path.display())?;
    if path.join(".git").exists() {
        let log = git(Some(path), &["log", "-1", "--format=%H%n%cI"])?;
        let mut lines = log.lines();
        writeln!(out, "commit: {}", lines.next().unwrap_or("unknown"))?;
        writeln!(out, "commit date: {}", lines.next().unwrap_or("unknown"))?;
    } else {
        writeln!(out, "commit: not a git clone")?;
    }
    let (mut vulns, mut unmaintained, mut unsound, mut other, mut withdrawn) = (0, 0, 0, 0, 0);
    for a in db.all()? {
        use rustsec::advisory::Informational;
        if a.metadata.withdrawn.is_some() {
            withdrawn += 1;
        }
        match &a.metadata.informational {
            None => vulns += 1,
            Some(Informational::Unmaintained) => unmaintained += 1,
            Some(Informational::Unsound) => unsound += 1,
            Some(_) => other += 1,
        }
    }
    let s = db.summary(now);
    writeln!(out, "advisories: {}", s.advisories)?;
    writeln!(
        out,
        "  vulnerabilities: {vulns}, unmaintained: {unmaintained}, unsound: {unsound}, other informational: {other} ({withdrawn} withdrawn)"
    )?;
    match (s.newest, s.age_days) {
        (Some(newest), Some(age)) => writeln!(out, "newest advisory: {newest} ({age} days old)")?,
        _ => writeln!(out, "newest advisory: none")?,
    }
    Ok(())
}

/// Run git non-interactively; its standard output on success, a clear error otherwise.
fn git(dir: Option<&Path>, args: &[&str]) -> anyhow::Result<String> {
    let mut cmd = std::process::Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    let output = cmd
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .context("could not run git: is it installed?")?;
    if !output.status.success() {
        anyhow::bail!(
            "git {} failed: {}",
            args.first().unwrap_or(&""),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `url` without credentials (`https://user:token@host/..` -> `https://***@host/..`,
/// `user:secret@host:path` -> `***@host:path`): tokens are never printed.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://***@{}", &rest[at + 1..]);
        }
        return url.to_string();
    }
    // scp-like `user:secret@host:path`: hide everything before the last `@` of the part before the path.
    if let Some(at) = url.rfind('@')
        && !url[..at].contains('/')
        && url[..at].contains(':')
    {
        return format!("***@{}", &url[at + 1..]);
    }
    url.to_string()
}

/// `text` with every appearance of `url` replaced by its [`redact`]ed form.
pub fn redact_all(text: &str, url: &str) -> String {
    if url.is_empty() { text.to_string() } else { text.replace(url, &redact(url)) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_credentials() {
        assert_eq!(super::redact("https://x:ghp_secret@github.com/a/b"), "https://***@github.com/a/b");
        assert_eq!(super::redact("file:///tmp/db"), "file:///tmp/db");
    }
}
