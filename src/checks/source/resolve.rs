//! Name resolution without compiling: turns a path as written (`tm`, `mem::transmute`,
//! `Command::new`, `util::tm`) into the full paths it can denote (`std::mem::transmute`, ...).
//!
//! Per file, a stack of scopes holds the `use` trees (renames, groups, globs, `self`), the names
//! of items defined locally (which shadow globs and make `transmute` of a local `fn transmute`
//! resolve to `crate::..::transmute`, not to std), and `let f = path;` aliases inside blocks.
//! `core::` and `alloc::` are folded into `std::`, and a few prelude names (`Box`, `String`,
//! `Vec`, ...) resolve to their std paths.
//!
//! **Re-exports inside a crate** (`pub use std::mem::transmute as tm;` in `util.rs`, then
//! `use crate::util::tm;` elsewhere) need every file of the crate. Rather than parsing each
//! file twice or keeping every tree alive, a cheap pre-pass ([`CrateIndex::add_file`]) reads
//! each file's text, picks the column-0 `use` statements (rustfmt puts module-level imports
//! there), parses just those statements with syn, and records `crate::<module>::<name>` ->
//! target for each. Only that map is kept, so memory stays proportional to the number of
//! imports, not to the size of the code; the second read of the file by the main pass is
//! served by the OS page cache. The pre-pass cannot see imports inside inline `mod x { .. }`
//! blocks or function bodies (the main pass still sees them for the file they are in).
//!
//! What cannot be resolved without type information: methods (`x.read()` on a raw pointer)
//! are matched by name only; macros are not expanded; paths produced by macros, `extern crate
//! x as y` renames and re-exports from *other* crates are not followed.

use std::collections::HashMap;

/// `core::x` and `alloc::x` are the same items as `std::x`.
pub fn canonical_std(path: &str) -> String {
    for p in ["core::", "alloc::", "::core::", "::alloc::", "::std::"] {
        if let Some(rest) = path.strip_prefix(p) {
            return format!("std::{rest}");
        }
    }
    path.strip_prefix("::").unwrap_or(path).to_string()
}

/// Names every Rust file sees without importing them.
const PRELUDE: &[(&str, &str)] = &[
    ("Box", "std::boxed::Box"),
    ("String", "std::string::String"),
    ("Vec", "std::vec::Vec"),
    ("Option", "std::option::Option"),
    ("Result", "std::result::Result"),
    ("Some", "std::option::Option::Some"),
    ("None", "std::option::Option::None"),
    ("Ok", "std::result::Result::Ok"),
    ("Err", "std::result::Result::Err"),
    ("drop", "std::mem::drop"),
];

/// Builtin macros that are in scope everywhere (`include_bytes!` resolves to `std::include_bytes`).
const PRELUDE_MACROS: &[&str] = &[
    "include_bytes",
    "include_str",
    "include",
    "env",
    "option_env",
    "format",
    "format_args",
    "concat",
    "asm",
    "global_asm",
    "println",
    "eprintln",
    "print",
    "eprint",
    "write",
    "writeln",
    "panic",
    "vec",
    "dbg",
    "todo",
    "unimplemented",
    "unreachable",
];

/// The module path of a file inside its crate, from its path relative to the package
/// directory: `src/lib.rs` -> `[]`, `src/a/mod.rs` and `src/a.rs` -> `["a"]`.
pub fn module_path(rel_in_package: &str) -> Vec<String> {
    let rel = rel_in_package.strip_prefix("src/").unwrap_or(rel_in_package);
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    if parts.first().is_some_and(|p| p == "bin") {
        // `src/bin/x.rs` and `src/bin/x/main.rs` are crate roots of their own.
        return if parts.len() <= 2 { Vec::new() } else { parts.drain(2..).collect() };
    }
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main"))
        && (parts.len() == 1 || parts.last().is_some_and(|p| p == "mod"))
    {
        parts.pop();
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// One binding of a `use` tree: a name (or a glob, `None`) and the path it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct UseBinding {
    pub name: Option<String>,
    pub target: Vec<String>,
}

/// Flatten a `use` tree into bindings (paths as written, not yet absolute).
pub fn flatten_use(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<UseBinding>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let ident = n.ident.to_string();
            if ident == "self" {
                if let Some(last) = prefix.last() {
                    out.push(UseBinding { name: Some(last.clone()), target: prefix.clone() });
                }
            } else {
                let mut target = prefix.clone();
                target.push(ident.clone());
                out.push(UseBinding { name: Some(ident), target });
            }
        }
        syn::UseTree::Rename(r) => {
            let ident = r.ident.to_string();
            let mut target = prefix.clone();
            if ident != "self" {
                target.push(ident);
            }
            let name = r.rename.to_string();
            if name != "_" {
                out.push(UseBinding { name: Some(name), target });
            }
        }
        syn::UseTree::Glob(_) => out.push(UseBinding { name: None, target: prefix.clone() }),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out);
            }
        }
    }
}

