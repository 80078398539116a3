//! The `coverage` check: per-service coverage thresholds from the reports CI already makes.
//!
//! reports (`--coverage`, `[coverage] reports` globs, else the ones discovery found) -> read in
//! parallel, format told by content (`lcov.rs`, `cobertura.rs`, `json.rs`) -> each report's
//! paths mapped to repository files (`paths.rs`) -> merged per file (a point is covered when any
//! report covered it) -> summed per package -> compared with the thresholds and the baseline.
//! A report that cannot be read is a `fleetward/parse-error` at its line and is left out; the
//! other reports and services are still checked.

pub mod cfg;
mod cobertura;
mod estimate;
mod json;
mod lcov;
pub mod model;
mod paths;

use crate::baseline::Baseline;
use crate::checks::CheckCtx;
use crate::diag::{CoverageInfo, Finding, Location, Sink, Span, parse_error};
use crate::workspace::Package;
use cfg::{Effective, MissingFiles};
use model::{FileCoverage, Format, Measured, Metric, ReadError, ReportData};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

pub const BELOW_THRESHOLD: &str = "coverage/below-threshold";
pub const DROPPED: &str = "coverage/dropped";
pub const MISSING_REPORT: &str = "coverage/missing-report";
pub const UNMATCHED_REPORT: &str = "coverage/unmatched-report";

/// Reports that are not LCOV are read whole; larger ones are refused.
const MAX_WHOLE_REPORT: u64 = 1 << 30;

/// What the coverage check reads besides the fleet and the policy.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// `--coverage` files.
    pub reports: Vec<PathBuf>,
    /// The baseline `no_drop` compares with, already read.
    pub baseline: Option<Baseline>,
}

/// What the check measured, for the reports' coverage tables.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Every report read, in the order read.
    pub reports: Vec<ReportRow>,
    /// One row per package and metric.
    pub rows: Vec<Row>,
    /// Per package with coverage data, its source files with code that no report names.
    pub unreported: Vec<Unreported>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportRow {
    pub file: String,
    pub format: Option<Format>,
    /// Files the report names.
    pub files: usize,
    /// Of those, files of the repository's packages.
    pub matched: usize,
    /// Why it could not be read.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    BelowThreshold,
    Dropped,
    /// Measured, with no threshold and no baseline to compare with.
    Measured,
    /// The reports do not measure this metric (or the package has nothing of it).
    NoData,
    /// No report names any file of the package.
    NoReport,
    /// `skip = true`.
    Skipped,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::BelowThreshold => "below threshold",
            Verdict::Dropped => "dropped",
            Verdict::Measured => "measured",
            Verdict::NoData => "n/a",
            Verdict::NoReport => "no report",
            Verdict::Skipped => "skipped",
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::BelowThreshold | Verdict::Dropped)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub service: String,
    /// The package's directory.
    pub path: String,
    pub metric: Metric,
    /// Rounded to two decimals; `None` without data.
    pub percent: Option<f64>,
    pub covered: u64,
    pub total: u64,
    pub threshold: Option<f64>,
    pub baseline: Option<f64>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unreported {
    pub service: String,
    pub files: Vec<String>,
    /// Whether they were counted as uncovered (`missing_files = "uncovered"`).
    pub counted_as_uncovered: bool,
}

