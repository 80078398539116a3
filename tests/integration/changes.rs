//! `--changed-since`, `--staged` and `fleetward hook install` against real git repositories.

use crate::util::{Run, TempRepo};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// A fleet in git: a workspace `svc` with services `a`, `b`, `c` that all use the shared library
/// `common` (path dependencies), and a standalone service `d` with its own lockfile. Every
/// package has one `unsafe` block without a SAFETY comment, so each has exactly one finding.
fn fleet() -> TempRepo {
    let repo = TempRepo::new();
    repo.file("fleetward.toml", "fail_on = \"medium\"\n")
        .file("svc/Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\", \"c\", \"common\"]\n")
        .file("svc/Cargo.lock", "version = 3\n")
        .package("svc/common", "common", false, "")
        .file("d/Cargo.lock", "version = 3\n")
        .package("d", "d", true, "");
    for s in ["a", "b", "c"] {
        repo.package(&format!("svc/{s}"), s, true, "[dependencies]\ncommon = { path = \"../common\" }\n");
        repo.file(&format!("svc/{s}/src/main.rs"), unsafe_main(s));
    }
    repo.file("svc/common/src/lib.rs", "pub fn f() -> u8 {\n    unsafe { *(&1u8 as *const u8) }\n}\n");
    repo.file("d/src/main.rs", unsafe_main("d"));
    git(repo.path(), &["init", "-q", "-b", "main"]);
    commit_all(repo.path(), "fleet");
    repo
}

fn unsafe_main(name: &str) -> String {
    format!(
        "fn main() {{\n    let x = unsafe {{ *(&1u8 as *const u8) }};\n    println!(\"{name} {{x}}\");\n}}\n"
    )
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn commit_all(dir: &Path, message: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--no-verify", "-m", message]);
}

/// `check` as JSON with only the source checks (no database needed).
fn check(repo: &TempRepo, extra: &[&str]) -> (Value, Run) {
    let mut args = vec!["check", "--only", "unsafe", "--format", "json"];
    args.extend_from_slice(extra);
    let run = repo.run(&args);
    (run.json(), run)
}

/// (name, reasons) of the selected packages.
fn selected(v: &Value) -> Vec<(String, Vec<String>)> {
    v["selection"]["packages"]
        .as_array()
        .expect("a selection")
        .iter()
        .map(|p| {
            let why = p["why"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect();
            (p["name"].as_str().unwrap().to_string(), why)
        })
        .collect()
}

fn names(v: &Value) -> Vec<String> {
    selected(v).into_iter().map(|(n, _)| n).collect()
}

/// (file, line) of every finding.
fn findings(v: &Value) -> Vec<(String, u64)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["file"].as_str().unwrap().to_string(), f["line"].as_u64().unwrap()))
        .collect()
}

#[test]
fn a_change_to_one_service_checks_only_it() {
    let repo = fleet();
    repo.file("d/src/main.rs", unsafe_main("d-changed"));
    let (v, run) = check(&repo, &["--changed-since", "main"]);
    run.expect_code(1);
    assert_eq!(selected(&v), vec![("d".to_string(), vec!["d/src/main.rs changed".to_string()])]);
    assert_eq!(findings(&v), vec![("d/src/main.rs".to_string(), 2)]);
    assert_eq!(v["selection"]["mode"], "changed-since");
    assert_eq!(v["selection"]["ref"], "main");
    assert_eq!(v["selection"]["packages_checked"], 1);
    assert_eq!(v["selection"]["packages_total"], 5);
    assert_eq!(v["selection"]["merge_base"].as_str().unwrap().len(), 40);
    // The human report says what was selected and why.
    let human = repo.run(&["check", "--only", "unsafe", "--changed-since", "main"]);
    assert!(
        human.stdout().starts_with("checking 1 of 5 packages: changed since main (merge base "),
        "{}",
        human.stdout()
    );
    assert!(human.stdout().contains("  d (d): d/src/main.rs changed\n"), "{}", human.stdout());
}