/// The bindings of each column-0 `use` statement of a file (`use ..;`, `pub use ..;`,
/// `pub(crate) use ..;`): what the crate index needs of it, read without a tree, one file
/// at a time so files can be read in parallel.
pub fn file_uses(text: &str) -> Vec<Vec<UseBinding>> {
    // Only lines holding `use ` can qualify: find those (a vectorised substring search) rather
    // than looking at every line.
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut last_line = None;
    for at in memchr::memmem::find_iter(b, b"use ") {
        let start = memchr::memrchr(b'\n', &b[..at]).map_or(0, |p| p + 1);
        if last_line == Some(start) {
            continue;
        }
        last_line = Some(start);
        let end = memchr::memchr(b'\n', &b[start..]).map_or(b.len(), |p| start + p);
        let line = &text[start..end];
        let is_use = line.starts_with("use ") || (line.starts_with("pub") && use_after_visibility(line));
        if is_use
            && let Some(stmt_end) = memchr::memchr(b';', &b[start..])
            && let Some(bindings) = use_bindings(&text[start..start + stmt_end + 1])
        {
            out.push(bindings);
        }
    }
    out
}

/// The bindings of one `use` statement's text (`pub(crate) use a::{b as c, d::*};`), read
/// without syn: the index reads every import of a crate, and tokenising each one with
/// `proc_macro2` was most of the index's cost. `None` when the text is not a `use` item
/// (then it binds nothing, as when syn rejects it). Gives what [`flatten_use`] gives for the
/// same statement.
pub fn use_bindings(stmt: &str) -> Option<Vec<UseBinding>> {
    let mut toks = UseTokens { b: stmt.as_bytes(), text: stmt, i: 0 };
    let mut t = toks.next()?;
    if t == "pub" {
        t = toks.next()?;
        if t == "(" {
            while toks.next()? != ")" {}
            t = toks.next()?;
        }
    }
    if t != "use" {
        return None;
    }
    let mut t = toks.next()?;
    if t == "::" {
        t = toks.next()?;
    }
    let mut out = Vec::new();
    let end = use_tree(&mut toks, t, &mut Vec::new(), &mut out)?;
    (end == ";" && toks.next().is_none()).then_some(out)
}

/// The tokens of a `use` statement: identifiers, `::` and single punctuation; comments and
/// whitespace skipped.
struct UseTokens<'t> {
    b: &'t [u8],
    text: &'t str,
    i: usize,
}

impl<'t> Iterator for UseTokens<'t> {
    type Item = &'t str;

    fn next(&mut self) -> Option<&'t str> {
        let b = self.b;
        loop {
            match (b.get(self.i)?, b.get(self.i + 1)) {
                (c, _) if c.is_ascii_whitespace() => self.i += 1,
                (b'/', Some(b'/')) => {
                    self.i = memchr::memchr(b'\n', &b[self.i..]).map_or(b.len(), |n| self.i + n)
                }
                (b'/', Some(b'*')) => {
                    self.i = memchr::memmem::find(&b[self.i + 2..], b"*/").map_or(b.len(), |n| self.i + n + 4)
                }
                _ => break,
            }
        }
        let start = self.i;
        let ident = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_' || *c >= 0x80;
        if b[start..].starts_with(b"::") {
            self.i += 2;
        } else if b[start..].starts_with(b"r#") && b.get(start + 2).is_some_and(ident) {
            self.i += 2 + b[start + 2..].iter().take_while(|c| ident(c)).count();
        } else if ident(&b[start]) {
            self.i += b[start..].iter().take_while(|c| ident(c)).count();
        } else {
            self.i += self.text[start..].chars().next().map_or(1, char::len_utf8);
        }
        Some(&self.text[start..self.i])
    }
}

