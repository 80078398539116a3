//! One `Cargo.toml`, read and parsed once into what the fleet model needs: the `[package]`
//! (name, version, binary targets, dependency entries with their lines) and the `[workspace]`
//! (members, exclude, default-members, `[workspace.dependencies]`, `[workspace.package]`), plus
//! the settings the manifest check reads, with the place of each key ([`Settings`]).
//!
//! Nothing here resolves anything across manifests; that is `workspace::load`'s job. A file that
//! cannot be read or parsed yields `fleetward/parse-error` findings, never a panic.

use crate::diag::{Finding, line_col, parse_error};
use crate::workspace::DepKind;
use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Manifests larger than this are reported, not parsed (a generated 50 MB file must not stall
/// the run).
pub const MAX_MANIFEST_BYTES: u64 = 10 * 1024 * 1024;

/// A value that may be inherited from `[workspace.package]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Absent,
    Value(String),
    /// `key.workspace = true`, at this line.
    Inherit(u32),
}

#[derive(Clone, Debug)]
pub struct Manifest {
    /// Relative path of the manifest.
    pub path: String,
    /// Relative directory (`.` for the root).
    pub dir: String,
    pub package: Option<PackageDecl>,
    pub workspace: Option<WorkspaceDecl>,
    pub settings: Settings,
}

/// Where a key is written: its 1-based line and the columns of the key (end exclusive).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Spot {
    pub line: u32,
    pub column: u32,
    pub end_column: u32,
}

impl Spot {
    pub fn span(self) -> crate::diag::Span {
        let line = self.line.max(1);
        let column = self.column.max(1);
        crate::diag::Span { line, column, end_line: line, end_column: self.end_column.max(column + 1) }
    }
}

/// A manifest value the manifest check reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Setting {
    #[default]
    Absent,
    /// Written in this manifest, at its key.
    Value(SettingValue, Spot),
    /// `key.workspace = true`, at its key.
    Inherit(Spot),
}

impl Setting {
    /// The value written here (not an inherited one).
    pub fn value(&self) -> Option<&SettingValue> {
        match self {
            Setting::Value(v, _) => Some(v),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingValue {
    Str(String),
    Bool(bool),
    Strings(Vec<String>),
    /// Anything else (a number, a table, a mixed array).
    Other,
}

/// `[lints]` (or `[workspace.lints]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LintsDecl {
    /// The `lints` key (its table header).
    pub at: Spot,
    /// `[lints] workspace = true`, at its key.
    pub workspace: Option<Spot>,
    /// The `rust` key, when the table has one.
    pub rust: Option<Spot>,
    /// `rust.unsafe_code` (or `unsafe-code`): its level (`None` when it is not a string nor a
    /// table with a string `level`) and its key.
    pub unsafe_code: Option<(Option<String>, Spot)>,
}

/// `[profile.release]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileDecl {
    /// The `release` key (its table header).
    pub at: Spot,
    pub overflow_checks: Setting,
    pub panic: Setting,
}

/// The inheritable `[package]` fields the manifest check reads (`[package]` or
/// `[workspace.package]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageFields {
    pub edition: Setting,
    pub publish: Setting,
    pub license: Setting,
    pub license_file: Setting,
}

/// What the manifest check reads of one manifest beyond its dependencies, every key with its
/// place; gathered from the same parse as the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// The `package` key (`[package]` header).
    pub package_at: Option<Spot>,
    /// The `workspace` key (`[workspace]` header, or the first `[workspace.*]` one).
    pub workspace_at: Option<Spot>,
    pub package: PackageFields,
    pub lints: Option<LintsDecl>,
    pub profile_release: Option<ProfileDecl>,
    /// The `profile` key, when there is a `[profile.*]` table.
    pub profile_at: Option<Spot>,
    /// `[workspace.package]`.
    pub workspace_package: PackageFields,
    /// `[workspace.package]` key, when present.
    pub workspace_package_at: Option<Spot>,
    pub workspace_lints: Option<LintsDecl>,
    /// `[workspace.dependencies]` entries, by key, at their keys.
    pub workspace_deps: BTreeMap<String, Spot>,
    /// The manifest (relative path) this one inherits `workspace = true` values from: the
    /// workspace root cargo would pick (itself for a root). Set by `workspace::load`.
    pub root: Option<String>,
}

