//! `[manifest]`: the fleet's dependency and manifest policy.
//!
//! ```toml
//! [manifest]
//! dev_dependencies = false        # do dev-dependencies count? (default no)
//! build_dependencies = true       # do build-dependencies count? (default yes)
//!
//! [[manifest.ban]]
//! crate = "openssl"               # the crate's real name
//! versions = "<0.10.60"           # optional: only these versions
//! direct_only = false             # optional: only as a direct dependency
//! reason = "one TLS stack: rustls"
//! use_instead = "rustls"
//! allow = [{ services = ["legacy-*"], reason = "migrating", expires = 2027-03-31 }]
//!
//! [[manifest.required]]
//! crate = "acme-telemetry"        # every service depends on it directly
//! versions = ">=2.1"              # optional
//! services = ["services/*"]       # optional: only these
//! reason = "audit logs go through our telemetry"
//!
//! [manifest.drift]
//! crates = ["tokio", "serde"]     # or "all"
//! level = "minor"                 # "major" (default) or "minor"
//! versions = { tokio = "1.40" }   # the fleet's chosen version (else the most common one)
//! max_versions = 2                # versions of one crate in one lockfile
//! duplicates_allowed = ["windows-sys"]
//!
//! [manifest.sources]
//! registries = ["crates-io"]
//! git_hosts = ["github.com/acme"]
//! require_git_rev = true
//! wildcard = true                 # report `*` requirements (default)
//! path_outside_repository = true  # report path dependencies leaving the repository (default)
//!
//! [manifest.require]
//! unsafe_code_forbid = true       # [lints.rust] unsafe_code = "forbid", or inherited
//! edition = "2021"                # at least
//! unpublished = true              # services set publish = false
//! license = true
//! release_overflow_checks = true  # the workspace root's [profile.release]
//! release_panic = "abort"
//! libraries = false               # apply to libraries too
//!
//! [[manifest.service]]
//! services = ["legacy-*"]
//! edition = "2018"                # any `require` key, or
//! skip = true                     # no manifest check at all
//! ```

use super::context::{Ctx, Table, Value};
use crate::checks::manifest::cfg::{
    Ban, BanAllow, Drift, DriftCrates, DriftLevel, ManifestPolicy, Require, RequiredCrate, ServiceRequire,
    Sources,
};
use toml::de::DeValue;

pub const KEYS: &[&str] =
    &["dev_dependencies", "build_dependencies", "ban", "required", "drift", "sources", "require", "service"];
pub const REQUIRED_KEYS: &[&str] = &["crate", "versions", "services", "reason"];
pub const BAN_KEYS: &[&str] = &["crate", "versions", "direct_only", "reason", "use_instead", "allow"];
pub const ALLOW_KEYS: &[&str] = &["services", "reason", "expires"];
pub const DRIFT_KEYS: &[&str] = &["crates", "level", "versions", "max_versions", "duplicates_allowed"];
pub const SOURCES_KEYS: &[&str] =
    &["registries", "git_hosts", "require_git_rev", "wildcard", "path_outside_repository"];
pub const REQUIRE_KEYS: &[&str] = &[
    "unsafe_code_forbid",
    "edition",
    "unpublished",
    "license",
    "release_overflow_checks",
    "release_panic",
    "libraries",
];
pub const EDITIONS: &[&str] = &["2015", "2018", "2021", "2024"];
pub const PANIC: &[&str] = &["abort", "unwind"];
pub const LEVELS: &[&str] = &["major", "minor"];

