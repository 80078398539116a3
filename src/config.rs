//! The policy file, `fleetward.toml`: found by walking up from the scanned path or given with
//! `--config`. Parsed once into raw, span-keeping types, then validated into [`Policy`]. Unknown
//! keys and bad values are errors that point at the line with a "did you mean".

use crate::diag::Severity;
use globset::GlobMatcher;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "fleetward.toml";

/// The validated policy. `Policy::default()` is what applies with no policy file.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy file this came from, if any.
    pub path: Option<PathBuf>,
    /// Relative path of the policy file inside the scanned root, for findings located in it.
    pub rel_path: Option<String>,
    /// `fail_on` (default `medium`).
    pub fail_on: Severity,
    pub fleet: FleetPolicy,
    pub advisories: AdvisoriesPolicy,
    /// Per-rule severity overrides: rule id (or `check/*`) -> severity.
    pub severity: BTreeMap<String, Severity>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            path: None,
            rel_path: None,
            fail_on: Severity::Medium,
            fleet: FleetPolicy::default(),
            advisories: AdvisoriesPolicy::default(),
            severity: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct FleetPolicy {
    /// Globs (relative to the root) of package directories that are services even without a
    /// binary target.
    pub service_roots: Vec<PolicyGlob>,
    /// Globs of paths that discovery skips (in addition to .gitignore, `target/`, vendored trees).
    pub exclude: Vec<PolicyGlob>,
}

/// A glob as written in the policy, compiled.
#[derive(Debug, Clone)]
pub struct PolicyGlob {
    pub pattern: String,
    pub matcher: GlobMatcher,
}

impl PolicyGlob {
    pub fn new(pattern: &str) -> Result<PolicyGlob, globset::Error> {
        let matcher = globset::GlobBuilder::new(pattern).literal_separator(true).build()?.compile_matcher();
        Ok(PolicyGlob { pattern: pattern.to_string(), matcher })
    }

    pub fn is_match(&self, rel_path: &str) -> bool {
        self.matcher.is_match(rel_path)
    }
}

#[derive(Debug, Clone)]
pub struct AdvisoriesPolicy {
    /// `db` in the policy, resolved against the policy file's directory.
    pub db: Option<PathBuf>,
    /// Warn when the newest advisory in the DB is older than this many days (default 90).
    pub max_db_age_days: u32,
    /// Informational kinds reported (default: all of `unmaintained`, `unsound`, `notice`).
    pub informational: Vec<String>,
    pub ignore: Vec<AdvisoryIgnore>,
}

impl Default for AdvisoriesPolicy {
    fn default() -> Self {
        AdvisoriesPolicy {
            db: None,
            max_db_age_days: 90,
            informational: vec!["unmaintained".into(), "unsound".into(), "notice".into()],
            ignore: Vec::new(),
        }
    }
}

/// `[[advisories.ignore]]`: an accepted advisory, with the reason, an optional expiry and an
/// optional service scope.
#[derive(Debug, Clone)]
pub struct AdvisoryIgnore {
    pub id: String,
    pub reason: String,
    pub expires: Option<jiff::civil::Date>,
    /// Service names or path globs this ignore is limited to (empty = everywhere).
    pub services: Vec<String>,
    /// 1-based line of the entry in the policy file (for expired / unused findings).
    pub line: u32,
}

/// Look for `fleetward.toml` in `start` and its ancestors.
pub fn find_upward(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|d| d.join(FILE_NAME)).find(|p| p.is_file())
}

/// Why the policy could not be used (exit 2). Rendered by miette with the file's text and a
/// label on the offending line.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("invalid policy file {path}")]
pub struct ConfigError {
    pub path: String,
    #[source_code]
    pub src: miette::NamedSource<String>,
    #[related]
    pub problems: Vec<ConfigProblem>,
}

/// One problem in the policy file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
pub struct ConfigProblem {
    pub message: String,
    #[label("{label}")]
    pub span: miette::SourceSpan,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

/// Load and validate the policy (HELPER: spans, did-you-mean, every section).
pub fn load(path: Option<&Path>, _root: &Path) -> Result<Policy, Box<ConfigError>> {
    Ok(Policy { path: path.map(Path::to_path_buf), ..Policy::default() })
}

/// The commented starter written by `fleetward init` (HELPER: complete it).
pub const STARTER: &str = "# fleetward policy\n";
