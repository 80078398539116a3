//! The validated `[coverage]` policy.

use super::model::Metric;
use crate::checks::source::cfg::ServiceSelector;
use crate::config::PolicyGlob;
use crate::workspace::Package;
use std::path::PathBuf;

/// What to do with a package's source files that no report names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingFiles {
    /// List them (they do not change the percentages).
    #[default]
    List,
    /// Count their code lines (and functions) as not covered.
    Uncovered,
}

/// Settings that `[[coverage.service]]` can override; `None` means "not set here".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// Minimum percent per metric, by [`Metric::index`].
    pub min: [Option<f64>; 4],
    pub require_report: Option<bool>,
    pub no_drop: Option<bool>,
    /// Allowed drop below the baseline, in percentage points.
    pub tolerance: Option<f64>,
    pub missing_files: Option<MissingFiles>,
    /// Not checked at all.
    pub skip: Option<bool>,
}

impl Settings {
    /// `self` with every key `over` sets replaced.
    fn overlay(&mut self, over: &Settings) {
        for m in Metric::ALL {
            if over.min[m.index()].is_some() {
                self.min[m.index()] = over.min[m.index()];
            }
        }
        self.require_report = over.require_report.or(self.require_report);
        self.no_drop = over.no_drop.or(self.no_drop);
        self.tolerance = over.tolerance.or(self.tolerance);
        self.missing_files = over.missing_files.or(self.missing_files);
        self.skip = over.skip.or(self.skip);
    }
}

/// `[[coverage.service]]`.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    pub selector: ServiceSelector,
    pub settings: Settings,
}

/// `[coverage]`.
#[derive(Debug, Clone, Default)]
pub struct CoveragePolicy {
    /// Whether the policy has a `[coverage]` section at all.
    pub configured: bool,
    /// Globs of report files, relative to the root (besides `--coverage`).
    pub reports: Vec<PolicyGlob>,
    /// Source files not counted (generated code, test helpers).
    pub exclude: Vec<PolicyGlob>,
    /// The committed baseline `no_drop` compares against (resolved against the policy file).
    pub baseline: Option<PathBuf>,
    /// Fleet-wide settings.
    pub fleet: Settings,
    /// Overrides in file order: later entries win for the keys they set.
    pub services: Vec<ServiceSettings>,
    /// 1-based line of the `[coverage]` header in the policy file.
    pub line: u32,
}

/// The settings that apply to one package, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub min: [Option<f64>; 4],
    pub require_report: bool,
    pub no_drop: bool,
    pub tolerance: f64,
    pub missing_files: MissingFiles,
    pub skip: bool,
}

impl CoveragePolicy {
    /// The fleet-wide settings overlaid with every override that selects `p`, in file order.
    pub fn for_package(&self, p: &Package) -> Effective {
        let mut s = self.fleet.clone();
        for o in self.services.iter().filter(|o| o.selector.matches(p)) {
            s.overlay(&o.settings);
        }
        Effective {
            min: s.min,
            require_report: s.require_report.unwrap_or(false),
            no_drop: s.no_drop.unwrap_or(false),
            tolerance: s.tolerance.unwrap_or(0.0),
            missing_files: s.missing_files.unwrap_or_default(),
            skip: s.skip.unwrap_or(false),
        }
    }

    /// Whether any package can need the baseline.
    pub fn uses_baseline(&self) -> bool {
        self.fleet.no_drop == Some(true) || self.services.iter().any(|s| s.settings.no_drop == Some(true))
    }
}