fn is_use_ident(t: &str) -> bool {
    t.bytes().next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c >= 0x80)
}

/// One use tree starting with token `t`; gives the token after it.
fn use_tree<'t>(
    toks: &mut UseTokens<'t>,
    t: &'t str,
    prefix: &mut Vec<String>,
    out: &mut Vec<UseBinding>,
) -> Option<&'t str> {
    match t {
        "*" => {
            out.push(UseBinding { name: None, target: prefix.clone() });
            toks.next()
        }
        "{" => {
            let mut t = toks.next()?;
            while t != "}" {
                t = use_tree(toks, t, prefix, out)?;
                match t {
                    "," => t = toks.next()?,
                    "}" => {}
                    _ => return None,
                }
            }
            toks.next()
        }
        ident if is_use_ident(ident) => {
            let next = toks.next()?;
            match next {
                "::" => {
                    prefix.push(ident.to_string());
                    let t = toks.next()?;
                    let end = use_tree(toks, t, prefix, out);
                    prefix.pop();
                    end
                }
                "as" => {
                    let name = toks.next()?;
                    if !is_use_ident(name) {
                        return None;
                    }
                    let mut target = prefix.clone();
                    if ident != "self" {
                        target.push(ident.to_string());
                    }
                    if name != "_" {
                        out.push(UseBinding { name: Some(name.to_string()), target });
                    }
                    toks.next()
                }
                _ => {
                    if ident == "self" {
                        if let Some(last) = prefix.last() {
                            out.push(UseBinding { name: Some(last.clone()), target: prefix.clone() });
                        }
                    } else {
                        let mut target = prefix.clone();
                        target.push(ident.to_string());
                        out.push(UseBinding { name: Some(ident.to_string()), target });
                    }
                    Some(next)
                }
            }
        }
        _ => None,
    }
}

/// Make a path written in module `module` absolute: `self::`/`super::` become `crate::..`,
/// the crate's own name becomes `crate`, a first segment naming a local item of the module is
/// prefixed with the module path; anything else is an external crate path, kept as is.
fn absolutize(
    path: &[String],
    module: &[String],
    local_items: &dyn Fn(&str) -> bool,
    crate_name: &str,
) -> Vec<String> {
    let Some(first) = path.first() else { return Vec::new() };
    let mut out: Vec<String> = Vec::with_capacity(path.len() + module.len());
    match first.as_str() {
        "crate" => out.extend(path.iter().cloned()),
        "self" | "super" => {
            out.push("crate".into());
            let mut m: Vec<String> = module.to_vec();
            let mut rest = path;
            while let Some(seg) = rest.first() {
                match seg.as_str() {
                    "self" => {}
                    "super" => {
                        m.pop();
                    }
                    _ => break,
                }
                rest = &rest[1..];
            }
            out.extend(m);
            out.extend(rest.iter().cloned());
        }
        f if f == crate_name => {
            out.push("crate".into());
            out.extend(path[1..].iter().cloned());
        }
        f if local_items(f) => {
            out.push("crate".into());
            out.extend(module.iter().cloned());
            out.extend(path.iter().cloned());
        }
        _ => out.extend(path.iter().cloned()),
    }
    out
}

/// The crate-level map of imports and re-exports, built by the pre-pass.
#[derive(Debug, Default, Clone)]
pub struct CrateIndex {
    /// The package name with `-` replaced by `_` (how other code names it).
    pub crate_name: String,
    /// `crate::a::b::name` -> absolute target path.
    reexports: HashMap<String, Vec<String>>,
    /// Module paths (`a::b`) of the crate's files, so that `use util::x` in the root module is
    /// known to mean `crate::util::x`.
    modules: std::collections::HashSet<String>,
    /// See [`CrateIndex::alias_words`]; computed on first use, after the pre-pass.
    aliases: std::sync::OnceLock<Vec<(String, String)>>,
}

impl CrateIndex {
    pub fn new(crate_name: &str) -> CrateIndex {
        CrateIndex {
            crate_name: crate_name.replace('-', "_"),
            reexports: HashMap::new(),
            modules: Default::default(),
            aliases: Default::default(),
        }
    }

