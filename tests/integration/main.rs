//! Integration tests: one binary (ripgrep's layout). Each module drives the real `fleetward`
//! binary against temporary repositories built with [`util::TempRepo`].

mod advisories;
mod auth;
mod baseline;
mod changes;
mod check;
mod cli;
mod config;
mod conformance;
mod coverage;
mod discovery;
mod fix;
mod github;
mod manifest_deps;
mod manifest_settings;
mod merge;
mod services;
mod source;
mod util;
