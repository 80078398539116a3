//! `fleetward fix` with the real tools: a local cargo registry (source replacement, no network)
//! that the real `cargo update` resolves from, a real git repository with a local bare remote,
//! and a fake GitHub ([`crate::github::FakeGitHub`]) that checks every request's shape.

use crate::changes::git as git_raw;
use crate::github::FakeGitHub;
use crate::util::{Run, TempRepo, fixture, run_with_env};
use serde_json::{Value, json};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "ghp_fixTESTtoken0123456789";

/// `git ARGS` in `dir`, its output trimmed.
fn git(dir: &Path, args: &[&str]) -> String {
    git_raw(dir, args).trim().to_string()
}

/// A cargo `local-registry`: `index/` in the crates.io layout, and one `.crate` per version.
struct Registry {
    dir: PathBuf,
}

impl Registry {
    fn publish(&self, name: &str, version: &str, deps: &[(&str, &str)], yanked: bool) {
        // A real .crate: a gzipped tar of NAME-VERSION/{Cargo.toml,src/lib.rs}.
        let stage = self.dir.join("stage").join(format!("{name}-{version}"));
        std::fs::create_dir_all(stage.join("src")).unwrap();
        let dep_lines: String = deps.iter().map(|(d, req)| format!("{d} = \"{req}\"\n")).collect();
        std::fs::write(
            stage.join("Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\n\n[dependencies]\n{dep_lines}"),
        )
        .unwrap();
        std::fs::write(stage.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
        let file = self.dir.join(format!("{name}-{version}.crate"));
        let ok = Command::new("tar")
            .arg("-czf")
            .arg(&file)
            .arg("-C")
            .arg(self.dir.join("stage"))
            .arg(format!("{name}-{version}"))
            .status()
            .unwrap();
        assert!(ok.success());
        let cksum = format!("{:x}", sha2::Sha256::digest(std::fs::read(&file).unwrap()));
        let deps: Vec<Value> = deps
            .iter()
            .map(|(d, req)| {
                json!({"name": d, "req": req, "features": [], "optional": false, "default_features": true,
                       "target": null, "kind": "normal", "registry": null, "package": null})
            })
            .collect();
        let line = json!({"name": name, "vers": version, "deps": deps, "cksum": cksum, "features": {},
                          "yanked": yanked, "links": null});
        let path = self.dir.join("index").join(index_path(name));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text += &format!("{line}\n");
        std::fs::write(&path, text).unwrap();
    }
}

fn index_path(name: &str) -> String {
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// The fleet: workspace `services` (billing, ledger; `inherited` from
/// `[workspace.dependencies]`) and the standalone service `tools`, locked while the registry
/// had only the vulnerable versions; then the fixes were published.
struct Setup {
    repo: TempRepo,
    _home: tempfile::TempDir,
    cargo_home: PathBuf,
    registry: Registry,
}

const BILLING: &str = "[package]\nname = \"billing\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nplain = \"1\"   # parsing\n# pinned by the ops team\nbumpy = \"0.1\"\ninherited.workspace = true\n";
const SERVICES: &str = "[workspace]\nmembers = [\"billing\", \"ledger\"]\nresolver = \"2\"\n\n[workspace.dependencies]\n# one pool for every service\ninherited = { version = \"0.3\", default-features = false }\n";

type Published = (&'static str, &'static str, &'static [(&'static str, &'static str)], bool);

/// What the registry gains after the lockfiles were made: the patched versions (and a yanked one).
const FIXES: &[Published] = &[
    ("plain", "1.0.1", &[], false),
    ("plain", "1.0.2", &[], false),
    ("plain", "1.1.0", &[], false),
    ("bumpy", "0.2.0", &[], false),
    ("bumpy", "0.2.1", &[], false),
    ("inherited", "0.4.0", &[], false),
    ("deep", "0.5.1", &[], false),
    ("corelib", "0.2.0", &[], false),
    ("frame", "2.1.0", &[("corelib", "0.2")], false),
    ("yanky", "1.0.1", &[], true),
];

fn setup(publish_fixes: bool) -> Setup {
    setup_with(if publish_fixes { FIXES } else { &[] })
}

fn setup_with(fixes: &[Published]) -> Setup {
    let home = tempfile::tempdir().unwrap();
    let cargo_home = home.path().join("cargo-home");
    let registry = Registry { dir: home.path().join("registry") };
    std::fs::create_dir_all(&cargo_home).unwrap();
    std::fs::write(
        cargo_home.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"fixture\"\n\n[source.fixture]\nlocal-registry = \"{}\"\n\n[net]\noffline = true\n",
            registry.dir.display()
        ),
    )
    .unwrap();
    for (name, version, deps) in [
        ("plain", "1.0.0", &[][..]),
        ("bumpy", "0.1.0", &[]),
        ("inherited", "0.3.0", &[]),
        ("deep", "0.5.0", &[]),
        ("wrapper", "1.0.0", &[("deep", "0.5")]),
        ("corelib", "0.1.0", &[]),
        ("frame", "2.0.0", &[("corelib", "0.1")]),
        ("doomed", "1.0.0", &[]),
        ("yanky", "1.0.0", &[]),
    ] {
        registry.publish(name, version, deps, false);
    }
    let repo = TempRepo::new();
    repo.file("fleetward.toml", "fail_on = \"low\"\n\n[advisories]\nmax_db_age = 0\n")
        .file("services/Cargo.toml", SERVICES)
        .file("services/billing/Cargo.toml", BILLING)
        .file("services/billing/src/main.rs", "fn main() {}\n")
        .file(
            "services/ledger/Cargo.toml",
            "[package]\nname = \"ledger\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nwrapper = \"1\"\nframe = \"2\"\ndoomed = \"1\"\nyanky = \"1.0.0\"\n",
        )
        .file("services/ledger/src/main.rs", "fn main() {}\n")
        .file(
            "tools/Cargo.toml",
            "[package]\nname = \"tools\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nplain = \"1.0\"\n",
        )
        .file("tools/src/main.rs", "fn main() {}\n");
    let s = Setup { repo, _home: home, cargo_home, registry };
    for ws in ["services", "tools"] {
        s.cargo(&s.repo.path().join(ws), &["generate-lockfile"]);
    }
    for (name, version, deps, yanked) in fixes {
        s.registry.publish(name, version, deps, *yanked);
    }
    git(s.repo.path(), &["init", "-q", "-b", "main"]);
    git(s.repo.path(), &["add", "-A"]);
    git(s.repo.path(), &["commit", "-qm", "fleet"]);
    s
}

impl Setup {
    fn cargo(&self, dir: &Path, args: &[&str]) {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .args(args)
            .current_dir(dir)
            .env("CARGO_HOME", &self.cargo_home)
            .env("CARGO_NET_OFFLINE", "true")
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CARGO_HOME", self.cargo_home.display().to_string()),
            ("CARGO_NET_OFFLINE", "true".into()),
            ("GITHUB_TOKEN", String::new()),
            ("GH_TOKEN", String::new()),
            ("GITHUB_REPOSITORY", String::new()),
        ]
    }

    fn fix(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let db = fixture("fix/advisory-db");
        let db = db.to_str().unwrap();
        let mut all: Vec<&str> = vec!["fix"];
        all.extend(args);
        all.extend(["--advisory-db", db]);
        let env = self.env();
        let mut pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        pairs.extend(extra.iter().copied());
        run_with_env(self.repo.path(), &all, &pairs)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.repo.path().join(rel)).unwrap()
    }
}

