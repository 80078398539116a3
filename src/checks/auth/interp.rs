//! The abstract interpreter (spec §3.4): evaluates router-building code statement by
//! statement, with an environment from local names to [`Value`]s, inlining calls to the
//! workspace's own functions, joining `if`/`match`/`#[cfg]` branches, and recording what each
//! root serves. Framework-specific constructors and methods are in `frameworks.rs`.

use super::index::{FnDef, Index};
use super::model::*;
use super::names::NamesTable;
use std::collections::HashMap;
use std::rc::Rc;
use syn::spanned::Spanned;

/// Cap on inlined evaluations per root (spec §3: past it, routes are `unresolvable`).
const BUDGET: usize = 50_000;
/// Cap on inlined evaluations for all the roots of one workspace.
pub const UNIT_BUDGET: usize = 200_000;

/// A function being evaluated.
pub struct Frame {
    pub module: String,
    pub file: usize,
    pub self_ty: Option<String>,
    pub env: HashMap<String, Value>,
    pub returns: Vec<Value>,
    /// Routes registered in a loop (placeholder when nonzero).
    pub in_loop: u32,
}

/// What a root served.
#[derive(Debug, Clone)]
pub struct Served {
    pub value: Value,
    pub site: Site,
}

pub struct Interp<'a> {
    pub ix: &'a Index,
    pub names: &'a NamesTable,
    pub max_depth: usize,
    pub budget: usize,
    pub stack: Vec<usize>,
    pub served: Vec<Served>,
    /// After a call: the final values of its `&mut` parameters, by argument position, for
    /// the caller to write back (`configure(cfg)` helpers that fill a `ServiceConfig`).
    pub mut_out: Vec<(usize, Value)>,
}

