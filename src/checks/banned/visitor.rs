//! The `banned` visitor: one walk per file, owning its resolver, the per-function context
//! (shell commands seen, `-c` arguments, variables built with `format!`) and its findings.

use super::matcher::{ArgCond, ArgIs, Entry, Index, Kind, When};
use crate::checks::source::FileCtx;
use crate::checks::source::resolve::Resolver;
use crate::diag::Finding;
use std::collections::{HashMap, HashSet};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Token};

pub fn run(ctx: &FileCtx<'_>, index: &Index, file: &syn::File, out: &mut Vec<Finding>) {
    if index.is_empty() {
        return;
    }
    let mut v = Visitor {
        ctx,
        index,
        res: Resolver::new(ctx.index, ctx.module.clone()),
        format_vars: vec![HashSet::new()],
        fns: vec![FnCtx::default()],
        fn_names: Vec::new(),
        nonnull_let_call: None,
        counters: HashMap::new(),
        out,
    };
    v.res.push_items(file.items.iter());
    for item in &file.items {
        v.visit_item(item);
    }
    v.res.pop();
    v.flush_fn();
}

/// A `Command::new(<shell>)` waiting for the end of its function to know its arguments.
struct PendingShell {
    entry: Entry,
    span: proc_macro2::Span,
    shown: String,
}

#[derive(Default)]
struct FnCtx {
    shells: Vec<PendingShell>,
    dash_c: bool,
    non_literal_arg: bool,
}

struct Visitor<'a, 'o> {
    ctx: &'a FileCtx<'a>,
    index: &'a Index,
    res: Resolver<'a>,
    format_vars: Vec<HashSet<String>>,
    fns: Vec<FnCtx>,
    fn_names: Vec<String>,
    /// Start (line, column) of a call whose `let` is annotated with a non-nullable type.
    nonnull_let_call: Option<(usize, usize)>,
    counters: HashMap<String, usize>,
    out: &'o mut Vec<Finding>,
}

fn start(span: proc_macro2::Span) -> (usize, usize) {
    let s = span.start();
    (s.line, s.column)
}

/// Strip what does not change a value's origin: `&`, `*`, parens, and conversions.
fn peel(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Reference(r) => &r.expr,
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &u.expr,
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(
                        m.method.to_string().as_str(),
                        "as_str"
                            | "as_ref"
                            | "as_bytes"
                            | "to_string"
                            | "to_owned"
                            | "into"
                            | "to_vec"
                            | "clone"
                    ) =>
            {
                &m.receiver
            }
            _ => return e,
        }
    }
}

fn str_lit(e: &Expr) -> Option<String> {
    match peel(e) {
        Expr::Lit(l) => match &l.lit {
            syn::Lit::Str(s) => Some(s.value()),
            _ => None,
        },
        _ => None,
    }
}

fn is_literal(e: &Expr) -> bool {
    matches!(peel(e), Expr::Lit(l) if matches!(l.lit, syn::Lit::Str(_) | syn::Lit::ByteStr(_) | syn::Lit::CStr(_)))
}

fn is_format_macro(e: &Expr) -> bool {
    matches!(peel(e), Expr::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "format"))
}

fn is_nonnullable(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(_) | syn::Type::BareFn(_) => true,
        syn::Type::Paren(p) => is_nonnullable(&p.elem),
        syn::Type::Path(p) => p.path.segments.last().is_some_and(|s| {
            let n = s.ident.to_string();
            matches!(n.as_str(), "Box" | "NonNull" | "Arc" | "Rc" | "Vec" | "String")
                || n.starts_with("NonZero")
        }),
        _ => false,
    }
}

/// The call a `let` initialiser evaluates to, through `unsafe { .. }` and blocks.
fn tail_call(e: &Expr) -> Option<&syn::ExprCall> {
    match e {
        Expr::Call(c) => Some(c),
        Expr::Unsafe(u) => u.block.stmts.last().and_then(|s| match s {
            syn::Stmt::Expr(e, None) => tail_call(e),
            _ => None,
        }),
        Expr::Block(b) => b.block.stmts.last().and_then(|s| match s {
            syn::Stmt::Expr(e, None) => tail_call(e),
            _ => None,
        }),
        Expr::Paren(p) => tail_call(&p.expr),
        _ => None,
    }
}

