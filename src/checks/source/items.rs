//! Parse only the top-level items of a file that can matter.
//!
//! syn spends most of a run tokenising and building trees for function bodies that no check
//! looks at. A light lexer (strings, chars, lifetimes, comments and brackets; nothing else is
//! told apart) cuts the file into runs of top-level items, and every run that `keep` does not
//! want (except `use`, `extern crate` and module declarations, which name resolution needs) is
//! blanked out with the same bytes, lines and characters (see [`mask`]). The masked text is
//! what syn parses, so every span, line and column is the file's own, and the parts that are
//! not wanted cost a whitespace skip instead of a tokeniser and a tree.
//!
//! The cut is a heuristic: a run ends after a top-level `;` or `{..}` when the next token
//! starts an item (an attribute, a doc comment, an item keyword, a macro call). Whenever the
//! lexer or the masked text fails, the caller parses the whole file instead, so a wrong cut
//! costs time, never a finding.

use crate::checks::banned::matcher::Wanted;
use std::ops::Range;

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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Ident,
    Punct(u8),
    /// An opening bracket, with the index of its closing token.
    Open(u8, u32),
    Close,
    Literal,
    /// A doc comment (`///`, `/** */`, or with `inner`: `//!`, `/*! */`): an attribute.
    Doc {
        inner: bool,
    },
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    start: u32,
    end: u32,
    kind: Kind,
}

impl Tok {
    fn start(&self) -> usize {
        self.start as usize
    }