impl Settings {
    /// Where a finding about the manifest as a whole goes: the `[package]` header, else the
    /// `[workspace]` one, else line 1.
    pub fn anchor(&self) -> Spot {
        self.package_at.or(self.workspace_at).unwrap_or(Spot { line: 1, column: 1, end_column: 2 })
    }

    /// Where a finding about the workspace as a whole goes: the `[workspace]` header, else the
    /// `[package]` one, else line 1.
    pub fn workspace_anchor(&self) -> Spot {
        self.workspace_at.or(self.package_at).unwrap_or(Spot { line: 1, column: 1, end_column: 2 })
    }
}

#[derive(Clone, Debug)]
pub struct PackageDecl {
    pub name: String,
    pub version: Field,
    /// `package.workspace = "path"`: the workspace root, relative to the package directory.
    pub workspace_ptr: Option<String>,
    pub autobins: bool,
    /// `[[bin]]` entries: (name, path) as written.
    pub bins: Vec<(Option<String>, Option<String>)>,
    pub deps: Vec<RawDep>,
}

#[derive(Clone, Debug, Default)]
pub struct WorkspaceDecl {
    pub members: Vec<String>,
    pub exclude: Vec<String>,
    pub default_members: Option<Vec<String>>,
    /// `[workspace.dependencies]`, by key.
    pub deps: BTreeMap<String, DepSpec>,
    /// `[workspace.package] version`.
    pub version: Option<String>,
}

/// One dependency entry as written.
#[derive(Clone, Debug)]
pub struct RawDep {
    pub name: String,
    pub kind: DepKind,
    pub target: Option<String>,
    pub spec: DepSpec,
    /// Where its key is written.
    pub key: Spot,
}

/// The fields of a dependency entry fleetward uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepSpec {
    pub version: Option<String>,
    pub path: Option<String>,
    pub git: Option<String>,
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub rev: Option<String>,
    pub registry: Option<String>,
    pub package: Option<String>,
    pub optional: bool,
    pub workspace: bool,
}

/// Read and parse `root/rel`. Returns the manifest when it is usable (possibly with problems
/// in some entries) and every problem found.
pub fn read(root: &Path, rel: &str) -> (Option<Manifest>, Vec<Finding>) {
    let path = root.join(rel);
    let bytes = match read_capped(&path) {
        Ok(Some(b)) => b,
        Ok(None) => {
            let msg = format!("manifest is too large to parse (over {} MiB)", MAX_MANIFEST_BYTES >> 20);
            return (None, vec![parse_error(rel, 1, 1, msg)]);
        }
        Err(e) => {
            let msg = format!("cannot read manifest: {}", crate::discover::lower_first(&e.to_string()));
            return (None, vec![parse_error(rel, 1, 1, msg)]);
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let (line, col) = line_col(&prefix, prefix.len());
            return (None, vec![parse_error(rel, line, col, "invalid UTF-8 in manifest")]);
        }
    };
    parse(rel, &text)
}

/// The file's bytes, or `None` when it is larger than [`MAX_MANIFEST_BYTES`].
fn read_capped(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= MAX_MANIFEST_BYTES).then_some(bytes))
}

/// The directory part of a relative manifest path (`.` for `Cargo.toml`).
pub fn dir_of(rel: &str) -> String {
    match rel.rfind('/') {
        Some(i) => rel[..i].to_string(),
        None => ".".to_string(),
    }
}

