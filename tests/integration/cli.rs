//! The command line itself: help, versions, argument errors and their exit codes.

use crate::util::TempRepo;

#[test]
fn unknown_check_is_exit_2_with_suggestion() {
    let repo = TempRepo::new();
    let run = repo.run(&["check", "--only", "advisorie"]);
    run.expect_code(2);
    assert!(run.stderr().contains("did you mean `advisories`"), "{}", run.stderr());
}

#[test]
fn missing_root_is_exit_2() {
    let repo = TempRepo::new();
    let run = repo.run(&["check", "does-not-exist"]);
    run.expect_code(2);
    assert!(run.stderr().contains("cannot read does-not-exist"), "{}", run.stderr());
}

#[test]
fn bad_arguments_are_exit_2() {
    let repo = TempRepo::new();
    repo.run(&["check", "--fail-on", "severe"]).expect_code(2);
    repo.run(&["no-such-command"]).expect_code(2);
}
