//! One function per subcommand: validate options, run the pipeline, hand the result to
//! `report`. Errors returned from here are "fleetward could not do its job" (exit 2).

use crate::cache;
use crate::cli::{BaselineArgs, CheckArgs, Cli, ColorChoice, Command, DbAction, Format, ScanArgs};
use crate::config::{self, Policy};
use crate::db;
use crate::git;
use crate::pipeline::{self, Selection};
use crate::registry::CHECKS;
use crate::scope::{Mode, Request};
use crate::{ExitStatus, report};
use anyhow::{Context, bail};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// The checks this version implements (the others of [`CHECKS`] are named in DESIGN.md and
/// arrive in later versions).
pub const IMPLEMENTED: &[&str] =
    &["advisories", "banned", "unsafe", "auth", "coverage", "secrets", "manifest"];

pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Check(args) => check(args, false),
        Command::Audit(args) => check(args, true),
        Command::Services(args) => {
            let root = canonical_root(&args.path)?;
            let policy = load_policy(args.config.as_deref(), &root)?;
            let fleet = crate::workspace::load(&root, &policy);
            let mut out = std::io::stdout().lock();
            report::services::render(&fleet, args.format, &mut out)?;
            Ok(ExitStatus::Clean)
        }
        Command::Routes(args) => {
            let root = canonical_root(&args.path)?;
            let mut policy = load_policy(args.config.as_deref(), &root)?;
            policy.auth.all_routers |= args.all_routers;
            let fleet = crate::workspace::load(&root, &policy);
            let analysis = crate::checks::auth::analyse(&fleet, &policy);
            let mut out = std::io::stdout().lock();
            report::routes::render(&analysis, args.format, args.suggest_policy, &mut out)?;
            Ok(ExitStatus::Clean)
        }
        Command::Rules(args) => {
            // The policy's own rules (packs, `[[banned.deny]]`) are listed with the built-ins.
            load_policy(args.config.as_deref(), Path::new("."))?;
            let mut out = std::io::stdout().lock();
            report::rules::render(args.rule.as_deref(), args.format, &mut out)?;
            Ok(ExitStatus::Clean)
        }
        Command::Init(args) => {
            let dir = &args.path;
            if !dir.is_dir() {
                bail!("{} is not a directory", dir.display());
            }
            let path = dir.join(config::FILE_NAME);
            if path.exists() && !args.force {
                bail!("{} already exists (use --force to overwrite it)", path.display());
            }
            std::fs::write(&path, config::STARTER)
                .with_context(|| format!("could not write {}", path.display()))?;
            writeln!(std::io::stdout(), "wrote {}", path.display())?;
            Ok(ExitStatus::Clean)
        }
        Command::Baseline(args) => baseline(args),
        Command::Merge(args) => {
            crate::merge::run(&args.files, args.format, args.output.as_deref())?;
            Ok(ExitStatus::Clean)
        }
        Command::Fix(args) => crate::fix::run(&args),
        Command::Hook(args) => match args.action {
            crate::cli::HookAction::Install { path, force } => hook_install(&path, force),
        },
        Command::Db(args) => {
            let path = db::resolve_path(args.advisory_db.as_deref(), None)?;
            let mut out = std::io::stdout().lock();
            match args.action {
                DbAction::Fetch { url } => db::fetch(&path, &url, &mut out)?,
                DbAction::Info => db::info(&path, today(), &mut out)?,
            }
            Ok(ExitStatus::Clean)
        }
    }
}

/// A finished run: what `check` and `baseline` render.
struct Scan {
    policy: Policy,
    outcome: pipeline::Outcome,
    /// The copy of the index a `--staged` run checked (the report reads snippets from it).
    _staged: Option<tempfile::TempDir>,
}

