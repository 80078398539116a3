//! GitHub Actions workflow annotations: one `::error`/`::warning`/`::notice` command per
//! unsuppressed finding (with `--baseline`, per new finding).

use super::Report;
use crate::diag::{BaselineState, Finding, Severity};
use std::io::{self, Write};

pub fn render(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let annotated = |f: &&Finding| f.suppression.is_none() && f.baseline != Some(BaselineState::Unchanged);
    for f in report.findings.iter().filter(annotated) {
        writeln!(out, "{}", annotation(f))?;
    }
    Ok(())
}

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

/// One workflow command line (without the newline).
pub fn annotation(f: &Finding) -> String {
    let sp = &f.location.span;
    format!(
        "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        command(f.severity),
        escape_property(&f.location.file),
        sp.line,
        sp.column,
        sp.end_line,
        sp.end_column,
        escape_property(&f.rule),
        escape_data(&super::sarif::message_with_services(f)),
    )
}

/// Escape the message part of a workflow command.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escape a property value of a workflow command.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sarif::fixture;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
        assert_eq!(escape_property("a%b\nc:d,e"), "a%25b%0Ac%3Ad%2Ce");
    }

    #[test]
    fn annotations_for_unsuppressed_findings() {
        let (_dir, fleet) = fixture::fleet();
        let findings = fixture::findings();
        let rep = Report {
            fleet: &fleet,
            findings: &findings,
            db: None,
            coverage: None,
            fail_on: Severity::High,
            selection: None,
            baseline: None,
            automation_id: "fleetward/all/".into(),
            color: false,
            quiet: false,
        };
        let mut buf = Vec::new();
        render(&rep, &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let unsuppressed = findings.iter().filter(|f| f.suppression.is_none()).count();
        assert_eq!(lines.len(), unsuppressed);
        assert_eq!(
            lines[0],
            "::warning file=Cargo.lock,line=4,col=1,endLine=6,endColumn=19,\
             title=advisories/vulnerability::hyper 0.13.9 is vulnerable (RUSTSEC-2021-0078) \
             (services: api, billing)"
        );
        assert!(lines[1].starts_with("::notice file=Cargo.lock,line=8,"));
        assert_eq!(
            lines[2],
            "::error file=svc dir/main#1.rs,line=2,col=5,endLine=2,endColumn=15,\
             title=unsafe/unsafe-code::unsafe block: a, b%0Asecond line 100%25 (services: billing)"
        );
        assert!(lines[3].starts_with("::error file=broken/Cargo.toml,line=3,col=7,"));
    }
}
