//! `check --baseline FILE` end to end: a baseline recorded with `fleetward baseline`, then the
//! fleet changed (lines moved, findings added, removed and repeated) and checked against it in
//! every format.

use crate::util::{TempRepo, shared};
use serde_json::Value;

/// A fake AWS key id the secrets check reports (generated for the tests, not real).
const KEY: &str = "AKIA2E0A8F3B2W4C9X86";

fn record(repo: &TempRepo) -> Value {
    repo.run(&["baseline", "-o", "baseline.json", "--no-cache"]).expect_code(0);
    serde_json::from_str(&std::fs::read_to_string(repo.path().join("baseline.json")).unwrap()).unwrap()
}

fn check_json(repo: &TempRepo, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["check", "--format", "json", "--baseline", "baseline.json"];
    args.extend(extra);
    let run = repo.run(&args);
    (run.code(), run.json())
}

/// (rule, file, line, state) of every finding.
fn states(doc: &Value) -> Vec<(String, String, u64, Option<String>)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["baseline_state"].as_str().map(String::from),
            )
        })
        .collect()
}

fn count(doc: &Value, state: &str) -> usize {
    states(doc).iter().filter(|s| s.3.as_deref() == Some(state)).count()
}

/// `validate.py --strict` on a SARIF file, when the shared material is present.
pub fn validate_sarif(file: &std::path::Path) {
    let Some(validator) = shared("sarif/validate.py") else { return };
    let out =
        std::process::Command::new("python3").arg(validator).arg("--strict").arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "validate.py --strict failed on {}:\n{}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn moved_findings_stay_matched_and_only_new_ones_fail() {
    let repo = TempRepo::from_fixture("demo");
    let recorded = record(&repo);
    let entries = recorded["findings"].as_array().unwrap().len();
    assert_eq!(entries, 7, "the demo's unsuppressed findings: {recorded}");

    // Nothing changed: every finding unchanged, nothing fails although the demo has findings
    // at and above medium.
    let (code, doc) = check_json(&repo, &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(count(&doc, "unchanged"), 7);
    assert_eq!(doc["baseline"]["new"], 0);
    assert_eq!(doc["summary"]["failing"], 0);
    repo.run(&["check", "-q"]).expect_code(1);

    // Lines inserted above the route finding, and one new finding in billing.
    let gatewayd = repo.path().join("services/gateway/src/gatewayd.rs");
    let old = std::fs::read_to_string(&gatewayd).unwrap();
    std::fs::write(&gatewayd, format!("// one\n// two\n// three\n{old}")).unwrap();
    repo.file(
        "services/billing/src/tls.rs",
        "pub fn client() {\n    let _ = reqwest::Client::builder().danger_accept_invalid_certs(true);\n}\n",
    );
    let (code, doc) = check_json(&repo, &[]);
    assert_eq!(code, 1, "a new high finding fails the run");
    let got = states(&doc);
    let route = got.iter().find(|s| s.0 == "auth/unauthenticated-route").unwrap();
    assert_eq!((route.2, route.3.as_deref()), (36, Some("unchanged")), "moved 3 lines, still matched");
    let new: Vec<_> = got.iter().filter(|s| s.3.as_deref() == Some("new")).collect();
    assert_eq!(new.len(), 1, "{got:?}");
    assert_eq!(
        (new[0].0.as_str(), new[0].1.as_str()),
        ("banned/tls-verification-disabled", "services/billing/src/tls.rs")
    );
    assert_eq!(count(&doc, "unchanged"), 7);
    assert_eq!(doc["baseline"]["file"], "baseline.json");
    assert_eq!((doc["baseline"]["new"].as_u64(), doc["baseline"]["unchanged"].as_u64()), (Some(1), Some(7)));
    assert_eq!(doc["baseline"]["absent"], serde_json::json!([]));
    assert_eq!(doc["summary"]["failing"], 1);
    // Suppressed findings keep their suppression and get no state.
    for f in doc["findings"].as_array().unwrap().iter().filter(|f| f["suppressed"] == true) {
        assert!(f.get("baseline_state").is_none(), "{f}");
    }
    // Only the new finding counts against --fail-on.
    repo.run(&["check", "-q", "--baseline", "baseline.json", "--fail-on", "critical"]).expect_code(0);
    repo.run(&["check", "-q", "--baseline", "baseline.json", "--fail-on", "high"]).expect_code(1);
    repo.run(&["audit", "-q", "--baseline", "baseline.json"]).expect_code(0);

    // Human: the new finding shown and marked, the others counted.
    let human = repo.run(&["check", "--baseline", "baseline.json"]);
    human.expect_code(1);
    let text = human.stdout();
    assert_eq!(text.matches("[high, new]").count(), 1, "{text}");
    assert!(!text.contains("unauthenticated"), "unchanged findings are not shown:\n{text}");
    assert!(
        text.contains(
            "  7 findings already in the baseline, not shown; 0 from the baseline no longer found\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("1 new finding at or above medium\n"), "{text}");

    // GitHub annotations: the new one only.
    let github = repo.run(&["check", "--format", "github", "--baseline", "baseline.json"]);
    let lines: Vec<String> = github.stdout().lines().map(String::from).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("services/billing/src/tls.rs"), "{lines:?}");

    // SARIF: every unsuppressed result has its state; valid.
    let sarif = repo.run(&["check", "--format", "sarif", "--baseline", "baseline.json", "-o", "out.sarif"]);
    sarif.expect_code(1);
    let log: Value = serde_json::from_slice(&std::fs::read(repo.path().join("out.sarif")).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let state = |s: &str| results.iter().filter(|r| r["baselineState"] == s).count();
    assert_eq!((state("new"), state("unchanged"), state("absent")), (1, 7, 0));
    assert!(
        results.iter().filter(|r| r.get("suppressions").is_some()).all(|r| r.get("baselineState").is_none())
    );
    validate_sarif(&repo.path().join("out.sarif"));
}

#[test]
fn removed_findings_are_absent_in_json_and_sarif() {
    let repo = TempRepo::from_fixture("demo");
    record(&repo);
    // reporter gets its lockfile: manifest/missing-lockfile is gone.
    repo.file(
        "tools/reporter/Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"reporter\"\nversion = \"0.1.0\"\n",
    );
    // And an entry for an advisory that is no longer found (a rule with no finding in the
    // SARIF run: advisory results use their RUSTSEC ids).
    let path = repo.path().join("baseline.json");
    let mut b: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    b["findings"].as_array_mut().unwrap().push(serde_json::json!({
        "rule": "advisories/vulnerability", "file": "services/Cargo.lock",
        "fingerprint": "00000000000000000000000000000000", "count": 2
    }));
    std::fs::write(&path, serde_json::to_string_pretty(&b).unwrap()).unwrap();

    let (code, doc) = check_json(&repo, &[]);
    assert_eq!(code, 0, "{doc}");
    let absent = doc["baseline"]["absent"].as_array().unwrap();
    let missing: Vec<(&str, &str, u64)> = absent
        .iter()
        .map(|e| (e["rule"].as_str().unwrap(), e["file"].as_str().unwrap(), e["count"].as_u64().unwrap_or(1)))
        .collect();
    assert_eq!(
        missing,
        [
            ("advisories/vulnerability", "services/Cargo.lock", 2),
            ("manifest/missing-lockfile", "tools/reporter/Cargo.toml", 1)
        ]
    );
    assert!(absent.iter().all(|e| e["fingerprint"].as_str().is_some_and(|f| f.len() == 32)));
    assert_eq!((doc["baseline"]["new"].as_u64(), doc["baseline"]["unchanged"].as_u64()), (Some(0), Some(6)));

    let human = repo.run(&["check", "--baseline", "baseline.json"]);
    assert!(
        human.stdout().contains(
            "  6 findings already in the baseline, not shown; 3 from the baseline no longer found\n"
        ),
        "{}",
        human.stdout()
    );

    repo.run(&["check", "--format", "sarif", "--baseline", "baseline.json", "-o", "out.sarif"])
        .expect_code(0);
    let log: Value = serde_json::from_slice(&std::fs::read(repo.path().join("out.sarif")).unwrap()).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let gone: Vec<&Value> =
        run["results"].as_array().unwrap().iter().filter(|r| r["baselineState"] == "absent").collect();
    assert_eq!(gone.len(), 3, "one result per missing occurrence");
    for r in &gone {
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
        assert_eq!(r["locations"][0]["physicalLocation"]["region"]["startLine"], 1);
        assert!(r["message"]["text"].as_str().unwrap().contains("no longer found"));
    }
    assert_eq!(gone[2]["ruleId"], "manifest/missing-lockfile");
    assert_eq!(
        gone[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "tools/reporter/Cargo.toml"
    );
    assert!(rules.iter().any(|r| r["id"] == "advisories/vulnerability"), "described from the registry");
    validate_sarif(&repo.path().join("out.sarif"));
}

#[test]
fn identical_findings_match_with_multiplicity() {
    let repo = TempRepo::new();
    repo.package(".", "svc", true, "");
    repo.file("Cargo.lock", "version = 3\n\n[[package]]\nname = \"svc\"\nversion = \"0.1.0\"\n");
    // The same secret twice in one file: two findings with one fingerprint.
    repo.file("src/keys.rs", format!("const A: &str = \"{KEY}\";\nconst B: &str = \"{KEY}\";\n"));
    let args = ["--only", "secrets"];
    repo.run(&["baseline", "-o", "baseline.json", "--only", "secrets"]).expect_code(0);
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.path().join("baseline.json")).unwrap()).unwrap();
    let entries = b["findings"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{b}");
    assert_eq!(entries[0]["count"], 2);

    let (code, doc) = check_json(&repo, &args);
    assert_eq!((code, count(&doc, "unchanged"), count(&doc, "new")), (0, 2, 0));

    // A third copy: 2 unchanged (the first two in report order), 1 new.
    repo.file(
        "src/keys.rs",
        format!("const A: &str = \"{KEY}\";\nconst B: &str = \"{KEY}\";\nconst C: &str = \"{KEY}\";\n"),
    );
    let (code, doc) = check_json(&repo, &args);
    assert_eq!(code, 1);
    let lines: Vec<(u64, Option<String>)> = states(&doc).into_iter().map(|s| (s.2, s.3)).collect();
    assert_eq!(
        lines,
        [(1, Some("unchanged".into())), (2, Some("unchanged".into())), (3, Some("new".into()))]
    );
    assert_eq!(doc["baseline"]["absent"], serde_json::json!([]));

    // One copy left: 1 unchanged, one occurrence absent.
    repo.file("src/keys.rs", format!("const A: &str = \"{KEY}\";\n"));
    let (code, doc) = check_json(&repo, &args);
    assert_eq!((code, count(&doc, "unchanged"), count(&doc, "new")), (0, 1, 0));
    let absent = doc["baseline"]["absent"].as_array().unwrap();
    assert_eq!(absent.len(), 1);
    assert!(absent[0].get("count").is_none(), "a count of 1 is not written: {absent:?}");

    // A baseline written before counts existed (one entry per fingerprint) reads as 1.
    let mut old = b.clone();
    old["findings"][0].as_object_mut().unwrap().remove("count");
    std::fs::write(repo.path().join("baseline.json"), serde_json::to_string_pretty(&old).unwrap()).unwrap();
    repo.file("src/keys.rs", format!("const A: &str = \"{KEY}\";\nconst B: &str = \"{KEY}\";\n"));
    let (code, doc) = check_json(&repo, &args);
    assert_eq!((code, count(&doc, "unchanged"), count(&doc, "new")), (1, 1, 1));
}

#[test]
fn a_bad_baseline_is_exit_2() {
    let repo = TempRepo::new();
    repo.package(".", "svc", true, "");
    let run = repo.run(&["check", "--skip", "advisories", "--baseline", "missing.json"]);
    run.expect_code(2);
    assert!(run.stderr().contains("cannot read the baseline missing.json"), "{}", run.stderr());
    repo.file("bad.json", "{ not json");
    let run = repo.run(&["check", "--skip", "advisories", "--baseline", "bad.json"]);
    run.expect_code(2);
    assert!(run.stderr().contains("bad.json is not a fleetward baseline"), "{}", run.stderr());
}