/// Parse manifest text (`rel` names the file in findings).
pub fn parse(rel: &str, text: &str) -> (Option<Manifest>, Vec<Finding>) {
    let doc = match DeTable::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            let first = e.message().lines().next().unwrap_or("syntax error").trim();
            let msg = format!("invalid TOML: {}", crate::discover::lower_first(first));
            return (None, vec![parse_error(rel, line, col, msg)]);
        }
    };
    let mut p = Parser { rel, text, problems: Vec::new() };
    let doc = doc.get_ref();
    let package = doc.get_key_value("package").and_then(|(k, v)| p.package(doc, k.span(), v));
    let workspace = doc.get("workspace").map(|v| p.workspace(v));
    let has_package_table = doc.contains_key("package") || doc.contains_key("project");
    if package.is_none() && workspace.is_none() {
        if !has_package_table {
            p.problems.push(parse_error(rel, 1, 1, "manifest has neither `[package]` nor `[workspace]`"));
        }
        return (None, p.problems);
    }
    let settings = p.settings(doc);
    let manifest = Manifest { path: rel.to_string(), dir: dir_of(rel), package, workspace, settings };
    (Some(manifest), p.problems)
}

struct Parser<'t> {
    rel: &'t str,
    text: &'t str,
    problems: Vec<Finding>,
}

type Value<'i> = Spanned<DeValue<'i>>;

