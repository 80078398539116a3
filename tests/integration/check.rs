//! `fleetward check` end to end on the demo fleet and on temp repos: exact findings, exit
//! codes and gating, determinism across thread counts, bad input, and every output format.

use crate::util::{TempRepo, fixture, run_in};
use serde_json::Value;

/// (rule, file, line, services, suppressed) of every finding of a JSON report.
fn summary(report: &Value) -> Vec<(String, String, u64, Vec<String>, bool)> {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["services"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect(),
                f["suppressed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn demo_reports_exactly_the_expected_findings() {
    let run = run_in(&fixture("demo"), &["check", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    let got = summary(&report);
    let expected = vec![
        ("advisories/unmaintained".into(), "libs/Cargo.lock".into(), 6, s(&["shared-auth"]), false),
        ("advisories/unsound".into(), "libs/Cargo.lock".into(), 6, s(&["shared-auth"]), true),
        (
            "advisories/unmaintained".into(),
            "services/Cargo.lock".into(),
            6,
            s(&["billing", "gateway"]),
            false,
        ),
        ("advisories/unsound".into(), "services/Cargo.lock".into(), 6, s(&["billing", "gateway"]), true),
        ("advisories/vulnerability".into(), "services/Cargo.lock".into(), 40, s(&["gateway"]), false),
        ("advisories/vulnerability".into(), "services/Cargo.lock".into(), 77, s(&["billing"]), false),
        ("advisories/vulnerability".into(), "services/Cargo.lock".into(), 97, s(&["ledger"]), false),
        (
            "auth/unauthenticated-route".into(),
            "services/gateway/src/gatewayd.rs".into(),
            33,
            s(&["gateway"]),
            false,
        ),
        ("manifest/missing-lockfile".into(), "tools/reporter/Cargo.toml".into(), 1, s(&["reporter"]), false),
    ];
    assert_eq!(got, expected, "{}", serde_json::to_string_pretty(&report["findings"]).unwrap());
    // The withdrawn humantime advisory is never reported.
    assert!(!run.stdout().contains("RUSTSEC-2025-0014"));
    let advisory = &report["findings"][5]["advisory"];
    assert_eq!(advisory["id"], "RUSTSEC-2023-0071");
    assert_eq!(advisory["package"], "rsa");
    assert_eq!(advisory["version"], "0.9.6");
    assert_eq!(advisory["cvss"], 5.9);
    assert_eq!(report["findings"][5]["severity"], "medium");
    assert_eq!(report["findings"][4]["severity"], "high", "h2 advisory has no CVSS: high");
    assert_eq!(report["summary"]["services"], 4);
}

#[test]
fn fail_on_gates_the_exit_code() {
    let demo = fixture("demo");
    // Worst unsuppressed finding of the demo is high (h2, no CVSS).
    run_in(&demo, &["check", "--fail-on", "critical", "-q"]).expect_code(0);
    run_in(&demo, &["check", "--fail-on", "high", "-q"]).expect_code(1);
    run_in(&demo, &["check", "--fail-on", "info", "-q"]).expect_code(1);
}

#[test]
fn fail_on_default_comes_from_the_policy() {
    let repo = TempRepo::from_fixture("demo");
    let policy = std::fs::read_to_string(repo.path().join("fleetward.toml")).unwrap();
    repo.file("fleetward.toml", policy.replace("fail_on = \"medium\"", "fail_on = \"critical\""));
    repo.run(&["check", "-q"]).expect_code(0);
    // The command line wins over the policy.
    repo.run(&["check", "-q", "--fail-on", "medium"]).expect_code(1);
}

#[test]
fn missing_advisory_database_is_exit_2_with_a_way_out() {
    let repo = TempRepo::new();
    repo.package(".", "svc", true, "");
    let run = repo.run(&["check", "--advisory-db", "no-such-db"]);
    run.expect_code(2);
    assert!(run.stderr().contains("no advisory database at no-such-db"), "{}", run.stderr());
    assert!(run.stderr().contains("fleetward db fetch"), "{}", run.stderr());
    // Without the advisories check no database is needed.
    repo.run(&["check", "--skip", "advisories", "--advisory-db", "no-such-db"]).expect_code(1);
}

#[test]
fn output_is_identical_at_any_thread_count() {
    let demo = fixture("demo");
    for format in ["json", "sarif", "human", "github"] {
        let one = run_in(&demo, &["check", "-j", "1", "--format", format]);
        let two = run_in(&demo, &["check", "-j", "2", "--format", format]);
        let again = run_in(&demo, &["check", "-j", "2", "--format", format]);
        assert_eq!(one.0.stdout, two.0.stdout, "{format} differs between -j1 and -j2");
        assert_eq!(two.0.stdout, again.0.stdout, "{format} differs between two runs");
    }
}

#[test]
fn output_file_gets_the_report() {
    let repo = TempRepo::from_fixture("demo");
    let run = repo.run(&["check", "--format", "sarif", "-o", "out.sarif"]);
    run.expect_code(1);
    assert!(run.stdout().is_empty(), "report went to stdout: {}", run.stdout());
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(repo.path().join("out.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn a_malformed_manifest_does_not_hide_other_services() {
    let repo = TempRepo::from_fixture("demo");
    repo.file("services/ledger/Cargo.toml", "[package\nname = \"ledger\"\n");
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    let got = summary(&report);
    assert!(
        got.iter().any(|f| f.0 == "fleetward/parse-error" && f.1 == "services/ledger/Cargo.toml" && f.2 == 1),
        "{got:?}"
    );
    // billing and gateway are still audited.
    assert!(got.iter().any(|f| f.0 == "advisories/vulnerability" && f.3 == s(&["billing"])), "{got:?}");
    assert!(got.iter().any(|f| f.0 == "advisories/vulnerability" && f.3 == s(&["gateway"])), "{got:?}");
    assert_eq!(report["errors"][0]["file"], "services/ledger/Cargo.toml");
}

#[test]
fn a_malformed_lockfile_does_not_hide_other_lockfiles() {
    let repo = TempRepo::from_fixture("demo");
    repo.file("libs/Cargo.lock", "version = 3\n\n[[package]]\nname = \"atty\"\nversion = \n");
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(1);
    let got = summary(&run.json());
    assert!(got.iter().any(|f| f.0 == "fleetward/parse-error" && f.1 == "libs/Cargo.lock"), "{got:?}");
    assert_eq!(got.iter().filter(|f| f.0 == "advisories/vulnerability").count(), 3, "{got:?}");
}

#[test]
fn invalid_utf8_manifest_is_a_finding() {
    let repo = TempRepo::from_fixture("demo");
    repo.file("services/billing/Cargo.toml", b"[package]\nname = \"bil\xffling\"\n".as_slice());
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(1);
    let got = summary(&run.json());
    assert!(
        got.iter().any(|f| f.0 == "fleetward/parse-error" && f.1 == "services/billing/Cargo.toml"),
        "{got:?}"
    );
    assert!(got.iter().any(|f| f.0 == "advisories/vulnerability" && f.3 == s(&["ledger"])), "{got:?}");
}

#[test]
fn clean_fleet_exits_0() {
    let repo = TempRepo::new();
    repo.package(".", "svc", true, "");
    repo.file("Cargo.lock", "version = 3\n\n[[package]]\nname = \"svc\"\nversion = \"0.1.0\"\n");
    let run = repo.run(&["check", "--advisory-db", fixture("demo/advisory-db").to_str().unwrap()]);
    run.expect_code(0);
}

#[test]
fn snapshots_of_every_format() {
    let demo = fixture("demo");
    for format in ["human", "json", "sarif", "github"] {
        let run = run_in(&demo, &["check", "--format", format]);
        run.expect_code(1);
        insta::assert_snapshot!(format!("demo_{format}"), run.stdout());
    }
    insta::assert_snapshot!("demo_quiet", run_in(&demo, &["check", "-q"]).stdout());
}

#[test]
fn help_snapshots() {
    let repo = TempRepo::new();
    insta::assert_snapshot!("help", repo.run(&["--help"]).stdout());
    insta::assert_snapshot!("check_help", repo.run(&["check", "--help"]).stdout());
}
