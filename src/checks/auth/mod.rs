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
    /// Policy public entries (service override or not, line) that matched a route, with
    /// whether every route they matched was protected anyway.
    pub public_hits: std::collections::BTreeMap<(bool, u32), bool>,
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
    let mut a = merge(analyse_units(fleet, policy, &units(fleet, wanted)));
    a.findings.extend(stale_entries(policy, &a.public_hits));
    a
}

/// The units of analysis: per workspace, its members that use a web framework (workspaces with a
/// `wanted` one only).
fn units(fleet: &Fleet, wanted: &dyn Fn(usize) -> bool) -> Vec<Vec<usize>> {
    fleet
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
        .collect()
}

/// Each unit analysed on its own (in parallel), in the order given.
fn analyse_units(fleet: &Fleet, policy: &crate::config::Policy, units: &[Vec<usize>]) -> Vec<Analysis> {
    if units.is_empty() {
        return Vec::new();
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
    units
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
        .collect()
}

fn merge(parts: Vec<Analysis>) -> Analysis {
    let mut out = Analysis::default();
    for p in parts {
        out.routes.extend(p.routes);
        out.findings.extend(p.findings);
        out.suggestions.extend(p.suggestions);
        add_hits(&mut out.public_hits, &p.public_hits);
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

/// Fold one workspace's public-entry hits into the fleet's: an entry is "protected only" when
/// it is in every workspace where it matched.
fn add_hits(
    all: &mut std::collections::BTreeMap<(bool, u32), bool>,
    some: &std::collections::BTreeMap<(bool, u32), bool>,
) {
    for (k, protected) in some {
        let h = all.entry(*k).or_insert(true);
        *h = *h && *protected;
    }
}

/// `auth/stale-allowlist` for the policy's public entries that matched no route of the fleet,
/// or only routes that are protected anyway (a fleet-level finding, at the entry's line).
pub fn stale_entries(
    policy: &crate::config::Policy,
    hits: &std::collections::BTreeMap<(bool, u32), bool>,
) -> Vec<Finding> {
    let Some(policy_file) = policy.rel_path.as_deref() else { return Vec::new() };
    let cfg = &policy.auth;
    let mut out = Vec::new();
    let mut stale = |entries: &[cfg::PublicEntry], is_svc: bool, what: &str| {
        for p in entries.iter().filter(|p| p.line > 0) {
            let why = match hits.get(&(is_svc, p.line)) {
                None => "matches no route",
                Some(true) => "matches only routes that are protected anyway",
                Some(false) => continue,
            };
            let described = verdict::describe_public(p);
            out.push(
                Finding::new(
                    STALE,
                    crate::diag::Severity::Info,
                    format!("{what} {described}: {why}"),
                    crate::diag::Location::new(policy_file, crate::diag::Span::line(p.line)),
                )
                .with_key(format!("{what}|{described}")),
            );
        }
    };
    stale(&cfg.public, false, "public entry");
    for o in &cfg.services {
        stale(&o.public, true, "service public entry");
    }
    out
}

/// The cache key of a unit's findings: everything its analysis can read (the manifests and
/// Rust files of its workspace and of the packages they reach through path dependencies, by
/// content), the auth policy and the date (allowlist expiry). `None` when a file cannot be read.
fn unit_key(ctx: &CheckCtx<'_>, cache: &crate::cache::Cache, members: &[usize]) -> Option<String> {
    let fleet = ctx.fleet;
    let first = members.first()?;
    let ws = fleet.workspaces.iter().find(|w| w.members.contains(first))?;
    let mut selected = vec![false; fleet.packages.len()];
    for &m in &ws.members {
        selected[m] = true;
    }
    let selected = crate::scope::with_dependencies(fleet, &selected);
    let mut parts: Vec<String> =
        vec!["auth-unit".into(), format!("{:?}", ctx.policy.auth), ctx.now.to_string()];
    parts.extend(
        fleet.packages.iter().enumerate().filter(|(i, _)| selected[*i]).map(|(_, p)| format!("{p:?}")),
    );
    let now = std::time::SystemTime::now();
    for rel in &fleet.rust_files {
        if fleet.owner(rel).is_some_and(|i| selected[i]) {
            parts.push(rel.clone());
            parts.push(cache.content_hash(&fleet.root, rel, now)?);
        }
    }
    Some(crate::cache::digest(parts.iter().map(String::as_bytes)))
}

/// The check: findings for unprotected and unresolvable routes, stale allowlist entries and
/// files that did not parse.
pub fn check(ctx: &CheckCtx<'_>, sink: &Sink) {
    // The policy's public entries are judged over every workspace: a run limited to some
    // packages analyses them all in its first shard only, and a change run not at all.
    let judge_entries = match ctx.scope.map(|s| &s.mode) {
        None | Some(crate::scope::Mode::Shard { index: 1, .. }) => has_public_entries(ctx.policy),
        Some(_) => false,
    };
    let units = units(ctx.fleet, &|i| judge_entries || ctx.scope.is_none_or(|s| s.wants_package(i)));
    let mut hits = std::collections::BTreeMap::new();
    match ctx.cache {
        None => {
            let a = merge(analyse_units(ctx.fleet, ctx.policy, &units));
            hits = a.public_hits;
            sink.extend(a.findings);
        }
        Some(cache) => {
            // A unit whose inputs are unchanged takes its findings (and public-entry hits) from
            // the cache.
            let keys: Vec<Option<String>> = units.par_iter().map(|u| unit_key(ctx, cache, u)).collect();
            let mut todo = Vec::new();
            let mut todo_keys = Vec::new();
            for (unit, key) in units.into_iter().zip(keys) {
                let cached = key
                    .as_deref()
                    .and_then(|k| Some((cache.get(k)?, cache.get_value(&format!("{k}/hits"))?)));
                match cached
                    .and_then(|(f, h)| Some((f, serde_json::from_value::<Vec<(bool, u32, bool)>>(h).ok()?)))
                {
                    Some((found, unit_hits)) => {
                        sink.extend(found);
                        add_hits(&mut hits, &unit_hits.into_iter().map(|(s, l, p)| ((s, l), p)).collect());
                    }
                    None => {
                        todo.push(unit);
                        todo_keys.push(key);
                    }
                }
            }
            for (part, key) in analyse_units(ctx.fleet, ctx.policy, &todo).into_iter().zip(todo_keys) {
                if let Some(k) = key {
                    cache.put(k.clone(), &part.findings);
                    let list: Vec<(bool, u32, bool)> =
                        part.public_hits.iter().map(|((s, l), p)| (*s, *l, *p)).collect();
                    cache.put_value(format!("{k}/hits"), serde_json::json!(list));
                }
                add_hits(&mut hits, &part.public_hits);
                sink.extend(part.findings);
            }
        }
    }
    if judge_entries {
        sink.extend(stale_entries(ctx.policy, &hits));
    }
}

fn has_public_entries(policy: &crate::config::Policy) -> bool {
    !policy.auth.public.is_empty() || policy.auth.services.iter().any(|s| !s.public.is_empty())
}
