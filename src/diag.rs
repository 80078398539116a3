//! Findings are values: every check pushes [`Finding`]s into a [`Sink`] and never fails.
//!
//! A finding names its rule, severity, a precise location (file relative to the scanned root,
//! `/`-separated, 1-based line and column), the services it concerns, and a line-independent
//! `key` from which the stable fingerprint is derived.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

/// `info < low < medium < high < critical`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Critical, Severity::High, Severity::Medium, Severity::Low, Severity::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// DESIGN.md §2: >= 9 critical, >= 7 high, >= 4 medium, else low.
    pub fn from_cvss(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else {
            Severity::Low
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A region of a file: 1-based lines and columns, `end_column` is the column after the last
/// character (SARIF convention).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

impl Span {
    /// A whole-line-start position (column 1, one character wide).
    pub fn line(line: u32) -> Span {
        let line = line.max(1);
        Span { line, column: 1, end_line: line, end_column: 2 }
    }

    pub fn at(line: u32, column: u32) -> Span {
        let (line, column) = (line.max(1), column.max(1));
        Span { line, column, end_line: line, end_column: column + 1 }
    }

    /// The span as reports show it: lines and columns at least 1, the end not before the
    /// start (SARIF regions must be ordered). Findings are normalised before they are sorted,
    /// so every format shows, and `fleetward merge` sorts by, the same numbers.
    pub fn normalized(&self) -> Span {
        let line = self.line.max(1);
        let column = self.column.max(1);
        let end_line = self.end_line.max(line);
        let end_column = if end_line == line { self.end_column.max(column) } else { self.end_column.max(1) };
        Span { line, column, end_line, end_column }
    }
}

/// A place in the scanned tree. `file` is relative to the scanned root with `/` separators and
/// never points outside it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub span: Span,
}

impl Location {
    pub fn new(file: impl Into<String>, span: Span) -> Location {
        Location { file: file.into(), span }
    }
}

/// A secondary location (an affected service's manifest, the router a route belongs to, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    pub location: Location,
    pub message: String,
}

/// Why a finding is not counted: an inline `fleetward:allow` or a policy ignore.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// `in-source` or `policy`
    pub kind: SuppressionKind,
    pub justification: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionKind {
    InSource,
    Policy,
}

/// What an advisory finding carries besides the common fields (JSON `advisory` object).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryInfo {
    pub id: String,
    pub package: String,
    pub version: String,
    pub patched: Vec<String>,
    pub aliases: Vec<String>,
    pub cvss: Option<f64>,
    /// `vulnerability`, `unmaintained`, `unsound` or `notice`
    pub kind: String,
    pub title: String,
    pub url: Option<String>,
    pub date: String,
    /// The advisory's markdown description (SARIF rule help).
    #[serde(skip)]
    pub description: String,
    /// The `cvss` vector string, when the advisory has one.
    #[serde(skip)]
    pub cvss_vector: Option<String>,
}

/// One result of one rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    /// Names of the packages (services first; libraries when no service is concerned) this
    /// finding concerns, sorted.
    pub services: Vec<String>,
    /// Line-independent identity of the finding within its rule and file (e.g. advisory id and
    /// crate name). Fingerprints are derived from it, so it must not contain line numbers.
    pub key: String,
    pub suppression: Option<Suppression>,
    pub related: Vec<Related>,
    /// One-line fix suggestion shown under the finding.
    pub help: Option<String>,
    pub advisory: Option<AdvisoryInfo>,
    /// What a route finding carries (JSON `route`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<Box<RouteInfo>>,
    /// What a coverage finding carries (JSON `coverage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageInfo>,
    /// Whether the finding was already in the `--baseline` (set on unsuppressed findings of a
    /// run given one; `None` otherwise). An unchanged finding does not fail the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineState>,
}

/// A finding compared with a baseline (SARIF `baselineState`; baseline entries that no finding
/// matched are `absent`, listed apart since they are not findings of the run).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineState {
    New,
    Unchanged,
}

