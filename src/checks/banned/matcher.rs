//! The matcher spec of a `banned` rule (`[[rule.match]]` in a pack), and the compiled index
//! the visitor looks names up in.
//!
//! A matcher names *what* to look for: `paths` (a function, associated function, constant or
//! enum variant, written fully qualified as a user would import it), `methods` (a method call by
//! name, whatever the receiver), `macros`, `types`, `fields` (an assignment to a field, or a
//! field in a struct literal) or `impls` (an impl of a trait, by the trait's last path segment).
//! Optional `args` conditions look at literal arguments (or the assigned value for `fields`),
//! and `when` names one of a few built-in conditions that need more context than one call.

use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    #[serde(default)]
    pub macros: Vec<String>,
    #[serde(default)]
    pub types: Vec<String>,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub impls: Vec<String>,
    /// Conditions on the arguments; all must hold.
    #[serde(default)]
    pub args: Vec<ArgCond>,
    #[serde(default)]
    pub when: Option<When>,
    /// Overrides the finding message (lowercase, no trailing period); `{name}` is replaced by
    /// what was matched.
    #[serde(default)]
    pub message: Option<String>,
}

/// A condition on argument `index` (0-based; for `fields`, 0 is the assigned value).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ArgCond {
    #[serde(default)]
    pub index: usize,
    /// `true`, `false`, `literal` (a string or byte-string literal, possibly through
    /// `.as_bytes()`/`&`), `format` (built with `format!`, directly or through a local variable).
    #[serde(default)]
    pub is: Option<ArgIs>,
    /// The argument is a string literal equal to one of these.
    #[serde(default)]
    pub one_of: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ArgIs {
    True,
    False,
    Literal,
    Format,
}

/// Built-in conditions that need more than the call itself.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum When {
    /// The matched `Command::new` runs a shell and the same function passes it `-c` (or `/C`)
    /// and only literal arguments.
    ShellWithLiteralScript,
    /// As above, but some argument in the function is not a literal (`format!`, a variable).
    ShellWithBuiltScript,
    /// The call's type (turbofish, or the annotated `let`) is a reference, `Box`, `NonNull` or
    /// function pointer: a value that must never be all zeroes.
    TypeIsNonNullable,
    /// An impl's `verify_*` function returns `Ok(..::assertion())` with no condition on the way.
    VerifierAcceptsAll,
}

/// Which kind of syntax a lookup is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Path,
    Method,
    Macro,
    Type,
    Field,
    Impl,
}

/// One (rule, matcher) pair the index points to.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub rule: &'static crate::registry::Rule,
    pub matcher: &'static Matcher,
}

/// Every banned matcher of the registry, by kind and name.
#[derive(Debug, Default)]
pub struct Index {
    map: HashMap<(Kind, String), Vec<Entry>>,
    prefilter: Prefilter,
}

/// The words a file must contain for a matcher to possibly find something in it, so that the
/// engine can skip parsing files that mention none of them (most files of most services), and
/// the words an item must contain, so that it parses only those items.
///
/// Each matched name gives a conjunction of words (each word may have alternatives), chosen so
/// that no spelling the resolver understands can avoid them: the last segment of a path (a
/// `use` rename still names it in the same file; a crate-level `pub use .. as` rename is an
/// alias word of the crate, see
/// [`super::super::source::resolve::CrateIndex::alias_words`]) and, when it is not a crate
/// root, the segment before it (the module of `ptr::read`, which an import may name at the top
/// of the file; the type of `Box::from_raw`, which the call spells); method, field, macro,
/// type and impl names; `true`/`false`/`format` when a condition needs that argument; one of
/// the `-c` flags for the shell conditions. The first word is the call site's; the type of an
/// associated function and the literal arguments are in the call's item too. Words are matched
/// as whole identifiers (`read` does not match `thread`): every mention of an identifier in
/// Rust source is delimited by non-identifier characters.
#[derive(Debug, Default)]
pub struct Prefilter {
    search: Option<WordSearch>,
    /// Per matched name: all groups must hold, a group holds when one of its words was seen.
    entries: Vec<Conjunction>,
    words: Vec<String>,
}

/// Where in a file a matcher can find something (see [`Prefilter::relevant`]).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Wanted {
    /// An item that mentions one of these may hold a finding.
    pub words: Vec<String>,
    /// An item that mentions one of the first words and, for each group of the second, one of
    /// its words, may hold a finding.
    pub conditional: Vec<(Vec<String>, Vec<Vec<String>>)>,
    /// Every word of those matchers that the file mentions: an item that defines one of these
    /// names (`struct Box`, `mod ptr`) changes what a path resolves to, so it is kept too.
    pub names: Vec<String>,
    /// Every whole-identifier mention of the words of `found_words` (all of them), as (offset,
    /// index in `found_words`): the search already made, for the item selection.
    pub found: Vec<(usize, usize)>,
    pub found_words: Vec<String>,
}

