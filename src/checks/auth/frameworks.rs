//! Transfer functions of each framework (spec §3.5): constructors and router methods of axum
//! (and loco), actix-web, Rocket, warp, poem, tonic and salvo.

use super::interp::{Frame, Interp, candidates, handler_of, path_text, truncate};
use super::model::*;
use syn::spanned::Spanned;

const HTTP_METHODS: &[&str] =
    &["get", "post", "put", "delete", "patch", "head", "options", "trace", "connect"];
/// Methods that return their receiver unchanged, for every value.
const TRANSPARENT: &[&str] = &[
    "clone",
    "into",
    "unwrap",
    "expect",
    "unwrap_or_default",
    "boxed",
    "boxed_clone",
    "with_state",
    "into_make_service",
    "into_make_service_with_connect_info",
    "into_service",
    "to_owned",
    "as_ref",
    "build",
    "into_inner",
    "recover",
    "unify",
    "untuple_one",
    "finish",
    "app_data",
    "data",
    "manage",
    "register",
    "max_decoding_message_size",
    "max_encoding_message_size",
    "send_compressed",
    "accept_compressed",
    "accept_http1",
    "timeout",
    "concurrency_limit_per_connection",
    "tcp_nodelay",
    "http2_keepalive_interval",
];

fn method_upper(m: &str) -> String {
    m.to_ascii_uppercase()
}

/// Join a container prefix and a path, normalised (`/a` + `/` = `/a`).
pub fn join_path(prefix: &str, path: &str) -> String {
    if path.starts_with('<') {
        return path.to_string();
    }
    let mut out = String::new();
    for part in [prefix, path] {
        for seg in part.split('/').filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(seg);
        }
    }
    if out.is_empty() { "/".to_string() } else { out }
}

/// Parameters as `{name}` (axum `:id`, `*rest`, actix `{id:re}`, Rocket `<id>`/`<p..>`, salvo
/// `<id>`); tail wildcards `{*name}`.
pub fn normalize(path: &str) -> String {
    // Rocket query parameters (`/search?<q>`) are not part of the path.
    let path = match path.find('?') {
        Some(q) if path[q..].contains('<') => &path[..q],
        _ => path,
    };
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some(n) = s.strip_prefix(':') {
                format!("{{{n}}}")
            } else if let Some(n) = s.strip_prefix('*') {
                format!("{{*{n}}}")
            } else if s.starts_with('<') && s.ends_with('>') {
                let inner = &s[1..s.len() - 1];
                match inner.strip_suffix("..") {
                    Some(n) => format!("{{*{n}}}"),
                    None => {
                        format!("{{{}}}", inner.split(':').next().unwrap_or(inner).trim_start_matches('*'))
                    }
                }
            } else if s.starts_with('{') && s.ends_with('}') && !s.starts_with("{dyn:") {
                let inner = &s[1..s.len() - 1];
                format!("{{{}}}", inner.split(':').next().unwrap_or(inner))
            } else {
                s.to_string()
            }
        })
        .collect();
    if segs.is_empty() { "/".into() } else { format!("/{}", segs.join("/")) }
}