    /// The names under which the crate makes an item known that differ from the item's own
    /// name (`pub use std::mem::transmute as reinterpret` gives `reinterpret`): a file can call
    /// a banned item by such a name without spelling the item's name, so the engine's
    /// prefilter parses every file that mentions one.
    /// Pairs of (alias, the name of the item it stands for).
    pub fn alias_words(&self) -> &[(String, String)] {
        self.aliases.get_or_init(|| {
            let mut words: Vec<(String, String)> = self
                .reexports
                .iter()
                .filter_map(|(key, target)| {
                    let name = key.rsplit("::").next()?;
                    let item = target.last()?;
                    (item != name).then(|| (name.to_string(), item.clone()))
                })
                .collect();
            words.sort();
            words.dedup();
            words
        })
    }

    /// A digest of everything the index holds, in a stable order (for the result cache).
    pub fn digest(&self) -> String {
        let mut reexports: Vec<String> =
            self.reexports.iter().map(|(k, v)| format!("{k}={}", v.join(","))).collect();
        reexports.sort();
        let mut modules: Vec<&str> = self.modules.iter().map(String::as_str).collect();
        modules.sort_unstable();
        crate::cache::digest([
            self.crate_name.as_bytes(),
            reexports.join("\n").as_bytes(),
            modules.join("\n").as_bytes(),
        ])
    }

    /// Declare the module of one file of the crate (call for every file before `add_file`).
    pub fn add_module(&mut self, module: &[String]) {
        self.modules.insert(module.join("::"));
    }

    /// Record the column-0 `use` statements of one file of the crate.
    pub fn add_file(&mut self, module: &[String], text: &str) {
        self.add_uses(module, file_uses(text));
    }

    /// Record a file's `use` statements, as [`file_uses`] reads them.
    pub fn add_uses(&mut self, module: &[String], uses: Vec<Vec<UseBinding>>) {
        for bindings in uses {
            self.add_use(module, bindings);
        }
    }

    fn add_use(&mut self, module: &[String], bindings: Vec<UseBinding>) {
        let crate_name = self.crate_name.clone();
        for b in bindings {
            let Some(name) = b.name else { continue };
            let is_module = |first: &str| {
                let mut m = module.to_vec();
                m.push(first.to_string());
                self.modules.contains(&m.join("::"))
            };
            let target = absolutize(&b.target, module, &is_module, &crate_name);
            let mut key = vec!["crate".to_string()];
            key.extend(module.iter().cloned());
            key.push(name);
            if key != target {
                self.reexports.insert(key.join("::"), target);
            }
        }
    }

    /// Follow re-exports (longest prefix first, a few hops at most) and fold `core`/`alloc`.
    pub fn canonical(&self, path: &[String]) -> String {
        let mut cur: Vec<String> = path.to_vec();
        if cur.first().is_some_and(|f| *f == self.crate_name) && !self.crate_name.is_empty() {
            cur[0] = "crate".into();
        }
        for _ in 0..8 {
            if cur.first().is_none_or(|f| f != "crate") || self.reexports.is_empty() {
                break;
            }
            let mut replaced = false;
            for n in (2..=cur.len()).rev() {
                if let Some(target) = self.reexports.get(&cur[..n].join("::")) {
                    let mut next = target.clone();
                    next.extend(cur[n..].iter().cloned());
                    cur = next;
                    replaced = true;
                    break;
                }
            }
            if !replaced {
                break;
            }
        }
        canonical_std(&cur.join("::"))
    }

    pub fn len(&self) -> usize {
        self.reexports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reexports.is_empty()
    }
}

/// `pub use`, `pub(crate) use`, `pub(in a::b) use`, ...
fn use_after_visibility(line: &str) -> bool {
    let rest = &line[3..];
    let rest =
        if let Some(r) = rest.strip_prefix('(') { r.find(')').map_or("", |i| &r[i + 1..]) } else { rest };
    rest.trim_start().starts_with("use ")
}

/// One lexical scope: a module's items, or a block.
#[derive(Debug, Default)]
struct Scope {
    /// Imports and type-namespace items (modules, types, traits): may start a longer path.
    names: HashMap<String, Vec<String>>,
    /// Value-namespace items (fns, consts, statics) and `let` bindings: only a whole path.
    values: HashMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
}

/// The resolver of one file; the visitor pushes and pops scopes as it walks.
pub struct Resolver<'a> {
    pub index: &'a CrateIndex,
    /// The module path of the code being visited (file module + inline modules).
    pub module: Vec<String>,
    scopes: Vec<Scope>,
    /// The enclosing modules' scopes while inside an inline module.
    saved_scopes: Vec<Vec<Scope>>,
}

