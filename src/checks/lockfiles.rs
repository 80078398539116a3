//! `manifest/missing-lockfile`: a service whose workspace has no `Cargo.lock` cannot be audited.

use super::CheckCtx;
use crate::diag::{Finding, Location, Sink, Span};
use crate::registry;
use crate::workspace::PackageKind;

pub const MISSING_LOCKFILE: &str = "manifest/missing-lockfile";

pub fn check(ctx: &CheckCtx<'_>, sink: &Sink) {
    let severity = registry::severity(MISSING_LOCKFILE);
    let services =
        ctx.fleet.packages.iter().filter(|p| p.kind == PackageKind::Service && p.lockfile.is_none());
    // `[[manifest.service]] skip = true` turns off every manifest rule for those services.
    for p in services.filter(|p| !ctx.policy.manifest.skips(p)) {
        let lock_dir = if p.workspace == "." { String::new() } else { format!("{}/", p.workspace) };
        sink.push(
            Finding::new(
                MISSING_LOCKFILE,
                severity,
                format!("service `{}` has no Cargo.lock: its dependency versions cannot be audited", p.name),
                Location::new(p.manifest.clone(), Span::line(1)),
            )
            .with_key(p.name.clone())
            .with_services(vec![p.name.clone()])
            .with_help(format!(
                "run `cargo generate-lockfile` in `{}` and commit {lock_dir}Cargo.lock",
                p.workspace
            )),
        );
    }
}