impl Interp<'_> {
    /// The framework of a resolved constructor path, else of the file, else of the crate.
    pub fn fw_of(&self, f: &Frame, resolved: &str) -> Option<Fw> {
        if let Some(fw) = resolved.split("::").next().and_then(Fw::of_crate) {
            return Some(fw);
        }
        let file = &self.ix.files[f.file];
        if file.frameworks.len() == 1 {
            return file.frameworks.iter().next().copied();
        }
        let fws = &self.ix.crates[file.krate].frameworks;
        if fws.len() == 1 { Some(fws[0]) } else { None }
    }

    fn in_loop_mark(&self, f: &Frame, e: &mut Entry) {
        if f.in_loop > 0 {
            e.placeholder = Some(format!("routes added in a loop at {}", e.reg.short()));
        }
    }

    /// A known framework function (`Router::new`, `get(h)`, `from_fn(f)`, ...).
    #[allow(clippy::too_many_arguments)]
    pub fn builtin_call(
        &mut self,
        f: &mut Frame,
        written: &str,
        resolved: &str,
        args: Vec<Value>,
        arg_exprs: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
        site: Site,
        turbofish: Option<&syn::PathArguments>,
    ) -> Option<Value> {
        let segs: Vec<&str> = resolved.split("::").collect();
        let last = *segs.last()?;
        let owner = if segs.len() >= 2 { segs[segs.len() - 2] } else { "" };
        let fw = self.fw_of(f, resolved);
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Unit);
        let v = match (owner, last) {
            // Serving.
            (_, "serve")
                if fw == Some(Fw::Axum) || fw == Some(Fw::Warp) || owner == "axum" || owner == "warp" =>
            {
                let served = if fw == Some(Fw::Warp) || owner == "warp" { arg(0) } else { arg(1) };
                self.served.push(super::interp::Served { value: served, site });
                Value::Unit
            }
            ("HttpServer", "new") => {
                let v = match arg(0) {
                    Value::Closure(c, env) => self.call_closure(f, &c, &env, Vec::new()),
                    Value::Handler(Handler { fn_id: Some(id), .. }) => self.call_fn(id, Vec::new(), None),
                    other => other,
                };
                self.served.push(super::interp::Served { value: v, site });
                Value::Server(Fw::Actix)
            }
            ("Server", "bind") if fw == Some(Fw::Axum) => Value::Server(Fw::Axum),
            ("Server", "new") if matches!(fw, Some(Fw::Poem | Fw::Salvo)) => {
                Value::Server(fw.unwrap_or(Fw::Poem))
            }
            ("Server", "builder") => Value::Grpc(Vec::new(), Vec::new()),
            ("Server", "build") if resolved.starts_with("actix_server") => Value::Server(Fw::Actix),
            ("rocket", "build" | "custom") => Value::Routes(RouteSet::new(Fw::Rocket, "Rocket", site)),
            // Routers.
            ("Router", "new") => match fw {
                Some(Fw::Salvo) => Value::Routes(RouteSet::new(Fw::Salvo, "SalvoRouter", site)),
                _ => Value::Routes(RouteSet::new(Fw::Axum, "Router", site)),
            },
            ("Router", "with_path") => {
                let mut r = RouteSet::new(Fw::Salvo, "SalvoRouter", site);
                r.prefix = self.string_of(&arg(0), &arg_text(self, f, arg_exprs, 0));
                Value::Routes(r)
            }
            ("Service", "new") if fw == Some(Fw::Salvo) => arg(0),
            ("OpenApiRouter", "new" | "with_openapi" | "default") => {
                Value::Routes(RouteSet::new(Fw::Axum, "OpenApiRouter", site))
            }
            ("AppRoutes", "with_default_routes" | "empty") => {
                // loco: `with_default_routes()` serves `/_ping`, `/_health` and `/_readiness`.
                let mut r = RouteSet::new(Fw::Loco, "AppRoutes", site.clone());
                if last == "with_default_routes" {
                    for p in ["/_ping", "/_health", "/_readiness"] {
                        let h = Handler { fn_id: None, name: "loco-default".into(), evidence: Vec::new() };
                        r.entries.push(Entry::new(Fw::Loco, p.into(), "GET", Some(h), site.clone()));
                    }
                }
                Value::Routes(r)
            }
            ("Routes", "new") if fw == Some(Fw::Loco) => {
                Value::Routes(RouteSet::new(Fw::Loco, "Routes", site))
            }
            ("Route", "new") if fw == Some(Fw::Poem) => Value::Routes(RouteSet::new(Fw::Poem, "Route", site)),
            ("App", "new") => Value::Routes(RouteSet::new(Fw::Actix, "App", site)),
            (_, "scope") | ("Scope", "new") if fw == Some(Fw::Actix) => {
                let mut r = RouteSet::new(Fw::Actix, "Scope", site);
                r.prefix = self.string_of(&arg(0), &arg_text(self, f, arg_exprs, 0));
                Value::Routes(r)
            }
            (_, "resource") | ("Resource", "new") if fw == Some(Fw::Actix) => {
                let mut r = RouteSet::new(Fw::Actix, "Resource", site);
                r.prefix = self.string_of(&arg(0), &arg_text(self, f, arg_exprs, 0));
                Value::Routes(r)
            }
            ("Files", "new") => {
                let mut r = RouteSet::new(Fw::Actix, "Resource", site.clone());
                let p = self.string_of(&arg(0), "");
                let h = Handler { fn_id: None, name: "Files".into(), evidence: Vec::new() };
                r.entries.push(Entry::new(Fw::Actix, join_path(&p, "{*path}"), "GET", Some(h), site));
                Value::Routes(r)
            }
            ("FileServer", "from" | "new") => {
                let mut r = RouteSet::new(Fw::Rocket, "FileServer", site.clone());
                let h = Handler { fn_id: None, name: "FileServer".into(), evidence: Vec::new() };
                r.entries.push(Entry::new(Fw::Rocket, "/{*path}".into(), "GET", Some(h), site));
                Value::Routes(r)
            }
            // Method routers: axum/poem `get(h)`, actix `web::get()`.
            (_, m)
                if HTTP_METHODS.contains(&m)
                    || m == "any"
                    || m == "route" && fw == Some(Fw::Actix) && args.is_empty() =>
            {
                if fw == Some(Fw::Actix) && args.is_empty() {
                    let mut ms = Methods::new(Fw::Actix, site);
                    ms.pending_method = Some(if m == "route" { "ANY".into() } else { method_upper(m) });
                    Value::Methods(ms)
                } else if args.len() == 1 && matches!(fw, Some(Fw::Axum | Fw::Poem | Fw::Loco) | None) {
                    let method = if m == "any" { "ANY".to_string() } else { method_upper(m) };
                    let mut ms = Methods::new(fw.unwrap_or(Fw::Axum), site.clone());
                    ms.entries.push(MethodEntry::new(method, self.to_handler(arg(0)), site));
                    Value::Methods(ms)
                } else if fw == Some(Fw::Warp) && args.is_empty() {
                    Value::Filter(vec![Branch::new(site).with_method(method_upper(m))])
                } else {
                    return None;
                }
            }
            (_, svc)
                if svc.ends_with("_service") && HTTP_METHODS.contains(&svc.trim_end_matches("_service")) =>
            {
                let mut ms = Methods::new(Fw::Axum, site.clone());
                let name = method_upper(svc.trim_end_matches("_service"));
                ms.entries.push(MethodEntry::new(name, self.to_handler(arg(0)), site));
                Value::Methods(ms)
            }
            (_, "on") if args.len() == 2 && fw != Some(Fw::Warp) => {
                let mut ms = Methods::new(Fw::Axum, site.clone());
                let text = arg_text(self, f, arg_exprs, 0);
                let method = text.rsplit("::").next().unwrap_or("ANY").to_ascii_uppercase();
                ms.entries.push(MethodEntry::new(method, self.to_handler(arg(1)), site));
                Value::Methods(ms)
            }
            // Middleware constructors.
            (_, "from_fn" | "map_request" | "from_fn_with_state" | "map_request_with_state")
                if !matches!(fw, Some(Fw::Warp)) =>
            {
                let target = if last.ends_with("_with_state") { arg(1) } else { arg(0) };
                let e = if last.ends_with("_with_state") { arg_exprs.get(1) } else { arg_exprs.first() };
                let inner = self.name_of_fn_value(f, &target, e);
                let mut mw = self.classify_callable(f, &target, &inner, site, Source::Layer);
                mw.name = format!("{last}({})", short_name(&inner));
                Value::Mw(vec![mw])
            }
            (_, "from_extractor" | "from_extractor_with_state") => {
                let ty = turbofish.and_then(|t| match t {
                    syn::PathArguments::AngleBracketed(a) => a.args.first().and_then(|g| match g {
                        syn::GenericArgument::Type(t) => Some(t.clone()),
                        _ => None,
                    }),
                    _ => None,
                });
                let (name, class) = match &ty {
                    Some(t) => {
                        let c = self.classify_param_type(f.module.as_str(), t, Fw::Axum).map(|(c, _)| c);
                        (super::index::type_last(t).unwrap_or_default(), c.unwrap_or(Class::NotAuth))
                    }
                    None => ("?".into(), Class::Unknown("extractor type not written".into())),
                };
                Value::Mw(vec![Mw::new(format!("from_extractor::<{name}>"), class, Source::Layer, site)])
            }
            (_, "interceptor") | ("InterceptorLayer", "new") => {
                let inner = self.name_of_fn_value(f, &arg(0), arg_exprs.first());
                let mut mw = self.classify_callable(f, &arg(0), &inner, site, Source::Interceptor);
                mw.name = format!("{last}({})", short_name(&inner));
                Value::Mw(vec![mw])
            }
            ("ServiceBuilder", "new") => Value::Mw(Vec::new()),
            ("Condition", "new") => {
                let cond = arg_text(self, f, arg_exprs, 0);
                let mws = match arg(0) {
                    Value::Bool(true) => self.to_mw(f, arg(1), arg_exprs.get(1), Source::ContainerWrap),
                    Value::Bool(false) => Vec::new(),
                    _ => with_cond(
                        self.to_mw(f, arg(1), arg_exprs.get(1), Source::ContainerWrap),
                        Cond::Runtime(cond),
                    ),
                };
                Value::Mw(mws)
            }
            (o, _) if o.contains("Condition") => {
                // Unknown conditional wrappers (`ConditionEx::from_option(x)`): classified from
                // their inner expression, conditionally.
                let cond = format!("{written}(..)");
                let inner = args.last().cloned().unwrap_or(Value::Unit);
                Value::Mw(with_cond(
                    self.to_mw(f, inner, arg_exprs.last(), Source::ContainerWrap),
                    Cond::Runtime(cond),
                ))
            }
            ("HttpAuthentication", "bearer" | "basic" | "with_fn") => {
                let class = match arg(0) {
                    Value::Handler(Handler { fn_id: Some(id), .. }) if self.validator_is_optional(id) => {
                        Class::Optional
                    }
                    _ => Class::Auth,
                };
                let class = match self.names.get(Fw::Actix).classify_mw(&candidates(resolved)) {
                    Class::NotAuth => Class::NotAuth,
                    _ => class,
                };
                Value::Mw(vec![Mw::new(
                    format!("HttpAuthentication::{last}"),
                    class,
                    Source::ContainerWrap,
                    site,
                )])
            }
            // warp filters.
            ("warp" | "filters", "path") | ("path", "path") if fw == Some(Fw::Warp) => {
                let p = self.string_of(&arg(0), "dyn");
                Value::Filter(vec![Branch::new(site).with_path(join_path("", &p))])
            }
            ("path", "param") if fw == Some(Fw::Warp) => {
                let ty = turbofish
                    .and_then(|t| match t {
                        syn::PathArguments::AngleBracketed(a) => a.args.first().map(quote_text),
                        _ => None,
                    })
                    .unwrap_or_else(|| "param".into());
                Value::Filter(vec![Branch::new(site).with_path(format!("/{{{ty}}}"))])
            }
            ("path", "end") | ("warp", "any") if fw == Some(Fw::Warp) => {
                Value::Filter(vec![Branch::new(site)])
            }
            ("header", "exact" | "exact_ignore_case") if fw == Some(Fw::Warp) => {
                let name = self.string_of(&arg(0), "");
                let class =
                    if name.eq_ignore_ascii_case("authorization") { Class::Auth } else { Class::NotAuth };
                let mw =
                    Mw::new(format!("header::{last}(\"{name}\", ..)"), class, Source::Filter, site.clone());
                Value::Filter(vec![Branch::new(site).with_evidence(mw)])
            }
            ("header" | "warp", "header" | "optional") if fw == Some(Fw::Warp) => {
                let name = self.string_of(&arg(0), "");
                let class = if name.eq_ignore_ascii_case("authorization") {
                    Class::PresenceOnly
                } else {
                    Class::NotAuth
                };
                let mw = Mw::new(format!("header(\"{name}\")"), class, Source::Filter, site.clone());
                Value::Filter(vec![Branch::new(site).with_evidence(mw)])
            }
            (_, _) if fw == Some(Fw::Warp) && resolved.starts_with("warp::") => {
                Value::Filter(vec![Branch::new(site)])
            }
            // tonic services.
            ("server", "health_reporter") | (_, "health_reporter") => Value::List(vec![
                Value::opaque("health reporter", site.clone()),
                Value::Svc(vec![GrpcSvc {
                    name: "grpc.health.v1.Health".into(),
                    methods: Vec::new(),
                    evidence: Vec::new(),
                    site,
                }]),
            ]),
            (o, "new" | "with_interceptor")
                if o.ends_with("Server")
                    && o != "Server"
                    && o != "HttpServer"
                    && segs.len() >= 3
                    && segs[segs.len() - 3].ends_with("_server") =>
            {
                let module = segs[..segs.len() - 3].join("::");
                let svc_name = o.trim_end_matches("Server");
                let mut svc = self.grpc_service(&module, svc_name, site.clone());
                if last == "with_interceptor" {
                    let inner = self.name_of_fn_value(f, &arg(1), arg_exprs.get(1));
                    let mut mw = self.classify_callable(f, &arg(1), &inner, site, Source::Interceptor);
                    mw.name = format!("with_interceptor({})", short_name(&inner));
                    svc.evidence.push(mw);
                }
                Value::Svc(vec![svc])
            }
            ("InterceptedService", "new") => {
                let mut svcs = match arg(0) {
                    Value::Svc(s) => s,
                    _ => return None,
                };
                let inner = self.name_of_fn_value(f, &arg(1), arg_exprs.get(1));
                let mut mw = self.classify_callable(f, &arg(1), &inner, site, Source::Interceptor);
                mw.name = format!("InterceptedService({})", short_name(&inner));
                for s in &mut svcs {
                    s.evidence.push(mw.clone());
                }
                Value::Svc(svcs)
            }
            ("OpenApiService", "new") => {
                // poem-openapi: the operations of the `#[OpenApi] impl` of the first argument.
                let ty = match arg(0) {
                    Value::Path(w, ..) => w.rsplit("::").next().unwrap_or(&w).to_string(),
                    _ => return None,
                };
                let mut r = RouteSet::new(Fw::Poem, "OpenApiService", site.clone());
                r.entries = self.openapi_operations(&ty);
                Value::Routes(r)
            }
            ("JwtAuth", "new") => Value::Mw(vec![self.named_mw(resolved, site, Source::Hoop)]),
            _ => return None,
        };
        Some(v)
    }

    /// The workspace method `name` a `Path`/`Opaque` receiver can call: on its resolved type,
    /// on the current impl's type for `self`, else the unique method of that name.
    fn own_method(&self, f: &Frame, recv: &Value, name: &str) -> Option<usize> {
        let ix = self.ix;
        match recv {
            Value::Path(_, resolved, _) => {
                let direct = ix.fn_by_qual.get(&format!("{resolved}::{name}")).or_else(|| {
                    // A value made by a constructor (`Server::new(..)`): the constructor's type.
                    let (ty, _) = resolved.rsplit_once("::")?;
                    ix.fn_by_qual.get(&format!("{ty}::{name}"))
                });
                direct.copied().or_else(|| {
                    let ty = resolved.rsplit("::").next()?;
                    let ids = ix.fn_by_name.get(name)?;
                    let hits: Vec<usize> =
                        ids.iter().copied().filter(|&i| ix.fns[i].self_ty.as_deref() == Some(ty)).collect();
                    (hits.len() == 1).then(|| hits[0])
                })
            }
            Value::Opaque(r, _) if r == "self" => {
                let ty = f.self_ty.as_ref()?;
                ix.fn_by_qual.get(&format!("{}::{ty}::{name}", f.module)).copied()
            }
            _ => None,
        }
    }

    fn named_mw(&self, resolved: &str, site: Site, source: Source) -> Mw {
        let fw = Fw::ALL.into_iter().find(|fw| resolved.starts_with(fw.as_str())).unwrap_or(Fw::Axum);
        let class = self.names.get(fw).classify_mw(&candidates(resolved));
        let name = short_name(resolved);
        Mw { name, class, cond: Cond::Always, source, site, heuristic: false }
    }

    fn grpc_service(&self, module: &str, svc_name: &str, site: Site) -> GrpcSvc {
        let pkg = self.ix.proto_package(module).map(str::to_string);
        let imp = self
            .ix
            .grpc_impls
            .iter()
            .find(|g| g.service == svc_name && (g.trait_module == module || pkg.is_none()))
            .or_else(|| self.ix.grpc_impls.iter().find(|g| g.service == svc_name));
        let pkg =
            pkg.or_else(|| imp.and_then(|g| self.ix.proto_package(&g.trait_module).map(str::to_string)));
        let name = match pkg {
            Some(p) if !p.is_empty() => format!("{p}.{svc_name}"),
            _ => svc_name.to_string(),
        };
        let methods = imp
            .map(|g| {
                g.methods
                    .iter()
                    .map(|(m, id)| {
                        let h = handler_of(self.ix, *id);
                        (pascal(m), h)
                    })
                    .collect()
            })
            .unwrap_or_default();
        GrpcSvc { name, methods, evidence: Vec::new(), site }
    }

    /// Whether an actix-web-httpauth validator takes its credentials as `Option`/`Result`.
    fn validator_is_optional(&self, id: usize) -> bool {
        self.ix.fns[id].sig.inputs.iter().any(|i| match i {
            syn::FnArg::Typed(t) => {
                let outer = super::index::type_last(&t.ty).unwrap_or_default();
                (outer == "Option" || outer == "Result") && quote_text(&t.ty).contains("Auth")
            }
            _ => false,
        })
    }

    /// The name of a function-like value (`require_auth`, `auth::check`, `<closure>`).
    fn name_of_fn_value(&self, f: &Frame, v: &Value, e: Option<&syn::Expr>) -> String {
        match v {
            Value::Handler(h) => match h.fn_id {
                Some(id) => self.ix.fns[id].qual.clone(),
                None => h.name.clone(),
            },
            Value::Path(_, r, _) => r.clone(),
            Value::Closure(..) => "<closure>".into(),
            _ => e.map(|e| self.text(f, e)).unwrap_or_else(|| "?".into()),
        }
    }

    /// A middleware made of a function value (`from_fn(f)`, interceptors, hoops).
    pub fn classify_callable(&mut self, f: &Frame, v: &Value, name: &str, site: Site, source: Source) -> Mw {
        let fw = self.fw_of(f, "").unwrap_or(Fw::Axum);
        let names = self.names.get(fw);
        let class = match v {
            Value::Closure(c, _) => {
                let mut calls = Vec::new();
                super::handler::collect_calls(&c.body, &mut calls);
                if calls.iter().any(|c| names.is_guard_call(c)) {
                    Class::Auth
                } else if names.suspect(&super::interp::src_text(&self.ix.files[f.file], c.body.span())) {
                    Class::Unknown("closure that looks like auth; name its check in `guard_calls`".into())
                } else {
                    Class::NotAuth
                }
            }
            _ => {
                let mut class = names.classify_mw(&candidates(name));
                // AX-5: a middleware fn whose non-optional extractor parameter is configured.
                if !class.enforces()
                    && let Value::Handler(Handler { fn_id: Some(id), .. }) = v
                {
                    let ev = self.param_evidence(*id, fw, &[]);
                    if ev.iter().any(|m| m.class == Class::Auth) {
                        class = Class::Auth;
                    }
                }
                class
            }
        };
        Mw::new(short_name(name), class, source, site)
    }

    /// Middleware values of an argument (`layer(x)`, `wrap(x)`, `with(x)`, `hoop(x)`).
    pub fn to_mw(&mut self, f: &Frame, v: Value, e: Option<&syn::Expr>, source: Source) -> Vec<Mw> {
        let site = e.map(|e| self.site(f, e.span())).unwrap_or_default();
        let fw = self.fw_of(f, "").unwrap_or(Fw::Axum);
        match v {
            Value::Mw(ms) => ms.into_iter().map(|m| m.with_source(source)).collect(),
            Value::List(items) => items.into_iter().flat_map(|i| self.to_mw(f, i, e, source)).collect(),
            Value::Handler(ref h) => {
                let name = match h.fn_id {
                    Some(id) => self.ix.fns[id].qual.clone(),
                    None => h.name.clone(),
                };
                vec![self.classify_callable(f, &v, &name, site, source)]
            }
            Value::Closure(..) => vec![self.classify_callable(f, &v, "<closure>", site, source)],
            Value::Path(_, resolved, psite) => {
                let class = self.names.get(fw).classify_mw(&candidates(&resolved));
                vec![Mw::new(short_name(&resolved), class, source, psite)]
            }
            Value::Unit | Value::Bool(_) | Value::Str(_) => Vec::new(),
            _ => {
                // No name can be extracted (a field, a parameter, an unresolved call's result).
                let text = e.map(|e| self.text(f, e)).unwrap_or_default();
                let class = if self.names.get(fw).suspect(&text) {
                    Class::Unknown(format!("unresolved middleware `{}`", truncate(&text, 40)))
                } else {
                    Class::NotAuth
                };
                vec![Mw::new(truncate(&text, 40), class, source, site)]
            }
        }
    }

    pub fn to_handler(&self, v: Value) -> Option<Handler> {
        match v {
            Value::Handler(h) => Some(h),
            Value::Path(w, _, _) => Some(Handler {
                fn_id: None,
                name: w.rsplit("::").next().unwrap_or(&w).to_string(),
                evidence: Vec::new(),
            }),
            Value::Closure(..) => {
                Some(Handler { fn_id: None, name: "<closure>".into(), evidence: Vec::new() })
            }
            _ => None,
        }
    }

    /// A value used as a router: routes as they are, anything unknown a placeholder.
    pub fn as_routes(&mut self, v: Value, fw: Fw, site: &Site) -> RouteSet {
        match v {
            Value::Routes(r) => r,
            Value::List(items) => {
                let mut out = RouteSet::new(fw, "List", site.clone());
                for i in items {
                    let r = self.as_routes(i, fw, site);
                    out.entries.extend(finalize(r));
                }
                out
            }
            Value::Filter(branches) => {
                let mut out = RouteSet::new(Fw::Warp, "Filter", site.clone());
                out.entries = branches_to_entries(branches);
                out
            }
            Value::Grpc(layers, svcs) => {
                let mut out = RouteSet::new(Fw::Tonic, "Server", site.clone());
                out.entries = grpc_entries(&layers, svcs);
                out
            }
            Value::Svc(svcs) => {
                let mut out = RouteSet::new(Fw::Tonic, "Service", site.clone());
                out.entries = grpc_entries(&[], svcs);
                out
            }
            other => {
                let (name, psite) = match &other {
                    Value::Path(w, _, s) => (w.clone(), s.clone()),
                    Value::Opaque(r, s) => (r.clone(), s.clone()),
                    _ => ("value".to_string(), site.clone()),
                };
                let mut out = RouteSet::new(fw, "Placeholder", psite.clone());
                let mut e =
                    Entry::new(fw, format!("<placeholder:{}>", truncate(&name, 60)), "ANY", None, psite);
                e.placeholder = Some(match &other {
                    Value::Path(w, _, _) if w.ends_with('!') => format!("macro `{w}` not expanded"),
                    Value::Path(w, _, _) => format!("`{w}` is not in the workspace"),
                    Value::Opaque(r, _) => format!("`{}` could not be resolved", truncate(r, 40)),
                    _ => "unknown router".into(),
                });
                out.entries.push(e);
                out
            }
        }
    }

    /// A method call on a value.
    #[allow(clippy::too_many_arguments)]
    pub fn method(
        &mut self,
        f: &mut Frame,
        recv: Value,
        name: &str,
        args: Vec<Value>,
        arg_exprs: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
        site: Site,
        _turbofish: &Option<syn::AngleBracketedGenericArguments>,
    ) -> Value {
        // An unknown builder given one router (`HttpServiceBuilder::default().finish(app)`).
        if matches!(recv, Value::Path(..) | Value::Opaque(..))
            && let Some(r) = super::interp::single_router(&args)
        {
            return r;
        }
        if TRANSPARENT.contains(&name) {
            return recv;
        }
        // A method of the workspace's own type (`server.router()`, `self.routes()`).
        if matches!(recv, Value::Path(..) | Value::Opaque(..))
            && let Some(id) = self.own_method(f, &recv, name)
        {
            return self.call_fn(id, args, Some(recv));
        }
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Unit);
        match recv {
            Value::Routes(r) => self.routes_method(f, r, name, args, arg_exprs, site),
            Value::Methods(m) => self.methods_method(f, m, name, args, arg_exprs, site),
            Value::Filter(b) => self.filter_method(f, b, name, args, arg_exprs, site),
            Value::Grpc(mut layers, mut svcs) => match name {
                "layer" => {
                    layers.extend(self.to_mw(f, arg(0), arg_exprs.first(), Source::Layer));
                    Value::Grpc(layers, svcs)
                }
                "add_service" | "add_optional_service" => {
                    match arg(0) {
                        Value::Svc(s) => svcs.extend(s),
                        // An axum router added as a service (`add_routes`): not a gRPC service.
                        Value::Routes(_) => {}
                        other => {
                            let text = arg_text(self, f, arg_exprs, 0);
                            let n = match &other {
                                Value::Path(w, ..) => w.clone(),
                                _ => text,
                            };
                            svcs.push(GrpcSvc {
                                name: format!("<placeholder:{}>", truncate(&n, 40)),
                                methods: Vec::new(),
                                evidence: Vec::new(),
                                site,
                            });
                        }
                    }
                    Value::Grpc(layers, svcs)
                }
                "serve" | "serve_with_shutdown" | "serve_with_incoming" | "serve_with_incoming_shutdown" => {
                    self.served.push(super::interp::Served { value: Value::Grpc(layers, svcs), site });
                    Value::Unit
                }
                _ => Value::Grpc(layers, svcs),
            },
            Value::Svc(svcs) => Value::Svc(svcs),
            Value::Server(Fw::Actix) if name == "bind" && args.len() == 3 => {
                // actix_server `Server::build().bind(name, addr, || app factory)`.
                let v = match arg(2) {
                    Value::Closure(c, env) => self.call_closure(f, &c, &env, Vec::new()),
                    other => other,
                };
                self.served.push(super::interp::Served { value: v, site });
                Value::Server(Fw::Actix)
            }
            Value::Server(fw) => match name {
                "run" | "serve" | "run_with_graceful_shutdown" | "serve_with_graceful_shutdown"
                    if !args.is_empty() =>
                {
                    let v = arg(0);
                    if fw != Fw::Actix {
                        self.served.push(super::interp::Served { value: v, site });
                    }
                    Value::Unit
                }
                _ => Value::Server(fw),
            },
            Value::Mw(mut ms) => match name {
                "layer" => match arg(0) {
                    // `auth_layer.layer(router)` wraps the whole app (AX-6).
                    Value::Routes(r) => Value::Routes(outer_wrap(r, &ms)),
                    other => {
                        ms.extend(self.to_mw(f, other, arg_exprs.first(), Source::Layer));
                        Value::Mw(ms)
                    }
                },
                "option_layer" => {
                    let cond = Cond::Runtime(format!(
                        "option_layer({})",
                        truncate(&arg_text(self, f, arg_exprs, 0), 40)
                    ));
                    ms.extend(with_cond(self.to_mw(f, arg(0), arg_exprs.first(), Source::Layer), cond));
                    Value::Mw(ms)
                }
                "service" => match arg(0) {
                    Value::Routes(r) => Value::Routes(outer_wrap(r, &ms)),
                    Value::Svc(mut s) => {
                        for svc in &mut s {
                            svc.evidence.extend(ms.iter().cloned());
                        }
                        Value::Svc(s)
                    }
                    other => other,
                },
                "force_passed" => {
                    if matches!(arg(0), Value::Bool(true)) {
                        for m in &mut ms {
                            m.class = Class::NonEnforcing;
                            m.name = format!("{}.force_passed(true)", m.name);
                        }
                    }
                    Value::Mw(ms)
                }
                _ => Value::Mw(ms),
            },
            // `opt.map(|x| Layer::new(x))`, `opt.and_then(..)`: the closure's result, conditional
            // on the option (handled by the caller's condition, if any).
            Value::Path(..) | Value::Opaque(..)
                if matches!(name, "map" | "and_then" | "map_or_else" | "unwrap_or_else")
                    && args.iter().any(|a| matches!(a, Value::Closure(..))) =>
            {
                // Not evaluated (closures over option values are everywhere in real code):
                // a body that is one constructor call gives that constructor's name.
                let c = args
                    .iter()
                    .rev()
                    .find(|a| matches!(a, Value::Closure(..)))
                    .cloned()
                    .unwrap_or(Value::Unit);
                match c {
                    Value::Closure(c, _) => match &*c.body {
                        syn::Expr::Call(call) => match &*call.func {
                            syn::Expr::Path(p) => {
                                let written = path_text(&p.path);
                                let resolved = self.resolve(f, &p.path).unwrap_or_else(|| written.clone());
                                Value::Path(written, resolved, self.site(f, p.span()))
                            }
                            _ => recv,
                        },
                        _ => recv,
                    },
                    _ => recv,
                }
            }
            Value::Path(w, r, psite) => match name {
                "force_passed" if matches!(arg(0), Value::Bool(true)) => {
                    let mut m = self.named_mw(&r, psite, Source::Hoop);
                    m.class = Class::NonEnforcing;
                    m.name = format!("{}.force_passed(true)", m.name);
                    Value::Mw(vec![m])
                }
                "layer" if matches!(arg(0), Value::Routes(_)) => {
                    let Value::Routes(rs) = arg(0) else { unreachable!() };
                    let mws = self.to_mw(f, Value::Path(w, r, psite), None, Source::OuterWrap);
                    Value::Routes(outer_wrap(rs, &mws))
                }
                "concat" | "to_string" | "as_str" => Value::Path(w, r, psite),
                _ => Value::Path(w, r, psite),
            },
            Value::Handler(mut h) => match name {
                "layer" | "with" => {
                    let src = if name == "layer" { Source::Layer } else { Source::With };
                    h.evidence.extend(self.to_mw(f, arg(0), arg_exprs.first(), src));
                    Value::Handler(h)
                }
                _ => Value::Handler(h),
            },
            Value::List(mut items) => match name {
                "push" => {
                    items.push(arg(0));
                    Value::List(items)
                }
                "extend" | "append" | "chain" => {
                    match arg(0) {
                        Value::List(more) => items.extend(more),
                        other => items.push(other),
                    }
                    Value::List(items)
                }
                "concat" | "join" if args.is_empty() => {
                    // `[base, "/admin"].concat()`: unknown parts become `{dyn:..}` segments.
                    let parts: Vec<String> = items.iter().map(|i| self.string_of(i, "?")).collect();
                    Value::Str(parts.join(""))
                }
                "into_iter" | "iter" | "collect" => Value::List(items),
                _ => Value::List(items),
            },
            Value::Str(s) => match name {
                "to_string" | "as_str" | "to_owned" => Value::Str(s),
                _ => Value::opaque(format!("{s}.{name}(..)"), site),
            },
            Value::Closure(..) => Value::opaque(format!(".{name}(..)"), site),
            Value::Opaque(r, s) => Value::Opaque(format!("{}.{name}(..)", truncate(&r, 30)), s),
            other => other,
        }
    }

    fn routes_method(
        &mut self,
        f: &mut Frame,
        mut r: RouteSet,
        name: &str,
        args: Vec<Value>,
        arg_exprs: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
        site: Site,
    ) -> Value {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Unit);
        match (r.fw, name) {
            // axum and loco.
            (Fw::Axum | Fw::Loco, "route" | "add") => {
                let path = normalize(&self.string_of(&arg(0), &arg_text(self, f, arg_exprs, 0)));
                let ms = match arg(1) {
                    Value::Methods(m) => m,
                    other => {
                        let mut m = Methods::new(r.fw, site.clone());
                        m.entries.push(MethodEntry::new("ANY".into(), self.to_handler(other), site.clone()));
                        m
                    }
                };
                for me in ms.entries {
                    let mut e = Entry::new(r.fw, path.clone(), &me.method, me.handler, site.clone());
                    e.evidence = me.evidence;
                    e.missed = r.applied_auth.clone();
                    e.missed.extend(me.missed);
                    e.pitfalls = me.pitfalls;
                    e.router = r.site.clone();
                    self.in_loop_mark(f, &mut e);
                    r.entries.push(e);
                }
                Value::Routes(r)
            }
            (Fw::Axum, "routes") => {
                // utoipa_axum: `.routes(routes!(a, b))`, method and path from `#[utoipa::path]`.
                let items = match arg(0) {
                    Value::List(items) => items,
                    other => vec![other],
                };
                for item in items {
                    let Value::Handler(h) = item else { continue };
                    for mut e in self.utoipa_routes(&h) {
                        e.missed = r.applied_auth.clone();
                        e.router = r.site.clone();
                        r.entries.push(e);
                    }
                }
                Value::Routes(r)
            }
            (Fw::Axum, "split_for_parts") => {
                Value::List(vec![Value::Routes(r), Value::opaque("OpenApi document", site)])
            }
            (Fw::Axum | Fw::Loco, "route_service") => {
                let path = normalize(&self.string_of(&arg(0), &arg_text(self, f, arg_exprs, 0)));
                let h = self.to_handler(arg(1)).or_else(|| {
                    Some(Handler { fn_id: None, name: arg_text(self, f, arg_exprs, 1), evidence: Vec::new() })
                });
                let mut e = Entry::new(r.fw, path, "ANY", h, site);
                e.missed = r.applied_auth.clone();
                e.router = r.site.clone();
                r.entries.push(e);
                Value::Routes(r)
            }
            (Fw::Axum | Fw::Loco, "nest" | "nest_service" | "merge") => {
                let (prefix, inner, inner_e) = if name == "merge" {
                    (String::new(), arg(0), arg_exprs.first())
                } else {
                    (self.string_of(&arg(0), &arg_text(self, f, arg_exprs, 0)), arg(1), arg_exprs.get(1))
                };
                let inner = match inner {
                    v @ (Value::Routes(_) | Value::List(_) | Value::Path(..) | Value::Opaque(..)) => v,
                    other if name == "nest_service" => {
                        let mut rs = RouteSet::new(r.fw, "Service", site.clone());
                        let h = self.to_handler(other).or_else(|| {
                            Some(Handler {
                                fn_id: None,
                                name: inner_e.map(|e| self.text(f, e)).unwrap_or_default(),
                                evidence: Vec::new(),
                            })
                        });
                        rs.entries.push(Entry::new(r.fw, "/{*rest}".into(), "ANY", h, site.clone()));
                        Value::Routes(rs)
                    }
                    other => other,
                };
                let inner = self.as_routes(inner, r.fw, &site);
                let op = if name == "merge" { "merge" } else { "nest" };
                for mut e in finalize(inner) {
                    if !prefix.is_empty() && !e.fallback {
                        e.path = normalize(&join_path(&prefix, &e.path));
                    }
                    e.trail.push(Step { op, detail: prefix.clone(), site: site.clone() });
                    for m in &r.applied_auth {
                        if !e.missed.contains(m) {
                            e.missed.push(m.clone());
                        }
                    }
                    // 0.8 nested fallbacks stay the inner router's; keep them.
                    r.entries.push(e);
                }
                Value::Routes(r)
            }
            (Fw::Axum | Fw::Loco, "layer" | "route_layer") => {
                let src = if name == "layer" { Source::Layer } else { Source::RouteLayer };
                let mws = self.to_mw(f, arg(0), arg_exprs.first(), src);
                for e in &mut r.entries {
                    if name == "route_layer" && e.fallback {
                        continue;
                    }
                    for m in &mws {
                        e.add_evidence(m);
                    }
                }
                r.applied_auth.extend(
                    mws.into_iter().filter(|m| m.class.enforces() || matches!(m.class, Class::Unknown(_))),
                );
                Value::Routes(r)
            }
            (Fw::Axum | Fw::Loco, "fallback" | "fallback_service") => {
                let h = self.to_handler(arg(0));
                let mut e = Entry::new(r.fw, "<fallback>".into(), "ANY", h, site);
                e.fallback = true;
                e.router = r.site.clone();
                r.entries.retain(|x| !x.fallback);
                r.entries.push(e);
                Value::Routes(r)
            }
            (Fw::Loco, "add_route" | "add_routes") => {
                let items = match arg(0) {
                    Value::List(items) => items,
                    other => vec![other],
                };
                for item in items {
                    let inner = self.as_routes(item, Fw::Loco, &site);
                    for mut e in finalize(inner) {
                        // `AppRoutes::prefix` applies to the routes added after it.
                        e.path = normalize(&join_path(&r.prefix, &e.path));
                        e.trail.push(Step { op: "add_route", detail: r.prefix.clone(), site: site.clone() });
                        r.entries.push(e);
                    }
                }
                Value::Routes(r)
            }
            (Fw::Loco, "prefix") => {
                r.prefix = join_path(&r.prefix, &self.string_of(&arg(0), ""));
                Value::Routes(r)
            }
            // actix-web containers.
            (Fw::Actix, "wrap" | "wrap_fn") => {
                let mws = self.to_mw(f, arg(0), arg_exprs.first(), Source::ContainerWrap);
                r.wraps.extend(mws);
                Value::Routes(r)
            }
            (Fw::Actix, "service") => {
                let v = arg(0);
                self.actix_service(&mut r, v, &site);
                Value::Routes(r)
            }
            (Fw::Actix, "route") if args.len() == 2 => {
                let path = self.string_of(&arg(0), &arg_text(self, f, arg_exprs, 0));
                let mut res = RouteSet::new(Fw::Actix, "Resource", site.clone());
                res.prefix = path;
                if let Value::Methods(m) = arg(1) {
                    add_actix_route(&mut res, m, &site);
                }
                r.entries.extend(finalize(res));
                Value::Routes(r)
            }
            (Fw::Actix, "route") => {
                if let Value::Methods(m) = arg(0) {
                    add_actix_route(&mut r, m, &site);
                }
                Value::Routes(r)
            }
            (Fw::Actix, "to") => {
                let mut e = Entry::new(Fw::Actix, String::new(), "ANY", self.to_handler(arg(0)), site);
                e.router = r.site.clone();
                r.entries.push(e);
                Value::Routes(r)
            }
            (Fw::Actix, "configure") => {
                // `configure(f)` runs `f` on a fresh `ServiceConfig` and appends what it
                // registered there (read back through the `&mut` write-back of calls).
                let fresh = Value::Routes(RouteSet::new(Fw::Actix, "ServiceConfig", site.clone()));
                let ran = match arg(0) {
                    Value::Handler(Handler { fn_id: Some(id), .. }) => {
                        self.call_fn(id, vec![fresh], None);
                        true
                    }
                    Value::Closure(c, env) => {
                        self.call_closure(f, &c, &env, vec![fresh]);
                        true
                    }
                    _ => false,
                };
                let out = if ran {
                    std::mem::take(&mut self.mut_out).into_iter().find(|(i, _)| *i == 0).map(|(_, v)| v)
                } else {
                    None
                };
                let cfg = match out {
                    Some(Value::Routes(rs)) => rs,
                    other => self.as_routes(other.unwrap_or_else(|| arg(0)), Fw::Actix, &site),
                };
                for mut e in finalize(cfg) {
                    e.trail.push(Step {
                        op: "configure",
                        detail: arg_text(self, f, arg_exprs, 0),
                        site: site.clone(),
                    });
                    r.entries.push(e);
                }
                Value::Routes(r)
            }
            (Fw::Actix, "default_service") => {
                let mut e = Entry::new(Fw::Actix, "<fallback>".into(), "ANY", self.to_handler(arg(0)), site);
                e.fallback = true;
                r.entries.push(e);
                Value::Routes(r)
            }
            (Fw::Actix, "guard") => {
                let text = arg_text(self, f, arg_exprs, 0);
                let gname = match arg(0) {
                    Value::Path(_, res, _) => res,
                    _ => text.clone(),
                };
                if self.names.get(Fw::Actix).guard_enforces(&gname) {
                    r.wraps.push(Mw::new(short_name(&gname), Class::Auth, Source::Guard, site));
                }
                Value::Routes(r)
            }
            // Rocket.
            (Fw::Rocket, "mount") => {
                let base = self.string_of(&arg(0), &arg_text(self, f, arg_exprs, 0));
                let list = match arg(1) {
                    Value::List(items) => items,
                    other => vec![other],
                };
                for item in list {
                    match item {
                        Value::Handler(h) => {
                            for mut e in self.attribute_routes(&h, Fw::Rocket) {
                                e.path = normalize(&join_path(&base, &e.path));
                                e.trail.push(Step { op: "mount", detail: base.clone(), site: site.clone() });
                                r.entries.push(e);
                            }
                        }
                        Value::Routes(inner) => {
                            for mut e in finalize(inner) {
                                e.path = normalize(&join_path(&base, &e.path));
                                e.trail.push(Step { op: "mount", detail: base.clone(), site: site.clone() });
                                r.entries.push(e);
                            }
                        }
                        other => {
                            let mut ph = self.as_routes(other, Fw::Rocket, &site);
                            r.entries.append(&mut ph.entries);
                        }
                    }
                }
                Value::Routes(r)
            }
            (Fw::Rocket, "attach") => {
                let mws = self.to_mw(f, arg(0), arg_exprs.first(), Source::Layer);
                // Fairings cannot reject requests (RK-4): only a policy-named one counts.
                let counted: Vec<Mw> = mws
                    .into_iter()
                    .filter(|m| m.class == Class::Auth || m.class == Class::NonEnforcing)
                    .collect();
                r.wraps.extend(counted);
                Value::Routes(r)
            }
            (Fw::Rocket, "launch" | "ignite") => {
                self.served.push(super::interp::Served { value: Value::Routes(r), site });
                Value::Unit
            }
            // poem.
            (Fw::Poem, "at" | "nest" | "nest_no_strip") => {
                let path = self.string_of(&arg(0), &arg_text(self, f, arg_exprs, 0));
                match arg(1) {
                    Value::Methods(m) => {
                        for me in m.entries {
                            let mut e =
                                Entry::new(Fw::Poem, normalize(&path), &me.method, me.handler, site.clone());
                            e.evidence = me.evidence;
                            e.router = r.site.clone();
                            r.entries.push(e);
                        }
                    }
                    Value::Handler(h) => {
                        let mut e =
                            Entry::new(Fw::Poem, normalize(&path), "ANY", Some(h.clone()), site.clone());
                        e.evidence = h.evidence;
                        r.entries.push(e);
                    }
                    other => {
                        let inner = self.as_routes(other, Fw::Poem, &site);
                        for mut e in finalize(inner) {
                            e.path = normalize(&join_path(&path, &e.path));
                            e.trail.push(Step { op: "nest", detail: path.clone(), site: site.clone() });
                            r.entries.push(e);
                        }
                    }
                }
                Value::Routes(r)
            }
            (Fw::Poem, "with" | "with_if" | "around" | "before") => {
                let (v, e, cond) = if name == "with_if" {
                    let c = match arg(0) {
                        Value::Bool(true) => Cond::Always,
                        _ => Cond::Runtime(arg_text(self, f, arg_exprs, 0)),
                    };
                    (arg(1), arg_exprs.get(1), c)
                } else {
                    (arg(0), arg_exprs.first(), Cond::Always)
                };
                let mws = with_cond(self.to_mw(f, v, e, Source::With), cond);
                for e in &mut r.entries {
                    for m in &mws {
                        e.add_evidence(m);
                    }
                }
                Value::Routes(r)
            }
            // salvo.
            (Fw::Salvo, "push" | "append" | "unshift" | "insert") => {
                let child = if name == "insert" { arg(1) } else { arg(0) };
                let children = match child {
                    Value::List(items) => items,
                    other => vec![other],
                };
                for c in children {
                    let inner = self.as_routes(c, Fw::Salvo, &site);
                    for e in finalize(inner) {
                        r.entries.push(e);
                    }
                }
                Value::Routes(r)
            }
            (Fw::Salvo, "path") => {
                r.prefix = join_path(&r.prefix, &self.string_of(&arg(0), ""));
                Value::Routes(r)
            }
            (Fw::Salvo, m) if HTTP_METHODS.contains(&m) || m == "goal" => {
                let method = if m == "goal" { "ANY".to_string() } else { method_upper(m) };
                let mut e = Entry::new(Fw::Salvo, String::new(), &method, self.to_handler(arg(0)), site);
                e.router = r.site.clone();
                r.entries.push(e);
                Value::Routes(r)
            }
            (Fw::Salvo, "hoop" | "hoop_when") => {
                let mut mws = self.to_mw(f, arg(0), arg_exprs.first(), Source::Hoop);
                if name == "hoop_when" {
                    mws = with_cond(mws, Cond::Runtime(arg_text(self, f, arg_exprs, 1)));
                }
                r.wraps.extend(mws);
                Value::Routes(r)
            }
            (_, m) => {
                let names = self.names.get(r.fw);
                if names.is_router_method(m) {
                    let mw = Mw::new(format!(".{m}()"), Class::Auth, Source::Layer, site);
                    for e in &mut r.entries {
                        e.add_evidence(&mw);
                    }
                } else if names.suspect(m) {
                    let mw = Mw::new(
                        format!(".{m}()"),
                        Class::Unknown(
                            "router method that looks like auth; name it in `router_methods`".into(),
                        ),
                        Source::Layer,
                        site,
                    );
                    for e in &mut r.entries {
                        e.add_evidence(&mw);
                    }
                }
                Value::Routes(r)
            }
        }
    }

    fn actix_service(&mut self, r: &mut RouteSet, v: Value, site: &Site) {
        match v {
            Value::Handler(h) if h.fn_id.is_some() => {
                let entries = self.attribute_routes(&h, Fw::Actix);
                if entries.is_empty() {
                    // A fn returning a scope (`.service(api::scope())` is a call, so this is a
                    // fn item without route attributes): a placeholder.
                    let mut ph = self.as_routes(
                        Value::Path(h.name.clone(), h.name.clone(), site.clone()),
                        Fw::Actix,
                        site,
                    );
                    r.entries.append(&mut ph.entries);
                }
                r.entries.extend(entries);
            }
            Value::Routes(child) => {
                let op = if child.kind == "Scope" { "scope" } else { "resource" };
                let prefix = child.prefix.clone();
                for mut e in finalize(child) {
                    e.trail.push(Step { op, detail: prefix.clone(), site: site.clone() });
                    r.entries.push(e);
                }
            }
            Value::List(items) => {
                for i in items {
                    self.actix_service(r, i, site);
                }
            }
            Value::Methods(m) => add_actix_route(r, m, site),
            other => {
                let mut ph = self.as_routes(other, Fw::Actix, site);
                r.entries.append(&mut ph.entries);
            }
        }
    }

    fn methods_method(
        &mut self,
        f: &mut Frame,
        mut m: Methods,
        name: &str,
        args: Vec<Value>,
        arg_exprs: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
        site: Site,
    ) -> Value {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Unit);
        if m.fw == Fw::Actix {
            match name {
                "to" | "service" => {
                    let method = m.pending_method.clone().unwrap_or_else(|| "ANY".into());
                    let mut me = MethodEntry::new(method, self.to_handler(arg(0)), site);
                    if !m.early_wraps.is_empty() {
                        me.pitfalls.insert("route-wrap-before-to");
                    }
                    m.entries.push(me);
                }
                "wrap" => {
                    let mws = self.to_mw(f, arg(0), arg_exprs.first(), Source::RouteWrap);
                    if m.entries.is_empty() {
                        m.early_wraps.extend(mws);
                    } else {
                        for me in &mut m.entries {
                            me.evidence.extend(mws.iter().cloned());
                        }
                    }
                }
                "method" => {
                    let text = arg_text(self, f, arg_exprs, 0);
                    m.pending_method = Some(text.rsplit("::").next().unwrap_or("ANY").to_ascii_uppercase());
                }
                "guard" => {
                    let text = arg_text(self, f, arg_exprs, 0);
                    let g = text.split('(').next().unwrap_or("").rsplit("::").next().unwrap_or("");
                    if HTTP_METHODS.contains(&g.to_ascii_lowercase().as_str()) {
                        m.pending_method = Some(g.to_ascii_uppercase());
                    }
                }
                _ => {}
            }
            return Value::Methods(m);
        }
        match name {
            n if HTTP_METHODS.contains(&n) || n == "any" => {
                let method = if n == "any" { "ANY".to_string() } else { method_upper(n) };
                let mut me = MethodEntry::new(method, self.to_handler(arg(0)), site);
                me.missed = m.applied_auth.clone();
                m.entries.push(me);
            }
            n if n.ends_with("_service") => {
                let method = method_upper(n.trim_end_matches("_service"));
                let mut me = MethodEntry::new(method, self.to_handler(arg(0)), site);
                me.missed = m.applied_auth.clone();
                m.entries.push(me);
            }
            "on" => {
                let text = arg_text(self, f, arg_exprs, 0);
                let method = text.rsplit("::").next().unwrap_or("ANY").to_ascii_uppercase();
                let mut me = MethodEntry::new(method, self.to_handler(arg(1)), site);
                me.missed = m.applied_auth.clone();
                m.entries.push(me);
            }
            "layer" | "route_layer" | "with" => {
                let src = match name {
                    "layer" => Source::Layer,
                    "route_layer" => Source::RouteLayer,
                    _ => Source::With,
                };
                let mws = self.to_mw(f, arg(0), arg_exprs.first(), src);
                for me in &mut m.entries {
                    me.evidence.extend(mws.iter().cloned());
                }
                m.applied_auth.extend(mws.into_iter().filter(|x| x.class.enforces()));
            }
            _ => {}
        }
        Value::Methods(m)
    }

    fn filter_method(
        &mut self,
        f: &mut Frame,
        branches: Vec<Branch>,
        name: &str,
        args: Vec<Value>,
        arg_exprs: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
        site: Site,
    ) -> Value {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Unit);
        match name {
            "and" => {
                let right = match arg(0) {
                    Value::Filter(b) => b,
                    // A local filter fn named in the policy, or an unknown value: classify it.
                    other => {
                        let mws = self.to_mw(f, other, arg_exprs.first(), Source::Filter);
                        vec![Branch { evidence: mws, ..Branch::new(site.clone()) }]
                    }
                };
                let mut out = Vec::new();
                for a in &branches {
                    for b in &right {
                        let mut n = a.clone();
                        n.path =
                            if b.path.is_empty() { a.path.clone() } else { format!("{}{}", a.path, b.path) };
                        if b.method.is_some() {
                            n.method = b.method.clone();
                        }
                        for ev in &b.evidence {
                            if a.handled {
                                if ev.class.enforces() {
                                    n.pitfalls.insert("late-auth");
                                }
                            } else {
                                n.evidence.push(ev.clone());
                            }
                        }
                        if b.handled {
                            n.handled = true;
                            n.handler = b.handler.clone();
                            n.reg = b.reg.clone();
                        }
                        n.pitfalls.extend(b.pitfalls.iter().copied());
                        out.push(n);
                    }
                }
                Value::Filter(out)
            }
            "or" => {
                let mut out = branches;
                match arg(0) {
                    Value::Filter(b) => out.extend(b),
                    other => {
                        let mut ph = self.as_routes(other, Fw::Warp, &site);
                        let e = ph.entries.pop();
                        if let Some(e) = e {
                            let mut b = Branch::new(e.reg.clone()).with_path(e.path);
                            b.handled = true;
                            out.push(b);
                        }
                    }
                }
                Value::Filter(out)
            }
            "map" | "and_then" | "then" => {
                let h = self.to_handler(arg(0));
                Value::Filter(
                    branches
                        .into_iter()
                        .map(|mut b| {
                            if !b.handled {
                                b.handled = true;
                                b.handler = h.clone();
                                b.reg = site.clone();
                            }
                            b
                        })
                        .collect(),
                )
            }
            "with" => {
                let mws = self.to_mw(f, arg(0), arg_exprs.first(), Source::With);
                Value::Filter(
                    branches
                        .into_iter()
                        .map(|mut b| {
                            b.evidence.extend(mws.iter().cloned());
                            b
                        })
                        .collect(),
                )
            }
            _ => Value::Filter(branches),
        }
    }

    pub fn warp_path_macro(&self, mac: &syn::Macro, site: Site) -> Value {
        let mut path = String::new();
        let mut cur = String::new();
        let flush = |cur: &mut String, path: &mut String| {
            let t = cur.trim().to_string();
            if !t.is_empty() && t != ".." {
                if let Ok(lit) = syn::parse_str::<syn::LitStr>(&t) {
                    path.push('/');
                    path.push_str(&lit.value());
                } else {
                    path.push_str(&format!("/{{{}}}", t.replace(' ', "")));
                }
            }
            cur.clear();
        };
        for tt in mac.tokens.clone() {
            match &tt {
                proc_macro2::TokenTree::Punct(p) if p.as_char() == '/' => flush(&mut cur, &mut path),
                _ => {
                    cur.push_str(&tt.to_string());
                    cur.push(' ');
                }
            }
        }
        flush(&mut cur, &mut path);
        Value::Filter(vec![Branch::new(site).with_path(path)])
    }
}

