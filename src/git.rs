//! The git questions of `--changed-since` and `--staged`, asked of the real `git` command.
//!
//! `fleetward check` executes nothing from the scanned tree, and a repository's own git
//! configuration can name programs: an fsmonitor hook, external diff drivers, textconv filters.
//! Every call here turns those off (`core.fsmonitor=false`, `--no-ext-diff`, `--no-textconv`),
//! takes no optional locks, and reads paths NUL-separated so that no file name is misread.

use anyhow::{Context, bail};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// One changed path, relative to the scanned root (`/`-separated).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// `A`dded, `M`odified, `D`eleted, `R`enamed, `C`opied, `T`ype changed, `U`ntracked.
    pub status: char,
    pub path: String,
    /// The path before a rename or copy.
    pub from: Option<String>,
}

/// A `git` command run in `root` with the repository's program-running settings turned off.
fn git(root: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(root)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env_remove("GIT_EXTERNAL_DIFF")
        .args(["-c", "core.fsmonitor=false", "-c", "core.quotePath=false", "-c", "diff.renames=true"])
        .stdin(Stdio::null());
    c
}

/// Run and return standard output; a failure carries git's own message.
fn output(mut cmd: Command, what: &str) -> anyhow::Result<Vec<u8>> {
    let out = cmd.output().with_context(|| format!("could not run git to {what} (is git installed?)"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("git could not {what}: {}", err.trim());
    }
    Ok(out.stdout)
}

/// Fail clearly when `root` is not inside a git work tree.
pub fn ensure_repo(root: &Path) -> anyhow::Result<()> {
    let mut c = git(root);
    c.args(["rev-parse", "--is-inside-work-tree"]);
    let out = output(c, "find a repository")
        .with_context(|| format!("{} is not inside a git repository", root.display()))?;
    if String::from_utf8_lossy(&out).trim() != "true" {
        bail!("{} is not inside a git work tree", root.display());
    }
    Ok(())
}

/// The directory git runs hooks from (`core.hooksPath` when set, else `.git/hooks`).
pub fn hooks_dir(root: &Path) -> anyhow::Result<std::path::PathBuf> {
    let mut c = git(root);
    c.args(["rev-parse", "--git-path", "hooks"]);
    let rel = String::from_utf8_lossy(&output(c, "find the hooks directory")?).trim().to_string();
    Ok(root.join(rel))
}

/// Where `root` sits in its repository (`sub/dir/`, empty at the top): `checkout-index`
/// writes files at their path from the top.
pub fn show_prefix(root: &Path) -> anyhow::Result<String> {
    let mut c = git(root);
    c.args(["rev-parse", "--show-prefix"]);
    Ok(String::from_utf8_lossy(&output(c, "find the repository's top")?).trim().to_string())
}

/// The merge base of `reference` and `HEAD`, as a full commit id.
pub fn merge_base(root: &Path, reference: &str) -> anyhow::Result<String> {
    if reference.starts_with('-') {
        bail!("`{reference}` is not a git revision");
    }
    let mut c = git(root);
    c.args(["rev-parse", "--verify", "--quiet", "--end-of-options"]).arg(format!("{reference}^{{commit}}"));
    if output(c, "resolve the revision").map(|o| o.is_empty()).unwrap_or(true) {
        bail!(
            "`{reference}` is not a commit of this repository (in CI, fetch it first: actions/checkout \
             with `fetch-depth: 0`, or `git fetch origin main`)"
        );
    }
    let mut c = git(root);
    c.args(["merge-base", "--end-of-options", reference, "HEAD"]);
    let out = output(c, &format!("find the merge base of {reference} and HEAD")).with_context(|| {
        format!("`{reference}` and HEAD have no common ancestor (a shallow clone? use `fetch-depth: 0`)")
    })?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// Files changed between `base` and the work tree (committed, staged or not), and the files
/// git does not track yet (not ignored), under `root`.
pub fn changed_since(root: &Path, base: &str) -> anyhow::Result<Vec<Change>> {
    let mut c = git(root);
    c.args(["diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", "--relative"]).args([
        "--end-of-options",
        base,
        "--",
    ]);
    let mut changes = parse_name_status(&output(c, "list the changed files")?)?;
    let mut c = git(root);
    c.args(["ls-files", "-z", "--others", "--exclude-standard", "--", "."]);
    for path in split_z(&output(c, "list the untracked files")?) {
        changes.push(Change { status: 'U', path, from: None });
    }
    changes.sort();
    changes.dedup();
    Ok(changes)
}

/// What `git commit` would record: the index against `HEAD` (against the empty tree before the
/// first commit), under `root`.
pub fn staged(root: &Path) -> anyhow::Result<Vec<Change>> {
    let mut c = git(root);
    c.args(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]);
    let head = output(c, "resolve HEAD").map(|o| !o.is_empty()).unwrap_or(false);
    // The empty tree: what a repository without commits compares against.
    let base = if head { "HEAD" } else { "4b825dc642cb6eb9a060e54bf8d69288fbee4904" };
    let mut c = git(root);
    c.args(["diff", "--cached", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv", "--relative"])
        .args(["--end-of-options", base, "--"]);
    let mut changes = parse_name_status(&output(c, "list the staged files")?)?;
    changes.sort();
    Ok(changes)
}

/// Every path in the index under `root`, relative to it.
pub fn index_files(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut c = git(root);
    c.args(["ls-files", "-z", "--cached", "--", "."]);
    Ok(split_z(&output(c, "list the files in the index")?))
}

/// Write the index's version of `paths` (relative to `root`) under `dest`, as `git
/// checkout-index` does, without touching the work tree. Symbolic links are written as such.
pub fn checkout_index(root: &Path, paths: &[String], dest: &Path) -> anyhow::Result<()> {
    if paths.is_empty() {
        return Ok(());
    }
    let mut prefix = dest.to_string_lossy().into_owned();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    let mut c = git(root);
    // checkout-index applies the smudge/clean filters of .gitattributes, which can name
    // programs; the index content is what is checked, so no filter is wanted.
    c.args(["-c", "filter.lfs.smudge=", "-c", "filter.lfs.process=", "-c", "core.autocrlf=false"])
        .args(["checkout-index", "-z", "--stdin", "-f", "-q"])
        .arg(format!("--prefix={prefix}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().context("could not run git to read the index")?;
    let mut stdin = child.stdin.take().context("git's standard input")?;
    let mut list = Vec::new();
    for p in paths {
        list.extend_from_slice(p.as_bytes());
        list.push(0);
    }
    // Written from another thread: git may fill its stderr pipe before reading all of stdin.
    let writer = std::thread::spawn(move || stdin.write_all(&list));
    let out = child.wait_with_output().context("could not read the index")?;
    writer.join().map_err(|_| anyhow::anyhow!("writing to git failed"))??;
    if !out.status.success() {
        bail!("git could not read the index: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn split_z(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// `--name-status -z`: `X\0path\0`, or `R100\0old\0new\0` for renames and copies.
fn parse_name_status(bytes: &[u8]) -> anyhow::Result<Vec<Change>> {
    let fields = split_z(bytes);
    let mut it = fields.into_iter();
    let mut out = Vec::new();
    while let Some(status) = it.next() {
        let code = status.chars().next().context("empty status from git diff")?;
        let first = it.next().with_context(|| format!("git diff gave status {status} without a path"))?;
        if matches!(code, 'R' | 'C') {
            let second = it.next().with_context(|| format!("git diff gave {status} without a new path"))?;
            out.push(Change { status: code, path: second, from: Some(first) });
        } else {
            out.push(Change { status: code, path: first, from: None });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_with_renames() {
        let raw = b"M\0a/b.rs\0R087\0old/x.rs\0new/x.rs\0D\0gone.rs\0";
        let c = parse_name_status(raw).unwrap();
        assert_eq!(
            c,
            vec![
                Change { status: 'M', path: "a/b.rs".into(), from: None },
                Change { status: 'R', path: "new/x.rs".into(), from: Some("old/x.rs".into()) },
                Change { status: 'D', path: "gone.rs".into(), from: None },
            ]
        );
        assert!(parse_name_status(b"R100\0only-old\0").is_err());
    }
}