/// Run the check. `None` when there is nothing to do: no report anywhere and no `[coverage]`
/// in the policy.
pub fn check(ctx: &CheckCtx<'_>, inputs: &Inputs, sink: &Sink) -> Option<Summary> {
    let policy = &ctx.policy.coverage;
    let sources = report_sources(ctx, inputs);
    if sources.is_empty() && !policy.configured {
        return None;
    }
    let fleet = ctx.fleet;
    let read: Vec<(Source, Result<ReportData, ReadError>)> = sources
        .into_par_iter()
        .map(|s| {
            let r = read_report(&s.path);
            (s, r)
        })
        .collect();

    // Map and merge.
    let repo = paths::RepoFiles::new(&fleet.root, fleet.rust_files.iter().map(String::as_str));
    let mut merged: BTreeMap<String, FileCoverage> = BTreeMap::new();
    let mut summary = Summary::default();
    for (source, result) in read {
        let data = match result {
            Ok(d) => d,
            // A file found by its name alone that is some other JSON or XML (coverage.py writes
            // `coverage.json`) is not ours: skipped, and listed as not read.
            Err(e) if e.not_coverage && !source.requested => {
                summary.reports.push(ReportRow {
                    file: source.shown,
                    format: None,
                    files: 0,
                    matched: 0,
                    error: Some(e.message),
                });
                continue;
            }
            Err(e) => {
                sink.push(match &source.rel {
                    Some(rel) => parse_error(rel, e.line, 1, format!("coverage report: {}", e.message)),
                    // Outside the root: located at the policy, the message names the report.
                    None => parse_error(
                        &source.location_file(ctx),
                        1,
                        1,
                        format!("coverage report {}, line {}: {}", source.shown, e.line, e.message),
                    ),
                });
                summary.reports.push(ReportRow {
                    file: source.shown,
                    format: None,
                    files: 0,
                    matched: 0,
                    error: Some(e.message),
                });
                continue;
            }
        };
        let names: Vec<&str> = data.files.iter().map(|(p, _)| p.as_str()).collect();
        let mapped = repo.map(&names, &data.bases);
        let first = names.first().map(|s| s.to_string());
        let files = data.files.len();
        let mut matched = 0;
        for ((_, file), m) in data.files.into_iter().zip(mapped) {
            let paths::Mapped::File(rel) = m else { continue };
            if crate::checks::source::owner(fleet, &rel).is_none() {
                continue;
            }
            matched += 1;
            if policy.exclude.iter().any(|g| g.is_match(&rel)) {
                continue;
            }
            match merged.get_mut(&rel) {
                Some(f) => f.merge(file),
                None => {
                    merged.insert(rel, file);
                }
            }
        }
        if matched == 0 {
            let message = match first {
                Some(first) => format!(
                    "{}: none of the {files} file{} it names is a source file of this repository (the first is `{first}`)",
                    source.shown,
                    if files == 1 { "" } else { "s" }
                ),
                None => format!("{}: the report names no file at all", source.shown),
            };
            sink.push(
                Finding::new(
                    UNMATCHED_REPORT,
                    crate::registry::severity(UNMATCHED_REPORT),
                    message,
                    Location::new(source.location_file(ctx), Span::line(1)),
                )
                .with_key(format!("unmatched {}", source.shown))
                .with_help("make the report in a checkout of this repository, or pass the right report"),
            );
        }
        summary.reports.push(ReportRow {
            file: source.shown,
            format: data.format,
            files,
            matched,
            error: None,
        });
    }

    // Per package.
    let mut by_package: Vec<Vec<(&str, &FileCoverage)>> = vec![Vec::new(); fleet.packages.len()];
    for (rel, f) in &merged {
        if let Some(i) = crate::checks::source::owner(fleet, rel) {
            by_package[i].push((rel, f));
        }
    }
    let no_reports = summary.reports.iter().all(|r| r.error.is_some());
    let mut order: Vec<usize> = (0..fleet.packages.len()).collect();
    order.sort_by(|&a, &b| fleet.packages[a].name.cmp(&fleet.packages[b].name).then(a.cmp(&b)));
    for i in order {
        let p = &fleet.packages[i];
        let eff = policy.for_package(p);
        let files = &by_package[i];
        if eff.skip {
            summary.rows.push(row(p, Metric::Lines, None, &eff, Verdict::Skipped, None));
            continue;
        }
        if files.is_empty() {
            no_data(ctx, p, &eff, no_reports, &mut summary, sink);
            continue;
        }
        let mut totals = Totals::default();
        for (_, f) in files {
            totals.add(f);
        }
        let unreported = unreported_files(ctx, i, &merged);
        if !unreported.is_empty() {
            let counted = eff.missing_files == MissingFiles::Uncovered;
            if counted {
                for (_, f) in &unreported {
                    totals.add_counts(f);
                }
            }
            summary.unreported.push(Unreported {
                service: p.name.clone(),
                files: unreported.into_iter().map(|(rel, _)| rel).collect(),
                counted_as_uncovered: counted,
            });
        }
        evaluate(ctx, inputs, p, &eff, &totals, &mut summary, sink);
    }
    Some(summary)
}

