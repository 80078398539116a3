//! fleetward enforces one security policy across every service of a Rust monorepo.
//!
//! The pipeline is **discover -> load -> check (parallel) -> report -> exit**:
//! [`discover`] lists files, [`workspace`] builds the fleet model, [`checks`] emit findings
//! into a [`diag::Sink`], [`report`] renders them. [`pipeline`] wires the stages together and
//! is the only place that knows about threads.
#![forbid(unsafe_code)]

pub mod baseline;
pub mod cache;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod diag;
pub mod discover;
pub mod fix;
pub mod forge;
pub mod git;
pub mod merge;
pub mod pipeline;
pub mod progress;
pub mod registry;
pub mod report;
pub mod scope;
pub mod versions;
pub mod workspace;

/// The process exit status (DESIGN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitStatus {
    /// No finding at or above `--fail-on`.
    Clean = 0,
    /// At least one finding at or above `--fail-on`.
    Findings = 1,
    /// fleetward could not do its job.
    Error = 2,
}

/// Run one command line.
pub fn run(cli: cli::Cli) -> anyhow::Result<ExitStatus> {
    commands::run(cli)
}
