//! The progress bar of long runs: on standard error, only when it is a terminal, never in CI
//! (`CI` set) or with `TERM=dumb`, and only once a run has lasted a second, so quick runs and
//! pipes print nothing extra.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Files checked so far out of the files to check. Cheap to update from any thread; a no-op
/// when hidden.
#[derive(Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    /// A bar that appears after a second if standard error is a terminal outside CI.
    pub fn on_terminal() -> Progress {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        if ci || dumb || !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} files, {elapsed}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        let shown = bar.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            if !shown.is_finished() {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress { bar: Some(bar) }
    }

    pub fn set_message(&self, message: &'static str) {
        if let Some(b) = &self.bar {
            b.set_message(message);
        }
    }

    pub fn add_len(&self, n: usize) {
        if let Some(b) = &self.bar {
            b.inc_length(n as u64);
        }
    }

    pub fn inc(&self, n: usize) {
        if let Some(b) = &self.bar {
            b.inc(n as u64);
        }
    }

    /// Remove the bar before the report is printed.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
