//! report: the only module that knows about output formats. Renders sorted findings as human
//! text (miette), JSON (version 1), SARIF 2.1.0 or GitHub workflow annotations.

use crate::cli::Format;
use crate::db::DbSummary;
use crate::diag::{Finding, Severity};
use crate::workspace::Fleet;
use std::io::{self, Write};

/// Everything a renderer needs.
pub struct Report<'a> {
    pub fleet: &'a Fleet,
    /// Sorted findings (suppressed ones included, marked).
    pub findings: &'a [Finding],
    pub db: Option<&'a DbSummary>,
    /// The coverage table, when the coverage check ran.
    pub coverage: Option<&'a crate::checks::coverage::Summary>,
    pub fail_on: Severity,
    /// The packages checked, when a run did not check them all.
    pub selection: Option<&'a crate::scope::Selected>,
    /// The comparison with `--baseline` (each finding carries its own state).
    pub baseline: Option<&'a crate::baseline::Comparison>,
    /// SARIF `automationDetails.id` (`fleetward/<category>/`).
    pub automation_id: String,
    pub color: bool,
    /// Only the summary (human `-q`).
    pub quiet: bool,
}

pub fn render(report: &Report<'_>, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::render(report, out),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, out),
        Format::Github => github::render(report, out),
    }
}

/// Print a fatal error (exit 2) to standard error: policy errors with miette's source
/// snippets, anything else as `error: ...` with its causes.
pub fn print_error(err: &anyhow::Error) {
    let mut stderr = io::stderr().lock();
    if let Some(cfg) = err.downcast_ref::<crate::config::ConfigError>() {
        let handler = miette::GraphicalReportHandler::new_themed(theme(stderr_is_color()));
        let mut s = String::new();
        if handler.render_report(&mut s, cfg).is_ok() {
            let _ = write!(stderr, "{s}");
            return;
        }
    }
    let _ = writeln!(stderr, "error: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
}

fn stderr_is_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stderr().is_terminal()
}

pub fn theme(color: bool) -> miette::GraphicalTheme {
    if color { miette::GraphicalTheme::unicode() } else { miette::GraphicalTheme::unicode_nocolor() }
}

pub mod coverage;
pub mod github;
pub mod human;
pub mod json;
pub mod routes;
pub mod rules;
pub mod sarif;
pub mod services;
