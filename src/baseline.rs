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

/// Recorded findings of one fingerprint.
///
/// Identical findings can occur several times in one file (the same call twice: same rule,
/// file and key, so the same fingerprint). One entry holds them all with their `count`
/// rather than one entry per occurrence: the file stays one line of meaning per finding, a
/// count that changes shows as a changed number in a diff, and files written before the count
/// existed (one entry per fingerprint) still read, as a count of 1. The count is written only
/// when it is not 1.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingEntry {
    pub rule: String,
    pub file: String,
    pub fingerprint: String,
    /// How many findings of this fingerprint were recorded (in a report's `absent` list: how
    /// many of them were not found).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// A run compared with a baseline: the states are on the findings
/// ([`crate::diag::Finding::baseline`]); this is the rest the reports show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The baseline file as given on the command line.
    pub file: String,
    /// Findings not in the baseline (they count against `--fail-on`).
    pub new: usize,
    /// Findings matched with a recorded one.
    pub unchanged: usize,
    /// Recorded findings the run did not find, each with how many of its occurrences are
    /// missing, sorted by (file, rule, fingerprint).
    pub absent: Vec<FindingEntry>,
}

impl Comparison {
    /// How many recorded occurrences were not found.
    pub fn absent_count(&self) -> usize {
        self.absent.iter().map(|e| e.count as usize).sum()
    }
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
        let mut counts: std::collections::BTreeMap<(String, String, String), u32> = Default::default();
        for f in outcome.findings.iter().filter(|f| f.suppression.is_none()) {
            *counts.entry((f.rule.clone(), f.location.file.clone(), f.fingerprint())).or_default() += 1;
        }
        let findings = counts
            .into_iter()
            .map(|((rule, file, fingerprint), count)| FindingEntry { rule, file, fingerprint, count })
            .collect();
        Baseline { version: VERSION, coverage, findings }
    }

    /// Compare a run's findings (in report order) with the recorded ones, by fingerprint, so a
    /// finding that moved lines stays matched. Each unsuppressed finding gets its state: of N
    /// findings of a fingerprint recorded M times, the first min(N, M) in report order are
    /// `unchanged`, the others `new`. Suppressed findings are left out of the comparison (they
    /// keep their suppression). Recorded occurrences left over are `absent`, listed when
    /// `in_scope(entry)` (a run that checked only some packages could not have found the
    /// others).
    pub fn compare(
        &self,
        file: String,
        findings: &mut [crate::diag::Finding],
        in_scope: impl Fn(&FindingEntry) -> bool,
    ) -> Comparison {
        use crate::diag::BaselineState;
        let mut left: Vec<u32> = self.findings.iter().map(|e| e.count).collect();
        let mut by_fingerprint: std::collections::HashMap<&str, Vec<usize>> = Default::default();
        for (i, e) in self.findings.iter().enumerate() {
            by_fingerprint.entry(e.fingerprint.as_str()).or_default().push(i);
        }
        let (mut new, mut unchanged) = (0, 0);
        for f in findings.iter_mut() {
            if f.suppression.is_some() {
                f.baseline = None;
                continue;
            }
            let fingerprint = f.fingerprint();
            let slot = by_fingerprint
                .get(fingerprint.as_str())
                .and_then(|entries| entries.iter().copied().find(|&i| left[i] > 0));
            f.baseline = Some(match slot {
                Some(i) => {
                    left[i] -= 1;
                    unchanged += 1;
                    BaselineState::Unchanged
                }
                None => {
                    new += 1;
                    BaselineState::New
                }
            });
        }
        let mut absent: Vec<FindingEntry> = self
            .findings
            .iter()
            .zip(left)
            .filter(|(e, n)| *n > 0 && in_scope(e))
            .map(|(e, n)| FindingEntry { count: n, ..e.clone() })
            .collect();
        absent.sort_by(|a, b| (&a.file, &a.rule, &a.fingerprint).cmp(&(&b.file, &b.rule, &b.fingerprint)));
        Comparison { file, new, unchanged, absent }
    }

    /// How many services have recorded coverage.
    pub fn services(&self) -> usize {
        self.coverage.iter().map(|e| &e.path).collect::<std::collections::BTreeSet<_>>().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{BaselineState, Finding, Location, Severity, Span, Suppression, SuppressionKind};

    fn finding(rule: &str, key: &str, line: u32) -> Finding {
        Finding::new(rule, Severity::High, "m", Location::new("a.rs", Span::line(line))).with_key(key)
    }

    fn entry(f: &Finding, count: u32) -> FindingEntry {
        FindingEntry {
            rule: f.rule.clone(),
            file: f.location.file.clone(),
            fingerprint: f.fingerprint(),
            count,
        }
    }

    #[test]
    fn compare_matches_by_fingerprint_with_multiplicity() {
        let (a, b, c) = (finding("r/a", "k", 1), finding("r/b", "k", 2), finding("r/c", "k", 3));
        let baseline = Baseline {
            version: VERSION,
            coverage: Vec::new(),
            findings: vec![entry(&a, 2), entry(&b, 1), entry(&c, 3)],
        };
        // a three times (recorded twice), b moved, c once (recorded three times), d new, and a
        // suppressed copy of b that takes no part.
        let mut moved_b = b.clone();
        moved_b.location.span = Span::line(40);
        let mut suppressed = b.clone();
        suppressed.suppression =
            Some(Suppression { kind: SuppressionKind::Policy, justification: "x".into() });
        let mut run =
            vec![a.clone(), a.clone(), a.clone(), moved_b, suppressed, c.clone(), finding("r/d", "k", 9)];
        let cmp = baseline.compare("base.json".into(), &mut run, |_| true);
        let states: Vec<Option<BaselineState>> = run.iter().map(|f| f.baseline).collect();
        use BaselineState::{New, Unchanged};
        assert_eq!(
            states,
            [Some(Unchanged), Some(Unchanged), Some(New), Some(Unchanged), None, Some(Unchanged), Some(New)]
        );
        assert_eq!((cmp.new, cmp.unchanged), (2, 4));
        assert_eq!(cmp.absent, vec![entry(&c, 2)]);
        assert_eq!(cmp.absent_count(), 2);
        assert!(!run[0].is_failing(Severity::Low) && run[2].is_failing(Severity::Low));
        // Out of scope: not listed.
        let mut again = vec![a.clone()];
        assert!(
            baseline
                .compare("b".into(), &mut again, |e| e.rule != "r/c")
                .absent
                .iter()
                .all(|e| e.rule != "r/c")
        );
    }

    #[test]
    fn counts_are_written_only_when_not_one_and_default_to_one() {
        let text = r#"{"version": 1, "findings": [
            {"rule": "r/a", "file": "a.rs", "fingerprint": "f1"},
            {"rule": "r/b", "file": "a.rs", "fingerprint": "f2", "count": 3}]}"#;
        let b: Baseline = serde_json::from_str(text).unwrap();
        assert_eq!(b.findings.iter().map(|e| e.count).collect::<Vec<_>>(), [1, 3]);
        let json = b.to_json();
        assert_eq!(json.matches("\"count\"").count(), 1, "{json}");
    }
}
