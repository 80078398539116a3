//! The one pass over the fleet's lockfiles. Each `Cargo.lock` is read and parsed once, by one
//! worker, which hands it to every check that reads lockfiles (the advisories audit, the
//! manifest rules that walk dependency graphs) and then drops it, unless the caller keeps them
//! (`fleetward fix`). Memory holds the lockfiles being worked on, never all of them; no worker
//! waits for another's parse; and the thread that allocated a parse is the one that frees it.

use super::manifest::{self, lock::Lock};
use super::{CheckCtx, advisories};
use crate::db::AdvisoryDb;
use crate::diag::Sink;
use crate::workspace::Package;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Audit the lockfiles against `db` (when given) and run the manifest lockfile rules (when
/// `manifest_rules`), reading each lockfile that either needs once.
pub fn run(ctx: &CheckCtx<'_>, db: Option<&AdvisoryDb>, manifest_rules: bool, sink: &Sink) {
    let audit = db.map(|db| advisories::Audit::new(ctx, db));
    // The fleet's packages by lockfile (`None`: without one), for the manifest rules.
    let mut groups: BTreeMap<Option<&str>, Vec<&Package>> = BTreeMap::new();
    if manifest_rules {
        for p in &ctx.fleet.packages {
            groups.entry(p.lockfile.as_deref()).or_default().push(p);
        }
    }
    let done: Vec<_> = ctx
        .fleet
        .lockfiles
        .par_iter()
        .map(|rel| {
            // Whether a partial run looks at this lockfile's own findings.
            let wanted = advisories::wanted(ctx, rel);
            let audited = audit.as_ref().filter(|_| wanted);
            let members = groups.get(&Some(rel.as_str()));
            if audited.is_none() && members.is_none() {
                return (Vec::new(), None);
            }
            let loaded = ctx.lockfiles.load(rel);
            // A lockfile that cannot be read is reported once: by the audit, else here.
            let findings = match (audited, &loaded) {
                (Some(a), _) => a.lockfile(rel, &loaded),
                (None, Err(problem)) if wanted => vec![(**problem).clone()],
                (None, _) => Vec::new(),
            };
            let part = members.map(|packages| {
                let lock = loaded.as_ref().ok().map(|parsed| Lock::new(rel, parsed));
                (rel.as_str(), manifest::lockfile_part(ctx, lock.as_ref(), packages))
            });
            (findings, part)
        })
        .collect();
    let mut parts = BTreeMap::new();
    for (findings, part) in done {
        sink.extend(findings);
        parts.extend(part.map(|(rel, part)| (Some(rel), part)));
    }
    if manifest_rules {
        // The packages without a lockfile (a package's lockfile is always one of the fleet's).
        if let Some(packages) = groups.get(&None) {
            parts.insert(None, manifest::lockfile_part(ctx, None, packages));
        }
        manifest::report(ctx, parts.into_values().collect(), sink);
    }
    if let Some(audit) = audit {
        audit.finish(sink);
    }
}
