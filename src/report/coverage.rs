//! The coverage table of the human report: one line per package, a column per metric
//! (measured, the threshold, the baseline), and the verdict.

use crate::checks::coverage::model::Metric;
use crate::checks::coverage::{Row, Summary, Verdict, fmt_num};
use crate::workspace::Fleet;
use std::io::{self, Write};

/// How many unreported files are named per package before "and N more".
const MAX_LISTED: usize = 5;

pub fn render(summary: &Summary, fleet: &Fleet, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "coverage")?;
    if summary.reports.is_empty() {
        writeln!(out, "  no coverage report found: give one with --coverage FILE or `[coverage] reports`")?;
    }
    for r in &summary.reports {
        match (&r.error, r.format) {
            (Some(e), _) => writeln!(out, "  report {}: not read ({e})", r.file)?,
            (None, Some(f)) => writeln!(
                out,
                "  report {} ({}): {} of {} file{} in the repository",
                r.file,
                f.as_str(),
                r.matched,
                r.files,
                if r.files == 1 { "" } else { "s" }
            )?,
            (None, None) => {}
        }
    }
    let metrics: Vec<Metric> = Metric::ALL
        .into_iter()
        .filter(|m| {
            summary.rows.iter().any(|r| {
                r.metric == *m
                    && (r.threshold.is_some() || !matches!(r.verdict, Verdict::NoReport | Verdict::Skipped))
            })
        })
        .collect();
    let metrics = if metrics.is_empty() { vec![Metric::Lines] } else { metrics };
    // One line per package, in the rows' order.
    let mut lines: Vec<(String, String, Vec<String>, String)> = Vec::new();
    let mut i = 0;
    while i < summary.rows.len() {
        let j = i + summary.rows[i..]
            .iter()
            .take_while(|r| r.path == summary.rows[i].path && r.service == summary.rows[i].service)
            .count();
        let rows = &summary.rows[i..j];
        let kind = fleet.packages.iter().find(|p| p.dir == rows[0].path).map_or("", |p| p.kind.as_str());
        let cells = metrics
            .iter()
            .map(|m| rows.iter().find(|r| r.metric == *m).map_or_else(|| "-".to_string(), cell))
            .collect();
        lines.push((rows[0].service.clone(), kind.to_string(), cells, verdict(rows)));
        i = j;
    }
    let mut headers = vec!["service".to_string(), "kind".to_string()];
    headers.extend(metrics.iter().map(|m| m.as_str().to_string()));
    headers.push("verdict".to_string());
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for (name, kind, cells, _) in &lines {
        widths[0] = widths[0].max(name.chars().count());
        widths[1] = widths[1].max(kind.chars().count());
        for (k, c) in cells.iter().enumerate() {
            widths[k + 2] = widths[k + 2].max(c.chars().count());
        }
    }
    let row = |cols: Vec<&str>| -> String {
        let last = cols.len() - 1;
        let mut s = String::from(" ");
        for (k, c) in cols.into_iter().enumerate() {
            s.push(' ');
            if k == last {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$} ", w = widths[k]));
            }
        }
        s.trim_end().to_string()
    };
    if !lines.is_empty() {
        writeln!(out, "{}", row(headers.iter().map(String::as_str).collect()))?;
    }
    for (name, kind, cells, verdict) in &lines {
        let mut cols = vec![name.as_str(), kind.as_str()];
        cols.extend(cells.iter().map(String::as_str));
        cols.push(verdict);
        writeln!(out, "{}", row(cols))?;
    }
    for u in &summary.unreported {
        let shown: Vec<&str> = u.files.iter().take(MAX_LISTED).map(String::as_str).collect();
        let more = u.files.len().saturating_sub(MAX_LISTED);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        let how = if u.counted_as_uncovered { "counted as uncovered" } else { "not counted" };
        writeln!(
            out,
            "  {}: {} file{} in no report ({how}): {}{more}",
            u.service,
            u.files.len(),
            if u.files.len() == 1 { "" } else { "s" },
            shown.join(", ")
        )?;
    }
    writeln!(out)
}

/// `89.29% (min 80%, was 91.30%)`, `n/a`, `-`.
fn cell(r: &Row) -> String {
    let measured = match (r.verdict, r.percent) {
        (Verdict::NoReport, _) => "no report".to_string(),
        (Verdict::Skipped, _) => "skipped".to_string(),
        (_, Some(p)) => format!("{p:.2}%"),
        (_, None) => "n/a".to_string(),
    };
    let mut notes = Vec::new();
    if let Some(t) = r.threshold
        && r.verdict != Verdict::Skipped
    {
        notes.push(format!("min {}%", fmt_num(t)));
    }
    if let Some(b) = r.baseline {
        notes.push(format!("was {b:.2}%"));
    }
    if notes.is_empty() { measured } else { format!("{measured} ({})", notes.join(", ")) }
}

/// The package's verdict: its failures with their metrics, else the best of its rows.
fn verdict(rows: &[Row]) -> String {
    let failing: Vec<String> = [Verdict::BelowThreshold, Verdict::Dropped]
        .into_iter()
        .filter_map(|v| {
            let metrics: Vec<&str> =
                rows.iter().filter(|r| r.verdict == v).map(|r| r.metric.as_str()).collect();
            (!metrics.is_empty()).then(|| format!("{}: {}", v.as_str(), metrics.join(", ")))
        })
        .collect();
    if !failing.is_empty() {
        return failing.join("; ");
    }
    for v in [Verdict::NoReport, Verdict::Skipped, Verdict::Pass, Verdict::Measured] {
        if rows.iter().any(|r| r.verdict == v) {
            return v.as_str().to_string();
        }
    }
    Verdict::NoData.as_str().to_string()
}