/// (package, from, to, how, manifests, parents) of every fix, and (package, version, reason) of
/// every unfixable entry, per workspace.
fn summary(report: &Value) -> Value {
    let ws: Vec<Value> = report["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            let fixes: Vec<Value> = w["fixes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let parents: Vec<String> = f["parents"]
                        .as_array()
                        .map(|p| p.iter().map(|p| format!("{} {} -> {}", p["package"], p["from"], p["to"]).replace('"', "")).collect())
                        .unwrap_or_default();
                    let edits: Vec<String> = f["edits"]
                        .as_array()
                        .map(|e| {
                            e.iter()
                                .map(|e| format!("{}:{} [{}] {} {} -> {}", e["manifest"], e["line"], e["table"], e["key"], e["from"], e["to"]).replace('"', ""))
                                .collect()
                        })
                        .unwrap_or_default();
                    json!([f["package"], f["from"], f["to"], f["how"], f["advisories"], edits, parents, f["services"]])
                })
                .collect();
            let unfixable: Vec<Value> = w["unfixable"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| json!([u["package"], u["version"], u["reason"]]))
                .collect();
            json!({"workspace": w["workspace"], "lockfile": w["lockfile"], "fixes": fixes, "unfixable": unfixable})
        })
        .collect();
    Value::Array(ws)
}