/// Whether a verifier's body returns `Ok(..::assertion())` with no branch, early return or `?`.
fn accepts_all(block: &syn::Block) -> bool {
    struct Branches(bool);
    impl<'ast> Visit<'ast> for Branches {
        fn visit_expr(&mut self, e: &'ast Expr) {
            if matches!(e, Expr::If(_) | Expr::Match(_) | Expr::Try(_) | Expr::Return(_) | Expr::Let(_)) {
                self.0 = true;
            }
            visit::visit_expr(self, e);
        }
    }
    let Some(syn::Stmt::Expr(Expr::Call(call), None)) = block.stmts.last() else { return false };
    let is_ok =
        matches!(&*call.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Ok"));
    let asserts = call.args.first().is_some_and(|a| {
        matches!(a, Expr::Call(c) if matches!(&*c.func, Expr::Path(p)
            if p.path.segments.last().is_some_and(|s| s.ident == "assertion")))
    });
    let mut b = Branches(false);
    b.visit_block(block);
    is_ok && asserts && !b.0
}

fn words(path: &syn::Path) -> String {
    path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::")
}

impl Visitor<'_, '_> {
    fn is_format_built(&self, e: &Expr) -> bool {
        if is_format_macro(e) {
            return true;
        }
        match peel(e) {
            Expr::Path(p) if p.path.segments.len() == 1 && p.qself.is_none() => {
                let name = p.path.segments[0].ident.to_string();
                self.format_vars.iter().rev().any(|s| s.contains(&name))
            }
            _ => false,
        }
    }

    fn cond_holds(&self, c: &ArgCond, args: &[&Expr]) -> bool {
        let Some(arg) = args.get(c.index) else { return false };
        let is_ok = match c.is {
            None => true,
            Some(ArgIs::True) => {
                matches!(peel(arg), Expr::Lit(l) if matches!(&l.lit, syn::Lit::Bool(b) if b.value))
            }
            Some(ArgIs::False) => {
                matches!(peel(arg), Expr::Lit(l) if matches!(&l.lit, syn::Lit::Bool(b) if !b.value))
            }
            Some(ArgIs::Literal) => is_literal(arg),
            Some(ArgIs::Format) => self.is_format_built(arg),
        };
        let one_of_ok = c.one_of.is_empty() || str_lit(arg).is_some_and(|s| c.one_of.contains(&s));
        is_ok && one_of_ok
    }

    fn conds_hold(&self, entry: &Entry, args: &[&Expr]) -> bool {
        entry.matcher.args.iter().all(|c| self.cond_holds(c, args))
    }

    fn report(&mut self, entry: &Entry, span: proc_macro2::Span, shown: &str) {
        let rule = entry.rule;
        let message = match &entry.matcher.message {
            Some(m) => m.replace("{name}", shown),
            None => format!("{}: `{shown}`", rule.name),
        };
        let scope = self.fn_names.join("::");
        let base = format!("{scope}:{shown}");
        let n = self.counters.entry(format!("{}|{base}", rule.id)).or_insert(0);
        *n += 1;
        let key = format!("{base}#{n}");
        self.out.push(
            Finding::new(rule.id.clone(), rule.severity, message, self.ctx.location(span))
                .with_key(key)
                .with_help(first_line(&rule.instead)),
        );
    }

    /// A path used as a value or called (`args` given for a call).
    fn check_path(&mut self, path: &syn::Path, args: Option<&[&Expr]>, span: proc_macro2::Span) {
        let written = words(path);
        for cand in self.res.resolve(path) {
            let entries: Vec<Entry> = self.index.get(Kind::Path, &cand).to_vec();
            if entries.is_empty() {
                continue;
            }
            let shown =
                if written == cand { cand.clone() } else { format!("{written}` resolved to `{cand}") };
            for entry in entries {
                let ok = match args {
                    Some(a) => self.conds_hold(&entry, a),
                    None => entry.matcher.args.is_empty(),
                };
                if !ok {
                    continue;
                }
                match entry.matcher.when {
                    Some(When::ShellWithLiteralScript | When::ShellWithBuiltScript) => {
                        if let Some(f) = self.fns.last_mut() {
                            f.shells.push(PendingShell { entry, span, shown: shown.clone() });
                        }
                    }
                    Some(When::TypeIsNonNullable) => {
                        let turbofish = path.segments.last().is_some_and(|s| match &s.arguments {
                            syn::PathArguments::AngleBracketed(a) => a
                                .args
                                .iter()
                                .any(|g| matches!(g, syn::GenericArgument::Type(t) if is_nonnullable(t))),
                            _ => false,
                        });
                        if turbofish || self.nonnull_let_call == Some(start(span)) {
                            self.report(&entry, span, &shown);
                        }
                    }
                    Some(When::VerifierAcceptsAll) => {}
                    None => self.report(&entry, span, &shown),
                }
            }
            return;
        }
    }

    fn flush_fn(&mut self) {
        let Some(f) = self.fns.pop() else { return };
        if !f.dash_c {
            return;
        }
        let want = if f.non_literal_arg { When::ShellWithBuiltScript } else { When::ShellWithLiteralScript };
        for p in f.shells {
            if p.entry.matcher.when == Some(want) {
                self.report(&p.entry, p.span, &p.shown);
            }
        }
    }

    fn in_fn(&mut self, name: String, body: impl FnOnce(&mut Self)) {
        self.fns.push(FnCtx::default());
        self.fn_names.push(name);
        body(self);
        self.flush_fn();
        self.fn_names.pop();
    }

    /// `.arg(x)` / `.args([..])`: remember `-c` and non-literal arguments for shell rules.
    fn note_command_arg(&mut self, method: &str, args: &Punctuated<Expr, Token![,]>) {
        let mut items: Vec<&Expr> = Vec::new();
        match (method, args.first()) {
            ("arg", Some(a)) => items.push(a),
            ("args", Some(a)) => match peel(a) {
                Expr::Array(arr) => items.extend(arr.elems.iter()),
                Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                    if let Ok(p) = m.mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
                        let Some(f) = self.fns.last_mut() else { return };
                        for e in &p {
                            match str_lit(e) {
                                Some(s) if is_dash_c(&s) => f.dash_c = true,
                                Some(_) => {}
                                None => f.non_literal_arg = true,
                            }
                        }
                    }
                    return;
                }
                _ => {
                    if let Some(f) = self.fns.last_mut() {
                        f.non_literal_arg = true;
                    }
                    return;
                }
            },
            _ => return,
        }
        let Some(f) = self.fns.last_mut() else { return };
        for e in items {
            match str_lit(e) {
                Some(s) if is_dash_c(&s) => f.dash_c = true,
                Some(_) => {}
                None => f.non_literal_arg = true,
            }
        }
    }

    fn check_field(&mut self, member: &syn::Member, value: &Expr, span: proc_macro2::Span) {
        let syn::Member::Named(name) = member else { return };
        let name = name.to_string();
        let entries: Vec<Entry> = self.index.get(Kind::Field, &name).to_vec();
        for entry in entries {
            if self.conds_hold(&entry, &[value]) {
                self.report(&entry, span, &name);
            }
        }
    }
}

