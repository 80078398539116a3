//! The fleet model: workspaces, packages (services and libraries), lockfiles and the
//! dependencies each manifest declares. Built by [`load`] from what `discover` listed;
//! every manifest is parsed once here. Problems with one manifest become
//! `fleetward/parse-error` findings in [`Fleet::problems`]; the rest of the fleet still loads.

use crate::diag::Finding;
use serde::Serialize;
use std::path::PathBuf;

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
    /// 1-based line of the entry in the package's manifest.
    pub line: u32,
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
    /// Sorted by manifest path.
    pub workspaces: Vec<Workspace>,
    /// Every `Cargo.lock` found, relative, sorted.
    pub lockfiles: Vec<String>,
    /// Every Rust source file found, relative, sorted (read by the source checks).
    pub rust_files: Vec<String>,
    /// Coverage reports found by discovery (lcov.info, cobertura.xml, ...), relative, sorted.
    pub coverage_reports: Vec<String>,
    /// Parse errors and discovery problems (symlink loops, unreadable files), as findings.
    pub problems: Vec<Finding>,
}

impl Fleet {
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

/// Discover and load the fleet under `root` (HELPER: to implement).
pub fn load(root: &std::path::Path, _policy: &crate::config::Policy) -> Fleet {
    Fleet { root: root.to_path_buf(), ..Fleet::default() }
}
