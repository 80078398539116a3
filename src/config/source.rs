//! `[source]` (what the source engine scans) and `[unsafe]` (the unsafe policy, per service);
//! `[banned]` is validated in `banned.rs`. Also the `services = [..]` selector shared by every
//! per-service override.

use super::PolicyGlob;
use super::context::{Ctx, Table};
use crate::checks::source::cfg::{ServiceOverride, ServiceSelector, SourceConfig, UnsafeMode, UnsafePolicy};
use std::sync::LazyLock;
use toml::de::DeValue;

/// The keys `[source]` accepts.
pub const SOURCE_KEYS: &[&str] =
    &["skip_test_code", "skip_dirs", "max_file_size", "scan_orphan_files", "prefilter"];
/// The keys `[unsafe]` accepts.
pub const UNSAFE_KEYS: &[&str] = &["mode", "service"];
/// The keys of one `[[unsafe.service]]` override.
pub const UNSAFE_SERVICE_KEYS: &[&str] = &["services", "mode"];
/// The values of `unsafe.mode`.
pub const UNSAFE_MODES: &[&str] = &["require-safety-comment", "deny", "allow"];

/// Validate `[source]`, `[unsafe]` and `[banned]`; absent keys keep their defaults.
pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> SourceConfig {
    let mut out = SourceConfig::default();
    if let Some(t) = ctx.section(root, "source", SOURCE_KEYS) {
        if let Some(b) = ctx.boolean(&t, "skip_test_code") {
            out.skip_test_code = b.into_inner();
        }
        if let Some(dirs) = ctx.strings(&t, "skip_dirs") {
            out.skip_dirs = dirs
                .into_iter()
                .filter(|d| {
                    let ok = !d.get_ref().contains(['/', '\\', '*']);
                    if !ok {
                        ctx.error(
                            d.span(),
                            format!("`{}` in `source.skip_dirs` is not a directory name", d.get_ref()),
                            "not a plain directory name",
                            Some("name top-level directories of a package, like \"tests\"; use `[fleet] exclude` for paths and globs".into()),
                        );
                    }
                    ok
                })
                .map(|d| d.into_inner())
                .collect();
        }
        if let Some(v) = t.get("max_file_size")
            && let Some(bytes) = byte_size(ctx, "source.max_file_size", v)
        {
            out.max_file_bytes = bytes;
        }
        if let Some(b) = ctx.boolean(&t, "scan_orphan_files") {
            out.scan_orphan_files = b.into_inner();
        }
        if let Some(b) = ctx.boolean(&t, "prefilter") {
            out.prefilter = b.into_inner();
        }
    }
    if let Some(t) = ctx.section(root, "unsafe", UNSAFE_KEYS) {
        out.unsafe_policy = unsafe_policy(ctx, &t);
    }
    out.banned = super::banned::validate(ctx, root);
    out
}

fn unsafe_mode(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<UnsafeMode> {
    let value = t.get("mode")?;
    let mode = ctx.choice_value(&t.path_of("mode"), value, UNSAFE_MODES)?;
    Some(match mode {
        "deny" => UnsafeMode::Deny,
        "allow" => UnsafeMode::Allow,
        _ => UnsafeMode::RequireSafetyComment,
    })
}

fn unsafe_policy(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> UnsafePolicy {
    let mut out = UnsafePolicy { mode: unsafe_mode(ctx, t).unwrap_or_default(), overrides: Vec::new() };
    for o in ctx.tables(t, "service", UNSAFE_SERVICE_KEYS) {
        let selector = selector(ctx, &o, "services");
        if o.get("mode").is_none() {
            ctx.required(&o, "mode", "say which mode applies to these services, like `mode = \"deny\"`");
        }
        if let (Some(selector), Some(value)) = (selector, unsafe_mode(ctx, &o)) {
            out.overrides.push(ServiceOverride { selector, value });
        }
    }
    out
}

/// A size in bytes: an integer, or a string like `"8MiB"`, `"512KiB"`, `"2MB"`.
fn byte_size(ctx: &mut Ctx<'_>, what: &str, value: &super::context::Value<'_>) -> Option<u64> {
    const HELP: &str = "write a number of bytes, or a size like \"8MiB\" or \"512KiB\"";
    static SIZE: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"^(?i)(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?$").expect("valid regex"));
    let bytes = match value.get_ref() {
        DeValue::Integer(_) => u64::try_from(ctx.integer_value(what, value)?.into_inner()).ok(),
        DeValue::String(s) => SIZE.captures(s.trim()).and_then(|c| {
            let n: u64 = c[1].parse().ok()?;
            let unit = c.get(2).map_or("b".to_string(), |u| u.as_str().to_ascii_lowercase());
            let mul: u64 = match unit.as_str() {
                "kb" => 1000,
                "kib" => 1024,
                "mb" => 1000 * 1000,
                "mib" => 1024 * 1024,
                "gb" => 1000 * 1000 * 1000,
                "gib" => 1024 * 1024 * 1024,
                _ => 1,
            };
            n.checked_mul(mul)
        }),
        _ => {
            ctx.wrong_type(what, "an integer or a string like \"8MiB\"", value);
            return None;
        }
    };
    match bytes {
        Some(b) if b > 0 => Some(b),
        _ => {
            ctx.error(value.span(), format!("invalid size for `{what}`"), "not a size", Some(HELP.into()));
            None
        }
    }
}

/// The required `key` of an override table: service names, package directories, or globs
/// matched against both (`legacy-*`, `services/payments/**`).
pub(super) fn selector(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str) -> Option<ServiceSelector> {
    let help = format!("name the services, like `{key} = [\"billing\", \"services/legacy-*\"]`");
    let value = ctx.required(t, key, &help)?;
    let span = value.span();
    optional_selector(ctx, t, key).filter(|s| {
        let empty = s.names.is_empty() && s.paths.is_empty();
        if empty {
            ctx.error(
                span.clone(),
                format!("`{}` is empty", t.path_of(key)),
                "selects nothing",
                Some(help.clone()),
            );
        }
        !empty
    })
}

/// Like [`selector`], but the key may be absent (`None`: every service).
pub(super) fn optional_selector(ctx: &mut Ctx<'_>, t: &Table<'_, '_>, key: &str) -> Option<ServiceSelector> {
    let entries = ctx.strings(t, key)?;
    let what = t.path_of(key);
    let mut sel = ServiceSelector { names: Vec::new(), paths: Vec::new() };
    for e in entries {
        let s = e.get_ref();
        if s.contains(['*', '?', '[', '{']) {
            match PolicyGlob::new(s) {
                Ok(g) => sel.paths.push(g),
                Err(err) => ctx.error(
                    e.span(),
                    format!("invalid glob `{s}` in `{what}`: {}", err.kind()),
                    "invalid glob",
                    None,
                ),
            }
        } else {
            sel.names.push(s.trim_end_matches('/').to_string());
        }
    }
    Some(sel)
}
