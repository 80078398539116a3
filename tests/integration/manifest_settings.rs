//! The `manifest` check's sources and required settings (`[manifest.sources]`,
//! `[manifest.require]`, `[[manifest.service]]`), through the real binary: every finding's rule,
//! file, line, message and services. The fixture fleet is `fixtures/manifest/settings`.

use crate::util::TempRepo;
use serde_json::Value;

/// The rules of this part of the check (not `manifest/missing-lockfile`, bans or drift).
const RULES: &[&str] = &[
    "manifest/disallowed-registry",
    "manifest/disallowed-git-source",
    "manifest/git-without-rev",
    "manifest/path-outside-repository",
    "manifest/wildcard-requirement",
    "manifest/unsafe-code-not-forbidden",
    "manifest/old-edition",
    "manifest/service-publishable",
    "manifest/missing-license",
    "manifest/release-overflow-checks",
    "manifest/release-panic",
];

type Row = (String, String, u64, String, Vec<String>);

fn row(rule: &str, file: &str, line: u64, message: &str, services: &[&str]) -> Row {
    (
        format!("manifest/{rule}"),
        file.to_string(),
        line,
        message.to_string(),
        services.iter().map(|s| s.to_string()).collect(),
    )
}

/// `fleetward check --only manifest --format json` on the repo: its JSON, after checking that
/// nothing failed to load.
fn check(repo: &TempRepo) -> Value {
    let run = repo.run(&["check", ".", "--only", "manifest", "--format", "json", "--fail-on", "critical"]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["errors"], serde_json::json!([]), "{json:#}");
    json
}

/// This part's findings, in report order.
fn rows(json: &Value) -> Vec<Row> {
    json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| RULES.contains(&f["rule"].as_str().unwrap_or("")))
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["file"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["message"].as_str().unwrap_or("").to_string(),
                f["services"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect(),
            )
        })
        .collect()
}

