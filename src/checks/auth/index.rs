//! The crate index of the `auth` check (spec §3.1): every Rust file of the analysed crates
//! parsed once, and the items the interpreter needs kept (functions with their bodies, string
//! constants, type aliases, `use` bindings per module, `macro_rules!` names, tonic service
//! impls and `include_proto!` packages, extractor impls). Trees are dropped after indexing.

use super::model::{Fw, Site};
use crate::checks::source::resolve::{UseBinding, flatten_use, module_path};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;
use syn::visit::Visit;

/// Words a fn body must contain for the interpreter to need it (constructors, composition
/// and serving of every modelled framework, middleware constructors).
const ROUTER_WORDS: &[&str] = &[
    "Router",
    "App::",
    "scope(",
    "resource(",
    ".route(",
    ".service(",
    "configure",
    "serve",
    "mount",
    ".nest(",
    ".merge(",
    ".layer(",
    ".wrap(",
    "Server::",
    "hoop",
    ".at(",
    "warp::",
    "path!",
    "interceptor",
    "launch",
    "rocket",
    "Route",
    "Layer",
    "from_fn",
    "map_request",
    "Condition",
    "add_service",
    "ServiceConfig",
    "ServiceBuilder",
    "routes",
];

/// One crate (package) of the analysed workspace.
#[derive(Debug)]
pub struct CrateInfo {
    /// The name code uses (`my_service`).
    pub ident: String,
    /// Index into `Fleet::packages`.
    pub pkg: usize,
    /// Frameworks the package depends on.
    pub frameworks: Vec<Fw>,
}

#[derive(Debug)]
pub struct FileInfo {
    pub rel: Rc<str>,
    pub text: String,
    /// Byte offset of the start of each line.
    pub line_starts: Vec<usize>,
    pub krate: usize,
    /// Frameworks this file imports (first segments of its `use` paths).
    pub frameworks: BTreeSet<Fw>,
}

impl FileInfo {
    /// The 1-based line `n`, or "".
    pub fn line(&self, n: u32) -> &str {
        let Some(&start) = self.line_starts.get(n.saturating_sub(1) as usize) else { return "" };
        let end = self.line_starts.get(n as usize).map_or(self.text.len(), |e| e.saturating_sub(1));
        self.text.get(start..end.max(start)).unwrap_or("").trim_end_matches('\r')
    }
}

/// What names a module binds.
#[derive(Debug, Default)]
pub struct Module {
    pub krate: usize,
    /// `use` bindings: name -> target path as written.
    pub uses: HashMap<String, Vec<String>>,
    pub globs: Vec<Vec<String>>,
    /// Items defined here (fns, types, consts, mods, macros).
    pub items: HashSet<String>,
}

/// A function or method with its body.
#[derive(Debug)]
pub struct FnDef {
    pub name: String,
    /// `crate_ident::module::name` or `crate_ident::module::Type::name`.
    pub qual: String,
    pub module: String,
    pub file: usize,
    /// The `impl` type's last segment, for methods.
    pub self_ty: Option<String>,
    pub sig: syn::Signature,
    pub block: Rc<syn::Block>,
    pub attrs: Vec<syn::Attribute>,
    pub is_pub: bool,
    pub site: Site,
}

/// `impl pkg::x_server::X for T { .. }`.
#[derive(Debug)]
pub struct GrpcImpl {
    /// The module holding `include_proto!` (qualified), when the trait path names it.
    pub trait_module: String,
    pub service: String,
    pub ty: String,
    pub methods: Vec<(String, usize)>,
}

/// A trait impl waiting for its crate's imports: (module, trait path, type, methods).
type PendingImpl = (String, Vec<String>, String, Vec<(String, usize)>);

