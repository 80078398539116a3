//! The RustSec advisory database: where it is, opening it once per run, and `fleetward db
//! fetch|info` (git is run as a command; the `rustsec` crate is used without its git stack).

use anyhow::Context;
use std::path::{Path, PathBuf};

pub const DEFAULT_URL: &str = "https://github.com/rustsec/advisory-db.git";
pub const ENV_DB: &str = "FLEETWARD_ADVISORY_DB";

/// An opened database, shared read-only by every lockfile audit.
pub struct AdvisoryDb {
    pub path: PathBuf,
    pub db: rustsec::Database,
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

impl AdvisoryDb {
    pub fn open(path: &Path) -> anyhow::Result<AdvisoryDb> {
        if !path.join("crates").is_dir() {
            anyhow::bail!(
                "no advisory database at {}\n  fetch it with `fleetward db fetch --advisory-db {}`, or point --advisory-db / {ENV_DB} at a copy of https://github.com/rustsec/advisory-db",
                path.display(),
                path.display()
            );
        }
        let db = rustsec::Database::open(path)
            .with_context(|| format!("could not load the advisory database at {}", path.display()))?;
        Ok(AdvisoryDb { path: path.to_path_buf(), db })
    }

    pub fn summary(&self, _now: jiff::civil::Date) -> DbSummary {
        DbSummary {
            path: self.path.display().to_string(),
            advisories: self.db.iter().count(),
            newest: None,
            age_days: None,
        }
    }
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
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("cannot find the advisory database: neither --advisory-db, FLEETWARD_ADVISORY_DB, CARGO_HOME nor HOME is set")?;
    Ok(home.join("advisory-db"))
}

/// `fleetward db fetch` (HELPER: to implement).
pub fn fetch(_path: &Path, _url: &str, _out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    Ok(())
}

/// `fleetward db info` (HELPER: to implement).
pub fn info(_path: &Path, _now: jiff::civil::Date, _out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    Ok(())
}
