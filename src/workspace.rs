//! The fleet model: workspaces, packages (services and libraries), lockfiles and the
//! dependencies each manifest declares. Built by [`load`] from what `discover` listed;
//! every manifest is parsed once here. Problems with one manifest become
//! `fleetward/parse-error` findings in [`Fleet::problems`]; the rest of the fleet still loads.

mod manifest;

use crate::config::Policy;
use crate::diag::{Finding, parse_error};
use manifest::{DepSpec, Field, Manifest, RawDep};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

pub use manifest::{
    LintsDecl, MAX_MANIFEST_BYTES, PackageFields, ProfileDecl, Setting, SettingValue, Settings, Spot,
};

/// A package with a binary target (`src/main.rs`, `src/bin/*`, `[[bin]]`) or under a policy
/// service root is a service; anything else is a library.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    Service,
    Library,
}

impl PackageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Service => "service",
            PackageKind::Library => "library",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

/// Where a dependency comes from, as declared (after `workspace = true` inheritance).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum DepSource {
    /// crates.io when `registry` is `None`, else the named registry.
    Registry {
        registry: Option<String>,
    },
    /// Path relative to the scanned root (`/`-separated), or as written when it leaves the root.
    Path {
        path: String,
    },
    Git {
        url: String,
        rev: Option<String>,
        branch: Option<String>,
        tag: Option<String>,
    },
}

/// One entry of `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]` or their
/// `[target.'cfg(..)'.*]` forms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Dependency {
    /// The key in the table (the name the code uses).
    pub name: String,
    /// The real crate name (`package = "..."` when renamed, else `name`).
    pub package: String,
    pub kind: DepKind,
    pub target: Option<String>,
    /// The version requirement as written (or inherited), if any.
    pub req: Option<String>,
    pub source: DepSource,
    pub optional: bool,
    /// Declared as `foo.workspace = true`.
    pub workspace_inherited: bool,
    /// Where the entry's key is written in the package's manifest.
    pub key: manifest::Spot,
}

#[derive(Clone, Debug, Serialize)]
pub struct Package {
    pub name: String,
    pub version: Option<String>,
    pub kind: PackageKind,
    /// Relative path of the package's `Cargo.toml`.
    pub manifest: String,
    /// Relative path of the package's directory (`.` for the root).
    pub dir: String,
    /// Relative path of the directory of the workspace root this package belongs to (its own
    /// `dir` for a standalone package).
    pub workspace: String,
    /// Relative path of the `Cargo.lock` that governs this package, if one exists.
    pub lockfile: Option<String>,
    pub dependencies: Vec<Dependency>,
    /// Names of the binary targets (empty for a library).
    pub bins: Vec<String>,
}

impl Package {
    /// A package with no dependencies, its manifest at `DIR/Cargo.toml` and its own workspace
    /// (for tests and for fleets built by hand).
    pub fn new(name: &str, dir: &str, kind: PackageKind) -> Package {
        let manifest = if dir == "." { "Cargo.toml".to_string() } else { format!("{dir}/Cargo.toml") };
        Package {
            name: name.into(),
            version: None,
            kind,
            manifest,
            dir: dir.into(),
            workspace: dir.into(),
            lockfile: None,
            dependencies: Vec::new(),
            bins: Vec::new(),
        }
    }

