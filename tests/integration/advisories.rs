//! The advisories check's policy behaviour (ignores with scope and expiry, unused ignores,
//! database age, informational kinds) and `fleetward db fetch|info` against a real local git
//! repository.

use crate::util::{TempRepo, copy_dir, fixture};
use serde_json::Value;
use std::process::Command;

fn demo_with_policy(policy: &str) -> TempRepo {
    let repo = TempRepo::from_fixture("demo");
    repo.file("fleetward.toml", format!("[advisories]\ndb = \"advisory-db\"\nmax_db_age = 0\n{policy}"));
    repo
}

fn findings(run: &crate::util::Run) -> Vec<Value> {
    run.json()["findings"].as_array().unwrap().clone()
}

fn by_id<'a>(findings: &'a [Value], id: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["advisory"]["id"] == id).collect()
}

#[test]
fn unscoped_ignore_suppresses_everywhere() {
    let repo = demo_with_policy(
        "[[advisories.ignore]]\nid = \"RUSTSEC-2024-0375\"\nreason = \"tracked in SEC-12\"\n",
    );
    let f = findings(&repo.run(&["check", "--format", "json"]));
    let atty = by_id(&f, "RUSTSEC-2024-0375");
    assert_eq!(atty.len(), 2);
    for a in atty {
        assert_eq!(a["suppressed"], true);
        assert_eq!(a["suppression"]["kind"], "policy");
        assert_eq!(a["suppression"]["justification"], "tracked in SEC-12");
    }
}

#[test]
fn scoped_ignore_removes_only_the_named_services() {
    let repo = demo_with_policy(
        "[[advisories.ignore]]\nid = \"RUSTSEC-2024-0375\"\nreason = \"gateway only reads a TTY flag\"\nservices = [\"gateway\"]\n",
    );
    let f = findings(&repo.run(&["check", "--format", "json"]));
    let atty = by_id(&f, "RUSTSEC-2024-0375");
    let services: Vec<&Value> = atty.iter().map(|a| &a["services"]).collect();
    // services/Cargo.lock: billing remains; libs/Cargo.lock: untouched.
    assert!(services.contains(&&serde_json::json!(["billing"])), "{services:?}");
    assert!(services.contains(&&serde_json::json!(["shared-auth"])), "{services:?}");
    assert!(atty.iter().all(|a| a["suppressed"] == false));
    // A path glob scope works too, and an alias id (GHSA) matches.
    let repo = demo_with_policy(
        "[[advisories.ignore]]\nid = \"GHSA-c38w-74pg-36hr\"\nreason = \"no RSA decryption reachable\"\nservices = [\"services/*\"]\n",
    );
    let f = findings(&repo.run(&["check", "--format", "json"]));
    assert_eq!(by_id(&f, "RUSTSEC-2023-0071")[0]["suppressed"], true);
}

#[test]
fn expired_ignore_no_longer_applies_and_is_a_finding() {
    let repo = demo_with_policy(
        "\n[[advisories.ignore]]\nid = \"RUSTSEC-2023-0071\"\nreason = \"accepted until the migration\"\nexpires = 2026-01-31\n",
    );
    let run = repo.run(&["check", "--format", "json"]);
    run.expect_code(1);
    let f = findings(&run);
    assert_eq!(by_id(&f, "RUSTSEC-2023-0071")[0]["suppressed"], false);
    let expired: Vec<&Value> = f.iter().filter(|x| x["rule"] == "fleetward/expired-exception").collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["file"], "fleetward.toml");
    assert_eq!(expired[0]["line"], 6, "the line of the entry's id");
    assert_eq!(
        expired[0]["message"],
        "the ignore of RUSTSEC-2023-0071 expired on 2026-01-31: it no longer applies"
    );
}

#[test]
fn unused_ignore_is_an_info_finding() {
    let repo = demo_with_policy("[[advisories.ignore]]\nid = \"RUSTSEC-2099-0001\"\nreason = \"old\"\n");
    let f = findings(&repo.run(&["check", "--format", "json"]));
    let unused: Vec<&Value> = f.iter().filter(|x| x["rule"] == "fleetward/unused-exception").collect();
    assert_eq!(unused.len(), 1);
    assert_eq!(unused[0]["severity"], "info");
    assert_eq!(unused[0]["line"], 5);
}

#[test]
fn stale_database_is_reported_from_its_newest_advisory() {
    let repo = TempRepo::from_fixture("demo");
    repo.file("fleetward.toml", "[advisories]\ndb = \"advisory-db\"\nmax_db_age = 90\n");
    let f = findings(&repo.run(&["check", "--format", "json"]));
    let stale: Vec<&Value> = f.iter().filter(|x| x["rule"] == "advisories/stale-database").collect();
    assert_eq!(stale.len(), 1, "{f:?}");
    // Newest demo advisory: 2025-03-08; FLEETWARD_NOW is 2026-11-22.
    assert_eq!(
        stale[0]["message"],
        "the advisory database is 624 days old (newest advisory 2025-03-08), more than the 90 days the policy allows"
    );
}