fn fixture_rows() -> Vec<Row> {
    let on_default = |m: &str| format!("{m}: each lockfile update may build other code");
    vec![
        row(
            "old-edition",
            "legacy/Cargo.toml",
            5,
            "`[workspace.package] edition` 2018 is older than the required 2021",
            &["tools"],
        ),
        row(
            "service-publishable",
            "legacy/Cargo.toml",
            6,
            "`[workspace.package] publish` lists registries `corp`: `cargo publish` would upload the services inheriting it there",
            &["legacy-billing"],
        ),
        row(
            "unsafe-code-not-forbidden",
            "legacy/Cargo.toml",
            9,
            "`[workspace.lints.rust] unsafe_code` is \"deny\", not \"forbid\": `unsafe` code can be allowed",
            &["legacy-billing", "tools"],
        ),
        row(
            "release-panic",
            "legacy/Cargo.toml",
            11,
            "`[profile.release]` does not set `panic`: release builds unwind, the policy requires \"abort\"",
            &["legacy-billing", "tools"],
        ),
        row(
            "release-overflow-checks",
            "legacy/Cargo.toml",
            12,
            "`[profile.release] overflow-checks = false`: integer overflow wraps silently in release builds",
            &["legacy-billing", "tools"],
        ),
        row(
            "missing-license",
            "legacy/tools/Cargo.toml",
            6,
            "`license.workspace = true` but the workspace root sets no `[workspace.package] license`",
            &["tools"],
        ),
        row(
            "wildcard-requirement",
            "platform/Cargo.toml",
            15,
            "`anything` is required as `*`: any version of it may be built",
            &["api", "worker"],
        ),
        row(
            "disallowed-registry",
            "platform/Cargo.toml",
            16,
            "`mirror` (crate `mirror-client`) comes from registry `old-nexus`, which the policy does not allow (allowed: `crates-io`, `corp`)",
            &["core"],
        ),
        row(
            "disallowed-git-source",
            "platform/Cargo.toml",
            18,
            "`fork` comes from git repository `https://github.com/someone/fork` on `github.com`, which the policy does not allow (allowed: `github.com/acme`, `git.corp.example`)",
            &["api", "worker"],
        ),
        row(
            "git-without-rev",
            "platform/Cargo.toml",
            18,
            "`fork` follows branch `main` of `https://github.com/someone/fork`: each lockfile update may build other code",
            &["api", "worker"],
        ),
        row(
            "disallowed-registry",
            "platform/api/Cargo.toml",
            17,
            "`http` (crate `http-fork`) comes from registry `old-nexus`, which the policy does not allow (allowed: `crates-io`, `corp`)",
            &["api"],
        ),
        row(
            "git-without-rev",
            "platform/api/Cargo.toml",
            20,
            "`signals` is pinned to tag `v2` of `git@github.com:acme/signals.git`: a tag can be moved to other code",
            &["api"],
        ),
        row(
            "old-edition",
            "platform/worker/Cargo.toml",
            4,
            "edition 2018 is older than the required 2021",
            &["worker"],
        ),
        row(
            "service-publishable",
            "platform/worker/Cargo.toml",
            6,
            "`publish` is `true`: `cargo publish` would upload this service to crates.io",
            &["worker"],
        ),
        row(
            "unsafe-code-not-forbidden",
            "platform/worker/Cargo.toml",
            9,
            "`[lints.rust] unsafe_code` is \"deny\", not \"forbid\": `unsafe` code can be allowed",
            &["worker"],
        ),
        row(
            "missing-license",
            "standalone/gateway/Cargo.toml",
            1,
            "no `license` nor `license-file`",
            &["gateway"],
        ),
        row(
            "old-edition",
            "standalone/gateway/Cargo.toml",
            1,
            "no `edition`: cargo builds it as 2015, older than the required 2021",
            &["gateway"],
        ),
        row(
            "service-publishable",
            "standalone/gateway/Cargo.toml",
            1,
            "no `publish = false`: `cargo publish` would upload this service to crates.io",
            &["gateway"],
        ),
        row(
            "unsafe-code-not-forbidden",
            "standalone/gateway/Cargo.toml",
            5,
            "`[lints]` does not set `rust.unsafe_code = \"forbid\"`: `unsafe` code is allowed",
            &["gateway"],
        ),
        row(
            "wildcard-requirement",
            "standalone/gateway/Cargo.toml",
            9,
            "`tokio` is required as `*`: any version of it may be built",
            &["gateway"],
        ),
        row(
            "disallowed-git-source",
            "standalone/gateway/Cargo.toml",
            11,
            "`b` comes from git repository `ssh://git@github.com/acme-evil/b.git` on `github.com`, which the policy does not allow (allowed: `github.com/acme`, `git.corp.example`)",
            &["gateway"],
        ),
        row(
            "git-without-rev",
            "standalone/gateway/Cargo.toml",
            11,
            &on_default("`b` follows the default branch of `ssh://git@github.com/acme-evil/b.git`"),
            &["gateway"],
        ),
        row(
            "git-without-rev",
            "standalone/gateway/Cargo.toml",
            12,
            "`c` is pinned to `rev = \"main\"` of `git@git.corp.example:team/c.git`, a ref name rather than a commit hash: it can move",
            &["gateway"],
        ),
        row(
            "path-outside-repository",
            "standalone/gateway/Cargo.toml",
            13,
            "`outside` is a path dependency on `../../../outside`, outside the repository: what it builds is not reviewed nor checked with it",
            &["gateway"],
        ),
        row(
            "disallowed-git-source",
            "standalone/gateway/Cargo.toml",
            21,
            "`cc` comes from git repository `https://gitlab.com/x/cc` on `gitlab.com`, which the policy does not allow (allowed: `github.com/acme`, `git.corp.example`)",
            &["gateway"],
        ),
        row(
            "git-without-rev",
            "standalone/gateway/Cargo.toml",
            21,
            &on_default("`cc` follows the default branch of `https://gitlab.com/x/cc`"),
            &["gateway"],
        ),
        row(
            "release-overflow-checks",
            "standalone/gateway/Cargo.toml",
            24,
            "`[profile.release] overflow-checks = false`: integer overflow wraps silently in release builds",
            &["gateway"],
        ),
        row(
            "release-panic",
            "standalone/gateway/Cargo.toml",
            25,
            "`[profile.release] panic` is \"unwind\", the policy requires \"abort\"",
            &["gateway"],
        ),
    ]
}

