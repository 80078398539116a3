//! The checks. Each one is a module of the same shape: `pub fn check(ctx, .., sink)`, which
//! never fails: whatever it cannot analyse becomes a finding.

pub mod advisories;
pub mod banned;
pub mod lockfiles;
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
}

/// Apply the policy's `[severity]` table: an exact rule id wins over a `check/*` entry.
pub fn apply_severity_overrides(findings: &mut [Finding], policy: &Policy) {
    if policy.severity.is_empty() {
        return;
    }
    for f in findings {
        let check = f.rule.split('/').next().unwrap_or("");
        if let Some(s) = policy.severity.get(&f.rule).or_else(|| policy.severity.get(&format!("{check}/*"))) {
            f.severity = *s;
        }
    }
}
