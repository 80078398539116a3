//! `manifest/*`: the fleet's dependency and manifest policy (`[manifest]`), checked over every
//! manifest and lockfile at once: banned crates with the path that pulls them in, version
//! drift across services and duplicate versions in a lockfile, dependency sources, and
//! required settings. `manifest/missing-lockfile` is in `checks/lockfiles.rs`.

pub mod bans;
pub mod cfg;
pub mod drift;
pub mod lock;
pub mod required;
pub mod settings;
pub mod sources;

use super::CheckCtx;
use crate::diag::Sink;

/// Whether the policy asks for a rule family that reads lockfiles.
pub fn reads_lockfiles(policy: &cfg::ManifestPolicy) -> bool {
    policy.configured && (bans::wanted(policy) || drift::wanted(policy) || !policy.required.is_empty())
}

pub fn check(ctx: &CheckCtx<'_>, sink: &Sink) {
    let policy = &ctx.policy.manifest;
    // Each lockfile is parsed once for the bans and the drift rules.
    let locks = if reads_lockfiles(policy) { lock::load_all(ctx) } else { Default::default() };
    bans::check(ctx, &locks, sink);
    drift::check(ctx, &locks, sink);
    required::check(ctx, &locks, sink);
    sources::check(ctx, sink);
    settings::check(ctx, sink);
}