/// The fixture: a workspace inheriting edition, license, publish, lints and dependencies from
/// its root (`platform`, one member overriding them badly), a legacy workspace whose
/// `legacy-*` services may stay on 2018, a standalone service with git dependencies in the
/// three URL forms and a path dependency leaving the repository, and a skipped service.
#[test]
fn fixture_fleet_reports_exactly_the_expected_findings() {
    let repo = TempRepo::from_fixture("manifest/settings");
    let json = check(&repo);
    assert_eq!(rows(&json), fixture_rows());

    let findings = json["findings"].as_array().expect("findings");
    let severities: std::collections::BTreeMap<&str, &str> = findings
        .iter()
        .filter(|f| RULES.contains(&f["rule"].as_str().unwrap_or("")))
        .map(|f| (f["rule"].as_str().unwrap_or(""), f["severity"].as_str().unwrap_or("")))
        .collect();
    let want: std::collections::BTreeMap<&str, &str> = [
        ("manifest/disallowed-git-source", "high"),
        ("manifest/disallowed-registry", "high"),
        ("manifest/git-without-rev", "medium"),
        ("manifest/missing-license", "low"),
        ("manifest/old-edition", "low"),
        ("manifest/path-outside-repository", "high"),
        ("manifest/release-overflow-checks", "medium"),
        ("manifest/release-panic", "low"),
        ("manifest/service-publishable", "low"),
        ("manifest/unsafe-code-not-forbidden", "medium"),
        ("manifest/wildcard-requirement", "medium"),
    ]
    .into_iter()
    .collect();
    assert_eq!(severities, want);

    // an inherited entry: once at the root, each inheriting member a related location
    let fork = findings
        .iter()
        .find(|f| f["rule"] == "manifest/disallowed-git-source" && f["file"] == "platform/Cargo.toml")
        .expect("fork finding");
    assert_eq!(
        fork["related"],
        serde_json::json!([
            { "file": "platform/api/Cargo.toml", "line": 14, "message": "`api` inherits `fork`" },
            { "file": "platform/worker/Cargo.toml", "line": 14, "message": "`worker` inherits `fork`" },
        ])
    );
    let lints = findings
        .iter()
        .find(|f| f["rule"] == "manifest/unsafe-code-not-forbidden" && f["file"] == "legacy/Cargo.toml")
        .expect("legacy lints finding");
    assert_eq!(lints["related"][0]["file"], "legacy/billing/Cargo.toml");
    assert_eq!(lints["related"][0]["line"], 9, "the member's `workspace = true`");
    assert!(lints["help"].as_str().is_some_and(|h| h.contains("forbid")));
}

/// The same fleet with a policy edited by `edit`.
fn fixture_with(edit: impl Fn(String) -> String) -> TempRepo {
    let repo = TempRepo::from_fixture("manifest/settings");
    let policy = std::fs::read_to_string(repo.path().join("fleetward.toml")).expect("policy");
    let edited = edit(policy.clone());
    assert_ne!(edited, policy, "the edit changed nothing");
    repo.file("fleetward.toml", edited);
    repo
}

