//! Discovery through the real binary: what is walked, what is skipped, and that a bad path
//! (symlink loop, link leaving the root, unreadable directory) never hides the rest.

use crate::util::TempRepo;
use serde_json::Value;

/// `fleetward services --format json` in `repo`: (manifests listed, skipped messages).
fn inventory(repo: &TempRepo) -> (Vec<String>, Vec<String>) {
    let run = repo.run(&["services", "--format", "json"]);
    run.expect_code(0);
    let json = run.json();
    let strings = |key: &str, field: &str| -> Vec<String> {
        json[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v[field].as_str().map(str::to_string))
            .collect()
    };
    (strings("services", "manifest"), strings("skipped", "message"))
}

#[test]
fn monorepo_skips_build_output_vendored_and_gitignored_trees() {
    let repo = TempRepo::from_fixture("monorepo");
    let (manifests, skipped) = inventory(&repo);
    assert_eq!(manifests.len(), 10, "{manifests:?}");
    for m in &manifests {
        assert!(
            !m.contains("target/") && !m.starts_with("vendor/") && !m.starts_with("generated/"),
            "{m} must be skipped"
        );
    }
    assert!(skipped.is_empty(), "{skipped:?}");
}

#[test]
fn gitignore_applies_outside_a_git_repository() {
    let repo = TempRepo::new();
    repo.package("app", "app", true, "")
        .package("scratch/tmp", "tmp", true, "")
        .file(".gitignore", "scratch/\n");
    let (manifests, _) = inventory(&repo);
    assert_eq!(manifests, ["app/Cargo.toml"]);
}

#[test]
fn target_beside_a_manifest_and_vendor_are_skipped() {
    let repo = TempRepo::new();
    repo.package("app", "app", true, "")
        .package("app/target/debug/build/gen", "gen", false, "")
        .package("vendor/dep", "dep", false, "")
        .package("crates/target", "target", false, "");
    let (manifests, _) = inventory(&repo);
    // `crates/target` is a package named target, not build output: no manifest beside it
    assert_eq!(manifests, ["app/Cargo.toml", "crates/target/Cargo.toml"]);
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_reported_and_survived() {
    let repo = TempRepo::new();
    repo.package("a", "a", true, "").package("b", "b", false, "");
    std::os::unix::fs::symlink("..", repo.path().join("a/loop")).expect("symlink");
    let (manifests, skipped) = inventory(&repo);
    assert_eq!(manifests, ["a/Cargo.toml", "b/Cargo.toml"]);
    assert!(skipped.iter().any(|m| m.contains("a/loop") && m.contains("loop")), "{skipped:?}");
}

#[cfg(unix)]
#[test]
fn symlink_leaving_the_root_is_not_followed() {
    let outside = TempRepo::new();
    outside.package("secret", "secret", true, "");
    let repo = TempRepo::new();
    repo.package("app", "app", true, "");
    std::os::unix::fs::symlink(outside.path().join("secret"), repo.path().join("escape")).expect("symlink");
    std::os::unix::fs::symlink(outside.path().join("secret/Cargo.toml"), repo.path().join("app/linked.rs"))
        .expect("symlink");
    let run = repo.run(&["services", "--format", "json"]);
    run.expect_code(0);
    assert!(!run.stdout().contains("secret"), "{}", run.stdout());
    let (manifests, skipped) = inventory(&repo);
    assert_eq!(manifests, ["app/Cargo.toml"]);
    assert!(skipped.iter().any(|m| m.contains("`escape`") && m.contains("outside")), "{skipped:?}");
    assert!(skipped.iter().any(|m| m.contains("`app/linked.rs`")), "{skipped:?}");
}

#[cfg(unix)]
#[test]
fn symlink_inside_the_root_lists_each_package_once() {
    let repo = TempRepo::new();
    repo.package("real/pkg", "pkg", true, "");
    std::os::unix::fs::symlink(repo.path().join("real"), repo.path().join("alias")).expect("symlink");
    let (manifests, skipped) = inventory(&repo);
    assert_eq!(manifests, ["real/pkg/Cargo.toml"]);
    assert!(skipped.is_empty(), "{skipped:?}");
}

#[cfg(unix)]
#[test]
fn unreadable_directory_is_reported_and_the_rest_loads() {
    use std::os::unix::fs::PermissionsExt;
    let repo = TempRepo::new();
    repo.package("ok", "ok", true, "").package("locked/inner", "inner", true, "");
    let locked = repo.path().join("locked");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    if std::fs::read_dir(&locked).is_ok() {
        // running as root: permissions are not enforced, nothing to test
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        return;
    }
    let (manifests, skipped) = inventory(&repo);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert_eq!(manifests, ["ok/Cargo.toml"]);
    assert!(skipped.iter().any(|m| m.contains("`locked`") && m.contains("cannot read")), "{skipped:?}");
}

#[test]
fn output_is_deterministic() {
    let repo = TempRepo::from_fixture("monorepo");
    let first: Value = repo.run(&["services", "--format", "json"]).json();
    for _ in 0..3 {
        assert_eq!(repo.run(&["services", "--format", "json"]).json(), first);
    }
}
