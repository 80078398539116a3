//! `manifest/unsafe-code-not-forbidden`, `manifest/old-edition`, `manifest/service-publishable`,
//! `manifest/missing-license`, `manifest/release-overflow-checks` and `manifest/release-panic`:
//! the settings `[manifest.require]` (with the `[[manifest.service]]` overrides) asks of every
//! service, and of libraries too with `libraries = true`.
//!
//! Each finding is located where the setting is (or would be) written: the key in the package's
//! manifest, or, for a value inherited with `key.workspace = true`, the key in the workspace
//! root's `[workspace.package]` / `[workspace.lints]`, reported once with every package that
//! inherits it. `[profile.release]` is read from the workspace root manifest only (cargo ignores
//! profiles elsewhere) and reported there once per workspace.

use super::sources::{Grouped, Item};
use crate::checks::CheckCtx;
use crate::checks::manifest::cfg::Require;
use crate::diag::Sink;
use crate::workspace::{
    Fleet, LintsDecl, Package, PackageFields, PackageKind, Setting, SettingValue, Settings, Spot,
};

pub const UNSAFE_CODE_NOT_FORBIDDEN: &str = "manifest/unsafe-code-not-forbidden";
pub const OLD_EDITION: &str = "manifest/old-edition";
pub const SERVICE_PUBLISHABLE: &str = "manifest/service-publishable";
pub const MISSING_LICENSE: &str = "manifest/missing-license";
pub const RELEASE_OVERFLOW_CHECKS: &str = "manifest/release-overflow-checks";
pub const RELEASE_PANIC: &str = "manifest/release-panic";

pub fn check(ctx: &CheckCtx<'_>, sink: &Sink) {
    let policy = &ctx.policy.manifest;
    let fleet = ctx.fleet;
    let mut out = Grouped::default();
    for p in &fleet.packages {
        let Some(r) = policy.require_for(p) else { continue };
        if p.kind != PackageKind::Service && r.libraries != Some(true) {
            continue;
        }
        let Some(own) = fleet.settings_of(&p.manifest) else { continue };
        let pkg = Pkg { fleet, p, own, root: fleet.inherits_from(p) };
        if r.unsafe_code_forbid == Some(true) {
            pkg.unsafe_code(&mut out);
        }
        if let Some(min) = &r.min_edition {
            pkg.edition(min, &mut out);
        }
        if r.services_unpublished == Some(true) && p.kind == PackageKind::Service {
            pkg.publish(&mut out);
        }
        if r.license == Some(true) {
            pkg.license(&mut out);
        }
        pkg.profile(&r, &mut out);
    }
    out.emit(sink);
}

/// Where a finding goes: `spot` of `file`, reached from the package's `via` (its
/// `workspace = true`) when `file` is the workspace root.
#[derive(Clone, Copy)]
struct At<'a> {
    file: &'a str,
    spot: Spot,
    via: Option<Spot>,
}

impl<'a> At<'a> {
    fn new(file: &'a str, spot: Spot) -> At<'a> {
        At { file, spot, via: None }
    }
}

/// One package with its manifest's settings and those of the root it inherits from.
struct Pkg<'a> {
    fleet: &'a Fleet,
    p: &'a Package,
    own: &'a Settings,
    root: Option<(&'a str, &'a Settings)>,
}

/// One inheritable field of `[package]` / `[workspace.package]`.
type Field = fn(&PackageFields) -> &Setting;

/// Where an inheritable field's value comes from.
enum Resolved<'a> {
    /// Written in `file` at `spot`: the package's manifest, or the root's `[workspace.package]`
    /// (then with the package's `key.workspace = true`).
    Value(&'a SettingValue, At<'a>),
    /// `key.workspace = true` at `spot` of the package's manifest, but the root sets nothing.
    InheritMissing(Spot),
    /// Not written: the `[package]` header of the package's manifest.
    Absent(Spot),
}