impl Parser<'_> {
    fn line(&self, span: Range<usize>) -> u32 {
        line_col(self.text, span.start).0
    }

    fn spot(&self, span: Range<usize>) -> Spot {
        let (line, column) = line_col(self.text, span.start);
        let (end_line, end_column) = line_col(self.text, span.end);
        let end_column = if end_line == line && end_column > column { end_column } else { column + 1 };
        Spot { line, column, end_column }
    }

    fn problem(&mut self, span: Range<usize>, message: String) {
        let (line, col) = line_col(self.text, span.start);
        self.problems.push(parse_error(self.rel, line, col, message));
    }

    fn string(&mut self, v: &Value<'_>, what: &str) -> Option<String> {
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.problem(v.span(), format!("`{what}` must be a string"));
                None
            }
        }
    }

    fn strings(&mut self, v: &Value<'_>, what: &str) -> Vec<String> {
        let Some(arr) = v.get_ref().as_array() else {
            self.problem(v.span(), format!("`{what}` must be an array of strings"));
            return Vec::new();
        };
        arr.iter().filter_map(|item| self.string(item, what)).collect()
    }

    fn package(&mut self, doc: &DeTable<'_>, key_span: Range<usize>, v: &Value<'_>) -> Option<PackageDecl> {
        let Some(t) = v.get_ref().as_table() else {
            self.problem(v.span(), "`package` must be a table".to_string());
            return None;
        };
        let name = match t.get("name") {
            Some(n) => self.string(n, "package.name")?,
            None => {
                self.problem(key_span, "missing `name` in `[package]`".to_string());
                return None;
            }
        };
        let version = match t.get("version") {
            None => Field::Absent,
            Some(v) if is_inherit(v) => Field::Inherit(self.line(v.span())),
            Some(v) => self.string(v, "package.version").map_or(Field::Absent, Field::Value),
        };
        let workspace_ptr = t.get("workspace").and_then(|w| self.string(w, "package.workspace"));
        let autobins = t.get("autobins").and_then(|b| b.get_ref().as_bool()).unwrap_or(true);
        let mut bins = Vec::new();
        if let Some(b) = doc.get("bin") {
            match b.get_ref().as_array() {
                Some(arr) => {
                    for entry in arr.iter() {
                        let Some(et) = entry.get_ref().as_table() else {
                            self.problem(entry.span(), "`[[bin]]` entries must be tables".to_string());
                            continue;
                        };
                        let name = et.get("name").and_then(|n| self.string(n, "bin.name"));
                        let path = et.get("path").and_then(|n| self.string(n, "bin.path"));
                        bins.push((name, path));
                    }
                }
                None => self.problem(b.span(), "`bin` must be an array of tables (`[[bin]]`)".to_string()),
            }
        }
        let mut deps = Vec::new();
        self.dep_tables(doc, None, &mut deps);
        if let Some(targets) = doc.get("target") {
            match targets.get_ref().as_table() {
                Some(tt) => {
                    for (cfg, tv) in tt.iter() {
                        match tv.get_ref().as_table() {
                            Some(ttable) => self.dep_tables(ttable, Some(cfg.get_ref()), &mut deps),
                            None => {
                                self.problem(tv.span(), format!("`target.{}` must be a table", cfg.get_ref()))
                            }
                        }
                    }
                }
                None => self.problem(targets.span(), "`target` must be a table".to_string()),
            }
        }
        Some(PackageDecl { name, version, workspace_ptr, autobins, bins, deps })
    }

    /// The dependency tables of `t` (the document or one `[target.X]` table).
    fn dep_tables(&mut self, t: &DeTable<'_>, target: Option<&str>, out: &mut Vec<RawDep>) {
        for (key, kind) in [
            ("dependencies", DepKind::Normal),
            ("dev-dependencies", DepKind::Dev),
            ("dev_dependencies", DepKind::Dev),
            ("build-dependencies", DepKind::Build),
            ("build_dependencies", DepKind::Build),
        ] {
            let Some(v) = t.get(key) else { continue };
            let Some(table) = v.get_ref().as_table() else {
                self.problem(v.span(), format!("`{key}` must be a table"));
                continue;
            };
            for (name, dv) in table.iter() {
                let Some(spec) = self.dep_spec(name.get_ref(), dv) else { continue };
                out.push(RawDep {
                    name: name.get_ref().to_string(),
                    kind,
                    target: target.map(str::to_string),
                    spec,
                    key: self.spot(name.span()),
                });
            }
        }
    }

    fn dep_spec(&mut self, name: &str, v: &Value<'_>) -> Option<DepSpec> {
        if let Some(s) = v.get_ref().as_str() {
            return Some(DepSpec { version: Some(s.to_string()), ..DepSpec::default() });
        }
        let Some(t) = v.get_ref().as_table() else {
            self.problem(v.span(), format!("dependency `{name}` must be a version string or a table"));
            return None;
        };
        let mut spec = DepSpec::default();
        for (field, slot) in [
            ("version", &mut spec.version),
            ("path", &mut spec.path),
            ("git", &mut spec.git),
            ("branch", &mut spec.branch),
            ("tag", &mut spec.tag),
            ("rev", &mut spec.rev),
            ("registry", &mut spec.registry),
            ("package", &mut spec.package),
        ] {
            if let Some(fv) = t.get(field) {
                *slot = self.string(fv, &format!("{name}.{field}"));
            }
        }
        spec.optional = t.get("optional").and_then(|o| o.get_ref().as_bool()).unwrap_or(false);
        if let Some(w) = t.get("workspace") {
            match w.get_ref().as_bool() {
                Some(b) => spec.workspace = b,
                None => self.problem(w.span(), format!("`{name}.workspace` must be `true`")),
            }
        }
        Some(spec)
    }

    fn workspace(&mut self, v: &Value<'_>) -> WorkspaceDecl {
        let mut ws = WorkspaceDecl::default();
        let Some(t) = v.get_ref().as_table() else {
            self.problem(v.span(), "`workspace` must be a table".to_string());
            return ws;
        };
        if let Some(m) = t.get("members") {
            ws.members = self.strings(m, "workspace.members");
        }
        if let Some(m) = t.get("exclude") {
            ws.exclude = self.strings(m, "workspace.exclude");
        }
        if let Some(m) = t.get("default-members") {
            ws.default_members = Some(self.strings(m, "workspace.default-members"));
        }
        if let Some(d) = t.get("dependencies") {
            match d.get_ref().as_table() {
                Some(dt) => {
                    for (name, dv) in dt.iter() {
                        if let Some(spec) = self.dep_spec(name.get_ref(), dv) {
                            ws.deps.insert(name.get_ref().to_string(), spec);
                        }
                    }
                }
                None => self.problem(d.span(), "`workspace.dependencies` must be a table".to_string()),
            }
        }
        if let Some(pv) = t.get("package").and_then(|p| p.get_ref().as_table()).and_then(|p| p.get("version"))
        {
            ws.version = self.string(pv, "workspace.package.version");
        }
        ws
    }
}