#[test]
fn dev_dependencies_count_only_when_the_policy_says_so() {
    let repo = fixture_with(|p| p.replace("dev_dependencies = false", "dev_dependencies = true"));
    let got = rows(&check(&repo));
    let mut want = fixture_rows();
    // `mirror` is now also `api`'s (dev) dependency; the gateway's dev-dependencies count
    for r in &mut want {
        if r.0 == "manifest/disallowed-registry" && r.1 == "platform/Cargo.toml" {
            r.4 = vec!["api".into(), "core".into()];
        }
    }
    want.push(row(
        "wildcard-requirement",
        "standalone/gateway/Cargo.toml",
        17,
        "`proptest` is required as `*`: any version of it may be built",
        &["gateway"],
    ));
    want.push(row("path-outside-repository", "standalone/gateway/Cargo.toml", 18, "`mock` is a path dependency on `../../../mocks`, outside the repository: what it builds is not reviewed nor checked with it", &["gateway"]));
    want.sort_by(|a, b| (&a.1, a.2, &a.0).cmp(&(&b.1, b.2, &b.0)));
    assert_eq!(got, want);
}

#[test]
fn build_dependencies_can_be_left_out() {
    let repo = fixture_with(|p| p.replace("dev_dependencies = false", "build_dependencies = false"));
    let got = rows(&check(&repo));
    let want: Vec<Row> = fixture_rows().into_iter().filter(|r| !r.3.starts_with("`cc`")).collect();
    assert_eq!(got.len() + 2, fixture_rows().len());
    assert_eq!(got, want);
}

/// Without the `[[manifest.service]]` overrides, `legacy-billing` must be on 2021 too and the
/// skipped service is checked like the others.
#[test]
fn service_overrides_lower_the_edition_and_skip() {
    let repo = fixture_with(|p| p[..p.find("[[manifest.service]]").expect("overrides")].to_string());
    let got = rows(&check(&repo));
    let billing = got
        .iter()
        .find(|r| r.0 == "manifest/old-edition" && r.1 == "legacy/Cargo.toml")
        .expect("legacy edition finding");
    assert_eq!(billing.4, ["legacy-billing", "tools"]);
    let skipped: Vec<(&str, u64)> =
        got.iter().filter(|r| r.1 == "skipped/Cargo.toml").map(|r| (r.0.as_str(), r.2)).collect();
    assert_eq!(
        skipped,
        [
            ("manifest/missing-license", 1),
            ("manifest/release-overflow-checks", 1),
            ("manifest/release-panic", 1),
            ("manifest/service-publishable", 1),
            ("manifest/unsafe-code-not-forbidden", 1),
            ("manifest/old-edition", 4),
            ("manifest/wildcard-requirement", 7),
            ("manifest/path-outside-repository", 8),
        ]
    );
    // the rest is the fixture's, `legacy-billing` added to the legacy edition finding
    let rest: Vec<Row> = got.into_iter().filter(|r| r.1 != "skipped/Cargo.toml").collect();
    let mut want = fixture_rows();
    want[0].4 = vec!["legacy-billing".into(), "tools".into()];
    assert_eq!(rest, want);
}

const PASSING_POLICY: &str = r#"fail_on = "critical"
[manifest]
dev_dependencies = true
[manifest.sources]
registries = ["crates-io", "corp"]
git_hosts = ["https://github.com/acme/", "git.corp.example"]
require_git_rev = true
[manifest.require]
unsafe_code_forbid = true
edition = "2021"
unpublished = true
license = true
release_overflow_checks = true
release_panic = "abort"
libraries = true
"#;

