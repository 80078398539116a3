//! `[banned]`: the user's own rule packs, names banned inline, rules turned off, severities,
//! exceptions and per-service overrides (see [`crate::checks::banned::cfg`] for the meaning).
//! Packs and `deny` entries are read first, so every rule id the section names can be checked
//! against the built-in rules and the policy's own.

use super::context::{Ctx, Table, Value};
use crate::checks::banned::cfg::{BannedConfig, Exception, ServicePolicy};
use crate::checks::banned::matcher::Matcher;
use crate::diag::Severity;
use crate::registry::{self, Rule};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The keys `[banned]` accepts.
pub const KEYS: &[&str] = &["packs", "disable", "severity", "deny", "exception", "service"];
/// The keys of one `[[banned.deny]]` entry.
pub const DENY_KEYS: &[&str] =
    &["id", "path", "method", "macro", "type", "reason", "replacement", "severity"];
/// The keys of one `[[banned.exception]]` entry.
pub const EXCEPTION_KEYS: &[&str] = &["rule", "reason", "expires", "services", "paths"];
/// The keys of one `[[banned.service]]` override.
pub const SERVICE_KEYS: &[&str] = &["services", "disable", "enable", "severity"];

static RULE_ID: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"^banned/[a-z0-9]+(-[a-z0-9]+)*$").expect("valid regex"));

/// Validate `[banned]`.
pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> BannedConfig {
    let Some(t) = ctx.section(root, "banned", KEYS) else { return BannedConfig::default() };
    let mut rules: Vec<&'static Rule> = Vec::new();
    if let Some(packs) = ctx.array(&t, "packs") {
        for v in packs {
            rules.extend(pack(ctx, v, &rules));
        }
    }
    for d in ctx.tables(&t, "deny", DENY_KEYS) {
        if let Some(rule) = deny(ctx, &d, &rules) {
            rules.push(rule);
        }
    }
    let mut known: Vec<&str> =
        registry::rules().iter().filter(|r| r.check() == "banned").map(|r| r.id.as_str()).collect();
    known.extend(rules.iter().map(|r| r.id.as_str()));
    let mut out = BannedConfig {
        disable: rule_list(ctx, &t, "disable", &known),
        severity: severities(ctx, &t, &known),
        ..BannedConfig::default()
    };
    out.exceptions = ctx
        .tables(&t, "exception", EXCEPTION_KEYS)
        .iter()
        .filter_map(|e| exception(ctx, e, &known))
        .collect();
    for s in ctx.tables(&t, "service", SERVICE_KEYS) {
        let selector = super::source::selector(ctx, &s, "services");
        let policy = ServicePolicy {
            selector: selector.unwrap_or(crate::checks::source::cfg::ServiceSelector {
                names: Vec::new(),
                paths: Vec::new(),
            }),
            disable: rule_list(ctx, &s, "disable", &known),
            enable: rule_list(ctx, &s, "enable", &known),
            severity: severities(ctx, &s, &known),
        };
        out.services.push(policy);
    }
    out.with_rules(rules)
}

/// Whether `id` names a banned rule the policy knows (or every one, `banned/*`); reports it
/// at `value` when not.
fn known_rule(ctx: &mut Ctx<'_>, what: &str, id: &str, span: std::ops::Range<usize>, known: &[&str]) -> bool {
    if id == "banned/*" || known.contains(&id) {
        return true;
    }
    let help = if id.contains('/') && !id.starts_with("banned/") {
        "only `banned/...` rules can be named here; `[severity]` takes any rule".to_string()
    } else {
        Ctx::suggest(id, known, "banned rules are")
    };
    ctx.error(span, format!("unknown rule `{id}` in `{what}`"), "unknown banned rule", Some(help));
    false
}

fn rule_list(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str, known: &[&str]) -> Vec<String> {
    let what = t.path_of(key);
    ctx.strings(t, key)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| known_rule(ctx, &what, s.get_ref(), s.span(), known))
        .map(|s| s.into_inner())
        .collect()
}