#[test]
fn nothing_changed_checks_nothing() {
    let repo = fleet();
    let (v, run) = check(&repo, &["--changed-since", "HEAD"]);
    run.expect_code(0);
    assert!(names(&v).is_empty());
    assert!(findings(&v).is_empty());
}

#[test]
fn a_shared_library_change_rechecks_every_dependent() {
    let repo = fleet();
    repo.file("svc/common/src/lib.rs", "pub fn f() -> u8 {\n    unsafe { *(&2u8 as *const u8) }\n}\n");
    let (v, _) = check(&repo, &["--changed-since", "main"]);
    let dep = |n: &str| (n.to_string(), vec!["depends on common".to_string()]);
    assert_eq!(
        selected(&v),
        vec![dep("a"), dep("b"), dep("c"), ("common".into(), vec!["svc/common/src/lib.rs changed".into()])]
    );
    let files: Vec<String> = findings(&v).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        files,
        ["svc/a/src/main.rs", "svc/b/src/main.rs", "svc/c/src/main.rs", "svc/common/src/lib.rs"]
    );
}

#[test]
fn policy_and_lockfile_changes_select_what_they_govern() {
    let repo = fleet();
    repo.file("fleetward.toml", "fail_on = \"high\"\n");
    let (v, run) = check(&repo, &["--changed-since", "main"]);
    run.expect_code(0); // the changed policy applies: medium findings no longer fail
    assert_eq!(names(&v), ["d", "a", "b", "c", "common"]);
    assert!(selected(&v).iter().all(|(_, why)| why == &["the policy fleetward.toml changed"]), "{v:#}");
    assert_eq!(findings(&v).len(), 5);

    git(repo.path(), &["checkout", "-q", "--", "fleetward.toml"]);
    repo.file("d/Cargo.lock", "version = 4\n");
    let (v, _) = check(&repo, &["--changed-since", "main"]);
    assert_eq!(selected(&v), vec![("d".to_string(), vec!["d/Cargo.lock changed".to_string()])]);

    git(repo.path(), &["checkout", "-q", "--", "d/Cargo.lock"]);
    repo.file("svc/Cargo.lock", "version = 4\n");
    let (v, _) = check(&repo, &["--changed-since", "main"]);
    assert_eq!(names(&v), ["a", "b", "c", "common"]);
}

#[test]
fn renames_deletions_and_untracked_files() {
    let repo = fleet();
    // A rename from b to c selects both (and nothing else: neither is a library).
    git(repo.path(), &["mv", "svc/b/src/main.rs", "svc/c/src/moved.rs"]);
    repo.file("svc/b/src/main.rs", "fn main() {}\n");
    let (v, _) = check(&repo, &["--changed-since", "main"]);
    assert_eq!(
        selected(&v),
        vec![
            // git pairs the old content with its new place; the new main.rs is an addition.
            (
                "b".to_string(),
                vec![
                    "svc/b/src/main.rs added".to_string(),
                    "svc/b/src/main.rs renamed to svc/c/src/moved.rs".to_string()
                ]
            ),
            ("c".to_string(), vec!["svc/c/src/moved.rs renamed from svc/b/src/main.rs".to_string()]),
        ],
        "{v:#}"
    );
    commit_all(repo.path(), "move");

    // A deletion selects the package the file belonged to; an untracked file its package.
    std::fs::remove_file(repo.path().join("svc/c/src/moved.rs")).unwrap();
    repo.file("d/src/extra.rs", "pub fn g() {}\n");
    let (v, _) = check(&repo, &["--changed-since", "HEAD"]);
    assert_eq!(
        selected(&v),
        vec![
            ("d".to_string(), vec!["d/src/extra.rs added".to_string()]),
            ("c".to_string(), vec!["svc/c/src/moved.rs deleted".to_string()]),
        ]
    );
}

