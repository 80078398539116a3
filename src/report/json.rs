//! JSON report, version 1 (DESIGN.md §3). Key order is fixed and findings arrive sorted, so
//! the output is byte-identical across runs and thread counts. Findings are turned into JSON
//! one at a time as they are written, so a report of many findings is never held twice.

use super::Report;
use crate::diag::{Finding, PARSE_ERROR, Severity};
use serde::Serialize;
use serde_json::{Value, json};
use std::io::{self, Write};

pub fn render(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    serde_json::to_writer_pretty(&mut out, &document(report))?;
    writeln!(out)?;
    out.flush()
}

/// The report's top level, in the order of DESIGN.md §3.
#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Value,
    root: &'static str,
    /// Which packages were checked and why, when not all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    selection: Option<&'a crate::scope::Selected>,
    services: Vec<Value>,
    findings: Findings<'a>,
    errors: Vec<Value>,
    /// The comparison with `--baseline`, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Value>,
    /// One row per package and metric (DESIGN.md §3), when the coverage check ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<&'a [crate::checks::coverage::Row]>,
    /// The reports read, and the files of measured packages that no report names.
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage_reports: Option<&'a [crate::checks::coverage::ReportRow]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage_unreported: Option<&'a [crate::checks::coverage::Unreported]>,
    database: Option<&'a crate::db::DbSummary>,
    summary: Value,
}

/// Serialized lazily, one finding at a time.
struct Findings<'a>(&'a [Finding]);

impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(finding))
    }
}

fn document<'a>(report: &Report<'a>) -> Document<'a> {
    let fleet = report.fleet;
    let services: Vec<Value> = fleet
        .packages
        .iter()
        .map(|p| {
            json!({
                "name": p.name, "kind": p.kind.as_str(), "path": p.dir, "manifest": p.manifest,
                "workspace": p.workspace, "lockfile": p.lockfile,
            })
        })
        .collect();
    let errors: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| f.rule == PARSE_ERROR)
        .map(|f| {
            let owner = fleet
                .packages
                .iter()
                .filter(|p| {
                    p.dir == "." || f.location.file.strip_prefix(&p.dir).is_some_and(|r| r.starts_with('/'))
                })
                .max_by_key(|p| p.dir.len())
                .map(|p| p.name.clone());
            json!({ "service": owner, "file": f.location.file, "line": f.location.span.line, "message": f.message })
        })
        .collect();
    let mut counts = serde_json::Map::new();
    for s in Severity::ALL {
        let n = report.findings.iter().filter(|f| f.suppression.is_none() && f.severity == s).count();
        counts.insert(s.as_str().to_string(), json!(n));
    }
    Document {
        version: 1,
        tool: json!({ "name": "fleetward", "version": env!("CARGO_PKG_VERSION") }),
        root: ".",
        selection: report.selection,
        services,
        findings: Findings(report.findings),
        errors,
        baseline: report
            .baseline
            .map(|b| json!({ "file": b.file, "new": b.new, "unchanged": b.unchanged, "absent": b.absent })),
        coverage: report.coverage.map(|c| c.rows.as_slice()),
        coverage_reports: report.coverage.map(|c| c.reports.as_slice()),
        coverage_unreported: report.coverage.map(|c| c.unreported.as_slice()),
        database: report.db,
        summary: json!({
            "services": fleet.services().count(),
            "packages": fleet.packages.len(),
            "findings": counts,
            "suppressed": report.findings.iter().filter(|f| f.suppression.is_some()).count(),
            "failing": report.findings.iter().filter(|f| f.is_failing(report.fail_on)).count(),
            "fail_on": report.fail_on,
        }),
    }
}

fn finding(f: &Finding) -> Value {
    let mut v = json!({
        "rule": f.rule,
        "severity": f.severity,
        "message": f.message,
        "file": f.location.file,
        "line": f.location.span.line,
        "column": f.location.span.column,
        "end_line": f.location.span.end_line,
        "end_column": f.location.span.end_column,
        "services": f.services,
        "fingerprint": f.fingerprint(),
        "suppressed": f.suppression.is_some(),
    });
    let obj = v.as_object_mut().expect("object");
    if let Some(s) = &f.suppression {
        obj.insert("suppression".into(), json!({ "kind": s.kind, "justification": s.justification }));
    }
    if let Some(state) = f.baseline {
        obj.insert("baseline_state".into(), json!(state.as_str()));
    }
    if let Some(help) = &f.help {
        obj.insert("help".into(), json!(help));
    }
    if !f.related.is_empty() {
        let related: Vec<Value> = f
            .related
            .iter()
            .map(|r| json!({ "file": r.location.file, "line": r.location.span.line, "message": r.message }))
            .collect();
        obj.insert("related".into(), json!(related));
    }
    if let Some(r) = &f.route {
        obj.insert("route".into(), serde_json::to_value(r).unwrap_or(Value::Null));
    }
    if let Some(c) = &f.coverage {
        obj.insert("coverage".into(), serde_json::to_value(c).unwrap_or(Value::Null));
    }
    if let Some(a) = &f.advisory {
        obj.insert(
            "advisory".into(),
            json!({
                "id": a.id, "package": a.package, "version": a.version, "patched": a.patched,
                "aliases": a.aliases, "cvss": a.cvss, "kind": a.kind, "title": a.title,
                "url": a.url, "date": a.date,
            }),
        );
    }
    v
}
