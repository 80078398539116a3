//! The code lines of a source file that no coverage report names, for `missing_files`: the
//! line of each function's signature and the lines of its body that hold code (not blank,
//! not only a comment or closing punctuation), outside `#[cfg(test)]` modules and `#[test]`
//! functions; and each such function. This approximates what llvm-cov and tarpaulin count as
//! coverable, so an untested file weighs about what it would weigh if it were measured.

use super::model::FileCoverage;
use syn::visit::Visit;

/// The estimated coverable lines and functions of `text`, all uncovered. `None` when the file
/// does not parse (it is then reported by the source checks, and counted as having no code).
pub fn uncovered(text: &str) -> Option<FileCoverage> {
    let file = syn::parse_file(text).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let mut v = Fns { bodies: Vec::new() };
    v.visit_file(&file);
    let mut out = FileCoverage::default();
    for (sig, open, close) in v.bodies {
        out.functions.push(sig, false);
        out.lines.push(sig, false);
        for line in open + 1..close {
            if lines.get(line as usize - 1).is_some_and(|l| has_code(l)) {
                out.lines.push(line, false);
            }
        }
    }
    out.finish();
    Some(out)
}

/// Whether a line holds code: something besides whitespace, a `//` comment and closing
/// punctuation.
fn has_code(line: &str) -> bool {
    let code = line.find("//").map_or(line, |i| &line[..i]);
    code.chars().any(|c| !c.is_whitespace() && !matches!(c, '}' | ')' | ']' | ';' | ',' | '{'))
}

struct Fns {
    /// (signature line, body open line, body close line)
    bodies: Vec<(u32, u32, u32)>,
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let path = a.path();
        if path.is_ident("test") || path.segments.last().is_some_and(|s| s.ident == "test") {
            return true;
        }
        path.is_ident("cfg") && a.parse_args::<syn::Meta>().is_ok_and(|m| m.path().is_ident("test"))
    })
}

impl Fns {
    fn body(&mut self, sig: &syn::Signature, block: &syn::Block) {
        let line = |s: proc_macro2::Span| u32::try_from(s.start().line).unwrap_or(0);
        let (open, close) = (line(block.brace_token.span.open()), line(block.brace_token.span.close()));
        self.bodies.push((line(sig.fn_token.span), open, close));
    }
}

impl<'ast> Visit<'ast> for Fns {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !is_test(&m.attrs) {
            syn::visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test(&f.attrs) {
            self.body(&f.sig, &f.block);
            syn::visit::visit_item_fn(self, f);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test(&f.attrs) {
            self.body(&f.sig, &f.block);
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.body(&f.sig, block);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if !is_test(&i.attrs) {
            syn::visit::visit_item_impl(self, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::coverage::model::Metric;

    #[test]
    fn counts_code_lines_of_function_bodies() {
        let text = "//! doc\nuse x::y;\n\npub struct S;\n\nfn a(x: u8) -> u8 {\n    // comment\n    let y = x + 1;\n\n    y\n}\n\nimpl S {\n    fn b(&self) {\n        if true {\n            c();\n        }\n    }\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {\n        super::a(1);\n    }\n}\n";
        let f = uncovered(text).unwrap();
        let lines: Vec<u32> = f.lines.iter().map(|e| e.0).collect();
        assert_eq!(lines, [6, 8, 10, 14, 15, 16]);
        assert_eq!(f.counts(Metric::Functions), (0, 2));
        assert!(uncovered("fn (").is_none());
    }
}