    /// Direct dependencies of the `normal` kind (the count shown by `fleetward services`).
    pub fn direct_dependency_count(&self) -> usize {
        self.dependencies.iter().filter(|d| d.kind == DepKind::Normal).count()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Workspace {
    /// Relative path of the root manifest.
    pub manifest: String,
    /// Relative directory of the root manifest.
    pub dir: String,
    /// Indices into [`Fleet::packages`] of the members, sorted.
    pub members: Vec<usize>,
    /// `default-members`, as indices into [`Fleet::packages`].
    pub default_members: Vec<usize>,
    /// Relative path of `Cargo.lock` beside the root manifest, if it exists.
    pub lockfile: Option<String>,
    /// Whether the root manifest has no `[package]` (a virtual manifest).
    pub is_virtual: bool,
}

/// Everything fleetward knows about the scanned tree before any check runs.
#[derive(Debug, Default)]
pub struct Fleet {
    /// The scanned root, canonicalised.
    pub root: PathBuf,
    /// Sorted by manifest path.
    pub packages: Vec<Package>,
    /// Sorted by manifest path. Every package belongs to exactly one workspace: a package that
    /// no workspace claims forms its own single-member workspace (not virtual).
    pub workspaces: Vec<Workspace>,
    /// Every `Cargo.lock` found, relative, sorted.
    pub lockfiles: Vec<String>,
    /// Every Rust source file found, relative, sorted (read by the source checks).
    pub rust_files: Vec<String>,
    /// Coverage reports found by discovery (lcov.info, cobertura.xml, ...), relative, sorted.
    pub coverage_reports: Vec<String>,
    /// Every other text file (read by the secrets check), relative, sorted.
    pub text_files: Vec<String>,
    /// Parse errors and discovery problems (symlink loops, unreadable files), as findings.
    pub problems: Vec<Finding>,
    /// Package directory -> package, built on first use by [`Fleet::owner`].
    pub owners: std::sync::OnceLock<std::collections::HashMap<String, usize>>,
    /// What the manifest check reads of each parsed manifest (editions, `publish`, licenses,
    /// lints, `[profile.release]`, `[workspace.package]`, `[workspace.lints]`, the lines of
    /// `[workspace.dependencies]` entries), by relative manifest path.
    pub settings: BTreeMap<String, Settings>,
}

impl Fleet {
    /// The package whose directory holds `rel` (the deepest one), else the package at the root.
    pub fn owner(&self, rel: &str) -> Option<usize> {
        let dirs = self
            .owners
            .get_or_init(|| self.packages.iter().enumerate().map(|(i, p)| (p.dir.clone(), i)).collect());
        let mut end = rel.len();
        while let Some(slash) = rel[..end].rfind('/') {
            if let Some(&i) = dirs.get(&rel[..slash]) {
                return Some(i);
            }
            end = slash;
        }
        dirs.get(".").or_else(|| dirs.get("")).copied()
    }

    /// The settings of the manifest at `manifest` (relative path), if it was parsed.
    pub fn settings_of(&self, manifest: &str) -> Option<&Settings> {
        self.settings.get(manifest)
    }

    /// The manifest a package inherits `workspace = true` values from, with its settings.
    pub fn inherits_from(&self, p: &Package) -> Option<(&str, &Settings)> {
        let root = self.settings.get(&p.manifest)?.root.as_deref()?;
        self.settings.get_key_value(root).map(|(k, s)| (k.as_str(), s))
    }

    /// The root manifest of the workspace `p` belongs to (its own for a standalone package):
    /// the one whose `[profile.*]` cargo honours.
    pub fn workspace_root_of(&self, p: &Package) -> Option<&Workspace> {
        self.workspaces.iter().find(|w| w.dir == p.workspace)
    }

    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|p| p.name == name)
    }

    pub fn services(&self) -> impl Iterator<Item = &Package> {
        self.packages.iter().filter(|p| p.kind == PackageKind::Service)
    }

    /// The packages whose lockfile is `lockfile`.
    pub fn packages_of_lockfile<'a>(&'a self, lockfile: &'a str) -> impl Iterator<Item = &'a Package> + 'a {
        self.packages.iter().filter(move |p| p.lockfile.as_deref() == Some(lockfile))
    }
}

/// Discover and load the fleet under `root`: walk it once, parse every manifest once (in
/// parallel), then resolve workspaces, membership, inheritance and package kinds the way cargo
/// does. Never fails: unreadable or invalid manifests become findings in [`Fleet::problems`].
pub fn load(root: &Path, policy: &Policy) -> Fleet {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let found = crate::discover::walk(&root, policy);
    let parsed: Vec<(Option<Manifest>, Vec<Finding>)> =
        found.manifests.par_iter().map(|rel| manifest::read(&root, rel)).collect();
    let mut problems = found.problems;
    let mut manifests = Vec::with_capacity(parsed.len());
    for (m, p) in parsed {
        problems.extend(p);
        manifests.extend(m);
    }
    let (packages, workspaces, settings) =
        resolve(manifests, &found.rust_files, &found.lockfiles, policy, &mut problems);
    crate::diag::sort_findings(&mut problems);
    Fleet {
        root,
        packages,
        workspaces,
        lockfiles: found.lockfiles,
        rust_files: found.rust_files,
        coverage_reports: found.coverage_reports,
        text_files: found.text_files,
        problems,
        owners: std::sync::OnceLock::new(),
        settings,
    }
}