impl<'a> Pkg<'a> {
    fn resolve(&self, field: Field) -> Resolved<'a> {
        let manifest = self.p.manifest.as_str();
        match field(&self.own.package) {
            Setting::Value(v, spot) => Resolved::Value(v, At::new(manifest, *spot)),
            Setting::Inherit(spot) => match self.root.map(|(f, s)| (f, field(&s.workspace_package))) {
                Some((file, Setting::Value(v, rspot))) => {
                    Resolved::Value(v, At { file, spot: *rspot, via: Some(*spot) })
                }
                _ => Resolved::InheritMissing(*spot),
            },
            Setting::Absent => Resolved::Absent(self.own.anchor()),
        }
    }

    /// A finding about this package at `at`; when `at` is in another manifest (the workspace
    /// root), the package's own line is a related location.
    fn add(&self, out: &mut Grouped, rule: &'static str, at: At<'_>, message: String, key: &str, help: &str) {
        let manifest = self.p.manifest.as_str();
        let related = (at.file != manifest).then(|| {
            let what = match rule {
                RELEASE_OVERFLOW_CHECKS | RELEASE_PANIC => {
                    format!("`{}` is built with this profile", self.p.name)
                }
                _ => format!("`{}` inherits it", self.p.name),
            };
            (manifest, at.via.unwrap_or_else(|| self.own.anchor()).span(), what)
        });
        out.add(Item {
            rule,
            file: at.file,
            span: at.spot.span(),
            message,
            key: key.to_string(),
            help: help.to_string(),
            service: &self.p.name,
            related,
        });
    }

    fn unsafe_code(&self, out: &mut Grouped) {
        const KEY: &str = "lints.rust.unsafe_code";
        const HELP: &str = "add `[lints.rust] unsafe_code = \"forbid\"` (or `[lints] workspace = true` with it in the root's `[workspace.lints.rust]`)";
        let manifest = self.p.manifest.as_str();
        let Some(lints) = &self.own.lints else {
            let msg = "no `[lints.rust] unsafe_code = \"forbid\"`: `unsafe` code is allowed".to_string();
            let at = At::new(manifest, self.own.anchor());
            return self.add(out, UNSAFE_CODE_NOT_FORBIDDEN, at, msg, KEY, HELP);
        };
        if let Some(ws_spot) = lints.workspace {
            match self.root.and_then(|(f, s)| s.workspace_lints.as_ref().map(|l| (f, l))) {
                Some((file, wl)) => {
                    let at = |spot| At { file, spot, via: Some(ws_spot) };
                    self.lints_table(out, at, wl, "[workspace.lints.rust]", "[workspace.lints]")
                }
                None => {
                    let msg = "`[lints] workspace = true` but the workspace root has no `[workspace.lints]`: `unsafe` code is allowed".to_string();
                    self.add(out, UNSAFE_CODE_NOT_FORBIDDEN, At::new(manifest, ws_spot), msg, KEY, HELP);
                }
            }
            return;
        }
        self.lints_table(out, |spot| At::new(manifest, spot), lints, "[lints.rust]", "[lints]");
    }

    /// `unsafe_code` in a `[lints]` or `[workspace.lints]` table (`at` places a key of it).
    fn lints_table<'f>(
        &self,
        out: &mut Grouped,
        at: impl Fn(Spot) -> At<'f>,
        l: &LintsDecl,
        rust: &str,
        table: &str,
    ) {
        const HELP: &str = "set `unsafe_code = \"forbid\"`: `deny` and `warn` can be overridden by an `#[allow(unsafe_code)]` in the code";
        let key = format!("{}.unsafe_code", table.trim_matches(['[', ']']));
        match &l.unsafe_code {
            Some((Some(level), _)) if level == "forbid" => {}
            Some((level, spot)) => {
                let level =
                    level.as_deref().map_or_else(|| "not a lint level".to_string(), |l| format!("\"{l}\""));
                let msg =
                    format!("`{rust} unsafe_code` is {level}, not \"forbid\": `unsafe` code can be allowed");
                self.add(out, UNSAFE_CODE_NOT_FORBIDDEN, at(*spot), msg, &key, HELP);
            }
            None => {
                let msg = format!(
                    "`{table}` does not set `rust.unsafe_code = \"forbid\"`: `unsafe` code is allowed"
                );
                self.add(out, UNSAFE_CODE_NOT_FORBIDDEN, at(l.rust.unwrap_or(l.at)), msg, &key, HELP);
            }
        }
    }

    fn edition(&self, min: &str, out: &mut Grouped) {
        let Ok(min_n) = min.parse::<u32>() else { return };
        let key = format!("edition>={min}");
        let help = format!("set `edition = \"{min}\"` (or newer) and run `cargo fix --edition` first");
        let manifest = self.p.manifest.as_str();
        match self.resolve(|f| &f.edition) {
            Resolved::Value(SettingValue::Str(e), at) => {
                if e.parse::<u32>().is_ok_and(|n| n < min_n) {
                    let msg = if at.via.is_some() {
                        format!("`[workspace.package] edition` {e} is older than the required {min}")
                    } else {
                        format!("edition {e} is older than the required {min}")
                    };
                    self.add(out, OLD_EDITION, at, msg, &key, &help);
                }
            }
            Resolved::Value(..) => {}
            Resolved::InheritMissing(spot) => {
                let msg = format!(
                    "`edition.workspace = true` but the workspace root sets no `[workspace.package] edition` (2015 at best, the policy requires {min})"
                );
                self.add(out, OLD_EDITION, At::new(manifest, spot), msg, &key, &help);
            }
            Resolved::Absent(spot) => {
                if 2015 < min_n {
                    let msg = format!("no `edition`: cargo builds it as 2015, older than the required {min}");
                    self.add(out, OLD_EDITION, At::new(manifest, spot), msg, &key, &help);
                }
            }
        }
    }

    fn publish(&self, out: &mut Grouped) {
        const KEY: &str = "publish";
        const HELP: &str = "set `publish = false` in `[package]`: a service is deployed, never published";
        let manifest = self.p.manifest.as_str();
        match self.resolve(|f| &f.publish) {
            Resolved::Value(v, at) => {
                let (what, where_) = match v {
                    SettingValue::Bool(false) => return,
                    SettingValue::Strings(r) if r.is_empty() => return,
                    SettingValue::Bool(true) => ("is `true`".to_string(), " to crates.io"),
                    SettingValue::Strings(r) => (
                        format!(
                            "lists registries {}",
                            r.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
                        ),
                        " there",
                    ),
                    _ => ("is neither `false` nor `[]`".to_string(), ""),
                };
                let msg = if at.via.is_some() {
                    format!(
                        "`[workspace.package] publish` {what}: `cargo publish` would upload the services inheriting it{where_}"
                    )
                } else {
                    format!("`publish` {what}: `cargo publish` would upload this service{where_}")
                };
                self.add(out, SERVICE_PUBLISHABLE, at, msg, KEY, HELP);
            }
            Resolved::InheritMissing(spot) => {
                let msg = "`publish.workspace = true` but the workspace root sets no `[workspace.package] publish`: `cargo publish` would upload this service to crates.io".to_string();
                self.add(out, SERVICE_PUBLISHABLE, At::new(manifest, spot), msg, KEY, HELP);
            }
            Resolved::Absent(spot) => {
                let msg = "no `publish = false`: `cargo publish` would upload this service to crates.io"
                    .to_string();
                self.add(out, SERVICE_PUBLISHABLE, At::new(manifest, spot), msg, KEY, HELP);
            }
        }
    }

    fn license(&self, out: &mut Grouped) {
        const KEY: &str = "license";
        const HELP: &str = "set `license = \"<SPDX expression>\"` (or `license-file`), or inherit it from `[workspace.package]`";
        let manifest = self.p.manifest.as_str();
        let mut problem = None;
        let fields: [(&str, Field); 2] = [("license", |f| &f.license), ("license-file", |f| &f.license_file)];
        for (name, field) in fields {
            match self.resolve(field) {
                Resolved::Value(SettingValue::Str(s), _) if !s.trim().is_empty() => return,
                Resolved::Value(_, at) => {
                    let msg = if at.via.is_some() {
                        format!("`[workspace.package] {name}` is empty or not a string")
                    } else {
                        format!("`{name}` is empty or not a string")
                    };
                    problem.get_or_insert((at, msg));
                }
                Resolved::InheritMissing(spot) => {
                    let msg = format!(
                        "`{name}.workspace = true` but the workspace root sets no `[workspace.package] {name}`"
                    );
                    problem.get_or_insert((At::new(manifest, spot), msg));
                }
                Resolved::Absent(_) => {}
            }
        }
        let (at, msg) = problem.unwrap_or_else(|| {
            (At::new(manifest, self.own.anchor()), "no `license` nor `license-file`".to_string())
        });
        self.add(out, MISSING_LICENSE, at, msg, KEY, HELP);
    }

    /// The workspace root's `[profile.release]` (`overflow-checks`, `panic`).
    fn profile(&self, r: &Require, out: &mut Grouped) {
        let want_overflow = r.release_overflow_checks == Some(true);
        if !want_overflow && r.release_panic.is_none() {
            return;
        }
        let Some(ws) = self.fleet.workspace_root_of(self.p) else { return };
        let Some(root) = self.fleet.settings_of(&ws.manifest) else { return };
        let file = ws.manifest.as_str();
        let release = root.profile_release.as_ref();
        // where a missing key goes: `[profile.release]`, else `[profile.*]`, else the workspace
        let table = At::new(
            file,
            release.map(|p| p.at).or(root.profile_at).unwrap_or_else(|| root.workspace_anchor()),
        );
        if want_overflow {
            const HELP: &str = "set `overflow-checks = true` in the workspace root's `[profile.release]`";
            let key = "profile.release.overflow-checks";
            match release.map(|p| &p.overflow_checks) {
                Some(Setting::Value(SettingValue::Bool(true), _)) => {}
                Some(Setting::Value(v, spot)) => {
                    let v = match v {
                        SettingValue::Bool(b) => b.to_string(),
                        _ => "not a boolean".to_string(),
                    };
                    let msg = format!(
                        "`[profile.release] overflow-checks = {v}`: integer overflow wraps silently in release builds"
                    );
                    self.add(out, RELEASE_OVERFLOW_CHECKS, At::new(file, *spot), msg, key, HELP);
                }
                _ => {
                    let msg = "`[profile.release]` does not set `overflow-checks = true`: integer overflow wraps silently in release builds".to_string();
                    self.add(out, RELEASE_OVERFLOW_CHECKS, table, msg, key, HELP);
                }
            }
        }
        if let Some(want) = &r.release_panic {
            let help = format!("set `panic = \"{want}\"` in the workspace root's `[profile.release]`");
            let key = format!("profile.release.panic={want}");
            match release.map(|p| &p.panic) {
                Some(Setting::Value(SettingValue::Str(v), _)) if v == want => {}
                Some(Setting::Value(v, spot)) => {
                    let v = match v {
                        SettingValue::Str(s) => format!("\"{s}\""),
                        _ => "not a string".to_string(),
                    };
                    let msg = format!("`[profile.release] panic` is {v}, the policy requires \"{want}\"");
                    self.add(out, RELEASE_PANIC, At::new(file, *spot), msg, &key, &help);
                }
                _ if want == "unwind" => {}
                _ => {
                    let msg = format!(
                        "`[profile.release]` does not set `panic`: release builds unwind, the policy requires \"{want}\""
                    );
                    self.add(out, RELEASE_PANIC, table, msg, &key, &help);
                }
            }
        }
    }
}
