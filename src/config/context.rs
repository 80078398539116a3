//! The validation context every policy section is checked with.
//!
//! The policy file is parsed once into toml's span-keeping document ([`DeTable`] of
//! [`Spanned`] keys and values). Each section then validates its own table by hand with a
//! [`Ctx`], which owns the list of problems: nothing stops at the first mistake, so the user sees
//! every problem of the file at once, each pointing at the offending key or value.
//!
//! The shape of a section validator (see `fleet.rs` for a small one):
//!
//! ```ignore
//! pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> FleetPolicy {
//!     let mut out = FleetPolicy::default();
//!     // Absent section: defaults. Not a table, or unknown keys: problems recorded, keep going.
//!     let Some(t) = ctx.section(root, "fleet", &["service_roots", "exclude"]) else { return out };
//!     if let Some(globs) = ctx.globs(&t, "service_roots") {
//!         out.service_roots = globs;
//!     }
//!     out
//! }
//! ```
//!
//! Conventions, so every section reads and reports alike:
//! - open a table with [`Ctx::section`] (or [`Ctx::tables`] for `[[arrays]]`), listing every key
//!   it accepts: unknown keys are reported there, with a "did you mean" among those keys.
//!   Tables keyed by data (rule ids, service names) use [`Ctx::map_section`] and check each key
//!   from [`Table::entries`];
//! - read values with the typed getters ([`Ctx::string`], [`Ctx::integer`], [`Ctx::boolean`],
//!   [`Ctx::strings`], [`Ctx::severity`], [`Ctx::choices`], [`Ctx::globs`], [`Ctx::date`],
//!   [`Ctx::path`]). A getter returns `None` when the key is absent *or* invalid; in the second
//!   case it has already recorded the problem, so the caller just keeps the default;
//! - the `*_value` forms check one value (an array element, a `[severity]` entry) the same way;
//! - anything else is reported with [`Ctx::error`] at a span taken from the table
//!   ([`Table::key_span`], [`Table::span`]) or the value ([`Spanned::span`]);
//! - messages are lowercase without a trailing period, name the key in backticks, and the
//!   help says how to fix it.

use super::{ConfigProblem, PolicyGlob};
use crate::diag::Severity;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A parsed TOML value with its byte range in the policy file.
pub type Value<'i> = Spanned<DeValue<'i>>;

/// A table of the policy file being validated: its entries, its dotted name for messages
/// (`advisories`, `advisories.ignore[2]`, empty for the top level) and its span (the
/// `[header]`, the inline table, or the start of the file for the top level).
pub struct Table<'a, 'i> {
    name: String,
    span: Range<usize>,
    entries: &'a DeTable<'i>,
}

impl<'a, 'i> Table<'a, 'i> {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.entries.get(key)
    }

    /// The span of `key` itself (where "unknown key" and "bad key" problems point), falling
    /// back to the table's span.
    pub fn key_span(&self, key: &str) -> Range<usize> {
        self.entries.get_key_value(key).map_or_else(|| self.span.clone(), |(k, _)| k.span())
    }

    /// The table's span: its header, or the inline table.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The table's dotted name, empty for the top level.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `key` as the user would write it in a message: `fail_on`, `advisories.db`.
    pub fn path_of(&self, key: &str) -> String {
        if self.name.is_empty() { key.to_string() } else { format!("{}.{key}", self.name) }
    }

    /// Every entry, in file order: (key, key span, value).
    pub fn entries(&self) -> impl Iterator<Item = (&'a str, Range<usize>, &'a Value<'i>)> {
        self.entries.iter().map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
    }

    /// How the table is referred to in messages: ``in `[fleet]` `` or `at the top level`.
    fn where_(&self) -> String {
        if self.name.is_empty() {
            "at the top level".to_string()
        } else if self.name.ends_with(']') {
            format!("in `{}`", self.name)
        } else {
            format!("in `[{}]`", self.name)
        }
    }
}

/// The shared validation state: the policy text (for line numbers), the directory relative
/// paths are resolved against, and every problem found so far.
pub struct Ctx<'s> {
    src: &'s str,
    base_dir: PathBuf,
    problems: Vec<ConfigProblem>,
}

