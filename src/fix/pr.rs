//! `--open-pr`: one branch and one pull request per workspace.
//!
//! Everything happens in a temporary `git worktree` checked out at the base commit, so the
//! user's branch, index and work tree are never touched, whatever fails. Per workspace: reset
//! the worktree to the base, apply that workspace's fixes, commit (dates taken from the base
//! commit, so the same fixes on the same base give the same commit id), push to
//! `fleetward/fix/<workspace>` only when the remote branch differs, then create the pull
//! request or update the open one. Rerunning changes nothing when nothing changed.

use super::plan::WorkspacePlan;
use super::{Audit, Report};
use crate::cli::FixArgs;
use crate::config::Policy;
use crate::forge::GitHub;
use crate::git;
use anyhow::{Context, bail};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What happened to one workspace's pull request.
#[derive(Debug, Clone, Serialize)]
pub struct Opened {
    pub workspace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub branch: String,
    /// `created`, `updated`, `unchanged`, or `nothing to push` (no fix could be applied).
    pub action: String,
    pub pushed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The branch of a workspace: `fleetward/fix/<dir>` with `/` and other characters git refuses
/// turned into `-` (so nested workspaces never collide as refs), `root` for the root; a
/// service's is `fleetward/fix/<dir>--<service>`.
pub fn branch_name(workspace: &str, service: Option<&str>) -> String {
    let slug = |s: &str| -> String {
        let s: String = s
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' })
            .collect();
        s.trim_matches('-').to_string()
    };
    let ws = if workspace == "." || workspace.is_empty() { "root".to_string() } else { slug(workspace) };
    match service {
        Some(service) => format!("fleetward/fix/{ws}--{}", slug(service)),
        None => format!("fleetward/fix/{ws}"),
    }
}

/// Each workspace's plan split by affected service: a service's part holds the fixes and
/// unfixable entries that concern it (a fix shared by two services is in both).
fn per_service(plans: Vec<WorkspacePlan>) -> Vec<WorkspacePlan> {
    let mut out = Vec::new();
    for ws in plans {
        let mut services: Vec<&String> = ws.fixes.iter().flat_map(|f| &f.services).collect();
        services.sort();
        services.dedup();
        for service in services {
            out.push(WorkspacePlan {
                service: Some(service.clone()),
                fixes: ws.fixes.iter().filter(|f| f.services.contains(service)).cloned().collect(),
                unfixable: ws.unfixable.iter().filter(|u| u.services.contains(service)).cloned().collect(),
                ..ws.clone()
            });
        }
        if ws.fixes.is_empty() {
            out.push(ws);
        }
    }
    out
}

/// A temporary worktree, removed when dropped.
struct Worktree {
    repo: PathBuf,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Worktree {
    fn add(repo: &Path, commit: &str) -> anyhow::Result<Worktree> {
        let dir = tempfile::Builder::new().prefix("fleetward-fix-").tempdir()?;
        let path = dir.path().join("tree");
        let p = path.to_string_lossy().into_owned();
        git::run(
            repo,
            &["worktree", "add", "--quiet", "--detach", &p, commit],
            "create a temporary worktree",
        )?;
        Ok(Worktree { repo: repo.to_path_buf(), path, _dir: dir })
    }
}

impl Drop for Worktree {
    fn drop(&mut self) {
        let p = self.path.to_string_lossy().into_owned();
        let _ = git::run(&self.repo, &["worktree", "remove", "--force", &p], "remove the temporary worktree");
        let _ = git::run(&self.repo, &["worktree", "prune"], "prune worktrees");
    }
}

pub fn run(
    root: &Path,
    policy: &Policy,
    database: &crate::db::Pending,
    args: &FixArgs,
) -> anyhow::Result<Report> {
    git::ensure_repo(root)?;
    let dirty = git::dirty(root, &[])?;
    if !dirty.is_empty() {
        bail!(
            "the work tree has uncommitted changes ({}): commit or stash them first; `fix --open-pr` proposes fixes on top of the last commit",
            dirty.join(", ")
        );
    }
    let remote = args.remote.as_str();
    let url = git::run(root, &["remote", "get-url", "--end-of-options", remote], "read the remote").map_err(|_| {
        anyhow::anyhow!("there is no git remote named `{remote}`: add one (`git remote add {remote} URL`) or pass --remote NAME")
    })?;
    let forge = GitHub::from_env(&url)?;
    let base = match &args.base {
        Some(b) => b.clone(),
        None => git::run(root, &["symbolic-ref", "--quiet", "--short", "HEAD"], "find the current branch")
            .map_err(|_| anyhow::anyhow!("HEAD is detached: pass --base BRANCH"))?,
    };
    let base_commit = [format!("refs/heads/{base}"), format!("refs/remotes/{remote}/{base}")]
        .iter()
        .find_map(|r| {
            git::run(root, &["rev-parse", "--verify", "--quiet", &format!("{r}^{{commit}}")], "resolve").ok()
        })
        .filter(|s| !s.is_empty())
        .with_context(|| format!("there is no branch `{base}` here or on `{remote}`"))?;
    let top = PathBuf::from(git::run(root, &["rev-parse", "--show-toplevel"], "find the repository root")?);
    let prefix = git::run(root, &["rev-parse", "--show-prefix"], "find the directory in the repository")?;
    let date = git::run(root, &["show", "-s", "--format=%cI", &base_commit], "read the base commit's date")?;

    let tree = Worktree::add(&top, &base_commit)?;
    let wroot = tree.path.join(&prefix);
    let policy = match &args.config {
        Some(_) => policy.clone(),
        None => crate::commands::load_policy(None, &wroot)?,
    };
    let audit = Audit::run(&wroot, &policy, database, !args.no_index)?;
    let mut plans = if policy.fix.per_service { per_service(audit.plans) } else { audit.plans };
    let mut opened = Vec::new();
    for ws in &mut plans {
        if ws.fixes.is_empty() {
            continue;
        }
        git::run(&tree.path, &["reset", "--hard", "--quiet", &base_commit], "reset the temporary worktree")?;
        super::apply::apply(&wroot, ws);
        let branch = branch_name(&ws.workspace, ws.service.as_deref());
        let changed =
            git::run(&tree.path, &["status", "--porcelain", "--untracked-files=no"], "list changes")?;
        if changed.is_empty() {
            opened.push(Opened {
                workspace: ws.workspace.clone(),
                service: ws.service.clone(),
                branch,
                action: "nothing to push".into(),
                pushed: false,
                number: None,
                url: None,
            });
            continue;
        }
        let (title, body) = (title(ws), body(ws));
        let commit = commit(&tree.path, &format!("{title}\n\n{}", commit_body(ws)), &date)?;
        let remote_sha = git::run(
            root,
            &["ls-remote", "--end-of-options", remote, &format!("refs/heads/{branch}")],
            "read the remote branch",
        )
        .map_err(|e| anyhow::anyhow!(crate::db::redact_all(&format!("{e:#}"), &url)))?;
        let remote_sha = remote_sha.split_whitespace().next().unwrap_or("").to_string();
        let pushed = remote_sha != commit;
        if pushed {
            let lease = format!("--force-with-lease=refs/heads/{branch}:{remote_sha}");
            git::run(
                &tree.path,
                &["push", "--quiet", "--no-verify", &lease, remote, &format!("{commit}:refs/heads/{branch}")],
                &format!("push {branch} to {remote}"),
            )
            .map_err(|e| {
                anyhow::anyhow!(
                    "the push of {branch} to `{remote}` was rejected; nothing else was changed: {}",
                    crate::db::redact_all(&format!("{e:#}"), &url)
                )
            })?;
        }
        let (action, pr) = match forge.find_open_pr(&branch)? {
            Some(pr) if pr.title == title && pr.body == body && pr.base == base => ("unchanged", pr),
            Some(pr) => ("updated", forge.update_pr(pr.number, &base, &title, &body)?),
            None => ("created", forge.create_pr(&branch, &base, &title, &body)?),
        };
        opened.push(Opened {
            workspace: ws.workspace.clone(),
            service: ws.service.clone(),
            branch,
            action: action.into(),
            pushed,
            number: Some(pr.number),
            url: Some(pr.url),
        });
    }
    drop(tree);
    Ok(Report { version: 1, workspaces: plans, pull_requests: opened, errors: audit.errors })
}

/// Commit everything changed in the worktree; the id is returned. Hooks and signing are off
/// (the commit must not depend on the machine), and the dates are the base commit's.
fn commit(tree: &Path, message: &str, date: &str) -> anyhow::Result<String> {
    git::run(tree, &["add", "--update", "."], "stage the fixes")?;
    let mut c = git::command(tree);
    let configured = |key: &str| {
        git::run(tree, &["config", "--get", key], "read configuration").is_ok_and(|v| !v.is_empty())
    };
    if !configured("user.name") {
        c.args(["-c", "user.name=fleetward"]);
    }
    if !configured("user.email") {
        c.args(["-c", "user.email=fleetward@users.noreply.github.com"]);
    }
    c.args(["-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", message])
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date);
    git::output(c, "commit the fixes")?;
    git::run(tree, &["rev-parse", "HEAD"], "read the new commit")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "y" } else { "ies" }
}

