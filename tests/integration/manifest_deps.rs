//! The `manifest` check's dependency rules on `fixtures/manifest/deps`: banned crates (direct,
//! transitive with their path, renamed, workspace-inherited, target-specific, dev- and
//! build-dependencies, version ranges, `direct_only`, allow-lists), version drift across the
//! fleet and duplicate versions in one lockfile.
//!
//! The fixture: `services/` (a workspace: `billing`, `gateway`, one `Cargo.lock`) and `ledger/`
//! (a standalone service with its own `Cargo.lock`).
//! - billing: `reqwest` (-> hyper-tls -> native-tls -> openssl 0.10.64), `serde` (->
//!   serde_derive -> syn 2), `tokio.workspace = true` (1.40.0), dev `mockito`, build `cc`,
//!   `[target.'cfg(unix)'.dependencies] nix`;
//! - gateway: `derive_more` (-> syn 1), `openssl.workspace = true` (0.10.64), `tls = { package =
//!   "native-tls" }`, `tokio.workspace = true` (1.40.0);
//! - ledger: `crypto = { package = "openssl" }` (0.10.45), `tokio` 1.28.2.

use crate::util::TempRepo;
use serde_json::{Value, json};

fn repo(policy: &str) -> TempRepo {
    let repo = TempRepo::from_fixture("manifest/deps");
    repo.file("fleetward.toml", policy);
    repo
}

fn findings(policy: &str) -> Vec<Value> {
    let run = repo(policy).run(&["check", ".", "--only", "manifest", "--format", "json"]);
    assert!(
        matches!(run.code(), 0 | 1),
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        run.code(),
        run.stdout(),
        run.stderr()
    );
    run.json()["findings"].as_array().unwrap().clone()
}

/// (rule, file, line, message, services) of the findings whose rule starts with `prefix`.
fn rows(findings: &[Value], prefix: &str) -> Vec<(String, String, u64, String, Value)> {
    findings
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with(prefix))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
                f["services"].clone(),
            )
        })
        .collect()
}

fn row(
    rule: &str,
    file: &str,
    line: u64,
    message: &str,
    services: Value,
) -> (String, String, u64, String, Value) {
    (rule.to_string(), file.to_string(), line, message.to_string(), services)
}

const BANNED: &str = "manifest/banned-crate";
const DRIFT: &str = "manifest/version-drift";
const DUPLICATES: &str = "manifest/duplicate-versions";

const OPENSSL_PATH: &str =
    "billing -> reqwest 0.11.27 -> hyper-tls 0.5.0 -> native-tls 0.2.12 -> openssl 0.10.64";

