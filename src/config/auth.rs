//! `[auth]`: the route-authentication check (see [`crate::checks::auth::cfg`] for the meaning
//! of every value). Every key is optional; absent keys keep [`AuthConfig::default`].
//!
//! ```toml
//! [auth]
//! severity = "high"                 # unprotected route
//! severity_sensitive = "critical"   # unprotected route on a sensitive path
//! severity_conditional = "medium"   # unresolvable only because auth is conditional
//! severity_unresolvable = "info"    # unresolvable for any other reason
//! treat_conditional_as = "unresolvable"   # | "protected" | "unprotected"
//! sensitive_paths = ["/admin/**", "/debug/**", "/internal/**", "**/pprof/**"]   # replaces the default list
//! suspect_keywords = ["auth", "jwt", ...]   # replaces the default list (stored lower case)
//! check_fallbacks = true
//! max_call_depth = 8                # 1..=64
//! exclude = ["**/generated/**"]     # globs of files relative to the root
//! use_builtin_defaults = true
//! all_routers = false
//!
//! [auth.names]          # all frameworks; lists are additive to the built-in defaults
//! middleware_fns = ["require_auth", "crate::auth::*"]
//! layers = ["JwtAuthLayer"]
//! extractors = ["Claims", "AuthUser"]
//! extension_principals = ["CurrentUser"]
//! attributes = []
//! guard_calls = []
//! guards = []
//! router_methods = []
//! not_auth = []
//!
//! [auth.names.axum]     # likewise actix, rocket, warp, poem, tonic, salvo, loco (cfg::FRAMEWORKS)
//! extractors = ["UserAuth"]
//! replace = false       # true: these lists replace the global ones for this framework
//!
//! [[auth.public]]       # exactly one of path | glob | regex | grpc; methods optional; reason required
//! glob = "/static/**"
//! methods = ["GET", "HEAD"]
//! reason = "static assets"
//!
//! [[auth.service]]      # per-service override; first match wins
//! services = ["billing-api", "services/billing/**"]
//! names = { extractors = ["BillingPrincipal"], replace = false }
//! public = [{ path = "/webhooks/stripe", reason = "HMAC-verified in handler" }]
//! external_auth = false
//! severity = "critical"
//! ```
//!
//! Validation, every problem at its line:
//! - a name (every list of `names`) is a Rust path pattern: segments of identifier characters
//!   and `*`, separated by `::`, optionally ending in `!` (a macro); duplicates are dropped;
//! - `sensitive_paths` and `glob` are route-path globs (`*` one segment, `**` any number) that
//!   start with `/`, `*` or `{`; `exclude` holds file globs relative to the root, like
//!   `[fleet] exclude`;
//! - `path` starts with `/`; `regex` compiles (it is kept as written); `grpc` is
//!   `pkg.Service/Method`, `pkg.Service/*` or `pkg.*/*` (segments of `[A-Za-z0-9_.*]`, no
//!   leading `/`);
//! - `methods` are HTTP methods (GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS, TRACE, CONNECT),
//!   any case, stored upper case; none means every method;
//! - a public entry has exactly one matcher and a non-empty `reason`; an override has a
//!   non-empty `services` selector (see `source::selector`).
//!
//! The `line` of a public entry is the line of its matcher key; that of an override, the line
//! of its `services` key.

use super::PolicyGlob;
use super::context::{Ctx, Table};
use crate::checks::auth::cfg::{
    AuthConfig, AuthNames, AuthServiceOverride, Conditional, FRAMEWORKS, FrameworkNames, PublicEntry,
    PublicMatch,
};
use std::sync::LazyLock;

