//! The checks. Each one is a module of the same shape: `pub fn check(ctx, .., sink)`, which
//! never fails: whatever it cannot analyse becomes a finding. The checks that read lockfiles
//! (the advisories audit, the manifest dependency rules) are driven per lockfile by
//! [`lockpass`] instead.

pub mod advisories;
pub mod auth;
pub mod banned;
pub mod coverage;
pub mod lockcache;
pub mod lockfiles;
pub mod lockpass;
pub mod manifest;
pub mod secrets;
pub mod source;
pub mod unsafe_code;

use crate::config::Policy;
use crate::diag::Finding;
use crate::workspace::Fleet;

/// What every check receives.
pub struct CheckCtx<'a> {
    pub fleet: &'a Fleet,
    pub policy: &'a Policy,
    /// Today's date (from `FLEETWARD_NOW` when set, for reproducible reports).
    pub now: jiff::civil::Date,
    /// The per-file result cache of the source checks, unless `--no-cache`.
    pub cache: Option<&'a crate::cache::Cache>,
    /// The packages this run checks (`None`: all).
    pub scope: Option<&'a crate::scope::Scope>,
    /// Files checked so far (a bar on a terminal, else nothing).
    pub progress: &'a crate::progress::Progress,
    /// The run's lockfiles, each parsed once for every check that reads it.
    pub lockfiles: &'a lockcache::LockCache,
}

impl CheckCtx<'_> {
    /// Whether a file owned by package `owner` is checked in this run.
    pub fn wants_file(&self, owner: Option<usize>, rel: &str) -> bool {
        self.scope.is_none_or(|s| s.wants_file(owner, rel))
    }
}

/// Apply the policy's severity overrides: the `[severity]` table (an exact rule id wins over a
/// `check/*` entry), then for `banned` rules `[banned] severity` and the `[[banned.service]]`
/// overrides of the package that owns the finding's file.
pub fn apply_severity_overrides(findings: &mut [Finding], policy: &Policy, fleet: &Fleet) {
    let banned = &policy.source.banned;
    let per_service = !banned.severity.is_empty() || banned.services.iter().any(|s| !s.severity.is_empty());
    if policy.severity.is_empty() && !per_service {
        return;
    }
    for f in findings {
        let check = f.rule.split('/').next().unwrap_or("");
        if let Some(s) = policy.severity.get(&f.rule).or_else(|| policy.severity.get(&format!("{check}/*"))) {
            f.severity = *s;
        }
        if per_service && check == "banned" {
            let package = source::owner(fleet, &f.location.file).map(|i| &fleet.packages[i]);
            if let Some(s) = banned.severity(&f.rule, package) {
                f.severity = s;
            }
        }
    }
}
