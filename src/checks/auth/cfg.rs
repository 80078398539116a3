//! Configuration of the `auth` check (`[auth]` in `fleetward.toml`). Every type has a `Default`
//! that is what applies with no policy file; `config/auth.rs` fills it from the policy.

use crate::checks::source::cfg::ServiceSelector;
use crate::diag::Severity;

/// The frameworks the check models, in the order of `[auth.names.<framework>]` tables.
pub const FRAMEWORKS: &[&str] = &["axum", "actix", "rocket", "warp", "poem", "tonic", "salvo", "loco"];

/// What `treat_conditional_as` says of a route protected only under a `#[cfg]` or runtime
/// condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Conditional {
    #[default]
    Unresolvable,
    Protected,
    Unprotected,
}

/// Names that count (or never count) as authentication. A pattern without `::` matches the
/// last segment of a resolved item; one with `::` a segment suffix of its crate-qualified path;
/// `*` globs within a segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthNames {
    /// Functions given to `from_fn`, `map_request`, `wrap_fn`, `around`, `before`, interceptors,
    /// warp filters.
    pub middleware_fns: Vec<String>,
    /// Types or constructors given to `layer`, `route_layer`, `wrap`, `with`, `hoop`, `attach`.
    pub layers: Vec<String>,
    /// Handler parameter types that reject unauthenticated requests.
    pub extractors: Vec<String>,
    /// `T` of `Extension<T>`, `web::ReqData<T>`, poem `Data<&T>` (fail closed when missing).
    pub extension_principals: Vec<String>,
    /// Handler attribute macros that enforce.
    pub attributes: Vec<String>,
    /// Calls at the top of a handler body that reject (`f(..)?`, `if !f(..) { return .. }`).
    pub guard_calls: Vec<String>,
    /// actix guard types that enforce (they answer 404, not 401).
    pub guards: Vec<String>,
    /// Extension-trait router methods that add auth.
    pub router_methods: Vec<String>,
    /// Never auth; wins over everything above.
    pub not_auth: Vec<String>,
}

impl AuthNames {
    /// Append `other`'s names (lists are additive).
    pub fn extend(&mut self, other: &AuthNames) {
        let pairs: [(&mut Vec<String>, &Vec<String>); 9] = [
            (&mut self.middleware_fns, &other.middleware_fns),
            (&mut self.layers, &other.layers),
            (&mut self.extractors, &other.extractors),
            (&mut self.extension_principals, &other.extension_principals),
            (&mut self.attributes, &other.attributes),
            (&mut self.guard_calls, &other.guard_calls),
            (&mut self.guards, &other.guards),
            (&mut self.router_methods, &other.router_methods),
            (&mut self.not_auth, &other.not_auth),
        ];
        for (mine, theirs) in pairs {
            for n in theirs {
                if !mine.contains(n) {
                    mine.push(n.clone());
                }
            }
        }
    }
}

/// Per-framework names; `replace = true` makes them replace the global lists for that
/// framework instead of adding to them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameworkNames {
    pub framework: String,
    pub names: AuthNames,
    pub replace: bool,
}

/// How a public allowlist entry matches.
#[derive(Debug, Clone)]
pub enum PublicMatch {
    /// Exact path (trailing slash tolerated).
    Path(String),
    /// `*` one segment, `**` zero or more.
    Glob(crate::config::PolicyGlob),
    Regex(regex::Regex),
    /// gRPC `pkg.Service/Method`, `pkg.Service/*` or `pkg.*/*`.
    Grpc(String),
}

/// One `[[auth.public]]` entry (or a per-service `public` entry).
#[derive(Debug, Clone)]
pub struct PublicEntry {
    pub matcher: PublicMatch,
    /// Upper-case methods; empty = every method.
    pub methods: Vec<String>,
    pub reason: String,
    /// 1-based line in the policy file (0 for the built-in defaults), for stale entries.
    pub line: u32,
}

/// One `[[auth.service]]` override; the first that matches a service applies.
#[derive(Debug, Clone)]
pub struct AuthServiceOverride {
    pub selector: ServiceSelector,
    /// Added to the global names (or replacing them with `replace = true` inside `names`).
    pub names: AuthNames,
    pub replace: bool,
    pub public: Vec<PublicEntry>,
    /// The service sits behind an authenticating gateway: verdicts kept, severity capped at info.
    pub external_auth: bool,
    /// Severity of an unprotected route of this service.
    pub severity: Option<Severity>,
    pub line: u32,
}

/// `[auth]`.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Unprotected route.
    pub severity: Severity,
    /// Unprotected route on a sensitive path.
    pub severity_sensitive: Severity,
    /// Unresolvable only because auth is conditional.
    pub severity_conditional: Severity,
    /// Unresolvable for any other reason.
    pub severity_unresolvable: Severity,
    pub treat_conditional_as: Conditional,
    /// Path globs that raise an unprotected route to `severity_sensitive`.
    pub sensitive_paths: Vec<crate::config::PolicyGlob>,
    /// Words that make an unknown middleware "look like auth" (verdict unresolvable, not
    /// unprotected).
    pub suspect_keywords: Vec<String>,
    /// Report unprotected fallbacks (at low).
    pub check_fallbacks: bool,
    pub max_call_depth: usize,
    /// Files (globs relative to the root) not analysed.
    pub exclude: Vec<crate::config::PolicyGlob>,
    /// The built-in names of well-known crates (tower-http, actix-web-httpauth, axum-login, ...)
    /// and the default public allowlist.
    pub use_builtin_defaults: bool,
    /// Report routers that no served root reaches too.
    pub all_routers: bool,
    pub names: AuthNames,
    pub frameworks: Vec<FrameworkNames>,
    pub public: Vec<PublicEntry>,
    pub services: Vec<AuthServiceOverride>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        let glob = |p: &str| crate::config::PolicyGlob::new(p).expect("valid built-in glob");
        AuthConfig {
            severity: Severity::High,
            severity_sensitive: Severity::Critical,
            severity_conditional: Severity::Medium,
            severity_unresolvable: Severity::Info,
            treat_conditional_as: Conditional::Unresolvable,
            sensitive_paths: ["/admin/**", "/debug/**", "/internal/**", "**/pprof/**"].map(glob).to_vec(),
            suspect_keywords: [
                "auth",
                "jwt",
                "token",
                "session",
                "login",
                "guard",
                "permission",
                "acl",
                "apikey",
                "api_key",
                "bearer",
                "oauth",
                "oidc",
            ]
            .map(String::from)
            .to_vec(),
            check_fallbacks: true,
            max_call_depth: 8,
            exclude: Vec::new(),
            use_builtin_defaults: true,
            all_routers: false,
            names: AuthNames::default(),
            frameworks: Vec::new(),
            public: Vec::new(),
            services: Vec::new(),
        }
    }
}
