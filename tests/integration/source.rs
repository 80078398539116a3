//! The source engine end to end on a temporary repository: files read from disk, owned by the
//! package with the longest directory prefix, re-exports collected across the crate's files,
//! bad files reported without stopping the others, identical results at any thread count.
//! (Driven through the library with a hand-built fleet until `workspace::load` lands; the
//! rule docs are checked through the real binary.)

use crate::util::TempRepo;
use fleetward::checks::CheckCtx;
use fleetward::checks::source::{self, Enabled, cfg::SourceConfig};
use fleetward::config::Policy;
use fleetward::diag::Sink;
use fleetward::workspace::{Fleet, Package, PackageKind};

fn package(name: &str, dir: &str) -> Package {
    Package::new(name, dir, PackageKind::Service)
}

fn repo() -> (TempRepo, Fleet) {
    let repo = TempRepo::new();
    repo.file("services/api/src/util.rs", "pub use std::mem::transmute as reinterpret;\n")
        .file(
            "services/api/src/main.rs",
            "mod util;\nuse crate::util::reinterpret;\nfn main() {\n    let _: f32 = unsafe { reinterpret(1u32) };\n}\n",
        )
        .file("services/api/tests/it.rs", "fn t() { unsafe { std::mem::transmute::<u32, f32>(1) }; }\n")
        .file("services/api/src/bad.rs", "// calls std::env::set_var\nfn f( {\n")
        .file("services/api/src/latin1.rs", b"// caf\xe9\nfn f() {}\n".as_slice())
        .file(
            "services/worker/src/main.rs",
            "fn main() {\n    let c = reqwest::Client::builder().danger_accept_invalid_certs(true);\n}\n",
        )
        .file("stray.rs", "fn f() { unsafe { std::mem::transmute::<u32, f32>(1) }; }\n");
    let mut files = vec![
        "services/api/src/bad.rs",
        "services/api/src/latin1.rs",
        "services/api/src/main.rs",
        "services/api/src/util.rs",
        "services/api/tests/it.rs",
        "services/worker/src/main.rs",
        "stray.rs",
    ];
    files.sort();
    let fleet = Fleet {
        root: repo.path().to_path_buf(),
        packages: vec![package("api", "services/api"), package("worker", "services/worker")],
        rust_files: files.into_iter().map(String::from).collect(),
        ..Fleet::default()
    };
    (repo, fleet)
}

fn run(fleet: &Fleet, threads: usize) -> Vec<String> {
    let policy = Policy::default();
    let ctx = CheckCtx {
        fleet,
        policy: &policy,
        now: jiff::civil::date(2026, 11, 22),
        cache: None,
        scope: None,
        progress: &fleetward::progress::Progress::default(),
        lockfiles: &Default::default(),
    };
    let sink = Sink::new();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
    pool.install(|| source::check(&ctx, Enabled::ALL, &SourceConfig::default(), &sink));
    sink.into_sorted()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}:{} [{}] {}",
                f.rule,
                f.location.file,
                f.location.span.line,
                f.location.span.column,
                f.services.join(","),
                f.message
            )
        })
        .collect()
}

#[test]
fn scans_every_package_file_once_and_reports_bad_files() {
    let (_repo, fleet) = repo();
    let got = run(&fleet, 2);
    let expected = vec![
        "fleetward/parse-error services/api/src/bad.rs:2:7 [api] rust syntax error: unbalanced delimiter or invalid token",
        "fleetward/parse-error services/api/src/latin1.rs:1:7 [api] source file is not valid UTF-8",
        "unsafe/unsafe-without-safety-comment services/api/src/main.rs:4:18 [api] `unsafe` block without a `// SAFETY:` comment",
        "banned/memory-transmute services/api/src/main.rs:4:27 [api] memory reinterpreted with transmute: `reinterpret` resolved to `std::mem::transmute`",
        "banned/tls-verification-disabled services/worker/src/main.rs:2:40 [worker] tls verification disabled: `.danger_accept_invalid_certs()`",
    ];
    assert_eq!(got, expected, "{got:#?}");
}

#[test]
fn identical_with_one_and_two_threads() {
    let (_repo, fleet) = repo();
    assert_eq!(run(&fleet, 1), run(&fleet, 2));
}

#[test]
fn rules_are_explained_by_the_binary() {
    let repo = TempRepo::new();
    let out = repo.run(&["rules", "banned/sql-built-with-format"]);
    out.expect_code(0);
    assert!(out.stdout().contains("Use instead:"), "{}", out.stdout());
    assert!(out.stdout().contains("cwe.mitre.org/data/definitions/89.html"));
    let list = repo.run(&["rules"]).stdout();
    for id in ["banned/memory-transmute", "unsafe/unsafe-without-safety-comment", "secrets/aws-access-key"] {
        assert!(list.contains(id), "{id} missing from `fleetward rules`");
    }
}