/// Everything the policy asks, directly or inherited: no finding.
#[test]
fn a_compliant_fleet_has_no_finding() {
    let repo = TempRepo::new();
    repo.file("fleetward.toml", PASSING_POLICY)
        .file(
            "Cargo.toml",
            r#"[workspace]
members = ["svc/*", "lib"]
[workspace.package]
edition = "2024"
license = "MIT"
publish = []
[workspace.lints.rust]
unsafe_code = { level = "forbid", priority = -1 }
[workspace.dependencies]
serde = "1.0"
auth = { package = "corp-auth", version = "1", registry = "corp" }
lib = { path = "lib" }
[profile.release]
overflow-checks = true
panic = "abort"
"#,
        )
        .file(
            "svc/api/Cargo.toml",
            r#"[package]
name = "api"
version = "0.1.0"
edition.workspace = true
license.workspace = true
publish.workspace = true
[lints]
workspace = true
[dependencies]
serde.workspace = true
auth.workspace = true
lib.workspace = true
a = { git = "https://github.com/acme/a", rev = "0123456789abcdef0123456789abcdef01234567" }
b = { git = "ssh://git@GitHub.com/acme/b.git", rev = "abcdef0" }
c = { git = "git@git.corp.example:team/c.git", rev = "0123456" }
[target.'cfg(unix)'.dependencies]
nix = { version = "0.29", registry = "corp" }
[dev-dependencies]
proptest = "1"
"#,
        )
        .file("svc/api/src/main.rs", "fn main() {}\n")
        .file(
            "svc/solo/Cargo.toml",
            r#"[package]
name = "solo"
version = "0.1.0"
edition = "2021"
publish = false
license-file = "LICENSE"
workspace = "../.."
[lints.rust]
unsafe_code = "forbid"
"#,
        )
        .file("svc/solo/src/main.rs", "fn main() {}\n")
        .package("lib", "lib", false, "license = \"MIT\"\n[lints.rust]\nunsafe_code = \"forbid\"\n");
    let json = check(&repo);
    assert_eq!(rows(&json), Vec::<Row>::new(), "{json:#}");
}

/// `libraries = true` puts libraries under the requirements too (never `publish`), and the
/// source rules concern libraries whatever the setting.
#[test]
fn libraries_are_checked_with_libraries_true() {
    let policy = "[manifest]\n[manifest.require]\nedition = \"2021\"\nlicense = true\nunpublished = true\n";
    let repo = TempRepo::new();
    repo.file("fleetward.toml", format!("fail_on = \"critical\"\n{policy}"))
        .package("lib", "core", false, "[dependencies]\nanything = \"*\"\n")
        .file("old/Cargo.toml", "[package]\nname = \"old\"\nedition = \"2018\"\n")
        .file("old/src/lib.rs", "");
    let services_only = rows(&check(&repo));
    assert_eq!(
        services_only,
        [row(
            "wildcard-requirement",
            "lib/Cargo.toml",
            6,
            "`anything` is required as `*`: any version of it may be built",
            &["core"]
        )]
    );
    repo.file("fleetward.toml", format!("fail_on = \"critical\"\n{policy}libraries = true\n"));
    assert_eq!(
        rows(&check(&repo)),
        [
            row("missing-license", "lib/Cargo.toml", 1, "no `license` nor `license-file`", &["core"]),
            row(
                "wildcard-requirement",
                "lib/Cargo.toml",
                6,
                "`anything` is required as `*`: any version of it may be built",
                &["core"]
            ),
            row("missing-license", "old/Cargo.toml", 1, "no `license` nor `license-file`", &["old"]),
            row("old-edition", "old/Cargo.toml", 3, "edition 2018 is older than the required 2021", &["old"]),
        ]
    );
}