impl<'a> Interp<'a> {
    pub fn new(ix: &'a Index, names: &'a NamesTable, max_depth: usize) -> Interp<'a> {
        Interp {
            ix,
            names,
            max_depth,
            budget: BUDGET,
            stack: Vec::new(),
            served: Vec::new(),
            mut_out: Vec::new(),
        }
    }

    pub fn site(&self, f: &Frame, span: proc_macro2::Span) -> Site {
        super::index::site(&self.ix.files[f.file].rel, span)
    }

    /// The source text of `span` in the frame's file (one line at most, for reasons).
    pub fn text(&self, f: &Frame, node: &impl Spanned) -> String {
        src_text(&self.ix.files[f.file], node.span())
    }

    /// Evaluate the function `id` with `args` bound to its parameters.
    pub fn call_fn(&mut self, id: usize, args: Vec<Value>, self_value: Option<Value>) -> Value {
        let def: &FnDef = &self.ix.fns[id];
        let site = def.site.clone();
        if self.stack.contains(&id) {
            return Value::opaque(format!("recursive call to `{}`", def.name), site);
        }
        if self.stack.len() >= self.max_depth {
            return Value::opaque(format!("call depth over {} at `{}`", self.max_depth, def.name), site);
        }
        if self.budget == 0 {
            return Value::opaque("evaluation budget exhausted", site);
        }
        self.budget -= 1;
        let mut frame = Frame {
            module: def.module.clone(),
            file: def.file,
            self_ty: def.self_ty.clone(),
            env: HashMap::new(),
            returns: Vec::new(),
            in_loop: 0,
        };
        let mut args = args.into_iter();
        for input in &def.sig.inputs {
            match input {
                syn::FnArg::Receiver(_) => {
                    let v = self_value.clone().unwrap_or_else(|| Value::opaque("self", site.clone()));
                    frame.env.insert("self".into(), v);
                }
                syn::FnArg::Typed(pt) => {
                    let v = args.next().unwrap_or_else(|| {
                        Value::opaque(
                            format!("parameter `{}`", src_text(&self.ix.files[def.file], pt.pat.span())),
                            site.clone(),
                        )
                    });
                    let v = self.param_default(&frame, &pt.ty, v);
                    self.bind_pat(&mut frame, &pt.pat, v);
                }
            }
        }
        let block = def.block.clone();
        self.stack.push(id);
        let tail = self.eval_block(&mut frame, &block);
        self.stack.pop();
        let offset = usize::from(def.sig.receiver().is_some());
        self.mut_out = def
            .sig
            .inputs
            .iter()
            .filter_map(|i| match i {
                syn::FnArg::Typed(t) => Some(t),
                _ => None,
            })
            .enumerate()
            .filter(|(_, t)| matches!(&*t.ty, syn::Type::Reference(r) if r.mutability.is_some()))
            .filter_map(|(i, t)| {
                pat_ident(&t.pat).and_then(|n| frame.env.get(&n)).map(|v| (i + offset, v.clone()))
            })
            .collect();
        let mut results = std::mem::take(&mut frame.returns);
        if !matches!(tail, Value::Unit) || results.is_empty() {
            results.push(tail);
        }
        if results.len() == 1 {
            results.pop().unwrap_or(Value::Unit)
        } else {
            let arms = results.into_iter().map(|v| (v, Cond::Runtime("one of the returns".into()))).collect();
            join_values(arms)
        }
    }

    /// A parameter with no argument value: `&mut ServiceConfig` gets a fresh container.
    fn param_default(&self, f: &Frame, ty: &syn::Type, v: Value) -> Value {
        if let Value::Opaque(..) = v
            && super::index::type_last(ty).as_deref() == Some("ServiceConfig")
        {
            return Value::Routes(RouteSet::new(Fw::Actix, "ServiceConfig", self.site(f, ty.span())));
        }
        v
    }

    pub fn bind_pat(&mut self, f: &mut Frame, pat: &syn::Pat, v: Value) {
        match pat {
            syn::Pat::Ident(i) => {
                f.env.insert(i.ident.to_string(), v);
            }
            syn::Pat::Type(t) => self.bind_pat(f, &t.pat, v),
            syn::Pat::Reference(r) => self.bind_pat(f, &r.pat, v),
            syn::Pat::Tuple(t) => {
                let items = match v {
                    Value::List(items) => items,
                    other => vec![other; t.elems.len()],
                };
                for (p, v) in t.elems.iter().zip(items) {
                    self.bind_pat(f, p, v);
                }
            }
            _ => {}
        }
    }

    pub fn eval_block(&mut self, f: &mut Frame, block: &syn::Block) -> Value {
        let mut last = Value::Unit;
        for (i, stmt) in block.stmts.iter().enumerate() {
            let is_last = i + 1 == block.stmts.len();
            last = Value::Unit;
            match stmt {
                syn::Stmt::Local(l) => {
                    let cfg = cfg_of(&l.attrs);
                    let before = cfg.as_ref().map(|_| f.env.clone());
                    let v = match &l.init {
                        Some(init) => self.eval_expr(f, &init.expr),
                        None => Value::Unit,
                    };
                    self.bind_pat(f, &l.pat, v);
                    if let (Some(c), Some(before)) = (cfg, before) {
                        let with = std::mem::take(&mut f.env);
                        f.env = join_envs(vec![
                            (with, Cond::Cfg(c.clone())),
                            (before, Cond::Cfg(format!("not({c})"))),
                        ]);
                    }
                }
                syn::Stmt::Expr(e, semi) => {
                    let cfg = cfg_of(expr_attrs(e));
                    let before = cfg.as_ref().map(|_| f.env.clone());
                    let v = self.eval_expr(f, e);
                    // `cfg.service(..)`, `v.push(..)`: builder calls on a local apply in place.
                    if let syn::Expr::MethodCall(m) = e
                        && let Some(name) = local_receiver(chain_root(&m.receiver))
                        && f.env.contains_key(&name)
                        && is_builder(&v)
                    {
                        f.env.insert(name, v.clone());
                    }
                    if let (Some(c), Some(before)) = (cfg, before) {
                        let with = std::mem::take(&mut f.env);
                        f.env = join_envs(vec![
                            (with, Cond::Cfg(c.clone())),
                            (before, Cond::Cfg(format!("not({c})"))),
                        ]);
                    }
                    if semi.is_none() && is_last {
                        last = v;
                    }
                }
                syn::Stmt::Macro(m) => {
                    let v = self.eval_macro(f, &m.mac);
                    if is_last && m.semi_token.is_none() {
                        last = v;
                    }
                }
                syn::Stmt::Item(_) => {}
            }
        }
        last
    }

    pub fn eval_expr(&mut self, f: &mut Frame, e: &syn::Expr) -> Value {
        match e {
            syn::Expr::Path(p) => match &p.qself {
                // `<routes::Api as Routes>::configure`: the method on the type.
                Some(q) => {
                    let ty = super::frameworks::quote_text(&*q.ty);
                    let last = p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                    let path: syn::Path =
                        syn::parse_str(&format!("{ty}::{last}")).unwrap_or_else(|_| p.path.clone());
                    // Only an exact resolution: a trait method's impl may be generated by a macro.
                    let resolved = self.resolve(f, &path);
                    match resolved.as_deref().and_then(|r| self.ix.find_fn(r)) {
                        Some((_, false)) => self.eval_path(f, &path),
                        _ => {
                            let written = self.text(f, p);
                            Value::Path(written.clone(), written, self.site(f, p.span()))
                        }
                    }
                }
                None => self.eval_path(f, &p.path),
            },
            syn::Expr::Call(c) => self.eval_call(f, c),
            syn::Expr::MethodCall(m) => {
                let recv = self.eval_expr(f, &m.receiver);
                let args: Vec<Value> = m.args.iter().map(|a| self.eval_expr(f, a)).collect();
                let site = self.site(f, m.method.span());
                self.method(f, recv, &m.method.to_string(), args, &m.args, site, &m.turbofish)
            }
            syn::Expr::Macro(m) => self.eval_macro(f, &m.mac),
            syn::Expr::Lit(l) => match &l.lit {
                syn::Lit::Str(s) => Value::Str(s.value()),
                syn::Lit::Bool(b) => Value::Bool(b.value),
                _ => Value::opaque(self.text(f, l), self.site(f, l.span())),
            },
            syn::Expr::Reference(r) => self.eval_expr(f, &r.expr),
            syn::Expr::Paren(p) => self.eval_expr(f, &p.expr),
            syn::Expr::Group(g) => self.eval_expr(f, &g.expr),
            syn::Expr::Try(t) => self.eval_expr(f, &t.expr),
            syn::Expr::Await(a) => self.eval_expr(f, &a.base),
            syn::Expr::Cast(c) => self.eval_expr(f, &c.expr),
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.eval_expr(f, &u.expr),
            syn::Expr::Block(b) => self.eval_block(f, &b.block),
            syn::Expr::Unsafe(b) => self.eval_block(f, &b.block),
            syn::Expr::Async(b) => self.eval_block(f, &b.block),
            syn::Expr::If(i) => self.eval_if(f, i),
            syn::Expr::Match(m) => {
                let _ = self.eval_expr(f, &m.expr);
                let cond_text = format!("match {}", truncate(&self.text(f, &m.expr), 40));
                let before = f.env.clone();
                let mut arms = Vec::new();
                let mut envs = Vec::new();
                for arm in &m.arms {
                    f.env = before.clone();
                    let v = self.eval_expr(f, &arm.body);
                    let c =
                        Cond::Runtime(format!("{cond_text} => {}", truncate(&self.text(f, &arm.pat), 30)));
                    arms.push((v, c.clone()));
                    envs.push((std::mem::take(&mut f.env), c));
                }
                f.env = if envs.is_empty() { before } else { join_envs(envs) };
                join_values(arms)
            }
            syn::Expr::Closure(c) => Value::Closure(Rc::new(c.clone()), Rc::new(f.env.clone())),
            syn::Expr::Assign(a) => {
                let v = self.eval_expr(f, &a.right);
                if let Some(name) = local_receiver(&a.left) {
                    f.env.insert(name, v);
                }
                Value::Unit
            }
            syn::Expr::Return(r) => {
                let v = r.expr.as_ref().map_or(Value::Unit, |e| self.eval_expr(f, e));
                f.returns.push(v);
                Value::Unit
            }
            syn::Expr::Tuple(t) => Value::List(t.elems.iter().map(|e| self.eval_expr(f, e)).collect()),
            syn::Expr::Array(a) => Value::List(a.elems.iter().map(|e| self.eval_expr(f, e)).collect()),
            syn::Expr::Struct(s) => {
                let written = path_text(&s.path);
                let resolved = self.resolve(f, &s.path).unwrap_or_else(|| written.clone());
                Value::Path(written, resolved, self.site(f, s.path.span()))
            }
            syn::Expr::ForLoop(l) => {
                let _ = self.eval_expr(f, &l.expr);
                self.eval_loop(f, &l.body)
            }
            syn::Expr::While(w) => self.eval_loop(f, &w.body),
            syn::Expr::Loop(l) => self.eval_loop(f, &l.body),
            _ => Value::opaque(truncate(&self.text(f, e), 60), self.site(f, e.span())),
        }
    }

    fn eval_loop(&mut self, f: &mut Frame, body: &syn::Block) -> Value {
        let before = f.env.clone();
        f.in_loop += 1;
        let _ = self.eval_block(f, body);
        f.in_loop -= 1;
        let after = std::mem::take(&mut f.env);
        f.env =
            join_envs(vec![(after, Cond::Runtime("loop".into())), (before, Cond::Runtime("loop".into()))]);
        Value::Unit
    }

    fn eval_if(&mut self, f: &mut Frame, i: &syn::ExprIf) -> Value {
        let cond_text = truncate(&self.text(f, &i.cond), 60);
        if let syn::Expr::Let(l) = &*i.cond {
            let _ = self.eval_expr(f, &l.expr);
        }
        let before = f.env.clone();
        let then_v = self.eval_block(f, &i.then_branch);
        let then_env = std::mem::replace(&mut f.env, before.clone());
        let else_v = match &i.else_branch {
            Some((_, e)) => self.eval_expr(f, e),
            None => Value::Unit,
        };
        let else_env = std::mem::take(&mut f.env);
        let c_then = Cond::Runtime(cond_text.clone());
        let c_else = Cond::Runtime(format!("!({cond_text})"));
        f.env = join_envs(vec![(then_env, c_then.clone()), (else_env, c_else.clone())]);
        if matches!(then_v, Value::Unit) && matches!(else_v, Value::Unit) {
            return Value::Unit;
        }
        join_values(vec![(then_v, c_then), (else_v, c_else)])
    }

    pub fn resolve(&self, f: &Frame, path: &syn::Path) -> Option<String> {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.first().is_some_and(|s| s == "Self")
            && let Some(ty) = &f.self_ty
        {
            let mut out = format!("{}::{ty}", f.module);
            for s in &segs[1..] {
                out.push_str("::");
                out.push_str(s);
            }
            return Some(out);
        }
        self.ix.resolve(&f.module, &segs)
    }

    fn eval_path(&mut self, f: &mut Frame, path: &syn::Path) -> Value {
        let site = self.site(f, path.span());
        if let Some(id) = path.get_ident()
            && let Some(v) = f.env.get(&id.to_string())
        {
            return v.clone();
        }
        let written = path_text(path);
        let resolved = self.resolve(f, path);
        if let Some(r) = &resolved {
            if let Some(e) = self.ix.consts.get(r).cloned() {
                return match self.eval_expr(f, &e) {
                    v @ (Value::Str(_) | Value::List(_) | Value::Bool(_)) => v,
                    _ => Value::opaque(written, site),
                };
            }
            if let Some((id, heuristic)) = self.find_fn(f, r) {
                let mut h = handler_of(self.ix, id);
                if heuristic {
                    h.name = self.ix.fns[id].name.clone();
                }
                return Value::Handler(h);
            }
        }
        Value::Path(written.clone(), resolved.unwrap_or(written), site)
    }

    /// The workspace fn `resolved` names; `Self::f`/methods by the frame's impl type.
    pub fn find_fn(&self, f: &Frame, resolved: &str) -> Option<(usize, bool)> {
        if let Some(hit) = self.ix.find_fn(resolved) {
            return Some(hit);
        }
        // A bare name inside an impl: one of its own associated fns.
        if resolved.contains("::") {
            return None;
        }
        let last = resolved;
        let ty = f.self_ty.as_ref()?;
        self.ix.fn_by_qual.get(&format!("{}::{ty}::{last}", f.module)).map(|&id| (id, false))
    }

    fn eval_call(&mut self, f: &mut Frame, c: &syn::ExprCall) -> Value {
        let site = self.site(f, c.func.span());
        let syn::Expr::Path(p) = &*c.func else {
            let callee = self.eval_expr(f, &c.func);
            let args: Vec<Value> = c.args.iter().map(|a| self.eval_expr(f, a)).collect();
            return self.apply(f, callee, args, site);
        };
        let segs: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
        let last = segs.last().cloned().unwrap_or_default();
        // Transparent wrappers.
        let owner = if segs.len() >= 2 { segs[segs.len() - 2].as_str() } else { "" };
        if matches!(last.as_str(), "Some" | "Ok")
            || (last == "new" && matches!(owner, "Box" | "Arc" | "Rc" | "Mutex"))
            || (last == "from" && matches!(owner, "Router" | "String"))
            || (last == "enable" && owner == "tonic_web")
            || matches!(
                last.as_str(),
                "into_make_service" | "into_make_service_with_connect_info" | "into_service"
            )
        {
            return c.args.first().map_or(Value::Unit, |a| self.eval_expr(f, a));
        }
        if let Some(id) = p.path.get_ident()
            && let Some(v) = f.env.get(&id.to_string()).cloned()
        {
            let args: Vec<Value> = c.args.iter().map(|a| self.eval_expr(f, a)).collect();
            return self.apply(f, v, args, site);
        }
        let written = path_text(&p.path);
        let resolved = self.resolve(f, &p.path).unwrap_or_else(|| written.clone());
        let args: Vec<Value> = c.args.iter().map(|a| self.eval_expr(f, a)).collect();
        let turbofish = p.path.segments.last().map(|s| &s.arguments);
        // Conditional wrappers are classified from their inner middleware, even when the
        // workspace defines them (`ConditionEx::from_option(x)`).
        if owner.contains("Condition")
            && let Some(v) =
                self.builtin_call(f, &written, &resolved, args.clone(), &c.args, site.clone(), turbofish)
        {
            return v;
        }
        if let Some((id, _)) = self.find_fn(f, &resolved) {
            let self_value =
                if self.ix.fns[id].sig.receiver().is_some() { args.first().cloned() } else { None };
            let args = if self_value.is_some() { args[1..].to_vec() } else { args };
            let v = self.call_fn(id, args, self_value);
            // `helper(cfg)` with `cfg: &mut ServiceConfig`: what it registered stays in `cfg`.
            for (i, out) in std::mem::take(&mut self.mut_out) {
                if let Some(name) = c.args.get(i).and_then(local_receiver) {
                    f.env.insert(name, out);
                }
            }
            // A result the interpreter cannot model (a struct, an unknown value) keeps the
            // name of the fn that made it, so a middleware constructor is classified by name.
            return match v {
                Value::Path(..) | Value::Opaque(..) | Value::Unit => {
                    Value::Path(written, self.ix.fns[id].qual.clone(), site)
                }
                other => other,
            };
        }
        if let Some(v) =
            self.builtin_call(f, &written, &resolved, args.clone(), &c.args, site.clone(), turbofish)
        {
            return v;
        }
        if matches!(owner, "Vec" | "VecDeque") && matches!(last.as_str(), "new" | "with_capacity" | "default")
        {
            return Value::List(Vec::new());
        }
        if let Some(r) = single_router(&args) {
            // An unknown wrapper of one router (`map_config(app, f)`): the router goes through.
            return r;
        }
        Value::Path(written, resolved, site)
    }

    /// Apply a callee value (a closure, a fn handle) to arguments.
    pub fn apply(&mut self, f: &mut Frame, callee: Value, args: Vec<Value>, site: Site) -> Value {
        match callee {
            Value::Handler(Handler { fn_id: Some(id), .. }) => self.call_fn(id, args, None),
            Value::Closure(c, env) => self.call_closure(f, &c, &env, args),
            _ => Value::opaque("call of an unknown value", site),
        }
    }

    pub fn call_closure(
        &mut self,
        f: &Frame,
        c: &syn::ExprClosure,
        env: &HashMap<String, Value>,
        args: Vec<Value>,
    ) -> Value {
        let mut frame = Frame {
            module: f.module.clone(),
            file: f.file,
            self_ty: f.self_ty.clone(),
            env: env.clone(),
            returns: Vec::new(),
            in_loop: 0,
        };
        let mut args = args.into_iter();
        for input in &c.inputs {
            let v = args.next().unwrap_or(Value::Unit);
            let v = match (input, &v) {
                (syn::Pat::Type(t), Value::Unit) => {
                    self.param_default(&frame, &t.ty, Value::opaque("closure parameter", Site::default()))
                }
                _ => v,
            };
            self.bind_pat(&mut frame, input, v);
        }
        let v = self.eval_expr(&mut frame, &c.body);
        // A closure's parameter types are rarely written: every named parameter's final value
        // is offered back (`configure(|cfg| ..)` reads what was registered in `cfg`).
        self.mut_out = c
            .inputs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| pat_ident(p).and_then(|n| frame.env.get(&n)).map(|v| (i, v.clone())))
            .collect();
        v
    }

    pub fn eval_macro(&mut self, f: &mut Frame, mac: &syn::Macro) -> Value {
        let site = self.site(f, mac.path.span());
        let name = mac.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        let written = format!("{}!", path_text(&mac.path));
        type Exprs = syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>;
        let exprs = || mac.parse_body_with(Exprs::parse_terminated).ok();
        match name.as_str() {
            "vec" => match exprs() {
                Some(es) => Value::List(es.iter().map(|e| self.eval_expr(f, e)).collect()),
                None => Value::List(Vec::new()),
            },
            "format" | "concat" => {
                let Some(es) = exprs() else { return Value::opaque(written, site) };
                let vals: Vec<Value> = es.iter().map(|e| self.eval_expr(f, e)).collect();
                let mut out = String::new();
                if name == "concat" {
                    for v in vals {
                        out.push_str(&self.string_of(&v, ""));
                    }
                } else {
                    let Some(Value::Str(fmt)) = vals.first() else { return Value::opaque(written, site) };
                    let mut rest = vals[1..].iter();
                    let mut chars = fmt.chars().peekable();
                    while let Some(ch) = chars.next() {
                        if ch == '{' && chars.peek() == Some(&'{') {
                            chars.next();
                            out.push('{');
                        } else if ch == '{' {
                            let mut inner = String::new();
                            for c2 in chars.by_ref() {
                                if c2 == '}' {
                                    break;
                                }
                                inner.push(c2);
                            }
                            let v = if inner.is_empty() || inner.starts_with(':') {
                                rest.next().cloned()
                            } else {
                                f.env.get(inner.split(':').next().unwrap_or("")).cloned()
                            };
                            out.push_str(
                                &v.map_or_else(|| format!("{{dyn:{inner}}}"), |v| self.string_of(&v, &inner)),
                            );
                        } else if ch == '}' && chars.peek() == Some(&'}') {
                            chars.next();
                            out.push('}');
                        } else {
                            out.push(ch);
                        }
                    }
                }
                Value::Str(out)
            }
            "routes" => {
                type Paths = syn::punctuated::Punctuated<syn::Path, syn::Token![,]>;
                match mac.parse_body_with(Paths::parse_terminated) {
                    Ok(ps) => Value::List(ps.iter().map(|p| self.eval_path(f, p)).collect()),
                    Err(_) => Value::opaque(written, site),
                }
            }
            "path" => self.warp_path_macro(mac, site),
            "login_required" | "permission_required" | "predicate_required" => {
                let resolved = self
                    .ix
                    .resolve(&f.module, std::slice::from_ref(&name))
                    .map_or(written.clone(), |r| format!("{r}!"));
                Value::Path(written, resolved, site)
            }
            _ => Value::Path(written.clone(), written, site),
        }
    }

    /// A value as path text: strings as they are, anything else `{dyn:..}`.
    pub fn string_of(&self, v: &Value, what: &str) -> String {
        match v {
            Value::Str(s) => s.clone(),
            Value::List(items) if items.iter().all(|i| matches!(i, Value::Str(_))) => {
                items.iter().map(|i| self.string_of(i, what)).collect()
            }
            Value::Path(w, ..) => format!("{{dyn:{}}}", truncate(w, 40)),
            Value::Opaque(r, _) => format!("{{dyn:{}}}", truncate(r, 40)),
            _ => format!("{{dyn:{}}}", truncate(what, 40)),
        }
    }
}

