//! Conformance with cargo-audit on real lockfiles (`../shared/lockfiles`, present in CI and on
//! the developers' machines, not on a user's): exactly the expected vulnerabilities and
//! warnings (id, crate, version, line), and nothing that must not be reported.

use crate::util::{TempRepo, shared};
use std::collections::BTreeSet;

type Key = (String, String, String, u64);

fn keys(v: &serde_json::Value) -> BTreeSet<Key> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["crate"].as_str().unwrap().to_string(),
                e["version"].as_str().unwrap().to_string(),
                e["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn shared_lockfiles_match_expected_findings() {
    let (Some(lockfiles), Some(db)) = (shared("lockfiles"), shared("advisory-db")) else {
        return; // not on a user's machine
    };
    let mut dirs: Vec<_> = std::fs::read_dir(&lockfiles).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.retain(|d| d.join("expected-findings.json").is_file());
    dirs.sort();
    assert!(dirs.len() >= 5, "expected the five shared lockfiles");
    for dir in dirs {
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected-findings.json")).unwrap()).unwrap();
        let repo = TempRepo::new();
        repo.file("Cargo.lock", std::fs::read(dir.join("Cargo.lock")).unwrap());
        let run = repo.run(&[
            "audit",
            "--advisory-db",
            db.to_str().unwrap(),
            "--format",
            "json",
            "--fail-on",
            "critical",
        ]);
        let report = run.json();
        let mut vulns = BTreeSet::new();
        let mut warnings = BTreeSet::new();
        for f in report["findings"].as_array().unwrap() {
            let Some(a) = f.get("advisory") else { continue };
            let key = (
                a["id"].as_str().unwrap().to_string(),
                a["package"].as_str().unwrap().to_string(),
                a["version"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            );
            if f["rule"] == "advisories/vulnerability" {
                vulns.insert(key);
            } else {
                assert_eq!(f["rule"], format!("advisories/{}", a["kind"].as_str().unwrap()));
                warnings.insert(key);
            }
        }
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(vulns, keys(&expected["vulnerabilities"]), "{name}: vulnerabilities differ");
        assert_eq!(warnings, keys(&expected["warnings"]), "{name}: warnings differ");
        let must_not = &expected["must_not_report"];
        for group in ["withdrawn", "non_registry_source"] {
            for e in must_not[group].as_array().unwrap() {
                let id = e["id"].as_str().unwrap();
                let krate = e["crate"].as_str().unwrap();
                assert!(
                    !vulns.iter().chain(&warnings).any(|k| k.0 == id && k.1 == krate),
                    "{name}: reported {id} for {krate}, which must not be reported ({group})"
                );
            }
        }
    }
}

#[test]
fn fingerprints_are_unique_on_real_lockfiles() {
    let (Some(lockfiles), Some(db)) = (shared("lockfiles"), shared("advisory-db")) else {
        return;
    };
    for entry in std::fs::read_dir(&lockfiles).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("Cargo.lock").is_file() {
            continue;
        }
        let repo = TempRepo::new();
        repo.file("Cargo.lock", std::fs::read(dir.join("Cargo.lock")).unwrap());
        let run = repo.run(&["audit", "--advisory-db", db.to_str().unwrap(), "--format", "json"]);
        let report = run.json();
        let prints: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap())
            .collect();
        let unique: BTreeSet<&str> = prints.iter().copied().collect();
        assert_eq!(unique.len(), prints.len(), "{}: two findings share a fingerprint", dir.display());
    }
}