impl Wanted {
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.conditional.is_empty()
    }
}

/// One matched name's words: all groups must hold in the file; the first group is what the
/// call site spells, the last `local` groups are literal arguments, spelled in the same item.
#[derive(Debug)]
struct Conjunction {
    groups: Vec<Vec<usize>>,
    local: usize,
}

/// Whether `bytes[start..end]` is not glued to identifier characters: on the left when `left`,
/// on the right when `right` (a word's edge that is not an identifier character needs no
/// delimiter).
pub fn is_delimited(bytes: &[u8], start: usize, end: usize, left: bool, right: bool) -> bool {
    let before = start.checked_sub(1).map(|i| bytes[i]);
    let after = bytes.get(end).copied();
    !((left && before.is_some_and(is_ident_byte)) || (right && after.is_some_and(is_ident_byte)))
}

/// Whether `b` can be part of an identifier (non-ASCII bytes count: identifiers may be Unicode).
pub fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl Prefilter {
    fn new(conjunctions: &[(Vec<Vec<String>>, usize)]) -> Prefilter {
        let mut words: Vec<String> =
            conjunctions.iter().flat_map(|c| c.0.iter()).flatten().cloned().collect();
        words.sort();
        words.dedup();
        let id = |w: &String| words.binary_search(w).ok();
        let entries = conjunctions
            .iter()
            .map(|(c, local)| Conjunction {
                groups: c.iter().map(|g| g.iter().filter_map(id).collect()).collect(),
                local: *local,
            })
            .collect();
        let search = WordSearch::new(&words);
        Prefilter { search, entries, words }
    }

    /// Whether `word` is one of the words.
    pub fn has_word(&self, word: &str) -> bool {
        self.words.binary_search_by(|w| w.as_str().cmp(word)).is_ok()
    }

    /// Where the matchers whose conjunction holds in `text` can find something: an item (a
    /// top-level item, or one of a module, impl or trait) that mentions one of their call-site
    /// words (the name of `Box::from_raw` or `ptr::read`, of a method, field, macro, type or
    /// trait) and, for an associated function, its type, and when they ask for literal
    /// arguments (`true`, `format!`, a `-c` flag), a word of each of those too.
    pub fn relevant(&self, text: &str) -> Wanted {
        // Without an automaton, every word is relevant: parsing more never loses a finding.
        let Some(search) = &self.search else {
            return Wanted { words: self.words.clone(), names: self.words.clone(), ..Wanted::default() };
        };
        let mut seen = vec![false; self.words.len()];
        let mut all: Vec<(usize, usize)> = Vec::new();
        search.each(text, |w, start| {
            seen[w] = true;
            all.push((start, w));
        });
        let mut plain: Vec<usize> = Vec::new();
        let mut conditional: Vec<(Vec<usize>, Vec<Vec<usize>>)> = Vec::new();
        let mut names: Vec<usize> = Vec::new();
        for e in &self.entries {
            if !e.groups.iter().all(|g| g.iter().any(|&x| seen[x])) {
                continue;
            }
            names.extend(e.groups.iter().flatten().copied().filter(|&x| seen[x]));
            let seen_of = |g: &Vec<usize>| g.iter().copied().filter(|&x| seen[x]).collect::<Vec<usize>>();
            let call = e.groups.first().map(seen_of).unwrap_or_default();
            let local: Vec<Vec<usize>> = e.groups[e.groups.len() - e.local..].iter().map(seen_of).collect();
            if local.is_empty() {
                plain.extend(call);
            } else {
                conditional.push((call, local));
            }
        }
        plain.sort_unstable();
        plain.dedup();
        conditional.sort();
        conditional.dedup();
        names.sort_unstable();
        names.dedup();
        // The mentions of the words an item selection looks for, so it need not search again.
        let mut kept: Vec<usize> = plain.clone();
        for (c, l) in &conditional {
            kept.extend(c.iter().chain(l.iter().flatten()));
        }
        kept.sort_unstable();
        kept.dedup();
        let found =
            all.into_iter().filter_map(|(start, w)| Some((start, kept.binary_search(&w).ok()?))).collect();
        let word = |i: &usize| self.words[*i].clone();
        Wanted {
            found,
            found_words: kept.iter().map(word).collect(),
            words: plain.iter().map(word).collect(),
            conditional: conditional
                .into_iter()
                .map(|(c, l)| {
                    (c.iter().map(word).collect(), l.iter().map(|g| g.iter().map(word).collect()).collect())
                })
                .collect(),
            names: names.iter().map(word).collect(),
        }
    }
}