/// The one router among `args`, when there is exactly one.
pub fn single_router(args: &[Value]) -> Option<Value> {
    let mut routers =
        args.iter().filter(|a| matches!(a, Value::Routes(_) | Value::Filter(_) | Value::Grpc(..)));
    let first = routers.next()?;
    routers.next().is_none().then(|| first.clone())
}

/// A middleware candidate list from a path: `a::Foo::bearer` -> [`a::Foo::bearer`, `a::Foo`].
pub fn candidates(resolved: &str) -> Vec<String> {
    let mut out = vec![resolved.to_string()];
    if let Some((owner, last)) = resolved.rsplit_once("::")
        && last.chars().next().is_some_and(|c| c.is_lowercase())
        && owner.rsplit("::").next().is_some_and(|o| o.chars().next().is_some_and(char::is_uppercase))
    {
        out.push(owner.to_string());
    }
    out
}

pub fn handler_of(ix: &Index, id: usize) -> Handler {
    let def = &ix.fns[id];
    let name = match &def.self_ty {
        Some(t) => format!("{t}::{}", def.name),
        None => def.name.clone(),
    };
    Handler { fn_id: Some(id), name, evidence: Vec::new() }
}

pub fn path_text(p: &syn::Path) -> String {
    let mut s = String::new();
    if p.leading_colon.is_some() {
        s.push_str("::");
    }
    for (i, seg) in p.segments.iter().enumerate() {
        if i > 0 {
            s.push_str("::");
        }
        s.push_str(&seg.ident.to_string());
    }
    s
}

