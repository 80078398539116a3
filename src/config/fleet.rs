//! `[fleet]`: which package directories are services, and which paths discovery skips.

use super::FleetPolicy;
use super::context::{Ctx, Table};

/// The keys `[fleet]` accepts.
pub const KEYS: &[&str] = &["service_roots", "exclude"];

/// Validate `[fleet]`; absent keys keep their defaults.
pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> FleetPolicy {
    let mut out = FleetPolicy::default();
    let Some(t) = ctx.section(root, "fleet", KEYS) else { return out };
    if let Some(globs) = ctx.globs(&t, "service_roots") {
        out.service_roots = globs;
    }
    if let Some(globs) = ctx.globs(&t, "exclude") {
        out.exclude = globs;
    }
    out
}