impl Parser<'_> {
    /// The settings of the manifest check (see [`Settings`]). Values of an unexpected type are
    /// kept as [`SettingValue::Other`]; nothing here is a problem of its own (cargo's own
    /// errors are not fleetward's to report twice).
    fn settings(&self, doc: &DeTable<'_>) -> Settings {
        let mut s = Settings::default();
        if let Some((k, v)) = doc.get_key_value("package") {
            s.package_at = Some(self.spot(k.span()));
            if let Some(t) = v.get_ref().as_table() {
                s.package = self.package_fields(t);
            }
        }
        if let Some((k, v)) = doc.get_key_value("lints") {
            s.lints = Some(self.lints(self.spot(k.span()), v));
        }
        if let Some((k, v)) = doc.get_key_value("profile") {
            s.profile_at = Some(self.spot(k.span()));
            if let Some((rk, rv)) = v.get_ref().as_table().and_then(|t| t.get_key_value("release")) {
                let mut p = ProfileDecl { at: self.spot(rk.span()), ..ProfileDecl::default() };
                if let Some(rt) = rv.get_ref().as_table() {
                    p.overflow_checks = self.setting(rt, "overflow-checks");
                    p.panic = self.setting(rt, "panic");
                }
                s.profile_release = Some(p);
            }
        }
        if let Some((k, v)) = doc.get_key_value("workspace") {
            s.workspace_at = Some(self.spot(k.span()));
            if let Some(t) = v.get_ref().as_table() {
                if let Some((pk, pv)) = t.get_key_value("package") {
                    s.workspace_package_at = Some(self.spot(pk.span()));
                    if let Some(pt) = pv.get_ref().as_table() {
                        s.workspace_package = self.package_fields(pt);
                    }
                }
                if let Some((lk, lv)) = t.get_key_value("lints") {
                    s.workspace_lints = Some(self.lints(self.spot(lk.span()), lv));
                }
                if let Some(dt) = t.get("dependencies").and_then(|d| d.get_ref().as_table()) {
                    s.workspace_deps = dt
                        .iter()
                        .map(|(name, _)| (name.get_ref().to_string(), self.spot(name.span())))
                        .collect();
                }
            }
        }
        s
    }

    fn package_fields(&self, t: &DeTable<'_>) -> PackageFields {
        PackageFields {
            edition: self.setting(t, "edition"),
            publish: self.setting(t, "publish"),
            license: self.setting(t, "license"),
            license_file: self.setting(t, "license-file"),
        }
    }

    fn setting(&self, t: &DeTable<'_>, key: &str) -> Setting {
        let Some((k, v)) = t.get_key_value(key) else { return Setting::Absent };
        let spot = self.spot(k.span());
        if is_inherit(v) {
            return Setting::Inherit(spot);
        }
        let value = match v.get_ref() {
            DeValue::String(s) => SettingValue::Str(s.to_string()),
            DeValue::Boolean(b) => SettingValue::Bool(*b),
            DeValue::Array(items) => items
                .iter()
                .map(|i| i.get_ref().as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map_or(SettingValue::Other, SettingValue::Strings),
            _ => SettingValue::Other,
        };
        Setting::Value(value, spot)
    }

    fn lints(&self, at: Spot, v: &Value<'_>) -> LintsDecl {
        let mut l = LintsDecl { at, ..LintsDecl::default() };
        let Some(t) = v.get_ref().as_table() else { return l };
        if let Some((k, w)) = t.get_key_value("workspace")
            && w.get_ref().as_bool() == Some(true)
        {
            l.workspace = Some(self.spot(k.span()));
        }
        if let Some((rk, rv)) = t.get_key_value("rust") {
            l.rust = Some(self.spot(rk.span()));
            let rt = rv.get_ref().as_table();
            let entry =
                rt.and_then(|rt| rt.get_key_value("unsafe_code").or_else(|| rt.get_key_value("unsafe-code")));
            if let Some((uk, uv)) = entry {
                let level = match uv.get_ref() {
                    DeValue::String(s) => Some(s.to_string()),
                    DeValue::Table(lt) => {
                        lt.get("level").and_then(|l| l.get_ref().as_str()).map(str::to_string)
                    }
                    _ => None,
                };
                l.unsafe_code = Some((level, self.spot(uk.span())));
            }
        }
        l
    }
}