/// The name an item defines, and whether it is in the value namespace.
fn item_name(item: &syn::Item) -> Option<(String, bool)> {
    let (ident, value) = match item {
        syn::Item::Fn(i) => (&i.sig.ident, true),
        syn::Item::Const(i) => (&i.ident, true),
        syn::Item::Static(i) => (&i.ident, true),
        syn::Item::Struct(i) => (&i.ident, false),
        syn::Item::Enum(i) => (&i.ident, false),
        syn::Item::Mod(i) => (&i.ident, false),
        syn::Item::Type(i) => (&i.ident, false),
        syn::Item::Trait(i) => (&i.ident, false),
        syn::Item::Union(i) => (&i.ident, false),
        syn::Item::Macro(i) => (i.ident.as_ref()?, true),
        _ => return None,
    };
    Some((ident.to_string(), value))
}

impl<'a> Resolver<'a> {
    pub fn new(index: &'a CrateIndex, module: Vec<String>) -> Resolver<'a> {
        Resolver { index, module, scopes: Vec::new(), saved_scopes: Vec::new() }
    }

    /// Push the scope of a list of items (a file, an inline module, or a block's items).
    pub fn push_items<'i>(&mut self, items: impl Iterator<Item = &'i syn::Item> + Clone) {
        let mut scope = Scope::default();
        let locals: Vec<(String, bool)> = items.clone().filter_map(item_name).collect();
        let is_local = |n: &str| locals.iter().any(|(l, value)| l == n && !value);
        for (name, value) in &locals {
            let mut p = vec!["crate".to_string()];
            p.extend(self.module.iter().cloned());
            p.push(name.clone());
            if *value {
                scope.values.insert(name.clone(), p);
            } else {
                scope.names.insert(name.clone(), p);
            }
        }
        for item in items {
            if let syn::Item::Use(u) = item {
                let mut bindings = Vec::new();
                flatten_use(&u.tree, &mut Vec::new(), &mut bindings);
                for b in bindings {
                    let target = if u.leading_colon.is_some() {
                        b.target.clone()
                    } else {
                        absolutize(&b.target, &self.module, &is_local, &self.index.crate_name)
                    };
                    match b.name {
                        Some(n) => {
                            scope.names.insert(n, target);
                        }
                        None => scope.globs.push(target),
                    }
                }
            }
        }
        self.scopes.push(scope);
    }

    /// Enter an inline `mod name { items }`.
    pub fn enter_mod(&mut self, name: &str, items: &[syn::Item]) {
        self.module.push(name.to_string());
        // A module does not see the enclosing module's names (only through `super::`).
        let saved = std::mem::take(&mut self.scopes);
        self.saved_scopes.push(saved);
        self.push_items(items.iter());
    }

    pub fn exit_mod(&mut self) {
        self.module.pop();
        self.scopes = self.saved_scopes.pop().unwrap_or_default();
    }

    pub fn pop(&mut self) {
        self.scopes.pop();
    }

    /// `let name = <path>;`: calls of `name(..)` in this block now resolve to `target`.
    pub fn bind_local(&mut self, name: &str, targets: Vec<String>) {
        if let Some(top) = self.scopes.last_mut()
            && let Some(first) = targets.into_iter().next()
        {
            top.values.insert(name.to_string(), first.split("::").map(str::to_string).collect());
        }
    }

    /// A `let` binding that is not an alias hides any import of the same name.
    pub fn shadow_local(&mut self, name: &str) {
        if let Some(top) = self.scopes.last_mut() {
            top.values.insert(name.to_string(), vec!["local".to_string(), name.to_string()]);
        }
    }

    /// The full paths `path` can denote (several only through globs), canonical.
    pub fn resolve(&self, path: &syn::Path) -> Vec<String> {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if path.leading_colon.is_some() {
            return vec![canonical_std(&segs.join("::"))];
        }
        self.resolve_segments(&segs, false)
    }

    /// Like [`Resolver::resolve`] for a macro path (`include_bytes` -> `std::include_bytes`).
    pub fn resolve_macro(&self, path: &syn::Path) -> Vec<String> {
        let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve_segments(&segs, true)
    }

