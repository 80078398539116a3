//! Human output: findings grouped by service, each rendered by miette with a source snippet,
//! then a summary. Byte-identical across runs (no timestamps, no hash-map order).

use super::Report;
use crate::diag::{BaselineState, Finding, Severity};
use crate::registry;
use miette::{Diagnostic, GraphicalReportHandler, LabeledSpan, NamedSource, SourceCode, SourceSpan};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

/// Files larger than this are not shown as snippets.
const MAX_SNIPPET_FILE: u64 = 2 * 1024 * 1024;
const WIDTH: usize = 100;
/// The group of findings that concern no service.
const FLEET: &str = "fleet";

/// The first lines of a scoped run: what was checked, and why.
fn selection(sel: &crate::scope::Selected, out: &mut dyn Write) -> io::Result<()> {
    use crate::scope::Mode;
    let what = match &sel.mode {
        Mode::ChangedSince { reference, merge_base } => {
            format!("changed since {reference} (merge base {})", &merge_base[..merge_base.len().min(12)])
        }
        Mode::Staged => "staged for commit".to_string(),
        Mode::Shard { index, count } => format!("shard {index} of {count}"),
    };
    let files = sel.changed_files.map(|n| format!(", {n} changed path{}", if n == 1 { "" } else { "s" }));
    writeln!(
        out,
        "checking {} of {} packages: {what}{}",
        sel.packages_checked,
        sel.packages_total,
        files.unwrap_or_default()
    )?;
    const SHOWN: usize = 20;
    for p in sel.packages.iter().take(SHOWN) {
        if matches!(sel.mode, Mode::Shard { .. }) {
            writeln!(out, "  {} ({})", p.name, p.path)?;
        } else {
            writeln!(out, "  {} ({}): {}", p.name, p.path, p.why.join("; "))?;
        }
    }
    if sel.packages.len() > SHOWN {
        writeln!(out, "  ... and {} more (the JSON report lists them all)", sel.packages.len() - SHOWN)?;
    }
    writeln!(out)
}

pub fn render(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let groups = group(report.findings);
    if !report.quiet {
        if let Some(sel) = report.selection {
            selection(sel, out)?;
        }
        let handler = GraphicalReportHandler::new_themed(super::theme(report.color)).with_width(WIDTH);
        let mut files: BTreeMap<&str, Option<Indexed>> = BTreeMap::new();
        for (name, findings) in &groups {
            let shown: Vec<&Finding> = findings.iter().copied().filter(|f| is_shown(f)).collect();
            if shown.is_empty() {
                continue;
            }
            let header = format!("── {name} ──");
            if report.color {
                writeln!(out, "\x1b[1m{header}\x1b[0m")?;
            } else {
                writeln!(out, "{header}")?;
            }
            writeln!(out)?;
            for f in shown {
                let text = files
                    .entry(f.location.file.as_str())
                    .or_insert_with(|| read_source(report, &f.location.file))
                    .clone();
                let diag = FindingDiagnostic::new(f, text);
                let mut s = String::new();
                handler
                    .render_report(&mut s, &diag)
                    .map_err(|_| io::Error::other("could not render a finding"))?;
                out.write_all(s.as_bytes())?;
                if diag.source.is_none() {
                    let sp = &f.location.span;
                    writeln!(out, "  --> {}:{}:{}", f.location.file, sp.line, sp.column)?;
                }
                writeln!(out)?;
            }
        }
        if let Some(c) = report.coverage {
            super::coverage::render(c, report.fleet, out)?;
        }
        summary(report, &groups, out)?;
    }
    let failing = report.findings.iter().filter(|f| f.is_failing(report.fail_on)).count();
    let new = if report.baseline.is_some() { "new " } else { "" };
    match failing {
        0 => writeln!(out, "no {new}finding at or above {}", report.fail_on),
        1 => writeln!(out, "1 {new}finding at or above {}", report.fail_on),
        n => writeln!(out, "{n} {new}findings at or above {}", report.fail_on),
    }
}

/// Whether a finding is printed: not suppressed, and not already in the baseline.
fn is_shown(f: &Finding) -> bool {
    f.suppression.is_none() && f.baseline != Some(BaselineState::Unchanged)
}

/// Group key of a finding: its services joined with `, `, or `fleet`.
pub fn group_key(f: &Finding) -> String {
    if f.services.is_empty() { FLEET.to_string() } else { f.services.join(", ") }
}

/// Findings by group key (sorted), each group in report order.
fn group(findings: &[Finding]) -> BTreeMap<String, Vec<&Finding>> {
    let mut groups: BTreeMap<String, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        groups.entry(group_key(f)).or_default().push(f);
    }
    groups
}

fn read_source(report: &Report<'_>, file: &str) -> Option<Indexed> {
    let path = report.fleet.root.join(file);
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > MAX_SNIPPET_FILE {
        return None;
    }
    std::fs::read_to_string(&path).ok().map(Indexed::new)
}