#[test]
fn direct_transitive_renamed_and_inherited_bans() {
    let f = findings(
        "[[manifest.ban]]\ncrate = \"openssl\"\nreason = \"one TLS stack: rustls\"\nuse_instead = \"rustls\"\n",
    );
    assert_eq!(
        rows(&f, "manifest/"),
        vec![
            // Renamed (`crypto = { package = "openssl" }`): counted by its real name.
            row(
                BANNED,
                "ledger/Cargo.toml",
                7,
                "ledger depends on banned crate openssl 0.10.45 (as `crypto`): one TLS stack: rustls",
                json!(["ledger"])
            ),
            // Transitive: at the lockfile entry, with the shortest path.
            row(
                BANNED,
                "services/Cargo.lock",
                91,
                &format!(
                    "billing depends on banned crate openssl 0.10.64 through {OPENSSL_PATH}: one TLS stack: rustls"
                ),
                json!(["billing"])
            ),
            // Workspace-inherited (`openssl.workspace = true`): at the member's line.
            row(
                BANNED,
                "services/gateway/Cargo.toml",
                8,
                "gateway depends on banned crate openssl 0.10.64: one TLS stack: rustls",
                json!(["gateway"])
            ),
        ]
    );
    let billing = f.iter().find(|x| x["file"] == "services/Cargo.lock").unwrap();
    assert_eq!(
        billing["related"],
        json!([
            { "file": "services/billing/Cargo.toml", "line": 7, "message": "billing depends on reqwest 0.11.27" },
            { "file": "services/Cargo.lock", "line": 100, "message": "reqwest 0.11.27 depends on hyper-tls 0.5.0" },
            { "file": "services/Cargo.lock", "line": 46, "message": "hyper-tls 0.5.0 depends on native-tls 0.2.12" },
            { "file": "services/Cargo.lock", "line": 72, "message": "native-tls 0.2.12 depends on openssl 0.10.64" },
            { "file": "services/Cargo.lock", "line": 91, "message": "openssl 0.10.64 is banned" },
        ])
    );
    assert_eq!(billing["severity"], "high");
    assert_eq!(
        billing["help"],
        "openssl comes in through reqwest: move to rustls (replace or reconfigure reqwest), or allow billing in the ban's `allow` list with a reason and an expiry date"
    );
    let gateway = f.iter().find(|x| x["file"] == "services/gateway/Cargo.toml").unwrap();
    assert_eq!(
        gateway["help"],
        "use rustls instead of openssl, or allow gateway in the ban's `allow` list with a reason and an expiry date"
    );
    assert!(gateway.get("related").is_none());
    // A manifest finding spans the dependency's key (`openssl` of `openssl.workspace`, the
    // renamed `crypto`); a lockfile one spans the entry's `name = "..."`.
    let span = |file: &str| {
        let x = f.iter().find(|x| x["file"] == file).unwrap();
        (x["line"].as_u64().unwrap(), x["column"].as_u64().unwrap(), x["end_column"].as_u64().unwrap())
    };
    assert_eq!(span("services/gateway/Cargo.toml"), (8, 1, 8));
    assert_eq!(span("ledger/Cargo.toml"), (7, 1, 7));
    assert_eq!(span("services/Cargo.lock"), (91, 1, 17));
}