/// `[banned]`, `[unsafe]` and `[source]` of the policy, end to end through the binary: a deny
/// entry becomes a rule (documented in SARIF), a per-service override turns rules off and on,
/// per-service severities and unsafe modes apply, an exception suppresses (not drops) its
/// findings, and expired and unused exceptions are findings at their line of the policy.
#[test]
fn policy_sections_drive_the_source_checks() {
    let repo = TempRepo::new();
    repo.file(
        "fleetward.toml",
        r#"[unsafe]
mode = "deny"
[[unsafe.service]]
services = ["ffi"]
mode = "allow"

[banned]
severity = { "banned/memory-transmute" = "low" }

[[banned.deny]]
path = "std::process::exit"
reason = "services stop through the supervisor"
replacement = "return an error from main"

[[banned.exception]]
rule = "banned/policy-exit"
reason = "the admin CLI exits on bad flags"
paths = ["services/admin/**"]

[[banned.exception]]
rule = "banned/memory-box-from-raw"
reason = "old ffi shim"
expires = 2026-01-01

[[banned.exception]]
rule = "banned/memory-transmute"
reason = "nothing left"
services = ["nobody"]

[[banned.service]]
services = ["legacy-*"]
disable = ["banned/*"]
severity = { "banned/policy-exit" = "high" }
enable = ["banned/policy-exit"]
"#,
    )
    .package("services/api", "api", true, "")
    .package("services/admin", "admin", true, "")
    .package("services/ffi", "ffi", true, "")
    .package("services/legacy-billing", "legacy-billing", true, "")
    .file(
        "services/api/src/main.rs",
        "use std::process;\nfn main() {\n    let _: f32 = unsafe { std::mem::transmute(1u32) };\n    let _ = unsafe { Box::from_raw(std::ptr::null_mut::<u8>()) };\n    process::exit(1);\n}\n",
    )
    .file("services/admin/src/main.rs", "fn main() {\n    std::process::exit(2);\n}\n")
    .file("services/ffi/src/main.rs", "fn main() {\n    let _: f32 = unsafe { std::mem::transmute(1u32) };\n}\n")
    .file(
        "services/legacy-billing/src/main.rs",
        "fn main() {\n    let _: f32 = unsafe { std::mem::transmute(1u32) };\n    std::process::exit(3);\n}\n",
    );
    let run = repo.run(&["check", "--only", "banned,unsafe", "--format", "json"]);
    run.expect_code(1);
    let report = run.json();
    let got: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {}:{}{}",
                f["rule"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
                f["line"],
                if f["suppressed"] == true { " suppressed" } else { "" }
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "fleetward/expired-exception medium fleetward.toml:21",
            "fleetward/unused-exception info fleetward.toml:26",
            "banned/policy-exit medium services/admin/src/main.rs:2 suppressed",
            "unsafe/unsafe-code medium services/api/src/main.rs:3",
            "banned/memory-transmute low services/api/src/main.rs:3",
            "unsafe/unsafe-code medium services/api/src/main.rs:4",
            "banned/memory-box-from-raw medium services/api/src/main.rs:4",
            "banned/policy-exit medium services/api/src/main.rs:5",
            "banned/memory-transmute low services/ffi/src/main.rs:2",
            "unsafe/unsafe-code medium services/legacy-billing/src/main.rs:2",
            "banned/policy-exit high services/legacy-billing/src/main.rs:3",
        ]
    );
    let exit = report["findings"].as_array().unwrap().iter().find(|f| f["line"] == 5).unwrap().clone();
    assert_eq!(
        exit["message"],
        "`process::exit` resolved to `std::process::exit` is banned by the fleet policy: services stop through the supervisor"
    );

    let sarif = repo.run(&["check", "--only", "banned", "--format", "sarif"]).json();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = rules.iter().find(|r| r["id"] == "banned/policy-exit").expect("deny rule documented");
    assert_eq!(rule["shortDescription"]["text"], "`std::process::exit` is banned by the fleet policy");
    assert!(rule["help"]["text"].as_str().unwrap().contains("services stop through the supervisor"));
}

