//! `[advisories]`: where the RustSec database is, how old it may be, which informational
//! advisories count, and `[[advisories.ignore]]` exceptions.

use super::context::{Ctx, Table, Value};
use super::{AdvisoriesPolicy, AdvisoryIgnore, INFORMATIONAL, PolicyGlob};
use std::sync::LazyLock;
use toml::de::DeValue;

/// The keys `[advisories]` accepts.
pub const KEYS: &[&str] = &["db", "max_db_age", "informational", "ignore"];
/// The keys of one `[[advisories.ignore]]` entry.
pub const IGNORE_KEYS: &[&str] = &["id", "reason", "expires", "services"];

/// Validate `[advisories]`; absent keys keep their defaults.
pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> AdvisoriesPolicy {
    let mut out = AdvisoriesPolicy::default();
    let Some(t) = ctx.section(root, "advisories", KEYS) else { return out };
    if let Some(db) = ctx.path(&t, "db") {
        out.db = Some(db.into_inner());
    }
    if let Some(value) = t.get("max_db_age")
        && let Some(days) = max_db_age(ctx, value)
    {
        out.max_db_age_days = days;
    }
    if let Some(kinds) = ctx.choices(&t, "informational", INFORMATIONAL) {
        out.informational = kinds.into_iter().map(String::from).collect();
    }
    out.ignore = ctx.tables(&t, "ignore", IGNORE_KEYS).iter().filter_map(|e| ignore_entry(ctx, e)).collect();
    out
}

/// `max_db_age`: a number of days, as an integer or a string like `"90d"`; 0 disables.
fn max_db_age(ctx: &mut Ctx<'_>, value: &Value<'_>) -> Option<u32> {
    const HELP: &str = "write a number of days, like 90 or \"90d\" (0 disables the check)";
    static DAYS: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"^(\d+)d$").expect("valid regex"));
    let days = match value.get_ref() {
        DeValue::Integer(_) => ctx.integer_value("advisories.max_db_age", value)?.into_inner(),
        DeValue::String(s) => match DAYS.captures(s.trim()).and_then(|c| c[1].parse::<i64>().ok()) {
            Some(n) => n,
            None => {
                ctx.error(
                    value.span(),
                    format!("invalid `advisories.max_db_age`: `{s}` is not a number of days"),
                    "not a number of days",
                    Some(HELP.into()),
                );
                return None;
            }
        },
        _ => {
            ctx.wrong_type("advisories.max_db_age", "an integer or a string like \"90d\"", value);
            return None;
        }
    };
    match u32::try_from(days) {
        Ok(d) => Some(d),
        Err(_) => {
            let why = if days < 0 { "negative" } else { "too large" };
            ctx.error(value.span(), format!("`advisories.max_db_age` is {why}"), why, Some(HELP.into()));
            None
        }
    }
}

/// The advisory id shapes accepted: RustSec ids and their CVE and GHSA aliases.
fn is_advisory_id(id: &str) -> bool {
    static ID: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"^(RUSTSEC-\d{4}-\d{4}|CVE-\d{4}-\d{4,}|GHSA(-[0-9a-z]{4}){3})$")
            .expect("valid regex")
    });
    ID.is_match(id)
}

/// One `[[advisories.ignore]]` entry. Every problem of the entry is reported; the entry is kept
/// only when all of them are fine.
fn ignore_entry(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<AdvisoryIgnore> {
    let before = ctx.problem_count();
    let what = t.name().to_string();
    let id = ctx
        .required(t, "id", "name the advisory, like `id = \"RUSTSEC-2023-0071\"`")
        .and_then(|v| ctx.string_value(&format!("{what}.id"), v));
    if let Some(id) = &id
        && !is_advisory_id(id.get_ref())
    {
        let upper = id.get_ref().trim().to_uppercase();
        let help = if is_advisory_id(&upper) {
            format!("write it `{upper}`")
        } else {
            "advisory ids look like RUSTSEC-2023-0071, CVE-2023-12345 or GHSA-xxxx-xxxx-xxxx".into()
        };
        ctx.error(
            id.span(),
            format!("`{}` is not an advisory id", id.get_ref()),
            "not an advisory id",
            Some(help),
        );
    }
    let reason = ctx
        .required(
            t,
            "reason",
            "say why this advisory is accepted, like `reason = \"not reachable: we never decrypt\"`",
        )
        .and_then(|v| ctx.non_empty_string_value(&format!("{what}.reason"), v));
    let expires = ctx.date(t, "expires").map(|d| d.into_inner());
    let services = match ctx.strings(t, "services") {
        Some(list) => list
            .into_iter()
            .filter(|s| {
                let is_glob = s.get_ref().contains(['*', '?', '[', '{']);
                if is_glob && let Err(e) = PolicyGlob::new(s.get_ref()) {
                    ctx.error(
                        s.span(),
                        format!("invalid glob `{}` in `{what}.services`: {}", s.get_ref(), e.kind()),
                        "invalid glob",
                        None,
                    );
                    return false;
                }
                true
            })
            .map(|s| s.into_inner())
            .collect(),
        None => Vec::new(),
    };
    if ctx.problem_count() > before {
        return None;
    }
    let id = id?;
    let line = ctx.line(t.key_span("id").start);
    Some(AdvisoryIgnore { id: id.into_inner(), reason: reason?.into_inner(), expires, services, line })
}