/// Whole-identifier search for a set of words: every place where a word occurs and is not
/// part of a longer identifier (a word's edge that is not an identifier character, like the
/// quotes of `"-c"`, needs no delimiter).
///
/// Words made only of identifier characters are searched leftmost-longest, without overlaps,
/// which lets the automaton skip ahead with its prefilter; no whole-identifier mention is
/// lost: one that started inside an earlier match would follow an identifier character, and
/// a longer word matching at the same place would continue it with one. The other words (the
/// quoted flags) are few and searched with overlaps.
#[derive(Debug)]
pub struct WordSearch {
    /// The automaton and, per its pattern, the word's index.
    idents: Option<(aho_corasick::AhoCorasick, Vec<usize>)>,
    others: Option<(aho_corasick::AhoCorasick, Vec<usize>)>,
    /// Per word: its length and whether its first and last bytes are identifier characters.
    edges: Vec<(usize, bool, bool)>,
}

impl WordSearch {
    /// `None` when no automaton can be built (then every word must be assumed present).
    pub fn new(words: &[impl AsRef<str>]) -> Option<WordSearch> {
        let edges: Vec<(usize, bool, bool)> = words
            .iter()
            .map(|w| {
                let b = w.as_ref().as_bytes();
                (
                    b.len(),
                    b.first().is_some_and(|&c| is_ident_byte(c)),
                    b.last().is_some_and(|&c| is_ident_byte(c)),
                )
            })
            .collect();
        let (ident, other): (Vec<usize>, Vec<usize>) = (0..words.len())
            .filter(|&i| !words[i].as_ref().is_empty())
            .partition(|&i| words[i].as_ref().bytes().all(is_ident_byte));
        let build = |ids: Vec<usize>, kind| -> Option<Option<(aho_corasick::AhoCorasick, Vec<usize>)>> {
            if ids.is_empty() {
                return Some(None);
            }
            let ac = aho_corasick::AhoCorasick::builder()
                .match_kind(kind)
                .build(ids.iter().map(|&i| words[i].as_ref()))
                .ok()?;
            Some(Some((ac, ids)))
        };
        Some(WordSearch {
            idents: build(ident, aho_corasick::MatchKind::LeftmostLongest)?,
            others: build(other, aho_corasick::MatchKind::Standard)?,
            edges,
        })
    }

    /// Call `f(word, start)` for every whole-identifier mention, in no particular order.
    pub fn each(&self, text: &str, mut f: impl FnMut(usize, usize)) {
        let b = text.as_bytes();
        if let Some((ac, ids)) = &self.idents {
            for m in ac.find_iter(text) {
                if is_delimited(b, m.start(), m.end(), true, true) {
                    f(ids[m.pattern().as_usize()], m.start());
                }
            }
        }
        if let Some((ac, ids)) = &self.others {
            for m in ac.find_overlapping_iter(text) {
                let w = ids[m.pattern().as_usize()];
                let (_, left, right) = self.edges[w];
                if is_delimited(b, m.start(), m.end(), left, right) {
                    f(w, m.start());
                }
            }
        }
    }
}

/// The flags that make a shell run its next argument as a script.
pub const DASH_C: &[&str] = &["-c", "/c", "/C", "-Command", "-lc", "-ec"];

/// The words for one name of a matcher (see [`Prefilter`]): a conjunction of groups of
/// alternatives, the call-site group first, and how many groups at the end are literal
/// arguments.
fn anchors(kind: Kind, name: &str, m: &Matcher) -> (Vec<Vec<String>>, usize) {
    let segments: Vec<&str> = name.trim_end_matches('!').split("::").filter(|s| !s.is_empty()).collect();
    let mut out: Vec<Vec<String>> = segments.last().map(|s| vec![s.to_string()]).into_iter().collect();
    let mut before = out.len();
    if kind == Kind::Path
        && let [.., parent, last] = segments[..]
        && !matches!(parent, "std" | "core" | "alloc" | "crate")
    {
        let starts_upper = |s: &str| s.chars().next().is_some_and(char::is_uppercase);
        out.push(vec![parent.to_string()]);
        if !starts_upper(parent) || starts_upper(last) {
            // The module of `ptr::read` (or the enum of a variant) may be named only by an
            // import at the top of the file.
            before = out.len();
        }
        // An associated function cannot be imported: its call site spells both the type (or
        // a rename of it, which joins the words) and the name, so both are in its item.
    }
    for c in &m.args {
        match c.is {
            Some(ArgIs::True) => out.push(vec!["true".into()]),
            Some(ArgIs::False) => out.push(vec!["false".into()]),
            Some(ArgIs::Format) => out.push(vec!["format".into()]),
            _ => {}
        }
    }
    if matches!(m.when, Some(When::ShellWithLiteralScript | When::ShellWithBuiltScript)) {
        // The visitor asks for one of these flags as a string literal.
        out.push(DASH_C.iter().map(|f| format!("\"{f}\"")).collect());
    }
    // The visitor reads these literals in the call's arguments, in a `let` of the same block
    // (`format!`) or in the same function (the `-c` flag): within the item of the call.
    let local = out.len() - before;
    (out, local)
}

