//! `fleetward fix`: the upgrades that fix vulnerable dependencies, planned from the audit,
//! applied with cargo, or proposed as one pull request per workspace.
//!
//! plan ([`plan`]) -> apply ([`apply`], `--apply`) -> re-audit; or, with `--open-pr`, the same
//! in a temporary git worktree per workspace, pushed and proposed ([`pr`]). The user's work
//! tree and branch are never changed by `--open-pr`.

pub mod apply;
pub mod edit;
pub mod index;
pub mod plan;
pub mod pr;

use crate::cli::{FixArgs, ListFormat};
use crate::config::Policy;
use crate::diag::Finding;
use crate::pipeline::{self, Selection};
use crate::{ExitStatus, db};
use anyhow::bail;
use index::Index;
use plan::WorkspacePlan;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// The JSON document of `fleetward fix --format json` (DESIGN.md §3).
#[derive(Serialize)]
pub struct Report {
    pub version: u32,
    pub workspaces: Vec<WorkspacePlan>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pull_requests: Vec<pr::Opened>,
    /// Lockfiles and manifests that could not be read (each named with its problem).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

pub fn run(args: &FixArgs) -> anyhow::Result<ExitStatus> {
    let root = crate::commands::canonical_root(&args.path)?;
    let policy = crate::commands::load_policy(args.config.as_deref(), &root)?;
    let db_path = db::resolve_path(args.advisory_db.as_deref(), policy.advisories.db.as_deref())?;
    db::require(&db_path)?;
    // Opened once, while the fleet loads; every audit of this run shares its parsed advisories.
    let database = db::Pending::start(db_path);
    let report = if args.open_pr {
        pr::run(&root, &policy, &database, args)?
    } else {
        let mut audit = Audit::run(&root, &policy, &database, !args.no_index)?;
        if args.apply {
            let touched: Vec<String> = audit
                .plans
                .iter()
                .flat_map(|w| w.fixes.iter().flat_map(|f| f.manifests.iter()).chain([&w.lockfile]))
                .cloned()
                .collect();
            if !args.allow_dirty {
                let dirty = crate::git::dirty(&root, &touched)?;
                if !dirty.is_empty() {
                    bail!(
                        "{} uncommitted changes that `fix --apply` would overwrite: commit or stash them first (or pass --allow-dirty)",
                        describe_dirty(&dirty)
                    );
                }
            }
            for ws in &mut audit.plans {
                apply::apply(&root, ws);
            }
            let after = Audit::run(&root, &policy, &database, false)?;
            for ws in &mut audit.plans {
                let mut left: Vec<String> = after
                    .plans
                    .iter()
                    .filter(|a| a.lockfile == ws.lockfile)
                    .flat_map(|a| {
                        a.fixes
                            .iter()
                            .map(|f| format!("{}@{}", f.package, f.from))
                            .chain(a.unfixable.iter().map(|u| format!("{}@{}", u.package, u.version)))
                    })
                    .collect();
                left.sort();
                ws.remaining = Some(left);
            }
            audit.errors.extend(after.errors);
            audit.errors.sort();
            audit.errors.dedup();
        }
        Report { version: 1, workspaces: audit.plans, pull_requests: Vec::new(), errors: audit.errors }
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        ListFormat::Human => render(&report, args, &mut out)?,
    }
    Ok(status(&report, args.apply || args.open_pr))
}

fn describe_dirty(files: &[String]) -> String {
    match files {
        [one] => format!("{one} has"),
        _ => format!("{} have", files.join(", ")),
    }
}

/// Exit 1 while any vulnerability remains: planned but not applied, failed, or unfixable.
fn status(report: &Report, applied: bool) -> ExitStatus {
    let left = report.workspaces.iter().any(|w| {
        !w.unfixable.is_empty()
            || match (&w.remaining, applied) {
                (Some(r), _) => !r.is_empty(),
                (None, false) => !w.fixes.is_empty(),
                (None, true) => w.fixes.iter().any(|f| f.result.as_deref() != Some("fixed")),
            }
    });
    if left { ExitStatus::Findings } else { ExitStatus::Clean }
}

/// The audit of one tree and the plan made from it.
pub struct Audit {
    pub plans: Vec<WorkspacePlan>,
    pub errors: Vec<String>,
}

impl Audit {
    /// Run the advisories check on `root` and plan from its findings; `use_index` reads the
    /// registry index (else the advisories' ranges alone decide).
    pub fn run(
        root: &Path,
        policy: &Policy,
        pending: &db::Pending,
        use_index: bool,
    ) -> anyhow::Result<Audit> {
        let selection =
            Selection { checks: vec!["advisories"], keep_lockfiles: true, ..Selection::default() };
        let outcome = pipeline::run(root, policy, &selection, Some(pending), crate::commands::today());
        let database = match pending.get() {
            Ok(d) => d,
            Err(e) => bail!("{e}"),
        };
        let index_for =
            |dir: &str| if use_index { Index::for_workspace(&root.join(dir)) } else { Index::none() };
        let plans = plan::plan(&outcome.fleet, &outcome.lockfiles, &outcome.findings, database, &index_for);
        if let Some(e) = database.errors().first() {
            bail!("the advisory database at {} is not usable: {e}", database.path.display());
        }
        let errors = outcome
            .findings
            .iter()
            .filter(|f| f.rule == crate::diag::PARSE_ERROR)
            .map(|f: &Finding| format!("{}:{}: {}", f.location.file, f.location.span.line, f.message))
            .collect();
        Ok(Audit { plans, errors })
    }
}

fn render(report: &Report, args: &FixArgs, out: &mut dyn Write) -> std::io::Result<()> {
    for e in &report.errors {
        writeln!(out, "warning: {e}")?;
    }
    let (mut fixes, mut unfixable, mut failed) = (0, 0, 0);
    for ws in &report.workspaces {
        let name = if ws.workspace == "." { "(root)" } else { ws.workspace.as_str() };
        writeln!(out, "{name}  ({})", ws.lockfile)?;
        for f in &ws.fixes {
            fixes += 1;
            let mark = match f.result.as_deref() {
                Some("fixed") => "fixed ",
                Some(_) => {
                    failed += 1;
                    "FAILED"
                }
                None => "fix   ",
            };
            let how = match f.how {
                plan::How::CargoUpdate => "with cargo update".to_string(),
                plan::How::ManifestBump => format!(
                    "by editing {}",
                    f.edits
                        .iter()
                        .map(|e| format!(
                            "{}:{} ({} \"{}\" -> \"{}\")",
                            e.manifest, e.line, e.key, e.from, e.to
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                plan::How::ParentBump => format!(
                    "by moving {}",
                    f.parents
                        .iter()
                        .map(|p| format!("{} {} -> {}", p.package, p.from, p.to))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let unverified = if f.published {
                ""
            } else {
                " (from the advisory's patched range; not checked against a registry index)"
            };
            writeln!(out, "  {mark} {} {} -> {} {how}{unverified}", f.package, f.from, f.to)?;
            for a in &f.details {
                writeln!(out, "           {} ({}): {}", a.id, a.severity.as_str(), a.title)?;
            }
            if !f.services.is_empty() {
                writeln!(out, "           affects {}", f.services.join(", "))?;
            }
            if let Some(e) = &f.error {
                for line in e.lines() {
                    writeln!(out, "           {line}")?;
                }
            }
        }
        for u in &ws.unfixable {
            unfixable += 1;
            writeln!(
                out,
                "  cannot fix {} {} ({}): {}",
                u.package,
                u.version,
                u.advisories.join(", "),
                u.reason
            )?;
        }
        if let Some(left) = &ws.remaining {
            if left.is_empty() {
                writeln!(out, "  re-audit: no vulnerable package left")?;
            } else {
                writeln!(out, "  re-audit: still vulnerable: {}", left.join(", "))?;
            }
        }
        writeln!(out)?;
    }
    for p in &report.pull_requests {
        writeln!(out, "{}: {} {}", p.branch, p.action, p.url.as_deref().unwrap_or(""))?;
    }
    let ws = report.workspaces.len();
    if ws == 0 {
        return writeln!(out, "no vulnerable dependency in any lockfile");
    }
    let s = |n: usize| if n == 1 { "" } else { "es" };
    if args.apply {
        writeln!(
            out,
            "{} fix{} applied, {failed} failed, {unfixable} not fixable",
            fixes - failed,
            s(fixes - failed)
        )
    } else if args.open_pr {
        writeln!(out, "{fixes} fix{} proposed, {unfixable} not fixable", s(fixes))
    } else {
        writeln!(
            out,
            "{fixes} fix{} planned in {ws} workspace{}, {unfixable} not fixable. Apply them with `fleetward fix --apply`, or propose them with `fleetward fix --open-pr`.",
            s(fixes),
            if ws == 1 { "" } else { "s" }
        )
    }
}