pub fn truncate(s: &str, n: usize) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= n { s } else { format!("{}…", s.chars().take(n).collect::<String>()) }
}

/// The text of `span` in `text` (lines and columns from proc-macro2).
pub fn src_text(file: &super::index::FileInfo, span: proc_macro2::Span) -> String {
    let text = file.text.as_str();
    let (s, e) = (span.start(), span.end());
    let offset = |line: usize, col: usize| -> Option<usize> {
        let start = *file.line_starts.get(line.checked_sub(1)?)?;
        let l = &text[start..];
        Some(start + l.char_indices().nth(col).map_or(l.len(), |(b, _)| b))
    };
    match (offset(s.line, s.column), offset(e.line, e.column)) {
        (Some(a), Some(b)) if a <= b && b <= text.len() => text[a..b].to_string(),
        _ => String::new(),
    }
}

/// `#[cfg(p)]` on a statement: `p` as text.
fn cfg_of(attrs: &[syn::Attribute]) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.path().is_ident("cfg"))
        .and_then(|a| a.meta.require_list().ok())
        .map(|l| l.tokens.to_string())
}

fn expr_attrs(e: &syn::Expr) -> &[syn::Attribute] {
    match e {
        syn::Expr::MethodCall(m) => &m.attrs,
        syn::Expr::Call(c) => &c.attrs,
        syn::Expr::Assign(a) => &a.attrs,
        syn::Expr::If(i) => &i.attrs,
        syn::Expr::Block(b) => &b.attrs,
        _ => &[],
    }
}