fn fixed(ws: &WorkspacePlan) -> impl Iterator<Item = &super::plan::Fix> {
    ws.fixes.iter().filter(|f| f.result.as_deref() == Some("fixed"))
}

fn title(ws: &WorkspacePlan) -> String {
    let n = fixed(ws).count();
    let name =
        if ws.workspace == "." { "the root workspace".to_string() } else { format!("`{}`", ws.workspace) };
    match &ws.service {
        Some(service) => {
            format!("fleetward: fix {n} vulnerable dependenc{} of {service} in {name}", plural(n))
        }
        None => format!("fleetward: fix {n} vulnerable dependenc{} in {name}", plural(n)),
    }
}

fn commit_body(ws: &WorkspacePlan) -> String {
    let mut s = String::new();
    for f in fixed(ws) {
        for a in &f.details {
            s += &format!(
                "- {}: {} {} -> {} ({}; {})\n",
                a.id,
                f.package,
                f.from,
                f.to,
                a.severity.as_str(),
                services(&f.services)
            );
        }
    }
    let not: Vec<String> = not_fixed(ws);
    if !not.is_empty() {
        s += "\nNot fixed:\n";
        for n in not {
            s += &format!("- {n}\n");
        }
    }
    s
}

fn services(s: &[String]) -> String {
    if s.is_empty() { "no service".to_string() } else { s.join(", ") }
}

