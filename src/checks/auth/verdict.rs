//! From routes to verdicts (spec §3.7) and findings (§4): one analysis unit (the framework
//! crates of one workspace) indexed, interpreted from its roots, and judged.

use super::cfg::{AuthConfig, Conditional, PublicEntry, PublicMatch};
use super::index::{CrateInfo, Index};
use super::interp::{Interp, Served};
use super::model::*;
use super::names::{Names, NamesTable};
use super::{Analysis, STALE, UNPROTECTED, UNRESOLVABLE, frameworks_of};
use crate::diag::{self, Finding, Location, Related, RouteEvidence, RouteInfo, RoutePlace, Severity, Span};
use crate::workspace::Fleet;
use std::collections::{BTreeMap, BTreeSet};

/// Something `--suggest-policy` proposes: (kind, name, where).
pub type Suggestion = (String, String, String);

/// A route's identity across roots: (crate, framework, path, method, handler, fallback).
type RouteKey = (usize, String, String, String, String, bool);

/// Root markers: a fn whose body mentions one of these is interpreted as a root.
const ROOT_MARKERS: &[&str] = &[
    "serve(",
    "serve_with",
    "HttpServer",
    "Server::build",
    "launch(",
    "ignite(",
    "run(",
    "run_with_graceful_shutdown",
];