/// The keys `[auth]` accepts.
pub const KEYS: &[&str] = &[
    "severity",
    "severity_sensitive",
    "severity_conditional",
    "severity_unresolvable",
    "treat_conditional_as",
    "sensitive_paths",
    "suspect_keywords",
    "check_fallbacks",
    "max_call_depth",
    "exclude",
    "use_builtin_defaults",
    "all_routers",
    "names",
    "public",
    "service",
];
/// The name lists of `[auth.names]`, `[auth.names.<framework>]` and a service's `names`.
pub const NAME_LISTS: &[&str] = &[
    "middleware_fns",
    "layers",
    "extractors",
    "extension_principals",
    "attributes",
    "guard_calls",
    "guards",
    "router_methods",
    "not_auth",
];
/// The keys of one `[[auth.public]]` entry (or of a service's `public` entry).
pub const PUBLIC_KEYS: &[&str] = &["path", "glob", "regex", "grpc", "methods", "reason"];
/// The matchers of a public entry, of which exactly one is given.
pub const PUBLIC_MATCHERS: &[&str] = &["path", "glob", "regex", "grpc"];
/// The keys of one `[[auth.service]]` override.
pub const SERVICE_KEYS: &[&str] = &["services", "names", "public", "external_auth", "severity"];
/// The values of `auth.treat_conditional_as`.
pub const CONDITIONAL: &[&str] = &["unresolvable", "protected", "unprotected"];
/// The HTTP methods `methods` accepts.
pub const HTTP_METHODS: &[&str] =
    &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT"];
/// The bounds of `auth.max_call_depth`.
pub const MAX_CALL_DEPTH: std::ops::RangeInclusive<i64> = 1..=64;

static NAME_PATTERN: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[\w*]+(::[\w*]+)*!?$").expect("valid regex"));
static GRPC_PATTERN: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^[A-Za-z0-9_.*]+/[A-Za-z0-9_.*]+$").expect("valid regex"));

/// Validate `[auth]`.
pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> AuthConfig {
    let mut out = AuthConfig::default();
    let Some(t) = ctx.section(root, "auth", KEYS) else { return out };
    let severities = [
        ("severity", &mut out.severity),
        ("severity_sensitive", &mut out.severity_sensitive),
        ("severity_conditional", &mut out.severity_conditional),
        ("severity_unresolvable", &mut out.severity_unresolvable),
    ];
    for (key, field) in severities {
        if let Some(s) = ctx.severity(&t, key) {
            *field = s;
        }
    }
    if let Some(v) = t.get("treat_conditional_as")
        && let Some(c) = ctx.choice_value(&t.path_of("treat_conditional_as"), v, CONDITIONAL)
    {
        out.treat_conditional_as = match c {
            "protected" => Conditional::Protected,
            "unprotected" => Conditional::Unprotected,
            _ => Conditional::Unresolvable,
        };
    }
    if let Some(items) = ctx.strings(&t, "sensitive_paths") {
        let what = t.path_of("sensitive_paths");
        out.sensitive_paths = items.iter().filter_map(|s| route_glob(ctx, &what, s)).collect();
    }
    if let Some(words) = ctx.strings(&t, "suspect_keywords") {
        out.suspect_keywords.clear();
        for w in words {
            let w = w.get_ref().trim().to_lowercase();
            if !out.suspect_keywords.contains(&w) {
                out.suspect_keywords.push(w);
            }
        }
    }
    let booleans = [
        ("check_fallbacks", &mut out.check_fallbacks),
        ("use_builtin_defaults", &mut out.use_builtin_defaults),
        ("all_routers", &mut out.all_routers),
    ];
    for (key, field) in booleans {
        if let Some(b) = ctx.boolean(&t, key) {
            *field = b.into_inner();
        }
    }
    if let Some(n) = ctx.integer(&t, "max_call_depth") {
        match usize::try_from(*n.get_ref()) {
            Ok(depth) if MAX_CALL_DEPTH.contains(n.get_ref()) => out.max_call_depth = depth,
            _ => ctx.error(
                n.span(),
                format!(
                    "`{}` must be between {} and {}",
                    t.path_of("max_call_depth"),
                    MAX_CALL_DEPTH.start(),
                    MAX_CALL_DEPTH.end()
                ),
                "out of range",
                Some(
                    "how many calls deep a router or middleware is followed, like `max_call_depth = 8`"
                        .into(),
                ),
            ),
        }
    }
    if let Some(globs) = ctx.globs(&t, "exclude") {
        out.exclude = globs;
    }
    let known: Vec<&str> = NAME_LISTS.iter().chain(FRAMEWORKS).copied().collect();
    if let Some(n) = ctx.section(&t, "names", &known) {
        out.names = names(ctx, &n);
        let with_replace: Vec<&str> = NAME_LISTS.iter().chain(&["replace"]).copied().collect();
        for (key, _, _) in n.entries() {
            if !FRAMEWORKS.contains(&key) {
                continue;
            }
            if let Some(f) = ctx.section(&n, key, &with_replace) {
                out.frameworks.push(FrameworkNames {
                    framework: key.to_string(),
                    names: names(ctx, &f),
                    replace: ctx.boolean(&f, "replace").is_some_and(|b| b.into_inner()),
                });
            }
        }
    }
    out.public = ctx.tables(&t, "public", PUBLIC_KEYS).iter().filter_map(|p| public(ctx, p)).collect();
    out.services = ctx.tables(&t, "service", SERVICE_KEYS).iter().filter_map(|s| service(ctx, s)).collect();
    out
}

