//! The abstract domain of the route interpreter (spec §3.3): what an expression of router
//! code evaluates to, and what a route carries until its verdict.

use std::collections::BTreeSet;
use std::rc::Rc;

/// A web framework the check models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fw {
    Axum,
    Actix,
    Rocket,
    Warp,
    Poem,
    Tonic,
    Salvo,
    Loco,
}

impl Fw {
    pub const ALL: [Fw; 8] =
        [Fw::Axum, Fw::Actix, Fw::Rocket, Fw::Warp, Fw::Poem, Fw::Tonic, Fw::Salvo, Fw::Loco];

    pub fn as_str(self) -> &'static str {
        match self {
            Fw::Axum => "axum",
            Fw::Actix => "actix",
            Fw::Rocket => "rocket",
            Fw::Warp => "warp",
            Fw::Poem => "poem",
            Fw::Tonic => "tonic",
            Fw::Salvo => "salvo",
            Fw::Loco => "loco",
        }
    }

    /// The framework whose crate is `krate` (the name code uses: `actix_web`, `loco_rs`).
    pub fn of_crate(krate: &str) -> Option<Fw> {
        Some(match krate {
            "axum" | "axum_extra" | "axum_login" | "tower_http" | "utoipa_axum" => Fw::Axum,
            "actix_web" | "actix_web_httpauth" | "actix_web_grants" | "actix_identity" | "actix_files" => {
                Fw::Actix
            }
            "rocket" | "rocket_grants" => Fw::Rocket,
            "warp" => Fw::Warp,
            "poem" | "poem_openapi" | "poem_grants" => Fw::Poem,
            "tonic" | "tonic_health" | "tonic_web" | "tonic_reflection" => Fw::Tonic,
            "salvo" | "salvo_core" | "salvo_jwt_auth" | "protect_salvo" => Fw::Salvo,
            "loco_rs" => Fw::Loco,
            _ => return None,
        })
    }
}

/// A place in the scanned tree: relative file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Site {
    pub file: Rc<str>,
    pub line: u32,
    pub column: u32,
}

impl Site {
    pub fn short(&self) -> String {
        let name = self.file.rsplit('/').next().unwrap_or(&self.file);
        format!("{name}:{}", self.line)
    }
}

/// When a piece of evidence applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cond {
    Always,
    /// Only when `#[cfg(..)]` holds.
    Cfg(String),
    /// Only when a runtime condition holds (`if`, `match` arm, `Condition::new`, `with_if`).
    Runtime(String),
}

impl Cond {
    pub fn is_always(&self) -> bool {
        matches!(self, Cond::Always)
    }

    pub fn describe(&self) -> String {
        match self {
            Cond::Always => "always".into(),
            Cond::Cfg(c) => format!("cfg({c})"),
            Cond::Runtime(c) => c.clone(),
        }
    }
}

/// What a middleware, guard or extractor does for authentication.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Rejects unauthenticated requests.
    Auth,
    /// Rejects when the principal is missing, with a 500 (`Extension<T>`, `ReqData<T>`).
    FailClosed,
    /// Declared protected by an in-source directive.
    Asserted,
    NotAuth,
    /// Auth-related but does not reject (`AuthManagerLayer`, `GrantsMiddleware`, `force_passed`).
    NonEnforcing,
    /// Parses credentials without validating them.
    PresenceOnly,
    /// An auth type that lets unauthenticated requests through (`Option<Claims>`).
    Optional,
    /// Cannot be classified; the reason says why.
    Unknown(String),
}

impl Class {
    pub fn enforces(&self) -> bool {
        matches!(self, Class::Auth | Class::FailClosed | Class::Asserted)
    }
}

