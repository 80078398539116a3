//! `check --shard K/N` then `fleetward merge`: for N = 1, 2, 3 and 7, the merged JSON report and
//! SARIF log equal the full run's (parsed, and byte for byte), on a fleet with findings of every
//! kind (advisories over shared lockfiles, routes, source rules, secrets repeated in one file, a
//! manifest that does not parse, a policy exception only some shards use, a baseline), and on
//! the coverage fleet (per-package coverage rows). Inputs that are not the N shards of one run
//! are errors naming the file.

use crate::baseline::validate_sarif;
use crate::util::{TempRepo, copy_dir, fixture, run_in};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The demo fleet with more kinds of findings.
fn fleet() -> TempRepo {
    let repo = TempRepo::from_fixture("demo");
    repo.file(
        "services/billing/src/extra.rs",
        "pub fn f() -> f32 {\n    unsafe { std::mem::transmute(1u32) }\n}\n\
         pub fn g() {\n    let _ = reqwest::Client::builder().danger_accept_invalid_certs(true);\n}\n",
    );
    repo.file(
        "tools/reporter/src/keys.rs",
        "const A: &str = \"AKIA2E0A8F3B2W4C9X86\";\nconst B: &str = \"AKIA2E0A8F3B2W4C9X86\";\n",
    );
    repo.file(
        "tools/broken/Cargo.toml",
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = 2021 =\n",
    );
    repo.file("tools/broken/src/main.rs", "fn main() {}\n");
    // An exception no lockfile uses (unused in every shard), besides the demo's atty one, which
    // shards without the lockfiles that use it report unused.
    let policy = std::fs::read_to_string(repo.path().join("fleetward.toml")).unwrap();
    repo.file(
        "fleetward.toml",
        format!("{policy}\n[[advisories.ignore]]\nid = \"RUSTSEC-2099-0001\"\nreason = \"never matches\"\n"),
    );
    repo
}

/// Run `check ARGS --format FORMAT` writing to `out` (outside the scanned tree); its exit code.
fn check_to(root: &Path, args: &[&str], format: &str, out: &Path) -> i32 {
    let mut all = vec!["check", "--format", format, "-o", out.to_str().unwrap()];
    all.extend(args);
    let run = run_in(root, &all);
    assert!(run.code() < 2, "check failed:\n{}", run.stderr());
    run.code()
}

/// Full run, then every N: shards merged, compared with the full run.
fn shards_merge_to_the_full_run(root: &Path, args: &[&str]) {
    let out = tempfile::tempdir().unwrap();
    for format in ["json", "sarif"] {
        let full = out.path().join(format!("full.{format}"));
        check_to(root, args, format, &full);
        let full_bytes = std::fs::read(&full).unwrap();
        let full_value: Value = serde_json::from_slice(&full_bytes).unwrap();
        for n in [1u32, 2, 3, 7] {
            let mut files: Vec<PathBuf> = Vec::new();
            for k in 1..=n {
                let file = out.path().join(format!("shard-{k}-of-{n}.{format}"));
                let shard = format!("{k}/{n}");
                let mut shard_args = args.to_vec();
                shard_args.extend(["--shard", shard.as_str()]);
                check_to(root, &shard_args, format, &file);
                files.push(file);
            }
            let merged = out.path().join(format!("merged-{n}.{format}"));
            let mut merge = vec!["merge", "--format", format, "-o", merged.to_str().unwrap()];
            // Given in any order.
            let names: Vec<String> = files.iter().rev().map(|f| f.display().to_string()).collect();
            merge.extend(names.iter().map(String::as_str));
            run_in(root, &merge).expect_code(0);
            let merged_bytes = std::fs::read(&merged).unwrap();
            let merged_value: Value = serde_json::from_slice(&merged_bytes).unwrap();
            assert_eq!(merged_value, full_value, "{format}, N = {n}: the merge differs from the full run");
            assert!(merged_bytes == full_bytes, "{format}, N = {n}: same value, other bytes");
            if format == "sarif" && n == 3 {
                validate_sarif(&merged);
            }
        }
    }
    // Standard output without -o.
    let files: Vec<String> =
        (1..=2).map(|k| out.path().join(format!("shard-{k}-of-2.json")).display().to_string()).collect();
    let stdout = run_in(root, &["merge", "--format", "json", &files[0], &files[1]]);
    stdout.expect_code(0);
    assert_eq!(stdout.0.stdout, std::fs::read(out.path().join("full.json")).unwrap());
}

#[test]
fn merged_shards_equal_the_full_run() {
    let repo = fleet();
    let db = fixture("demo/advisory-db");
    let report: Value = {
        let run = repo.run(&["check", "--format", "json"]);
        run.json()
    };
    let rules: Vec<&str> =
        report["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    for kind in [
        "advisories/vulnerability",
        "advisories/unsound",
        "auth/unauthenticated-route",
        "banned/memory-transmute",
        "banned/tls-verification-disabled",
        "secrets/aws-access-key",
        "manifest/missing-lockfile",
        "fleetward/parse-error",
        "fleetward/unused-exception",
    ] {
        assert!(rules.contains(&kind), "the fleet has a {kind} finding: {rules:?}");
    }
    assert_eq!(report["errors"].as_array().unwrap().len(), 1);
    // Shards without the lockfiles that use the atty exception report it unused: the merge
    // keeps only what every shard reported.
    let out = tempfile::tempdir().unwrap();
    let shard = out.path().join("s.json");
    let mut unused_somewhere = false;
    for k in 1..=7 {
        check_to(repo.path(), &["--shard", &format!("{k}/7")], "json", &shard);
        unused_somewhere |=
            std::fs::read_to_string(&shard).unwrap().contains("the ignore of RUSTSEC-2021-0145");
    }
    assert!(unused_somewhere, "a shard reports the atty exception unused");
    assert!(!serde_json::to_string(&report).unwrap().contains("the ignore of RUSTSEC-2021-0145"));

    shards_merge_to_the_full_run(repo.path(), &["--advisory-db", db.to_str().unwrap()]);
}