/// `dir/name` for relative paths, `name` when `dir` is the root.
fn join(dir: &str, name: &str) -> String {
    if dir == "." || dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// The parent of a relative directory (`None` for the root).
fn parent(dir: &str) -> Option<&str> {
    match dir {
        "." | "" => None,
        _ => Some(dir.rfind('/').map_or(".", |i| &dir[..i])),
    }
}

/// `path` (relative to `base`, a relative directory) as a normalised path relative to the root,
/// or `None` when it is absolute or leaves the root.
fn normalize(base: &str, path: &str) -> Option<String> {
    if path.starts_with('/') || path.starts_with('\\') || path.get(1..2) == Some(":") {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    let base = if base == "." { "" } else { base };
    for part in base.split('/').chain(path.split(['/', '\\'])) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(if parts.is_empty() { ".".to_string() } else { parts.join("/") })
}

/// Whether relative directory `path` is `prefix` or inside it.
fn is_under(path: &str, prefix: &str) -> bool {
    prefix == "." || path == prefix || (path.starts_with(prefix) && path[prefix.len()..].starts_with('/'))
}

/// A workspace's `members` (or `default-members`) patterns, compiled with cargo's glob
/// semantics (`*` stays within one path segment), relative to the root.
fn member_globs(ws_dir: &str, patterns: &[String]) -> Vec<globset::GlobMatcher> {
    patterns
        .iter()
        .filter_map(|p| normalize(ws_dir, p.trim_end_matches('/')))
        .filter_map(|p| globset::GlobBuilder::new(&p).literal_separator(true).build().ok())
        .map(|g| g.compile_matcher())
        .collect()
}

/// Whether the workspace rooted at `ws_dir` excludes the package directory `pkg_dir` (an
/// `exclude` path prefix, unless a `members` entry names it explicitly).
fn is_excluded(ws_dir: &str, ws: &manifest::WorkspaceDecl, pkg_dir: &str) -> bool {
    let under = |pat: &String| normalize(ws_dir, pat).is_some_and(|p| is_under(pkg_dir, &p));
    ws.exclude.iter().any(under) && !ws.members.iter().any(under)
}

struct Resolver<'a> {
    manifests: &'a [Manifest],
    by_dir: HashMap<&'a str, usize>,
}

impl Resolver<'_> {
    /// The workspace root manifest at `dir`, if `dir` holds one.
    fn ws_at(&self, dir: &str) -> Option<usize> {
        self.by_dir.get(dir).copied().filter(|&j| self.manifests[j].workspace.is_some())
    }

    /// The workspace root cargo would pick for manifest `i`: itself when it has `[workspace]`,
    /// the `package.workspace` target, else the nearest ancestor workspace not excluding it.
    fn find_root(&self, i: usize) -> Option<usize> {
        let m = &self.manifests[i];
        if m.workspace.is_some() {
            return Some(i);
        }
        let pkg = m.package.as_ref()?;
        if let Some(ptr) = &pkg.workspace_ptr {
            return normalize(&m.dir, ptr).and_then(|d| self.ws_at(&d));
        }
        let mut dir = parent(&m.dir);
        while let Some(d) = dir {
            if let Some(&j) = self.by_dir.get(d) {
                let a = &self.manifests[j];
                if let Some(ws) = &a.workspace {
                    if !is_excluded(&a.dir, ws, &m.dir) {
                        return Some(j);
                    }
                } else if let Some(ptr) = a.package.as_ref().and_then(|p| p.workspace_ptr.as_ref()) {
                    return normalize(&a.dir, ptr).and_then(|d| self.ws_at(&d));
                }
            }
            dir = parent(d);
        }
        None
    }
}