#[test]
fn changes_on_a_branch_are_counted_from_the_merge_base() {
    let repo = fleet();
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    repo.file("svc/a/src/main.rs", unsafe_main("a2"));
    commit_all(repo.path(), "feature work");
    // main moves on after the branch point: its changes are not the branch's.
    git(repo.path(), &["checkout", "-q", "main"]);
    repo.file("d/src/main.rs", unsafe_main("d2"));
    commit_all(repo.path(), "main work");
    git(repo.path(), &["checkout", "-q", "feature"]);
    let (v, _) = check(&repo, &["--changed-since", "main"]);
    assert_eq!(names(&v), ["a"]);
}

#[test]
fn a_bad_reference_is_a_clear_error() {
    let repo = fleet();
    let run = repo.run(&["check", "--only", "unsafe", "--changed-since", "no-such-branch"]);
    run.expect_code(2);
    assert!(run.stderr().contains("`no-such-branch` is not a commit of this repository"), "{}", run.stderr());
    let run = repo.run(&["check", "--only", "unsafe", "--changed-since", "--upload-pack=x"]);
    run.expect_code(2);

    let plain = TempRepo::new();
    plain.package(".", "solo", true, "");
    let run = plain.run(&["check", "--only", "unsafe", "--staged"]);
    run.expect_code(2);
    assert!(run.stderr().contains("not inside a git repository"), "{}", run.stderr());
}

