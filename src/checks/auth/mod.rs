//! The `auth` check: HTTP and gRPC routes reachable without authentication
//! (`../shared/docs/auth-check-spec.md`, DESIGN.md §6).
//!
//! Per workspace, the crates that depend on a web framework are parsed once
//! ([`index`]), then an abstract interpreter ([`interp`], [`frameworks`]) evaluates each root
//! (what `axum::serve`, `HttpServer::new`, `#[launch]`, `warp::serve`, tonic `serve`, poem and
//! salvo `Server` serve, and exported router fns nobody calls) into routes with the evidence
//! that covers each; [`handler`] adds the handler's own extractors, attributes and guard calls;
//! [`verdict`] decides protected / unprotected / public / unresolvable. Nothing is compiled or
//! expanded: what cannot be resolved is `unresolvable`, never `protected`.

pub mod cfg;
pub mod frameworks;
pub mod handler;
pub mod index;
pub mod interp;
pub mod model;
pub mod names;
pub mod verdict;

use crate::checks::CheckCtx;
use crate::diag::{Finding, RouteInfo, Sink};
use crate::workspace::{Fleet, Package};
use model::Fw;
use rayon::prelude::*;

/// Rule ids.
pub const UNPROTECTED: &str = "auth/unauthenticated-route";
pub const UNRESOLVABLE: &str = "auth/unresolvable-route";
pub const STALE: &str = "auth/stale-allowlist";

/// The frameworks a package depends on (by the real crate name, renames followed).
pub fn frameworks_of(p: &Package) -> Vec<Fw> {
    let mut out: Vec<Fw> = p
        .dependencies
        .iter()
        .filter(|d| d.kind != crate::workspace::DepKind::Build)
        .filter_map(|d| Fw::of_crate(&d.package.replace('-', "_")))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What the analysis of the fleet found: every route with its verdict, and the findings.
#[derive(Debug, Default)]
pub struct Analysis {
    pub routes: Vec<RouteInfo>,
    pub findings: Vec<Finding>,
    /// Auth-looking names the policy does not name yet (`--suggest-policy`).
    pub suggestions: Vec<verdict::Suggestion>,
}

/// Analyse every workspace that has a web framework (in parallel, one workspace per task).
pub fn analyse(fleet: &Fleet, policy: &crate::config::Policy) -> Analysis {
    analyse_where(fleet, policy, &|_| true)
}

/// [`analyse`] for the workspaces with a `wanted` package only (a partial run).
pub fn analyse_where(
    fleet: &Fleet,
    policy: &crate::config::Policy,
    wanted: &dyn Fn(usize) -> bool,
) -> Analysis {
    let units: Vec<Vec<usize>> = fleet
        .workspaces
        .iter()
        .map(|w| {
            w.members
                .iter()
                .copied()
                .filter(|&i| !frameworks_of(&fleet.packages[i]).is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|m: &Vec<usize>| m.iter().any(|&i| wanted(i)))
        .collect();
    if units.is_empty() {
        return Analysis::default();
    }
    // The Rust files of each package, found once for every unit.
    let mut files_of: Vec<Vec<&str>> = vec![Vec::new(); fleet.packages.len()];
    for rel in &fleet.rust_files {
        if let Some(i) = crate::checks::source::owner(fleet, rel) {
            files_of[i].push(rel);
        }
    }
    // syn and the interpreter recurse on nesting: each unit runs on a thread with the source
    // engine's large stack (address space; only the touched part is committed).
    let parts: Vec<Analysis> = units
        .par_iter()
        .map(|members| {
            std::thread::scope(|s| {
                std::thread::Builder::new()
                    .stack_size(policy.source.stack_size)
                    .spawn_scoped(s, || verdict::analyse_unit(fleet, policy, members, &files_of))
                    .map(|h| h.join().unwrap_or_default())
                    .unwrap_or_else(|_| verdict::analyse_unit(fleet, policy, members, &files_of))
            })
        })
        .collect();
    let mut out = Analysis::default();
    for p in parts {
        out.routes.extend(p.routes);
        out.findings.extend(p.findings);
        out.suggestions.extend(p.suggestions);
    }
    out.routes.sort_by(|a, b| {
        (&a.service, &a.path, &a.methods, &a.handler, &a.registration.file, a.registration.line).cmp(&(
            &b.service,
            &b.path,
            &b.methods,
            &b.handler,
            &b.registration.file,
            b.registration.line,
        ))
    });
    out.suggestions.sort();
    out.suggestions.dedup();
    out
}

/// The check: findings for unprotected and unresolvable routes, stale allowlist entries and
/// files that did not parse.
pub fn check(ctx: &CheckCtx<'_>, sink: &Sink) {
    let a = analyse_where(ctx.fleet, ctx.policy, &|i| ctx.scope.is_none_or(|s| s.wants_package(i)));
    sink.extend(a.findings);
}