/// Validate `[manifest]`; absent keys keep their defaults.
pub(super) fn validate(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> ManifestPolicy {
    let mut out = ManifestPolicy { build_dependencies: true, ..ManifestPolicy::default() };
    let Some(t) = ctx.section(root, "manifest", KEYS) else { return out };
    out.configured = true;
    if let Some(b) = ctx.boolean(&t, "dev_dependencies") {
        out.dev_dependencies = b.into_inner();
    }
    if let Some(b) = ctx.boolean(&t, "build_dependencies") {
        out.build_dependencies = b.into_inner();
    }
    out.bans = ctx.tables(&t, "ban", BAN_KEYS).iter().filter_map(|b| ban(ctx, b)).collect();
    out.required =
        ctx.tables(&t, "required", REQUIRED_KEYS).iter().filter_map(|r| required(ctx, r)).collect();
    if let Some(d) = ctx.section(&t, "drift", DRIFT_KEYS) {
        out.drift = drift(ctx, &d);
    }
    if let Some(s) = ctx.section(&t, "sources", SOURCES_KEYS) {
        out.sources = sources(ctx, &s);
    }
    if let Some(r) = ctx.section(&t, "require", REQUIRE_KEYS) {
        out.require = require(ctx, &r);
    }
    let mut service_keys: Vec<&str> = REQUIRE_KEYS.to_vec();
    service_keys.extend(["services", "skip"]);
    for o in ctx.tables(&t, "service", &service_keys) {
        let selector = super::source::selector(ctx, &o, "services");
        let require = require(ctx, &o);
        let skip = ctx.boolean(&o, "skip").is_some_and(|b| b.into_inner());
        if require == Require::default() && !skip {
            ctx.error(
                o.span(),
                format!("`{}` sets nothing", o.name()),
                "no setting",
                Some(
                    "set a requirement (`edition = \"2018\"`, `license = false`, ...) or `skip = true`"
                        .into(),
                ),
            );
        }
        if let Some(selector) = selector {
            out.services.push(ServiceRequire { selector, require, skip });
        }
    }
    out
}

/// A crate name as cargo accepts it.
fn crate_name(ctx: &mut Ctx<'_>, what: &str, value: &Value<'_>) -> Option<String> {
    let s = ctx.non_empty_string_value(what, value)?;
    let name = s.get_ref();
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.len() <= 64;
    if !ok {
        ctx.error(
            s.span(),
            format!("`{name}` in `{what}` is not a crate name"),
            "not a crate name",
            Some("crate names start with a letter and have only ASCII letters, digits, `-` and `_`".into()),
        );
        return None;
    }
    Some(name.clone())
}

/// `versions` of an entry, as a cargo requirement.
fn versions(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<semver::VersionReq> {
    let what = t.name().to_string();
    t.get("versions").and_then(|v| {
        let s = ctx.non_empty_string_value(&format!("{what}.versions"), v)?;
        match semver::VersionReq::parse(s.get_ref()) {
            Ok(r) => Some(r),
            Err(e) => {
                ctx.error(
                    s.span(),
                    format!("`{}` in `{what}.versions` is not a version range: {e}", s.get_ref()),
                    "not a version range",
                    Some("write a cargo requirement, like \"<0.10.60\" or \">=1, <1.4\"".into()),
                );
                None
            }
        }
    })
}

fn required(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<RequiredCrate> {
    let before = ctx.problem_count();
    let what = t.name().to_string();
    let name = ctx
        .required(t, "crate", "name the crate, like `crate = \"acme-telemetry\"`")
        .and_then(|v| crate_name(ctx, &format!("{what}.crate"), v));
    let versions = versions(ctx, t);
    let selector = super::source::optional_selector(ctx, t, "services");
    let reason = ctx
        .required(t, "reason", "say why every service needs it, like `reason = \"audit logging\"`")
        .and_then(|v| ctx.non_empty_string_value(&format!("{what}.reason"), v));
    if ctx.problem_count() > before {
        return None;
    }
    Some(RequiredCrate {
        name: name?,
        versions,
        selector,
        reason: reason?.into_inner(),
        line: ctx.line(t.span().start),
    })
}

fn ban(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Option<Ban> {
    let before = ctx.problem_count();
    let what = t.name().to_string();
    let name = ctx
        .required(t, "crate", "name the crate, like `crate = \"openssl\"`")
        .and_then(|v| crate_name(ctx, &format!("{what}.crate"), v));
    let versions = versions(ctx, t);
    let direct_only = ctx.boolean(t, "direct_only").is_some_and(|b| b.into_inner());
    let reason = ctx
        .required(t, "reason", "say why the crate is banned, like `reason = \"one TLS stack: rustls\"`")
        .and_then(|v| ctx.non_empty_string_value(&format!("{what}.reason"), v));
    let use_instead = t.get("use_instead").and_then(|v| crate_name(ctx, &format!("{what}.use_instead"), v));
    let allow = ctx
        .tables(t, "allow", ALLOW_KEYS)
        .iter()
        .filter_map(|a| {
            let selector = super::source::selector(ctx, a, "services");
            let reason = ctx
                .required(
                    a,
                    "reason",
                    "say why these services may use it, like `reason = \"migrating by March\"`",
                )
                .and_then(|v| ctx.non_empty_string_value(&format!("{}.reason", a.name()), v));
            let expires = ctx.date(a, "expires").map(|d| d.into_inner());
            Some(BanAllow {
                selector: selector?,
                reason: reason?.into_inner(),
                expires,
                line: ctx.line(a.span().start),
            })
        })
        .collect();
    if ctx.problem_count() > before {
        return None;
    }
    Some(Ban {
        name: name?,
        versions,
        direct_only,
        reason: reason?.into_inner(),
        use_instead,
        allow,
        line: ctx.line(t.span().start),
    })
}

fn drift(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Drift {
    let mut out = Drift { line: ctx.line(t.span().start), ..Drift::default() };
    if let Some(v) = t.get("crates") {
        out.crates = match v.get_ref() {
            DeValue::String(s) if s == "all" => DriftCrates::All,
            DeValue::Array(items) => DriftCrates::Named(
                items.iter().filter_map(|i| crate_name(ctx, "manifest.drift.crates", i)).collect(),
            ),
            _ => {
                ctx.wrong_type("manifest.drift.crates", "\"all\" or an array of crate names", v);
                DriftCrates::None
            }
        };
    }
    if let Some(v) = t.get("level")
        && let Some(level) = ctx.choice_value("manifest.drift.level", v, LEVELS)
    {
        out.level = if level == "minor" { DriftLevel::Minor } else { DriftLevel::Major };
    }
    if let Some(v) = t.get("versions") {
        match v.get_ref() {
            DeValue::Table(entries) => {
                for (k, val) in entries.iter() {
                    let what = format!("manifest.drift.versions.{}", k.get_ref());
                    let Some(s) = ctx.non_empty_string_value(&what, val) else { continue };
                    match parse_partial_version(s.get_ref()) {
                        Some(version) => {
                            out.chosen.insert(k.get_ref().to_string(), (version, ctx.line(val.span().start)));
                        }
                        None => ctx.error(
                            s.span(),
                            format!("`{}` in `{what}` is not a version", s.get_ref()),
                            "not a version",
                            Some("write the version the fleet uses, like \"1.40\" or \"1\"".into()),
                        ),
                    }
                }
            }
            _ => ctx.wrong_type("manifest.drift.versions", "a table of crate = \"version\"", v),
        }
    }
    if let Some(n) = ctx.integer(t, "max_versions") {
        match u32::try_from(*n.get_ref()) {
            Ok(m) if m >= 1 => out.max_versions = Some(m),
            _ => ctx.error(
                n.span(),
                "`manifest.drift.max_versions` must be at least 1",
                "out of range",
                Some("1 allows a single version of each crate per lockfile".into()),
            ),
        }
    }
    if let Some(items) = ctx.array(t, "duplicates_allowed") {
        out.duplicates_allowed =
            items.iter().filter_map(|i| crate_name(ctx, "manifest.drift.duplicates_allowed", i)).collect();
    }
    out
}

/// `"1"`, `"1.40"` or `"1.40.2"` as a version (missing parts are 0).
fn parse_partial_version(s: &str) -> Option<semver::Version> {
    let parts: Vec<&str> = s.trim().split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let n: Vec<u64> = parts.iter().map(|p| p.parse().ok()).collect::<Option<_>>()?;
    Some(semver::Version::new(n[0], n.get(1).copied().unwrap_or(0), n.get(2).copied().unwrap_or(0)))
}

fn sources(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Sources {
    let mut out = Sources { line: ctx.line(t.span().start), ..Sources::default() };
    out.registries = ctx.strings(t, "registries").map(|v| v.into_iter().map(|s| s.into_inner()).collect());
    out.git_hosts = ctx.strings(t, "git_hosts").map(|v| {
        v.into_iter()
            .map(|s| s.into_inner().trim_start_matches("https://").trim_end_matches('/').to_string())
            .collect()
    });
    if let Some(b) = ctx.boolean(t, "require_git_rev") {
        out.require_git_rev = b.into_inner();
    }
    if let Some(b) = ctx.boolean(t, "wildcard") {
        out.wildcard = b.into_inner();
    }
    if let Some(b) = ctx.boolean(t, "path_outside_repository") {
        out.path_outside_repository = b.into_inner();
    }
    out
}

fn require(ctx: &mut Ctx<'_>, t: &Table<'_, '_>) -> Require {
    let b = |ctx: &mut Ctx<'_>, key: &str| ctx.boolean(t, key).map(|b| b.into_inner());
    Require {
        unsafe_code_forbid: b(ctx, "unsafe_code_forbid"),
        min_edition: t
            .get("edition")
            .and_then(|v| ctx.choice_value(&t.path_of("edition"), v, EDITIONS))
            .map(str::to_string),
        services_unpublished: b(ctx, "unpublished"),
        license: b(ctx, "license"),
        release_overflow_checks: b(ctx, "release_overflow_checks"),
        release_panic: t
            .get("release_panic")
            .and_then(|v| ctx.choice_value(&t.path_of("release_panic"), v, PANIC))
            .map(str::to_string),
        libraries: b(ctx, "libraries"),
    }
}