/// Where a piece of evidence comes from (spec §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    Layer,
    RouteLayer,
    OuterWrap,
    ContainerWrap,
    RouteWrap,
    Hoop,
    With,
    Interceptor,
    Filter,
    Extractor,
    Attribute,
    GuardCall,
    Annotation,
    Guard,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Layer => "Layer",
            Source::RouteLayer => "RouteLayer",
            Source::OuterWrap => "OuterWrap",
            Source::ContainerWrap => "ContainerWrap",
            Source::RouteWrap => "RouteWrap",
            Source::Hoop => "Hoop",
            Source::With => "With",
            Source::Interceptor => "Interceptor",
            Source::Filter => "Filter",
            Source::Extractor => "Extractor",
            Source::Attribute => "Attribute",
            Source::GuardCall => "GuardCall",
            Source::Annotation => "Annotation",
            Source::Guard => "Guard",
        }
    }
}

/// A middleware value (before it is applied) or a piece of evidence on a route (after).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mw {
    /// As shown: `from_fn(require_auth)`, `ValidateRequestHeaderLayer::bearer`, `Claims`.
    pub name: String,
    pub class: Class,
    pub cond: Cond,
    pub source: Source,
    pub site: Site,
    /// Resolution involved a heuristic (lowers confidence).
    pub heuristic: bool,
}

impl Mw {
    /// An unconditional, exactly resolved piece of evidence.
    pub fn new(name: impl Into<String>, class: Class, source: Source, site: Site) -> Mw {
        Mw { name: name.into(), class, cond: Cond::Always, source, site, heuristic: false }
    }

    pub fn with_source(mut self, source: Source) -> Mw {
        self.source = source;
        self
    }
}

/// A handler reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handler {
    /// Index into the crate index's functions, when resolved.
    pub fn_id: Option<usize>,
    /// The name as shown (`list_users`, `MyEcho::unary_echo`, `<closure>`).
    pub name: String,
    /// Evidence attached to this one handler (`Handler::layer`, poem `ep.with(..)`).
    pub evidence: Vec<Mw>,
}

/// One step of how a route reached its root, inner to outer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Step {
    /// `nest`, `merge`, `scope`, `mount`, `configure`, `serve`, `call`, ...
    pub op: &'static str,
    pub detail: String,
    pub site: Site,
}

/// One route: one method of one path of one router (spec `Entry`).
#[derive(Debug, Clone)]
pub struct Entry {
    pub fw: Fw,
    /// Normalised path (`/users/{id}`), `<fallback>`, `<placeholder:..>` or `/pkg.Svc/Method`.
    pub path: String,
    /// `GET`, ..., `ANY`, `GRPC`.
    pub method: String,
    pub handler: Option<Handler>,
    pub evidence: Vec<Mw>,
    /// Auth layers applied to the router before this route was added (axum `late-route`).
    pub missed: Vec<Mw>,
    pub reg: Site,
    /// The router constructor this route was registered on.
    pub router: Site,
    pub trail: Vec<Step>,
    /// Why this is a stand-in for routes the analysis could not see.
    pub placeholder: Option<String>,
    pub fallback: bool,
    pub pitfalls: BTreeSet<&'static str>,
    /// Rocket `rank = n`.
    pub rank: Option<i64>,
    /// Values on the composition path that could not be resolved.
    pub unresolved: Vec<String>,
}

impl Entry {
    pub fn new(fw: Fw, path: String, method: &str, handler: Option<Handler>, reg: Site) -> Entry {
        Entry {
            fw,
            path,
            method: method.to_string(),
            handler,
            evidence: Vec::new(),
            missed: Vec::new(),
            router: reg.clone(),
            reg,
            trail: Vec::new(),
            placeholder: None,
            fallback: false,
            pitfalls: BTreeSet::new(),
            rank: None,
            unresolved: Vec::new(),
        }
    }

    pub fn handler_name(&self) -> &str {
        self.handler.as_ref().map_or("-", |h| h.name.as_str())
    }

    /// Identity for joins and de-duplication.
    pub fn key(&self) -> (Fw, &str, &str, &str, bool) {
        (self.fw, &self.path, &self.method, self.handler_name(), self.fallback)
    }

    pub fn add_evidence(&mut self, mw: &Mw) {
        if !self.evidence.contains(mw) {
            self.evidence.push(mw.clone());
        }
    }
}

