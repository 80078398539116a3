//! `unsafe`: the per-service unsafe policy. In `require-safety-comment` mode (the default) every
//! `unsafe` block, `unsafe fn` and `unsafe impl` must be preceded by a comment containing
//! `SAFETY:` (or, for an `unsafe fn`, a `# Safety` doc section); in `deny` mode every one is a
//! finding; in `allow` mode nothing is checked. syn drops comments, so they are read from the
//! source text: on the same line before the `unsafe` keyword, then upwards over comment and
//! attribute lines (and over a `let x =` line that the unsafe expression continues).

use super::source::FileCtx;
use super::source::cfg::UnsafeMode;
use crate::diag::{Finding, Severity};
use crate::registry;
use std::collections::HashMap;
use syn::visit::{self, Visit};

pub const UNSAFE_CODE: &str = "unsafe/unsafe-code";
pub const WITHOUT_SAFETY_COMMENT: &str = "unsafe/unsafe-without-safety-comment";

pub fn visit_file(ctx: &FileCtx<'_>, file: &syn::File, out: &mut Vec<Finding>) {
    if ctx.unsafe_mode == UnsafeMode::Allow {
        return;
    }
    let lines = lines_of(ctx.text);
    let mut v =
        Visitor { ctx, lines, in_trait_impl: false, names: Vec::new(), counters: HashMap::new(), out };
    v.visit_file(file);
}

struct Visitor<'a, 'o> {
    ctx: &'a FileCtx<'a>,
    lines: Vec<&'a str>,
    /// Inside `impl Trait for T`: an `unsafe fn` there implements the trait's contract, which
    /// the trait documents (clippy's `missing_safety_doc` does not ask either).
    in_trait_impl: bool,
    names: Vec<String>,
    counters: HashMap<String, usize>,
    out: &'o mut Vec<Finding>,
}

/// `text.lines()`, split with memchr: a file with `unsafe` code can be long.
fn lines_of(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
        let line = &text[start..nl];
        out.push(line.strip_suffix('\r').unwrap_or(line));
        start = nl + 1;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn has_marker(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.contains("safety:") || l.contains("# safety")
}

/// Whether the `unsafe` keyword at 1-based `line`, 0-based char `column` has a SAFETY comment.
pub fn documented(lines: &[&str], line: usize, column: usize) -> bool {
    let Some(cur) = lines.get(line.wrapping_sub(1)) else { return false };
    let before: String = cur.chars().take(column).collect();
    if before.contains("//") || before.contains("/*") {
        return has_marker(&before);
    }
    let mut i = line.wrapping_sub(1);
    while i > 0 {
        i -= 1;
        let t = lines[i].trim();
        if t.starts_with("//") || t.starts_with("/*") || t.starts_with('*') || t.ends_with("*/") {
            if has_marker(t) {
                return true;
            }
        } else if t.starts_with("#[") || t.ends_with('=') || t.ends_with('(') || t.ends_with("=>") {
            if let Some(at) = t.find("//")
                && has_marker(&t[at..])
            {
                return true;
            }
        } else {
            return false;
        }
    }
    false
}

impl Visitor<'_, '_> {
    fn hit(&mut self, what: &str, kw: proc_macro2::Span) {
        let (rule, message) = match self.ctx.unsafe_mode {
            UnsafeMode::Allow => return,
            UnsafeMode::Deny => {
                (UNSAFE_CODE, format!("`unsafe` {what} in a service whose policy denies unsafe code"))
            }
            UnsafeMode::RequireSafetyComment => {
                let s = kw.start();
                if documented(&self.lines, s.line, s.column) {
                    return;
                }
                (WITHOUT_SAFETY_COMMENT, format!("`unsafe` {what} without a `// SAFETY:` comment"))
            }
        };
        let severity = registry::rule(rule).map_or(Severity::Medium, |r| r.severity);
        let base = format!("{}:{what}", self.names.join("::"));
        let n = self.counters.entry(base.clone()).or_insert(0);
        *n += 1;
        let help = match self.ctx.unsafe_mode {
            UnsafeMode::Deny => {
                "move the unsafe code into a reviewed library, or set this service's unsafe mode"
            }
            _ => "write `// SAFETY: <why the invariants hold>` on the line above",
        };
        self.out.push(
            Finding::new(rule, severity, message, self.ctx.location(kw))
                .with_key(format!("{base}#{n}"))
                .with_help(help),
        );
    }
}

impl<'ast> Visit<'ast> for Visitor<'_, '_> {
    fn visit_expr_unsafe(&mut self, e: &'ast syn::ExprUnsafe) {
        self.hit("block", e.unsafe_token.span);
        visit::visit_expr_unsafe(self, e);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if let Some(u) = &f.sig.unsafety {
            self.hit("fn", u.span);
        }
        self.names.push(f.sig.ident.to_string());
        visit::visit_item_fn(self, f);
        self.names.pop();
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if let Some(u) = &f.sig.unsafety
            && (!self.in_trait_impl || self.ctx.unsafe_mode == UnsafeMode::Deny)
        {
            self.hit("fn", u.span);
        }
        self.names.push(f.sig.ident.to_string());
        let outer = std::mem::replace(&mut self.in_trait_impl, false);
        visit::visit_impl_item_fn(self, f);
        self.in_trait_impl = outer;
        self.names.pop();
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if let Some(u) = &i.unsafety {
            self.hit("impl", u.span);
        }
        let outer = std::mem::replace(&mut self.in_trait_impl, i.trait_.is_some());
        visit::visit_item_impl(self, i);
        self.in_trait_impl = outer;
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.names.push(m.ident.to_string());
        visit::visit_item_mod(self, m);
        self.names.pop();
    }
}

#[cfg(test)]
mod tests {
    use crate::checks::source::Enabled;
    use crate::checks::source::cfg::{SourceConfig, UnsafeMode, UnsafePolicy};
    use crate::checks::source::resolve::CrateIndex;
    use crate::checks::source::testing::{fixture, render};

    const UNSAFE: Enabled = Enabled { banned: false, unsafe_code: true, secrets: false };

    fn with_mode(mode: UnsafeMode) -> String {
        let cfg = SourceConfig {
            unsafe_policy: UnsafePolicy { mode, overrides: Vec::new() },
            ..SourceConfig::default()
        };
        render("lib.rs", &fixture("unsafe/require-safety-comment.rs"), UNSAFE, &cfg, &CrateIndex::default())
    }

    #[test]
    fn lines_split_as_str_lines() {
        for t in ["", "a", "a\n", "a\r\nb", "\n\n", "a\nb\r\n", "\r\n", "a\r"] {
            assert_eq!(super::lines_of(t), t.lines().collect::<Vec<_>>(), "{t:?}");
        }
    }

    #[test]
    fn require_safety_comment() {
        insta::assert_snapshot!(with_mode(UnsafeMode::RequireSafetyComment));
    }

    #[test]
    fn deny() {
        insta::assert_snapshot!(with_mode(UnsafeMode::Deny));
    }

    #[test]
    fn allow() {
        // Only the now-unused directive remains.
        assert_eq!(
            with_mode(UnsafeMode::Allow),
            "fleetward/unused-suppression:47:1 suppression of `unsafe/unsafe-without-safety-comment` matched no finding"
        );
    }
}
