//! Handler evidence (spec §3.6): extractor parameters, enforcing attributes and guard calls of
//! a handler fn; route attributes (actix `#[get("/p")]`, Rocket `#[get("/p", rank = 2)]`).

use super::interp::{Frame, Interp, path_text};
use super::model::*;
use syn::spanned::Spanned;
use syn::visit::Visit;

const ROUTE_ATTRS: &[&str] =
    &["get", "post", "put", "delete", "patch", "head", "options", "trace", "connect", "route"];

/// Collect the paths of calls (and method names) in an expression.
pub fn collect_calls(e: &syn::Expr, out: &mut Vec<String>) {
    struct C<'a>(&'a mut Vec<String>);
    impl<'ast> Visit<'ast> for C<'_> {
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            if let syn::Expr::Path(p) = &*c.func {
                self.0.push(path_text(&p.path));
            }
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            self.0.push(m.method.to_string());
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    C(out).visit_expr(e);
}

/// The route attribute of a fn: (methods, path, rank, data param, attribute site, `wrap = ".."`).
pub struct RouteAttr {
    pub methods: Vec<String>,
    pub path: String,
    pub rank: Option<i64>,
    pub bound: Vec<String>,
    pub wraps: Vec<String>,
    pub span: proc_macro2::Span,
}