/// The name a parameter pattern binds (`cfg`, `cfg: &mut ServiceConfig`, `&cfg`).
pub fn pat_ident(p: &syn::Pat) -> Option<String> {
    match p {
        syn::Pat::Ident(i) => Some(i.ident.to_string()),
        syn::Pat::Type(t) => pat_ident(&t.pat),
        syn::Pat::Reference(r) => pat_ident(&r.pat),
        _ => None,
    }
}

/// The receiver a method-call chain starts from (`cfg` in `cfg.service(a).service(b)`).
fn chain_root(mut e: &syn::Expr) -> &syn::Expr {
    while let syn::Expr::MethodCall(m) = e {
        e = &m.receiver;
    }
    e
}

/// `x` in `x.m(..)` / `x = ..` when `x` is a plain local name.
fn local_receiver(e: &syn::Expr) -> Option<String> {
    match e {
        syn::Expr::Path(p) => p.path.get_ident().map(|i| i.to_string()),
        syn::Expr::Paren(p) => local_receiver(&p.expr),
        syn::Expr::Unary(u) => local_receiver(&u.expr),
        _ => None,
    }
}

fn is_builder(v: &Value) -> bool {
    matches!(v, Value::Routes(_) | Value::Methods(_) | Value::Filter(_) | Value::Grpc(..) | Value::List(_))
}

