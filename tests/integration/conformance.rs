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

/// `fleetward fix` on each real lockfile: every expected vulnerability is planned (fixed or
/// unfixable, nothing else), and every planned version is outside every vulnerability advisory
/// of its crate, and is the smallest such version among the advisories' range bounds (the
/// smallest semver-compatible one when there is one).
#[test]
fn fix_plans_on_shared_lockfiles_agree_with_the_advisories() {
    use rustsec::{Version, VersionReq};
    let (Some(lockfiles), Some(db)) = (shared("lockfiles"), shared("advisory-db")) else {
        return; // not on a user's machine
    };
    let compatible = |a: &Version, b: &Version| match (a.major, a.minor) {
        (0, 0) => b.major == 0 && b.minor == 0 && a.patch == b.patch,
        (0, m) => b.major == 0 && b.minor == m,
        (major, _) => b.major == major,
    };
    let bounds = |req: &VersionReq| -> Vec<Version> {
        req.comparators
            .iter()
            .filter(|c| !matches!(c.op, semver::Op::Less | semver::Op::LessEq))
            .map(|c| {
                let v = Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
                if c.op == semver::Op::Greater { Version::new(v.major, v.minor, v.patch + 1) } else { v }
            })
            .collect()
    };
    let mut dirs: Vec<_> = std::fs::read_dir(&lockfiles).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.retain(|d| d.join("expected-findings.json").is_file());
    dirs.sort();
    let mut checked = 0;
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected-findings.json")).unwrap()).unwrap();
        let repo = TempRepo::new();
        repo.file("Cargo.lock", std::fs::read(dir.join("Cargo.lock")).unwrap());
        let run = repo.run(&["fix", "--no-index", "--format", "json", "--advisory-db", db.to_str().unwrap()]);
        let report = run.json();
        let mut planned = BTreeSet::new();
        for ws in report["workspaces"].as_array().unwrap() {
            for f in ws["fixes"].as_array().unwrap() {
                planned.insert((
                    f["package"].as_str().unwrap().to_string(),
                    f["from"].as_str().unwrap().to_string(),
                ));
                let krate = f["package"].as_str().unwrap();
                let from = Version::parse(f["from"].as_str().unwrap()).unwrap();
                let to = Version::parse(f["to"].as_str().unwrap()).unwrap();
                assert!(to > from, "{name}: {krate} {from} -> {to} is not an upgrade");
                let advisories: Vec<rustsec::Advisory> = std::fs::read_dir(db.join("crates").join(krate))
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|x| x == "md"))
                    .map(|p| rustsec::Advisory::load_file(&p).unwrap())
                    .filter(|a| a.metadata.informational.is_none() && a.metadata.withdrawn.is_none())
                    .collect();
                for a in &advisories {
                    assert!(
                        !a.versions.is_vulnerable(&to),
                        "{name}: {krate} {to} is affected by {}",
                        a.metadata.id
                    );
                }
                let safe = |v: &Version| advisories.iter().all(|a| !a.versions.is_vulnerable(v));
                for a in &advisories {
                    for c in a.versions.patched().iter().chain(a.versions.unaffected()).flat_map(bounds) {
                        if c > from && c < to && safe(&c) {
                            assert!(
                                compatible(&from, &to) && !compatible(&from, &c),
                                "{name}: {krate} {from} -> {to}, but {c} is safe and smaller"
                            );
                        }
                    }
                }
                checked += 1;
            }
            for u in ws["unfixable"].as_array().unwrap() {
                planned.insert((
                    u["package"].as_str().unwrap().to_string(),
                    u["version"].as_str().unwrap().to_string(),
                ));
                assert!(!u["reason"].as_str().unwrap().is_empty());
            }
        }
        let vulnerable: BTreeSet<(String, String)> = expected["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["crate"].as_str().unwrap().to_string(), v["version"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(planned, vulnerable, "{name}: the plan does not cover exactly the vulnerable packages");
        assert_eq!(run.code(), if vulnerable.is_empty() { 0 } else { 1 }, "{name}");
    }
    assert!(checked >= 20, "only {checked} fixes checked");
}