fn add_actix_route(r: &mut RouteSet, m: Methods, site: &Site) {
    for me in m.entries {
        let mut e = Entry::new(Fw::Actix, String::new(), &me.method, me.handler, site.clone());
        e.evidence = me.evidence;
        e.missed = me.missed;
        e.pitfalls = me.pitfalls;
        e.router = r.site.clone();
        r.entries.push(e);
    }
}

/// Apply a container's pending prefix and order-independent wraps to its routes.
pub fn finalize(r: RouteSet) -> Vec<Entry> {
    let RouteSet { entries, prefix, wraps, kind, .. } = r;
    // loco `AppRoutes` applied its prefix when each route was added.
    let prefix = if kind == "AppRoutes" { String::new() } else { prefix };
    entries
        .into_iter()
        .map(|mut e| {
            if !e.fallback && !e.path.starts_with('<') {
                e.path = normalize(&join_path(&prefix, &e.path));
            }
            for w in &wraps {
                e.add_evidence(w);
            }
            e
        })
        .collect()
}

fn outer_wrap(mut r: RouteSet, mws: &[Mw]) -> RouteSet {
    for e in &mut r.entries {
        for m in mws {
            e.add_evidence(&m.clone().with_source(Source::OuterWrap));
        }
    }
    r
}

fn with_cond(mws: Vec<Mw>, cond: Cond) -> Vec<Mw> {
    mws.into_iter()
        .map(|mut m| {
            if m.cond.is_always() {
                m.cond = cond.clone();
            }
            m
        })
        .collect()
}