impl<'s> Ctx<'s> {
    /// A context for the policy text `src`, whose relative paths are relative to `base_dir`
    /// (the policy file's directory).
    pub fn new(src: &'s str, base_dir: &Path) -> Ctx<'s> {
        Ctx { src, base_dir: base_dir.to_path_buf(), problems: Vec::new() }
    }

    /// Every problem recorded, in file order (problems at the same place keep the order they
    /// were found in).
    pub fn finish(mut self) -> Vec<ConfigProblem> {
        self.problems.sort_by_key(|p| p.span.offset());
        self.problems
    }

    /// How many problems so far.
    pub fn problem_count(&self) -> usize {
        self.problems.len()
    }

    /// Record a problem. `label` is printed under the span, `help` after the snippet.
    pub fn error(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        self.problems.push(ConfigProblem {
            message: message.into(),
            span: span.into(),
            label: label.into(),
            help,
        });
    }

    /// 1-based line of a byte offset in the policy file.
    pub fn line(&self, offset: usize) -> u32 {
        crate::diag::line_col(self.src, offset).0
    }

    /// `did you mean `x`?` for the candidate closest to `word`, if one is close enough.
    pub fn did_you_mean(word: &str, candidates: &[&str]) -> Option<String> {
        crate::commands::closest(word, candidates).map(|c| format!("did you mean `{c}`?"))
    }

    /// The did-you-mean if there is one, else the list of accepted values (`what: a, b`).
    pub fn suggest(word: &str, candidates: &[&str], what: &str) -> String {
        Self::did_you_mean(word, candidates).unwrap_or_else(|| {
            let list = candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
            format!("{what}: {list}")
        })
    }

    // ----- tables -------------------------------------------------------------------------

    /// The top-level table. Unknown keys are reported against `known`.
    pub fn root<'a, 'i>(&mut self, doc: &'a Spanned<DeTable<'i>>, known: &[&str]) -> Table<'a, 'i> {
        let table = Table { name: String::new(), span: 0..0, entries: doc.get_ref() };
        self.unknown_keys(&table, known);
        table
    }

    /// The sub-table `key` of `parent`, with its unknown keys reported against `known`. `None`
    /// when absent, or not a table (reported).
    pub fn section<'a, 'i>(
        &mut self,
        parent: &Table<'a, 'i>,
        key: &str,
        known: &[&str],
    ) -> Option<Table<'a, 'i>> {
        let value = parent.get(key)?;
        self.table_value(parent.path_of(key), value, known)
    }

    /// The sub-table `key` of `parent` whose keys are free-form (rule ids, service names): the
    /// caller checks each key itself. `None` when absent, or not a table (reported).
    pub fn map_section<'a, 'i>(&mut self, parent: &Table<'a, 'i>, key: &str) -> Option<Table<'a, 'i>> {
        let value = parent.get(key)?;
        self.as_table(parent.path_of(key), value)
    }

    /// One value that must be a table, named `name` in messages, with its unknown keys
    /// reported against `known`.
    pub fn table_value<'a, 'i>(
        &mut self,
        name: String,
        value: &'a Value<'i>,
        known: &[&str],
    ) -> Option<Table<'a, 'i>> {
        let table = self.as_table(name, value)?;
        self.unknown_keys(&table, known);
        Some(table)
    }

    fn as_table<'a, 'i>(&mut self, name: String, value: &'a Value<'i>) -> Option<Table<'a, 'i>> {
        let DeValue::Table(entries) = value.get_ref() else {
            self.wrong_type(&name, "a table", value);
            return None;
        };
        Some(Table { name, span: value.span(), entries })
    }

    /// The array of tables `key` of `parent` (`[[advisories.ignore]]`, or an array of inline
    /// tables), each named `key[n]` (1-based) and checked against `known`. Elements that are
    /// not tables are reported and skipped.
    pub fn tables<'a, 'i>(
        &mut self,
        parent: &Table<'a, 'i>,
        key: &str,
        known: &[&str],
    ) -> Vec<Table<'a, 'i>> {
        let Some(items) = self.array(parent, key) else { return Vec::new() };
        let name = parent.path_of(key);
        items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| self.table_value(format!("{name}[{}]", i + 1), v, known))
            .collect()
    }

    fn unknown_keys(&mut self, table: &Table<'_, '_>, known: &[&str]) {
        for (key, span, _) in table.entries() {
            if known.contains(&key) {
                continue;
            }
            let help = Self::suggest(key, known, &format!("known keys {}", table.where_()));
            self.error(span, format!("unknown key `{key}` {}", table.where_()), "unknown key", Some(help));
        }
    }

    /// Report that `what` should be `expected` ("a string") but `value` is something else.
    pub fn wrong_type(&mut self, what: &str, expected: &str, value: &Value<'_>) {
        let found = type_name(value.get_ref());
        self.error(
            value.span(),
            format!("invalid `{what}`: expected {expected}, found {found}"),
            format!("expected {expected}"),
            None,
        );
    }