impl BaselineState {
    pub fn as_str(self) -> &'static str {
        match self {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
        }
    }
}

/// The numbers of a coverage finding: the metric, what was measured (covered of total, the
/// percentage rounded to two decimals), the threshold and the baseline it was compared with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CoverageInfo {
    pub metric: String,
    pub percent: Option<f64>,
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    pub covered: u64,
    pub total: u64,
}

/// A place named in a route finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePlace {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// What is there (`.route`, `nest "/admin"`, `from_fn(require_auth)`, `main`).
    pub what: String,
}

/// One piece of evidence considered for a route, counted or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEvidence {
    pub name: String,
    pub source: String,
    pub counted: bool,
    pub file: String,
    pub line: u32,
    /// Why it counted or did not.
    pub why: String,
}

/// A route of a service with its verdict (spec §4; `fleetward routes` rows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInfo {
    pub service: String,
    pub framework: String,
    pub methods: Vec<String>,
    pub path: String,
    pub handler: String,
    /// `protected`, `unprotected`, `public` or `unresolvable`.
    pub verdict: String,
    /// The finding's severity (unprotected and unresolvable routes only).
    pub severity: Option<Severity>,
    /// `high`, `medium` or `low`.
    pub confidence: String,
    pub handler_site: Option<RoutePlace>,
    pub registration: RoutePlace,
    pub router: RoutePlace,
    /// Nest, merge, scope, mount, configure and serve sites, inner to outer.
    pub composition: Vec<RoutePlace>,
    pub evidence: Vec<RouteEvidence>,
    /// What protects it (names of the counted evidence).
    pub protected_by: Vec<String>,
    pub pitfalls: Vec<String>,
    pub missed_auth: Vec<RoutePlace>,
    pub reason: String,
    pub fix: String,
}

impl Finding {
    pub fn new(
        rule: impl Into<String>,
        severity: Severity,
        message: impl Into<String>,
        location: Location,
    ) -> Finding {
        let rule = rule.into();
        let message = message.into();
        Finding {
            key: message.clone(),
            rule,
            severity,
            message,
            location,
            services: Vec::new(),
            suppression: None,
            related: Vec::new(),
            help: None,
            advisory: None,
            route: None,
            coverage: None,
            baseline: None,
        }
    }

    pub fn with_key(mut self, key: impl Into<String>) -> Finding {
        self.key = key.into();
        self
    }

    pub fn with_services(mut self, mut services: Vec<String>) -> Finding {
        services.sort();
        services.dedup();
        self.services = services;
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Finding {
        self.help = Some(help.into());
        self
    }

    pub fn with_coverage(mut self, info: CoverageInfo) -> Finding {
        self.coverage = Some(info);
        self
    }

    pub fn with_related(mut self, related: Vec<Related>) -> Finding {
        self.related = related;
        self
    }

    /// Stable, line-independent fingerprint: rule, file and key hashed (hex, 32 chars).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for part in [self.rule.as_str(), self.location.file.as_str(), self.key.as_str()] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        let digest = h.finalize();
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether this finding counts against `--fail-on`: not suppressed, severe enough, and not
    /// already in the baseline. The one place that decides it (exit status and every report).
    pub fn is_failing(&self, fail_on: Severity) -> bool {
        self.suppression.is_none()
            && self.severity >= fail_on
            && self.baseline != Some(BaselineState::Unchanged)
    }
}

/// The rule id of "fleetward could not read or parse this file".
pub const PARSE_ERROR: &str = "fleetward/parse-error";

/// A problem with one scanned file: a `fleetward/parse-error` finding (severity high: the file
/// could not be checked), located at the line of the problem.
pub fn parse_error(file: &str, line: u32, column: u32, message: impl Into<String>) -> Finding {
    let message = message.into();
    Finding::new(PARSE_ERROR, Severity::High, message, Location::new(file, Span::at(line, column)))
        .with_key("parse-error")
}

/// Where checks put their findings. Thread-safe; order does not matter, the report sorts.
#[derive(Default, Debug)]
pub struct Sink {
    findings: Mutex<Vec<Finding>>,
}

impl Sink {
    pub fn new() -> Sink {
        Sink::default()
    }