pub fn branches_to_entries(branches: Vec<Branch>) -> Vec<Entry> {
    branches
        .into_iter()
        .filter(|b| b.handled || !b.path.is_empty())
        .map(|b| {
            let method = b.method.clone().unwrap_or_else(|| "ANY".into());
            let mut e = Entry::new(Fw::Warp, normalize(&b.path), &method, b.handler, b.reg.clone());
            e.evidence = b.evidence;
            e.pitfalls = b.pitfalls;
            e
        })
        .collect()
}

pub fn grpc_entries(layers: &[Mw], svcs: Vec<GrpcSvc>) -> Vec<Entry> {
    let mut out = Vec::new();
    for s in svcs {
        let mut evidence = s.evidence.clone();
        evidence.extend(layers.iter().cloned());
        let methods: Vec<(String, Option<Handler>)> = if s.methods.is_empty() {
            vec![("*".into(), None)]
        } else {
            s.methods.iter().map(|(m, h)| (m.clone(), Some(h.clone()))).collect()
        };
        for (m, h) in methods {
            let path = if s.name.starts_with('<') { s.name.clone() } else { format!("/{}/{m}", s.name) };
            let mut e = Entry::new(Fw::Tonic, path, "GRPC", h, s.site.clone());
            e.evidence = evidence.clone();
            if s.name.starts_with("<placeholder") {
                e.placeholder = Some("gRPC service not resolved".into());
            }
            out.push(e);
        }
    }
    out
}