/// The result cache: a warm run reads every file from the cache and reports byte-identical
/// output; an edited file is scanned again; a corrupted cache file is ignored and rewritten;
/// `--no-cache` neither reads nor writes.
#[test]
fn result_cache_is_exact_and_never_trusted_when_broken() {
    let repo = TempRepo::new();
    repo.package("svc", "svc", true, "")
        .file("svc/src/main.rs", "fn main() {\n    let _: f32 = unsafe { std::mem::transmute(1u32) };\n}\n");
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    let args = ["check", "--only", "banned,unsafe,secrets", "--format", "json", "--cache-dir", dir, "-v"];
    let cold = repo.run(&args);
    assert!(cold.stderr().contains("cache (0 hits, 1 misses)"), "{}", cold.stderr());
    let warm = repo.run(&args);
    assert!(warm.stderr().contains("cache (1 hits, 0 misses)"), "{}", warm.stderr());
    assert_eq!(cold.stdout(), warm.stdout());
    assert_eq!(cold.json()["findings"].as_array().unwrap().len(), 2);

    repo.file("svc/src/main.rs", "fn main() {}\n");
    let edited = repo.run(&args);
    assert!(edited.stderr().contains("cache (0 hits, 1 misses)"), "{}", edited.stderr());
    assert_eq!(edited.json()["findings"].as_array().unwrap().len(), 0);

    let files: Vec<_> = std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "one cache file per root: {files:?}");
    std::fs::write(&files[0], "{\"format\": 1, \"entries\": [garbage").unwrap();
    let after = repo.run(&args);
    assert!(after.stderr().contains("cache (0 hits, 1 misses)"), "{}", after.stderr());
    assert_eq!(after.stdout(), edited.stdout());
    assert!(repo.run(&args).stderr().contains("cache (1 hits, 0 misses)"), "rewritten");

    let fresh = tempfile::tempdir().unwrap();
    let env = [("FLEETWARD_CACHE_DIR", fresh.path().to_str().unwrap())];
    let off =
        crate::util::run_with_env(repo.path(), &["check", "--only", "banned", "--no-cache", "-v"], &env);
    assert!(!off.stderr().contains("cache ("), "{}", off.stderr());
    assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 0);
    let on = crate::util::run_with_env(repo.path(), &["check", "--only", "banned", "-v"], &env);
    assert!(on.stderr().contains("cache (0 hits, 1 misses)"), "{}", on.stderr());
    assert_eq!(std::fs::read_dir(fresh.path()).unwrap().count(), 1, "$FLEETWARD_CACHE_DIR is the default");
}

/// An unchanged file is not read again on a rerun (the cache knows its stamp), yet a change is
/// always seen, even one that keeps the size and the modification time.
#[test]
fn file_stamps_never_hide_a_change() {
    let repo = TempRepo::new();
    repo.package("svc", "svc", true, "")
        .file("svc/src/main.rs", "fn main() {\n    let _: f32 = unsafe { std::mem::transmute(1u32) };\n}\n")
        .file("svc/deploy.env", "AWS_ACCESS_KEY_ID=AKIAZ7Q3XW5R2M4N6P8J\n");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let age = |rel: &str| {
        let f = std::fs::File::options().write(true).open(repo.path().join(rel)).unwrap();
        f.set_modified(old).unwrap();
    };
    age("svc/src/main.rs");
    age("svc/deploy.env");
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    let args = ["check", "--only", "banned,unsafe,secrets", "--format", "json", "--cache-dir", dir, "-v"];
    let rules = |run: &crate::util::Run| -> Vec<String> {
        run.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    let cold = repo.run(&args);
    assert_eq!(
        rules(&cold),
        ["secrets/aws-access-key", "unsafe/unsafe-without-safety-comment", "banned/memory-transmute"]
    );
    let warm = repo.run(&args);
    assert!(warm.stderr().contains("cache (2 hits, 0 misses)"), "{}", warm.stderr());
    assert_eq!(warm.stdout(), cold.stdout());
    // Same sizes, same modification times, other contents.
    repo.file("svc/src/main.rs", "fn main() {\n    let _: f32 = unsafe { std::mem::transmuta(1u32) };\n}\n")
        .file("svc/deploy.env", "AWS_ACCESS_KEY_ID=AKIAZ7Q3XW5R2M4N6P8_\n");
    age("svc/src/main.rs");
    age("svc/deploy.env");
    let edited = repo.run(&args);
    assert_eq!(rules(&edited), ["unsafe/unsafe-without-safety-comment"], "{}", edited.stderr());
}

/// `secrets` reads every text file the walk lists, not only Rust: hidden `.env` files, YAML,
/// PEM files, text in another encoding; not binaries, not documentation placeholders, not a
/// package's `tests/`; a directive in the file's own comment syntax suppresses.
#[test]
fn secrets_in_every_text_file() {
    let repo = TempRepo::from_fixture("secrets/text");
    let run = repo.run(&["check", "--only", "secrets", "--format", "json"]);
    run.expect_code(1);
    let got: Vec<String> = run.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}:{}{}",
                f["rule"].as_str().unwrap(),
                f["file"].as_str().unwrap(),
                f["line"],
                f["column"],
                if f["suppressed"] == true { " suppressed" } else { "" }
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "secrets/aws-access-key .env:3:19",
            "secrets/private-key deploy/server.pem:1:1",
            "secrets/slack-token deploy/values.yaml:3:10",
            "secrets/github-token deploy/values.yaml:6:10 suppressed",
            "secrets/stripe-live-key latin1.conf:2:8",
        ]
    );
}