#[derive(Debug, Default)]
pub struct Index {
    pub crates: Vec<CrateInfo>,
    pub files: Vec<FileInfo>,
    pub modules: HashMap<String, Module>,
    pub fns: Vec<FnDef>,
    pub fn_by_qual: HashMap<String, usize>,
    pub fn_by_name: HashMap<String, Vec<usize>>,
    pub consts: HashMap<String, syn::Expr>,
    pub type_aliases: HashMap<String, syn::Type>,
    /// `macro_rules!` names defined in the analysed crates.
    pub macros: HashSet<String>,
    /// Module (qualified) -> protobuf package of its `include_proto!`.
    pub protos: HashMap<String, String>,
    pub grpc_impls: Vec<GrpcImpl>,
    /// Types with an `impl FromRequest(Parts)` (for `--suggest-policy`).
    pub extractor_impls: BTreeSet<String>,
    /// Types deriving poem-openapi's `SecurityScheme` (enforcing extractors).
    pub security_schemes: BTreeSet<String>,
    /// Every name referenced as a path or called as a method somewhere.
    pub referenced: HashSet<String>,
    /// Trait impls waiting for the crate's imports: (module, trait path, type, methods).
    pending_impls: Vec<PendingImpl>,
    /// Route prefix of an actix `#[scope("/p")]` module (qualified module -> prefix).
    pub scope_prefix: HashMap<String, String>,
    /// Modules declared `#[cfg(test)] mod x;` (their files are skipped as roots).
    pub test_modules: HashSet<String>,
    /// Keep every fn body (the policy names guard calls, which any handler body may hold).
    pub keep_all_bodies: bool,
    /// Files that did not parse: (file, line, column, message).
    pub parse_errors: Vec<(usize, u32, u32, String)>,
}

pub fn site(file: &Rc<str>, span: proc_macro2::Span) -> Site {
    let start = span.start();
    Site { file: file.clone(), line: start.line as u32, column: start.column as u32 + 1 }
}

impl Index {
    /// Add one crate's files: `(relative path, path inside the package, text)`.
    pub fn add_crate(&mut self, info: CrateInfo, files: Vec<(String, String, String)>) {
        let krate = self.crates.len();
        let ident = info.ident.clone();
        self.crates.push(info);
        self.modules.entry(ident.clone()).or_default().krate = krate;
        for (rel, inner, text) in files {
            let file = self.files.len();
            let rel: Rc<str> = rel.into();
            let mut module = vec![ident.clone()];
            module.extend(module_path(&inner));
            // Register the module chain so `crate::a::b` paths know `a` is a module.
            for i in 1..module.len() {
                let parent = module[..i].join("::");
                self.modules.entry(parent).or_default().items.insert(module[i].clone());
            }
            // Generated code (prost, tonic-build, ...) holds no router code of the service, and
            // is often the largest file of a crate: its module is known, its items are not read.
            if text.get(..text.len().min(400)).unwrap_or("").contains("@generated") {
                let line_starts = Vec::new();
                self.files.push(FileInfo {
                    rel,
                    text: String::new(),
                    line_starts,
                    krate,
                    frameworks: BTreeSet::new(),
                });
                continue;
            }
            let parsed = syn::parse_file(&text);
            let line_starts = std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
                .collect();
            self.files.push(FileInfo {
                rel: rel.clone(),
                text,
                line_starts,
                krate,
                frameworks: BTreeSet::new(),
            });
            match parsed {
                Ok(ast) => {
                    let mut fws = BTreeSet::new();
                    self.add_items(&ast.items, &module.join("::"), file, krate, &mut fws);
                    let mut refs = Refs { names: &mut self.referenced };
                    refs.visit_file(&ast);
                    self.files[file].frameworks = fws;
                }
                Err(e) => {
                    let start = e.span().start();
                    self.parse_errors.push((file, start.line as u32, start.column as u32 + 1, e.to_string()));
                }
            }
        }
        self.finish_impls();
    }