/// Join the values of alternative branches (spec §3.4): route sets are unioned; evidence
/// present in every branch keeps its condition, evidence present in only some becomes
/// conditional on the branch that has it.
pub fn join_values(arms: Vec<(Value, Cond)>) -> Value {
    let mut arms: Vec<(Value, Cond)> = arms.into_iter().filter(|(v, _)| !matches!(v, Value::Unit)).collect();
    if arms.len() <= 1 {
        return arms.pop().map_or(Value::Unit, |(v, _)| v);
    }
    match &arms[0].0 {
        Value::Routes(_) if arms.iter().all(|(v, _)| matches!(v, Value::Routes(_))) => {
            let sets: Vec<(RouteSet, Cond)> = arms
                .into_iter()
                .map(|(v, c)| match v {
                    Value::Routes(r) => (r, c),
                    _ => unreachable!("checked above"),
                })
                .collect();
            Value::Routes(join_route_sets(sets))
        }
        Value::Mw(_) => {
            let all: Vec<(Vec<Mw>, Cond)> = arms
                .into_iter()
                .map(|(v, c)| (if let Value::Mw(m) = v { m } else { Vec::new() }, c))
                .collect();
            let lists: Vec<(&[Mw], &Cond)> = all.iter().map(|(m, c)| (m.as_slice(), c)).collect();
            Value::Mw(join_mws(&lists, |a, b| a.name == b.name, same_place))
        }
        Value::List(_) => {
            let mut out = Vec::new();
            for (v, _) in arms {
                if let Value::List(items) = v {
                    out.extend(items);
                }
            }
            Value::List(out)
        }
        _ => arms.swap_remove(0).0,
    }
}

