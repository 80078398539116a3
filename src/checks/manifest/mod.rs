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
use crate::diag::{Finding, Sink};
use crate::workspace::Package;

/// Whether the policy asks for a rule family that reads lockfiles.
pub fn reads_lockfiles(policy: &cfg::ManifestPolicy) -> bool {
    policy.configured && (bans::wanted(policy) || drift::wanted(policy) || !policy.required.is_empty())
}

/// What the lockfile rules found among the packages of one lockfile.
#[derive(Default)]
pub struct Part<'a> {
    bans: Vec<(&'a Package, Vec<(usize, bans::Hit)>)>,
    uses: Vec<drift::Use<'a>>,
    findings: Vec<Finding>,
}

/// The lockfile rules (bans, drift, required crates) over `packages`, the fleet packages of one
/// lockfile (`lock`: `None` for those without one, or whose lockfile could not be read: the
/// advisories and parse checks report it). The pass over lockfiles ([`super::lockpass`]) calls
/// it once per lockfile, then [`report`] with every part.
pub fn lockfile_part<'a>(
    ctx: &CheckCtx<'a>,
    lock: Option<&lock::Lock>,
    packages: &[&'a Package],
) -> Part<'a> {
    let policy = &ctx.policy.manifest;
    let mut part = Part::default();
    let members: Vec<lock::Member<'a>> =
        packages.iter().filter(|p| !policy.skips(p)).map(|p| lock::Member::new(lock, p)).collect();
    for m in &members {
        part.bans.push((m.package, bans::hits(ctx, m, lock)));
        part.uses.extend(drift::uses_of(ctx, m, lock));
        part.findings.extend(required::findings(ctx, m, lock));
    }
    if let (Some(l), Some(max)) = (lock, policy.drift.max_versions) {
        part.findings.extend(drift::duplicates(ctx, l, &members, max));
    }
    part
}

/// The fleet-wide findings of the lockfile rules from every lockfile's [`Part`].
pub fn report<'a>(ctx: &CheckCtx<'a>, parts: Vec<Part<'a>>, sink: &Sink) {
    let mut all = Part::default();
    for part in parts {
        all.bans.extend(part.bans);
        all.uses.extend(part.uses);
        all.findings.extend(part.findings);
    }
    bans::report(ctx, all.bans, sink);
    drift::report(ctx, all.uses, sink);
    sink.extend(all.findings);
}

/// The rules that read only manifests: sources and settings.
pub fn check(ctx: &CheckCtx<'_>, sink: &Sink) {
    sources::check(ctx, sink);
    settings::check(ctx, sink);
}