/// A file's text with the offset of each line, read once per report. miette's own `str`
/// source scans from the start of the file for every snippet, which made a report with
/// thousands of findings in big files quadratic; this one hands miette a window of lines
/// around the span and shifts the result back (same output).
#[derive(Clone)]
struct Indexed {
    text: Arc<String>,
    line_starts: Arc<Vec<usize>>,
}

impl Indexed {
    fn new(text: String) -> Indexed {
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect::<Vec<_>>();
        Indexed { text: Arc::new(text), line_starts: Arc::new(line_starts) }
    }

    /// 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }

    fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line).copied().unwrap_or(self.text.len())
    }

    /// Byte offset of 1-based (line, column in chars), clamped to the text and to the line.
    fn offset(&self, line: u32, column: u32) -> usize {
        let i = line.max(1) as usize - 1;
        if i >= self.line_starts.len() {
            return self.text.len();
        }
        let (start, end) = (self.line_start(i), self.line_start(i + 1));
        let content = self.text[start..end].trim_end_matches('\n').trim_end_matches('\r');
        let skip = column.max(1) as usize - 1;
        start + content.char_indices().nth(skip).map_or(content.len(), |(b, _)| b)
    }
}

impl SourceCode for Indexed {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let first = self.line_of(span.offset()).saturating_sub(before + 1);
        let last = self.line_of(span.offset() + span.len()) + after + 2;
        let (from, to) = (self.line_start(first), self.line_start(last));
        let window = &self.text.as_bytes()[from..to.max(from)];
        let local = SourceSpan::new(span.offset().saturating_sub(from).into(), span.len());
        let c = window.read_span(&local, before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new(
            c.data(),
            SourceSpan::new((c.span().offset() + from).into(), c.span().len()),
            c.line() + first,
            c.column(),
            c.line_count() + first,
        )))
    }
}

fn counts(findings: &[&Finding]) -> [usize; 5] {
    let mut c = [0; 5];
    for f in findings.iter().filter(|f| f.suppression.is_none()) {
        let i = Severity::ALL.iter().position(|s| *s == f.severity).unwrap_or(4);
        c[i] += 1;
    }
    c
}

fn counts_row(c: &[usize; 5]) -> String {
    Severity::ALL.iter().zip(c).map(|(s, n)| format!("{n} {s}")).collect::<Vec<_>>().join(", ")
}

fn summary(
    report: &Report<'_>,
    groups: &BTreeMap<String, Vec<&Finding>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "summary")?;
    let width = groups.keys().map(|k| k.chars().count()).chain([5]).max().unwrap_or(5);
    let mut total = [0; 5];
    for (name, findings) in groups {
        let c = counts(findings);
        for (t, n) in total.iter_mut().zip(c) {
            *t += n;
        }
        writeln!(out, "  {name:<width$}  {}", counts_row(&c))?;
    }
    writeln!(out, "  {:<width$}  {}", "total", counts_row(&total))?;
    let suppressed = report.findings.iter().filter(|f| f.suppression.is_some()).count();
    writeln!(out, "  {suppressed} suppressed")?;
    if let Some(b) = report.baseline {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let absent = b.absent_count();
        writeln!(
            out,
            "  {} finding{} already in the baseline, not shown; {absent} from the baseline no longer found",
            b.unchanged,
            plural(b.unchanged)
        )?;
    }
    if let Some(db) = report.db {
        writeln!(out, "  advisory database: {} ({} advisories)", db.path, db.advisories)?;
    }
    Ok(())
}

/// A finding as a miette diagnostic.
struct FindingDiagnostic {
    code: String,
    severity: miette::Severity,
    message: String,
    help: Option<String>,
    source: Option<NamedSource<Indexed>>,
    label: Option<LabeledSpan>,
}

impl FindingDiagnostic {
    fn new(f: &Finding, text: Option<Indexed>) -> FindingDiagnostic {
        let severity = match f.severity {
            Severity::Critical | Severity::High => miette::Severity::Error,
            Severity::Medium => miette::Severity::Warning,
            Severity::Low | Severity::Info => miette::Severity::Advice,
        };
        let code = match &f.advisory {
            Some(a) => format!("{} {}", f.rule, a.id),
            None => f.rule.clone(),
        };
        let new = if f.baseline == Some(BaselineState::New) { ", new" } else { "" };
        let message = format!("[{}{new}] {}", f.severity, super::sarif::message_with_services(f));
        let label_text = match &f.advisory {
            Some(a) => Some(a.title.clone()),
            None => registry::rule(&f.rule).map(|r| r.summary.clone()),
        };
        let (source, label) = match text {
            Some(text) => {
                let sp = &f.location.span;
                let start = text.offset(sp.line, sp.column);
                let end = text.offset(sp.end_line, sp.end_column).max(start);
                let span = SourceSpan::new(start.into(), end - start);
                let label = LabeledSpan::new_with_span(label_text, span);
                (Some(NamedSource::new(f.location.file.clone(), text)), Some(label))
            }
            None => (None, None),
        };
        FindingDiagnostic { code, severity, message, help: f.help.clone(), source, label }
    }
}

