//! discover -> load -> check (parallel) -> sort. The only module that knows about threads:
//! checks run under one `rayon::scope`, each pushing into the shared [`Sink`]; the findings are
//! sorted before any rendering, so output is identical at any thread count.

use crate::checks::{self, CheckCtx};
use crate::config::Policy;
use crate::diag::{Finding, Sink};
use crate::workspace::{self, Fleet};
use std::time::{Duration, Instant};

/// What a check run produced.
pub struct Outcome {
    pub fleet: Fleet,
    pub findings: Vec<Finding>,
    pub db: Option<crate::db::DbSummary>,
    /// What the coverage check measured (`None` when it did not run or had nothing to do).
    pub coverage: Option<checks::coverage::Summary>,
    /// (phase, time) for `-v`.
    pub timings: Vec<(String, Duration)>,
    /// The packages this run checked, when not all of them.
    pub scope: Option<crate::scope::Scope>,
    /// The lockfiles the checks parsed, kept with `Selection::keep_lockfiles` (`fleetward fix`
    /// plans from them).
    pub lockfiles: checks::lockcache::LockCache,
}

/// The checks enabled for this run, in [`crate::registry::CHECKS`] order, and where the
/// source checks' result cache lives (`None`: no cache).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub checks: Vec<&'static str>,
    pub cache_dir: Option<std::path::PathBuf>,
    /// The coverage check's reports and baseline.
    pub coverage: checks::coverage::Inputs,
    /// Only the packages a change touches, or one shard (`None`: every package).
    pub scope: Option<crate::scope::Request>,
    /// Show a progress bar when the run is long and standard error a terminal.
    pub progress: bool,
    /// Keep the parsed lockfiles in [`Outcome::lockfiles`] for the caller.
    pub keep_lockfiles: bool,
    /// The repository's root when the scanned root is a copy of it (`--staged` scans the index
    /// written out): the cache is kept under it and database paths are shown relative to it.
    pub cache_root: Option<std::path::PathBuf>,
}

impl Selection {
    pub fn enabled(&self, check: &str) -> bool {
        self.checks.contains(&check)
    }
}