fn expected_plan() -> Value {
    json!([
        {"workspace": "services", "lockfile": "services/Cargo.lock",
         "fixes": [
            ["bumpy", "0.1.0", "0.2.0", "manifest-bump", ["RUSTSEC-2026-9002"],
             ["services/billing/Cargo.toml:10 [dependencies] bumpy 0.1 -> 0.2"], [], ["billing"]],
            ["corelib", "0.1.0", "0.2.0", "parent-bump", ["RUSTSEC-2026-9005"], [], ["frame 2.0.0 -> 2.1.0"], ["ledger"]],
            ["deep", "0.5.0", "0.5.1", "cargo-update", ["RUSTSEC-2026-9004"], [], [], ["ledger"]],
            ["inherited", "0.3.0", "0.4.0", "manifest-bump", ["RUSTSEC-2026-9003"],
             ["services/Cargo.toml:7 [workspace.dependencies] inherited 0.3 -> 0.4"], [], ["billing"]],
            ["plain", "1.0.0", "1.0.2", "cargo-update", ["RUSTSEC-2026-9001"], [], [], ["billing"]]
         ],
         "unfixable": [
            ["doomed", "1.0.0", "the advisory names no patched version: remove or replace doomed"],
            ["yanky", "1.0.0", "every patched version of yanky is yanked (1.0.1)"]
         ]},
        {"workspace": "tools", "lockfile": "tools/Cargo.lock",
         "fixes": [["plain", "1.0.0", "1.0.2", "cargo-update", ["RUSTSEC-2026-9001"], [], [], ["tools"]]],
         "unfixable": []}
    ])
}

#[test]
fn the_plan_names_the_target_and_the_change_each_vulnerability_needs() {
    let s = setup(true);
    let run = s.fix(&["--format", "json"], &[]);
    run.expect_code(1);
    assert_eq!(summary(&run.json()), expected_plan(), "{}", run.stdout());
    // The plan changes nothing.
    assert_eq!(git(s.repo.path(), &["status", "--porcelain"]), "");

    let human = s.fix(&[], &[]);
    human.expect_code(1);
    let out = human.stdout();
    for line in [
        "services  (services/Cargo.lock)",
        "  fix    plain 1.0.0 -> 1.0.2 with cargo update",
        "  fix    bumpy 0.1.0 -> 0.2.0 by editing services/billing/Cargo.toml:10 (bumpy \"0.1\" -> \"0.2\")",
        "  fix    corelib 0.1.0 -> 0.2.0 by moving frame 2.0.0 -> 2.1.0",
        "  cannot fix yanky 1.0.0 (RUSTSEC-2026-9007): every patched version of yanky is yanked (1.0.1)",
        "6 fixes planned in 2 workspaces, 2 not fixable.",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }

    // Without the registry index, the advisories' ranges decide: yanky's yanked 1.0.1 looks fine.
    let bare = s.fix(&["--format", "json", "--no-index"], &[]).json();
    let yanky =
        &bare["workspaces"][0]["fixes"].as_array().unwrap().iter().find(|f| f["package"] == "yanky").cloned();
    assert_eq!(
        yanky.as_ref().map(|f| (f["to"].clone(), f["published"].clone())),
        Some((json!("1.0.1"), json!(false)))
    );
}

