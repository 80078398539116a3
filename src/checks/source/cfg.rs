//! Configuration of the source checks (`banned`, `unsafe`, `secrets`). Every type has a
//! `Default` that is what applies with no policy file; the policy parser (`config.rs`) fills
//! these from `[source]`, `[unsafe]` and per-service overrides.

use crate::workspace::Package;

/// What the one-parse-per-file engine does, shared by all source checks.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Drop `#[cfg(test)]` items and `#[test]` functions before any check looks at the tree
    /// (default true).
    pub skip_test_code: bool,
    /// Directories (first component of a path relative to its package) whose files are not
    /// scanned (default `tests`, `benches`, `examples`).
    pub skip_dirs: Vec<String>,
    /// Files larger than this are not parsed (default 1 MiB, semgrep's default too): syn's tree
    /// takes up to a hundred times a file's size, and such files are generated. They are
    /// reported as skipped for `banned` and `unsafe`; `secrets` still scans their text.
    pub max_file_bytes: u64,
    /// Files larger than this are not read at all (default 64 MiB).
    pub max_read_bytes: u64,
    /// Files larger than this are parsed one at a time, so that two big trees are never in
    /// memory together (default 256 KiB).
    pub big_file_bytes: u64,
    /// Files whose brackets nest deeper than this are reported as skipped, not parsed
    /// (default 20,000; the parse runs on threads with [`SourceConfig::stack_size`]).
    pub max_nesting: usize,
    /// Stack of the threads that parse and visit (default 256 MiB of address space, only the
    /// touched part is ever committed).
    pub stack_size: usize,
    /// Parse only the files that mention something an enabled rule looks for: a name of a
    /// banned matcher (or a crate alias of one), `unsafe`, or a `fleetward:` directive (default
    /// true). Others get only the text checks; their syntax errors are not reported.
    pub prefilter: bool,
    /// Scan `.rs` files that belong to no package (default false when the fleet has packages).
    pub scan_orphan_files: bool,
    pub unsafe_policy: UnsafePolicy,
    /// `[banned]`: rules turned off, exceptions, the user's own rules.
    pub banned: crate::checks::banned::cfg::BannedConfig,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            skip_test_code: true,
            skip_dirs: vec!["tests".into(), "benches".into(), "examples".into()],
            max_file_bytes: 1024 * 1024,
            max_read_bytes: 64 * 1024 * 1024,
            big_file_bytes: 256 * 1024,
            max_nesting: 20_000,
            stack_size: 256 * 1024 * 1024,
            scan_orphan_files: false,
            prefilter: true,
            unsafe_policy: UnsafePolicy::default(),
            banned: Default::default(),
        }
    }
}

/// `deny` | `allow` | `require-safety-comment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnsafeMode {
    /// Every `unsafe` block, fn or impl is a finding (`unsafe/unsafe-code`).
    Deny,
    /// `unsafe` is not checked.
    Allow,
    /// `unsafe` must be preceded by a `// SAFETY:` comment (`unsafe/unsafe-without-safety-comment`).
    #[default]
    RequireSafetyComment,
}

/// The fleet-wide unsafe mode and its per-service overrides (first match wins).
#[derive(Debug, Clone, Default)]
pub struct UnsafePolicy {
    pub mode: UnsafeMode,
    pub overrides: Vec<ServiceOverride<UnsafeMode>>,
}

impl UnsafePolicy {
    pub fn mode_for(&self, package: Option<&Package>) -> UnsafeMode {
        package
            .and_then(|p| self.overrides.iter().find(|o| o.selector.matches(p)))
            .map_or(self.mode, |o| o.value)
    }
}

/// Selects packages by name or directory (`names`, exact), or by a glob matched against the
/// name and the directory (`paths`: `legacy-*`, `services/payments/*`).
#[derive(Debug, Clone)]
pub struct ServiceSelector {
    pub names: Vec<String>,
    pub paths: Vec<crate::config::PolicyGlob>,
}

impl ServiceSelector {
    pub fn matches(&self, p: &Package) -> bool {
        self.names.iter().any(|n| *n == p.name || *n == p.dir)
            || self.paths.iter().any(|g| g.is_match(&p.dir) || g.is_match(&p.name))
    }
}

/// A value that applies to the selected services only.
#[derive(Debug, Clone)]
pub struct ServiceOverride<T> {
    pub selector: ServiceSelector,
    pub value: T,
}