    // ----- scalars ------------------------------------------------------------------------

    /// A required key: reports "missing `key`" on the table's header when absent.
    pub fn required<'a, 'i>(
        &mut self,
        table: &Table<'a, 'i>,
        key: &str,
        help: &str,
    ) -> Option<&'a Value<'i>> {
        let value = table.get(key);
        if value.is_none() {
            let name =
                if table.name.is_empty() { "the top level".to_string() } else { format!("`{}`", table.name) };
            self.error(
                table.span(),
                format!("missing `{key}` in {name}"),
                format!("`{key}` is required here"),
                Some(help.to_string()),
            );
        }
        value
    }

    /// The string `key` of `table`.
    pub fn string(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Spanned<String>> {
        let value = table.get(key)?;
        self.string_value(&table.path_of(key), value)
    }

    /// `value` as a string (`what` names it in messages).
    pub fn string_value(&mut self, what: &str, value: &Value<'_>) -> Option<Spanned<String>> {
        match value.get_ref() {
            DeValue::String(s) => Some(Spanned::new(value.span(), s.to_string())),
            _ => {
                self.wrong_type(what, "a string", value);
                None
            }
        }
    }

    /// `value` as a string that is not empty or blank.
    pub fn non_empty_string_value(&mut self, what: &str, value: &Value<'_>) -> Option<Spanned<String>> {
        let s = self.string_value(what, value)?;
        if s.get_ref().trim().is_empty() {
            self.error(s.span(), format!("empty string for `{what}`"), "empty", None);
            return None;
        }
        Some(s)
    }

    /// The integer `key` of `table`.
    pub fn integer(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Spanned<i64>> {
        let value = table.get(key)?;
        self.integer_value(&table.path_of(key), value)
    }

    /// `value` as an integer (in any TOML radix; out of `i64` range is reported).
    pub fn integer_value(&mut self, what: &str, value: &Value<'_>) -> Option<Spanned<i64>> {
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(Spanned::new(value.span(), n)),
                Err(_) => {
                    self.error(value.span(), format!("`{what}` is out of range"), "too large", None);
                    None
                }
            },
            _ => {
                self.wrong_type(what, "an integer", value);
                None
            }
        }
    }

    /// The boolean `key` of `table`.
    pub fn boolean(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Spanned<bool>> {
        let value = table.get(key)?;
        match value.get_ref() {
            DeValue::Boolean(b) => Some(Spanned::new(value.span(), *b)),
            _ => {
                self.wrong_type(&table.path_of(key), "a boolean", value);
                None
            }
        }
    }

    /// The array `key` of `table`.
    pub fn array<'a, 'i>(&mut self, table: &Table<'a, 'i>, key: &str) -> Option<&'a [Value<'i>]> {
        let value = table.get(key)?;
        match value.get_ref() {
            DeValue::Array(items) => Some(items),
            _ => {
                self.wrong_type(&table.path_of(key), "an array", value);
                None
            }
        }
    }