#[test]
fn merged_shards_with_a_baseline_equal_the_full_run() {
    let repo = fleet();
    let out = tempfile::tempdir().unwrap();
    let baseline = out.path().join("baseline.json");
    repo.run(&["baseline", "-o", baseline.to_str().unwrap()]).expect_code(0);
    // One finding gone (reporter's lockfile), one new, one repeated secret more.
    repo.file(
        "tools/reporter/Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"reporter\"\nversion = \"0.1.0\"\n",
    );
    repo.file(
        "services/ledger/src/tls.rs",
        "pub fn g() {\n    let _ = reqwest::Client::builder().danger_accept_invalid_certs(true);\n}\n",
    );
    repo.file(
        "tools/reporter/src/keys.rs",
        "const A: &str = \"AKIA2E0A8F3B2W4C9X86\";\nconst B: &str = \"AKIA2E0A8F3B2W4C9X86\";\nconst C: &str = \"AKIA2E0A8F3B2W4C9X86\";\n",
    );
    let full = out.path().join("full.json");
    assert_eq!(check_to(repo.path(), &["--baseline", baseline.to_str().unwrap()], "json", &full), 1);
    let doc: Value = serde_json::from_slice(&std::fs::read(&full).unwrap()).unwrap();
    assert_eq!(doc["baseline"]["new"], 2, "{}", doc["baseline"]);
    assert_eq!(doc["baseline"]["absent"].as_array().unwrap().len(), 1);
    shards_merge_to_the_full_run(repo.path(), &["--baseline", baseline.to_str().unwrap()]);
}

#[test]
fn merged_coverage_shards_equal_the_full_run() {
    let repo = TempRepo::from_fixture("coverage/fleet");
    copy_dir(&fixture("coverage/reports"), &repo.path().join("reports"));
    repo.file("fleetward.toml", std::fs::read_to_string(fixture("coverage/policy.toml")).unwrap());
    let full = repo.run(&[
        "check",
        "--only",
        "coverage",
        "--coverage",
        "reports/llvm-cov/lcov.info",
        "--format",
        "json",
    ]);
    let doc = full.json();
    assert!(doc["coverage"].as_array().unwrap().len() >= 8, "rows for every package: {}", doc["coverage"]);
    shards_merge_to_the_full_run(
        repo.path(),
        &["--only", "coverage", "--coverage", "reports/llvm-cov/lcov.info"],
    );
}

#[test]
fn inputs_that_are_not_the_shards_of_one_run_are_refused() {
    let repo = TempRepo::from_fixture("demo");
    let out = tempfile::tempdir().unwrap();
    let path = |name: &str| out.path().join(name).display().to_string();
    for (k, n) in [(1, 3), (2, 3), (3, 3), (1, 2)] {
        for format in ["json", "sarif"] {
            check_to(
                repo.path(),
                &["--shard", &format!("{k}/{n}")],
                format,
                Path::new(&path(&format!("s{k}of{n}.{format}"))),
            );
        }
    }
    check_to(repo.path(), &[], "json", Path::new(&path("full.json")));
    check_to(
        repo.path(),
        &["--shard", "2/3", "--fail-on", "high"],
        "json",
        Path::new(&path("high2of3.json")),
    );
    std::fs::write(path("other.json"), "{\"hello\": 1}").unwrap();
    std::fs::write(path("text.json"), "not json").unwrap();

    let refused = |format: &str, files: &[&str], expected: &[&str]| {
        let mut args = vec!["merge", "--format", format];
        let paths: Vec<String> = files.iter().map(|f| path(f)).collect();
        args.extend(paths.iter().map(String::as_str));
        let run = run_in(repo.path(), &args);
        run.expect_code(2);
        for e in expected {
            assert!(run.stderr().contains(e), "{files:?}: expected `{e}` in:\n{}", run.stderr());
        }
        assert!(run.stdout().is_empty());
    };
    refused("json", &["s1of3.json", "s3of3.json"], &["shard 2 of 3 missing"]);
    refused(
        "json",
        &["s1of3.json", "s2of3.json", "s2of3.json", "s3of3.json"],
        &["s2of3.json", "both shard 2 of 3"],
    );
    refused("sarif", &["s1of3.sarif", "s1of3.sarif", "s3of3.sarif"], &["both shard 1 of 3"]);
    refused(
        "json",
        &["s1of3.json", "s2of3.sarif", "s3of3.json"],
        &["s2of3.sarif", "is a SARIF log", "--format json"],
    );
    refused("sarif", &["s1of3.sarif", "s2of3.json", "s3of3.sarif"], &["s2of3.json", "is a JSON report"]);
    refused(
        "json",
        &["s1of3.json", "s2of3.json", "s3of3.json", "s1of2.json"],
        &["s1of2.json", "shard 1 of 2"],
    );
    refused("json", &["s1of3.json", "full.json"], &["full.json", "--shard K/N"]);
    refused("json", &["s1of3.json", "high2of3.json", "s3of3.json"], &["high2of3.json", "--fail-on"]);
    refused("json", &["s1of3.json", "other.json"], &["other.json", "not a fleetward report"]);
    refused("json", &["text.json"], &["text.json", "not JSON"]);
    refused("json", &["missing.json"], &["cannot read", "missing.json"]);
}