    fn add_items(
        &mut self,
        items: &[syn::Item],
        module: &str,
        file: usize,
        krate: usize,
        fws: &mut BTreeSet<Fw>,
    ) {
        self.modules.entry(module.to_string()).or_default().krate = krate;
        let rel = self.files[file].rel.clone();
        for item in items {
            if crate::checks::source::is_test_attr(item_attrs(item)) {
                // `#[cfg(test)] mod tests;`: its file is test code too.
                if let syn::Item::Mod(m) = item {
                    self.test_modules.insert(format!("{module}::{}", m.ident));
                }
                continue;
            }
            match item {
                syn::Item::Fn(f) => {
                    let name = f.sig.ident.to_string();
                    self.module_item(module, &name);
                    self.push_fn(FnDef {
                        qual: format!("{module}::{name}"),
                        name,
                        module: module.to_string(),
                        file,
                        self_ty: None,
                        sig: f.sig.clone(),
                        block: self.body(file, &f.block),
                        attrs: f.attrs.clone(),
                        is_pub: matches!(f.vis, syn::Visibility::Public(_)),
                        site: site(&rel, f.sig.ident.span()),
                    });
                }
                syn::Item::Impl(imp) => self.add_impl(imp, module, file),
                syn::Item::Const(c) => {
                    self.module_item(module, &c.ident.to_string());
                    self.consts.insert(format!("{module}::{}", c.ident), (*c.expr).clone());
                }
                syn::Item::Static(s) => {
                    self.module_item(module, &s.ident.to_string());
                    self.consts.insert(format!("{module}::{}", s.ident), (*s.expr).clone());
                }
                syn::Item::Type(t) => {
                    self.module_item(module, &t.ident.to_string());
                    self.type_aliases.insert(format!("{module}::{}", t.ident), (*t.ty).clone());
                }
                syn::Item::Struct(s) => {
                    self.module_item(module, &s.ident.to_string());
                    if derives(&s.attrs, "SecurityScheme") {
                        self.security_schemes.insert(s.ident.to_string());
                    }
                }
                syn::Item::Enum(e) => {
                    self.module_item(module, &e.ident.to_string());
                    if derives(&e.attrs, "SecurityScheme") {
                        self.security_schemes.insert(e.ident.to_string());
                    }
                }
                syn::Item::Trait(t) => self.module_item(module, &t.ident.to_string()),
                syn::Item::Macro(m) => {
                    let last = m.mac.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                    if last == "macro_rules"
                        && let Some(id) = &m.ident
                    {
                        self.macros.insert(id.to_string());
                        self.module_item(module, &id.to_string());
                    } else if last == "include_proto"
                        && let Ok(lit) = m.mac.parse_body::<syn::LitStr>()
                    {
                        self.protos.insert(module.to_string(), lit.value());
                    }
                }
                syn::Item::Use(u) => {
                    let mut out: Vec<UseBinding> = Vec::new();
                    flatten_use(&u.tree, &mut Vec::new(), &mut out);
                    let m = self.modules.entry(module.to_string()).or_default();
                    for b in out {
                        if let Some(first) = b.target.first().and_then(|f| Fw::of_crate(f)) {
                            fws.insert(first);
                        }
                        match b.name {
                            Some(n) => {
                                m.uses.insert(n, b.target);
                            }
                            None => m.globs.push(b.target),
                        }
                    }
                }
                syn::Item::Mod(m) => {
                    let name = m.ident.to_string();
                    self.module_item(module, &name);
                    if let Some((_, items)) = &m.content {
                        let inner = format!("{module}::{name}");
                        // actix `#[scope("/api")] mod api { #[get("/x")] .. }`: routes inside
                        // are prefixed with the scope path.
                        let scope = m
                            .attrs
                            .iter()
                            .find(|a| a.path().segments.last().is_some_and(|s| s.ident == "scope"));
                        if let Some(lit) = scope.and_then(|a| a.parse_args::<syn::LitStr>().ok()) {
                            let outer = self.scope_prefix.get(module).cloned().unwrap_or_default();
                            self.scope_prefix.insert(inner.clone(), format!("{outer}{}", lit.value()));
                        }
                        self.add_items(items, &inner, file, krate, fws);
                    }
                }
                _ => {}
            }
        }
    }

    /// A fn body worth keeping: one that can build, compose or serve routers, or guard a
    /// handler. Others are kept as an empty block (their signature and attributes are what the
    /// check reads), so memory follows the router code, not the size of the crate.
    fn body(&self, file: usize, block: &syn::Block) -> Rc<syn::Block> {
        use syn::spanned::Spanned;
        let text = super::interp::src_text(&self.files[file], block.span());
        if ROUTER_WORDS.iter().any(|w| text.contains(w)) || self.keep_all_bodies {
            Rc::new(block.clone())
        } else {
            Rc::new(syn::Block { brace_token: block.brace_token, stmts: Vec::new() })
        }
    }

    fn module_item(&mut self, module: &str, name: &str) {
        self.modules.entry(module.to_string()).or_default().items.insert(name.to_string());
    }

    fn push_fn(&mut self, def: FnDef) {
        let id = self.fns.len();
        self.fn_by_qual.insert(def.qual.clone(), id);
        self.fn_by_name.entry(def.name.clone()).or_default().push(id);
        self.fns.push(def);
    }