/// The name lists of `t` (absent lists are empty).
fn names(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> AuthNames {
    let mut out = AuthNames::default();
    let lists = [
        &mut out.middleware_fns,
        &mut out.layers,
        &mut out.extractors,
        &mut out.extension_principals,
        &mut out.attributes,
        &mut out.guard_calls,
        &mut out.guards,
        &mut out.router_methods,
        &mut out.not_auth,
    ];
    for (key, list) in NAME_LISTS.iter().zip(lists) {
        *list = patterns(ctx, t, key);
    }
    out
}

/// The list `key` of Rust path patterns (`require_auth`, `crate::auth::*`, `authorize!`).
fn patterns(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str) -> Vec<String> {
    let what = t.path_of(key);
    let mut out: Vec<String> = Vec::new();
    for s in ctx.strings(t, key).unwrap_or_default() {
        let p = s.get_ref().trim();
        if !NAME_PATTERN.is_match(p) {
            ctx.error(
                s.span(),
                format!("`{p}` in `{what}` is not a Rust path pattern"),
                "not a path pattern",
                Some(
                    "write a name or a path, like `require_auth`, `crate::auth::*` or `authorize!` \
                     (identifiers and `*` separated by `::`, no generics)"
                        .into(),
                ),
            );
        } else if !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    out
}

/// A glob on route paths (`/admin/**`, `**/pprof/**`): `*` one segment, `**` any number.
fn route_glob(ctx: &mut Ctx<'_>, what: &str, s: &toml::Spanned<String>) -> Option<PolicyGlob> {
    let pattern = s.get_ref();
    if !pattern.starts_with(['/', '*', '{']) {
        ctx.error(
            s.span(),
            format!("glob `{pattern}` in `{what}` never matches a route path"),
            "never matches",
            Some(format!("route paths start with `/`, like `/{pattern}`")),
        );
        return None;
    }
    match PolicyGlob::new(pattern) {
        Ok(g) => Some(g),
        Err(e) => {
            ctx.error(
                s.span(),
                format!("invalid glob `{pattern}` in `{what}`: {}", e.kind()),
                "invalid glob",
                None,
            );
            None
        }
    }
}

/// One `[[auth.public]]` entry, or one entry of a service's `public`.
fn public(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<PublicEntry> {
    let before = ctx.problem_count();
    let what = t.name().to_string();
    let given: Vec<&str> = PUBLIC_MATCHERS.iter().copied().filter(|k| t.get(k).is_some()).collect();
    if given.len() != 1 {
        ctx.error(
            t.span(),
            format!("`{what}` must have exactly one of `path`, `glob`, `regex`, `grpc`"),
            if given.is_empty() { "matches nothing" } else { "more than one matcher" },
            Some("one entry per route pattern, like `path = \"/health\"` or `glob = \"/static/**\"`".into()),
        );
    }
    let kind = given.first().copied().unwrap_or("path");
    let key = format!("{what}.{kind}");
    let value = t.get(kind).and_then(|v| ctx.non_empty_string_value(&key, v));
    let matcher = value.and_then(|s| matcher(ctx, &key, kind, &s));
    let methods = methods(ctx, t);
    let reason = ctx
        .required(
            t,
            "reason",
            "say why this route needs no authentication, like `reason = \"load balancer health check\"`",
        )
        .and_then(|v| ctx.non_empty_string_value(&format!("{what}.reason"), v));
    if ctx.problem_count() > before {
        return None;
    }
    Some(PublicEntry {
        matcher: matcher?,
        methods,
        reason: reason?.into_inner(),
        line: ctx.line(t.key_span(kind).start),
    })
}

/// The matcher `kind` of a public entry, from its string `s` (`what` names it).
fn matcher(ctx: &mut Ctx<'_>, what: &str, kind: &str, s: &toml::Spanned<String>) -> Option<PublicMatch> {
    let text = s.get_ref();
    match kind {
        "glob" => route_glob(ctx, what, s).map(PublicMatch::Glob),
        "regex" => match regex::Regex::new(text) {
            Ok(r) => Some(PublicMatch::Regex(r)),
            Err(e) => {
                ctx.error(
                    s.span(),
                    format!("invalid regex `{text}` in `{what}`: {}", regex_reason(&e)),
                    "invalid regex",
                    None,
                );
                None
            }
        },
        "grpc" => {
            if GRPC_PATTERN.is_match(text) {
                return Some(PublicMatch::Grpc(text.clone()));
            }
            let help = match text.strip_prefix('/') {
                Some(rest) if GRPC_PATTERN.is_match(rest) => {
                    format!("write it without the leading `/`: `{rest}`")
                }
                _ => "write `pkg.Service/Method`, `pkg.Service/*` or `pkg.*/*`".to_string(),
            };
            ctx.error(
                s.span(),
                format!("`{text}` in `{what}` is not a gRPC method"),
                "not a gRPC method",
                Some(help),
            );
            None
        }
        _ => {
            if text.starts_with('/') {
                return Some(PublicMatch::Path(text.clone()));
            }
            ctx.error(
                s.span(),
                format!("`{text}` in `{what}` is not a route path"),
                "not a route path",
                Some(format!("route paths start with `/`, like `/{}`", text.trim_start_matches("./"))),
            );
            None
        }
    }
}

/// The one-line reason of a regex error (the syntax errors of `regex` span several lines).
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let line =
        text.lines().find_map(|l| l.strip_prefix("error: ")).unwrap_or(text.lines().next().unwrap_or(""));
    line.trim().trim_end_matches('.').to_string()
}

/// The `methods` of a public entry, upper case, duplicates dropped (empty: every method).
fn methods(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Vec<String> {
    let what = t.path_of("methods");
    let mut out: Vec<String> = Vec::new();
    for m in ctx.strings(t, "methods").unwrap_or_default() {
        let upper = m.get_ref().trim().to_ascii_uppercase();
        if !HTTP_METHODS.contains(&upper.as_str()) {
            ctx.error(
                m.span(),
                format!("unknown HTTP method `{}` in `{what}`", m.get_ref()),
                "not an HTTP method",
                Some(Ctx::suggest(&upper, HTTP_METHODS, "HTTP methods are")),
            );
        } else if !out.contains(&upper) {
            out.push(upper);
        }
    }
    out
}

/// One `[[auth.service]]` override.
fn service(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<AuthServiceOverride> {
    let before = ctx.problem_count();
    let selector = super::source::selector(ctx, t, "services");
    let with_replace: Vec<&str> = NAME_LISTS.iter().chain(&["replace"]).copied().collect();
    let (names, replace) = match ctx.section(t, "names", &with_replace) {
        Some(n) => (names(ctx, &n), ctx.boolean(&n, "replace").is_some_and(|b| b.into_inner())),
        None => (AuthNames::default(), false),
    };
    let public = ctx.tables(t, "public", PUBLIC_KEYS).iter().filter_map(|p| public(ctx, p)).collect();
    let external_auth = ctx.boolean(t, "external_auth").is_some_and(|b| b.into_inner());
    let severity = ctx.severity(t, "severity");
    if ctx.problem_count() > before {
        return None;
    }
    Some(AuthServiceOverride {
        selector: selector?,
        names,
        replace,
        public,
        external_auth,
        severity,
        line: ctx.line(t.key_span("services").start),
    })
}
