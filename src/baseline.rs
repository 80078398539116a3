//! The baseline file (`fleetward baseline -o FILE`): today's coverage per service and metric,
//! which `[coverage] no_drop` compares against, and today's findings by fingerprint. JSON,
//! sorted, one value per line of meaning, so it diffs well when committed.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    /// One entry per service and measured metric.
    #[serde(default)]
    pub coverage: Vec<CoverageEntry>,
    /// One entry per finding (suppressed ones excluded).
    #[serde(default)]
    pub findings: Vec<FindingEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageEntry {
    pub service: String,
    /// The package's directory, relative to the root (names can repeat across workspaces).
    pub path: String,
    pub metric: String,
    pub percent: f64,
    pub covered: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingEntry {
    pub rule: String,
    pub file: String,
    pub fingerprint: String,
}

impl Baseline {
    /// Read and check a baseline file (a problem here is exit 2: the comparison cannot be made).
    pub fn read(path: &Path) -> anyhow::Result<Baseline> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the baseline {}; record one with `fleetward baseline -o {}`",
                path.display(),
                path.display()
            )
        })?;
        let b: Baseline = serde_json::from_str(&text)
            .with_context(|| format!("the baseline {} is not a fleetward baseline", path.display()))?;
        if b.version != VERSION {
            anyhow::bail!(
                "the baseline {} has version {}, this fleetward reads version {VERSION}",
                path.display(),
                b.version
            );
        }
        Ok(b)
    }

    /// The recorded coverage of the package at `path` named `service` for `metric`: by path
    /// first, then by name when the path is not recorded (a service that moved).
    pub fn coverage(&self, service: &str, path: &str, metric: &str) -> Option<&CoverageEntry> {
        let of = |e: &&CoverageEntry| e.metric == metric;
        self.coverage
            .iter()
            .filter(of)
            .find(|e| e.path == path)
            .or_else(|| self.coverage.iter().filter(of).find(|e| e.service == service))
    }

    /// The file's text: pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

impl Baseline {
    /// Today's baseline from a run: the coverage rows with a percentage, and every finding
    /// that is not suppressed, sorted.
    pub fn record(outcome: &crate::pipeline::Outcome) -> Baseline {
        let mut coverage: Vec<CoverageEntry> = outcome
            .coverage
            .iter()
            .flat_map(|s| &s.rows)
            .filter_map(|r| {
                Some(CoverageEntry {
                    service: r.service.clone(),
                    path: r.path.clone(),
                    metric: r.metric.as_str().to_string(),
                    percent: r.percent?,
                    covered: r.covered,
                    total: r.total,
                })
            })
            .collect();
        coverage.sort_by(|a, b| (&a.path, &a.service, &a.metric).cmp(&(&b.path, &b.service, &b.metric)));
        let mut findings: Vec<FindingEntry> = outcome
            .findings
            .iter()
            .filter(|f| f.suppression.is_none())
            .map(|f| FindingEntry {
                rule: f.rule.clone(),
                file: f.location.file.clone(),
                fingerprint: f.fingerprint(),
            })
            .collect();
        findings.sort();
        findings.dedup();
        Baseline { version: VERSION, coverage, findings }
    }

    /// How many services have recorded coverage.
    pub fn services(&self) -> usize {
        self.coverage.iter().map(|e| &e.path).collect::<std::collections::BTreeSet<_>>().len()
    }
}