fn not_fixed(ws: &WorkspacePlan) -> Vec<String> {
    let mut out: Vec<String> = ws
        .unfixable
        .iter()
        .map(|u| format!("{} {} ({}): {}", u.package, u.version, u.advisories.join(", "), u.reason))
        .collect();
    out.extend(ws.fixes.iter().filter(|f| f.result.as_deref() != Some("fixed")).map(|f| {
        let why = f.error.as_deref().unwrap_or("not applied").lines().next().unwrap_or("").to_string();
        format!("{} {} ({}): {why}", f.package, f.from, f.advisories.join(", "))
    }));
    out
}

fn body(ws: &WorkspacePlan) -> String {
    let whose = match &ws.service {
        Some(service) => format!("{service} in `{}`", ws.workspace),
        None => format!("`{}`", ws.workspace),
    };
    let mut s = format!(
        "fleetward moved the vulnerable dependencies of {whose} (`{}`) to the smallest versions the RustSec advisories mark as patched.\n\n",
        ws.lockfile
    );
    s += "| Advisory | Crate | From | To | Severity | Affected services | How |\n|---|---|---|---|---|---|---|\n";
    for f in fixed(ws) {
        let how = match f.how {
            super::plan::How::CargoUpdate => "`cargo update --precise`".to_string(),
            super::plan::How::ManifestBump => f
                .edits
                .iter()
                .map(|e| format!("`{}`: {} `{}` -> `{}`", e.manifest, e.key, e.from, e.to))
                .collect::<Vec<_>>()
                .join("<br>"),
            super::plan::How::ParentBump => f
                .parents
                .iter()
                .map(|p| format!("{} {} -> {}", p.package, p.from, p.to))
                .collect::<Vec<_>>()
                .join("<br>"),
        };
        for a in &f.details {
            s += &format!(
                "| [{id}](https://rustsec.org/advisories/{id}.html) | `{}` | {} | {} | {} | {} | {how} |\n",
                f.package,
                f.from,
                f.to,
                a.severity.as_str(),
                services(&f.services),
                id = a.id,
            );
        }
    }
    let not = not_fixed(ws);
    if !not.is_empty() {
        s += "\n### Not fixed\n\n";
        for n in not {
            s += &format!("- {n}\n");
        }
    }
    s += "\n<sub>Opened by `fleetward fix --open-pr`; running it again updates this branch and pull request.</sub>\n";
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn branch_names_are_valid_refs_that_never_nest() {
        assert_eq!(super::branch_name(".", None), "fleetward/fix/root");
        assert_eq!(super::branch_name("services", None), "fleetward/fix/services");
        assert_eq!(super::branch_name("services/payments", None), "fleetward/fix/services-payments");
        assert_eq!(super::branch_name("a b/c.d", None), "fleetward/fix/a-b-c-d");
        assert_eq!(super::branch_name("services", Some("billing")), "fleetward/fix/services--billing");
    }
}