/// A router value: axum/loco `Router`, actix `App`/`Scope`/`Resource`/`ServiceConfig`, Rocket
/// instance, poem `Route`, salvo `Router` node.
#[derive(Debug, Clone)]
pub struct RouteSet {
    pub fw: Fw,
    /// Routes, with paths relative to this container.
    pub entries: Vec<Entry>,
    /// axum: auth layers applied so far (routes added later missed them).
    pub applied_auth: Vec<Mw>,
    /// Container path not yet applied to the entries (actix scope/resource, salvo node, loco
    /// prefix).
    pub prefix: String,
    /// Order-independent wraps not yet applied (actix `wrap`, salvo `hoop`).
    pub wraps: Vec<Mw>,
    /// What kind of container (`App`, `Scope`, `Resource`, `Router`, ...).
    pub kind: &'static str,
    pub site: Site,
}

impl RouteSet {
    pub fn new(fw: Fw, kind: &'static str, site: Site) -> RouteSet {
        RouteSet {
            fw,
            entries: Vec::new(),
            applied_auth: Vec::new(),
            prefix: String::new(),
            wraps: Vec::new(),
            kind,
            site,
        }
    }
}

/// An axum `MethodRouter`, an actix `Route` or a poem method endpoint: methods with handlers.
#[derive(Debug, Clone)]
pub struct MethodEntry {
    pub method: String,
    pub handler: Option<Handler>,
    pub evidence: Vec<Mw>,
    pub missed: Vec<Mw>,
    pub pitfalls: BTreeSet<&'static str>,
    pub site: Site,
}

#[derive(Debug, Clone)]
pub struct Methods {
    pub fw: Fw,
    pub entries: Vec<MethodEntry>,
    /// Auth layers applied to this MethodRouter so far.
    pub applied_auth: Vec<Mw>,
    /// actix `Route`: middleware wrapped before `.to(..)` (dropped, a pitfall).
    pub early_wraps: Vec<Mw>,
    /// actix `Route` with a method but no handler yet.
    pub pending_method: Option<String>,
    pub site: Site,
}

/// One branch of a warp filter.
#[derive(Debug, Clone)]
pub struct Branch {
    pub path: String,
    pub method: Option<String>,
    pub evidence: Vec<Mw>,
    pub handled: bool,
    pub handler: Option<Handler>,
    pub pitfalls: BTreeSet<&'static str>,
    pub reg: Site,
}

/// A gRPC service added to a tonic server.
#[derive(Debug, Clone)]
pub struct GrpcSvc {
    /// `pkg.Service`
    pub name: String,
    /// `(method path segment, handler)`; empty: one `/pkg.Service/*` entry.
    pub methods: Vec<(String, Handler)>,
    pub evidence: Vec<Mw>,
    pub site: Site,
}

/// What an expression evaluates to.
#[derive(Debug, Clone)]
pub enum Value {
    Routes(RouteSet),
    Methods(Methods),
    Mw(Vec<Mw>),
    Handler(Handler),
    Str(String),
    Filter(Vec<Branch>),
    /// A tonic server builder/router: server-wide layers and services.
    Grpc(Vec<Mw>, Vec<GrpcSvc>),
    Svc(Vec<GrpcSvc>),
    List(Vec<Value>),
    /// A closure with the bindings it captured.
    Closure(Rc<syn::ExprClosure>, Rc<std::collections::HashMap<String, Value>>),
    /// A named thing the interpreter does not model (an external fn or its result, a unit
    /// struct, a macro): the path as written, the resolved path, and where. Used as a
    /// middleware it is classified by name; as a router it becomes a placeholder.
    Path(String, String, Site),
    /// A server object (`HttpServer`, poem/salvo `Server`) that serves what `run`/`serve` get.
    Server(Fw),
    Bool(bool),
    /// Something the analysis cannot follow: why, and where.
    Opaque(String, Site),
    Unit,
}

impl Value {
    pub fn opaque(reason: impl Into<String>, site: Site) -> Value {
        Value::Opaque(reason.into(), site)
    }
}