impl Index {
    pub fn from_rules(rules: impl IntoIterator<Item = &'static crate::registry::Rule>) -> Index {
        let mut index = Index::default();
        let mut conjunctions = Vec::new();
        for rule in rules.into_iter().filter(|r| r.check() == "banned") {
            for m in &rule.matchers {
                let lists: [(Kind, &Vec<String>); 6] = [
                    (Kind::Path, &m.paths),
                    (Kind::Method, &m.methods),
                    (Kind::Macro, &m.macros),
                    (Kind::Type, &m.types),
                    (Kind::Field, &m.fields),
                    (Kind::Impl, &m.impls),
                ];
                for (kind, names) in lists {
                    for n in names {
                        let key = match kind {
                            Kind::Path | Kind::Type | Kind::Macro => {
                                super::super::source::resolve::canonical_std(n)
                            }
                            _ => n.clone(),
                        };
                        conjunctions.push(anchors(kind, &key, m));
                        index.map.entry((kind, key)).or_default().push(Entry { rule, matcher: m });
                    }
                }
            }
        }
        index.prefilter = Prefilter::new(&conjunctions);
        index
    }

    /// Whether any matcher may find something in `text` ([`Prefilter`]).
    pub fn may_match(&self, text: &str) -> bool {
        !self.map.is_empty() && !self.prefilter.relevant(text).is_empty()
    }

    /// See [`Prefilter::relevant`].
    pub fn relevant(&self, text: &str) -> Wanted {
        self.prefilter.relevant(text)
    }

    /// Whether an alias of an item named `name` can matter (it stands for a prefilter word).
    pub fn is_anchor(&self, name: &str) -> bool {
        self.prefilter.has_word(name)
    }

    /// The built-in index (every registered `banned` rule).
    pub fn builtin() -> &'static Index {
        static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
        INDEX.get_or_init(|| Index::from_rules(crate::registry::rules()))
    }

    pub fn get(&self, kind: Kind, name: &str) -> &[Entry] {
        self.map.get(&(kind, name.to_string())).map_or(&[], Vec::as_slice)
    }

    pub fn has_kind(&self, kind: Kind) -> bool {
        self.map.keys().any(|(k, _)| *k == kind)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every whole-identifier mention, found the slow way.
    fn brute(words: &[&str], text: &str) -> Vec<(usize, usize)> {
        let b = text.as_bytes();
        let mut out = Vec::new();
        for (w, word) in words.iter().enumerate() {
            let wb = word.as_bytes();
            let (left, right) = (is_ident_byte(wb[0]), is_ident_byte(wb[wb.len() - 1]));
            for start in 0..b.len() {
                if b[start..].starts_with(wb) && is_delimited(b, start, start + wb.len(), left, right) {
                    out.push((w, start));
                }
            }
        }
        out.sort_unstable();
        out
    }

    #[test]
    fn word_search_finds_every_whole_identifier_mention() {
        let words = ["read", "read_unaligned", "thread", "Command", "new", "\"-c\"", "\"-Command\"", "é"];
        let texts = [
            "read(x); thread::spawn(); ptr::read_unaligned(p); xread read_exact",
            "Command::new(\"sh\").arg(\"-c\"); Command::new(\"pwsh\").arg(\"-Command\")",
            "r#read readé é é_x new_new Commander \"-cx\" read",
            "",
        ];
        let search = WordSearch::new(&words).expect("builds");
        for text in texts {
            let mut got = Vec::new();
            search.each(text, |w, start| got.push((w, start)));
            got.sort_unstable();
            assert_eq!(got, brute(&words, text), "{text}");
        }
    }
}