/// Build packages, workspaces and the settings of each manifest (by path) from parsed
/// manifests. Pure: existence of files is looked up in the discovered lists.
fn resolve(
    mut manifests: Vec<Manifest>,
    rust_files: &[String],
    lockfiles: &[String],
    policy: &Policy,
    problems: &mut Vec<Finding>,
) -> (Vec<Package>, Vec<Workspace>, BTreeMap<String, Settings>) {
    manifests.sort_by(|a, b| a.path.cmp(&b.path));
    let r = Resolver {
        manifests: &manifests,
        by_dir: manifests.iter().enumerate().map(|(i, m)| (m.dir.as_str(), i)).collect(),
    };
    let n = manifests.len();
    let roots: Vec<Option<usize>> = (0..n).map(|i| r.find_root(i)).collect();
    let globs: HashMap<usize, Vec<globset::GlobMatcher>> = (0..n)
        .filter_map(|i| {
            manifests[i].workspace.as_ref().map(|ws| (i, member_globs(&manifests[i].dir, &ws.members)))
        })
        .collect();

    // Dependencies and versions, inherited from the candidate root's workspace tables.
    let mut deps: Vec<Vec<Dependency>> = vec![Vec::new(); n];
    let mut versions: Vec<Option<String>> = vec![None; n];
    for (i, m) in manifests.iter().enumerate() {
        let Some(pkg) = &m.package else { continue };
        let ws = roots[i].map(|w| &manifests[w]);
        deps[i] = pkg.deps.iter().map(|d| resolve_dep(d, m, ws, problems)).collect();
        versions[i] = match &pkg.version {
            Field::Absent => None,
            Field::Value(v) => Some(v.clone()),
            Field::Inherit(line) => {
                let v = ws.and_then(|w| w.workspace.as_ref()).and_then(|w| w.version.clone());
                if v.is_none() {
                    problems.push(parse_error(
                        &m.path,
                        *line,
                        1,
                        "`version.workspace = true` but the workspace has no `[workspace.package] version`",
                    ));
                }
                v
            }
        };
    }

    // Membership: the root package, the `members` globs (or an explicit `package.workspace`
    // pointer, which cargo would also require the root to list), then path dependencies of members
    // inside the workspace directory (cargo makes those members too).
    let mut member_of: Vec<Option<usize>> = vec![None; n];
    for (i, m) in manifests.iter().enumerate() {
        if m.package.is_none() {
            continue;
        }
        if let Some(w) = roots[i]
            && (w == i
                || m.package.as_ref().is_some_and(|p| p.workspace_ptr.is_some())
                || globs.get(&w).is_some_and(|g| g.iter().any(|g| g.is_match(&m.dir))))
        {
            member_of[i] = Some(w);
        }
    }
    loop {
        let mut added = Vec::new();
        for i in 0..n {
            let Some(w) = member_of[i] else { continue };
            for d in &deps[i] {
                let DepSource::Path { path } = &d.source else { continue };
                let Some(&j) = r.by_dir.get(path.as_str()) else { continue };
                if manifests[j].package.is_some()
                    && member_of[j].is_none()
                    && roots[j] == Some(w)
                    && is_under(path, &manifests[w].dir)
                {
                    added.push((j, w));
                }
            }
        }
        if added.is_empty() {
            break;
        }
        for (j, w) in added {
            member_of[j] = Some(w);
        }
    }

    let lockfiles: BTreeSet<&str> = lockfiles.iter().map(String::as_str).collect();
    let lockfile_in = |dir: &str| {
        let p = join(dir, "Cargo.lock");
        lockfiles.contains(p.as_str()).then_some(p)
    };

    let mut packages = Vec::new();
    let mut pkg_index: HashMap<usize, usize> = HashMap::new();
    for (i, m) in manifests.iter().enumerate() {
        let Some(pkg) = &m.package else { continue };
        let ws_dir = member_of[i].map_or(m.dir.as_str(), |w| manifests[w].dir.as_str());
        let bins = bin_names(pkg, &m.dir, rust_files);
        let service_root = policy.fleet.service_roots.iter().any(|g| g.is_match(&m.dir));
        let kind = if !bins.is_empty() || service_root { PackageKind::Service } else { PackageKind::Library };
        pkg_index.insert(i, packages.len());
        packages.push(Package {
            name: pkg.name.clone(),
            version: versions[i].take(),
            kind,
            manifest: m.path.clone(),
            dir: m.dir.clone(),
            workspace: ws_dir.to_string(),
            lockfile: lockfile_in(ws_dir),
            dependencies: std::mem::take(&mut deps[i]),
            bins,
        });
    }

    let mut workspaces = Vec::new();
    for (w, m) in manifests.iter().enumerate() {
        let Some(ws) = &m.workspace else { continue };
        let members: Vec<usize> =
            (0..n).filter(|&i| member_of[i] == Some(w)).filter_map(|i| pkg_index.get(&i).copied()).collect();
        let default_members = match &ws.default_members {
            Some(patterns) => {
                let g = member_globs(&m.dir, patterns);
                members.iter().copied().filter(|&p| g.iter().any(|g| g.is_match(&packages[p].dir))).collect()
            }
            None if m.package.is_some() => pkg_index.get(&w).map(|&p| vec![p]).unwrap_or_default(),
            None => members.clone(),
        };
        workspaces.push(Workspace {
            manifest: m.path.clone(),
            dir: m.dir.clone(),
            members,
            default_members,
            lockfile: lockfile_in(&m.dir),
            is_virtual: m.package.is_none(),
        });
    }
    for (i, m) in manifests.iter().enumerate() {
        if m.package.is_some()
            && member_of[i].is_none()
            && let Some(&p) = pkg_index.get(&i)
        {
            workspaces.push(Workspace {
                manifest: m.path.clone(),
                dir: m.dir.clone(),
                members: vec![p],
                default_members: vec![p],
                lockfile: lockfile_in(&m.dir),
                is_virtual: false,
            });
        }
    }
    workspaces.sort_by(|a, b| a.manifest.cmp(&b.manifest));
    let root_paths: Vec<Option<String>> =
        roots.iter().map(|r| r.map(|w| manifests[w].path.clone())).collect();
    let settings = manifests
        .into_iter()
        .zip(root_paths)
        .map(|(m, root)| (m.path, Settings { root, ..m.settings }))
        .collect();
    (packages, workspaces, settings)
}