#[test]
fn staged_checks_the_index_not_the_work_tree() {
    let repo = fleet();
    // Staged: a transmute in d. Then the work tree drops it: the commit would still record it.
    let bad =
        "fn main() {\n    let t: u32 = unsafe { std::mem::transmute(1.0f32) };\n    println!(\"{t}\");\n}\n";
    repo.file("d/src/main.rs", bad);
    git(repo.path(), &["add", "d/src/main.rs"]);
    repo.file("d/src/main.rs", "fn main() {}\n");
    let run = repo.run(&["check", "--only", "banned", "--staged", "--format", "json"]);
    run.expect_code(1);
    let v = run.json();
    assert_eq!(v["selection"]["mode"], "staged");
    assert_eq!(selected(&v), vec![("d".to_string(), vec!["d/src/main.rs changed".to_string()])]);
    let rules: Vec<&str> =
        v["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert_eq!(rules, ["banned/memory-transmute"]);
    assert_eq!(findings(&v), vec![("d/src/main.rs".to_string(), 2)]);
    // The human report shows the staged line, not the work tree's.
    let human = repo.run(&["check", "--only", "banned", "--staged"]);
    assert!(human.stdout().contains("std::mem::transmute(1.0f32)"), "{}", human.stdout());

    // The reverse: a clean index, a bad work tree.
    git(repo.path(), &["reset", "-q", "--hard"]);
    repo.file("svc/a/src/main.rs", "fn main() {}\n");
    git(repo.path(), &["add", "svc/a/src/main.rs"]);
    repo.file("svc/a/src/main.rs", bad);
    let run = repo.run(&["check", "--only", "banned", "--staged", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(names(&run.json()), ["a"]);
    assert!(findings(&run.json()).is_empty());
}

#[test]
fn staged_files_of_a_library_reach_its_dependents_and_untracked_files_are_not_checked() {
    let repo = fleet();
    repo.file("svc/common/src/lib.rs", "pub fn f() -> u8 {\n    1\n}\n");
    git(repo.path(), &["add", "."]);
    // Not staged: never part of the commit.
    repo.file("svc/a/src/untracked.rs", "pub fn g() -> u8 { unsafe { *(&1u8 as *const u8) } }\n");
    let (v, _) = check(&repo, &["--staged"]);
    assert_eq!(names(&v), ["a", "b", "c", "common"]);
    // The services' own (committed) findings, not the library's (fixed in the index) nor the
    // untracked file's.
    let files: Vec<String> = findings(&v).into_iter().map(|(f, _)| f).collect();
    assert_eq!(files, ["svc/a/src/main.rs", "svc/b/src/main.rs", "svc/c/src/main.rs"]);
}

#[test]
fn staged_in_a_subdirectory_and_before_the_first_commit() {
    let repo = fleet();
    repo.file("svc/b/src/main.rs", "fn main() {}\n");
    git(repo.path(), &["add", "."]);
    let run = crate::util::run_in(
        &repo.path().join("svc"),
        &["check", ".", "--only", "unsafe", "--staged", "--format", "json"],
    );
    let v = run.json();
    assert_eq!(selected(&v), vec![("b".to_string(), vec!["b/src/main.rs changed".to_string()])]);
    assert!(findings(&v).is_empty());

    let fresh = TempRepo::new();
    fresh.package(".", "solo", true, "");
    fresh.file("src/main.rs", unsafe_main("solo"));
    git(fresh.path(), &["init", "-q", "-b", "main"]);
    git(fresh.path(), &["add", "."]);
    let run = fresh.run(&["check", "--only", "unsafe", "--staged", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(findings(&run.json()), vec![("src/main.rs".to_string(), 2)]);
}

#[test]
fn git_never_runs_the_repository_s_programs() {
    let repo = fleet();
    let marker = repo.path().join("ran");
    let script = repo.path().join("evil.sh");
    std::fs::write(&script, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let s = script.to_str().unwrap();
    git(repo.path(), &["config", "core.fsmonitor", s]);
    git(repo.path(), &["config", "diff.external", s]);
    git(repo.path(), &["config", "diff.evil.textconv", s]);
    git(repo.path(), &["config", "filter.evil.smudge", s]);
    repo.file(".gitattributes", "*.rs diff=evil filter=evil\n");
    repo.file("d/src/main.rs", unsafe_main("d3"));
    git(repo.path(), &["-c", "filter.evil.clean=cat", "add", "d/src/main.rs", ".gitattributes"]);
    // Set after `git add`, which would run them itself.
    git(repo.path(), &["config", "filter.evil.clean", s]);
    git(repo.path(), &["config", "filter.evil.process", s]);
    repo.file("d/src/main.rs", unsafe_main("d4"));
    std::fs::remove_file(&marker).ok();
    check(&repo, &["--changed-since", "main"]).1.expect_code(1);
    check(&repo, &["--staged"]).1.expect_code(1);
    assert!(!marker.exists(), "a program configured by the repository ran");
}

/// A real `git commit`, which runs the installed pre-commit hook.
fn commit_through_the_hook(dir: &Path, message: &str) -> std::process::Output {
    Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", message])
        .current_dir(dir)
        .env("FLEETWARD_NOW", "2026-11-22")
        .env("FLEETWARD_ADVISORY_DB", crate::util::fixture("demo/advisory-db"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn hook_install_blocks_a_bad_commit() {
    let repo = fleet();
    let run = repo.run(&["hook", "install"]);
    run.expect_code(0);
    let hook = repo.path().join(".git/hooks/pre-commit");
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(text.starts_with("#!/bin/sh\n# fleetward pre-commit hook"), "{text}");
    assert!(text.contains("check --staged"), "{text}");
    // Reinstalling its own hook is fine; a foreign hook is kept unless --force.
    repo.run(&["hook", "install"]).expect_code(0);
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").unwrap();
    let run = repo.run(&["hook", "install"]);
    run.expect_code(2);
    assert!(run.stderr().contains("was not written by fleetward"), "{}", run.stderr());
    repo.run(&["hook", "install", "--force"]).expect_code(0);

    // The real `git commit` runs it: a staged unsafe block without SAFETY fails the commit.
    repo.file("fleetward.toml", "fail_on = \"medium\"\n[advisories]\nmax_db_age = 0\n");
    git(repo.path(), &["add", "fleetward.toml"]);
    git(repo.path(), &["commit", "-q", "--no-verify", "-m", "policy"]);
    repo.file("d/src/main.rs", unsafe_main("d4"));
    git(repo.path(), &["add", "d/src/main.rs"]);
    let out = commit_through_the_hook(repo.path(), "bad");
    assert!(!out.status.success(), "the hook let a failing commit through");
    // git shows a hook's output on its standard error.
    let shown = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(shown.contains("unsafe-without-safety-comment"), "{shown}");
    repo.file("d/src/main.rs", "fn main() {}\n");
    git(repo.path(), &["add", "d/src/main.rs"]);
    let out = commit_through_the_hook(repo.path(), "good");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn shards_partition_the_fleet_by_work() {
    let repo = fleet();
    // One heavy service: it gets a shard of its own, the four light packages share the other.
    let heavy: String = (0..400).map(|i| format!("pub fn f{i}() -> u32 {{ {i} }}\n")).collect();
    repo.file("d/src/big.rs", heavy);
    let of = |k: u32, n: u32| {
        let (v, run) = check(&repo, &["--shard", &format!("{k}/{n}")]);
        assert_eq!(v["selection"]["mode"], "shard");
        assert_eq!(v["selection"]["index"], k);
        assert_eq!(v["selection"]["count"], n);
        (names(&v), findings(&v), run.code())
    };
    assert_eq!(of(1, 2).0, ["d"]);
    assert_eq!(of(2, 2).0, ["a", "b", "c", "common"]);
    // Every package in exactly one shard, for several N; the findings add up to the full run's.
    let (full, _) = check(&repo, &[]);
    for n in [1, 2, 3, 7] {
        let mut all_names = Vec::new();
        let mut all_findings = Vec::new();
        for k in 1..=n {
            let (names, findings, _) = of(k, n);
            all_names.extend(names);
            all_findings.extend(findings);
        }
        all_names.sort();
        all_findings.sort();
        assert_eq!(all_names, ["a", "b", "c", "common", "d"], "N = {n}");
        assert_eq!(all_findings, findings(&full), "N = {n}");
    }
    // The same split every time.
    assert_eq!(of(2, 3), of(2, 3));
    let run = repo.run(&["check", "--shard", "3/2"]);
    run.expect_code(2);
    assert!(run.stderr().contains("K must be between 1 and N"), "{}", run.stderr());
}

#[test]
fn a_lockfile_change_selects_the_packages_whose_dependencies_changed() {
    let repo = fleet();
    let lock = |serde: &str, rand: &str| {
        let reg = "source = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        format!(
            "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\ndependencies = [\n \"common\",\n \"serde\",\n]\n\n\
             [[package]]\nname = \"b\"\nversion = \"0.1.0\"\ndependencies = [\n \"common\",\n \"rand\",\n]\n\n\
             [[package]]\nname = \"c\"\nversion = \"0.1.0\"\ndependencies = [\n \"common\",\n]\n\n\
             [[package]]\nname = \"common\"\nversion = \"0.1.0\"\n\n\
             [[package]]\nname = \"rand\"\nversion = \"{rand}\"\n{reg}\n\
             [[package]]\nname = \"serde\"\nversion = \"{serde}\"\n{reg}"
        )
    };
    repo.file("svc/Cargo.lock", lock("1.0.1", "0.8.0"));
    commit_all(repo.path(), "a real lockfile");
    // A bump of serde reaches `a` only; neither the library nor the other services.
    repo.file("svc/Cargo.lock", lock("1.0.2", "0.8.0"));
    let (v, _) = check(&repo, &["--changed-since", "HEAD"]);
    assert_eq!(
        selected(&v),
        vec![("a".to_string(), vec!["svc/Cargo.lock: serde 1.0.1 -> 1.0.2".to_string()])]
    );
    // Staged, the same: the index's lockfile against HEAD's.
    git(repo.path(), &["add", "svc/Cargo.lock"]);
    repo.file("svc/Cargo.lock", lock("1.0.1", "0.9.0"));
    let (v, _) = check(&repo, &["--staged"]);
    assert_eq!(
        selected(&v),
        vec![("a".to_string(), vec!["svc/Cargo.lock: serde 1.0.1 -> 1.0.2".to_string()])]
    );
    // A lockfile that no longer parses: every package it governs.
    repo.file("svc/Cargo.lock", "[[package]\nname = \n");
    let (v, _) = check(&repo, &["--changed-since", "HEAD"]);
    assert_eq!(names(&v), ["a", "b", "c", "common"]);
}
