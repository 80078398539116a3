//! `[fix]`: how `fleetward fix --open-pr` groups its pull requests.

use super::FixPolicy;
use super::context::{Ctx, Table};

/// The keys `[fix]` accepts.
pub const KEYS: &[&str] = &["pull_requests"];
/// The values of `pull_requests`.
pub const GROUPINGS: &[&str] = &["workspace", "service"];

/// Validate `[fix]`; absent keys keep their defaults.
pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> FixPolicy {
    let mut out = FixPolicy::default();
    let Some(t) = ctx.section(root, "fix", KEYS) else { return out };
    if let Some(value) = t.get("pull_requests")
        && let Some(choice) = ctx.choice_value("fix.pull_requests", value, GROUPINGS)
    {
        out.per_service = choice == "service";
    }
    out
}