/// One dependency entry with `workspace = true` inheritance applied and its source resolved.
fn resolve_dep(raw: &RawDep, m: &Manifest, ws: Option<&Manifest>, problems: &mut Vec<Finding>) -> Dependency {
    let (spec, base) = if raw.spec.workspace {
        let inherited = ws.and_then(|w| w.workspace.as_ref().map(|d| (w, d))).and_then(|(w, d)| {
            d.deps
                .get(&raw.name)
                .map(|s| (DepSpec { optional: raw.spec.optional, ..s.clone() }, w.dir.as_str()))
        });
        match inherited {
            Some(found) => found,
            None => {
                problems.push(
                    parse_error(
                        &m.path,
                        raw.key.line,
                        raw.key.column,
                        format!(
                            "dependency `{}` has `workspace = true` but the workspace has no `[workspace.dependencies]` entry for it",
                            raw.name
                        ),
                    )
                    .with_key(format!("parse-error:{}", raw.name)),
                );
                (raw.spec.clone(), m.dir.as_str())
            }
        }
    } else {
        (raw.spec.clone(), m.dir.as_str())
    };
    let source = if let Some(url) = &spec.git {
        DepSource::Git {
            url: url.clone(),
            rev: spec.rev.clone(),
            branch: spec.branch.clone(),
            tag: spec.tag.clone(),
        }
    } else if let Some(path) = &spec.path {
        DepSource::Path { path: normalize(base, path).unwrap_or_else(|| path.clone()) }
    } else {
        DepSource::Registry { registry: spec.registry.clone() }
    };
    Dependency {
        name: raw.name.clone(),
        package: spec.package.clone().unwrap_or_else(|| raw.name.clone()),
        kind: raw.kind,
        target: raw.target.clone(),
        req: spec.version.clone(),
        source,
        optional: spec.optional,
        workspace_inherited: raw.spec.workspace,
        key: raw.key,
    }
}

