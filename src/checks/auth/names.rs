//! Which names count as authentication (spec §2, §2.1): the built-in defaults for well-known
//! crates, the policy's lists (global, per framework, per service), and name matching.

use super::cfg::{AuthConfig, AuthNames};
use super::model::{Class, Fw};

/// The names in force for one service and framework.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub policy: AuthNames,
    pub builtin: bool,
    pub suspect: Vec<String>,
}

/// Built-in enforcing middleware, layers and guards (§2.1).
const BUILTIN_AUTH_MW: &[&str] = &[
    "ValidateRequestHeaderLayer::bearer",
    "ValidateRequestHeaderLayer::basic",
    "ValidateRequestHeaderLayer::custom",
    "RequireAuthorizationLayer::bearer",
    "RequireAuthorizationLayer::basic",
    "RequireAuthorizationLayer::custom",
    "AsyncRequireAuthorizationLayer",
    "login_required!",
    "permission_required!",
    "predicate_required!",
    "HttpAuthentication::bearer",
    "HttpAuthentication::basic",
    "HttpAuthentication::with_fn",
    "AuthorityGuard",
    "PermissionGuard",
    "JwtAuth",
];
/// Never authentication, whatever else matches (§2.1).
const BUILTIN_NOT_AUTH: &[&str] = &[
    "AddAuthorizationLayer",
    "SessionManagerLayer",
    "SessionMiddleware",
    "IdentityMiddleware",
    "CookieManagerLayer",
    "ValidateRequestHeaderLayer::accept",
    "CorsLayer",
    "Cors",
    "TraceLayer",
    "Logger",
    "AuthSession",
    "Session",
];
/// Auth-related but not enforcing: they give the `non-enforcing-auth` pitfall.
const BUILTIN_NON_ENFORCING: &[&str] =
    &["AuthManagerLayer", "AuthManagerLayerBuilder", "GrantsMiddleware", "GrantsLayer", "GrantsFairing"];
/// Extractors that reject unauthenticated requests.
const BUILTIN_EXTRACTORS: &[&str] =
    &["actix_identity::Identity", "Identity", "JWT", "JWTWithUser", "ApiToken"];
/// Extractors that only parse a credential.
const PRESENCE_ONLY_EXTRACTORS: &[&str] = &["TypedHeader", "BearerAuth", "BasicAuth"];
/// Attributes that enforce (protect-endpoints family).
const BUILTIN_ATTRIBUTES: &[&str] =
    &["protect", "has_permissions", "has_roles", "has_any_permission", "has_any_role"];

impl Names {
    /// The names for `fw` in a service with per-service `extra` names.
    pub fn for_service(cfg: &AuthConfig, fw: Fw, service: Option<(&AuthNames, bool)>) -> Names {
        let mut policy = cfg.names.clone();
        if let Some(f) = cfg.frameworks.iter().find(|f| f.framework == fw.as_str()) {
            if f.replace {
                policy = f.names.clone();
            } else {
                policy.extend(&f.names);
            }
        }
        if let Some((extra, replace)) = service {
            if replace {
                policy = extra.clone();
            } else {
                policy.extend(extra);
            }
        }
        Names { policy, builtin: cfg.use_builtin_defaults, suspect: cfg.suspect_keywords.clone() }
    }