    /// The array of strings `key` of `table`; elements of other types are reported and
    /// skipped.
    pub fn strings(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Vec<Spanned<String>>> {
        let items = self.array(table, key)?;
        let what = table.path_of(key);
        Some(items.iter().filter_map(|v| self.non_empty_string_value(&what, v)).collect())
    }

    // ----- domain values ------------------------------------------------------------------

    /// The severity `key` of `table` (`info`, `low`, `medium`, `high`, `critical`).
    pub fn severity(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Severity> {
        let value = table.get(key)?;
        self.severity_value(&table.path_of(key), value)
    }

    /// `value` as a severity.
    pub fn severity_value(&mut self, what: &str, value: &Value<'_>) -> Option<Severity> {
        let s = self.string_value(what, value)?;
        if let Some(sev) = Severity::parse(s.get_ref()) {
            return Some(sev);
        }
        let names: Vec<&str> = Severity::ALL.iter().rev().map(|s| s.as_str()).collect();
        self.error(
            s.span(),
            format!("unknown severity `{}` for `{what}`", s.get_ref()),
            "not a severity",
            Some(Self::suggest(s.get_ref(), &names, "severities are")),
        );
        None
    }

    /// The array `key` of `table`, every element one of `allowed` (duplicates dropped).
    pub fn choices(
        &mut self,
        table: &Table<'_, '_>,
        key: &str,
        allowed: &[&'static str],
    ) -> Option<Vec<&'static str>> {
        let items = self.array(table, key)?;
        let what = table.path_of(key);
        let mut out = Vec::new();
        for v in items {
            if let Some(c) = self.choice_value(&what, v, allowed)
                && !out.contains(&c)
            {
                out.push(c);
            }
        }
        Some(out)
    }

    /// `value` as one of `allowed`.
    pub fn choice_value(
        &mut self,
        what: &str,
        value: &Value<'_>,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let s = self.string_value(what, value)?;
        if let Some(c) = allowed.iter().find(|a| **a == s.get_ref().as_str()) {
            return Some(c);
        }
        self.error(
            s.span(),
            format!("unknown value `{}` in `{what}`", s.get_ref()),
            "unknown value",
            Some(Self::suggest(s.get_ref(), allowed, "expected one of")),
        );
        None
    }

    /// The array of globs `key` of `table` (relative to the repository root, `/`-separated,
    /// `*` does not cross `/`, `**` does).
    pub fn globs(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Vec<PolicyGlob>> {
        let items = self.array(table, key)?;
        let what = table.path_of(key);
        Some(items.iter().filter_map(|v| self.glob_value(&what, v)).collect())
    }

    /// `value` as a glob relative to the repository root.
    pub fn glob_value(&mut self, what: &str, value: &Value<'_>) -> Option<PolicyGlob> {
        let s = self.non_empty_string_value(what, value)?;
        let pattern = s.get_ref();
        if pattern.starts_with('/') || pattern.starts_with("./") || pattern.contains('\\') {
            self.error(
                s.span(),
                format!("glob `{pattern}` in `{what}` is not a relative `/`-separated path"),
                "never matches",
                Some(format!(
                    "globs are matched against paths relative to the repository root, like `{}`",
                    pattern.trim_start_matches("./").trim_start_matches('/').replace('\\', "/")
                )),
            );
            return None;
        }
        match PolicyGlob::new(pattern) {
            Ok(g) => Some(g),
            Err(e) => {
                let reason = e.kind().to_string();
                self.error(
                    s.span(),
                    format!("invalid glob `{pattern}` in `{what}`: {reason}"),
                    "invalid glob",
                    None,
                );
                None
            }
        }
    }

    /// The date `key` of `table`: a TOML local date (`2026-12-31`) or a `"YYYY-MM-DD"` string.
    pub fn date(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Spanned<jiff::civil::Date>> {
        let value = table.get(key)?;
        self.date_value(&table.path_of(key), value)
    }

    /// `value` as a date.
    pub fn date_value(&mut self, what: &str, value: &Value<'_>) -> Option<Spanned<jiff::civil::Date>> {
        const HELP: &str = "write a date like 2026-12-31 (a TOML date or a \"YYYY-MM-DD\" string)";
        let parts = match value.get_ref() {
            DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => Some((i64::from(d.year), i64::from(d.month), i64::from(d.day))),
                _ => None,
            },
            DeValue::String(s) => {
                static DATE: LazyLock<regex::Regex> =
                    LazyLock::new(|| regex::Regex::new(r"^(\d{4})-(\d{2})-(\d{2})$").expect("valid regex"));
                DATE.captures(s).map(|c| {
                    let n = |i: usize| c[i].parse::<i64>().unwrap_or(0);
                    (n(1), n(2), n(3))
                })
            }
            _ => {
                self.wrong_type(what, "a date", value);
                return None;
            }
        };
        let date = parts.and_then(|(y, m, d)| {
            jiff::civil::Date::new(i16::try_from(y).ok()?, i8::try_from(m).ok()?, i8::try_from(d).ok()?).ok()
        });
        if date.is_none() {
            self.error(
                value.span(),
                format!("invalid date for `{what}`"),
                "not a valid date",
                Some(HELP.into()),
            );
        }
        date.map(|d| Spanned::new(value.span(), d))
    }

    /// `path` as written in the policy, resolved against the policy file's directory.
    pub fn resolve(&self, path: &str) -> PathBuf {
        self.base_dir.join(path)
    }

    /// The path `key` of `table`, resolved against the policy file's directory.
    pub fn path(&mut self, table: &Table<'_, '_>, key: &str) -> Option<Spanned<PathBuf>> {
        let value = table.get(key)?;
        let s = self.non_empty_string_value(&table.path_of(key), value)?;
        let path = self.base_dir.join(s.get_ref());
        Some(Spanned::new(s.span(), path))
    }
}

/// "a string", "an integer", ... for type errors.
pub fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}