fn severities(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, known: &[&str]) -> BTreeMap<String, Severity> {
    let mut out = BTreeMap::new();
    let Some(m) = ctx.map_section(t, "severity") else { return out };
    for (key, span, value) in m.entries() {
        let ok = known_rule(ctx, m.name(), key, span, known);
        let sev = ctx.severity_value(&format!("{}.\"{key}\"", m.name()), value);
        if let (true, Some(sev)) = (ok, sev) {
            out.insert(key.to_string(), sev);
        }
    }
    out
}

fn exception(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, known: &[&str]) -> Option<Exception> {
    let before = ctx.problem_count();
    let what = t.name().to_string();
    let rule = ctx
        .required(t, "rule", "name the rule, like `rule = \"banned/memory-transmute\"`")
        .and_then(|v| ctx.string_value(&format!("{what}.rule"), v));
    if let Some(r) = &rule {
        known_rule(ctx, &format!("{what}.rule"), r.get_ref(), r.span(), known);
    }
    let reason = ctx
        .required(
            t,
            "reason",
            "say why these findings are accepted, like `reason = \"FFI boundary, fuzzed\"`",
        )
        .and_then(|v| ctx.non_empty_string_value(&format!("{what}.reason"), v));
    let expires = ctx.date(t, "expires").map(|d| d.into_inner());
    let services = super::source::optional_selector(ctx, t, "services");
    let paths = ctx.globs(t, "paths").unwrap_or_default();
    if ctx.problem_count() > before {
        return None;
    }
    Some(Exception {
        rule: rule?.into_inner(),
        reason: reason?.into_inner(),
        expires,
        services,
        paths,
        line: ctx.line(t.key_span("rule").start),
    })
}

/// One entry of `packs`: read the file, parse it as a rule pack, check its rules.
fn pack(ctx: &mut Ctx<'_>, value: &Value<'_>, earlier: &[&'static Rule]) -> Vec<&'static Rule> {
    let Some(s) = ctx.non_empty_string_value("banned.packs", value) else { return Vec::new() };
    let path = ctx.resolve(s.get_ref());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            ctx.error(
                s.span(),
                format!("cannot read rule pack `{}`: {e}", s.get_ref()),
                "unreadable rule pack",
                Some("pack paths are relative to the policy file".into()),
            );
            return Vec::new();
        }
    };
    let rules = match registry::parse_pack(&text) {
        Ok(r) => r,
        Err(e) => {
            let line = e.span().map_or(1, |sp| text[..sp.start.min(text.len())].lines().count().max(1));
            ctx.error(
                s.span(),
                format!("invalid rule pack `{}` (line {line}): {}", s.get_ref(), e.message().trim()),
                "invalid rule pack",
                Some("a pack has the format of fleetward's own `rules/banned/*.toml`; see `fleetward rules <id>` for the fields".into()),
            );
            return Vec::new();
        }
    };
    let mut out: Vec<&'static Rule> = Vec::new();
    for rule in rules {
        let problem = if !RULE_ID.is_match(&rule.id) {
            Some("user rule ids are `banned/<kebab-case-name>`".to_string())
        } else if registry::rules().iter().any(|r| r.id == rule.id) {
            Some("a built-in rule has this id; choose another name".to_string())
        } else if earlier.iter().chain(&out).any(|r| r.id == rule.id) {
            Some("an earlier pack or deny entry has this id".to_string())
        } else if rule.matchers.is_empty() || rule.matchers.iter().any(names_nothing) {
            Some(
                "every rule needs `[[rule.match]]` naming paths, methods, macros, types, fields or impls"
                    .into(),
            )
        } else {
            None
        };
        match problem {
            Some(help) => ctx.error(
                s.span(),
                format!("rule `{}` in pack `{}` is not usable", rule.id, s.get_ref()),
                "invalid rule",
                Some(help),
            ),
            None => out.push(Box::leak(Box::new(rule))),
        }
    }
    out
}

fn names_nothing(m: &Matcher) -> bool {
    [&m.paths, &m.methods, &m.macros, &m.types, &m.fields, &m.impls].iter().all(|k| k.is_empty())
}

