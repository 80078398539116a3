//! Every rule fleetward can report, loaded from the rule packs under `rules/` (compiled in).
//! One text per rule feeds `fleetward rules ID`, the README table and SARIF rule help.

use crate::diag::Severity;
use serde::Deserialize;
use std::sync::OnceLock;

/// The built-in packs, in registration order. A test fails if a file under `rules/` is missing here.
pub const PACKS: &[(&str, &str)] = &[
    ("core.toml", include_str!("../rules/core.toml")),
    ("manifest/dependencies.toml", include_str!("../rules/manifest/dependencies.toml")),
    ("manifest/settings.toml", include_str!("../rules/manifest/settings.toml")),
    ("banned/memory.toml", include_str!("../rules/banned/memory.toml")),
    ("banned/process.toml", include_str!("../rules/banned/process.toml")),
    ("banned/tls.toml", include_str!("../rules/banned/tls.toml")),
    ("banned/jwt.toml", include_str!("../rules/banned/jwt.toml")),
    ("banned/sql.toml", include_str!("../rules/banned/sql.toml")),
    ("unsafe.toml", include_str!("../rules/unsafe.toml")),
    ("auth.toml", include_str!("../rules/auth.toml")),
    ("coverage.toml", include_str!("../rules/coverage.toml")),
    ("secrets.toml", include_str!("../rules/secrets.toml")),
    ("suppressions.toml", include_str!("../rules/suppressions.toml")),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub severity: Severity,
    /// One line, lowercase, no trailing period.
    pub summary: String,
    pub what: String,
    pub why: String,
    pub example: String,
    pub instead: String,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// What a source rule matches (`[[rule.match]]`, `banned` rules only); see
    /// [`crate::checks::banned::matcher::Matcher`].
    #[serde(default, rename = "match")]
    pub matchers: Vec<crate::checks::banned::matcher::Matcher>,
}

impl Rule {
    /// The check this rule belongs to (`advisories` for `advisories/vulnerability`).
    pub fn check(&self) -> &str {
        self.id.split('/').next().unwrap_or(&self.id)
    }

    /// The rule's documentation as markdown, with fixed headings.
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "## What it does\n\n{}\n\n## Why is this bad?\n\n{}\n\n## Example\n\n{}\n\n## Use instead\n\n{}\n",
            self.what.trim(),
            self.why.trim(),
            self.example.trim(),
            self.instead.trim()
        );
        if !self.references.is_empty() {
            s.push_str("\n## References\n\n");
            for r in &self.references {
                s.push_str(&format!("- <{r}>\n"));
            }
        }
        s
    }

    /// The same documentation as plain text.
    pub fn text(&self) -> String {
        let mut s = format!(
            "What it does:\n{}\n\nWhy is this bad?\n{}\n\nExample:\n{}\n\nUse instead:\n{}\n",
            self.what.trim(),
            self.why.trim(),
            self.example.trim(),
            self.instead.trim()
        );
        if !self.references.is_empty() {
            s.push_str("\nReferences:\n");
            for r in &self.references {
                s.push_str(&format!("  {r}\n"));
            }
        }
        s
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pack {
    rule: Vec<Rule>,
}

/// Parse a rule pack (the format of the files under `rules/`, also used for the user's own
/// packs named in the policy).
pub fn parse_pack(text: &str) -> Result<Vec<Rule>, toml::de::Error> {
    toml::from_str::<Pack>(text).map(|p| p.rule)
}

/// All built-in rules, sorted by id. Panics only if a compiled-in pack is malformed, which the
/// test suite rules out.
pub fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut all: Vec<Rule> = PACKS
            .iter()
            .flat_map(|(name, text)| {
                parse_pack(text).unwrap_or_else(|e| panic!("built-in rule pack {name} is malformed: {e}"))
            })
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    })
}

/// The rule `id`: a built-in one, else one the policy added ([`register_user_rules`]).
pub fn rule(id: &str) -> Option<&'static Rule> {
    rules().iter().find(|r| r.id == id).or_else(|| user_rules().into_iter().find(|r| r.id == id))
}

/// The severity rule `id` is documented with (`medium` for an id no pack has).
pub fn severity(id: &str) -> Severity {
    rule(id).map_or(Severity::Medium, |r| r.severity)
}

static USER_RULES: std::sync::RwLock<Vec<&'static Rule>> = std::sync::RwLock::new(Vec::new());

/// Make the rules of the policy (user packs, `[[banned.deny]]` entries) known to [`rule`], so
/// reports document them like built-in ones. A process checks with one policy; registering an
/// id again replaces the earlier rule.
pub fn register_user_rules(rules: &[&'static Rule]) {
    let mut all = USER_RULES.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    for r in rules {
        all.retain(|old| old.id != r.id);
        all.push(r);
    }
}

/// The built-in rules and those the policy added, sorted by id.
pub fn all_rules() -> Vec<&'static Rule> {
    let mut v: Vec<&'static Rule> = rules().iter().chain(user_rules()).collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// The rules registered by the policy, sorted by id.
pub fn user_rules() -> Vec<&'static Rule> {
    let mut v = USER_RULES.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// The check names of DESIGN.md §2, in the order they run.
pub const CHECKS: &[&str] = &["advisories", "banned", "unsafe", "auth", "coverage", "secrets", "manifest"];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_pack_file_is_registered() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let on_disk: BTreeSet<String> = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
            .map(|e| e.path().strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/"))
            .collect();
        let registered: BTreeSet<String> = PACKS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(on_disk, registered, "rules/ and registry::PACKS differ");
    }

    #[test]
    fn ids_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        let id_re = regex::Regex::new(r"^[a-z]+/[a-z0-9]+(-[a-z0-9]+)*$").unwrap();
        for r in rules() {
            assert!(seen.insert(r.id.clone()), "duplicate rule id {}", r.id);
            assert!(id_re.is_match(&r.id), "rule id {} is not <check>/<kebab-name>", r.id);
            assert!(
                CHECKS.contains(&r.check()) || r.check() == "fleetward",
                "rule {} belongs to no check",
                r.id
            );
            let first = r.summary.chars().next().unwrap();
            assert!(first.is_lowercase() && !r.summary.ends_with('.'), "summary style: {}", r.id);
            for url in &r.references {
                assert!(url.starts_with("https://"), "reference of {} is not an https URL", r.id);
            }
            assert!(r.tags.len() <= 10, "too many tags on {}", r.id);
        }
    }
}