/// The forms of `unsafe_code`: absent, in `[lints]` without it, inherited from a root without
/// `[workspace.lints]`, or whose `[workspace.lints]` has no `rust.unsafe_code`.
#[test]
fn unsafe_code_in_every_place() {
    let repo = TempRepo::new();
    repo.file("fleetward.toml", "fail_on = \"critical\"\n[manifest.require]\nunsafe_code_forbid = true\n")
        .file("a/Cargo.toml", "[workspace]\nmembers = [\"x\"]\n\n[workspace.lints.clippy]\nall = \"warn\"\n")
        .package("a/x", "ax", true, "[lints]\nworkspace = true\n")
        .file("b/Cargo.toml", "[workspace]\nmembers = [\"y\"]\n")
        .package("b/y", "by", true, "\n[lints]\nworkspace = true\n")
        .package("c", "c", true, "[lints.rust]\nunsafe-code = \"forbid\"\n")
        .package("d", "d", true, "[lints.clippy]\nall = \"warn\"\n")
        .package("e", "e", true, "");
    assert_eq!(
        rows(&check(&repo)),
        [
            row(
                "unsafe-code-not-forbidden",
                "a/Cargo.toml",
                4,
                "`[workspace.lints]` does not set `rust.unsafe_code = \"forbid\"`: `unsafe` code is allowed",
                &["ax"]
            ),
            row(
                "unsafe-code-not-forbidden",
                "b/y/Cargo.toml",
                7,
                "`[lints] workspace = true` but the workspace root has no `[workspace.lints]`: `unsafe` code is allowed",
                &["by"]
            ),
            row(
                "unsafe-code-not-forbidden",
                "d/Cargo.toml",
                5,
                "`[lints]` does not set `rust.unsafe_code = \"forbid\"`: `unsafe` code is allowed",
                &["d"]
            ),
            row(
                "unsafe-code-not-forbidden",
                "e/Cargo.toml",
                1,
                "no `[lints.rust] unsafe_code = \"forbid\"`: `unsafe` code is allowed",
                &["e"]
            ),
        ]
    );
}

/// Cargo honours `[profile.release]` only in the workspace root: a member's own is ignored, the
/// finding is at the root's `[workspace]` header when it has no profile, once for all members.
#[test]
fn profiles_are_read_from_the_workspace_root_only() {
    let repo = TempRepo::new();
    repo.file(
        "fleetward.toml",
        "fail_on = \"critical\"\n[manifest.require]\nrelease_overflow_checks = true\nrelease_panic = \"unwind\"\n",
    )
    .file("Cargo.toml", "# the fleet\n[workspace]\nmembers = [\"a\", \"b\", \"c\"]\n")
    .package("a", "a", true, "[profile.release]\noverflow-checks = true\n")
    .package("b", "b", true, "")
    .package("c", "c", false, "")
    .file("other/Cargo.toml", "[workspace]\nmembers = [\"s\"]\n[profile.release]\noverflow-checks = \"yes\"\npanic = \"abort\"\n")
    .package("other/s", "s", true, "");
    assert_eq!(
        rows(&check(&repo)),
        [
            row(
                "release-overflow-checks",
                "Cargo.toml",
                2,
                "`[profile.release]` does not set `overflow-checks = true`: integer overflow wraps silently in release builds",
                &["a", "b"]
            ),
            row(
                "release-overflow-checks",
                "other/Cargo.toml",
                4,
                "`[profile.release] overflow-checks = not a boolean`: integer overflow wraps silently in release builds",
                &["s"]
            ),
            row(
                "release-panic",
                "other/Cargo.toml",
                5,
                "`[profile.release] panic` is \"abort\", the policy requires \"unwind\"",
                &["s"]
            ),
        ]
    );
}

/// Editions, `publish` and licenses: inherited values missing from the root, `publish = []`,
/// an empty license, a newer edition.
#[test]
fn inherited_fields_missing_from_the_root() {
    let repo = TempRepo::new();
    repo.file(
        "fleetward.toml",
        "fail_on = \"critical\"\n[manifest.require]\nedition = \"2018\"\nunpublished = true\nlicense = true\n",
    )
    .file("Cargo.toml", "[workspace]\nmembers = [\"*\"]\n[workspace.package]\nlicense = \"\"\n")
    .file(
        "a/Cargo.toml",
        "[package]\nname = \"a\"\nedition.workspace = true\npublish.workspace = true\nlicense.workspace = true\n",
    )
    .file("a/src/main.rs", "fn main() {}\n")
    .file("b/Cargo.toml", "[package]\nname = \"b\"\nedition = \"2024\"\npublish = []\nlicense = \" \"\n")
    .file("b/src/main.rs", "fn main() {}\n");
    assert_eq!(
        rows(&check(&repo)),
        [
            row(
                "missing-license",
                "Cargo.toml",
                4,
                "`[workspace.package] license` is empty or not a string",
                &["a"]
            ),
            row(
                "old-edition",
                "a/Cargo.toml",
                3,
                "`edition.workspace = true` but the workspace root sets no `[workspace.package] edition` (2015 at best, the policy requires 2018)",
                &["a"]
            ),
            row(
                "service-publishable",
                "a/Cargo.toml",
                4,
                "`publish.workspace = true` but the workspace root sets no `[workspace.package] publish`: `cargo publish` would upload this service to crates.io",
                &["a"]
            ),
            row("missing-license", "b/Cargo.toml", 5, "`license` is empty or not a string", &["b"]),
        ]
    );
}