pub fn route_attrs(attrs: &[syn::Attribute]) -> Vec<RouteAttr> {
    type Exprs = syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>;
    let mut out = Vec::new();
    for a in attrs {
        let Some(last) = a.path().segments.last().map(|s| s.ident.to_string()) else { continue };
        if !ROUTE_ATTRS.contains(&last.as_str()) {
            continue;
        }
        let Ok(args) = a.parse_args_with(Exprs::parse_terminated) else { continue };
        let mut ra = RouteAttr {
            methods: Vec::new(),
            path: String::new(),
            rank: None,
            bound: Vec::new(),
            wraps: Vec::new(),
            span: a.span(),
        };
        if last != "route" {
            ra.methods.push(last.to_ascii_uppercase());
        }
        for e in &args {
            match e {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) if ra.path.is_empty() => {
                    ra.path = s.value()
                }
                syn::Expr::Path(p) if last == "route" => {
                    ra.methods.push(path_text(&p.path).to_ascii_uppercase())
                }
                syn::Expr::Assign(asg) => {
                    let key = super::frameworks::path_of(&asg.left).unwrap_or_default();
                    let val = match &*asg.right {
                        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => s.value(),
                        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => {
                            i.base10_digits().to_string()
                        }
                        other => super::frameworks::quote_text(other),
                    };
                    match key.as_str() {
                        "uri" | "path" => ra.path = val,
                        "method" => ra.methods.push(val.to_ascii_uppercase()),
                        "rank" => ra.rank = val.parse().ok(),
                        "data" => ra.bound.push(val.trim_matches(['<', '>']).to_string()),
                        "wrap" => ra.wraps.push(val),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        // Rocket: names bound by the URI (`<id>`, `<path..>`, `?<q>`) are not guards.
        for part in ra.path.split(['/', '?', '&']) {
            if let Some(inner) = part.strip_prefix('<').and_then(|p| p.strip_suffix('>')) {
                ra.bound.push(inner.trim_end_matches("..").to_string());
            }
        }
        if ra.methods.is_empty() {
            ra.methods.push("ANY".into());
        }
        out.push(ra);
    }
    out
}

impl Interp<'_> {
    /// Routes declared by a handler's attributes.
    pub fn attribute_routes(&mut self, h: &Handler, fw: Fw) -> Vec<Entry> {
        let Some(id) = h.fn_id else { return Vec::new() };
        let def = &self.ix.fns[id];
        let rel = self.ix.files[def.file].rel.clone();
        let module = def.module.clone();
        let scope = self.ix.scope_prefix.get(&module).cloned().unwrap_or_default();
        let file = def.file;
        let attrs = route_attrs(&def.attrs);
        let mut out = Vec::new();
        for ra in attrs {
            let reg = super::index::site(&rel, ra.span);
            let mut wrap_mws = Vec::new();
            for w in &ra.wraps {
                if let Ok(expr) = syn::parse_str::<syn::Expr>(w) {
                    let mut frame = Frame {
                        module: module.clone(),
                        file,
                        self_ty: None,
                        env: Default::default(),
                        returns: Vec::new(),
                        in_loop: 0,
                    };
                    let v = self.eval_expr(&mut frame, &expr);
                    let mut mws = self.to_mw(&frame, v, None, Source::ContainerWrap);
                    for m in &mut mws {
                        m.site = reg.clone();
                        if m.name.is_empty() {
                            m.name = w.clone();
                        }
                    }
                    wrap_mws.extend(mws);
                }
            }
            for m in &ra.methods {
                let mut e = Entry::new(
                    fw,
                    super::frameworks::normalize(&super::frameworks::join_path(&scope, &ra.path)),
                    m,
                    Some(h.clone()),
                    reg.clone(),
                );
                e.rank = ra.rank;
                for w in &wrap_mws {
                    e.add_evidence(w);
                }
                out.push(e);
            }
        }
        out
    }

    /// The routes `#[utoipa::path(get, path = "/x")]` declares on a handler (utoipa_axum).
    pub fn utoipa_routes(&self, h: &Handler) -> Vec<Entry> {
        type Exprs = syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>;
        let Some(id) = h.fn_id else { return Vec::new() };
        let def = &self.ix.fns[id];
        let mut out = Vec::new();
        for a in def.attrs.iter().filter(|a| a.path().segments.last().is_some_and(|s| s.ident == "path")) {
            let Ok(args) = a.parse_args_with(Exprs::parse_terminated) else { continue };
            let (mut path, mut methods) = (String::new(), Vec::new());
            for e in &args {
                match e {
                    syn::Expr::Path(p) => {
                        let m = path_text(&p.path).to_ascii_uppercase();
                        if ROUTE_ATTRS.contains(&m.to_ascii_lowercase().as_str()) {
                            methods.push(m);
                        }
                    }
                    syn::Expr::Assign(asg)
                        if super::frameworks::path_of(&asg.left).as_deref() == Some("path") =>
                    {
                        if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &*asg.right {
                            path = s.value();
                        }
                    }
                    _ => {}
                }
            }
            let reg = super::index::site(&self.ix.files[def.file].rel, a.span());
            for m in methods {
                out.push(Entry::new(
                    Fw::Axum,
                    super::frameworks::normalize(&path),
                    &m,
                    Some(h.clone()),
                    reg.clone(),
                ));
            }
        }
        out
    }

    /// The operations of poem-openapi's `#[OpenApi] impl Ty`: `#[oai(path = "/x", method = "get")]`.
    pub fn openapi_operations(&self, ty: &str) -> Vec<Entry> {
        type Exprs = syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>;
        let mut out = Vec::new();
        for (id, def) in self.ix.fns.iter().enumerate() {
            if def.self_ty.as_deref() != Some(ty) {
                continue;
            }
            for a in def.attrs.iter().filter(|a| a.path().is_ident("oai")) {
                let Ok(args) = a.parse_args_with(Exprs::parse_terminated) else { continue };
                let (mut path, mut method) = (String::new(), "ANY".to_string());
                for e in &args {
                    if let syn::Expr::Assign(asg) = e
                        && let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &*asg.right
                    {
                        match super::frameworks::path_of(&asg.left).as_deref() {
                            Some("path") => path = s.value(),
                            Some("method") => method = s.value().to_ascii_uppercase(),
                            _ => {}
                        }
                    }
                }
                let reg = super::index::site(&self.ix.files[def.file].rel, a.span());
                let h = super::interp::handler_of(self.ix, id);
                out.push(Entry::new(Fw::Poem, super::frameworks::normalize(&path), &method, Some(h), reg));
            }
        }
        out
    }

    /// Evidence of a handler's parameters (extractors, principals, guards).
    pub fn param_evidence(&self, id: usize, fw: Fw, bound: &[String]) -> Vec<Mw> {
        let def = &self.ix.fns[id];
        let rel = self.ix.files[def.file].rel.clone();
        let mut out = Vec::new();
        for input in &def.sig.inputs {
            let syn::FnArg::Typed(pt) = input else { continue };
            if let syn::Pat::Ident(i) = &*pt.pat
                && bound.iter().any(|b| i.ident == b.as_str())
            {
                continue;
            }
            if let Some((class, name)) = self.classify_param_type(&def.module, &pt.ty, fw) {
                out.push(Mw {
                    name,
                    class,
                    cond: Cond::Always,
                    source: Source::Extractor,
                    site: super::index::site(&rel, pt.ty.span()),
                    heuristic: false,
                });
            }
        }
        out
    }

    /// Classify one parameter type.
    pub fn classify_param_type(&self, module: &str, ty: &syn::Type, fw: Fw) -> Option<(Class, String)> {
        let names = self.names.get(fw);
        let ty = peel(ty);
        let syn::Type::Path(tp) = ty else { return None };
        let last = tp.path.segments.last()?;
        let l = last.ident.to_string();
        let inner = || first_type_arg(&last.arguments);
        match l.as_str() {
            "Option" | "Result" | "Outcome" => {
                let (c, n) = self.classify_param_type(module, inner()?, fw)?;
                return matches!(c, Class::Auth | Class::FailClosed)
                    .then(|| (Class::Optional, format!("{l}<{n}>")));
            }
            "Extension" | "ReqData" | "Data" => {
                let t = peel(inner()?);
                let segs: Vec<String> = match t {
                    syn::Type::Path(p) => p.path.segments.iter().map(|s| s.ident.to_string()).collect(),
                    _ => return None,
                };
                let resolved = self.ix.resolve(module, &segs).unwrap_or_else(|| segs.join("::"));
                return names.is_principal(&resolved).then(|| {
                    (Class::FailClosed, format!("{l}<{}>", segs.last().cloned().unwrap_or_default()))
                });
            }
            "TypedHeader" => {
                let t = super::frameworks::quote_text(inner()?);
                return t
                    .starts_with("Authorization")
                    .then(|| (Class::PresenceOnly, format!("TypedHeader<{t}>")));
            }
            _ => {}
        }
        let segs: Vec<String> = tp.path.segments.iter().map(|s| s.ident.to_string()).collect();
        let resolved = self.ix.resolve(module, &segs).unwrap_or_else(|| segs.join("::"));
        if let Some(alias) = self.ix.type_aliases.get(&resolved) {
            let alias_module = resolved.rsplit_once("::").map_or(module, |(m, _)| m);
            return self.classify_param_type(alias_module, alias, fw);
        }
        let class = names.classify_extractor(&resolved, self.ix.security_schemes.contains(&l))?;
        Some((class, l))
    }

    /// Attributes and guard calls of a handler fn.
    pub fn body_evidence(&self, id: usize, fw: Fw) -> Vec<Mw> {
        let def = &self.ix.fns[id];
        let names = self.names.get(fw);
        let rel = self.ix.files[def.file].rel.clone();
        let mut out = Vec::new();
        for a in &def.attrs {
            let p = path_text(a.path());
            if names.attribute_enforces(&p) {
                out.push(Mw::new(
                    format!("#[{p}]"),
                    Class::Auth,
                    Source::Attribute,
                    super::index::site(&rel, a.span()),
                ));
            }
        }
        for stmt in &def.block.stmts {
            let guard_expr = match stmt {
                syn::Stmt::Local(l) => l.init.as_ref().map(|i| &*i.expr).filter(|e| is_try(e)),
                syn::Stmt::Expr(e @ syn::Expr::Try(_), _) => Some(e),
                syn::Stmt::Expr(syn::Expr::If(i), _) if returns(&i.then_branch) => Some(&*i.cond),
                _ => None,
            };
            let Some(e) = guard_expr else { continue };
            let mut calls = Vec::new();
            collect_calls(e, &mut calls);
            for c in calls {
                let segs: Vec<String> = c.split("::").map(str::to_string).collect();
                let resolved = self.ix.resolve(&def.module, &segs).unwrap_or(c.clone());
                if names.is_guard_call(&resolved) || names.is_guard_call(&c) {
                    out.push(Mw {
                        name: format!("{c}(..)"),
                        class: Class::Auth,
                        cond: Cond::Always,
                        source: Source::GuardCall,
                        site: super::index::site(&rel, e.span()),
                        heuristic: true,
                    });
                }
            }
        }
        out
    }
}

fn is_try(e: &syn::Expr) -> bool {
    match e {
        syn::Expr::Try(_) => true,
        syn::Expr::Await(a) => is_try(&a.base),
        _ => false,
    }
}

fn returns(b: &syn::Block) -> bool {
    b.stmts.iter().any(|s| matches!(s, syn::Stmt::Expr(syn::Expr::Return(_), _)))
        || matches!(b.stmts.last(), Some(syn::Stmt::Expr(_, None)))
}

fn peel(ty: &syn::Type) -> &syn::Type {
    match ty {
        syn::Type::Reference(r) => peel(&r.elem),
        syn::Type::Paren(p) => peel(&p.elem),
        syn::Type::Group(g) => peel(&g.elem),
        t => t,
    }
}

fn first_type_arg(args: &syn::PathArguments) -> Option<&syn::Type> {
    match args {
        syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}