/// `{ workspace = true }` (or the dotted `key.workspace = true`).
fn is_inherit(v: &Value<'_>) -> bool {
    v.get_ref().as_table().and_then(|t| t.get("workspace")).and_then(|w| w.get_ref().as_bool()) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_has_line() {
        let (m, p) = parse("a/Cargo.toml", "[package]\nname = \"a\"\nversion = \n");
        assert!(m.is_none());
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].location.span.line, 3);
        assert!(p[0].message.starts_with("invalid TOML: "), "{}", p[0].message);
    }

    #[test]
    fn missing_name_and_empty_manifest() {
        let (m, p) = parse("Cargo.toml", "\n[package]\nversion = \"1.0.0\"\n");
        assert!(m.is_none());
        assert_eq!((p[0].message.as_str(), p[0].location.span.line), ("missing `name` in `[package]`", 2));
        let (m, p) = parse("Cargo.toml", "[lib]\n");
        assert!(m.is_none());
        assert_eq!(p[0].message, "manifest has neither `[package]` nor `[workspace]`");
    }

    #[test]
    fn dependency_entries_with_lines() {
        let text = r#"[package]
name = "svc"
version.workspace = true

[dependencies]
serde = "1"
http = { package = "http-fork", git = "https://example.com/http", tag = "v1" }
shared.workspace = true

[target.'cfg(unix)'.dev-dependencies]
nix = { version = "0.29", optional = true }

[build-dependencies.cc]
version = "1"
"#;
        let (m, p) = parse("Cargo.toml", text);
        assert!(p.is_empty(), "{p:?}");
        let pkg = m.and_then(|m| m.package).expect("package");
        assert_eq!(pkg.version, Field::Inherit(3));
        // Each key's line and columns (end exclusive): `[build-dependencies.cc]` names it in the
        // header.
        let at = |line, column, end_column| Spot { line, column, end_column };
        let got: Vec<(&str, DepKind, Option<&str>, Spot)> =
            pkg.deps.iter().map(|d| (d.name.as_str(), d.kind, d.target.as_deref(), d.key)).collect();
        assert_eq!(
            got,
            [
                ("serde", DepKind::Normal, None, at(6, 1, 6)),
                ("http", DepKind::Normal, None, at(7, 1, 5)),
                ("shared", DepKind::Normal, None, at(8, 1, 7)),
                ("cc", DepKind::Build, None, at(13, 21, 23)),
                ("nix", DepKind::Dev, Some("cfg(unix)"), at(11, 1, 4)),
            ]
        );
        assert_eq!(pkg.deps[1].spec.package.as_deref(), Some("http-fork"));
        assert!(pkg.deps[2].spec.workspace);
        assert!(pkg.deps[4].spec.optional);
    }

    #[test]
    fn deep_nesting_does_not_crash() {
        let text = format!("[package]\nname = \"x\"\nv = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let (_, p) = parse("Cargo.toml", &text);
        assert!(p.iter().all(|f| f.rule == crate::diag::PARSE_ERROR));
    }
}
