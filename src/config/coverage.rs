//! `[coverage]`: the reports to read, fleet-wide thresholds and `no_drop`, and
//! `[[coverage.service]]` overrides.

use super::context::{Ctx, Table, Value};
use crate::checks::coverage::cfg::{CoveragePolicy, MissingFiles, ServiceSettings, Settings};
use crate::checks::coverage::model::Metric;
use toml::de::DeValue;

/// The keys `[coverage]` accepts.
pub const KEYS: &[&str] = &[
    "reports",
    "exclude",
    "baseline",
    "lines",
    "functions",
    "branches",
    "regions",
    "require_report",
    "no_drop",
    "tolerance",
    "missing_files",
    "service",
];
/// The keys of one `[[coverage.service]]` override.
pub const SERVICE_KEYS: &[&str] = &[
    "services",
    "lines",
    "functions",
    "branches",
    "regions",
    "require_report",
    "no_drop",
    "tolerance",
    "missing_files",
    "skip",
];
/// The values of `missing_files`.
pub const MISSING_FILES: &[&str] = &["list", "uncovered"];

/// Validate `[coverage]`; absent keys keep their defaults.
pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> CoveragePolicy {
    let mut out = CoveragePolicy::default();
    let Some(t) = ctx.section(root, "coverage", KEYS) else { return out };
    out.configured = true;
    out.line = ctx.line(t.span().start);
    out.reports = ctx.globs(&t, "reports").unwrap_or_default();
    out.exclude = ctx.globs(&t, "exclude").unwrap_or_default();
    let baseline = ctx.path(&t, "baseline");
    out.fleet = settings(ctx, &t);
    for o in ctx.tables(&t, "service", SERVICE_KEYS) {
        let selector = super::source::selector(ctx, &o, "services");
        let mut settings = settings(ctx, &o);
        settings.skip = ctx.boolean(&o, "skip").map(|b| b.into_inner());
        if settings == Settings::default() {
            ctx.error(
                o.span(),
                format!("`{}` sets nothing", o.name()),
                "no setting",
                Some("set a threshold (`lines = 60`), `require_report`, `no_drop`, `tolerance`, `missing_files` or `skip`".into()),
            );
        }
        if let Some(selector) = selector {
            out.services.push(ServiceSettings { selector, settings });
        }
    }
    match baseline {
        Some(b) => out.baseline = Some(b.into_inner()),
        None if out.uses_baseline() => {
            let span = t.get("no_drop").map_or_else(|| t.span(), |v| v.span());
            ctx.error(
                span,
                "`no_drop` needs a baseline to compare with: `coverage.baseline` is not set",
                "compared with what?",
                Some("record one with `fleetward baseline -o coverage-baseline.json`, commit it, and set `baseline = \"coverage-baseline.json\"`".into()),
            );
        }
        None => {}
    }
    out
}

/// The settings a table sets (the fleet-wide ones or an override's).
fn settings(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Settings {
    let mut s = Settings::default();
    for m in Metric::ALL {
        if let Some(v) = t.get(m.as_str()) {
            s.min[m.index()] = percent(ctx, &t.path_of(m.as_str()), v);
        }
    }
    s.require_report = ctx.boolean(t, "require_report").map(|b| b.into_inner());
    s.no_drop = ctx.boolean(t, "no_drop").map(|b| b.into_inner());
    if let Some(v) = t.get("tolerance") {
        s.tolerance = percent(ctx, &t.path_of("tolerance"), v);
    }
    if let Some(v) = t.get("missing_files") {
        s.missing_files = ctx.choice_value(&t.path_of("missing_files"), v, MISSING_FILES).map(|c| match c {
            "uncovered" => MissingFiles::Uncovered,
            _ => MissingFiles::List,
        });
    }
    s
}

/// A percentage from 0 to 100, as an integer or a float.
fn percent(ctx: &mut Ctx<'_>, what: &str, value: &Value<'_>) -> Option<f64> {
    let n = match value.get_ref() {
        DeValue::Integer(_) => ctx.integer_value(what, value)?.into_inner() as f64,
        DeValue::Float(f) => f.as_str().parse::<f64>().unwrap_or(f64::NAN),
        DeValue::String(s) if s.trim().ends_with('%') => {
            ctx.error(
                value.span(),
                format!("`{what}` is a string"),
                "write a number",
                Some(format!("write the number without `%`: `{}`", s.trim().trim_end_matches('%').trim())),
            );
            return None;
        }
        _ => {
            ctx.wrong_type(what, "a percentage (a number from 0 to 100)", value);
            return None;
        }
    };
    if !(0.0..=100.0).contains(&n) {
        ctx.error(
            value.span(),
            format!("`{what}` must be a percentage from 0 to 100"),
            "out of range",
            Some("write a percentage, like `80` or `72.5`".into()),
        );
        return None;
    }
    Some(n)
}