/// Whether `body` mentions a root marker as a whole word (`serve(`, not `reserve(`).
fn has_root_marker(body: &str) -> bool {
    ROOT_MARKERS.iter().any(|m| {
        body.match_indices(m)
            .any(|(at, _)| !body[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_'))
    })
}
/// Return types of exported router fns.
const ROUTER_TYPES: &[&str] = &["Router", "Scope", "Resource", "Route", "Routes", "AppRoutes", "BoxedFilter"];

/// The built-in public allowlist (§2.1).
fn default_public() -> Vec<PublicEntry> {
    let glob = |p: &str| PublicMatch::Glob(crate::config::PolicyGlob::new(p).expect("valid glob"));
    let mut out: Vec<PublicEntry> = [
        "/health",
        "/healthz",
        "/livez",
        "/readyz",
        "/_ping",
        "/_health",
        "/_readiness",
        "/metrics",
        "/favicon.ico",
        "/robots.txt",
    ]
    .iter()
    .map(|p| PublicEntry {
        matcher: PublicMatch::Path((*p).into()),
        methods: Vec::new(),
        reason: "default allowlist".into(),
        line: 0,
    })
    .collect();
    out.push(PublicEntry {
        matcher: glob("/.well-known/**"),
        methods: Vec::new(),
        reason: "default allowlist".into(),
        line: 0,
    });
    for g in ["grpc.health.v1.Health/*", "grpc.reflection.*/*"] {
        out.push(PublicEntry {
            matcher: PublicMatch::Grpc(g.into()),
            methods: Vec::new(),
            reason: "default allowlist".into(),
            line: 0,
        });
    }
    out
}

/// Whether a public entry matches a route. Trailing slashes are tolerated and leading
/// `{dyn:..}` segments (deployment prefixes) ignored.
fn public_matches(p: &PublicEntry, e: &Entry) -> bool {
    if !p.methods.is_empty() && !p.methods.contains(&e.method) && e.method != "ANY" {
        return false;
    }
    let path = strip_dyn(&e.path);
    match &p.matcher {
        PublicMatch::Path(x) => {
            x.trim_end_matches('/') == path.trim_end_matches('/') || (x == "/" && path == "/")
        }
        PublicMatch::Glob(g) => g.is_match(&path) || g.is_match(path.trim_end_matches('/')),
        PublicMatch::Regex(r) => r.is_match(&path),
        PublicMatch::Grpc(pat) => e.method == "GRPC" && grpc_matches(pat, path.trim_start_matches('/')),
    }
}

fn grpc_matches(pat: &str, path: &str) -> bool {
    let (ps, pm) = pat.split_once('/').unwrap_or((pat, "*"));
    let (s, m) = path.split_once('/').unwrap_or((path, "*"));
    let seg = |p: &str, v: &str| {
        if let Some(prefix) = p.strip_suffix('*') { v.starts_with(prefix) } else { p == v }
    };
    seg(ps, s) && (pm == "*" || pm == m)
}

fn strip_dyn(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let start = segs.iter().take_while(|s| s.starts_with("{dyn:")).count();
    format!("/{}", segs[start..].join("/"))
}

/// Analyse one unit: the members of one workspace that depend on a framework. `files_of`
/// holds the Rust files of every package.
pub fn analyse_unit(
    fleet: &Fleet,
    policy: &crate::config::Policy,
    members: &[usize],
    files_of: &[Vec<&str>],
) -> Analysis {
    let cfg = &policy.auth;
    let mut ix = Index::default();
    ix.keep_all_bodies =
        !cfg.names.guard_calls.is_empty() || cfg.services.iter().any(|s| !s.names.guard_calls.is_empty());
    for &i in members {
        let p = &fleet.packages[i];
        let files: Vec<(String, String, String)> = files_of[i]
            .iter()
            .filter(|rel| crate::checks::source::in_scanned_dir(fleet, rel, Some(i), &policy.source))
            .filter(|rel| !cfg.exclude.iter().any(|g| g.is_match(rel)))
            .filter_map(|rel| {
                let text = std::fs::read(fleet.root.join(rel)).ok()?;
                if text.len() as u64 > policy.source.max_file_bytes {
                    return None;
                }
                let text = String::from_utf8(text).ok()?;
                let inner = crate::checks::source::rel_in_package(rel, Some(p)).to_string();
                Some((rel.to_string(), inner, text))
            })
            .collect();
        ix.add_crate(
            CrateInfo { ident: p.name.replace('-', "_"), pkg: i, frameworks: frameworks_of(p) },
            files,
        );
    }
    let mut out = Analysis::default();
    for (file, line, col, msg) in &ix.parse_errors {
        out.findings.push(diag::parse_error(
            &ix.files[*file].rel,
            (*line).max(1),
            *col,
            format!("rust syntax error: {msg}"),
        ));
    }
    // Roots.
    let fleet_names = NamesTable::new(cfg, None);
    let service_names: Vec<NamesTable> =
        cfg.services.iter().map(|o| NamesTable::new(cfg, Some((&o.names, o.replace)))).collect();
    let defaults = if cfg.use_builtin_defaults { default_public() } else { Vec::new() };
    let mut served: Vec<(Served, usize, String)> = Vec::new();
    // One evaluation budget for the whole unit, so no code shape can make the run explode.
    let mut budget = super::interp::UNIT_BUDGET;
    for id in 0..ix.fns.len() {
        let def = &ix.fns[id];
        let is_launch =
            def.attrs.iter().any(|a| a.path().segments.last().is_some_and(|s| s.ident == "launch"));
        let body = super::interp::src_text(&ix.files[def.file], syn::spanned::Spanned::span(&*def.block));
        let referenced = ix.referenced.contains(&def.name) && def.name != "main";
        let has_marker = has_root_marker(&body);
        // loco serves what `Hooks::routes` returns, whoever else calls a fn of that name.
        let loco_routes = super::index::type_last_of_output(&def.sig).as_deref() == Some("AppRoutes");
        let exported =
            loco_routes || ((cfg.all_routers || (def.is_pub && !referenced)) && exports_router(&def.sig));
        if !(is_launch || has_marker || exported) || ix.in_test_module(&def.module) {
            continue;
        }
        let mut it = Interp::new(&ix, &fleet_names, cfg.max_call_depth);
        it.budget = budget;
        let v = it.call_fn(id, Vec::new(), None);
        budget = it.budget;
        // `pub fn config(cfg: &mut ServiceConfig)`: what it registered in its parameter.
        let configured = std::mem::take(&mut it.mut_out).into_iter().find_map(|(_, v)| match v {
            Value::Routes(r) if r.kind == "ServiceConfig" => Some(Value::Routes(r)),
            _ => None,
        });
        let krate = ix.files[def.file].krate;
        let root_name = def.qual.split_once("::").map_or(def.qual.clone(), |(_, r)| r.to_string());
        if is_launch || (exported && it.served.is_empty()) {
            let v = configured.unwrap_or(v);
            served.push((Served { value: v, site: def.site.clone() }, krate, root_name.clone()));
        }
        for s in std::mem::take(&mut it.served) {
            // A helper that serves its parameter is reached from its callers; as a root of
            // its own it would serve an unknown value.
            if referenced && matches!(&s.value, Value::Opaque(r, _) if r.starts_with("parameter `")) {
                continue;
            }
            served.push((s, krate, root_name.clone()));
        }
    }
    // Entries per root, de-duplicated by route identity.
    let mut routes: BTreeMap<RouteKey, (Entry, Vec<String>)> = BTreeMap::new();
    for (s, krate, root) in served {
        for mut e in served_entries(s.value) {
            e.trail.push(Step { op: "serve", detail: root.clone(), site: s.site.clone() });
            let key = (
                krate,
                e.fw.as_str().to_string(),
                e.path.clone(),
                e.method.clone(),
                e.handler_name().to_string(),
                e.fallback,
            );
            routes
                .entry(key)
                .and_modify(|(_, roots)| {
                    if !roots.contains(&root) {
                        roots.push(root.clone());
                    }
                })
                .or_insert((e, vec![root.clone()]));
        }
    }
    // Rocket ranked fallbacks need every route of the same path.
    let all: Vec<Entry> = routes.values().map(|(e, _)| e.clone()).collect();
    let mut used_directives: BTreeSet<(usize, u32)> = BTreeSet::new();
    let mut public_hits: BTreeMap<(bool, u32), bool> = BTreeMap::new();
    for ((krate, ..), (e, roots)) in routes {
        let pkg = &fleet.packages[ix.crates[krate].pkg];
        let svc_at = cfg.services.iter().position(|o| o.selector.matches(pkg));
        let svc = svc_at.map(|i| &cfg.services[i]);
        let names = svc_at.map_or(&fleet_names, |i| &service_names[i]);
        let judged = judge(&ix, cfg, names, svc, &e, &all, &defaults);
        if let Some(at) = judged.directive_at {
            used_directives.insert(at);
        }
        if let Some((is_svc, line, protected)) = judged.public_entry {
            let h = public_hits.entry((is_svc, line)).or_insert(true);
            *h = *h && protected;
        }
        let info = route_info(&ix, &pkg.name, &e, &judged, &roots);
        if let Some(f) = finding(&info, &judged, &e, &pkg.name, cfg) {
            out.findings.push(f);
        }
        out.routes.push(info);
    }
    // Which policy public entries matched a route here (and whether only protected ones): the
    // entries that matched nothing are found over every workspace (`super::stale_entries`).
    out.public_hits = public_hits;
    // Directives without a reason are ignored (a warning); directives no route used are stale.
    for (fi, line, d) in all_directives(&ix) {
        let rel = ix.files[fi].rel.to_string();
        let (spelled, has_reason) = match &d {
            Directive::Public(r) => ("fleetward:public".to_string(), r.is_some()),
            Directive::ProtectedBy(n, r) => {
                (format!("fleetward:protected-by {n}"), r.is_some() && !n.is_empty())
            }
        };
        if !has_reason {
            out.findings.push(
                Finding::new(
                    "fleetward/suppression-without-reason",
                    Severity::Low,
                    format!("`{spelled}` has no reason, so it is ignored; write why after it"),
                    Location::new(rel.clone(), Span::line(line)),
                )
                .with_key(format!("auth-directive|{spelled}")),
            );
        } else if !used_directives.contains(&(fi, line)) {
            out.findings.push(
                Finding::new(
                    STALE,
                    Severity::Info,
                    format!(
                        "`{spelled}` is not on or above a route registration or handler of a served route"
                    ),
                    Location::new(rel, Span::line(line)),
                )
                .with_key(format!("directive|{spelled}")),
            );
        }
    }
    // `--suggest-policy`: extractor impls and auth-looking names not configured.
    let names = fleet_names.get(Fw::Axum);
    for t in &ix.extractor_impls {
        if names.classify_extractor(t, false).is_none() {
            let why = if names.suspect(t) {
                "impl FromRequest(Parts), name looks like auth"
            } else {
                "impl FromRequest(Parts)"
            };
            out.suggestions.push(("extractors".into(), t.clone(), why.into()));
        }
    }
    for t in &ix.security_schemes {
        out.suggestions.push((
            "extractors".into(),
            t.clone(),
            "derive(SecurityScheme) (counted already)".into(),
        ));
    }
    for r in &out.routes {
        for ev in &r.evidence {
            if !ev.counted && ev.why.contains("looks like auth") {
                let kind = match ev.source.as_str() {
                    "Extractor" => "extractors",
                    "Layer" | "RouteLayer" | "OuterWrap" | "ContainerWrap" | "Hoop" | "With"
                        if ev.name.contains('(') =>
                    {
                        "middleware_fns"
                    }
                    _ => "layers",
                };
                out.suggestions.push((kind.into(), ev.name.clone(), format!("{}:{}", ev.file, ev.line)));
            }
        }
    }
    out
}

fn config_param(sig: &syn::Signature) -> bool {
    sig.inputs.iter().any(|i| matches!(i, syn::FnArg::Typed(t) if super::index::type_last(&t.ty).as_deref() == Some("ServiceConfig")))
}

fn exports_router(sig: &syn::Signature) -> bool {
    if config_param(sig) {
        return true;
    }
    let syn::ReturnType::Type(_, ty) = &sig.output else { return false };
    let text = super::frameworks::quote_text(&**ty);
    if text.starts_with("implFilter") || text.contains("HttpServiceFactory") || text == "Vec<Route>" {
        return true;
    }
    super::index::type_last(ty).is_some_and(|l| ROUTER_TYPES.contains(&l.as_str()))
}

/// The routes a served value stands for.
fn served_entries(v: Value) -> Vec<Entry> {
    match v {
        Value::Routes(r) => super::frameworks::finalize(r),
        Value::Filter(b) => super::frameworks::branches_to_entries(b),
        Value::Grpc(layers, svcs) => super::frameworks::grpc_entries(&layers, svcs),
        Value::Svc(svcs) => super::frameworks::grpc_entries(&[], svcs),
        Value::List(items) => items.into_iter().flat_map(served_entries).collect(),
        Value::Unit
        | Value::Server(_)
        | Value::Bool(_)
        | Value::Str(_)
        | Value::Mw(_)
        | Value::Closure(..) => Vec::new(),
        Value::Handler(_) | Value::Methods(_) => Vec::new(),
        Value::Path(w, _, site) => {
            let mut e = Entry::new(Fw::Axum, format!("<placeholder:{w}>"), "ANY", None, site);
            e.placeholder = Some(format!("`{w}` is served but not in the workspace"));
            vec![e]
        }
        Value::Opaque(r, site) => {
            let mut e = Entry::new(
                Fw::Axum,
                format!("<placeholder:{}>", super::interp::truncate(&r, 40)),
                "ANY",
                None,
                site,
            );
            e.placeholder =
                Some(format!("served value `{}` could not be resolved", super::interp::truncate(&r, 40)));
            vec![e]
        }
    }
}

/// The verdict of one route and everything that led to it.
pub struct Judged {
    pub verdict: &'static str,
    pub severity: Severity,
    pub confidence: &'static str,
    /// Every piece of evidence with whether it counted and why.
    pub evidence: Vec<(Mw, bool, String)>,
    pub pitfalls: BTreeSet<&'static str>,
    pub reason: String,
    pub fix: String,
    /// (per-service entry, policy line, route protected anyway) of the public entry used.
    pub public_entry: Option<(bool, u32, bool)>,
    pub public_reason: Option<String>,
    /// The in-source directive used, as (file, line).
    pub directive_at: Option<(usize, u32)>,
}

fn judge(
    ix: &Index,
    cfg: &AuthConfig,
    table: &NamesTable,
    svc: Option<&super::cfg::AuthServiceOverride>,
    e: &Entry,
    all: &[Entry],
    defaults: &[PublicEntry],
) -> Judged {
    let names = table.get(e.fw);
    let it = Interp::new(ix, table, cfg.max_call_depth);
    let mut evidence: Vec<Mw> = e.evidence.clone();
    let mut bound = Vec::new();
    if let Some(h) = &e.handler {
        for m in &h.evidence {
            if !evidence.contains(m) {
                evidence.push(m.clone());
            }
        }
        if let Some(id) = h.fn_id {
            if e.fw == Fw::Rocket {
                for ra in super::handler::route_attrs(&ix.fns[id].attrs) {
                    bound.extend(ra.bound);
                }
            }
            evidence.extend(it.param_evidence(id, e.fw, &bound));
            evidence.extend(it.body_evidence(id, e.fw));
        }
    }
    // In-source directives.
    let (public_directive, asserted, directive_at) = directives(ix, e);
    if let Some((name, site)) = asserted {
        evidence.push(Mw {
            name,
            class: Class::Asserted,
            cond: Cond::Always,
            source: Source::Annotation,
            site,
            heuristic: false,
        });
    }
    let counted = |m: &Mw| m.class.enforces() && m.cond.is_always();
    let protected = evidence.iter().any(counted);
    let conditional: Vec<&Mw> =
        evidence.iter().filter(|m| m.class.enforces() && !m.cond.is_always()).collect();
    let unknown: Vec<&Mw> =
        evidence.iter().filter(|m| matches!(m.class, Class::Unknown(_) | Class::PresenceOnly)).collect();
    let mut pitfalls: BTreeSet<&'static str> = e.pitfalls.clone();
    if !e.missed.is_empty() && e.missed.iter().any(|m| m.class.enforces()) {
        pitfalls.insert("late-route");
    }
    if evidence.iter().any(|m| m.class == Class::Optional) {
        pitfalls.insert("optional-extractor");
    }
    if evidence.iter().any(|m| m.class == Class::NonEnforcing) {
        pitfalls.insert("non-enforcing-auth");
    }
    if e.fw == Fw::Rocket
        && let Some(rank) = e.rank
        && all.iter().any(|o| {
            o.path == e.path
                && o.method == e.method
                && o.handler_name() != e.handler_name()
                && o.rank.unwrap_or(i64::MIN) < rank
        })
    {
        pitfalls.insert("ranked-fallback");
    }
    let explained: Vec<(Mw, bool, String)> = evidence
        .iter()
        .map(|m| {
            let c = counted(m);
            let why = match (&m.class, c) {
                (_, true) => match m.class {
                    Class::FailClosed => {
                        "principal required (fails closed with 500 when missing)".to_string()
                    }
                    Class::Asserted => "asserted by an in-source directive".to_string(),
                    _ => "enforces authentication".to_string(),
                },
                (Class::Auth | Class::FailClosed | Class::Asserted, false) => {
                    format!("applies only when {}", m.cond.describe())
                }
                (Class::NotAuth, _) => "not an auth name".to_string(),
                (Class::NonEnforcing, _) => {
                    "auth-related but does not reject unauthenticated requests".to_string()
                }
                (Class::PresenceOnly, _) => "parses the credential without validating it".to_string(),
                (Class::Optional, _) => {
                    "optional: unauthenticated requests still reach the handler".to_string()
                }
                (Class::Unknown(r), _) => r.clone(),
            };
            (m.clone(), c, why)
        })
        .collect();
    // Public allowlist: per-service entries, then the policy's, then the defaults.
    let mut public: Option<(bool, u32, String)> = None;
    if let Some(o) = svc
        && let Some(p) = o.public.iter().find(|p| public_matches(p, e))
    {
        public = Some((true, p.line, p.reason.clone()));
    }
    if public.is_none()
        && let Some(p) = cfg.public.iter().chain(defaults).find(|p| public_matches(p, e))
    {
        public = Some((false, p.line, p.reason.clone()));
    }
    if public.is_none()
        && let Some(reason) = public_directive
    {
        public = Some((false, 0, reason));
    }
    let fallback_low = e.fallback || pitfalls.contains("ranked-fallback");
    let sensitive = cfg.sensitive_paths.iter().any(|g| g.is_match(&e.path));
    let confidence = if evidence.iter().any(|m| counted(m) && (m.heuristic || m.class == Class::FailClosed)) {
        "medium"
    } else {
        "high"
    };
    let (verdict, mut severity, reason) = if let Some((_, _, r)) = &public {
        ("public", Severity::Info, format!("allowlisted: {r}"))
    } else if protected {
        let by: Vec<String> = evidence.iter().filter(|m| counted(m)).map(|m| m.name.clone()).collect();
        ("protected", Severity::Info, format!("protected by {}", by.join(", ")))
    } else if !conditional.is_empty() && cfg.treat_conditional_as != Conditional::Unresolvable {
        match cfg.treat_conditional_as {
            Conditional::Protected => (
                "protected",
                Severity::Info,
                format!("auth applied only when {} (treated as protected)", conditional[0].cond.describe()),
            ),
            _ => (
                "unprotected",
                cfg.severity,
                format!("auth applied only when {} (treated as unprotected)", conditional[0].cond.describe()),
            ),
        }
    } else if !conditional.is_empty() {
        (
            "unresolvable",
            cfg.severity_conditional,
            format!("auth applied only when {}", conditional[0].cond.describe()),
        )
    } else if let Some(p) = &e.placeholder {
        ("unresolvable", cfg.severity_unresolvable, format!("{p}; the routes it stands for cannot be listed"))
    } else if !unknown.is_empty() {
        let u = unknown[0];
        let why = match &u.class {
            Class::PresenceOnly => format!("`{}` parses credentials but nothing validates them", u.name),
            Class::Unknown(r) => format!("`{}`: {r}", u.name),
            _ => String::new(),
        };
        ("unresolvable", cfg.severity_unresolvable, why)
    } else {
        let sev = if fallback_low {
            Severity::Low
        } else if sensitive {
            cfg.severity_sensitive
        } else {
            svc.and_then(|o| o.severity).unwrap_or(cfg.severity)
        };
        ("unprotected", sev, unprotected_reason(e, &pitfalls, &evidence))
    };
    if verdict == "unprotected" && e.fallback && !cfg.check_fallbacks {
        severity = Severity::Info;
    }
    if svc.is_some_and(|o| o.external_auth) {
        severity = severity.min(Severity::Info);
    }
    let fix = fix_for(e, &pitfalls, names);
    Judged {
        verdict,
        severity,
        confidence,
        evidence: explained,
        pitfalls,
        reason,
        fix,
        public_entry: public.as_ref().filter(|(_, l, _)| *l > 0).map(|(s, l, _)| (*s, *l, protected)),
        public_reason: public.map(|(_, _, r)| r),
        directive_at,
    }
}

fn unprotected_reason(e: &Entry, pitfalls: &BTreeSet<&'static str>, evidence: &[Mw]) -> String {
    let h = e.handler_name();
    if pitfalls.contains("late-route")
        && let Some(m) = e.missed.iter().find(|m| m.class.enforces())
    {
        return format!(
            "added after `{}` ({}); axum layers wrap only the routes that already exist, and `{h}` has no auth extractor, attribute or guard call",
            m.name,
            m.site.short()
        );
    }
    if pitfalls.contains("route-wrap-before-to") {
        return "`Route::wrap` was called before `.to(..)`, so the middleware is dropped (a startup panic since actix-web 4.14)".into();
    }
    if pitfalls.contains("late-auth") {
        return "the auth filter comes after the handler stage of this branch".into();
    }
    if pitfalls.contains("optional-extractor") {
        return format!(
            "the auth extractor is optional (`Option`/`Result`), so unauthenticated requests reach `{h}`"
        );
    }
    if pitfalls.contains("ranked-fallback") {
        return "a higher-rank route without a guard catches the requests whose guard failed".into();
    }
    if pitfalls.contains("non-enforcing-auth") {
        let n = evidence.iter().find(|m| m.class == Class::NonEnforcing).map_or("", |m| m.name.as_str());
        return format!("`{n}` only provides auth state; it does not reject unauthenticated requests");
    }
    if e.fallback {
        return "the fallback handler answers every unmatched path without authentication".into();
    }
    format!("no auth middleware, guard, extractor or attribute covers `{h}`")
}

fn fix_for(e: &Entry, pitfalls: &BTreeSet<&'static str>, names: &Names) -> String {
    let mw = names.policy.middleware_fns.first().cloned().unwrap_or_else(|| "require_auth".into());
    let always = " or allowlist it with a reason (`[[auth.public]]` or `// fleetward:public <reason>`)";
    let s = match e.fw {
        Fw::Axum | Fw::Loco if pitfalls.contains("late-route") => {
            "Move the route before the auth `.layer(..)`, add `.route_layer(..)` with the auth middleware after it, or move it into the protected sub-router".to_string()
        }
        Fw::Axum | Fw::Loco => format!("Add `.route_layer(middleware::from_fn({mw}))` after the route, or an auth extractor parameter"),
        Fw::Actix if pitfalls.contains("route-wrap-before-to") => "Call `.to(handler)` before `.wrap(middleware)`".into(),
        Fw::Actix => "Wrap the scope or resource with the auth middleware (`web::scope(..).wrap(..)`), or use `#[get(.., wrap = \"..\")]`".into(),
        Fw::Rocket => "Add a request guard parameter (not `Option<_>`/`Result<_, _>`)".into(),
        Fw::Warp => "Put `.and(<auth filter>)` before `.and_then(handler)` in this branch".into(),
        Fw::Poem => "Add `.with(<auth middleware>)` on an ancestor route".into(),
        Fw::Salvo => "Add `.hoop(<auth handler>)` on an ancestor router".into(),
        Fw::Tonic => format!("Use `with_interceptor(svc, {mw})` or `Server::builder().layer(InterceptorLayer::new({mw}))`"),
    };
    format!("{s},{always}.")
}

/// `// fleetward:public <reason>` / `// fleetward:protected-by <name> <reason>` on the
/// registration line, up to two lines above it, or above the handler fn.
/// An in-source auth directive: `public` with its reason, or `protected-by` with the name and
/// reason; `None` inside when the reason is missing.
enum Directive {
    Public(Option<String>),
    ProtectedBy(String, Option<String>),
}

fn parse_directive(text: &str) -> Option<Directive> {
    let at = text.find("fleetward:")?;
    if !text[..at].trim_end().ends_with("//") {
        return None;
    }
    let d = &text[at + "fleetward:".len()..];
    let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(reason) = d.strip_prefix("public") {
        Some(Directive::Public(non_empty(reason)))
    } else if let Some(rest) = d.strip_prefix("protected-by") {
        let mut parts = rest.trim().splitn(2, char::is_whitespace);
        let name = parts.next().unwrap_or("").to_string();
        Some(Directive::ProtectedBy(name, parts.next().and_then(non_empty)))
    } else {
        None
    }
}

/// Every auth directive of the unit: (file, line, directive).
fn all_directives(ix: &Index) -> Vec<(usize, u32, Directive)> {
    let mut out = Vec::new();
    for (fi, f) in ix.files.iter().enumerate() {
        for at in memchr::memmem::find_iter(f.text.as_bytes(), b"fleetward:") {
            let line = f.line_starts.partition_point(|&s| s <= at) as u32;
            if let Some(d) = parse_directive(f.line(line)) {
                out.push((fi, line, d));
            }
        }
    }
    out
}

/// The directive covering a route, and the (file, line) it is on.
type Directives = (Option<String>, Option<(String, Site)>, Option<(usize, u32)>);

fn directives(ix: &Index, e: &Entry) -> Directives {
    let mut places: Vec<(usize, u32, bool)> = Vec::new();
    if let Some(fi) = ix.files.iter().position(|f| f.rel == e.reg.file) {
        places.push((fi, e.reg.line, false));
    }
    if let Some(id) = e.handler.as_ref().and_then(|h| h.fn_id) {
        let def = &ix.fns[id];
        let first = def
            .attrs
            .iter()
            .map(|a| syn::spanned::Spanned::span(a).start().line as u32)
            .min()
            .unwrap_or(def.site.line);
        places.push((def.file, first.min(def.site.line), true));
    }
    for (fi, line, above_fn) in places {
        let f = &ix.files[fi];
        // The line itself (a trailing comment), then the comment and attribute lines directly
        // above it (at most two for a registration, three above a handler fn).
        let max = if above_fn { 3 } else { 2 };
        let mut lines: Vec<u32> = if above_fn { Vec::new() } else { vec![line] };
        let mut l = line;
        while l > 1 && lines.len() < max + usize::from(!above_fn) {
            l -= 1;
            let t = f.line(l).trim_start();
            if !(t.starts_with("//") || t.starts_with("#[")) {
                break;
            }
            lines.push(l);
        }
        for l in lines {
            match parse_directive(f.line(l)) {
                Some(Directive::Public(Some(reason))) => return (Some(reason), None, Some((fi, l))),
                Some(Directive::ProtectedBy(name, Some(reason))) if !name.is_empty() => {
                    let site = Site { file: f.rel.clone(), line: l, column: 1 };
                    return (None, Some((format!("{name} (asserted: {reason})"), site)), Some((fi, l)));
                }
                _ => {}
            }
        }
    }
    (None, None, None)
}

fn place(site: &Site, what: impl Into<String>) -> RoutePlace {
    RoutePlace { file: site.file.to_string(), line: site.line, column: site.column, what: what.into() }
}

fn route_info(ix: &Index, service: &str, e: &Entry, j: &Judged, roots: &[String]) -> RouteInfo {
    let handler_site =
        e.handler.as_ref().and_then(|h| h.fn_id).map(|id| place(&ix.fns[id].site, ix.fns[id].qual.clone()));
    let router_fn = ix
        .fns
        .iter()
        .filter(|f| *f.site.file == *e.router.file && f.site.line <= e.router.line)
        .max_by_key(|f| f.site.line)
        .map_or(String::new(), |f| f.name.clone());
    RouteInfo {
        service: service.to_string(),
        framework: e.fw.as_str().to_string(),
        methods: vec![e.method.clone()],
        path: e.path.clone(),
        handler: e.handler_name().to_string(),
        verdict: j.verdict.to_string(),
        severity: matches!(j.verdict, "unprotected" | "unresolvable").then_some(j.severity),
        confidence: j.confidence.to_string(),
        handler_site,
        registration: place(&e.reg, "registration"),
        router: place(&e.router, router_fn),
        composition: e
            .trail
            .iter()
            .map(|s| {
                place(
                    &s.site,
                    if s.detail.is_empty() { s.op.to_string() } else { format!("{} {}", s.op, s.detail) },
                )
            })
            .collect(),
        evidence: j
            .evidence
            .iter()
            .map(|(m, c, why)| RouteEvidence {
                name: m.name.clone(),
                source: m.source.as_str().to_string(),
                counted: *c,
                file: m.site.file.to_string(),
                line: m.site.line,
                why: why.clone(),
            })
            .collect(),
        protected_by: j.evidence.iter().filter(|(_, c, _)| *c).map(|(m, ..)| m.name.clone()).collect(),
        pitfalls: if j.verdict != "unprotected" {
            Vec::new()
        } else {
            j.pitfalls.iter().map(|p| p.to_string()).collect()
        },
        missed_auth: e
            .missed
            .iter()
            .filter(|m| m.class.enforces())
            .map(|m| place(&m.site, m.name.clone()))
            .collect(),
        reason: {
            let reason = if j.verdict == "public" {
                j.public_reason.clone().unwrap_or_default()
            } else {
                j.reason.clone()
            };
            if roots.len() > 1 { format!("{reason} (served from {})", roots.join(", ")) } else { reason }
        },
        fix: j.fix.clone(),
    }
}

fn finding(info: &RouteInfo, j: &Judged, e: &Entry, service: &str, _cfg: &AuthConfig) -> Option<Finding> {
    let rule = match j.verdict {
        "unprotected" => UNPROTECTED,
        "unresolvable" => UNRESOLVABLE,
        _ => return None,
    };
    let pitfalls =
        if info.pitfalls.is_empty() { String::new() } else { format!(" [{}]", info.pitfalls.join(", ")) };
    let message = match j.verdict {
        "unprotected" => format!(
            "{} {} ({}) is reachable without authentication{pitfalls}: {}",
            e.method,
            e.path,
            e.fw.as_str(),
            j.reason
        ),
        _ => format!(
            "cannot tell whether {} {} ({}) requires authentication: {}",
            e.method,
            e.path,
            e.fw.as_str(),
            j.reason
        ),
    };
    let mut related =
        vec![Related { location: loc(&e.router), message: format!("router `{}`", info.router.what) }];
    for m in e.missed.iter().filter(|m| m.class.enforces()) {
        related.push(Related {
            location: loc(&m.site),
            message: format!("auth layer `{}` applied before this route was added", m.name),
        });
    }
    for s in &e.trail {
        related.push(Related {
            location: loc(&s.site),
            message: format!("{} {}", s.op, s.detail).trim().to_string(),
        });
    }
    related.dedup_by(|a, b| a.location == b.location && a.message == b.message);
    let mut f = Finding::new(rule, j.severity, message, loc(&e.reg))
        .with_key(format!("{}|{}|{}|{}", e.fw.as_str(), e.method, e.path, e.handler_name()))
        .with_services(vec![service.to_string()])
        .with_help(j.fix.clone())
        .with_related(related);
    f.route = Some(Box::new(info.clone()));
    Some(f)
}

fn loc(s: &Site) -> Location {
    Location::new(s.file.to_string(), Span::at(s.line, s.column))
}

pub(super) fn describe_public(p: &PublicEntry) -> String {
    match &p.matcher {
        PublicMatch::Path(x) => format!("path `{x}`"),
        PublicMatch::Glob(g) => format!("glob `{}`", g.pattern),
        PublicMatch::Regex(r) => format!("regex `{}`", r.as_str()),
        PublicMatch::Grpc(g) => format!("grpc `{g}`"),
    }
}
