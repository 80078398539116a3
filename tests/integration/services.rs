//! `fleetward services`: the inventory of the fixture monorepo (human and JSON snapshots), and
//! manifests that cannot be parsed: reported with their line, exit 0, nothing else lost.

use crate::util::TempRepo;
use serde_json::Value;

#[test]
fn monorepo_human() {
    let repo = TempRepo::from_fixture("monorepo");
    let run = repo.run(&["services"]);
    run.expect_code(0);
    insta::assert_snapshot!("monorepo_human", run.stdout());
}

#[test]
fn monorepo_json() {
    let repo = TempRepo::from_fixture("monorepo");
    let run = repo.run(&["services", "--format", "json"]);
    run.expect_code(0);
    insta::assert_json_snapshot!("monorepo_json", run.json());
}

#[test]
fn path_argument_selects_the_root() {
    let repo = TempRepo::from_fixture("monorepo");
    let run = repo.run(&["services", "libs", "--format", "json"]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(run_names(&json), ["shared-core", "shared-crypto"]);
}

fn run_names(json: &Value) -> Vec<&str> {
    json["services"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect()
}

/// A fleet of two good packages plus `bad/Cargo.toml` with `contents`; returns the JSON.
fn with_bad_manifest(contents: &[u8]) -> Value {
    let repo = TempRepo::new();
    repo.file("Cargo.toml", "[workspace]\nmembers = [\"*\"]\n")
        .package("good", "good", true, "")
        .package("other", "other", false, "")
        .file("bad/Cargo.toml", contents)
        .file("bad/src/main.rs", "fn main() {}\n");
    let run = repo.run(&["services", "--format", "json"]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(run_names(&json), ["good", "other"], "the other packages still load");
    json
}

fn single_error(json: &Value) -> (&str, u64, &str) {
    let errors = json["errors"].as_array().expect("errors array");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    (e["file"].as_str().unwrap_or(""), e["line"].as_u64().unwrap_or(0), e["message"].as_str().unwrap_or(""))
}

#[test]
fn malformed_toml_is_reported_at_its_line() {
    let json = with_bad_manifest(
        b"[package]\nname = \"bad\"\nversion = \"0.1.0\"\n\n[dependencies\nserde = \"1\"\n",
    );
    let (file, line, message) = single_error(&json);
    assert_eq!((file, line), ("bad/Cargo.toml", 5));
    assert!(message.starts_with("invalid TOML: "), "{message}");
}

#[test]
fn invalid_utf8_is_reported() {
    let json = with_bad_manifest(b"[package]\nname = \"b\xffd\"\n");
    let (file, line, message) = single_error(&json);
    assert_eq!((file, line, message), ("bad/Cargo.toml", 2, "invalid UTF-8 in manifest"));
}

#[test]
fn missing_name_and_empty_manifest_are_reported() {
    let json = with_bad_manifest(b"# comment\n[package]\nversion = \"0.1.0\"\n");
    assert_eq!(single_error(&json), ("bad/Cargo.toml", 2, "missing `name` in `[package]`"));
    let json = with_bad_manifest(b"[lib]\npath = \"x.rs\"\n");
    assert_eq!(
        single_error(&json),
        ("bad/Cargo.toml", 1, "manifest has neither `[package]` nor `[workspace]`")
    );
}

#[test]
fn huge_manifest_is_reported_not_parsed() {
    let mut big = b"[package]\nname = \"big\"\n".to_vec();
    big.extend(
        std::iter::repeat_n(b"# padding padding padding padding padding padding padding\n", 200_000)
            .flatten(),
    );
    let json = with_bad_manifest(&big);
    let (_, line, message) = single_error(&json);
    assert_eq!(line, 1);
    assert!(message.contains("too large"), "{message}");
}

#[test]
fn human_output_lists_errors_after_the_table() {
    let repo = TempRepo::new();
    repo.package("good", "good", true, "").file("bad/Cargo.toml", "[package\n");
    let run = repo.run(&["services"]);
    run.expect_code(0);
    let out = run.stdout();
    assert!(out.contains("good"), "{out}");
    assert!(out.contains("1 manifest could not be read:\n  bad/Cargo.toml:1: invalid TOML: "), "{out}");
}

#[test]
fn empty_tree() {
    let repo = TempRepo::new();
    let run = repo.run(&["services", "--format", "json"]);
    run.expect_code(0);
    assert_eq!(run.json()["services"], serde_json::json!([]));
    assert_eq!(repo.run(&["services"]).stdout(), "no Cargo packages found\n");
}
