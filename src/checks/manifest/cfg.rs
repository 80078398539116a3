//! `[manifest]`: the fleet's dependency and manifest policy, validated (see
//! `src/config/manifest.rs` for the file format).

use crate::checks::source::cfg::ServiceSelector;
use crate::workspace::Package;
use semver::VersionReq;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct ManifestPolicy {
    /// Whether a `[manifest]` section exists.
    pub configured: bool,
    /// Whether dev-dependencies count for bans, drift and sources (default: no).
    pub dev_dependencies: bool,
    /// Whether build-dependencies count (default: yes).
    pub build_dependencies: bool,
    /// `[[manifest.ban]]`, in file order.
    pub bans: Vec<Ban>,
    /// `[[manifest.required]]`: crates every selected service must depend on directly.
    pub required: Vec<RequiredCrate>,
    pub drift: Drift,
    pub sources: Sources,
    /// `[manifest.require]`: what every service (or package) must set.
    pub require: Require,
    /// `[[manifest.service]]` overrides of `require`, in file order (later ones win).
    pub services: Vec<ServiceRequire>,
}

/// A banned crate.
#[derive(Debug, Clone)]
pub struct Ban {
    /// The crate's real name (as in the lockfile).
    pub name: String,
    /// Only these versions (`None`: every version).
    pub versions: Option<VersionReq>,
    /// Only as a direct dependency of a fleet package (transitive uses are allowed).
    pub direct_only: bool,
    pub reason: String,
    /// The suggested replacement (`openssl` -> `rustls`).
    pub use_instead: Option<String>,
    /// Services that may use it anyway.
    pub allow: Vec<BanAllow>,
    /// 1-based line of the entry in the policy file.
    pub line: u32,
}

/// A crate every selected service must depend on (a company's telemetry or auth crate).
#[derive(Debug, Clone)]
pub struct RequiredCrate {
    pub name: String,
    /// The versions that count (`None`: any).
    pub versions: Option<VersionReq>,
    /// The services it is required of (`None`: every service).
    pub selector: Option<ServiceSelector>,
    pub reason: String,
    pub line: u32,
}

#[derive(Debug, Clone)]
pub struct BanAllow {
    pub selector: ServiceSelector,
    pub reason: String,
    pub expires: Option<jiff::civil::Date>,
    pub line: u32,
}

/// How far apart two versions of a crate may be across the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriftLevel {
    /// A different major version (the first non-zero component: `0.4` vs `0.5` differ too).
    #[default]
    Major,
    /// A different major or minor version.
    Minor,
}

#[derive(Debug, Clone, Default)]
pub enum DriftCrates {
    /// No crate named: only the crates given a version in `chosen` are checked.
    #[default]
    None,
    /// Every crate used by more than one service.
    All,
    /// These crates only.
    Named(Vec<String>),
}

#[derive(Debug, Clone, Default)]
pub struct Drift {
    pub crates: DriftCrates,
    pub level: DriftLevel,
    /// The fleet's chosen version of some crates (`tokio = "1.40"`), with its policy line;
    /// otherwise the most common one wins (ties: the newest).
    pub chosen: BTreeMap<String, (semver::Version, u32)>,
    /// More versions than this of one crate in one lockfile is a finding (`None`: no limit).
    pub max_versions: Option<u32>,
    /// Crates allowed any number of versions in one lockfile.
    pub duplicates_allowed: Vec<String>,
    pub line: u32,
}

#[derive(Debug, Clone)]
pub struct Sources {
    /// Registries dependencies may come from (`crates-io` is crates.io; `None`: any).
    pub registries: Option<Vec<String>>,
    /// Git hosts (`github.com`) or host prefixes (`github.com/acme`) git dependencies may come
    /// from (`None`: any).
    pub git_hosts: Option<Vec<String>>,
    /// Git dependencies must name a commit (`rev`), not a branch or the default branch.
    pub require_git_rev: bool,
    /// `*` requirements are reported (default: yes).
    pub wildcard: bool,
    /// `path` dependencies that leave the repository are reported (default: yes).
    pub path_outside_repository: bool,
    pub line: u32,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            registries: None,
            git_hosts: None,
            require_git_rev: false,
            wildcard: true,
            path_outside_repository: true,
            line: 0,
        }
    }
}

/// Required settings; `None` is "not required".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Require {
    /// `[lints.rust] unsafe_code = "forbid"` (or inherited with `[lints] workspace = true`).
    pub unsafe_code_forbid: Option<bool>,
    /// The lowest edition allowed (`"2021"`).
    pub min_edition: Option<String>,
    /// Services set `publish = false`.
    pub services_unpublished: Option<bool>,
    /// A `license` or `license-file`.
    pub license: Option<bool>,
    /// The workspace root's `[profile.release] overflow-checks = true`.
    pub release_overflow_checks: Option<bool>,
    /// The workspace root's `[profile.release] panic = "abort"|"unwind"`.
    pub release_panic: Option<String>,
    /// Whether the requirements apply to libraries too (default: services only).
    pub libraries: Option<bool>,
}

impl Require {
    /// `self` with every setting `over` sets replaced.
    pub fn merged(&self, over: &Require) -> Require {
        Require {
            unsafe_code_forbid: over.unsafe_code_forbid.or(self.unsafe_code_forbid),
            min_edition: over.min_edition.clone().or_else(|| self.min_edition.clone()),
            services_unpublished: over.services_unpublished.or(self.services_unpublished),
            license: over.license.or(self.license),
            release_overflow_checks: over.release_overflow_checks.or(self.release_overflow_checks),
            release_panic: over.release_panic.clone().or_else(|| self.release_panic.clone()),
            libraries: over.libraries.or(self.libraries),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceRequire {
    pub selector: ServiceSelector,
    pub require: Require,
    /// Skip every manifest check for these services.
    pub skip: bool,
}

impl ManifestPolicy {
    /// The requirements of package `p`: `[manifest.require]` with the matching
    /// `[[manifest.service]]` overrides applied in order; `None` when an override skips it.
    pub fn require_for(&self, p: &Package) -> Option<Require> {
        let mut r = self.require.clone();
        for o in self.services.iter().filter(|o| o.selector.matches(p)) {
            if o.skip {
                return None;
            }
            r = r.merged(&o.require);
        }
        Some(r)
    }

    /// Whether an override skips every manifest check for `p`.
    pub fn skips(&self, p: &Package) -> bool {
        self.services.iter().any(|o| o.skip && o.selector.matches(p))
    }
}