/// Run the whole pipeline on an already loaded policy. `db` is `Some` when the advisories check
/// is enabled (opening it is the caller's job: a missing database is exit 2, not a finding).
pub fn run(
    root: &std::path::Path,
    policy: &Policy,
    selection: &Selection,
    db: Option<&crate::db::Pending>,
    now: jiff::civil::Date,
) -> Outcome {
    let mut timings = Vec::new();
    let progress = if selection.progress {
        crate::progress::Progress::on_terminal()
    } else {
        crate::progress::Progress::hidden()
    };
    progress.set_message("discovering");
    let t = Instant::now();
    let fleet = workspace::load(root, policy);
    timings.push(("discover+load".to_string(), t.elapsed()));
    let policy_file = policy.rel_path.as_deref();
    let scope = selection.scope.as_ref().map(|r| crate::scope::Scope::resolve(&fleet, policy_file, r));

    let sink = Sink::new();
    sink.extend(fleet.problems.iter().cloned());
    let source = checks::source::Enabled::from_checks(|c| selection.enabled(c));
    let cache = match &selection.cache_dir {
        Some(dir) if source.any() || selection.enabled("auth") => Some(crate::cache::Cache::open(
            dir,
            selection.cache_root.as_deref().unwrap_or(root),
            &checks::source::cache_namespace(source, &policy.source),
            scope.is_some(),
        )),
        _ => None,
    };
    // `fleetward fix` plans from the lockfiles the audit read.
    let lockfiles = checks::lockcache::LockCache::new(&fleet.root, selection.keep_lockfiles);
    let ctx = CheckCtx {
        fleet: &fleet,
        policy,
        now,
        cache: cache.as_ref(),
        scope: scope.as_ref(),
        progress: &progress,
        lockfiles: &lockfiles,
    };
    progress.set_message("checking");
    progress.add_len(fleet.rust_files.len() + fleet.text_files.len() + fleet.lockfiles.len());
    let t = Instant::now();
    let coverage = std::sync::Mutex::new(None);
    // (check, time) of each check, for `-v`.
    let per_check = std::sync::Mutex::new(Vec::new());
    let timed = |name: &'static str, f: &dyn Fn()| {
        let t = Instant::now();
        f();
        per_check.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((name, t.elapsed()));
    };
    let timed = &timed;
    rayon::scope(|s| {
        if selection.enabled("coverage") {
            let (ctx, sink, coverage) = (&ctx, &sink, &coverage);
            s.spawn(move |_| {
                timed("coverage", &|| {
                    let summary = checks::coverage::check(ctx, &selection.coverage, sink);
                    *coverage.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = summary;
                })
            });
        }
        let audit = selection.enabled("advisories").then_some(db).flatten();
        let lockfile_rules =
            selection.enabled("manifest") && checks::manifest::reads_lockfiles(&policy.manifest);
        if audit.is_some() || lockfile_rules {
            // Waits here, on a worker, for the database opened while the fleet was loaded.
            let (ctx, sink) = (&ctx, &sink);
            s.spawn(move |_| {
                let db = audit.and_then(|db| db.get().ok());
                if db.is_some() || lockfile_rules {
                    timed("lockfiles (advisories, manifest dependencies)", &|| {
                        checks::lockpass::run(ctx, db, lockfile_rules, sink)
                    });
                }
            });
        }
        if selection.enabled("manifest") || selection.enabled("advisories") {
            let (ctx, sink) = (&ctx, &sink);
            s.spawn(move |_| timed("missing lockfiles", &|| checks::lockfiles::check(ctx, sink)));
        }
        if selection.enabled("manifest") && policy.manifest.configured {
            let (ctx, sink) = (&ctx, &sink);
            s.spawn(move |_| timed("manifest (sources, settings)", &|| checks::manifest::check(ctx, sink)));
        }
        if selection.enabled("auth") {
            let (ctx, sink) = (&ctx, &sink);
            s.spawn(move |_| timed("auth", &|| checks::auth::check(ctx, sink)));
        }
        if source.secrets {
            let (ctx, sink) = (&ctx, &sink);
            s.spawn(move |_| {
                timed("secrets (text files)", &|| {
                    checks::secrets::check_text_files(ctx, &ctx.policy.source, sink)
                })
            });
        }
        if source.any() {
            let (ctx, sink) = (&ctx, &sink);
            s.spawn(move |_| {
                timed("source (banned, unsafe, secrets)", &|| {
                    checks::source::check(ctx, source, &ctx.policy.source, sink)
                })
            });
        }
    });
    timings.push(("checks".to_string(), t.elapsed()));
    let mut per_check = per_check.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    per_check.sort();
    timings.extend(per_check.into_iter().map(|(name, t)| (format!("  {name}"), t)));
    progress.finish();
    if let Some(cache) = cache {
        let t = Instant::now();
        let (hits, misses) = cache.stats();
        // A cache that cannot be written only costs speed next time.
        let saved = if cache.save().is_ok() { "" } else { ", not saved" };
        timings.push((format!("cache ({hits} hits, {misses} misses{saved})"), t.elapsed()));
    }

    let mut findings = sink.into_sorted();
    if let Some(scope) = &scope {
        findings.retain(|f| scope.keeps(&fleet, policy_file, f));
    }
    // A file syn rejects is reported once even when several checks parsed it.
    findings.dedup_by(|a, b| a.rule == crate::diag::PARSE_ERROR && a == b);
    checks::apply_severity_overrides(&mut findings, policy, &fleet);
    let db = db.and_then(|d| d.get().ok()).map(|d| {
        let mut summary = d.summary(now);
        // Paths in reports stay relative to the root when they are inside it.
        if let Ok(abs) = std::fs::canonicalize(&d.path)
            && let Some(rel) =
                crate::discover::relative(selection.cache_root.as_deref().unwrap_or(root), &abs)
        {
            summary.path = rel;
        }
        summary
    });
    let mut coverage = coverage.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let (Some(scope), Some(summary)) = (&scope, &mut coverage) {
        let wanted = |dir: &str| {
            fleet.packages.iter().enumerate().any(|(i, p)| p.dir == dir && scope.wants_package(i))
        };
        summary.rows.retain(|r| wanted(&r.path));
        summary.unreported.retain(|u| {
            fleet.packages.iter().enumerate().any(|(i, p)| p.name == u.service && scope.wants_package(i))
        });
    }
    Outcome { db, fleet, findings, coverage, timings, scope, lockfiles }
}
