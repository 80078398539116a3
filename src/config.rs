//! The policy file, `fleetward.toml`: found by walking up from the scanned path or given with
//! `--config`. Parsed once into toml's span-keeping document, then validated by hand into
//! [`Policy`], one function per section, all sharing one [`context::Ctx`]. Unknown keys and bad
//! values are problems that point at the line with a "did you mean"; every problem of the file
//! is collected and reported at once in one [`ConfigError`] (exit 2).
//!
//! Adding a section (`[banned]`, `[[services]]`, ...): add its validated type to [`Policy`],
//! write `src/config/<section>.rs` with `validate(ctx, root) -> <Type>` in the style of
//! `fleet.rs`, add its key to [`TOP_LEVEL_KEYS`] and call it from `validate`, document it in
//! `starter.toml`, and add a good and a bad case to the tests.

mod advisories;
mod auth;
mod banned;
pub mod context;
mod coverage;
mod fix;
mod fleet;
mod manifest;
mod severity;
mod source;
#[cfg(test)]
mod tests;

use crate::checks::source::cfg::SourceConfig;
use crate::diag::Severity;
use context::Ctx;
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
    /// `[source]`, `[unsafe]` and `[banned]`: what the source checks scan and enforce.
    pub source: SourceConfig,
    /// `[auth]`: which routes must be authenticated and what counts as authentication.
    pub auth: crate::checks::auth::cfg::AuthConfig,
    /// `[coverage]`: coverage reports, thresholds per service, `no_drop`.
    pub coverage: crate::checks::coverage::cfg::CoveragePolicy,
    /// `[fix]`: how `fleetward fix --open-pr` groups pull requests.
    pub fix: FixPolicy,
    /// `[manifest]`: banned crates, version drift, sources and required settings.
    pub manifest: crate::checks::manifest::cfg::ManifestPolicy,
}

/// `[fix]`.
#[derive(Debug, Clone, Default)]
pub struct FixPolicy {
    /// `pull_requests = "service"`: one pull request per affected service instead of one per
    /// workspace.
    pub per_service: bool,
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
            source: SourceConfig::default(),
            auth: Default::default(),
            coverage: Default::default(),
            fix: FixPolicy::default(),
            manifest: crate::checks::manifest::cfg::ManifestPolicy {
                build_dependencies: true,
                ..Default::default()
            },
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
    /// Warn when the newest advisory in the DB is older than this many days (default 90; 0
    /// disables the warning).
    pub max_db_age_days: u32,
    /// Informational kinds reported (default: all of `unmaintained`, `unsound`, `notice`; see
    /// [`INFORMATIONAL`]).
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
    /// 1-based line of the entry's `id` key in the policy file (for expired / unused findings).
    pub line: u32,
}

impl AdvisoryIgnore {
    /// Whether this ignore applies to the service `name` at `rel_path` (relative to the root,
    /// `/`-separated): no `services` means everywhere; an entry matches the service's name, its
    /// path, or its path as a glob.
    pub fn applies_to(&self, name: &str, rel_path: &str) -> bool {
        self.services.is_empty()
            || self
                .services
                .iter()
                .any(|s| s == name || s == rel_path || PolicyGlob::new(s).is_ok_and(|g| g.is_match(rel_path)))
    }
}

/// The informational advisory kinds `advisories.informational` accepts.
pub const INFORMATIONAL: &[&str] = &["unmaintained", "unsound", "notice"];

/// The keys of the top level of the policy file.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "fail_on",
    "fleet",
    "advisories",
    "severity",
    "source",
    "unsafe",
    "banned",
    "auth",
    "coverage",
    "fix",
    "manifest",
];

/// Look for `fleetward.toml` in `start` and its ancestors.
pub fn find_upward(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|d| d.join(FILE_NAME)).find(|p| p.is_file())
}

/// Why the policy could not be used (exit 2). Rendered by miette with the file's text and one
/// labelled snippet per problem.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{summary}")]
pub struct ConfigError {
    /// The policy file as shown to the user (relative to the current directory when inside it).
    pub path: String,
    /// The headline: `invalid policy file fleetward.toml: 2 problems`, or why it could not be
    /// read.
    pub summary: String,
    #[source_code]
    pub src: miette::NamedSource<String>,
    #[related]
    pub problems: Vec<ConfigProblem>,
}