/// A report to read.
struct Source {
    path: PathBuf,
    /// As shown in messages: relative to the root when inside it, else as given.
    shown: String,
    /// Relative to the root, when inside it.
    rel: Option<String>,
    /// Asked for (`--coverage`, a policy glob), not only found by its name.
    requested: bool,
}

impl Source {
    /// Where a finding about this report is located: the report itself when it is inside the
    /// root, else the policy file, else the topmost workspace manifest (paths in reports never
    /// leave the root; the message names the report).
    fn location_file(&self, ctx: &CheckCtx<'_>) -> String {
        self.rel
            .clone()
            .or_else(|| ctx.policy.rel_path.clone())
            .or_else(|| {
                ctx.fleet
                    .workspaces
                    .iter()
                    .map(|w| w.manifest.clone())
                    .min_by_key(|m| (m.matches('/').count(), m.clone()))
            })
            .unwrap_or_else(|| "Cargo.toml".to_string())
    }
}

/// `--coverage` files, then the policy's globs, or else what discovery found; each once.
fn report_sources(ctx: &CheckCtx<'_>, inputs: &Inputs) -> Vec<Source> {
    let root = &ctx.fleet.root;
    let mut out: Vec<Source> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |path: PathBuf, requested: bool, out: &mut Vec<Source>| {
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !seen.insert(canonical.clone()) {
            return;
        }
        let rel = crate::discover::relative(root, &canonical);
        let shown = rel.clone().unwrap_or_else(|| path.display().to_string());
        out.push(Source { path: canonical, shown, rel, requested });
    };
    for p in &inputs.reports {
        add(p.clone(), true, &mut out);
    }
    for rel in glob_reports(root, &ctx.policy.coverage.reports) {
        add(root.join(rel), true, &mut out);
    }
    if out.is_empty() {
        for rel in &ctx.fleet.coverage_reports {
            add(root.join(rel), false, &mut out);
        }
    }
    out
}

/// The files under `root` that match the policy's report globs, sorted. Reports usually live
/// in ignored directories (`target/`, `coverage/`), so `.gitignore` is not applied; each glob
/// is walked from its literal prefix, and `target/`, `.git/` and `node_modules/` are entered
/// only by a glob that names them.
fn glob_reports(root: &Path, globs: &[crate::config::PolicyGlob]) -> Vec<String> {
    let mut found = std::collections::BTreeSet::new();
    for g in globs {
        let literal: Vec<&str> =
            g.pattern.split('/').take_while(|c| !c.contains(['*', '?', '[', '{'])).collect();
        let start = root.join(literal.join("/"));
        let names_dir = |d: &str| g.pattern.split('/').any(|c| c == d);
        let walk = walkdir::WalkDir::new(&start).follow_links(false).into_iter().filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !e.file_type().is_dir()
                || !matches!(name.as_ref(), "target" | ".git" | "node_modules")
                || names_dir(&name)
        });
        for e in walk.flatten() {
            if e.file_type().is_file()
                && let Some(rel) = crate::discover::relative(root, e.path())
                && g.is_match(&rel)
            {
                found.insert(rel);
            }
        }
    }
    found.into_iter().collect()
}

