//! `--apply`: each fix of a workspace as one transaction. Its manifest edits are written,
//! then the real `cargo update --precise` moves the lockfile (parents first); when any step
//! fails, every file the fix touched is put back as it was, and the next fix is tried.
//!
//! This is the one place fleetward runs cargo. `cargo update` resolves versions and rewrites
//! `Cargo.lock`; it compiles nothing and runs no build script.

use super::plan::{Fix, WorkspacePlan};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo to run: `$CARGO` when set (inside cargo), else `cargo` from `PATH`.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Apply every fix of `ws` under `root`; each fix gets `result` (and `error`).
pub fn apply(root: &Path, ws: &mut WorkspacePlan) {
    let manifest = root.join(&ws.manifest);
    let lockfile = root.join(&ws.lockfile);
    for fix in &mut ws.fixes {
        match apply_one(root, &manifest, &lockfile, fix) {
            Ok(()) => fix.result = Some("fixed".into()),
            Err(e) => {
                fix.result = Some("failed".into());
                fix.error = Some(e);
            }
        }
    }
}

fn apply_one(root: &Path, manifest: &Path, lockfile: &Path, fix: &Fix) -> Result<(), String> {
    let mut files: Vec<PathBuf> = fix.manifests.iter().map(|m| root.join(m)).collect();
    files.push(lockfile.to_path_buf());
    files.dedup();
    let saved: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|f| {
            std::fs::read(f).map(|b| (f.clone(), b)).map_err(|e| format!("cannot read {}: {e}", f.display()))
        })
        .collect::<Result<_, _>>()?;
    let result = steps(root, manifest, lockfile, fix);
    if result.is_err() {
        for (f, bytes) in &saved {
            // Put back what was there; a failure here is reported with the step's error.
            let _ = std::fs::write(f, bytes);
        }
    }
    result
}

fn steps(root: &Path, manifest: &Path, lockfile: &Path, fix: &Fix) -> Result<(), String> {
    for edit in &fix.edits {
        let path = root.join(&edit.manifest);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", edit.manifest))?;
        let new = super::edit::apply(&text, edit)?;
        std::fs::write(&path, new).map_err(|e| format!("cannot write {}: {e}", edit.manifest))?;
    }
    for p in &fix.parents {
        if locked(lockfile, &p.package, &p.from) {
            update(manifest, &p.package, &p.from, &p.to)?;
        }
    }
    if locked(lockfile, &fix.package, &fix.from) {
        update(manifest, &fix.package, &fix.from, &fix.to)?;
    }
    // A manifest edit makes cargo re-resolve the edited requirement first, to the newest
    // version it allows: bring it back to the planned one.
    let versions = locked_versions(lockfile, &fix.package);
    if !versions.iter().any(|v| v == &fix.to)
        && let Ok(to) = rustsec::Version::parse(&fix.to)
        && let Some(newer) = versions.iter().find(|v| {
            rustsec::Version::parse(v).is_ok_and(|v| v > to && crate::versions::compatible(&to, &v))
        })
    {
        update(manifest, &fix.package, newer, &fix.to)?;
    }
    if locked(lockfile, &fix.package, &fix.from) {
        return Err(format!("{} {} is still in the lockfile after cargo update", fix.package, fix.from));
    }
    Ok(())
}

/// Whether the lockfile has `name` at `version`.
fn locked(lockfile: &Path, name: &str, version: &str) -> bool {
    locked_versions(lockfile, name).iter().any(|v| v == version)
}

/// The versions of `name` the lockfile has.
fn locked_versions(lockfile: &Path, name: &str) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(lockfile) else { return Vec::new() };
    let packages = crate::checks::advisories::lockfile::parse(&text).unwrap_or_default();
    packages
        .iter()
        .filter(|p| p.package.name.as_str() == name)
        .map(|p| p.package.version.to_string())
        .collect()
}

/// `cargo update --manifest-path M -p NAME@FROM --precise TO`.
fn update(manifest: &Path, name: &str, from: &str, to: &str) -> Result<(), String> {
    let spec = format!("{name}@{from}");
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let out = cargo()
        .args(["update", "--manifest-path"])
        .arg(manifest)
        .args(["-p", &spec, "--precise", to])
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    // cargo's own error, from its first `error` line (what precedes is progress).
    let lines: Vec<&str> = stderr.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect();
    let start = lines.iter().position(|l| l.starts_with("error")).unwrap_or(0);
    let why = lines[start..].iter().take(8).copied().collect::<Vec<_>>().join("\n");
    Err(format!("`cargo update -p {spec} --precise {to}` failed:\n{why}"))
}