impl ConfigError {
    fn new(path: String, text: String, problems: Vec<ConfigProblem>) -> ConfigError {
        let n = problems.len();
        let summary = format!("invalid policy file {path}: {n} problem{}", if n == 1 { "" } else { "s" });
        ConfigError { src: miette::NamedSource::new(path.clone(), text), path, summary, problems }
    }

    /// The file could not be read at all.
    fn unreadable(path: String, err: &std::io::Error) -> ConfigError {
        let reason = match err.kind() {
            std::io::ErrorKind::NotFound => "file not found".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
            _ => lowercase_first(&err.to_string()),
        };
        ConfigError {
            summary: format!("cannot read policy file {path}: {reason}"),
            src: miette::NamedSource::new(path.clone(), String::new()),
            path,
            problems: Vec::new(),
        }
    }
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

/// Load and validate the policy file at `path` (`None`: the defaults). `root` is the scanned
/// root, for [`Policy::rel_path`]. Every problem of the file is reported in the one error.
pub fn load(path: Option<&Path>, root: &Path) -> Result<Policy, Box<ConfigError>> {
    let Some(path) = path else { return Ok(Policy::default()) };
    load_text_of(path, path, root)
}

/// [`load`] with the text read from `text_from` (the staged version of the policy, written out
/// of the git index) while paths, messages and relative paths in it stay those of `path`.
pub fn load_text_of(path: &Path, text_from: &Path, root: &Path) -> Result<Policy, Box<ConfigError>> {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let shown = display_path(path, &canonical);
    let bytes = std::fs::read(text_from).map_err(|e| Box::new(ConfigError::unreadable(shown.clone(), &e)))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let problem = ConfigProblem {
                message: "the policy file is not valid UTF-8".into(),
                span: (at, 1).into(),
                label: "invalid UTF-8".into(),
                help: Some("save the file as UTF-8".into()),
            };
            return Err(Box::new(ConfigError::new(shown, text, vec![problem])));
        }
    };
    let base_dir = canonical.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    match validate(&text, &base_dir) {
        Ok(policy) => {
            crate::registry::register_user_rules(&policy.source.banned.rules);
            Ok(Policy { path: Some(path.to_path_buf()), rel_path: rel_to_root(&canonical, root), ..policy })
        }
        Err(problems) => Err(Box::new(ConfigError::new(shown, text, problems))),
    }
}

/// Parse and validate policy text; relative paths in it are relative to `base_dir`. Returns
/// the policy (with no `path`), or every problem found.
pub fn validate(text: &str, base_dir: &Path) -> Result<Policy, Vec<ConfigProblem>> {
    let doc = match toml::de::DeTable::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let problem = ConfigProblem {
                message: format!("invalid TOML: {}", e.message()),
                span: span.into(),
                label: "here".into(),
                help: None,
            };
            return Err(vec![problem]);
        }
    };
    let mut ctx = Ctx::new(text, base_dir);
    let root = ctx.root(&doc, TOP_LEVEL_KEYS);
    let policy = Policy {
        path: None,
        rel_path: None,
        fail_on: ctx.severity(&root, "fail_on").unwrap_or(Severity::Medium),
        fleet: fleet::validate(&mut ctx, &root),
        advisories: advisories::validate(&mut ctx, &root),
        severity: severity::validate(&mut ctx, &root),
        source: source::validate(&mut ctx, &root),
        auth: auth::validate(&mut ctx, &root),
        coverage: coverage::validate(&mut ctx, &root),
        fix: fix::validate(&mut ctx, &root),
        manifest: manifest::validate(&mut ctx, &root),
    };
    let problems = ctx.finish();
    if problems.is_empty() { Ok(policy) } else { Err(problems) }
}

/// The policy file's path relative to the current directory when it is inside it (what the
/// user typed, usually), else as given.
fn display_path(given: &Path, canonical: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| std::fs::canonicalize(cwd).ok())
        .and_then(|cwd| canonical.strip_prefix(cwd).ok().map(slash_path))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| given.display().to_string())
}

/// `path` relative to `root`, `/`-separated, when inside it.
fn rel_to_root(canonical: &Path, root: &Path) -> Option<String> {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    canonical.strip_prefix(&root).ok().map(slash_path)
}

fn slash_path(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_lowercase().chain(chars).collect()).unwrap_or_default()
}

/// The commented starter written by `fleetward init`: every key, documented, with the defaults.
pub const STARTER: &str = include_str!("config/starter.toml");