    pub fn push(&self, finding: Finding) {
        self.findings.lock().expect("sink poisoned").push(finding);
    }

    pub fn extend(&self, findings: impl IntoIterator<Item = Finding>) {
        self.findings.lock().expect("sink poisoned").extend(findings);
    }

    /// All findings, spans normalised, in the report order (see [`sort_findings`]).
    pub fn into_sorted(self) -> Vec<Finding> {
        let mut v = self.findings.into_inner().expect("sink poisoned");
        for f in &mut v {
            f.location.span = f.location.span.normalized();
        }
        sort_findings(&mut v);
        v
    }
}

/// The report order: file, span (line, column, end line, end column), rule, message, then
/// fingerprint (the hash of rule, file and key), so the order is total for distinct findings
/// and the output byte-identical at any thread count. Every part of this key is in the JSON
/// and SARIF reports, so `fleetward merge` restores the same order from shard outputs.
pub fn sort_findings(findings: &mut [Finding]) {
    // Stable: the (key, index) pairs are sorted, the fingerprint hashed once per finding.
    findings.sort_by_cached_key(|f| {
        (f.location.file.clone(), f.location.span.clone(), f.rule.clone(), f.message.clone(), f.fingerprint())
    });
}

/// 1-based (line, column) of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line as u32, column as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_and_cvss() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        assert_eq!(Severity::from_cvss(9.8), Severity::Critical);
        assert_eq!(Severity::from_cvss(7.0), Severity::High);
        assert_eq!(Severity::from_cvss(5.9), Severity::Medium);
        assert_eq!(Severity::from_cvss(3.1), Severity::Low);
    }

    #[test]
    fn fingerprint_ignores_line() {
        let a = Finding::new("r/x", Severity::Low, "m", Location::new("a", Span::line(3)));
        let mut b = a.clone();
        b.location.span = Span::line(90);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 32);
    }

    #[test]
    fn report_order_is_span_rule_message_fingerprint() {
        let at = |line, rule: &str, message: &str, key: &str| {
            Finding::new(rule, Severity::Low, message, Location::new("a", Span::line(line))).with_key(key)
        };
        let mut v = vec![
            at(2, "r/a", "m", "k"),
            at(1, "r/b", "m", "k"),
            at(1, "r/a", "z", "k"),
            at(1, "r/a", "m", "k2"),
            at(1, "r/a", "m", "k1"),
        ];
        let mut fps: Vec<String> = [&v[3], &v[4]].iter().map(|f| f.fingerprint()).collect();
        fps.sort();
        sort_findings(&mut v);
        let got: Vec<(u32, &str, &str, String)> = v
            .iter()
            .map(|f| (f.location.span.line, f.rule.as_str(), f.message.as_str(), f.fingerprint()))
            .collect();
        assert_eq!(
            got.iter().map(|g| (g.0, g.1, g.2)).collect::<Vec<_>>(),
            [(1, "r/a", "m"), (1, "r/a", "m"), (1, "r/a", "z"), (1, "r/b", "m"), (2, "r/a", "m")]
        );
        assert_eq!(
            [got[0].3.clone(), got[1].3.clone()],
            [fps[0].clone(), fps[1].clone()],
            "then by fingerprint"
        );
    }

    #[test]
    fn spans_are_normalized() {
        let s = Span { line: 0, column: 0, end_line: 0, end_column: 0 }.normalized();
        assert_eq!(s, Span { line: 1, column: 1, end_line: 1, end_column: 1 });
        let s = Span { line: 5, column: 9, end_line: 3, end_column: 2 }.normalized();
        assert_eq!(s, Span { line: 5, column: 9, end_line: 5, end_column: 9 });
    }

    #[test]
    fn line_col_counts_chars() {
        let t = "ab\ncdé f\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 8), (2, 5));
    }
}
