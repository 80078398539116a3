//! One `Cargo.toml`, read and parsed once into what the fleet model needs: the `[package]`
//! (name, version, binary targets, dependency entries with their lines) and the `[workspace]`
//! (members, exclude, default-members, `[workspace.dependencies]`, `[workspace.package]`).
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
    pub line: u32,
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
    let manifest = Manifest { path: rel.to_string(), dir: dir_of(rel), package, workspace };
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
                    line: self.line(name.span()),
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
        let got: Vec<(&str, DepKind, Option<&str>, u32)> =
            pkg.deps.iter().map(|d| (d.name.as_str(), d.kind, d.target.as_deref(), d.line)).collect();
        assert_eq!(
            got,
            [
                ("serde", DepKind::Normal, None, 6),
                ("http", DepKind::Normal, None, 7),
                ("shared", DepKind::Normal, None, 8),
                ("cc", DepKind::Build, None, 13),
                ("nix", DepKind::Dev, Some("cfg(unix)"), 11),
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