    fn builtin_list<'a>(&self, list: &'a [&'a str]) -> &'a [&'a str] {
        if self.builtin { list } else { &[] }
    }

    /// Whether a name contains a suspect keyword (case-insensitive).
    pub fn suspect(&self, text: &str) -> bool {
        let lower = text.to_ascii_lowercase();
        self.suspect.iter().any(|k| lower.contains(&k.to_ascii_lowercase()))
    }

    /// Classify a middleware by its candidate names, most specific first (`Foo::bearer`, then
    /// `Foo`), each a resolved path (`tower_http::..::ValidateRequestHeaderLayer::bearer`).
    pub fn classify_mw(&self, candidates: &[String]) -> Class {
        let p = &self.policy;
        for c in candidates {
            if any_match(&p.not_auth, c) || any_match_str(self.builtin_list(BUILTIN_NOT_AUTH), c) {
                return Class::NotAuth;
            }
            if any_match_str(self.builtin_list(BUILTIN_NON_ENFORCING), c) {
                return Class::NonEnforcing;
            }
            if any_match(&p.middleware_fns, c)
                || any_match(&p.layers, c)
                || any_match(&p.guards, c)
                || any_match(&p.guard_calls, c)
                || any_match_str(self.builtin_list(BUILTIN_AUTH_MW), c)
            {
                return Class::Auth;
            }
        }
        if candidates.iter().any(|c| self.suspect(last_segment(c))) {
            return Class::Unknown("looks like auth; add it to the policy".into());
        }
        Class::NotAuth
    }

    /// Whether an actix guard type enforces.
    pub fn guard_enforces(&self, name: &str) -> bool {
        any_match(&self.policy.guards, name)
            || any_match_str(self.builtin_list(&["AuthorityGuard", "PermissionGuard"]), name)
    }

    /// Classify a handler parameter type by its path (resolved) and whether it is wrapped in
    /// `Option`/`Result`/`Outcome`.
    pub fn classify_extractor(&self, path: &str, security_scheme: bool) -> Option<Class> {
        let p = &self.policy;
        if any_match(&p.not_auth, path) || any_match_str(self.builtin_list(BUILTIN_NOT_AUTH), path) {
            return None;
        }
        if any_match(&p.extractors, path)
            || any_match_str(self.builtin_list(BUILTIN_EXTRACTORS), path)
            || security_scheme
        {
            return Some(Class::Auth);
        }
        if any_match_str(self.builtin_list(PRESENCE_ONLY_EXTRACTORS), path) {
            return Some(Class::PresenceOnly);
        }
        None
    }

    pub fn is_principal(&self, path: &str) -> bool {
        any_match(&self.policy.extension_principals, path)
    }

    pub fn attribute_enforces(&self, path: &str) -> bool {
        any_match(&self.policy.attributes, path) || any_match_str(self.builtin_list(BUILTIN_ATTRIBUTES), path)
    }

    pub fn is_guard_call(&self, path: &str) -> bool {
        any_match(&self.policy.guard_calls, path) || any_match(&self.policy.middleware_fns, path)
    }

    pub fn is_router_method(&self, name: &str) -> bool {
        any_match(&self.policy.router_methods, name)
    }
}

/// The names in force for each framework, for one service (or the whole fleet): built once
/// per analysis unit, not at every classification.
#[derive(Debug, Clone)]
pub struct NamesTable(Vec<Names>);

impl NamesTable {
    pub fn new(cfg: &AuthConfig, service: Option<(&AuthNames, bool)>) -> NamesTable {
        NamesTable(Fw::ALL.iter().map(|&fw| Names::for_service(cfg, fw, service)).collect())
    }

    pub fn get(&self, fw: Fw) -> &Names {
        &self.0[fw as usize]
    }
}

pub fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

fn any_match(patterns: &[String], path: &str) -> bool {
    patterns.iter().any(|p| name_matches(p, path))
}

fn any_match_str(patterns: &[&str], path: &str) -> bool {
    patterns.iter().any(|p| name_matches(p, path))
}

/// Spec §2: a pattern without `::` matches the last segment; one with `::` matches a segment
/// suffix of the crate-qualified path (a leading `crate` matches any crate); `*` globs within
/// a segment. A trailing `!` names a macro.
pub fn name_matches(pattern: &str, path: &str) -> bool {
    let path = path.strip_prefix("::").unwrap_or(path);
    let pat: Vec<&str> = pattern.split("::").collect();
    let segs: Vec<&str> = path.split("::").collect();
    if pat.len() > segs.len() {
        return false;
    }
    let tail = &segs[segs.len() - pat.len()..];
    let anchored = pat.first() == Some(&"crate");
    if anchored && segs.len() != pat.len() {
        // `crate::auth::*` matches `my_crate::auth::x`: `crate` stands for the first segment.
        return pat.len() == segs.len() && pat[1..].iter().zip(&segs[1..]).all(|(p, s)| seg_matches(p, s));
    }
    pat.iter().zip(tail).enumerate().all(|(i, (p, s))| (anchored && i == 0) || seg_matches(p, s))
}

fn seg_matches(pattern: &str, seg: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == seg;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = seg;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(at) = rest.find(part) {
            rest = &rest[at + part.len()..];
        } else {
            return false;
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        assert!(name_matches("require_auth", "svc::auth::require_auth"));
        assert!(name_matches("auth::require_*", "svc::auth::require_user"));
        assert!(name_matches("crate::auth::*", "svc::auth::x"));
        assert!(!name_matches("crate::auth::*", "svc::other::auth::x"));
        assert!(name_matches(
            "ValidateRequestHeaderLayer::bearer",
            "tower_http::validate_request::ValidateRequestHeaderLayer::bearer"
        ));
        assert!(!name_matches("ValidateRequestHeaderLayer::bearer", "ValidateRequestHeaderLayer::accept"));
        assert!(name_matches("login_required!", "axum_login::login_required!"));
        assert!(!name_matches("Claims", "ClaimsX"));
        assert!(name_matches("*Auth", "BasicAuth"));
    }
}
