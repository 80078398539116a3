//! `[severity]`: per-rule severity overrides, `"check/rule" = "severity"`, or
//! `"check/*" = "severity"` for every rule of a check.

use super::context::{Ctx, Table};
use crate::diag::Severity;
use crate::registry::CHECKS;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Checks whose rule names are fixed by fleetward (DESIGN.md §3), so an unknown name there is a
/// typo. The other checks also take rules from rule packs, so any well-formed name is accepted.
const CLOSED_CHECKS: &[&str] = &["advisories", "fleetward"];

/// Validate `[severity]`: every key a rule id or `check/*` of a known check, every value a
/// severity.
pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> BTreeMap<String, Severity> {
    let mut out = BTreeMap::new();
    let Some(t) = ctx.map_section(root, "severity") else { return out };
    for (key, key_span, value) in t.entries() {
        let key_ok = check_rule_key(ctx, key, key_span);
        let severity = ctx.severity_value(&format!("severity.\"{key}\""), value);
        if let (true, Some(severity)) = (key_ok, severity) {
            out.insert(key.to_string(), severity);
        }
    }
    out
}

/// Report a `[severity]` key that is not `check/rule-name` or `check/*` of a known check.
fn check_rule_key(ctx: &mut Ctx<'_>, key: &str, span: std::ops::Range<usize>) -> bool {
    static NAME: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"^([a-z0-9]+(-[a-z0-9]+)*|\*)$").expect("valid regex"));
    let mut checks: Vec<&str> = CHECKS.to_vec();
    checks.push("fleetward");
    let Some((check, name)) = key.split_once('/') else {
        let help = if checks.contains(&key) {
            format!("write `\"{key}/*\"` for every rule of the `{key}` check")
        } else {
            "keys are rule ids like `\"advisories/unmaintained\"`, or `\"advisories/*\"` for a whole check"
                .into()
        };
        ctx.error(span, format!("`{key}` in `[severity]` is not a rule id"), "not `check/rule`", Some(help));
        return false;
    };
    if !checks.contains(&check) {
        let help = Ctx::suggest(check, &checks, "checks are");
        ctx.error(span, format!("unknown check `{check}` in `[severity]`"), "unknown check", Some(help));
        return false;
    }
    if !NAME.is_match(name) {
        ctx.error(
            span,
            format!("`{key}` in `[severity]` is not a rule id"),
            "bad rule name",
            Some(
                "rule names are kebab-case (`advisories/unmaintained`), or `*` for every rule of the check"
                    .into(),
            ),
        );
        return false;
    }
    if name != "*" && CLOSED_CHECKS.contains(&check) {
        let known: Vec<&str> =
            crate::registry::rules().iter().filter(|r| r.check() == check).map(|r| r.id.as_str()).collect();
        if !known.contains(&key) {
            let help = Ctx::suggest(key, &known, &format!("rules of `{check}` are"));
            ctx.error(span, format!("unknown rule `{key}` in `[severity]`"), "unknown rule", Some(help));
            return false;
        }
    }
    true
}