    fn add_impl(&mut self, imp: &syn::ItemImpl, module: &str, file: usize) {
        let Some(ty) = type_last(&imp.self_ty) else { return };
        let rel = self.files[file].rel.clone();
        let mut methods = Vec::new();
        for it in &imp.items {
            if let syn::ImplItem::Fn(f) = it {
                if crate::checks::source::is_test_attr(&f.attrs) {
                    continue;
                }
                let name = f.sig.ident.to_string();
                methods.push((name.clone(), self.fns.len()));
                self.push_fn(FnDef {
                    qual: format!("{module}::{ty}::{name}"),
                    name,
                    module: module.to_string(),
                    file,
                    self_ty: Some(ty.clone()),
                    sig: f.sig.clone(),
                    block: self.body(file, &f.block),
                    attrs: f.attrs.clone(),
                    is_pub: matches!(f.vis, syn::Visibility::Public(_)) || imp.trait_.is_some(),
                    site: site(&rel, f.sig.ident.span()),
                });
            }
        }
        let Some((_, trait_path, _)) = &imp.trait_ else { return };
        let segs: Vec<String> = trait_path.segments.iter().map(|s| s.ident.to_string()).collect();
        let last = segs.last().cloned().unwrap_or_default();
        if last == "FromRequestParts" || last == "FromRequest" || last == "OptionalFromRequestParts" {
            self.extractor_impls.insert(ty);
            return;
        }
        self.pending_impls.push((module.to_string(), segs, ty, methods));
    }

    /// Tonic service impls, once every `use` of the crate is known: `impl pb::echo_server::Echo
    /// for MyEcho` (or `impl Echo for MyEcho` with `Echo` imported from `..::echo_server`).
    fn finish_impls(&mut self) {
        for (module, segs, ty, methods) in std::mem::take(&mut self.pending_impls) {
            let full: Vec<String> = match self.resolve(&module, &segs) {
                Some(r) => r.split("::").map(str::to_string).collect(),
                None => segs.clone(),
            };
            if full.len() >= 2 && full[full.len() - 2].ends_with("_server") {
                let trait_module = full[..full.len() - 2].join("::");
                let service = full[full.len() - 1].clone();
                self.grpc_impls.push(GrpcImpl { trait_module, service, ty, methods });
            }
        }
    }

    /// The fully qualified path `segs` (as written in `module`) stands for: a local item
    /// (`crate_ident::m::name`), or an external path with the crate first (`axum::routing::get`).
    /// `None` when a single unknown name (not an import, not defined here).
    pub fn resolve(&self, module: &str, segs: &[String]) -> Option<String> {
        self.resolve_depth(module, segs, 0)
    }

    fn resolve_depth(&self, module: &str, segs: &[String], depth: usize) -> Option<String> {
        let (first, rest) = segs.split_first()?;
        if depth > 8 {
            return None;
        }
        let krate = module.split("::").next().unwrap_or(module);
        let join = |base: &str, rest: &[String]| {
            let mut s = base.to_string();
            for r in rest {
                s.push_str("::");
                s.push_str(r);
            }
            s
        };
        let m = self.modules.get(module);
        let out = match first.as_str() {
            "crate" | "$crate" => join(krate, rest),
            "self" => join(module, rest),
            "super" => {
                let parent = module.rsplit_once("::").map_or(module, |(p, _)| p);
                return self.resolve_depth(parent, rest, depth + 1).or_else(|| Some(parent.to_string()));
            }
            "Self" => return None,
            _ => {
                if m.is_some_and(|m| m.items.contains(first)) {
                    join(module, segs)
                } else if let Some(target) = m.and_then(|m| m.uses.get(first)) {
                    let mut full = target.clone();
                    full.extend(rest.iter().cloned());
                    // The target is written relative to the crate root (2018 paths) or starts
                    // with `crate`/`self`/`super`.
                    let base = if matches!(full[0].as_str(), "self" | "super") { module } else { krate };
                    return self.resolve_depth(base, &full, depth + 1).or_else(|| Some(full.join("::")));
                } else if let Some(hit) = self.glob_lookup(module, first, depth) {
                    join(&format!("{hit}::{first}"), rest)
                } else if self.crates.iter().any(|c| c.ident == *first) || !rest.is_empty() {
                    // A workspace crate, or an external path (`axum::routing::get`).
                    join(first, rest)
                } else {
                    return None;
                }
            }
        };
        // Follow a re-export: `a::b::name` where module `a::b` imports `name` from elsewhere.
        if let Some((parent, last)) = out.rsplit_once("::")
            && let Some(pm) = self.modules.get(parent)
            && !pm.items.contains(last)
            && pm.uses.contains_key(last)
        {
            return self.resolve_depth(parent, &[last.to_string()], depth + 1);
        }
        Some(out)
    }