/// One `[[banned.deny]]` entry, turned into a rule of its own.
fn deny(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, earlier: &[&'static Rule]) -> Option<&'static Rule> {
    let before = ctx.problem_count();
    let what = t.name().to_string();
    let kinds = ["path", "method", "macro", "type"];
    let given: Vec<&str> = kinds.iter().copied().filter(|k| t.get(k).is_some()).collect();
    if given.len() != 1 {
        ctx.error(
            t.span(),
            format!("`{what}` must name exactly one of `path`, `method`, `macro`, `type`"),
            if given.is_empty() { "names nothing" } else { "names more than one thing" },
            Some("one entry per banned name, like `path = \"std::process::exit\"`".into()),
        );
    }
    let kind = given.first().copied().unwrap_or("path");
    let name = t.get(kind).and_then(|v| ctx.non_empty_string_value(&format!("{what}.{kind}"), v));
    let reason = ctx
        .required(
            t,
            "reason",
            "say why it is banned, like `reason = \"services stop through the supervisor\"`",
        )
        .and_then(|v| ctx.non_empty_string_value(&format!("{what}.reason"), v));
    let replacement =
        t.get("replacement").and_then(|v| ctx.non_empty_string_value(&format!("{what}.replacement"), v));
    let severity = ctx.severity(t, "severity").unwrap_or(Severity::Medium);
    let id = ctx.string(t, "id");
    if ctx.problem_count() > before {
        return None;
    }
    let (name, reason) = (name?.into_inner(), reason?.into_inner());
    let last = name.trim_end_matches('!').rsplit("::").next().unwrap_or(&name).to_string();
    let id = match id {
        Some(id) if !RULE_ID.is_match(id.get_ref()) => {
            ctx.error(
                id.span(),
                format!("`{}` is not a banned rule id", id.get_ref()),
                "bad id",
                Some("write `banned/<kebab-case-name>`".into()),
            );
            return None;
        }
        Some(id) => id.into_inner(),
        None => format!("banned/policy-{}", kebab(&last)),
    };
    if registry::rules().iter().chain(earlier.iter().copied()).any(|r| r.id == id) {
        ctx.error(
            t.span(),
            format!("`{what}` would be rule `{id}`, which already exists"),
            "duplicate rule id",
            Some("give the entry its own `id = \"banned/...\"`".into()),
        );
        return None;
    }
    let mut matcher = Matcher {
        message: Some(format!("`{{name}}` is banned by the fleet policy: {reason}")),
        ..Matcher::default()
    };
    let (shown, example) = match kind {
        "method" => {
            matcher.methods.push(name.clone());
            (format!("method `.{name}(..)`"), format!("value.{name}(..)"))
        }
        "macro" => {
            let m = name.trim_end_matches('!').to_string();
            matcher.macros.push(m.clone());
            (format!("macro `{m}!`"), format!("{m}!(..)"))
        }
        "type" => {
            matcher.types.push(name.clone());
            (format!("type `{name}`"), format!("let value: {name} = ..;"))
        }
        _ => {
            matcher.paths.push(name.clone());
            (format!("`{name}`"), format!("{name}(..)"))
        }
    };
    let rule = Rule {
        id,
        name: "banned by the fleet policy".into(),
        severity,
        summary: format!("{shown} is banned by the fleet policy"),
        what: if kind == "method" {
            format!(
                "Finds calls of the {shown} on any receiver: methods are matched by name, since the \
                 receiver's type is not known without compiling. Added by a `[[banned.deny]]` entry of \
                 the policy."
            )
        } else {
            format!(
                "Finds {shown}, resolved like the built-in banned rules (imports, renames, re-exports, \
                 aliases). Added by a `[[banned.deny]]` entry of the policy."
            )
        },
        why: reason,
        example: format!("```rust\n{example}\n```"),
        instead: replacement.map_or_else(|| "Ask the owners of the fleet policy.".into(), |r| r.into_inner()),
        references: Vec::new(),
        tags: vec!["policy".into()],
        matchers: vec![matcher],
    };
    Some(Box::leak(Box::new(rule)))
}

fn kebab(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}