/// The names of a package's binary targets: `[[bin]]` entries plus, unless `autobins = false`,
/// `src/main.rs` (named after the package), `src/bin/*.rs` and `src/bin/*/main.rs`. Looked up in
/// the discovered source list; nothing is read.
fn bin_names(pkg: &manifest::PackageDecl, dir: &str, rust_files: &[String]) -> Vec<String> {
    let prefix = if dir == "." { String::new() } else { format!("{dir}/") };
    let mut inferred: Vec<(String, String)> = Vec::new();
    if pkg.autobins {
        let main = format!("{prefix}src/main.rs");
        if rust_files.binary_search(&main).is_ok() {
            inferred.push((pkg.name.clone(), "src/main.rs".to_string()));
        }
        let bin_dir = format!("{prefix}src/bin/");
        let start = rust_files.partition_point(|f| f.as_str() < bin_dir.as_str());
        for f in rust_files[start..].iter().take_while(|f| f.starts_with(&bin_dir)) {
            let rest = &f[bin_dir.len()..];
            let name = match rest.split_once('/') {
                None => rest.strip_suffix(".rs"),
                Some((d, "main.rs")) => Some(d),
                Some(_) => None,
            };
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                inferred.push((name.to_string(), format!("src/bin/{rest}")));
            }
        }
    }
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    let mut explicit_paths = Vec::new();
    for (name, path) in &pkg.bins {
        let path = path.as_deref().map(|p| p.trim_start_matches("./").to_string());
        let name = name.clone().or_else(|| {
            path.as_deref()
                .and_then(|p| Path::new(p).file_stem())
                .and_then(|s| s.to_str())
                .map(str::to_string)
        });
        if let Some(name) = name {
            names.insert(name, ());
        }
        explicit_paths.extend(path);
    }
    for (name, path) in inferred {
        if !explicit_paths.contains(&path) {
            names.insert(name, ());
        }
    }
    names.into_keys().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolve in-memory manifests `(path, text)` with the given source and lock files.
    fn fleet(
        files: &[(&str, &str)],
        rust_files: &[&str],
        lockfiles: &[&str],
    ) -> (Vec<Package>, Vec<Workspace>, Vec<Finding>) {
        fleet_with(files, rust_files, lockfiles, &Policy::default())
    }

    fn fleet_with(
        files: &[(&str, &str)],
        rust_files: &[&str],
        lockfiles: &[&str],
        policy: &Policy,
    ) -> (Vec<Package>, Vec<Workspace>, Vec<Finding>) {
        let (p, w, _, problems) = fleet_settings(files, rust_files, lockfiles, policy);
        (p, w, problems)
    }

    /// [`fleet_with`] with the settings of each manifest.
    fn fleet_settings(
        files: &[(&str, &str)],
        rust_files: &[&str],
        lockfiles: &[&str],
        policy: &Policy,
    ) -> (Vec<Package>, Vec<Workspace>, BTreeMap<String, Settings>, Vec<Finding>) {
        let mut problems = Vec::new();
        let mut manifests = Vec::new();
        for (path, text) in files {
            let (m, p) = manifest::parse(path, text);
            problems.extend(p);
            manifests.extend(m);
        }
        let mut rust: Vec<String> = rust_files.iter().map(|s| s.to_string()).collect();
        rust.sort();
        let locks: Vec<String> = lockfiles.iter().map(|s| s.to_string()).collect();
        let (p, w, s) = resolve(manifests, &rust, &locks, policy, &mut problems);
        (p, w, s, problems)
    }

    fn pkg<'a>(packages: &'a [Package], manifest: &str) -> &'a Package {
        packages.iter().find(|p| p.manifest == manifest).unwrap_or_else(|| panic!("no package {manifest}"))
    }

    fn lib(name: &str) -> String {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n")
    }

    #[test]
    fn paths_normalise_and_never_leave_the_root() {
        assert_eq!(normalize("services/a", "../../libs/core").as_deref(), Some("libs/core"));
        assert_eq!(normalize(".", "./x/").as_deref(), Some("x"));
        assert_eq!(normalize("a", "..").as_deref(), Some("."));
        assert_eq!(normalize("a", "../.."), None);
        assert_eq!(normalize("a", "/etc"), None);
        assert!(is_under("a/b", "a") && !is_under("ab", "a") && is_under("x", "."));
        assert_eq!(parent("a/b"), Some("a"));
        assert_eq!(parent("a"), Some("."));
        assert_eq!(parent("."), None);
    }

    #[test]
    fn members_glob_exclude_and_standalone() {
        let (p, w, problems) = fleet(
            &[
                (
                    "services/Cargo.toml",
                    "[workspace]\nmembers = [\"*\", \"tools/cli\"]\nexclude = [\"legacy\"]\n",
                ),
                ("services/a/Cargo.toml", &lib("a")),
                ("services/b/Cargo.toml", &lib("b")),
                ("services/legacy/Cargo.toml", &lib("legacy")),
                ("services/deep/x/Cargo.toml", &lib("deepx")),
                ("services/tools/cli/Cargo.toml", &lib("cli")),
            ],
            &["services/a/src/main.rs"],
            &["services/Cargo.lock"],
        );
        assert!(problems.is_empty(), "{problems:?}");
        for m in ["services/a/Cargo.toml", "services/b/Cargo.toml", "services/tools/cli/Cargo.toml"] {
            assert_eq!(pkg(&p, m).workspace, "services", "{m}");
            assert_eq!(pkg(&p, m).lockfile.as_deref(), Some("services/Cargo.lock"));
        }
        // excluded, and `*` does not cross a `/`: both standalone, without a lockfile
        for (m, dir) in [
            ("services/legacy/Cargo.toml", "services/legacy"),
            ("services/deep/x/Cargo.toml", "services/deep/x"),
        ] {
            assert_eq!(pkg(&p, m).workspace, dir);
            assert_eq!(pkg(&p, m).lockfile, None);
        }
        let ws = w.iter().find(|w| w.dir == "services").expect("services workspace");
        assert!(ws.is_virtual);
        assert_eq!(ws.members.len(), 3);
        assert_eq!(ws.default_members, ws.members);
        assert_eq!(w.len(), 3, "two standalone single-package workspaces");
        assert_eq!(pkg(&p, "services/a/Cargo.toml").kind, PackageKind::Service);
        assert_eq!(pkg(&p, "services/b/Cargo.toml").kind, PackageKind::Library);
    }

    #[test]
    fn nested_workspace_wins_and_excluded_falls_through_to_outer() {
        let (p, w, _) = fleet(
            &[
                (
                    "Cargo.toml",
                    "[package]\nname = \"root\"\n[workspace]\nmembers = [\"crates/*\", \"inner/keep\"]\n",
                ),
                ("crates/one/Cargo.toml", &lib("one")),
                ("inner/Cargo.toml", "[workspace]\nmembers = [\"svc\"]\nexclude = [\"keep\"]\n"),
                ("inner/svc/Cargo.toml", &lib("svc")),
                ("inner/keep/Cargo.toml", &lib("keep")),
            ],
            &[],
            &["Cargo.lock", "inner/Cargo.lock"],
        );
        assert_eq!(pkg(&p, "Cargo.toml").workspace, ".");
        assert_eq!(pkg(&p, "crates/one/Cargo.toml").workspace, ".");
        assert_eq!(pkg(&p, "inner/svc/Cargo.toml").workspace, "inner");
        assert_eq!(pkg(&p, "inner/svc/Cargo.toml").lockfile.as_deref(), Some("inner/Cargo.lock"));
        assert_eq!(pkg(&p, "inner/keep/Cargo.toml").workspace, ".", "excluded by inner, member of the root");
        let root = w.iter().find(|w| w.dir == ".").expect("root workspace");
        assert!(!root.is_virtual);
        assert_eq!(root.members.len(), 3);
        assert_eq!(root.default_members.len(), 1, "the root package only");
    }

    #[test]
    fn workspace_pointer_and_path_dependency_members() {
        let (p, _, _) = fleet(
            &[
                ("Cargo.toml", "[workspace]\nmembers = [\"app\"]\n"),
                (
                    "app/Cargo.toml",
                    &format!("{}[dependencies]\nhelper = {{ path = \"../helper\" }}\n", lib("app")),
                ),
                ("helper/Cargo.toml", &lib("helper")),
                ("far/away/Cargo.toml", &format!("{}workspace = \"../../other\"\n", lib("away"))),
                ("other/Cargo.toml", "[workspace]\n"),
            ],
            &[],
            &[],
        );
        assert_eq!(pkg(&p, "helper/Cargo.toml").workspace, ".", "path dependency of a member");
        assert_eq!(pkg(&p, "far/away/Cargo.toml").workspace, "other");
    }

    #[test]
    fn workspace_dependency_and_version_inheritance() {
        let root = r#"[workspace]
members = ["svc", "shared"]
[workspace.package]
version = "2.3.0"
[workspace.dependencies]
tokio = { version = "1.40", features = ["rt"] }
shared = { path = "shared", version = "0.1" }
fork = { git = "https://example.com/fork.git", branch = "main", package = "real-name" }
"#;
        let svc = r#"[package]
name = "svc"
version.workspace = true

[dependencies]
tokio = { workspace = true, features = ["macros"], optional = true }
shared.workspace = true
fork.workspace = true
missing.workspace = true
"#;
        let (p, _, problems) = fleet(
            &[("Cargo.toml", root), ("svc/Cargo.toml", svc), ("shared/Cargo.toml", &lib("shared"))],
            &["svc/src/main.rs"],
            &["Cargo.lock"],
        );
        let s = pkg(&p, "svc/Cargo.toml");
        assert_eq!(s.version.as_deref(), Some("2.3.0"));
        let d: HashMap<&str, &Dependency> = s.dependencies.iter().map(|d| (d.name.as_str(), d)).collect();
        assert_eq!(d["tokio"].req.as_deref(), Some("1.40"));
        assert!(d["tokio"].optional && d["tokio"].workspace_inherited);
        assert_eq!(d["shared"].source, DepSource::Path { path: "shared".into() });
        assert_eq!(d["fork"].package, "real-name");
        assert_eq!(
            d["fork"].source,
            DepSource::Git {
                url: "https://example.com/fork.git".into(),
                rev: None,
                branch: Some("main".into()),
                tag: None
            }
        );
        assert_eq!(d["missing"].key.line, 9);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].location.span.line, 9);
        assert!(problems[0].message.contains("`missing`"));
    }

    #[test]
    fn dependency_kinds_targets_renames_and_sources() {
        let text = r#"[package]
name = "svc"
[dependencies]
serde = "1"
web = { package = "actix-web", version = "4" }
internal = { version = "0.3", registry = "corp" }
core = { path = "../libs/core" }
[dev-dependencies]
proptest = "1"
[target.'cfg(windows)'.dependencies]
winapi = "0.3"
[target.x86_64-unknown-linux-gnu.build-dependencies]
cc = "1"
"#;
        let (p, _, problems) = fleet(&[("services/svc/Cargo.toml", text)], &[], &[]);
        assert!(problems.is_empty(), "{problems:?}");
        let s = pkg(&p, "services/svc/Cargo.toml");
        let d: HashMap<&str, &Dependency> = s.dependencies.iter().map(|d| (d.name.as_str(), d)).collect();
        assert_eq!(d["web"].package, "actix-web");
        assert_eq!(d["internal"].source, DepSource::Registry { registry: Some("corp".into()) });
        assert_eq!(d["serde"].source, DepSource::Registry { registry: None });
        assert_eq!(d["core"].source, DepSource::Path { path: "services/libs/core".into() });
        assert_eq!(d["proptest"].kind, DepKind::Dev);
        assert_eq!(d["winapi"].target.as_deref(), Some("cfg(windows)"));
        assert_eq!(
            (d["cc"].kind, d["cc"].target.as_deref()),
            (DepKind::Build, Some("x86_64-unknown-linux-gnu"))
        );
        assert_eq!(s.direct_dependency_count(), 5, "normal ones, target-specific included");
        assert_eq!(d["winapi"].key.line, 11);
    }

    #[test]
    fn bins_and_kinds() {
        let explicit =
            format!("{}autobins = false\n[[bin]]\nname = \"worker\"\npath = \"src/w.rs\"\n", lib("jobs"));
        let renamed_main = format!("{}[[bin]]\nname = \"gw\"\npath = \"src/main.rs\"\n", lib("gateway"));
        let mut policy = Policy::default();
        policy.fleet.service_roots.push(crate::config::PolicyGlob::new("functions/*").expect("glob"));
        let (p, _, _) = fleet_with(
            &[
                ("api/Cargo.toml", &lib("api")),
                ("cli/Cargo.toml", &lib("cli")),
                ("jobs/Cargo.toml", &explicit),
                ("gateway/Cargo.toml", &renamed_main),
                ("off/Cargo.toml", &format!("{}autobins = false\n", lib("off"))),
                ("functions/hook/Cargo.toml", &lib("hook")),
                ("lib/Cargo.toml", &lib("lib")),
            ],
            &[
                "api/src/main.rs",
                "cli/src/bin/admin.rs",
                "cli/src/bin/migrate/main.rs",
                "cli/src/bin/migrate/util.rs",
                "cli/src/lib.rs",
                "jobs/src/main.rs",
                "gateway/src/main.rs",
                "off/src/main.rs",
                "lib/src/lib.rs",
            ],
            &[],
            &policy,
        );
        let bins = |m: &str| pkg(&p, m).bins.clone();
        assert_eq!(bins("api/Cargo.toml"), ["api"]);
        assert_eq!(bins("cli/Cargo.toml"), ["admin", "migrate"]);
        assert_eq!(bins("jobs/Cargo.toml"), ["worker"]);
        assert_eq!(bins("gateway/Cargo.toml"), ["gw"]);
        assert!(bins("off/Cargo.toml").is_empty());
        assert_eq!(pkg(&p, "off/Cargo.toml").kind, PackageKind::Library);
        assert_eq!(pkg(&p, "functions/hook/Cargo.toml").kind, PackageKind::Service);
        assert_eq!(pkg(&p, "lib/Cargo.toml").kind, PackageKind::Library);
    }

    #[test]
    fn settings_with_their_places_and_the_root_they_inherit_from() {
        let root = r#"[workspace]
members = ["svc"]
exclude = ["solo"]
[workspace.package]
edition = "2021"
publish = false

[workspace.lints.rust]
unsafe_code = { level = "forbid", priority = -1 }

[workspace.dependencies]
serde = "1"
"quoted" = { git = "https://example.com/q" }

[profile.release]
overflow-checks = true
panic = "abort"
"#;
        let svc = r#"[package]
name = "svc"
edition.workspace = true
publish = ["corp"]
license = "MIT"
license-file = 3

[lints]
workspace = true
"#;
        let (_, _, settings, problems) = fleet_settings(
            &[("Cargo.toml", root), ("svc/Cargo.toml", svc), ("solo/Cargo.toml", &lib("solo"))],
            &["svc/src/main.rs"],
            &[],
            &Policy::default(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let spot = |line, column, end_column| Spot { line, column, end_column };
        let r = &settings["Cargo.toml"];
        assert_eq!(r.root.as_deref(), Some("Cargo.toml"));
        assert_eq!(
            (r.package_at, r.workspace_at, r.workspace_package_at),
            (None, Some(spot(1, 2, 11)), Some(spot(4, 12, 19)))
        );
        assert_eq!(
            r.workspace_package.edition,
            Setting::Value(SettingValue::Str("2021".into()), spot(5, 1, 8))
        );
        assert_eq!(r.workspace_package.publish, Setting::Value(SettingValue::Bool(false), spot(6, 1, 8)));
        let wl = r.workspace_lints.as_ref().expect("workspace lints");
        assert_eq!((wl.at.line, wl.rust.map(|s| s.line)), (8, Some(8)));
        assert_eq!(wl.unsafe_code, Some((Some("forbid".into()), spot(9, 1, 12))));
        assert_eq!(
            r.workspace_deps.iter().map(|(k, s)| (k.as_str(), s.line)).collect::<Vec<_>>(),
            [("quoted", 13), ("serde", 12)]
        );
        let p = r.profile_release.as_ref().expect("profile");
        assert_eq!(p.at, spot(15, 10, 17));
        assert_eq!(p.overflow_checks, Setting::Value(SettingValue::Bool(true), spot(16, 1, 16)));
        assert_eq!(p.panic.value(), Some(&SettingValue::Str("abort".into())));

        let s = &settings["svc/Cargo.toml"];
        assert_eq!(s.root.as_deref(), Some("Cargo.toml"));
        assert_eq!(s.package_at, Some(spot(1, 2, 9)));
        assert_eq!(s.package.edition, Setting::Inherit(spot(3, 1, 8)));
        assert_eq!(s.package.publish.value(), Some(&SettingValue::Strings(vec!["corp".into()])));
        assert_eq!(s.package.license.value(), Some(&SettingValue::Str("MIT".into())));
        assert_eq!(s.package.license_file.value(), Some(&SettingValue::Other));
        let l = s.lints.as_ref().expect("lints");
        assert_eq!((l.at.line, l.workspace.map(|w| w.line), l.unsafe_code.clone()), (8, Some(9), None));
        assert_eq!(s.profile_release, None);

        let solo = &settings["solo/Cargo.toml"];
        assert_eq!(solo.root, None, "standalone: nothing to inherit from");
        assert_eq!(solo.package.edition, Setting::Absent);
        assert_eq!(solo.anchor(), spot(1, 2, 9));
    }

    #[test]
    fn a_broken_manifest_hides_nothing_else() {
        let (p, w, problems) = fleet(
            &[
                ("Cargo.toml", "[workspace]\nmembers = [\"*\"]\n"),
                ("a/Cargo.toml", &lib("a")),
                ("b/Cargo.toml", "[package]\nname = \"b\"\n[dependencies\nserde = \"1\"\n"),
                ("c/Cargo.toml", &lib("a")),
            ],
            &[],
            &["Cargo.lock"],
        );
        assert_eq!(p.len(), 2, "duplicate names are kept");
        assert_eq!(w[0].members.len(), 2);
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].location.file.as_str(), problems[0].location.span.line), ("b/Cargo.toml", 3));
    }
}