/// Read one report, its format told by its first bytes.
fn read_report(path: &Path) -> Result<ReportData, ReadError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ReadError::new(1, format!("cannot read the report: {}", io_reason(&e))))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = {
        use std::io::BufRead;
        reader
            .fill_buf()
            .map_err(|e| ReadError::new(1, format!("cannot read the report: {}", io_reason(&e))))?
            .to_vec()
    };
    let start = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let first = start.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let whole = |mut reader: BufReader<std::fs::File>| -> Result<Vec<u8>, ReadError> {
        if len > MAX_WHOLE_REPORT {
            return Err(ReadError::new(
                1,
                format!(
                    "the report is {} MiB; XML and JSON reports over {} MiB are not read (LCOV is read as a stream)",
                    len >> 20,
                    MAX_WHOLE_REPORT >> 20
                ),
            ));
        }
        let mut bytes = Vec::with_capacity(len as usize);
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| ReadError::new(1, format!("cannot read the report: {}", io_reason(&e))))?;
        Ok(bytes)
    };
    match first {
        Some(b'<') => cobertura::read(&whole(reader)?),
        Some(b'{') => json::read(&whole(reader)?),
        _ if lcov::sniff(start) => lcov::read(&mut reader),
        None => Err(ReadError::new(1, "the report is empty")),
        _ => Err(ReadError::new(
            1,
            "not a coverage report: expected LCOV, Cobertura XML, llvm-cov JSON or tarpaulin JSON",
        )),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "file not found".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        std::io::ErrorKind::InvalidData => "not valid UTF-8".into(),
        _ => e.to_string(),
    }
}

/// A package's sums per metric.
#[derive(Default)]
struct Totals {
    counts: [(u64, u64); 4],
    measured: Measured,
}

impl Totals {
    fn add(&mut self, f: &FileCoverage) {
        self.add_counts(f);
        self.measured = self.measured.union(f.measured);
    }

    fn add_counts(&mut self, f: &FileCoverage) {
        for m in Metric::ALL {
            let (c, t) = f.counts(m);
            self.counts[m.index()].0 += c;
            self.counts[m.index()].1 += t;
        }
    }
}

