//! Parse only the top-level items of a file that can matter.
//!
//! syn spends most of a run building trees for function bodies that no check looks at. The
//! file is tokenised once (what `syn::parse_file` does first anyway), cut into runs of
//! top-level items, and only the runs that `keep` accepts (plus every `use` and
//! `extern crate`, which name resolution needs) are parsed into the `syn::File` the checks
//! visit. Spans are those of the whole file, so locations do not change.
//!
//! The cut is a heuristic: a run ends after a top-level `;` or `{..}` when the next token
//! starts an item (an attribute, an item keyword, a macro call). Whenever a run does not parse
//! as items, the caller parses the whole file instead, so a wrong cut costs time, never a
//! finding.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

const ITEM_KEYWORDS: &[&str] = &[
    "pub",
    "fn",
    "struct",
    "enum",
    "impl",
    "trait",
    "mod",
    "use",
    "const",
    "static",
    "type",
    "extern",
    "unsafe",
    "async",
    "union",
    "macro_rules",
    "default",
    "auto",
];

fn starts_item(tokens: &[TokenTree], i: usize) -> bool {
    match tokens.get(i) {
        Some(TokenTree::Punct(p)) => p.as_char() == '#',
        Some(TokenTree::Ident(id)) => {
            let s = id.to_string();
            ITEM_KEYWORDS.contains(&s.as_str())
                || matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!')
        }
        _ => false,
    }
}

/// Top-level runs of tokens, each ending where an item provably can start again. A leading
/// run of inner attributes (`#![..]`) is its own run.
fn runs(tokens: Vec<TokenTree>) -> Vec<Vec<TokenTree>> {
    let mut out: Vec<Vec<TokenTree>> = Vec::new();
    let mut i = 0;
    let mut inner = Vec::new();
    while let (Some(TokenTree::Punct(h)), Some(TokenTree::Punct(b))) = (tokens.get(i), tokens.get(i + 1)) {
        if h.as_char() != '#' || b.as_char() != '!' || !matches!(tokens.get(i + 2), Some(TokenTree::Group(_)))
        {
            break;
        }
        inner.extend(tokens[i..i + 3].iter().cloned());
        i += 3;
    }
    if !inner.is_empty() {
        out.push(inner);
    }
    let mut cur = Vec::new();
    while i < tokens.len() {
        let t = tokens[i].clone();
        let ends = match &t {
            TokenTree::Punct(p) => p.as_char() == ';',
            TokenTree::Group(g) => g.delimiter() == Delimiter::Brace,
            _ => false,
        };
        cur.push(t);
        i += 1;
        if ends && (i == tokens.len() || starts_item(&tokens, i)) {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// What decides which runs are parsed.
pub struct Selection<'a> {
    /// A run that mentions one of these (as a whole identifier) is parsed.
    pub words: Vec<String>,
    /// Whether a `use` rename of an item with this name matters: the new name joins `words`
    /// (`use std::mem::transmute as t;` makes `t` a word).
    pub renames_of: &'a dyn Fn(&str) -> bool,
    /// Any other reason to parse a run, by its byte range.
    pub also: &'a dyn Fn(std::ops::Range<usize>) -> bool,
}

fn first_keyword(run: &[TokenTree]) -> Option<String> {
    // Skip outer attributes (`#` + `[..]`) and visibility (`pub`, `pub(crate)`).
    let mut i = 0;
    loop {
        match (run.get(i), run.get(i + 1)) {
            (Some(TokenTree::Punct(p)), Some(TokenTree::Group(_))) if p.as_char() == '#' => i += 2,
            (Some(TokenTree::Ident(id)), Some(TokenTree::Group(g)))
                if id == "pub" && g.delimiter() == Delimiter::Parenthesis =>
            {
                i += 2
            }
            (Some(TokenTree::Ident(id)), _) if id == "pub" => i += 1,
            (Some(TokenTree::Ident(id)), _) => return Some(id.to_string()),
            _ => return None,
        }
    }
}

/// `mod name {}` in place of an inline module that is not parsed: name resolution needs to
/// know the module exists, not its content.
fn module_stub(run: &[TokenTree]) -> Option<Vec<TokenTree>> {
    let at = run.iter().position(|t| matches!(t, TokenTree::Ident(id) if id == "mod"))?;
    let name = run.get(at + 1)?.clone();
    let TokenTree::Group(body) = run.last()? else { return None };
    let mut empty = proc_macro2::Group::new(Delimiter::Brace, TokenStream::new());
    empty.set_span(body.span());
    Some(vec![run[at].clone(), name, TokenTree::Group(empty)])
}

/// Names that a file's `use` statements give, with `as`, to an item whose name is a word or
/// that `renames_of` accepts (`use std::mem::transmute as t;` gives `t`). Read from the text,
/// so `use` statements at every level count (inline modules, function bodies).
fn renames(text: &str, words: &[String], renames_of: &dyn Fn(&str) -> bool) -> Vec<String> {
    static USE: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\buse\b[^;]*;").expect("valid regex"));
    static AS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]*)\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\b")
            .expect("valid regex")
    });
    USE.find_iter(text)
        .flat_map(|u| AS.captures_iter(u.as_str()))
        .filter(|c| words.iter().any(|w| *w == c[1]) || renames_of(&c[1]))
        .map(|c| c[2].to_string())
        .collect()
}