/// Every source rule can be turned off, and with no list of registries or hosts any is allowed.
#[test]
fn source_rules_off() {
    let repo = fixture_with(|p| {
        p.replace("registries = [\"crates-io\", \"corp\"]\n", "")
            .replace("git_hosts = [\"github.com/acme\", \"git.corp.example\"]\n", "")
            .replace("require_git_rev = true", "wildcard = false\npath_outside_repository = false")
    });
    let got = rows(&check(&repo));
    let sources =
        ["disallowed-registry", "disallowed-git-source", "git-without-rev", "path-outside", "wildcard"];
    let want: Vec<Row> =
        fixture_rows().into_iter().filter(|r| !sources.iter().any(|s| r.0.contains(s))).collect();
    assert_eq!(got, want);
    assert_eq!(want.len(), 15);
}

/// Manifests with values of the wrong type still load and never stop the check.
#[test]
fn odd_values_do_not_stop_the_check() {
    let repo = TempRepo::new();
    repo.file(
        "fleetward.toml",
        "fail_on = \"critical\"\n[manifest.require]\nedition = \"2021\"\nunpublished = true\nunsafe_code_forbid = true\nrelease_panic = \"abort\"\n",
    )
    .file(
        "Cargo.toml",
        "lints = 3\nprofile = 1\n[package]\nname = \"odd\"\nedition = 2021\npublish = \"no\"\n[dependencies]\nx = { version = \"*\", git = 4 }\n",
    )
    .file("src/main.rs", "fn main() {}\n");
    let run = repo.run(&["check", ".", "--only", "manifest", "--format", "json", "--fail-on", "critical"]);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(json["errors"][0]["message"], "`x.git` must be a string", "{json:#}");
    let got = rows(&json);
    assert_eq!(
        got,
        [
            row(
                "unsafe-code-not-forbidden",
                "Cargo.toml",
                1,
                "`[lints]` does not set `rust.unsafe_code = \"forbid\"`: `unsafe` code is allowed",
                &["odd"]
            ),
            row(
                "release-panic",
                "Cargo.toml",
                2,
                "`[profile.release]` does not set `panic`: release builds unwind, the policy requires \"abort\"",
                &["odd"]
            ),
            row(
                "service-publishable",
                "Cargo.toml",
                6,
                "`publish` is neither `false` nor `[]`: `cargo publish` would upload this service",
                &["odd"]
            ),
            row(
                "wildcard-requirement",
                "Cargo.toml",
                8,
                "`x` is required as `*`: any version of it may be built",
                &["odd"]
            ),
        ]
    );
}

/// `skip = true` turns off `manifest/missing-lockfile` too (every `manifest/*` rule).
#[test]
fn a_skipped_service_has_no_missing_lockfile_finding() {
    let repo = TempRepo::new();
    repo.package("tools", "tools", true, "").package("api", "api", true, "");
    let lockless = |policy: &str| -> Vec<String> {
        repo.file("fleetward.toml", policy);
        let run = repo.run(&["check", ".", "--only", "manifest", "--format", "json"]);
        run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "manifest/missing-lockfile")
            .map(|f| f["file"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(lockless(""), ["api/Cargo.toml", "tools/Cargo.toml"]);
    assert_eq!(lockless("[[manifest.service]]\nservices = [\"tools\"]\nskip = true\n"), ["api/Cargo.toml"]);
}
