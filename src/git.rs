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
    let mut c = plain_git(root);
    // Content filters (`filter.<driver>.clean|smudge|process`) run when git compares the work
    // tree with a commit: every configured driver is emptied, which git treats as no filter.
    for key in filter_keys(root) {
        c.arg("-c").arg(format!("{key}="));
    }
    c
}

fn plain_git(root: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(root)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env_remove("GIT_EXTERNAL_DIFF")
        .args(["-c", "core.fsmonitor=false", "-c", "core.quotePath=false", "-c", "diff.renames=true"])
        .stdin(Stdio::null());
    c
}

/// The filter-driver commands the repository's configuration names (reading configuration
/// runs nothing). Asked once per repository directory.
fn filter_keys(root: &Path) -> Vec<String> {
    static KEYS: std::sync::Mutex<Vec<(std::path::PathBuf, Vec<String>)>> = std::sync::Mutex::new(Vec::new());
    let mut known = KEYS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, keys)) = known.iter().find(|(r, _)| r == root) {
        return keys.clone();
    }
    let mut c = plain_git(root);
    c.args(["config", "--name-only", "-z", "--get-regexp", r"^filter\..*\.(clean|smudge|process)$"]);
    let keys = c.output().map(|o| split_z(&o.stdout)).unwrap_or_default();
    known.push((root.to_path_buf(), keys.clone()));
    keys
}

/// Run and return standard output; a failure carries git's own message.
pub fn output(mut cmd: Command, what: &str) -> anyhow::Result<Vec<u8>> {
    let out = cmd.output().with_context(|| format!("could not run git to {what} (is git installed?)"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("git could not {what}: {}", err.trim());
    }
    Ok(out.stdout)
}

/// `git ARGS` in `root` with the repository's program-running settings off; its trimmed
/// standard output, or git's own message.
pub fn run(root: &Path, args: &[&str], what: &str) -> anyhow::Result<String> {
    let mut c = git(root);
    c.args(args);
    Ok(String::from_utf8_lossy(&output(c, what)?).trim().to_string())
}

/// A `git` command in `root` with the repository's program-running settings off.
pub fn command(root: &Path) -> Command {
    git(root)
}

/// The tracked files among `paths` (every tracked file when empty) that differ from `HEAD`, in
/// the index or the work tree; nothing when `root` is not in a git work tree.
pub fn dirty(root: &Path, paths: &[String]) -> anyhow::Result<Vec<String>> {
    if ensure_repo(root).is_err() {
        return Ok(Vec::new());
    }
    let mut c = git(root);
    c.args(["status", "--porcelain=v1", "-z", "--untracked-files=no", "--no-renames", "--"]);
    if paths.is_empty() {
        c.arg(".");
    } else {
        c.args(paths);
    }
    let out = output(c, "list uncommitted changes")?;
    let mut files: Vec<String> =
        split_z(&out).into_iter().filter_map(|e| e.get(3..).map(str::to_string)).collect();
    files.sort();
    Ok(files)
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

/// One file of the index.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    pub oid: String,
    /// Relative to `root`.
    pub path: String,
}

/// The text of `rel` (relative to `root`) at revision `rev`, if it exists there and is UTF-8.
pub fn show(root: &Path, rev: &str, rel: &str) -> Option<String> {
    let mut c = git(root);
    // `./` makes the path relative to `root` rather than to the repository's top.
    c.args(["cat-file", "blob", "--end-of-options"]).arg(format!("{rev}:./{rel}"));
    let out = c.output().ok().filter(|o| o.status.success())?;
    String::from_utf8(out.stdout).ok()
}

/// Every regular file in the index under `root` (symbolic links and submodules are left out:
/// the checks never follow a link out of the tree, and a submodule is another repository).
pub fn index_files(root: &Path) -> anyhow::Result<Vec<IndexEntry>> {
    let mut c = git(root);
    c.args(["ls-files", "-z", "--stage", "--", "."]);
    let mut out = Vec::new();
    for line in split_z(&output(c, "list the files in the index")?) {
        // `<mode> <oid> <stage>\t<path>`; a conflicted file has several stages, keep stage 0.
        let Some((meta, path)) = line.split_once('\t') else { continue };
        let mut parts = meta.split(' ');
        let (Some(mode), Some(oid), Some(stage)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if (mode == "100644" || mode == "100755") && stage == "0" {
            out.push(IndexEntry { oid: oid.to_string(), path: path.to_string() });
        }
    }
    Ok(out)
}

/// Write the index's version of `entries` under `dest` at their paths relative to `root`. The
/// blobs are read with `git cat-file --batch`, which applies no filter: the bytes are exactly
/// what `git commit` records.
pub fn write_index_files(root: &Path, entries: &[&IndexEntry], dest: &Path) -> anyhow::Result<()> {
    use std::io::{BufRead, Read};
    if entries.is_empty() {
        return Ok(());
    }
    let mut c = git(root);
    c.args(["cat-file", "--batch"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().context("could not run git to read the index")?;
    let mut stdin = child.stdin.take().context("git's standard input")?;
    let request: String = entries.iter().map(|e| format!("{}\n", e.oid)).collect();
    // Written from another thread: git answers while it reads, and both pipes are bounded.
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut reader = std::io::BufReader::new(child.stdout.take().context("git's standard output")?);
    let mut header = String::new();
    let mut made: std::collections::HashSet<std::path::PathBuf> = std::collections::HashSet::new();
    for e in entries {
        header.clear();
        reader.read_line(&mut header).context("reading the index from git")?;
        let size: usize = match header.trim_end().rsplit_once(' ') {
            Some((kind, size)) if kind.ends_with(" blob") => size.parse().context("a blob size from git")?,
            _ => bail!("git could not read {} from the index: {}", e.path, header.trim()),
        };
        let mut bytes = vec![0; size];
        reader.read_exact(&mut bytes).context("reading the index from git")?;
        let mut newline = [0u8; 1];
        reader.read_exact(&mut newline).context("reading the index from git")?;
        let target = dest.join(&e.path);
        if let Some(parent) = target.parent()
            && !made.contains(parent)
        {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
            made.insert(parent.to_path_buf());
        }
        std::fs::write(&target, bytes).with_context(|| format!("cannot write {}", target.display()))?;
    }
    writer.join().map_err(|_| anyhow::anyhow!("writing to git failed"))??;
    let status = child.wait().context("waiting for git")?;
    if !status.success() {
        bail!("git could not read the index");
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