/// Validate the scan options, load the policy, database and baseline, and run the pipeline.
fn scan(args: &ScanArgs, audit_only: bool) -> anyhow::Result<Scan> {
    let root = canonical_root(&args.path)?;
    if let Some(n) = args.threads {
        if n == 0 {
            bail!("-j must be at least 1");
        }
        // Fails only if a pool already exists (a second run in one process): keep that one.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    let mut selection = if audit_only {
        Selection { checks: vec!["advisories"], ..Selection::default() }
    } else {
        select(&args.only, &args.skip)?
    };
    selection.progress = true;
    selection.cache_dir =
        if args.no_cache { None } else { args.cache_dir.clone().or_else(cache::default_dir) };
    let t = std::time::Instant::now();
    let (scan_root, policy, staged) = if args.staged {
        let s = stage(&root, args.config.as_deref())?;
        let old_lockfiles = old_lockfiles(&root, "HEAD", &s.changes);
        selection.scope = Some(Request::Changes { mode: Mode::Staged, changes: s.changes, old_lockfiles });
        selection.cache_root = Some(root.clone());
        (s.root, s.policy, Some(s.dir))
    } else {
        (root.clone(), load_policy(args.config.as_deref(), &root)?, None)
    };
    if let Some(reference) = &args.changed_since {
        git::ensure_repo(&root)?;
        let merge_base = git::merge_base(&root, reference)?;
        let changes = git::changed_since(&root, &merge_base)?;
        let old_lockfiles = old_lockfiles(&root, &merge_base, &changes);
        let mode = Mode::ChangedSince { reference: reference.clone(), merge_base };
        selection.scope = Some(Request::Changes { mode, changes, old_lockfiles });
    }
    if let Some((index, count)) = args.shard {
        selection.scope = Some(Request::Shard { index, count });
    }
    let git_time = t.elapsed();
    let db = if selection.enabled("advisories") {
        let path = db::resolve_path(args.advisory_db.as_deref(), policy.advisories.db.as_deref())?;
        db::require(&path)?;
        Some(db::Pending::start(path))
    } else {
        None
    };
    if selection.enabled("coverage") {
        for p in &args.coverage {
            if !p.is_file() {
                bail!("coverage report {} does not exist", p.display());
            }
        }
        selection.coverage.reports = args.coverage.clone();
        if policy.coverage.uses_baseline()
            && let Some(path) = &policy.coverage.baseline
        {
            selection.coverage.baseline = Some(crate::baseline::Baseline::read(path)?);
        }
    } else if !args.coverage.is_empty() {
        bail!("--coverage is given but the coverage check is not enabled (see --only and --skip)");
    }
    let now = today();
    let mut outcome = pipeline::run(&scan_root, &policy, &selection, db.as_ref(), now);
    match db.as_ref().map(db::Pending::get) {
        Some(Err(e)) => bail!("{e}"),
        Some(Ok(db)) => {
            if let Some(e) = db.errors().first() {
                bail!("the advisory database at {} is not usable: {e}", db.path.display());
            }
        }
        None => {}
    }
    if selection.scope.is_some() {
        outcome
            .timings
            .insert(0, (if args.staged { "git (index copy)" } else { "git" }.to_string(), git_time));
    }
    if args.verbose {
        let mut err = std::io::stderr().lock();
        for (phase, t) in &outcome.timings {
            writeln!(err, "fleetward: {phase}: {:.1} ms", t.as_secs_f64() * 1000.0)?;
        }
    }
    Ok(Scan { policy, outcome, _staged: staged })
}

/// The text at `rev` of every changed lockfile that existed there.
fn old_lockfiles(
    root: &Path,
    rev: &str,
    changes: &[git::Change],
) -> std::collections::BTreeMap<String, String> {
    changes
        .iter()
        .filter(|c| c.path.rsplit('/').next() == Some("Cargo.lock") && matches!(c.status, 'M' | 'T'))
        .filter_map(|c| Some((c.path.clone(), git::show(root, rev, &c.path)?)))
        .collect()
}

/// What `--staged` checks: the index written out to a temporary directory (the manifests,
/// lockfiles and policy, then the files of the packages the staged changes select and of the
/// packages they depend on), so every check reads exactly what `git commit` would record.
struct Staged {
    dir: tempfile::TempDir,
    root: PathBuf,
    policy: Policy,
    changes: Vec<git::Change>,
}

