//! The policy file through the real binary: problems are exit 2 and point at the line, the
//! policy is found upward from PATH, `init` writes the starter, a valid policy lets the run go on.

use crate::util::{Run, TempRepo};

/// A policy with one problem of each common kind.
const BAD: &str = r#"fial_on = "high"

[fleet]
exclude = ["experiments/["]

[advisories]
max_db_age = "soon"

[[advisories.ignore]]
id = "RUSTSEC-2023-0071"
expires = "2026-02-30"

[severity]
"advisories/unmaintaned" = "hgh"
"#;

/// Snapshot stderr with the temporary directory replaced.
fn stderr_snapshot(name: &str, repo: &TempRepo, run: &Run) {
    let root = repo.path().to_string_lossy().into_owned();
    let canonical = std::fs::canonicalize(repo.path()).unwrap().to_string_lossy().into_owned();
    let (canonical, root) = (regex::escape(&canonical), regex::escape(&root));
    let filters = vec![(canonical.as_str(), "[REPO]"), (root.as_str(), "[REPO]")];
    insta::with_settings!({ filters => filters, prepend_module_to_snapshot => true }, {
        insta::assert_snapshot!(name, run.stderr());
    });
}

fn repo_with_service() -> TempRepo {
    let repo = TempRepo::new();
    repo.package("services/billing", "billing", true, "");
    repo.file(
        "services/billing/Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"billing\"\nversion = \"0.1.0\"\n",
    );
    repo
}

#[test]
fn bad_policy_is_exit_2_with_every_problem_and_its_line() {
    let repo = repo_with_service();
    repo.file("bad.toml", BAD);
    let run = repo.run(&["check", "--config", "bad.toml", "--only", "manifest"]);
    run.expect_code(2);
    let err = run.stderr();
    assert!(err.contains("invalid policy file bad.toml: 7 problems"), "{err}");
    assert!(err.contains("[bad.toml:1:1]") && err.contains("did you mean `fail_on`?"), "{err}");
    assert!(
        err.contains("[bad.toml:14:1]") && err.contains("did you mean `advisories/unmaintained`?"),
        "{err}"
    );
    assert!(run.stdout().is_empty());
    stderr_snapshot("bad_policy", &repo, &run);
}

#[test]
fn toml_syntax_error_is_exit_2_at_its_line() {
    let repo = repo_with_service();
    repo.file("fleetward.toml", "fail_on = \"high\"\n[fleet\nexclude = []\n");
    let run = repo.run(&["check", "--only", "manifest"]);
    run.expect_code(2);
    stderr_snapshot("toml_syntax_error", &repo, &run);
}

#[test]
fn policy_is_found_upward_from_a_subdirectory_path() {
    let repo = repo_with_service();
    repo.file("fleetward.toml", "fail_on = \"hihg\"\n");
    let run = repo.run(&["check", "services/billing", "--only", "manifest"]);
    run.expect_code(2);
    assert!(run.stderr().contains("invalid policy file fleetward.toml: 1 problem"), "{}", run.stderr());
    assert!(run.stderr().contains("did you mean `high`?"), "{}", run.stderr());
    repo.run(&["services", "services/billing"]).expect_code(2);

    // From inside the subdirectory too (PATH defaults to `.`).
    let run = crate::util::run_in(&repo.path().join("services/billing"), &["check", "--only", "manifest"]);
    run.expect_code(2);
    assert!(run.stderr().contains("did you mean `high`?"), "{}", run.stderr());

    repo.file("fleetward.toml", "fail_on = \"high\"\n");
    repo.run(&["check", "services/billing", "--only", "manifest"]).expect_code(0);
}

#[test]
fn valid_policy_lets_the_run_proceed() {
    let repo = repo_with_service();
    repo.file(
        "fleetward.toml",
        r#"fail_on = "low"
[fleet]
service_roots = ["libs/*"]
exclude = ["experiments/**"]
[advisories]
db = "advisory-db"
max_db_age = "30d"
informational = ["unsound"]
[[advisories.ignore]]
id = "RUSTSEC-2023-0071"
reason = "only signature verification"
expires = 2027-01-01
services = ["billing"]
[severity]
"advisories/*" = "high"
"#,
    );
    repo.run(&["check", "--only", "manifest"]).expect_code(0);
    repo.run(&["check", "--config", "fleetward.toml", "--only", "manifest"]).expect_code(0);
    repo.run(&["services"]).expect_code(0);
}

#[test]
fn init_writes_the_starter_and_refuses_to_overwrite() {
    let repo = repo_with_service();
    let run = repo.run(&["init"]);
    run.expect_code(0);
    assert!(run.stdout().contains("fleetward.toml"), "{}", run.stdout());
    let path = repo.path().join("fleetward.toml");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), fleetward::config::STARTER);
    // The starter is a valid policy.
    repo.run(&["check", "--only", "manifest"]).expect_code(0);

    std::fs::write(&path, "# mine\n").unwrap();
    let run = repo.run(&["init"]);
    run.expect_code(2);
    assert!(run.stderr().contains("already exists (use --force to overwrite it)"), "{}", run.stderr());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "# mine\n");

    repo.run(&["init", "--force"]).expect_code(0);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), fleetward::config::STARTER);
}

#[test]
fn missing_or_unreadable_policy_is_exit_2() {
    let repo = repo_with_service();
    let run = repo.run(&["check", "--config", "nope.toml", "--only", "manifest"]);
    run.expect_code(2);
    assert!(run.stderr().contains("nope.toml does not exist"), "{}", run.stderr());

    repo.file("fleetward.toml", b"fail_on = \"high\"\n# caf\xe9\n");
    let run = repo.run(&["check", "--only", "manifest"]);
    run.expect_code(2);
    assert!(run.stderr().contains("the policy file is not valid UTF-8"), "{}", run.stderr());
    assert!(run.stderr().contains("[fleetward.toml:2:6]"), "{}", run.stderr());
}