impl fmt::Debug for FindingDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for FindingDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FindingDiagnostic {}

impl Diagnostic for FindingDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.label.clone().map(|l| Box::new(std::iter::once(l)) as Box<dyn Iterator<Item = LabeledSpan>>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::DbSummary;
    use crate::report::sarif::fixture;

    fn render_to_string(report: &Report<'_>) -> String {
        let mut buf = Vec::new();
        render(report, &mut buf).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn human_output() {
        let (_dir, fleet) = fixture::fleet();
        let findings = fixture::findings();
        let db = DbSummary { path: "/db/advisory-db".into(), advisories: 812, newest: None, age_days: None };
        let mut rep = Report {
            fleet: &fleet,
            findings: &findings,
            db: Some(&db),
            coverage: None,
            fail_on: Severity::High,
            selection: None,
            baseline: None,
            automation_id: "fleetward/all/".into(),
            color: false,
            quiet: false,
        };
        let text = render_to_string(&rep);
        assert_eq!(text, render_to_string(&rep), "byte-identical");
        let lines: Vec<&str> = text.lines().collect();
        // Groups sorted: "api, billing" < "billing" < "fleet".
        let pos = |needle: &str| lines.iter().position(|l| *l == needle);
        let (a, b, c) = (pos("── api, billing ──"), pos("── billing ──"), pos("── fleet ──"));
        assert!(a.is_some() && b.is_some() && c.is_some(), "{text}");
        assert!(a < b && b < c);
        assert!(!text.contains('\x1b'), "no colour");
        // Snippet from Cargo.lock, messages, help.
        assert!(text.contains("[medium] hyper 0.13.9 is vulnerable"), "{text}");
        assert!(text.contains("name = \"hyper\""), "{text}");
        assert!(text.contains("upgrade hyper to >= 0.14.10"), "{text}");
        assert!(text.contains("let x = 1;"), "{text}");
        // Unreadable file: plain location.
        assert!(text.contains("  --> broken/Cargo.toml:3:7"), "{text}");
        // Suppressed findings are not printed individually.
        assert!(!text.contains("ignored by policy"), "{text}");
        assert_eq!(text.matches("unsafe block: a, b").count(), 1, "{text}");
        assert!(text.contains("  2 suppressed\n"), "{text}");
        assert!(text.contains("  total         0 critical, 2 high, 1 medium, 1 low, 0 info\n"), "{text}");
        assert!(text.contains("  advisory database: /db/advisory-db (812 advisories)\n"));
        assert!(text.ends_with("\n2 findings at or above high\n"), "{text}");

        rep.quiet = true;
        assert_eq!(render_to_string(&rep), "2 findings at or above high\n");
        rep.fail_on = Severity::Critical;
        assert_eq!(render_to_string(&rep), "no finding at or above critical\n");
    }

    /// The windowed source gives miette exactly what the whole text gives, for spans anywhere
    /// (first and last lines, multi-line spans, CRLF, empty spans, the end of the text).
    #[test]
    fn windowed_source_reads_like_the_whole_text() {
        let text: String = (1..=40)
            .map(|i| if i % 7 == 0 { format!("line {i} é\r\n") } else { format!("    line number {i}\n") })
            .collect();
        let indexed = Indexed::new(text.clone());
        for start in (0..text.len()).step_by(13).filter(|&o| text.is_char_boundary(o)) {
            for len in [0, 1, 5, 40, 200] {
                let len = len.min(text.len() - start);
                let span = SourceSpan::new(start.into(), len);
                for (before, after) in [(0, 0), (1, 1), (2, 3)] {
                    let a = text
                        .read_span(&span, before, after)
                        .map(|c| (c.data().to_vec(), *c.span(), c.line(), c.column(), c.line_count()));
                    let b = indexed
                        .read_span(&span, before, after)
                        .map(|c| (c.data().to_vec(), *c.span(), c.line(), c.column(), c.line_count()));
                    assert_eq!(a.ok(), b.ok(), "span {start}+{len}, context {before}/{after}");
                }
            }
        }
    }

    #[test]
    fn offsets_clamp() {
        let t = Indexed::new("ab\ncdé f\n".to_string());
        assert_eq!(t.offset(1, 1), 0);
        assert_eq!(t.offset(2, 4), 7);
        assert_eq!(t.offset(2, 99), 9);
        assert_eq!(t.offset(9, 1), t.text.len());
        assert_eq!(t.offset(3, 1), t.text.len(), "the empty last line");
    }
}