    fn glob_lookup(&self, module: &str, name: &str, depth: usize) -> Option<String> {
        let m = self.modules.get(module)?;
        let krate = module.split("::").next().unwrap_or(module);
        for g in &m.globs {
            let base =
                if matches!(g.first().map(String::as_str), Some("self" | "super")) { module } else { krate };
            let target = self.resolve_depth(base, g, depth + 1).unwrap_or_else(|| g.join("::"));
            if let Some(tm) = self.modules.get(&target)
                && (tm.items.contains(name) || tm.uses.contains_key(name))
            {
                return Some(target);
            }
            // An external glob (`use axum::routing::*`): the name may come from it.
            if !self.modules.contains_key(&target)
                && Fw::of_crate(g.first().map_or("", String::as_str)).is_some()
            {
                return Some(target);
            }
        }
        None
    }

    /// The function a resolved path names: exact, else the unique function with that last
    /// segment (heuristic, `true`).
    pub fn find_fn(&self, qual: &str) -> Option<(usize, bool)> {
        if let Some(&id) = self.fn_by_qual.get(qual) {
            return Some((id, false));
        }
        // `crate_ident::Type::method` written through a module path (`api::Type::f`).
        let (_, last) = qual.rsplit_once("::").unwrap_or(("", qual));
        let first = qual.split("::").next().unwrap_or("");
        if !self.crates.iter().any(|c| c.ident == first) {
            return None;
        }
        match self.fn_by_name.get(last).map(Vec::as_slice) {
            Some([one]) => Some((*one, true)),
            _ => None,
        }
    }

    /// Whether `module` is, or is inside, a module declared under `#[cfg(test)]`.
    pub fn in_test_module(&self, module: &str) -> bool {
        let mut m = module;
        loop {
            if self.test_modules.contains(m) {
                return true;
            }
            match m.rsplit_once("::") {
                Some((parent, _)) => m = parent,
                None => return false,
            }
        }
    }

    /// The protobuf package of the module `module` (or an ancestor).
    pub fn proto_package(&self, module: &str) -> Option<&str> {
        let mut m = module;
        loop {
            if let Some(p) = self.protos.get(m) {
                return Some(p);
            }
            m = m.rsplit_once("::")?.0;
        }
    }
}

pub fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        _ => &[],
    }
}

fn derives(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("derive")
            && a.meta.require_list().is_ok_and(|l| {
                l.tokens.to_string().split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == name)
            })
    })
}

/// The last segment of a fn's return type.
pub fn type_last_of_output(sig: &syn::Signature) -> Option<String> {
    match &sig.output {
        syn::ReturnType::Type(_, ty) => type_last(ty),
        syn::ReturnType::Default => None,
    }
}

/// The last segment of a path type (`crate::a::MyType<T>` -> `MyType`).
pub fn type_last(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        syn::Type::Reference(r) => type_last(&r.elem),
        syn::Type::Paren(p) => type_last(&p.elem),
        syn::Type::Group(g) => type_last(&g.elem),
        _ => None,
    }
}

/// Collects every referenced name: last segments of paths and method names.
struct Refs<'a> {
    names: &'a mut HashSet<String>,
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if let Some(s) = p.path.segments.last() {
            self.names.insert(s.ident.to_string());
        }
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        self.names.insert(m.method.to_string());
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        // `routes![a, b]`, `vec![f()]`: names inside macro calls count as referenced.
        for tt in m.tokens.clone() {
            collect_idents(tt, self.names);
        }
    }
}

fn collect_idents(tt: proc_macro2::TokenTree, out: &mut HashSet<String>) {
    match tt {
        proc_macro2::TokenTree::Ident(i) => {
            out.insert(i.to_string());
        }
        proc_macro2::TokenTree::Group(g) => {
            for t in g.stream() {
                collect_idents(t, out);
            }
        }
        _ => {}
    }
}