    fn resolve_segments(&self, segs: &[String], is_macro: bool) -> Vec<String> {
        let Some(first) = segs.first() else { return Vec::new() };
        let rest = &segs[1..];
        let join = |prefix: &[String]| {
            let mut p = prefix.to_vec();
            p.extend(rest.iter().cloned());
            self.index.canonical(&p)
        };
        if matches!(first.as_str(), "crate" | "self" | "super") {
            return vec![self.index.canonical(&absolutize(
                segs,
                &self.module,
                &|_| false,
                &self.index.crate_name,
            ))];
        }
        for scope in self.scopes.iter().rev() {
            let value = if rest.is_empty() && !is_macro { scope.values.get(first) } else { None };
            if let Some(target) = value.or_else(|| scope.names.get(first)) {
                return vec![join(target)];
            }
        }
        let mut out = Vec::new();
        for scope in self.scopes.iter().rev() {
            for g in &scope.globs {
                let mut p = g.clone();
                p.push(first.clone());
                out.push(join(&p));
            }
        }
        if is_macro && segs.len() == 1 && PRELUDE_MACROS.contains(&first.as_str()) {
            out.push(format!("std::{first}"));
        } else if let Some((_, full)) = PRELUDE.iter().find(|(n, _)| n == first) {
            let p: Vec<String> = full.split("::").map(str::to_string).collect();
            out.push(join(&p));
        } else {
            out.push(self.index.canonical(segs));
        }
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths() {
        assert_eq!(module_path("src/lib.rs"), Vec::<String>::new());
        assert_eq!(module_path("src/main.rs"), Vec::<String>::new());
        assert_eq!(module_path("src/a.rs"), vec!["a"]);
        assert_eq!(module_path("src/a/mod.rs"), vec!["a"]);
        assert_eq!(module_path("src/a/b.rs"), vec!["a", "b"]);
        assert_eq!(module_path("src/bin/tool.rs"), Vec::<String>::new());
        assert_eq!(module_path("src/a/main.rs"), vec!["a", "main"]);
    }

    #[test]
    fn canonical_folds_core_and_alloc() {
        assert_eq!(canonical_std("core::mem::transmute"), "std::mem::transmute");
        assert_eq!(canonical_std("::alloc::boxed::Box"), "std::boxed::Box");
        assert_eq!(canonical_std("libc::system"), "libc::system");
    }

    #[test]
    fn reexports_follow_hops() {
        let mut idx = CrateIndex::new("my-crate");
        idx.add_module(&[]);
        idx.add_module(&["util".into()]);
        idx.add_file(
            &["util".into()],
            "pub use std::mem::transmute as tm;\npub(crate) use self::tm as tm2;\n",
        );
        idx.add_file(&[], "pub use util::tm2 as again;\n    use nested::ignored;\n");
        let p = |s: &str| s.split("::").map(str::to_string).collect::<Vec<_>>();
        assert_eq!(idx.canonical(&p("crate::util::tm")), "std::mem::transmute");
        assert_eq!(idx.canonical(&p("crate::util::tm2")), "std::mem::transmute");
        assert_eq!(idx.canonical(&p("my_crate::util::tm")), "std::mem::transmute");
        assert_eq!(idx.canonical(&p("crate::again")), "std::mem::transmute");
        assert_eq!(idx.canonical(&p("other::again")), "other::again");
    }

    #[test]
    fn use_text_reader_agrees_with_syn() {
        let cases = [
            "use a::b;",
            "use ::std::mem::transmute as tm;",
            "pub use self::x::{y, z as w, self, q::*};",
            "pub(crate) use super::a::{b::{c, d as _}, e};",
            "pub(in crate::m) use crate::k;",
            "use std::{\n    // a comment, with { and ;\n    mem, /* inline */ ptr::{read, write},\n};",
            "use r#type::r#fn as f;",
            "use a::{};",
            "use a::{b,};",
            "use self as me;",
            "use é::ü;",
        ];
        for stmt in cases {
            let item: syn::ItemUse = syn::parse_str(stmt).expect(stmt);
            let mut want = Vec::new();
            flatten_use(&item.tree, &mut Vec::new(), &mut want);
            assert_eq!(use_bindings(stmt), Some(want), "{stmt}");
        }
        for bad in ["use a::b", "use a::{b;", "use a b;", "fn f();", "use a::b; x", "use 1::a;", "use a as;"]
        {
            assert_eq!(use_bindings(bad), None, "{bad}");
        }
    }
}