#[test]
fn nothing_to_fix_before_the_fixes_are_published_except_the_parent_chain() {
    // With only the vulnerable versions published, nothing in the registry is patched.
    let s = setup(false);
    let run = s.fix(&["--format", "json"], &[]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(report["workspaces"][0]["fixes"], json!([]), "{}", run.stdout());
    let reasons: Vec<String> = report["workspaces"][0]["unfixable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| format!("{}: {}", u["package"], u["reason"]).replace('"', ""))
        .collect();
    assert!(
        reasons.contains(
            &"plain: no published version of plain is patched (newest published: 1.0.0)".to_string()
        ),
        "{reasons:#?}"
    );
}

#[test]
fn apply_runs_cargo_keeps_formatting_and_re_audits() {
    let s = setup(true);
    let run = s.fix(&["--apply", "--format", "json"], &[]);
    // doomed and yanky cannot be fixed: still non-zero.
    run.expect_code(1);
    let report = run.json();
    let results: Vec<(String, String)> = report["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["fixes"].as_array().unwrap().iter())
        .map(|f| (f["package"].as_str().unwrap().to_string(), f["result"].as_str().unwrap_or("").to_string()))
        .collect();
    assert!(results.iter().all(|(_, r)| r == "fixed"), "{:#}", report);
    assert_eq!(report["workspaces"][0]["remaining"], json!(["doomed@1.0.0", "yanky@1.0.0"]));
    assert_eq!(report["workspaces"][1]["remaining"], json!([]));

    // Only the requirement changed; comments and layout survive.
    assert_eq!(s.read("services/billing/Cargo.toml"), BILLING.replace("bumpy = \"0.1\"", "bumpy = \"0.2\""));
    assert_eq!(
        s.read("services/Cargo.toml"),
        SERVICES.replace("inherited = { version = \"0.3\"", "inherited = { version = \"0.4\"")
    );
    let lock = s.read("services/Cargo.lock");
    for (name, version) in [
        ("plain", "1.0.2"),
        ("bumpy", "0.2.0"),
        ("inherited", "0.4.0"),
        ("deep", "0.5.1"),
        ("corelib", "0.2.0"),
        ("frame", "2.1.0"),
    ] {
        assert!(
            lock.contains(&format!("name = \"{name}\"\nversion = \"{version}\"")),
            "{name} {version} not locked:\n{lock}"
        );
    }
    for (name, version) in [("plain", "1.0.0"), ("corelib", "0.1.0"), ("deep", "0.5.0")] {
        assert!(
            !lock.contains(&format!("name = \"{name}\"\nversion = \"{version}\"")),
            "{name} {version} still locked"
        );
    }
    assert!(s.read("tools/Cargo.lock").contains("name = \"plain\"\nversion = \"1.0.2\""));

    // A second plan has nothing left to fix.
    let again = s.fix(&["--format", "json"], &[]).json();
    assert_eq!(again["workspaces"][0]["fixes"], json!([]));
    assert_eq!(again["workspaces"].as_array().unwrap().len(), 1, "tools is clean: {again:#}");
}

#[test]
fn a_failing_cargo_update_puts_every_file_of_that_fix_back() {
    // bumpy 0.2.0 needs a crate the registry does not have: its `cargo update` fails after its
    // manifest was edited; the other fixes still apply.
    let fixes: Vec<Published> = FIXES
        .iter()
        .map(|p| {
            if p.0 == "bumpy" && p.1 == "0.2.0" {
                ("bumpy", "0.2.0", &[("ghost", "1")][..], false)
            } else {
                *p
            }
        })
        .collect();
    let s = setup_with(&fixes);
    let (manifest, lock) = (s.read("services/billing/Cargo.toml"), s.read("services/Cargo.lock"));
    let run = s.fix(&["--apply", "--format", "json"], &[]);
    run.expect_code(1);
    let report = run.json();
    let fixes = report["workspaces"][0]["fixes"].as_array().unwrap();
    let bumpy = fixes.iter().find(|f| f["package"] == "bumpy").unwrap();
    assert_eq!(bumpy["result"], "failed");
    let error = bumpy["error"].as_str().unwrap();
    assert!(
        error.contains("--precise 0.2.0` failed") && error.contains("no matching package named `ghost`"),
        "{error}"
    );
    assert!(fixes.iter().filter(|f| f["package"] != "bumpy").all(|f| f["result"] == "fixed"), "{report:#}");
    assert_eq!(report["workspaces"][0]["remaining"], json!(["bumpy@0.1.0", "doomed@1.0.0", "yanky@1.0.0"]));
    // The manifest is back byte for byte; the lockfile moved only for the other fixes.
    assert_eq!(s.read("services/billing/Cargo.toml"), manifest);
    let now = s.read("services/Cargo.lock");
    assert_ne!(now, lock);
    assert!(now.contains("name = \"bumpy\"\nversion = \"0.1.0\""));
}

#[test]
fn apply_refuses_to_overwrite_uncommitted_changes() {
    let s = setup(true);
    let edited = format!("{BILLING}# work in progress\n");
    s.repo.file("services/billing/Cargo.toml", &edited);
    let run = s.fix(&["--apply"], &[]);
    run.expect_code(2);
    assert!(
        run.stderr().contains(
            "services/billing/Cargo.toml has uncommitted changes that `fix --apply` would overwrite"
        ),
        "{}",
        run.stderr()
    );
    assert_eq!(s.read("services/billing/Cargo.toml"), edited);
    assert!(s.read("services/Cargo.lock").contains("name = \"plain\"\nversion = \"1.0.0\""));
}

/// The setup with a bare `origin` holding `main`, and a fake GitHub for `acme/fleet`.
fn with_remote() -> (Setup, PathBuf, FakeGitHub) {
    let s = setup(true);
    let remote = s._home.path().join("remote.git");
    git(s._home.path(), &["init", "-q", "--bare", "-b", "main", remote.to_str().unwrap()]);
    git(s.repo.path(), &["remote", "add", "origin", remote.to_str().unwrap()]);
    git(s.repo.path(), &["push", "-q", "origin", "main"]);
    let github = FakeGitHub::start("acme", "fleet", TOKEN);
    (s, remote, github)
}

fn open_pr(s: &Setup, github: &FakeGitHub, args: &[&str]) -> Run {
    let mut all = vec!["--open-pr", "--format", "json"];
    all.extend(args);
    let run = s.fix(
        &all,
        &[("GITHUB_TOKEN", TOKEN), ("GITHUB_API_URL", &github.url), ("GITHUB_REPOSITORY", "acme/fleet")],
    );
    assert!(!run.stdout().contains(TOKEN) && !run.stderr().contains(TOKEN), "the token was printed");
    run
}

/// The user's repository is as it was: on `main` at `head`, clean, no leftover worktree.
fn untouched(s: &Setup, head: &str) {
    let p = s.repo.path();
    assert_eq!(git(p, &["symbolic-ref", "--short", "HEAD"]), "main");
    assert_eq!(git(p, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(p, &["status", "--porcelain"]), "");
    assert_eq!(git(p, &["worktree", "list", "--porcelain"]).matches("worktree ").count(), 1);
}

fn actions(report: &Value) -> Vec<String> {
    report["pull_requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{} {} pushed={}", p["branch"], p["action"], p["pushed"]).replace('"', ""))
        .collect()
}

#[test]
fn open_pr_pushes_one_branch_per_workspace_and_a_rerun_changes_nothing() {
    let (s, remote, github) = with_remote();
    let head = git(s.repo.path(), &["rev-parse", "HEAD"]);
    let run = open_pr(&s, &github, &[]);
    // doomed and yanky are not fixable: still exit 1.
    run.expect_code(1);
    let report = run.json();
    assert_eq!(
        actions(&report),
        ["fleetward/fix/services created pushed=true", "fleetward/fix/tools created pushed=true"]
    );
    untouched(&s, &head);

    // The branches hold the fixes, on top of main.
    let r = remote.as_path();
    let show = |rev: &str| git(r, &["show", rev]);
    assert!(show("fleetward/fix/services:services/billing/Cargo.toml").contains("bumpy = \"0.2\""));
    assert!(
        show("fleetward/fix/services:services/Cargo.lock").contains("name = \"frame\"\nversion = \"2.1.0\"")
    );
    assert!(show("fleetward/fix/tools:tools/Cargo.lock").contains("name = \"plain\"\nversion = \"1.0.2\""));
    assert_eq!(git(r, &["rev-parse", "fleetward/fix/tools~1"]), head);
    let message = git(r, &["log", "-1", "--format=%B", "fleetward/fix/services"]);
    assert!(message.starts_with("fleetward: fix 5 vulnerable dependencies in `services`\n\n"), "{message}");
    for line in [
        "- RUSTSEC-2026-9001: plain 1.0.0 -> 1.0.2 (high; billing)",
        "- RUSTSEC-2026-9005: corelib 0.1.0 -> 0.2.0 (medium; ledger)",
        "Not fixed:\n- doomed 1.0.0 (RUSTSEC-2026-9006): the advisory names no patched version: remove or replace doomed",
    ] {
        assert!(message.contains(line), "missing {line:?} in\n{message}");
    }

    let pulls = github.pulls();
    assert_eq!(pulls.len(), 2);
    let services = pulls.iter().find(|p| p.head == "fleetward/fix/services").expect("services PR");
    assert_eq!(services.base, "main");
    assert_eq!(services.title, "fleetward: fix 5 vulnerable dependencies in `services`");
    for row in [
        "| [RUSTSEC-2026-9002](https://rustsec.org/advisories/RUSTSEC-2026-9002.html) | `bumpy` | 0.1.0 | 0.2.0 | critical | billing | `services/billing/Cargo.toml`: bumpy `0.1` -> `0.2` |",
        "| [RUSTSEC-2026-9005](https://rustsec.org/advisories/RUSTSEC-2026-9005.html) | `corelib` | 0.1.0 | 0.2.0 | medium | ledger | frame 2.0.0 -> 2.1.0 |",
        "### Not fixed\n\n- doomed 1.0.0",
        "- yanky 1.0.0 (RUSTSEC-2026-9007): every patched version of yanky is yanked (1.0.1)",
    ] {
        assert!(services.body.contains(row), "missing {row:?} in\n{}", services.body);
    }
    assert_eq!(github.violations(), Vec::<String>::new());

    // Again: the same commit, nothing pushed, the pull requests only read.
    let seen = github.requests().len();
    let again = open_pr(&s, &github, &[]);
    again.expect_code(1);
    assert_eq!(
        actions(&again.json()),
        ["fleetward/fix/services unchanged pushed=false", "fleetward/fix/tools unchanged pushed=false"]
    );
    let later: Vec<String> = github.requests()[seen..].to_vec();
    assert!(later.iter().all(|r| r.starts_with("GET ")), "{later:#?}");
    assert_eq!(github.pulls().len(), 2);
    untouched(&s, &head);
}

#[test]
fn a_rerun_after_main_moved_updates_the_branches_and_the_pull_request() {
    let (s, remote, github) = with_remote();
    open_pr(&s, &github, &[]).expect_code(1);
    let old_tools = git(&remote, &["rev-parse", "fleetward/fix/tools"]);
    // Someone fixes `deep` by hand on main.
    s.cargo(&s.repo.path().join("services"), &["update", "-p", "deep", "--precise", "0.5.1"]);
    git(s.repo.path(), &["commit", "-qam", "bump deep"]);
    git(s.repo.path(), &["push", "-q", "origin", "main"]);
    let head = git(s.repo.path(), &["rev-parse", "HEAD"]);

    let run = open_pr(&s, &github, &[]);
    run.expect_code(1);
    assert_eq!(
        actions(&run.json()),
        ["fleetward/fix/services updated pushed=true", "fleetward/fix/tools unchanged pushed=true"]
    );
    let pulls = github.pulls();
    assert_eq!(pulls.len(), 2, "no duplicate pull request");
    let services = pulls.iter().find(|p| p.head == "fleetward/fix/services").unwrap();
    assert_eq!(services.title, "fleetward: fix 4 vulnerable dependencies in `services`");
    assert!(!services.body.contains("`deep`"));
    assert!(
        github
            .requests()
            .iter()
            .any(|r| r.starts_with(&format!("PATCH /repos/acme/fleet/pulls/{}", services.number)))
    );
    assert_ne!(git(&remote, &["rev-parse", "fleetward/fix/tools"]), old_tools);
    assert_eq!(git(&remote, &["rev-parse", "fleetward/fix/tools~1"]), head);
    assert_eq!(github.violations(), Vec::<String>::new());
    untouched(&s, &head);
}

#[test]
fn every_failure_stops_clearly_and_leaves_the_repository_as_it_was() {
    let (s, remote, github) = with_remote();
    let head = git(s.repo.path(), &["rev-parse", "HEAD"]);
    let fails = |run: Run, expected: &str| {
        run.expect_code(2);
        assert!(run.stderr().contains(expected), "expected {expected:?} in:\n{}", run.stderr());
        untouched(&s, &head);
    };

    // A dirty work tree.
    s.repo.file("tools/src/main.rs", "fn main() { println!(); }\n");
    let run = open_pr(&s, &github, &[]);
    run.expect_code(2);
    assert!(
        run.stderr().contains("the work tree has uncommitted changes (tools/src/main.rs)"),
        "{}",
        run.stderr()
    );
    assert_eq!(git(s.repo.path(), &["status", "--porcelain"]), "M tools/src/main.rs");
    git(s.repo.path(), &["checkout", "-q", "--", "tools/src/main.rs"]);
    untouched(&s, &head);

    // A missing remote.
    fails(open_pr(&s, &github, &["--remote", "upstream"]), "there is no git remote named `upstream`");

    // No token.
    let run = s.fix(&["--open-pr"], &[("GITHUB_API_URL", &github.url), ("GITHUB_REPOSITORY", "acme/fleet")]);
    fails(run, "no GitHub token: set GITHUB_TOKEN or GH_TOKEN");

    // API errors, on the first request.
    for (status, headers, body, expected) in [
        (401, vec![], r#"{"message":"Bad credentials"}"#, "401"),
        (
            403,
            vec![("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1700000000")],
            r#"{"message":"API rate limit exceeded"}"#,
            "rate limit",
        ),
        (
            403,
            vec![],
            r#"{"message":"Resource not accessible by integration"}"#,
            "Resource not accessible by integration",
        ),
        (404, vec![], r#"{"message":"Not Found"}"#, "acme/fleet"),
        (
            422,
            vec![],
            r#"{"message":"Validation Failed","errors":[{"message":"No commits between main and fleetward/fix/services"}]}"#,
            "No commits between main and fleetward/fix/services",
        ),
    ] {
        github.fail_next(status, &headers, body);
        fails(open_pr(&s, &github, &[]), expected);
    }
    assert_eq!(github.pulls().len(), 0);

    // A push the remote rejects.
    let hook = remote.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'fleetward/fix/* is protected here' >&2\nexit 1\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let branches_before = git(&remote, &["branch", "--list"]);
    fails(open_pr(&s, &github, &[]), "is protected here");
    assert_eq!(git(&remote, &["branch", "--list"]), branches_before);
    assert_eq!(github.violations(), Vec::<String>::new());
}

#[test]
fn the_policy_can_ask_for_one_pull_request_per_service() {
    let (s, remote, github) = with_remote();
    s.repo.file(
        "fleetward.toml",
        "fail_on = \"low\"\n\n[advisories]\nmax_db_age = 0\n\n[fix]\npull_requests = \"service\"\n",
    );
    git(s.repo.path(), &["commit", "-qam", "one PR per service"]);
    let run = open_pr(&s, &github, &[]);
    run.expect_code(1);
    assert_eq!(
        actions(&run.json()),
        [
            "fleetward/fix/services--billing created pushed=true",
            "fleetward/fix/services--ledger created pushed=true",
            "fleetward/fix/tools--tools created pushed=true"
        ]
    );
    let billing = git(&remote, &["show", "fleetward/fix/services--billing:services/Cargo.lock"]);
    assert!(
        billing.contains("name = \"plain\"\nversion = \"1.0.2\"")
            && billing.contains("name = \"deep\"\nversion = \"0.5.0\"")
    );
    let ledger = git(&remote, &["show", "fleetward/fix/services--ledger:services/Cargo.lock"]);
    assert!(
        ledger.contains("name = \"plain\"\nversion = \"1.0.0\"")
            && ledger.contains("name = \"deep\"\nversion = \"0.5.1\"")
    );
    let titles: Vec<String> = github.pulls().iter().map(|p| p.title.clone()).collect();
    assert_eq!(
        titles,
        [
            "fleetward: fix 3 vulnerable dependencies of billing in `services`",
            "fleetward: fix 2 vulnerable dependencies of ledger in `services`",
            "fleetward: fix 1 vulnerable dependency of tools in `tools`"
        ]
    );
    let ledger_pr = &github.pulls()[1];
    assert!(ledger_pr.body.contains("- doomed 1.0.0") && !github.pulls()[0].body.contains("doomed"));
    assert_eq!(github.violations(), Vec::<String>::new());

    // A policy typo is an error at its line.
    s.repo.file("fleetward.toml", "[fix]\npull_requests = \"services\"\n");
    let run = s.fix(&[], &[]);
    run.expect_code(2);
    assert!(run.stderr().contains("unknown value `services` in `fix.pull_requests`"), "{}", run.stderr());
}

#[test]
fn a_broken_lockfile_is_named_and_every_other_workspace_is_still_planned() {
    let s = setup(true);
    s.repo
        .file("broken/Cargo.toml", "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
        .file("broken/src/main.rs", "fn main() {}\n")
        .file("broken/Cargo.lock", "version = 4\n\n[[package]]\nname = \"plain\"\nversion = \n");
    let run = s.fix(&["--format", "json"], &[]);
    run.expect_code(1);
    let report = run.json();
    assert_eq!(summary(&report), expected_plan());
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{report:#}");
    assert!(errors[0].as_str().unwrap().starts_with("broken/Cargo.lock:5: invalid Cargo.lock"), "{errors:?}");
}