fn join_route_sets(sets: Vec<(RouteSet, Cond)>) -> RouteSet {
    let mut base = sets[0].0.clone();
    base.entries.clear();
    let applied: Vec<(&[Mw], &Cond)> = sets.iter().map(|(s, c)| (s.applied_auth.as_slice(), c)).collect();
    let wraps: Vec<(&[Mw], &Cond)> = sets.iter().map(|(s, c)| (s.wraps.as_slice(), c)).collect();
    base.applied_auth = join_mws(&applied, |a, b| a == b, |a, b| a == b);
    base.wraps = join_mws(&wraps, |a, b| a == b, |a, b| a == b);
    // Entries: union by key; evidence in only some of the arms holding the entry becomes
    // conditional.
    let mut keys: Vec<(Fw, String, String, String, bool)> = Vec::new();
    for (s, _) in &sets {
        for e in &s.entries {
            let k = e.key();
            let k = (k.0, k.1.to_string(), k.2.to_string(), k.3.to_string(), k.4);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    for k in keys {
        let holders: Vec<(&Entry, &Cond)> = sets
            .iter()
            .filter_map(|(s, c)| {
                s.entries
                    .iter()
                    .find(|e| {
                        let ek = e.key();
                        ek.0 == k.0 && ek.1 == k.1 && ek.2 == k.2 && ek.3 == k.3 && ek.4 == k.4
                    })
                    .map(|e| (e, c))
            })
            .collect();
        let mut entry = holders[0].0.clone();
        let evidence: Vec<(&[Mw], &Cond)> =
            holders.iter().map(|(e, c)| (e.evidence.as_slice(), *c)).collect();
        entry.evidence = join_mws(&evidence, same_place, same_place);
        for (e, _) in &holders {
            for m in &e.missed {
                if !entry.missed.contains(m) {
                    entry.missed.push(m.clone());
                }
            }
            entry.pitfalls.extend(e.pitfalls.iter().copied());
        }
        base.entries.push(entry);
    }
    base
}

/// Whether two pieces of evidence are the same middleware at the same place.
fn same_place(a: &Mw, b: &Mw) -> bool {
    a.name == b.name && a.site == b.site
}

/// Join the middleware lists of alternative branches: one that every branch has (by
/// `everywhere`) keeps its condition, one only some have becomes conditional on the branch
/// that has it; duplicates (by `same`) are kept once.
fn join_mws(
    lists: &[(&[Mw], &Cond)],
    everywhere: impl Fn(&Mw, &Mw) -> bool,
    same: impl Fn(&Mw, &Mw) -> bool,
) -> Vec<Mw> {
    let mut out: Vec<Mw> = Vec::new();
    for (mws, c) in lists {
        for m in *mws {
            let in_all = lists.iter().all(|(o, _)| o.iter().any(|x| everywhere(x, m)));
            let mut m = m.clone();
            if !in_all && m.cond.is_always() {
                m.cond = (*c).clone();
            }
            if !out.iter().any(|x| same(x, &m)) {
                out.push(m);
            }
        }
    }
    out
}

/// Join environments of alternative branches, variable by variable.
pub fn join_envs(envs: Vec<(HashMap<String, Value>, Cond)>) -> HashMap<String, Value> {
    let mut names: Vec<String> = envs.iter().flat_map(|(e, _)| e.keys().cloned()).collect();
    names.sort();
    names.dedup();
    let mut out = HashMap::new();
    for name in names {
        let arms: Vec<(Value, Cond)> =
            envs.iter().filter_map(|(e, c)| e.get(&name).map(|v| (v.clone(), c.clone()))).collect();
        out.insert(name, join_values(arms));
    }
    out
}