#[test]
fn transitive_ban_path_in_sarif_related_locations() {
    let run = repo("[[manifest.ban]]\ncrate = \"openssl\"\nreason = \"one TLS stack\"\n")
        .run(&["check", ".", "--only", "manifest", "--format", "sarif"]);
    run.expect_code(1);
    let sarif = run.json();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let r = results
        .iter()
        .find(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "services/Cargo.lock")
        .unwrap();
    assert_eq!(r["ruleId"], BANNED);
    assert_eq!(r["locations"][0]["physicalLocation"]["region"]["startLine"], 91);
    let related: Vec<(String, u64, String)> = r["relatedLocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                l["physicalLocation"]["region"]["startLine"].as_u64().unwrap(),
                l["message"]["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let s = |a: &str, l: u64, m: &str| (a.to_string(), l, m.to_string());
    assert_eq!(
        related,
        vec![
            s("services/billing/Cargo.toml", 7, "billing depends on reqwest 0.11.27"),
            s("services/Cargo.lock", 100, "reqwest 0.11.27 depends on hyper-tls 0.5.0"),
            s("services/Cargo.lock", 46, "hyper-tls 0.5.0 depends on native-tls 0.2.12"),
            s("services/Cargo.lock", 72, "native-tls 0.2.12 depends on openssl 0.10.64"),
            s("services/Cargo.lock", 91, "openssl 0.10.64 is banned"),
        ]
    );
    let ids: Vec<u64> =
        r["relatedLocations"].as_array().unwrap().iter().map(|l| l["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
}

#[test]
fn version_range_ban_matches_one_version_only() {
    let f = findings(
        "[[manifest.ban]]\ncrate = \"openssl\"\nversions = \"<0.10.60\"\nreason = \"RUSTSEC-2023-0072 and friends\"\n",
    );
    // ledger's 0.10.45 is in the range; billing's and gateway's 0.10.64 are not.
    assert_eq!(
        rows(&f, "manifest/"),
        vec![row(
            BANNED,
            "ledger/Cargo.toml",
            7,
            "ledger depends on banned crate openssl 0.10.45 (as `crypto`): RUSTSEC-2023-0072 and friends",
            json!(["ledger"])
        )]
    );
    // The range excludes 0.10.45 the other way round.
    let f = findings("[[manifest.ban]]\ncrate = \"openssl\"\nversions = \">=0.10.60\"\nreason = \"r\"\n");
    let files: Vec<String> = rows(&f, BANNED).into_iter().map(|r| r.1).collect();
    assert_eq!(files, ["services/Cargo.lock", "services/gateway/Cargo.toml"]);
}

#[test]
fn direct_only_ban_ignores_transitive_uses() {
    let policy = |direct_only: bool| {
        format!(
            "[[manifest.ban]]\ncrate = \"native-tls\"\ndirect_only = {direct_only}\nreason = \"no platform TLS\"\n"
        )
    };
    let renamed = row(
        BANNED,
        "services/gateway/Cargo.toml",
        9,
        "gateway depends on banned crate native-tls 0.2.12 (as `tls`): no platform TLS",
        json!(["gateway"]),
    );
    assert_eq!(rows(&findings(&policy(true)), "manifest/"), vec![renamed.clone()]);
    assert_eq!(
        rows(&findings(&policy(false)), "manifest/"),
        vec![
            row(
                BANNED,
                "services/Cargo.lock",
                72,
                "billing depends on banned crate native-tls 0.2.12 through billing -> reqwest 0.11.27 -> hyper-tls 0.5.0 -> native-tls 0.2.12: no platform TLS",
                json!(["billing"])
            ),
            renamed,
        ]
    );
}

#[test]
fn dev_and_build_dependencies_count_as_the_policy_says() {
    let mockito = "[[manifest.ban]]\ncrate = \"mockito\"\nreason = \"use wiremock\"\n";
    assert_eq!(rows(&findings(mockito), "manifest/"), vec![], "dev-dependencies do not count by default");
    assert_eq!(
        rows(&findings(&format!("[manifest]\ndev_dependencies = true\n\n{mockito}")), "manifest/"),
        vec![row(
            BANNED,
            "services/billing/Cargo.toml",
            12,
            "billing depends on banned crate mockito 1.2.0: use wiremock",
            json!(["billing"])
        )]
    );
    let cc = "[[manifest.ban]]\ncrate = \"cc\"\nreason = \"no C in the build\"\n";
    assert_eq!(
        rows(&findings(cc), "manifest/"),
        vec![row(
            BANNED,
            "services/billing/Cargo.toml",
            15,
            "billing depends on banned crate cc 1.0.83: no C in the build",
            json!(["billing"])
        )],
        "build-dependencies count by default"
    );
    assert_eq!(
        rows(&findings(&format!("[manifest]\nbuild_dependencies = false\n\n{cc}")), "manifest/"),
        vec![]
    );
}

#[test]
fn target_specific_dependency_counts() {
    let f = findings(
        "[[manifest.ban]]\ncrate = \"nix\"\nreason = \"no raw syscalls\"\nuse_instead = \"rustix\"\n",
    );
    assert_eq!(
        rows(&f, "manifest/"),
        vec![row(
            BANNED,
            "services/billing/Cargo.toml",
            18,
            "billing depends on banned crate nix 0.26.4: no raw syscalls",
            json!(["billing"])
        )]
    );
}

#[test]
fn skipped_service_is_not_checked() {
    let f = findings(
        "[[manifest.ban]]\ncrate = \"openssl\"\nreason = \"r\"\n\n[[manifest.service]]\nservices = [\"billing\", \"ledger\"]\nskip = true\n",
    );
    let files: Vec<String> = rows(&f, "manifest/").into_iter().map(|r| r.1).collect();
    assert_eq!(files, ["services/gateway/Cargo.toml"]);
}

const ALLOWS: &str = r#"[[manifest.ban]]
crate = "openssl"
reason = "one TLS stack: rustls"
allow = [
  { services = ["ledger"], reason = "migrating by Q1" },
  { services = ["services/gate*"], reason = "was migrating", expires = 2026-01-31 },
  { services = ["payments"], reason = "never used" },
]
"#;

#[test]
fn allow_list_suppresses_expires_and_reports_unused() {
    let f = findings(ALLOWS);
    let ledger = f.iter().find(|x| x["file"] == "ledger/Cargo.toml").unwrap();
    assert_eq!(ledger["rule"], BANNED);
    assert_eq!(ledger["suppressed"], true);
    assert_eq!(ledger["suppression"], json!({ "kind": "policy", "justification": "migrating by Q1" }));
    // The expired entry no longer suppresses gateway, and is a finding at its line.
    let gateway = f.iter().find(|x| x["file"] == "services/gateway/Cargo.toml").unwrap();
    assert_eq!(gateway["suppressed"], false);
    assert_eq!(f.iter().find(|x| x["file"] == "services/Cargo.lock").unwrap()["suppressed"], false);
    assert_eq!(
        rows(&f, "fleetward/"),
        vec![
            row(
                "fleetward/expired-exception",
                "fleetward.toml",
                6,
                "the allow of banned crate openssl for services/gate* expired on 2026-01-31: it no longer applies",
                json!([])
            ),
            row(
                "fleetward/unused-exception",
                "fleetward.toml",
                7,
                "the allow of banned crate openssl for payments matched no finding",
                json!([])
            ),
        ]
    );
    let summary =
        &repo(ALLOWS).run(&["check", ".", "--only", "manifest", "--format", "json"]).json()["summary"];
    assert_eq!(summary["suppressed"], 1, "{summary}");
}

#[test]
fn drift_against_the_most_common_version() {
    let f = findings("[manifest.drift]\ncrates = [\"tokio\"]\nlevel = \"minor\"\n");
    assert_eq!(
        rows(&f, "manifest/"),
        vec![row(
            DRIFT,
            "ledger/Cargo.toml",
            8,
            "ledger uses tokio 1.28.2, the fleet uses tokio 1.40.x (2 of 3 packages)",
            json!(["ledger"])
        )]
    );
    assert_eq!(f[0]["severity"], "medium");
    assert_eq!(f[0]["help"], "move ledger to tokio 1.40.0 (the newest 1.40.x in the fleet)");
    // At the major level 1.28 and 1.40 are one version; every crate ("all") agrees too
    // (openssl 0.10.45 and 0.10.64 are both 0.10).
    assert_eq!(rows(&findings("[manifest.drift]\ncrates = \"all\"\n"), "manifest/"), vec![]);
    assert_eq!(
        rows(&findings("[manifest.drift]\ncrates = \"all\"\nlevel = \"minor\"\n"), "manifest/").len(),
        1
    );
    // No `[manifest.drift] crates`: no drift check.
    assert_eq!(rows(&findings("[manifest.drift]\nlevel = \"minor\"\n"), "manifest/"), vec![]);
}

#[test]
fn drift_against_the_chosen_version() {
    let f = findings(
        "[manifest.drift]\ncrates = [\"tokio\", \"axum\"]\nlevel = \"minor\"\nversions = { tokio = \"1.28\", axum = \"0.7\" }\n",
    );
    // The chosen version wins over the most common one; a chosen crate nobody uses is fine.
    assert_eq!(
        rows(&f, "manifest/"),
        vec![
            row(
                DRIFT,
                "services/billing/Cargo.toml",
                9,
                "billing uses tokio 1.40.0, the fleet's chosen version is tokio 1.28.x (1 of 3 packages use it)",
                json!(["billing"])
            ),
            row(
                DRIFT,
                "services/gateway/Cargo.toml",
                10,
                "gateway uses tokio 1.40.0, the fleet's chosen version is tokio 1.28.x (1 of 3 packages use it)",
                json!(["gateway"])
            ),
        ]
    );
    assert_eq!(
        f[0]["help"],
        "move billing to tokio 1.28.2 (the version `[manifest.drift] versions` chooses is 1.28.x)"
    );
    // A crate with a chosen version is checked even when `crates` does not name it.
    let f = findings("[manifest.drift]\nlevel = \"minor\"\nversions = { tokio = \"1.28\" }\n");
    assert_eq!(rows(&f, DRIFT).len(), 2);
    // A chosen version of another major, at the major level.
    let f = findings("[manifest.drift]\ncrates = [\"tokio\"]\nversions = { tokio = \"2\" }\n");
    assert_eq!(rows(&f, DRIFT).len(), 3);
    assert_eq!(
        f.iter().find(|x| x["file"] == "ledger/Cargo.toml").unwrap()["message"],
        "ledger uses tokio 1.28.2, the fleet's chosen version is tokio 2.x (0 of 3 packages use it)"
    );
}

#[test]
fn duplicate_versions_over_the_limit() {
    let syn = row(
        DUPLICATES,
        "services/Cargo.lock",
        130,
        "2 versions of syn in services/Cargo.lock, more than the 1 allowed: 1.0.109 (from derive_more 0.99.17), 2.0.48 (from serde_derive 1.0.200)",
        json!(["billing", "gateway"]),
    );
    let windows = row(
        DUPLICATES,
        "services/Cargo.lock",
        152,
        "2 versions of windows-sys in services/Cargo.lock, more than the 1 allowed: 0.48.0 (from reqwest 0.11.27), 0.52.0 (from tokio 1.40.0)",
        json!(["billing", "gateway"]),
    );
    let f = findings("[manifest.drift]\nmax_versions = 1\n");
    assert_eq!(rows(&f, "manifest/"), vec![syn.clone(), windows]);
    assert_eq!(f[0]["severity"], "low");
    // An allowed duplicate is not reported.
    let f = findings("[manifest.drift]\nmax_versions = 1\nduplicates_allowed = [\"windows-sys\"]\n");
    assert_eq!(rows(&f, "manifest/"), vec![syn]);
    // Under the limit.
    assert_eq!(rows(&findings("[manifest.drift]\nmax_versions = 2\n"), "manifest/"), vec![]);
}

#[test]
fn duplicates_count_what_counted_dependencies_reach() {
    // syn 1 comes in only through gateway's derive_more: skipping gateway leaves one version.
    let f = findings(
        "[manifest.drift]\nmax_versions = 1\nduplicates_allowed = [\"windows-sys\"]\n\n[[manifest.service]]\nservices = [\"gateway\"]\nskip = true\n",
    );
    assert_eq!(rows(&f, "manifest/"), vec![]);
}

#[test]
fn unreadable_lockfile_is_reported_once_and_the_requirement_counts() {
    let repo = TempRepo::new();
    repo.package(".", "api", true, "\n[dependencies]\nopenssl = \"0.10\"\n");
    repo.file("Cargo.lock", "this is [[not a lockfile\n");
    repo.file(
        "fleetward.toml",
        "[[manifest.ban]]\ncrate = \"openssl\"\nreason = \"r\"\n\n[manifest.drift]\ncrates = \"all\"\nmax_versions = 1\n",
    );
    let run = repo.run(&["check", ".", "--only", "manifest", "--format", "json"]);
    run.expect_code(1);
    let f = run.json()["findings"].as_array().unwrap().clone();
    assert_eq!(
        rows(&f, "manifest/"),
        vec![row(BANNED, "Cargo.toml", 7, "api depends on banned crate openssl \"0.10\": r", json!(["api"]))]
    );
    let parse_error = rows(&f, "fleetward/parse-error");
    assert_eq!(parse_error.len(), 1, "{parse_error:?}");
    assert_eq!((parse_error[0].1.as_str(), parse_error[0].2), ("Cargo.lock", 1));
    // With the audit too, the lockfile is still reported once.
    let db = crate::util::fixture("demo/advisory-db");
    let run = repo.run(&[
        "check",
        ".",
        "--only",
        "manifest,advisories",
        "--advisory-db",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let f = run.json()["findings"].as_array().unwrap().clone();
    assert_eq!(rows(&f, "fleetward/parse-error"), parse_error);
    assert_eq!(rows(&f, "manifest/").len(), 1);
}

#[test]
fn shards_merge_to_the_full_run() {
    let repo = repo(&format!(
        "{ALLOWS}\n[[manifest.ban]]\ncrate = \"nix\"\nreason = \"r\"\n\n[manifest.drift]\ncrates = \"all\"\nlevel = \"minor\"\nmax_versions = 1\n"
    ));
    let out = tempfile::tempdir().unwrap();
    let check = |extra: &[&str], file: &std::path::Path| {
        let mut args =
            vec!["check", ".", "--only", "manifest", "--format", "json", "-o", file.to_str().unwrap()];
        args.extend(extra);
        let run = repo.run(&args);
        assert!(run.code() < 2, "{}", run.stderr());
    };
    let full = out.path().join("full.json");
    check(&[], &full);
    let full = std::fs::read(&full).unwrap();
    let rules: Vec<String> = serde_json::from_slice::<Value>(&full).unwrap()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect();
    for rule in [BANNED, DRIFT, DUPLICATES, "fleetward/expired-exception", "fleetward/unused-exception"] {
        assert!(rules.iter().any(|r| r == rule), "{rule} in {rules:?}");
    }
    for n in [2, 3] {
        let files: Vec<String> = (1..=n)
            .map(|k| {
                let file = out.path().join(format!("shard-{k}-of-{n}.json"));
                check(&["--shard", &format!("{k}/{n}")], &file);
                file.display().to_string()
            })
            .collect();
        let mut args = vec!["merge", "--format", "json"];
        args.extend(files.iter().map(String::as_str));
        let merged = repo.run(&args);
        merged.expect_code(0);
        assert!(
            merged.0.stdout == full,
            "N = {n}: the merge differs from the full run:\n{}",
            merged.stdout()
        );
    }
}

#[test]
fn drift_without_lockfiles_compares_requirements() {
    // A fleet of workspaces with no lockfile (libraries, examples): the requirements drift.
    let repo = TempRepo::new();
    repo.file("fleetward.toml", "[manifest.drift]\ncrates = [\"tokio\"]\nlevel = \"minor\"\n");
    // `d` and `e` require "1" and "1.0": on no particular minor version, so not drifting at
    // the minor level.
    for (dir, req) in [("a", "1.40"), ("b", "1.40.1"), ("c", "1.28"), ("d", "1"), ("e", "1.0")] {
        repo.package(dir, dir, true, &format!("[dependencies]\ntokio = \"{req}\"\n"));
    }
    let run = repo.run(&["check", ".", "--only", "manifest", "--format", "json"]);
    let f = run.json()["findings"].as_array().unwrap().clone();
    let drift: Vec<_> = rows(&f, DRIFT);
    assert_eq!(
        drift,
        vec![row(
            DRIFT,
            "c/Cargo.toml",
            6,
            "c requires tokio 1.28, the fleet uses tokio 1.40.x (2 of 3 packages)",
            json!(["c"])
        )]
    );
}

#[test]
fn required_crates_missing_or_at_a_version_outside_the_range() {
    const REQUIRED: &str = "manifest/missing-required-crate";
    // tokio is required at 1.40 or later: ledger is locked at 1.28.2; serde only of billing,
    // which has it; `audit` of every service: nobody has it.
    let f = findings(
        "[[manifest.required]]\ncrate = \"tokio\"\nversions = \">=1.40\"\nreason = \"one runtime\"\n\n[[manifest.required]]\ncrate = \"serde\"\nservices = [\"billing\"]\nreason = \"one wire format\"\n\n[[manifest.required]]\ncrate = \"audit\"\nservices = [\"services/*\"]\nreason = \"every service writes the audit log\"\n",
    );
    assert_eq!(
        rows(&f, REQUIRED),
        vec![
            row(
                REQUIRED,
                "ledger/Cargo.toml",
                8,
                "ledger uses tokio 1.28.2, the policy requires >=1.40: one runtime",
                json!(["ledger"])
            ),
            row(
                REQUIRED,
                "services/billing/Cargo.toml",
                1,
                "billing does not depend on audit, which the policy requires: every service writes the audit log",
                json!(["billing"])
            ),
            row(
                REQUIRED,
                "services/gateway/Cargo.toml",
                1,
                "gateway does not depend on audit, which the policy requires: every service writes the audit log",
                json!(["gateway"])
            ),
        ]
    );
    // A policy typo points at its line.
    let run = repo("[[manifest.required]]\ncrate = \"tokio\"\nversions = \"1.x.y\"\nreason = \"r\"\n")
        .run(&["check", ".", "--only", "manifest"]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr().contains("not a version range") && run.stderr().contains("fleetward.toml:3"),
        "{}",
        run.stderr()
    );
}