/// Start offsets of the whole-identifier mentions of `words` in `text`, sorted.
fn mentions(text: &str, words: &[String]) -> Vec<usize> {
    let Ok(ac) = aho_corasick::AhoCorasick::new(words) else { return vec![0] };
    let b = text.as_bytes();
    let mut out: Vec<usize> = ac
        .find_overlapping_iter(text)
        .filter(|m| crate::checks::banned::matcher::is_delimited(b, m.start(), m.end(), true, true))
        .map(|m| m.start())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether one of `hits` lies in `range`.
fn hit_in(hits: &[usize], range: &std::ops::Range<usize>) -> bool {
    let i = hits.partition_point(|&h| h < range.start);
    hits.get(i).is_some_and(|&h| h < range.end)
}

/// Items whose body is itself a list of items that can be filtered the same way: modules,
/// impls and traits (`unsafe impl`, `unsafe trait` included), never a function body.
fn has_item_body(run: &[TokenTree]) -> bool {
    let kind = run
        .iter()
        .filter_map(|t| match t {
            TokenTree::Ident(id) => Some(id.to_string()),
            _ => None,
        })
        .find(|w| !matches!(w.as_str(), "pub" | "crate" | "unsafe" | "default" | "auto"));
    matches!(kind.as_deref(), Some("impl" | "mod" | "trait"))
        && first_keyword(run)
            .is_some_and(|k| matches!(k.as_str(), "impl" | "mod" | "trait" | "unsafe" | "default" | "auto"))
        && matches!(run.last(), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace)
}

/// The tokens of `tokens` (a file, or the body of a module, impl or trait) that are kept:
/// inner attributes, imports, module declarations, the runs `sel` wants (filtered inside when
/// they are modules, impls or traits), and stubs for other inline modules.
fn select(
    text: &str,
    tokens: Vec<TokenTree>,
    hits: &[usize],
    headers: &[usize],
    sel: &Selection<'_>,
    depth: usize,
) -> Vec<TokenTree> {
    let mut out = Vec::new();
    for (n, run) in runs(tokens).into_iter().enumerate() {
        let inner_attrs = n == 0
            && matches!(&run[..], [TokenTree::Punct(h), TokenTree::Punct(b), ..] if h.as_char() == '#' && b.as_char() == '!');
        let kw = first_keyword(&run);
        let is_decl = matches!(kw.as_deref(), Some("use" | "extern"))
            || (kw.as_deref() == Some("mod")
                && matches!(run.last(), Some(TokenTree::Punct(p)) if p.as_char() == ';'));
        if inner_attrs || is_decl {
            out.extend(run);
            continue;
        }
        let (Some(first), Some(last)) = (run.first(), run.last()) else { continue };
        let range = first.span().byte_range().start..last.span().byte_range().end;
        let wanted = text.get(range.clone()).is_none() || hit_in(hits, &range) || (sel.also)(range);
        // A header that mentions a word (`impl ServerCertVerifier for X`) keeps its whole body:
        // matchers on impls look at every method.
        let header_wanted = run.len() >= 2 && {
            let head = run[0].span().byte_range().start..run[run.len() - 2].span().byte_range().end;
            hit_in(headers, &head)
        };
        if wanted && depth < 8 && has_item_body(&run) && !header_wanted {
            let mut run = run;
            if let Some(TokenTree::Group(body)) = run.pop() {
                let inner = select(text, body.stream().into_iter().collect(), hits, headers, sel, depth + 1);
                let mut g = proc_macro2::Group::new(Delimiter::Brace, inner.into_iter().collect());
                g.set_span(body.span());
                run.push(TokenTree::Group(g));
            }
            out.extend(run);
        } else if wanted {
            out.extend(run);
        } else if kw.as_deref() == Some("mod") {
            out.extend(module_stub(&run).unwrap_or_default());
        }
    }
    out
}

/// The file with only what `sel` selects (see [`select`]), or `None` when the file does not
/// tokenise or the selection does not parse (the caller then parses the whole file).
pub fn parse_selected(text: &str, sel: &Selection<'_>) -> Option<syn::File> {
    let stream: TokenStream = text.parse().ok()?;
    let mut words = sel.words.clone();
    words.extend(renames(text, &words, sel.renames_of));
    let hits = mentions(text, &words);
    words.retain(|w| w != "unsafe");
    let headers = mentions(text, &words);
    let kept = select(text, stream.into_iter().collect(), &hits, &headers, sel, 0);
    syn::parse2(kept.into_iter().collect()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select<'a>(text: &'a str, word: &'a str) -> Option<syn::File> {
        let also = |r: std::ops::Range<usize>| text[r].contains(word);
        parse_selected(text, &Selection { words: Vec::new(), renames_of: &|_| false, also: &also })
    }

    fn kept(text: &str, word: &str) -> Vec<String> {
        let f = select(text, word).expect("parses");
        f.items
            .iter()
            .map(|i| match i {
                syn::Item::Fn(f) => f.sig.ident.to_string(),
                syn::Item::Use(_) => "use".into(),
                syn::Item::Const(c) => c.ident.to_string(),
                syn::Item::Impl(_) => "impl".into(),
                syn::Item::Macro(_) => "macro".into(),
                syn::Item::Mod(m) => format!("mod {}", m.ident),
                _ => "other".into(),
            })
            .collect()
    }

    #[test]
    fn keeps_imports_and_the_runs_that_mention_the_word() {
        let text = "#![allow(dead_code)]\nuse std::ptr;\nconst C: S = S { a: 1 };\nfn a() { if x { 1 } else { 2 }; }\n#[inline]\nfn b(p: *const u8) { unsafe { ptr::read(p) }; }\nimpl X { fn c() {} }\nlazy_static! { static ref Y: u8 = 1; }\nfn d() { ptr::read(0 as *const u8); }\n";
        assert_eq!(kept(text, "ptr::read"), ["use", "b", "d"]);
        assert_eq!(kept(text, "S {"), ["use", "C"]);
        let f = select(text, "").unwrap();
        assert_eq!(f.items.len(), 7);
        assert_eq!(f.attrs.len(), 1);
        // Spans are the file's own.
        let syn::Item::Fn(b) = &select(text, "fn b").unwrap().items[1] else { panic!("fn b") };
        assert_eq!(b.sig.ident.span().start().line, 6);
        // Module declarations stay, inline modules as stubs; renames of named items are words.
        let text = "mod util;\nmod tests { fn u() { x() } }\nuse std::mem::transmute as t;\nfn f() { t(1) }\nfn g() {}\n";
        let renames = |n: &str| n == "transmute";
        let f = parse_selected(text, &Selection { words: vec![], renames_of: &renames, also: &|_| false })
            .unwrap();
        let names: Vec<String> = f
            .items
            .iter()
            .map(|i| match i {
                syn::Item::Mod(m) => {
                    format!("mod {} {}", m.ident, m.content.as_ref().map_or(0, |c| c.1.len()))
                }
                syn::Item::Use(_) => "use".into(),
                syn::Item::Fn(f) => f.sig.ident.to_string(),
                _ => "other".into(),
            })
            .collect();
        assert_eq!(names, ["mod util 0", "mod tests 0", "use", "f"]);
    }

    #[test]
    fn bodies_of_impls_are_filtered_but_never_function_bodies() {
        let text = "impl X {\n    fn a() { let q = format!(\"{}\", 1); }\n    unsafe fn b() { let q = format!(\"{}\", 1); run(q); }\n}\nunsafe fn c() { let q = 1; unsafe { g(q) } }\n";
        let sel = Selection { words: vec!["unsafe".into()], renames_of: &|_| false, also: &|_| false };
        let f = parse_selected(text, &sel).unwrap();
        let syn::Item::Impl(i) = &f.items[0] else { panic!("impl") };
        assert_eq!(i.items.len(), 1, "only `b` is kept in the impl");
        let syn::Item::Fn(c) = &f.items[1] else { panic!("fn c") };
        assert_eq!(c.block.stmts.len(), 2, "a function body is kept whole");
    }

    #[test]
    fn whole_words() {
        let read = |t: &str| !mentions(t, &["read".to_string()]).is_empty();
        assert!(read("a read(b)") && !read("thread::spawn"));
        assert!(read("x.read") && !read("read_exact"));
    }

    #[test]
    fn a_bad_cut_or_bad_syntax_gives_none() {
        assert!(select("fn f( {\n", "").is_none());
        assert!(select("fn f() { let x = ; }\n", "").is_none());
    }
}