    fn end(&self) -> usize {
        self.end as usize
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The end of the quoted body starting at `i` (just after an opening `"`), escapes honoured.
fn quoted_end(b: &[u8], mut i: usize) -> Option<usize> {
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The end of a raw string whose hashes start at `i` (`#*"..."#*`), or `None` if `i` does
/// not start one.
fn raw_end(b: &[u8], i: usize) -> Option<usize> {
    let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
    if b.get(i + hashes) != Some(&b'"') {
        return None;
    }
    let mut j = i + hashes + 1;
    loop {
        let q = j + memchr::memchr(b'"', b.get(j..)?)?;
        if b.len() >= q + 1 + hashes && b[q + 1..q + 1 + hashes].iter().all(|&c| c == b'#') {
            return Some(q + 1 + hashes);
        }
        j = q + 1;
    }
}

/// After a `'` at `i`: the end of a char literal, or `None` for a lifetime or label.
fn char_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i + 1)? {
        b'\\' => {
            let mut j = i + 3;
            while *b.get(j)? != b'\'' {
                j += 1;
            }
            Some(j + 1)
        }
        &c => {
            let len = match c {
                0..0x80 => 1,
                0xc0..0xe0 => 2,
                0xe0..0xf0 => 3,
                _ => 4,
            };
            (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 2 + len)
        }
    }
}

/// The tokens of `text` and the byte ranges of its comments (doc comments included), or
/// `Err(None)` when brackets do not balance or a literal or comment does not end, or
/// `Err(Some(offset))` at the first bracket that nests deeper than `max_depth`.
fn lex(text: &str, comments: &mut Vec<Range<usize>>, max_depth: usize) -> Result<Vec<Tok>, Option<usize>> {
    lex_inner(text, comments, max_depth).ok_or(None)?
}

fn lex_inner(
    text: &str,
    comments: &mut Vec<Range<usize>>,
    max_depth: usize,
) -> Option<Result<Vec<Tok>, Option<usize>>> {
    let b = text.as_bytes();
    let mut toks: Vec<Tok> = Vec::with_capacity(b.len() / 6);
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // Whitespace, the most common byte (indentation), in a tight loop.
        while i < b.len() && matches!(b[i], b' ' | b'\n') {
            i += 1;
        }
        let Some(&c) = b.get(i) else { break };
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
                i += 1;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
                comments.push(start..i);
                match (b.get(start + 2), b.get(start + 3)) {
                    (Some(b'/'), Some(b'/')) => continue,
                    (Some(b'/'), _) => Kind::Doc { inner: false },
                    (Some(b'!'), _) => Kind::Doc { inner: true },
                    _ => continue,
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                loop {
                    match (b.get(i), b.get(i + 1)) {
                        (Some(b'/'), Some(b'*')) => (depth, i) = (depth + 1, i + 2),
                        (Some(b'*'), Some(b'/')) => {
                            (depth, i) = (depth - 1, i + 2);
                            if depth == 0 {
                                break;
                            }
                        }
                        (Some(_), _) => i += 1,
                        (None, _) => return None,
                    }
                }
                comments.push(start..i);
                match (b[start + 2], b[start + 3]) {
                    (b'!', _) => Kind::Doc { inner: true },
                    (b'*', c) if c != b'*' && c != b'/' => Kind::Doc { inner: false },
                    _ => continue,
                }
            }
            b'"' => {
                i = quoted_end(b, i + 1)?;
                Kind::Literal
            }
            b'\'' => match char_end(b, i) {
                Some(end) => {
                    i = end;
                    Kind::Literal
                }
                None => {
                    i += 1;
                    while i < b.len() && is_ident_byte(b[i]) {
                        i += 1;
                    }
                    Kind::Literal
                }
            },
            c @ (b'(' | b'[' | b'{') => {
                if open.len() >= max_depth {
                    return Some(Err(Some(i)));
                }
                open.push(toks.len());
                i += 1;
                Kind::Open(c, 0)
            }
            c @ (b')' | b']' | b'}') => {
                let o = open.pop()?;
                let want = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                let Kind::Open(d, _) = toks[o].kind else { return None };
                if d != want {
                    return None;
                }
                toks[o].kind = Kind::Open(d, toks.len() as u32);
                i += 1;
                Kind::Close
            }
            b'0'..=b'9' => {
                while i < b.len()
                    && (is_ident_byte(b[i]) || (b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
                {
                    i += 1;
                }
                Kind::Literal
            }
            c if is_ident_byte(c) => {
                // Literal prefixes: r"..", r#".."#, b"..", br"..", c"..", cr"..", b'.'; and
                // raw identifiers (r#name).
                let prefix_end =
                    i + b[i..].iter().take(2).take_while(|c| matches!(c, b'r' | b'b' | b'c')).count();
                let lit = match (&b[i..prefix_end], b.get(prefix_end)) {
                    (b"r" | b"br" | b"cr", Some(b'#' | b'"')) => raw_end(b, prefix_end),
                    (b"b" | b"c", Some(b'"')) => Some(quoted_end(b, prefix_end + 1)?),
                    (b"b", Some(b'\'')) => char_end(b, prefix_end),
                    _ => None,
                };
                match lit {
                    Some(end) => {
                        i = end;
                        Kind::Literal
                    }
                    None => {
                        if b[i] == b'r' && b.get(i + 1) == Some(&b'#') {
                            i += 2;
                        }
                        while i < b.len() && is_ident_byte(b[i]) {
                            i += 1;
                        }
                        Kind::Ident
                    }
                }
            }
            c => {
                i += 1;
                Kind::Punct(c)
            }
        };
        toks.push(Tok { start: start as u32, end: i as u32, kind });
    }
    open.is_empty().then_some(Ok(toks))
}

/// The index after the token tree that starts at `i`.
fn skip(toks: &[Tok], i: usize) -> usize {
    match toks[i].kind {
        Kind::Open(_, close) => close as usize + 1,
        _ => i + 1,
    }
}

struct Cutter<'t> {
    text: &'t str,
    toks: Vec<Tok>,
}