fn stage(root: &Path, explicit_config: Option<&Path>) -> anyhow::Result<Staged> {
    git::ensure_repo(root)?;
    let changes = git::staged(root)?;
    let files = git::index_files(root)?;
    let dir = tempfile::Builder::new()
        .prefix("fleetward-staged-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let copy = std::fs::canonicalize(dir.path())?;
    let policy_path = match explicit_config {
        Some(p) if !p.is_file() => bail!("policy file {} does not exist", p.display()),
        Some(p) => Some(p.to_path_buf()),
        None => config::find_upward(root),
    };
    let policy_rel = policy_path
        .as_deref()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .and_then(|p| crate::discover::relative(root, &p));
    let frame = |f: &git::IndexEntry| {
        let name = f.path.rsplit('/').next().unwrap_or(&f.path);
        name == "Cargo.toml" || name == "Cargo.lock" || policy_rel.as_ref() == Some(&f.path)
    };
    let first: Vec<&git::IndexEntry> = files.iter().filter(|f| frame(f)).collect();
    git::write_index_files(root, &first, &copy)?;
    let policy = match (&policy_path, &policy_rel) {
        (Some(real), Some(rel)) if copy.join(rel).is_file() => {
            config::load_text_of(real, &copy.join(rel), root).map_err(|e| anyhow::Error::new(*e))?
        }
        _ => load_policy(policy_path.as_deref(), root)?,
    };
    let fleet = crate::workspace::load(&copy, &policy);
    let old_lockfiles = old_lockfiles(root, "HEAD", &changes);
    let request = Request::Changes { mode: Mode::Staged, changes: changes.clone(), old_lockfiles };
    let scope = crate::scope::Scope::resolve(&fleet, policy.rel_path.as_deref(), &request);
    let needed = crate::scope::with_dependencies(&fleet, &scope.selected);
    let rest: Vec<&git::IndexEntry> = files
        .iter()
        .filter(|f| !frame(f))
        .filter(|f| match crate::checks::source::owner(&fleet, &f.path) {
            Some(i) => needed[i],
            None => scope.loose_files.contains(f.path.as_str()),
        })
        .collect();
    git::write_index_files(root, &rest, &copy)?;
    Ok(Staged { dir, root: copy, policy, changes })
}

fn check(args: CheckArgs, audit_only: bool) -> anyhow::Result<ExitStatus> {
    // A bad baseline is exit 2 before the scan, not after it.
    let baseline = args.baseline.as_deref().map(crate::baseline::Baseline::read).transpose()?;
    // `_copy` keeps a `--staged` run's index copy until the report has read its snippets.
    let Scan { policy, mut outcome, _staged: _copy } = scan(&args.scan, audit_only)?;
    let fail_on = args.fail_on.unwrap_or(policy.fail_on);
    let comparison = match (&baseline, &args.baseline) {
        (Some(b), Some(path)) => {
            let (fleet, scope) = (&outcome.fleet, outcome.scope.as_ref());
            let policy_file = policy.rel_path.as_deref();
            let in_scope = |e: &crate::baseline::FindingEntry| {
                scope.is_none_or(|s| s.covers(fleet, policy_file, &e.file))
            };
            Some(b.compare(path.display().to_string(), &mut outcome.findings, in_scope))
        }
        _ => None,
    };

    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let selection = outcome.scope.as_ref().map(|s| s.view(&outcome.fleet));
    let rep = report::Report {
        fleet: &outcome.fleet,
        selection: selection.as_ref(),
        findings: &outcome.findings,
        db: outcome.db.as_ref(),
        coverage: outcome.coverage.as_ref(),
        fail_on,
        baseline: comparison.as_ref(),
        automation_id: outcome
            .scope
            .as_ref()
            .map_or_else(|| "fleetward/all/".to_string(), |s| s.automation_id()),
        color: color && args.format == Format::Human,
        quiet: args.quiet,
    };
    match &args.output {
        Some(path) => {
            let mut buf = Vec::new();
            report::render(&rep, args.format, &mut buf)?;
            std::fs::write(path, buf).with_context(|| format!("could not write {}", path.display()))?;
        }
        None => {
            let mut out = std::io::stdout().lock();
            report::render(&rep, args.format, &mut out)?;
            out.flush()?;
        }
    }
    let failing = outcome.findings.iter().any(|f| f.is_failing(fail_on));
    Ok(if failing { ExitStatus::Findings } else { ExitStatus::Clean })
}

/// `fleetward baseline`: run the checks and record today's coverage and findings.
fn baseline(args: BaselineArgs) -> anyhow::Result<ExitStatus> {
    let Scan { outcome, .. } = scan(&args.scan, false)?;
    let b = crate::baseline::Baseline::record(&outcome);
    std::fs::write(&args.output, b.to_json())
        .with_context(|| format!("could not write {}", args.output.display()))?;
    writeln!(
        std::io::stdout(),
        "wrote {}: coverage of {} service{} ({} values), {} finding{}",
        args.output.display(),
        b.services(),
        if b.services() == 1 { "" } else { "s" },
        b.coverage.len(),
        b.findings.len(),
        if b.findings.len() == 1 { "" } else { "s" }
    )?;
    Ok(ExitStatus::Clean)
}

/// The first line after the shebang of the hook fleetward writes: how it recognises its own.
const HOOK_MARK: &str = "# fleetward pre-commit hook";

/// `fleetward hook install`: a pre-commit hook running `fleetward check --staged` with this
/// executable (by absolute path, so the hook works whatever PATH git runs it with).
fn hook_install(path: &Path, force: bool) -> anyhow::Result<ExitStatus> {
    let root = canonical_root(path)?;
    git::ensure_repo(&root)?;
    let dir = git::hooks_dir(&root)?;
    let hook = dir.join("pre-commit");
    if let Ok(old) = std::fs::read_to_string(&hook)
        && !old.contains(HOOK_MARK)
        && !force
    {
        bail!("{} exists and was not written by fleetward (use --force to replace it)", hook.display());
    }
    let exe = std::env::current_exe().context("cannot find the fleetward executable")?;
    let exe = exe.to_string_lossy().replace('\'', "'\\''");
    let script = format!(
        "#!/bin/sh\n{HOOK_MARK}, written by `fleetward hook install`.\n\
         # Checks what is being committed (the index, not the work tree); skip once with\n\
         # `git commit --no-verify`.\n\
         exec '{exe}' check --staged\n"
    );
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&hook, script).with_context(|| format!("cannot write {}", hook.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    }
    writeln!(std::io::stdout(), "installed {}: it runs `fleetward check --staged`", hook.display())?;
    Ok(ExitStatus::Clean)
}

/// `--only` and `--skip`, validated against the check names.
fn select(only: &[String], skip: &[String]) -> anyhow::Result<Selection> {
    for name in only.iter().chain(skip) {
        if !CHECKS.contains(&name.as_str()) {
            let hint = closest(name, CHECKS).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default();
            bail!("unknown check `{name}`{hint}; checks are: {}", CHECKS.join(", "));
        }
        if !IMPLEMENTED.contains(&name.as_str()) {
            bail!(
                "the `{name}` check is not available in this version; available: {}",
                IMPLEMENTED.join(", ")
            );
        }
    }
    let checks = IMPLEMENTED
        .iter()
        .copied()
        .filter(|c| only.is_empty() || only.iter().any(|o| o == c))
        .filter(|c| !skip.iter().any(|s| s == c))
        .collect();
    Ok(Selection { checks, ..Selection::default() })
}

/// The closest of `candidates` to `word`, if close enough to suggest.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(word, c), *c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

pub(crate) fn canonical_root(path: &Path) -> anyhow::Result<PathBuf> {
    let root = std::fs::canonicalize(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !root.is_dir() {
        bail!("{} is not a directory", path.display());
    }
    std::fs::read_dir(&root).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(root)
}

pub(crate) fn load_policy(explicit: Option<&Path>, root: &Path) -> anyhow::Result<Policy> {
    let path = match explicit {
        Some(p) => {
            if !p.is_file() {
                bail!("policy file {} does not exist", p.display());
            }
            Some(p.to_path_buf())
        }
        None => config::find_upward(root),
    };
    config::load(path.as_deref(), root).map_err(|e| anyhow::Error::new(*e))
}

/// Today, or `FLEETWARD_NOW` (YYYY-MM-DD) for reproducible reports and tests.
pub fn today() -> jiff::civil::Date {
    std::env::var("FLEETWARD_NOW")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| jiff::Zoned::now().date())
}