#[test]
fn informational_kinds_can_be_turned_off() {
    let repo = demo_with_policy("informational = []\n");
    // `informational` belongs to [advisories]; the helper appends after that table.
    let f = findings(&repo.run(&["check", "--format", "json"]));
    assert!(
        f.iter().all(|x| x["rule"] != "advisories/unmaintained" && x["rule"] != "advisories/unsound"),
        "{f:?}"
    );
    assert_eq!(f.iter().filter(|x| x["rule"] == "advisories/vulnerability").count(), 3);
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let st = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?} failed");
}

#[test]
fn db_fetch_clones_then_updates_and_info_describes_it() {
    let tmp = TempRepo::new();
    let upstream = tmp.path().join("upstream");
    std::fs::create_dir_all(&upstream).unwrap();
    copy_dir(&fixture("demo/advisory-db"), &upstream);
    git(&upstream, &["init", "-q", "-b", "main"]);
    git(&upstream, &["add", "-A"]);
    git(&upstream, &["commit", "-q", "-m", "initial"]);
    let url = format!("file://{}", upstream.display());

    let run = tmp.run(&["db", "fetch", "--advisory-db", "db", "--url", &url]);
    run.expect_code(0);
    assert!(run.stdout().contains("cloned file://"), "{}", run.stdout());
    assert!(run.stdout().contains("advisories: 6"), "{}", run.stdout());

    // A new advisory upstream arrives with the next fetch.
    let extra = upstream.join("crates/rsa/RUSTSEC-2023-0071.md");
    let text = std::fs::read_to_string(&extra).unwrap().replace("RUSTSEC-2023-0071", "RUSTSEC-2026-9999");
    std::fs::write(
        upstream.join("crates/rsa/RUSTSEC-2026-9999.md"),
        text.replace("2023-11-22", "2026-11-01"),
    )
    .unwrap();
    git(&upstream, &["add", "-A"]);
    git(&upstream, &["commit", "-q", "-m", "new advisory"]);
    let run = tmp.run(&["db", "fetch", "--advisory-db", "db", "--url", &url]);
    run.expect_code(0);
    assert!(run.stdout().contains("updated db"), "{}", run.stdout());
    assert!(run.stdout().contains("advisories: 7"), "{}", run.stdout());

    let info = tmp.run(&["db", "info", "--advisory-db", "db"]);
    info.expect_code(0);
    let out = info.stdout();
    assert!(out.lines().any(|l| l.starts_with("commit: ") && l.len() == "commit: ".len() + 40), "{out}");
    assert!(out.contains("newest advisory: 2026-11-01 (21 days old)"), "{out}");
    assert!(out.contains("vulnerabilities: 4, unmaintained: 2, unsound: 1"), "{out}");
}

#[test]
fn db_fetch_failures_are_exit_2() {
    let tmp = TempRepo::new();
    let run = tmp.run(&["db", "fetch", "--advisory-db", "db", "--url", "file:///no/such/repo"]);
    run.expect_code(2);
    assert!(run.stderr().contains("git clone failed"), "{}", run.stderr());
    tmp.file("notgit/file.txt", "x");
    let run = tmp.run(&["db", "fetch", "--advisory-db", "notgit", "--url", "file:///no/such/repo"]);
    run.expect_code(2);
    assert!(run.stderr().contains("is not a git clone"), "{}", run.stderr());
    tmp.run(&["db", "info", "--advisory-db", "missing"]).expect_code(2);
}

#[test]
fn a_broken_advisory_of_a_crate_in_use_is_exit_2_and_one_of_an_unused_crate_is_not_read() {
    // An advisory for a crate no lockfile names is never parsed: the run is as before.
    let repo = demo_with_policy("");
    repo.file("advisory-db/crates/not-in-any-lockfile/RUSTSEC-2099-0001.md", "not an advisory\n");
    let run = repo.run(&["check", "--only", "advisories", "--format", "json"]);
    run.expect_code(1);
    assert_eq!(run.json()["database"]["advisories"], 7);
    // One for `libc`, which the services' lockfile names: the database is not usable.
    repo.file("advisory-db/crates/libc/RUSTSEC-2099-0002.md", "```toml\n[advisory]\nid = \n```\n");
    let run = repo.run(&["check", "--only", "advisories", "--format", "json"]);
    run.expect_code(2);
    assert!(run.stderr().contains("is not usable: could not load the advisory"), "{}", run.stderr());
    assert!(run.stderr().contains("RUSTSEC-2099-0002.md"), "{}", run.stderr());
}