fn short_name(resolved: &str) -> String {
    let segs: Vec<&str> = resolved.split("::").collect();
    match segs.as_slice() {
        [.., owner, last] if owner.chars().next().is_some_and(char::is_uppercase) => {
            format!("{owner}::{last}")
        }
        [.., last] => (*last).to_string(),
        [] => String::new(),
    }
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| f.to_uppercase().collect::<String>() + c.as_str())
        })
        .collect()
}

fn arg_text(
    i: &Interp<'_>,
    f: &Frame,
    args: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
    n: usize,
) -> String {
    args.get(n).map(|e| truncate(&i.text(f, e), 60)).unwrap_or_default()
}

pub fn quote_text(t: &impl quote::ToTokens) -> String {
    t.to_token_stream().to_string().replace(' ', "")
}

impl Methods {
    pub fn new(fw: Fw, site: Site) -> Methods {
        Methods {
            fw,
            entries: Vec::new(),
            applied_auth: Vec::new(),
            early_wraps: Vec::new(),
            pending_method: None,
            site,
        }
    }
}

impl MethodEntry {
    pub fn new(method: String, handler: Option<Handler>, site: Site) -> MethodEntry {
        let evidence = handler.as_ref().map(|h| h.evidence.clone()).unwrap_or_default();
        MethodEntry { method, handler, evidence, missed: Vec::new(), pitfalls: Default::default(), site }
    }
}

impl Branch {
    pub fn new(reg: Site) -> Branch {
        Branch {
            path: String::new(),
            method: None,
            evidence: Vec::new(),
            handled: false,
            handler: None,
            pitfalls: Default::default(),
            reg,
        }
    }
    fn with_path(mut self, p: String) -> Branch {
        self.path = p;
        self
    }
    fn with_method(mut self, m: String) -> Branch {
        self.method = Some(m);
        self
    }
    fn with_evidence(mut self, m: Mw) -> Branch {
        self.evidence.push(m);
        self
    }
}

pub fn path_of(e: &syn::Expr) -> Option<String> {
    match e {
        syn::Expr::Path(p) => Some(path_text(&p.path)),
        _ => None,
    }
}