/// The source files of package `i` (under its `src/`) with code that no report names, and
/// their estimated uncovered code, sorted.
fn unreported_files(
    ctx: &CheckCtx<'_>,
    i: usize,
    merged: &BTreeMap<String, FileCoverage>,
) -> Vec<(String, FileCoverage)> {
    let fleet = ctx.fleet;
    let p = &fleet.packages[i];
    let src = if p.dir == "." { "src/".to_string() } else { format!("{}/src/", p.dir) };
    let excluded = |rel: &str| ctx.policy.coverage.exclude.iter().any(|g| g.is_match(rel));
    fleet
        .rust_files
        .iter()
        .filter(|rel| rel.starts_with(&src) && !merged.contains_key(*rel) && !excluded(rel))
        .filter(|rel| crate::checks::source::owner(fleet, rel) == Some(i))
        .filter_map(|rel| {
            let text = std::fs::read_to_string(fleet.root.join(rel)).ok()?;
            let est = estimate::uncovered(&text)?;
            (!est.lines.is_empty()).then(|| (rel.clone(), est))
        })
        .collect()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn row(
    p: &Package,
    metric: Metric,
    counts: Option<(u64, u64)>,
    eff: &Effective,
    verdict: Verdict,
    baseline: Option<f64>,
) -> Row {
    let (covered, total) = counts.unwrap_or((0, 0));
    Row {
        service: p.name.clone(),
        path: p.dir.clone(),
        metric,
        percent: (total > 0).then(|| round2(covered as f64 * 100.0 / total as f64)),
        covered,
        total,
        threshold: eff.min[metric.index()],
        baseline,
        verdict,
    }
}

/// A finding about package `p`, located at the `[package]` line of its manifest.
fn finding(
    ctx: &CheckCtx<'_>,
    p: &Package,
    rule: &str,
    metric: Metric,
    message: String,
    info: CoverageInfo,
) -> Finding {
    let line = std::fs::read_to_string(ctx.fleet.root.join(&p.manifest))
        .ok()
        .and_then(|t| t.lines().position(|l| l.trim() == "[package]"))
        .map_or(1, |i| i as u32 + 1);
    Finding::new(rule, crate::registry::severity(rule), message, Location::new(&p.manifest, Span::line(line)))
        .with_key(metric.as_str())
        .with_services(vec![p.name.clone()])
        .with_coverage(info)
}

/// A package that no report names.
fn no_data(
    ctx: &CheckCtx<'_>,
    p: &Package,
    eff: &Effective,
    no_reports: bool,
    summary: &mut Summary,
    sink: &Sink,
) {
    let thresholded: Vec<Metric> = Metric::ALL.into_iter().filter(|m| eff.min[m.index()].is_some()).collect();
    let metrics = if thresholded.is_empty() { vec![Metric::Lines] } else { thresholded };
    for &m in &metrics {
        summary.rows.push(row(p, m, None, eff, Verdict::NoReport, None));
    }
    if eff.require_report {
        let why = if no_reports {
            "no coverage report was found (none given with --coverage, none matching `[coverage] reports`, none named lcov.info, cobertura.xml, coverage.json or tarpaulin-report.json in the repository)".to_string()
        } else {
            "no coverage report names any of its files".to_string()
        };
        let info = CoverageInfo {
            metric: "lines".into(),
            percent: None,
            threshold: eff.min[0],
            baseline: None,
            covered: 0,
            total: 0,
        };
        sink.push(
            finding(ctx, p, MISSING_REPORT, Metric::Lines, why, info)
                .with_key("missing-report")
                .with_help("run the coverage tool over this service's workspace and pass the report with --coverage or `[coverage] reports`"),
        );
    }
}

/// Compare a measured package with its thresholds and its baseline.
fn evaluate(
    ctx: &CheckCtx<'_>,
    inputs: &Inputs,
    p: &Package,
    eff: &Effective,
    totals: &Totals,
    summary: &mut Summary,
    sink: &Sink,
) {
    for m in Metric::ALL {
        let (covered, total) = totals.counts[m.index()];
        let min = eff.min[m.index()];
        if !totals.measured.has(m) || total == 0 {
            if min.is_some() || (totals.measured.has(m) && m == Metric::Lines) {
                summary.rows.push(row(p, m, Some((covered, total)), eff, Verdict::NoData, None));
            }
            continue;
        }
        let percent = covered as f64 * 100.0 / total as f64;
        let base = if eff.no_drop {
            inputs.baseline.as_ref().and_then(|b| b.coverage(&p.name, &p.dir, m.as_str())).map(|e| {
                // Compared exactly: the recorded percentage is rounded.
                if e.total > 0 { e.covered as f64 * 100.0 / e.total as f64 } else { e.percent }
            })
        } else {
            None
        };
        let below = min.is_some_and(|min| percent + 1e-9 < min);
        let dropped = base.is_some_and(|b| percent + 1e-9 < b - eff.tolerance);
        let info = CoverageInfo {
            metric: m.as_str().into(),
            percent: Some(round2(percent)),
            threshold: min,
            baseline: base.map(round2),
            covered,
            total,
        };
        let what = format!("{} coverage", m.singular());
        let of = format!(
            "{covered} of {total} {}",
            if total == 1 { m.singular().to_string() } else { m.as_str().replace("branchs", "branches") }
        );
        if below {
            let min = min.unwrap_or_default();
            sink.push(
                finding(ctx, p, BELOW_THRESHOLD, m, format!("{what} {percent:.2}% ({of}) is below the required {}%", fmt_num(min)), info.clone())
                    .with_help(format!("cover more of {} with tests, or set the threshold it can hold today in a `[[coverage.service]]` override", p.name)),
            );
        }
        if dropped {
            let b = base.unwrap_or_default();
            sink.push(
                finding(ctx, p, DROPPED, m, format!("{what} dropped from {b:.2}% to {percent:.2}% ({of}; tolerance {} points)", fmt_num(eff.tolerance)), info)
                    .with_help("cover the new code with tests, or record a new baseline with `fleetward baseline` when the drop is intended"),
            );
        }
        let verdict = if below {
            Verdict::BelowThreshold
        } else if dropped {
            Verdict::Dropped
        } else if min.is_some() || base.is_some() {
            Verdict::Pass
        } else {
            Verdict::Measured
        };
        summary.rows.push(row(p, m, Some((covered, total)), eff, verdict, base.map(round2)));
    }
}

/// `80`, `72.5`: a threshold as the user wrote it.
pub fn fmt_num(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
