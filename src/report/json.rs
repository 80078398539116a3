//! JSON report, version 1 (DESIGN.md §3). Key order is fixed and findings arrive sorted, so
//! the output is byte-identical across runs and thread counts.

use super::Report;
use crate::diag::{Finding, PARSE_ERROR, Severity};
use serde_json::{Value, json};
use std::io::{self, Write};

pub fn render(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_value(report))?;
    writeln!(out)
}

pub fn to_value(report: &Report<'_>) -> Value {
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
    let findings: Vec<Value> = report.findings.iter().map(finding).collect();
    let errors: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| f.rule == PARSE_ERROR)
        .map(|f| {
            let owner = fleet
                .packages
                .iter()
                .filter(|p| p.dir == "." || f.location.file.starts_with(&format!("{}/", p.dir)))
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
    json!({
        "version": 1,
        "tool": { "name": "fleetward", "version": env!("CARGO_PKG_VERSION") },
        "root": ".",
        "services": services,
        "findings": findings,
        "errors": errors,
        "database": report.db,
        "summary": {
            "services": fleet.services().count(),
            "packages": fleet.packages.len(),
            "findings": counts,
            "suppressed": report.findings.iter().filter(|f| f.suppression.is_some()).count(),
            "failing": report.findings.iter().filter(|f| f.is_failing(report.fail_on)).count(),
            "fail_on": report.fail_on,
        },
    })
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