fn is_dash_c(s: &str) -> bool {
    super::matcher::DASH_C.contains(&s)
}

fn first_line(s: &str) -> String {
    let line = s.trim().lines().next().unwrap_or("").trim();
    line.trim_end_matches('.').to_string()
}

impl<'ast> Visit<'ast> for Visitor<'_, '_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        match &m.content {
            Some((_, items)) => {
                self.res.enter_mod(&m.ident.to_string(), items);
                self.fn_names.push(m.ident.to_string());
                visit::visit_item_mod(self, m);
                self.fn_names.pop();
                self.res.exit_mod();
            }
            None => visit::visit_item_mod(self, m),
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.in_fn(f.sig.ident.to_string(), |v| visit::visit_item_fn(v, f));
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.in_fn(f.sig.ident.to_string(), |v| visit::visit_impl_item_fn(v, f));
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        self.in_fn(f.sig.ident.to_string(), |v| visit::visit_trait_item_fn(v, f));
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        let items: Vec<&syn::Item> =
            b.stmts.iter().filter_map(|s| if let syn::Stmt::Item(i) = s { Some(i) } else { None }).collect();
        self.res.push_items(items.into_iter());
        self.format_vars.push(HashSet::new());
        visit::visit_block(self, b);
        self.format_vars.pop();
        self.res.pop();
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        let (pat, ty) = match &l.pat {
            syn::Pat::Type(t) => (&*t.pat, Some(&*t.ty)),
            p => (p, None),
        };
        let name = match pat {
            syn::Pat::Ident(i) => Some(i.ident.to_string()),
            _ => None,
        };
        if let (Some(name), Some(init)) = (&name, &l.init) {
            // `let f = std::mem::transmute;`: an alias, reported where it is called.
            // A constant or variant (`let m = SslVerifyMode::NONE;`) is reported where it is.
            if let Expr::Path(p) = &*init.expr
                && p.qself.is_none()
                && init.diverge.is_none()
                && p.path
                    .segments
                    .last()
                    .is_some_and(|s| !s.ident.to_string().starts_with(char::is_uppercase))
            {
                let targets = self.res.resolve(&p.path);
                if targets.iter().any(|t| !self.index.get(Kind::Path, t).is_empty()) {
                    self.res.bind_local(name, targets);
                    return;
                }
            }
            if self.is_format_built(&init.expr) {
                if let Some(s) = self.format_vars.last_mut() {
                    s.insert(name.clone());
                }
            } else if let Some(s) = self.format_vars.last_mut() {
                s.remove(name);
            }
        }
        if let (Some(ty), Some(init)) = (ty, &l.init)
            && is_nonnullable(ty)
            && let Some(call) = tail_call(&init.expr)
        {
            self.nonnull_let_call = Some(start(call.func.span()));
        }
        visit::visit_local(self, l);
        self.nonnull_let_call = None;
        if let Some(name) = name {
            let is_format = self.format_vars.last().is_some_and(|s| s.contains(&name));
            if !is_format {
                self.res.shadow_local(&name);
            }
        }
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Expr::Path(p) = &*c.func
            && p.qself.is_none()
        {
            let args: Vec<&Expr> = c.args.iter().collect();
            self.check_path(&p.path, Some(&args), p.path.span());
            for a in &c.args {
                self.visit_expr(a);
            }
            return;
        }
        visit::visit_expr_call(self, c);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        if p.qself.is_none() {
            self.check_path(&p.path, None, p.path.span());
        }
        visit::visit_expr_path(self, p);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let name = m.method.to_string();
        if name == "arg" || name == "args" {
            self.note_command_arg(&name, &m.args);
        }
        let entries: Vec<Entry> = self.index.get(Kind::Method, &name).to_vec();
        if !entries.is_empty() {
            let args: Vec<&Expr> = m.args.iter().collect();
            for entry in entries {
                if self.conds_hold(&entry, &args) {
                    self.report(&entry, m.method.span(), &format!(".{name}()"));
                }
            }
        }
        visit::visit_expr_method_call(self, m);
    }

    fn visit_expr_assign(&mut self, a: &'ast syn::ExprAssign) {
        if let Expr::Field(f) = &*a.left {
            self.check_field(&f.member, &a.right, f.member.span());
        }
        visit::visit_expr_assign(self, a);
    }

    fn visit_field_value(&mut self, fv: &'ast syn::FieldValue) {
        self.check_field(&fv.member, &fv.expr, fv.member.span());
        visit::visit_field_value(self, fv);
    }

    fn visit_type_path(&mut self, t: &'ast syn::TypePath) {
        if t.qself.is_none() && self.index.has_kind(Kind::Type) {
            let written = words(&t.path);
            for cand in self.res.resolve(&t.path) {
                let entries: Vec<Entry> = self.index.get(Kind::Type, &cand).to_vec();
                let shown =
                    if written == cand { cand.clone() } else { format!("{written}` resolved to `{cand}") };
                for entry in &entries {
                    self.report(entry, t.path.span(), &shown);
                }
                if !entries.is_empty() {
                    break;
                }
            }
        }
        visit::visit_type_path(self, t);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if let Some((_, trait_path, _)) = &i.trait_
            && let Some(last) = trait_path.segments.last()
        {
            let entries: Vec<Entry> = self.index.get(Kind::Impl, &last.ident.to_string()).to_vec();
            for entry in entries {
                if entry.matcher.when == Some(When::VerifierAcceptsAll) {
                    for item in &i.items {
                        if let syn::ImplItem::Fn(f) = item
                            && f.sig.ident.to_string().starts_with("verify_")
                            && accepts_all(&f.block)
                        {
                            let shown = format!("{}::{}", last.ident, f.sig.ident);
                            self.report(&entry, f.sig.ident.span(), &shown);
                        }
                    }
                } else {
                    self.report(&entry, trait_path.span(), &words(trait_path));
                }
            }
        }
        visit::visit_item_impl(self, i);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if m.path.is_ident("macro_rules") {
            return;
        }
        if self.index.has_kind(Kind::Macro) {
            for cand in self.res.resolve_macro(&m.path) {
                let entries: Vec<Entry> = self.index.get(Kind::Macro, &cand).to_vec();
                for entry in &entries {
                    self.report(entry, m.path.span(), &format!("{cand}!"));
                }
                if !entries.is_empty() {
                    break;
                }
            }
        }
        // Function-like macros (`format!`, `vec!`, `assert!`, ...) take expressions: look inside.
        if let Ok(args) = m.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            for e in &args {
                self.visit_expr(e);
            }
        }
        visit::visit_macro(self, m);
    }
}