impl Cutter<'_> {
    fn word(&self, i: usize) -> Option<&str> {
        let t = self.toks.get(i)?;
        (t.kind == Kind::Ident).then(|| &self.text[t.start()..t.end()])
    }

    fn punct(&self, i: usize, c: u8) -> bool {
        self.toks.get(i).is_some_and(|t| t.kind == Kind::Punct(c))
    }

    fn starts_item(&self, i: usize) -> bool {
        match self.toks.get(i).map(|t| t.kind) {
            Some(Kind::Punct(b'#') | Kind::Doc { inner: false }) => true,
            Some(Kind::Ident) => {
                self.word(i).is_some_and(|w| ITEM_KEYWORDS.contains(&w)) || self.punct(i + 1, b'!')
            }
            _ => false,
        }
    }

    /// The runs of token trees in `lo..hi` (one nesting level), each as its first and last
    /// token trees' start indices; a leading run of inner attributes is left out (always kept).
    fn runs(&self, mut lo: usize, hi: usize) -> Vec<(usize, usize)> {
        loop {
            match self.toks.get(lo).map(|t| t.kind) {
                Some(Kind::Doc { inner: true }) if lo < hi => lo += 1,
                Some(Kind::Punct(b'#'))
                    if lo + 2 < hi
                        && self.punct(lo + 1, b'!')
                        && matches!(self.toks[lo + 2].kind, Kind::Open(b'[', _)) =>
                {
                    lo = skip(&self.toks, lo + 2)
                }
                _ => break,
            }
        }
        let mut out = Vec::new();
        let mut first = lo;
        let mut i = lo;
        while i < hi {
            let ends = matches!(self.toks[i].kind, Kind::Punct(b';') | Kind::Open(b'{', _));
            let last = i;
            i = skip(&self.toks, i);
            if ends && (i >= hi || self.starts_item(i)) {
                out.push((first, last));
                first = i;
            }
        }
        if first < hi {
            // A run that does not end where an item can: its last tree.
            let mut last = first;
            while skip(&self.toks, last) < hi {
                last = skip(&self.toks, last);
            }
            out.push((first, last));
        }
        out
    }

    /// The item keyword of the run at `i`, after outer attributes and visibility.
    fn first_keyword(&self, mut i: usize, last: usize) -> Option<&str> {
        while i <= last {
            match self.toks[i].kind {
                Kind::Doc { .. } => i += 1,
                Kind::Punct(b'#') if matches!(self.toks.get(i + 1).map(|t| t.kind), Some(Kind::Open(..))) => {
                    i = skip(&self.toks, i + 1)
                }
                Kind::Ident if self.word(i) == Some("pub") => {
                    i += 1;
                    if let Some(Kind::Open(b'(', _)) = self.toks.get(i).map(|t| t.kind) {
                        i = skip(&self.toks, i);
                    }
                }
                Kind::Ident => return self.word(i),
                _ => return None,
            }
        }
        None
    }

    /// The kind and name an item run defines (`struct Box` in `pub struct Box<T>(..);`,
    /// `fn read` in `pub(crate) const unsafe fn read() {}`).
    fn defined_name(&self, first: usize, last: usize) -> Option<(&str, &str)> {
        let mut i = first;
        while i <= last {
            match self.toks[i].kind {
                Kind::Doc { .. } | Kind::Literal => i += 1,
                Kind::Punct(b'#') => i = skip(&self.toks, i + 1),
                Kind::Ident => match self.word(i)? {
                    "pub" | "unsafe" | "async" | "extern" | "default" | "auto" | "mut" | "crate" => {
                        i += 1;
                        if matches!(self.toks.get(i).map(|t| t.kind), Some(Kind::Open(b'(', _))) {
                            i = skip(&self.toks, i);
                        }
                    }
                    "const"
                        if self
                            .word(i + 1)
                            .is_some_and(|w| matches!(w, "fn" | "unsafe" | "async" | "extern")) =>
                    {
                        i += 1
                    }
                    kind @ ("struct" | "enum" | "union" | "type" | "trait" | "fn" | "mod" | "static"
                    | "const") => {
                        i += 1;
                        if self.word(i) == Some("mut") {
                            i += 1;
                        }
                        return Some((kind, self.word(i)?));
                    }
                    "macro_rules" if self.punct(i + 1, b'!') => {
                        return Some(("macro_rules", self.word(i + 2)?));
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
        None
    }

    /// Whether the run is a module, impl or trait with a body of items that can be filtered
    /// the same way (`unsafe impl`, `unsafe trait` included); never a function.
    fn has_item_body(&self, first: usize, last: usize) -> bool {
        let mut i = first;
        let mut kind = None;
        while i <= last {
            if let Some(w) = self.word(i)
                && !matches!(w, "pub" | "crate" | "unsafe" | "default" | "auto")
            {
                kind = Some(w);
                break;
            }
            i = skip(&self.toks, i);
        }
        matches!(kind, Some("impl" | "mod" | "trait"))
            && self
                .first_keyword(first, last)
                .is_some_and(|k| matches!(k, "impl" | "mod" | "trait" | "unsafe" | "default" | "auto"))
            && matches!(self.toks[last].kind, Kind::Open(b'{', _))
    }

    /// The byte ranges in `lo..hi` (a file, or the body of a module, impl or trait) that are
    /// not kept: runs that `sel` does not want, other than imports and module declarations, and
    /// the bodies of inline modules not wanted. Runs that are wanted and are modules, impls or
    /// traits are filtered inside.
    #[allow(clippy::too_many_arguments)]
    fn masks(
        &self,
        lo: usize,
        hi: usize,
        hits: &Hits,
        sel: &Selection<'_>,
        depth: usize,
        out: &mut Vec<Range<usize>>,
    ) {
        for (first, last) in self.runs(lo, hi) {
            let kw = self.first_keyword(first, last);
            let ends_in_semi = self.punct(last, b';');
            if matches!(kw, Some("use" | "extern")) || (kw == Some("mod") && ends_in_semi) {
                continue;
            }
            let end = self.toks[skip(&self.toks, last) - 1].end();
            let range = self.toks[first].start()..end;
            let defined = self.defined_name(first, last);
            let for_words = hits.wanted(&range, false)
                || (sel.also)(range.clone())
                || defined.is_some_and(|(_, n)| sel.wanted.names.iter().any(|w| w == n));
            let wanted = for_words || hits.wanted(&range, true);
            let body = match self.toks[last].kind {
                Kind::Open(b'{', close) => Some((last, close as usize)),
                _ => None,
            };
            match body {
                // Wanted only for its `unsafe` blocks: the body's skeleton is enough.
                Some((open, close))
                    if wanted
                        && !for_words
                        && defined.is_some_and(|(k, _)| k == "fn")
                        && self.plain_body(open, close) =>
                {
                    self.skeleton(open + 1, close, out);
                }
                Some((open, close)) if wanted && depth < 8 && self.has_item_body(first, last) => {
                    // A header that names a word (`impl ServerCertVerifier for X`) keeps its
                    // whole body: matchers on impls look at every method.
                    let head = self.toks[first].start()..self.toks[open].start();
                    if !hits.any_word(&head) {
                        self.masks(open + 1, close, hits, sel, depth + 1, out);
                    }
                }
                _ if wanted => {}
                Some((open, close)) if kw == Some("mod") => {
                    out.push(self.toks[open].end()..self.toks[close].start());
                }
                _ => out.push(range),
            }
        }
    }
}

impl Cutter<'_> {
    /// Whether a function body holds nothing that changes what the `unsafe` check sees besides
    /// its `unsafe` blocks: no nested item (whose name or test attribute matters) and no
    /// attribute.
    fn plain_body(&self, open: usize, close: usize) -> bool {
        (open + 1..close).all(|i| match self.toks[i].kind {
            Kind::Punct(b'#') | Kind::Doc { .. } => false,
            Kind::Ident => match self.word(i) {
                Some("fn" | "impl" | "trait" | "mod" | "static" | "macro_rules") => false,
                // `*const T` is a type; any other `const` may start an item.
                Some("const") => self.punct(i - 1, b'*'),
                _ => true,
            },
            _ => true,
        })
    }

    /// Blank the tokens in `lo..hi` except the `unsafe {` .. `}` of each unsafe block outside a
    /// macro call (whose tokens syn does not parse either), so that syn sees
    /// `{ unsafe { unsafe {} } unsafe {} }`: the same blocks, at the same places, in the same
    /// order, with nothing else to build.
    fn skeleton(&self, lo: usize, hi: usize, out: &mut Vec<Range<usize>>) {
        let mut blank = self.toks.get(lo).map_or(self.toks[hi].start(), Tok::start);
        let mut i = lo;
        while i < hi {
            match self.toks[i].kind {
                Kind::Punct(b'!') if matches!(self.toks.get(i + 1).map(|t| t.kind), Some(Kind::Open(..))) => {
                    i = skip(&self.toks, i + 1);
                }
                Kind::Ident if self.word(i) == Some("unsafe") => match self.toks.get(i + 1).map(|t| t.kind) {
                    Some(Kind::Open(b'{', close)) => {
                        let close = close as usize;
                        out.push(blank..self.toks[i].start());
                        self.skeleton(i + 2, close, out);
                        blank = self.toks[close].end();
                        i = close + 1;
                    }
                    _ => i += 1,
                },
                _ => i += 1,
            }
        }
        out.push(blank..self.toks[hi].start());
    }
}

/// What decides which runs are parsed.
pub struct Selection<'a> {
    /// A run that mentions one of these words (as whole identifiers, outside comments) is
    /// parsed; so is a run that mentions a word of each group of a conditional.
    pub wanted: Wanted,
    /// Whether a `use` rename of an item with this name matters: the new name joins `words`
    /// (`use std::mem::transmute as t;` makes `t` a word).
    pub renames_of: &'a dyn Fn(&str) -> bool,
    /// Any other reason to parse a run, by its byte range.
    pub also: &'a dyn Fn(Range<usize>) -> bool,
    /// How deep brackets may nest before the file is refused (syn recurses into them).
    pub max_depth: usize,
}

/// What [`parse_selected`] gives.
pub enum Parsed {
    /// The selected items.
    File(syn::File),
    /// Brackets nest deeper than allowed, first at this offset: the file is not parsed.
    TooDeep(usize),
    /// The file could not be cut (it does not lex, or the masked text does not parse): parse
    /// the whole file instead.
    Whole,
}

impl Parsed {
    pub fn file(self) -> Option<syn::File> {
        match self {
            Parsed::File(f) => Some(f),
            _ => None,
        }
    }
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

/// The whole-identifier mentions of a selection's words outside comments, in text order.
struct Hits {
    /// Every run is wanted (the words could not be searched).
    all: bool,
    /// (offset, word id).
    at: Vec<(usize, usize)>,
    /// Per word id: whether a mention alone makes a run wanted.
    plain: Vec<bool>,
    /// Per word id: whether it is `unsafe`.
    is_unsafe: Vec<bool>,
    /// Conditionals by word ids: one of the first, and one of each group of the second.
    conditional: Vec<(Vec<usize>, Vec<Vec<usize>>)>,
}

impl Hits {
    fn new(text: &str, wanted: &Wanted, renamed: Vec<String>, comments: &[Range<usize>]) -> Hits {
        let mut words: Vec<String> = wanted.words.iter().chain(&renamed).cloned().collect();
        for (call, local) in &wanted.conditional {
            words.extend(call.iter().chain(local.iter().flatten()).cloned());
        }
        words.sort();
        words.dedup();
        let id = |w: &String| words.binary_search(w).unwrap_or(usize::MAX);
        let mut plain = vec![false; words.len()];
        for w in wanted.words.iter().chain(&renamed) {
            plain[id(w)] = true;
        }
        let conditional = wanted
            .conditional
            .iter()
            .map(|(c, l)| {
                (c.iter().map(id).collect(), l.iter().map(|g| g.iter().map(id).collect()).collect())
            })
            .collect();
        let is_unsafe = words.iter().map(|w| w == "unsafe").collect();
        let mut at: Vec<(usize, usize)> = Vec::new();
        let outside_comments = |start: usize| {
            let i = comments.partition_point(|c| c.end <= start);
            comments.get(i).is_none_or(|c| start < c.start)
        };
        // The prefilter's mentions are reused; only the other words are searched.
        let known = &wanted.found_words;
        for &(start, k) in &wanted.found {
            if let Ok(w) = words.binary_search(&known[k])
                && outside_comments(start)
            {
                at.push((start, w));
            }
        }
        let rest: Vec<usize> = (0..words.len()).filter(|&w| !known.contains(&words[w])).collect();
        if !rest.is_empty() {
            let rest_words: Vec<&str> = rest.iter().map(|&w| words[w].as_str()).collect();
            match crate::checks::banned::matcher::WordSearch::new(&rest_words) {
                Some(search) => search.each(text, |w, start| {
                    if outside_comments(start) {
                        at.push((start, rest[w]));
                    }
                }),
                // No automaton: every run is wanted.
                None => return Hits { all: true, at, plain, is_unsafe, conditional },
            }
        }
        at.sort_unstable();
        at.dedup();
        Hits { all: false, at, plain, is_unsafe, conditional }
    }

    /// The ids of the words mentioned in `range`.
    fn in_range(&self, range: &Range<usize>) -> impl Iterator<Item = usize> + '_ {
        let end = range.end;
        let i = self.at.partition_point(|&(h, _)| h < range.start);
        self.at[i..].iter().take_while(move |&&(h, _)| h < end).map(|&(_, w)| w)
    }

    /// Whether a run over `range` is wanted (for `unsafe`, or for the other words).
    fn wanted(&self, range: &Range<usize>, for_unsafe: bool) -> bool {
        if self.all {
            return !for_unsafe;
        }
        let mut ids: Vec<usize> = self.in_range(range).collect();
        if for_unsafe {
            return ids.iter().any(|&w| self.is_unsafe[w]);
        }
        if ids.iter().any(|&w| self.plain[w] && !self.is_unsafe[w]) {
            return true;
        }
        ids.sort_unstable();
        ids.dedup();
        let has = |g: &Vec<usize>| g.iter().any(|w| ids.binary_search(w).is_ok());
        self.conditional.iter().any(|(call, local)| has(call) && local.iter().all(has))
    }

    /// Whether `range` mentions a word other than `unsafe`.
    fn any_word(&self, range: &Range<usize>) -> bool {
        self.all || self.in_range(range).any(|w| !self.is_unsafe[w])
    }
}

/// Blank out `range` of `out` line by line without changing a byte offset, a line or a
/// character count, so every later span, line and column is the file's own: an ASCII line
/// becomes spaces, a line with other characters a block comment of the same length. A range
/// with a line that cannot be masked so is left alone: parsing it costs time, not a finding.
fn mask(out: &mut [u8], range: Range<usize>) {
    let s = &mut out[range];
    if s.is_ascii() {
        // The common case, one pass the compiler vectorises.
        for c in s.iter_mut() {
            *c = if *c == b'\n' { b'\n' } else { b' ' };
        }
        return;
    }
    let comment = |l: &[u8]| l.len() >= 4 && l[..2].is_ascii() && l[l.len() - 2..].is_ascii();
    if !s.split(|&c| c == b'\n').all(|l| l.is_ascii() || comment(l)) {
        return;
    }
    for l in s.split_mut(|&c| c == b'\n') {
        if l.is_ascii() {
            l.fill(b' ');
        } else {
            for c in l.iter_mut() {
                if c.is_ascii() {
                    *c = b' ';
                }
            }
            let n = l.len();
            l[..2].copy_from_slice(b"/*");
            l[n - 2..].copy_from_slice(b"*/");
        }
    }
}

/// The file with only what `sel` selects (see [`Cutter::masks`]).
pub fn parse_selected(text: &str, sel: &Selection<'_>) -> Parsed {
    match cut(text, sel) {
        Ok(Some(f)) => Parsed::File(f),
        Ok(None) | Err(None) => Parsed::Whole,
        Err(Some(offset)) => Parsed::TooDeep(offset),
    }
}

fn cut(text: &str, sel: &Selection<'_>) -> Result<Option<syn::File>, Option<usize>> {
    let mut calls: Vec<String> = sel.wanted.words.clone();
    calls.extend(sel.wanted.conditional.iter().flat_map(|(c, _)| c.iter().cloned()));
    let renamed = renames(text, &calls, sel.renames_of);
    let mut comments = Vec::new();
    let cutter = Cutter { text, toks: lex(text, &mut comments, sel.max_depth)? };
    let hits = Hits::new(text, &sel.wanted, renamed, &comments);
    let mut masks = Vec::new();
    cutter.masks(0, cutter.toks.len(), &hits, sel, 0, &mut masks);
    if masks.is_empty() {
        return Ok(syn::parse_file(text).ok());
    }
    let mut bytes = text.as_bytes().to_vec();
    for r in masks {
        mask(&mut bytes, r);
    }
    let Ok(masked) = String::from_utf8(bytes) else { return Ok(None) };
    Ok(syn::parse_file(&masked).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select<'a>(text: &'a str, word: &'a str) -> Option<syn::File> {
        let also = |r: std::ops::Range<usize>| text[r].contains(word);
        parse_selected(
            text,
            &Selection { wanted: Wanted::default(), renames_of: &|_| false, also: &also, max_depth: 100 },
        )
        .file()
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
        let f = parse_selected(
            text,
            &Selection { wanted: Wanted::default(), renames_of: &renames, also: &|_| false, max_depth: 100 },
        )
        .file()
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
        let sel = Selection {
            wanted: words(&["unsafe", "g"]),
            renames_of: &|_| false,
            also: &|_| false,
            max_depth: 100,
        };
        let f = parse_selected(text, &sel).file().unwrap();
        let syn::Item::Impl(i) = &f.items[0] else { panic!("impl") };
        assert_eq!(i.items.len(), 1, "only `b` is kept in the impl");
        let syn::Item::Fn(c) = &f.items[1] else { panic!("fn c") };
        assert_eq!(c.block.stmts.len(), 2, "a function body that mentions a word is kept whole");
    }

    #[test]
    fn a_function_wanted_only_for_unsafe_keeps_its_unsafe_blocks() {
        let text = "fn f(p: *const u8) -> u8 {\n    let a = unsafe { *p };\n    let v = vec![unsafe { *p }];\n    if a > 0 { unsafe { let _ = unsafe { 1 }; } }\n    let t: *const u8 = p;\n    a\n}\nfn h() { #[allow(x)] unsafe {} }\n";
        let sel = Selection {
            wanted: words(&["unsafe"]),
            renames_of: &|_| false,
            also: &|_| false,
            max_depth: 100,
        };
        let f = parse_selected(text, &sel).file().unwrap();
        let syn::Item::Fn(skel) = &f.items[0] else { panic!("fn f") };
        let blocks: Vec<(usize, usize)> = skel
            .block
            .stmts
            .iter()
            .map(|s| {
                let syn::Stmt::Expr(syn::Expr::Unsafe(u), None) = s else { panic!("{s:?}") };
                (u.unsafe_token.span.start().line, u.unsafe_token.span.start().column)
            })
            .collect();
        // The block inside `vec![..]` is not parsed by syn either; nested blocks stay nested.
        assert_eq!(blocks, [(2, 12), (4, 15)]);
        let syn::Item::Fn(h) = &f.items[1] else { panic!("fn h") };
        assert_eq!(h.block.stmts.len(), 1, "an attribute in the body keeps it whole");
        assert!(matches!(&h.block.stmts[0], syn::Stmt::Expr(syn::Expr::Unsafe(u), _) if !u.attrs.is_empty()));
    }

    fn words(w: &[&str]) -> Wanted {
        Wanted { words: w.iter().map(|w| w.to_string()).collect(), ..Wanted::default() }
    }

    fn hits(text: &str, wanted: &Wanted) -> Hits {
        let mut comments = Vec::new();
        lex(text, &mut comments, 100).expect("lexes");
        Hits::new(text, wanted, Vec::new(), &comments)
    }

    #[test]
    fn whole_words_outside_comments() {
        let read = |t: &str| hits(t, &words(&["read"])).wanted(&(0..t.len()), false);
        assert!(read("a read(b)") && !read("thread::spawn"));
        assert!(read("x.read") && !read("read_exact"));
        assert!(!read("// read\n/* read */ /** read */ f()"), "comments do not count");
        assert!(read("\"// not a comment\"; read()"));
        let flag = |t: &str| hits(t, &words(&["\"-c\""])).wanted(&(0..t.len()), false);
        assert!(flag(".arg(\"-c\")") && !flag(".arg(\"-cx\")"));
    }

    #[test]
    fn a_conditional_word_needs_its_literals_in_the_same_item() {
        let wanted = Wanted {
            words: Vec::new(),
            conditional: vec![(vec!["execute".into()], vec![vec!["format".into()]])],
            names: vec!["Box".into(), "ptr".into()],
            ..Wanted::default()
        };
        let text = "fn a() { db.execute(&q) }\nfn b() { let q = format!(\"{x}\"); db.execute(&q) }\nfn c() { format!(\"\") }\n\
                    /// A local type shadows a name a matcher resolves: kept.\n#[derive(Debug)] pub struct Box<T>(T);\nconst fn ptr() {}\nstruct Other;\n";
        let f = parse_selected(
            text,
            &Selection { wanted, renames_of: &|_| false, also: &|_| false, max_depth: 100 },
        )
        .file()
        .unwrap();
        let names: Vec<String> = f
            .items
            .iter()
            .map(|i| match i {
                syn::Item::Fn(f) => f.sig.ident.to_string(),
                syn::Item::Struct(s) => s.ident.to_string(),
                _ => "other".into(),
            })
            .collect();
        assert_eq!(names, ["b", "Box", "ptr"]);
    }

    #[test]
    fn masking_keeps_lines_and_columns() {
        // A masked item with non-ASCII text on the line of a kept one: the kept item's column
        // is counted in characters, as in the file.
        let text = "fn é() { \"ü\" } fn k() { unsafe {} }\n/* é */ fn m() {\n}\nfn z() { unsafe {} }\n";
        let f = parse_selected(
            text,
            &Selection {
                wanted: words(&["unsafe"]),
                renames_of: &|_| false,
                also: &|_| false,
                max_depth: 100,
            },
        )
        .file()
        .unwrap();
        let spans: Vec<(String, usize, usize)> = f
            .items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Fn(f) => Some((
                    f.sig.ident.to_string(),
                    f.sig.ident.span().start().line,
                    f.sig.ident.span().start().column,
                )),
                _ => None,
            })
            .collect();
        let full = syn::parse_file(text).unwrap();
        let want: Vec<(String, usize, usize)> = full
            .items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Fn(f) if f.sig.ident != "m" && f.sig.ident != "é" => Some((
                    f.sig.ident.to_string(),
                    f.sig.ident.span().start().line,
                    f.sig.ident.span().start().column,
                )),
                _ => None,
            })
            .collect();
        assert_eq!(spans, want);
        assert_eq!(spans.len(), 2);
    }

    #[test]
    fn nesting_is_measured_by_the_lexer() {
        let sel =
            Selection { wanted: words(&["unsafe"]), renames_of: &|_| false, also: &|_| false, max_depth: 3 };
        // Brackets in strings, chars and comments do not count.
        let ok = "fn f() { g([\"((((\", '(', 1]) } // ((((\n";
        assert!(matches!(parse_selected(ok, &sel), Parsed::File(_)));
        let deep = "fn f() { g([(1)]) }";
        assert!(matches!(parse_selected(deep, &sel), Parsed::TooDeep(12)));
    }

    #[test]
    fn a_bad_cut_or_bad_syntax_gives_none() {
        assert!(select("fn f( {\n", "").is_none());
        assert!(select("fn f() { let x = ; }\n", "").is_none());
    }
}
