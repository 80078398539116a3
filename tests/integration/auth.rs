//! The `auth` check and `fleetward routes`: every fixture of `fixtures/auth` (the 29 cases of
//! the spec, their variants and our own) gives exactly its `expected.txt`; findings, SARIF code
//! flows, stale allowlist entries, directives, bad input and determinism.

use crate::util::{TempRepo, fixture, run_in};

/// One line per route, as in the fixtures' `expected.txt`:
/// `<verdict> <METHOD> <path> <handler>[ <severity>][ [pitfalls]]`.
fn route_lines(doc: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = doc["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .map(|r| {
            let verdict = r["verdict"].as_str().unwrap();
            let mut l = format!(
                "{verdict} {} {} {}",
                r["methods"][0].as_str().unwrap(),
                r["path"].as_str().unwrap(),
                r["handler"].as_str().unwrap()
            );
            if verdict == "unprotected" || verdict == "unresolvable" {
                l.push(' ');
                l.push_str(r["severity"].as_str().unwrap());
                let mut p: Vec<&str> =
                    r["pitfalls"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
                p.sort();
                if !p.is_empty() {
                    l.push_str(&format!(" [{}]", p.join(",")));
                }
            }
            l
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_fixture_gives_its_expected_verdicts() {
    let root = fixture("auth");
    let mut dirs: Vec<_> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    assert!(dirs.len() >= 47, "the spec's 29 cases, their variants and our own cases");
    let mut failures = Vec::new();
    for dir in &dirs {
        let run = run_in(dir, &["routes", ".", "--format", "json"]);
        run.expect_code(0);
        let doc = run.json();
        assert_eq!(doc["errors"], serde_json::json!([]), "{}", dir.display());
        let got = route_lines(&doc);
        let text = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
        let mut want: Vec<String> =
            text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
        want.sort();
        assert!(!want.is_empty(), "{} has no expected routes", dir.display());
        if got != want {
            failures.push(format!(
                "{}\n  expected:\n    {}\n  got:\n    {}",
                dir.file_name().unwrap().to_string_lossy(),
                want.join("\n    "),
                got.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{} fixtures differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn late_route_finding_carries_the_trail_evidence_and_a_code_flow() {
    let dir = fixture("auth/t05-axum-nest-after-layer-through-fn");
    let run = run_in(&dir, &["check", ".", "--only", "auth", "--format", "json"]);
    run.expect_code(1);
    let doc = run.json();
    let findings: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "auth/unauthenticated-route")
        .collect();
    assert_eq!(findings.len(), 1, "{doc:#}");
    let f = findings[0];
    assert_eq!(f["severity"], "critical");
    let route = &f["route"];
    assert_eq!(route["path"], "/debug/prof/cpu");
    assert_eq!(route["methods"], serde_json::json!(["POST"]));
    assert_eq!(route["handler"], "pprof_handler");
    assert_eq!(route["verdict"], "unprotected");
    assert_eq!(route["pitfalls"], serde_json::json!(["late-route"]));
    assert_eq!(route["missed_auth"][0]["what"], "from_fn_with_state(check_http_auth)");
    let ops: Vec<&str> =
        route["composition"].as_array().unwrap().iter().map(|c| c["what"].as_str().unwrap()).collect();
    assert_eq!(ops, ["nest /debug", "serve main"]);
    // The evidence lists what did not count, and why.
    assert!(route["reason"].as_str().unwrap().contains("added after `from_fn_with_state(check_http_auth)`"));
    assert!(f["help"].as_str().unwrap().contains("route_layer"));

    let sarif = run_in(&dir, &["check", ".", "--only", "auth", "--format", "sarif"]).json();
    let result = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "auth/unauthenticated-route")
        .expect("result");
    let flow = result["codeFlows"][0]["threadFlows"][0]["locations"].as_array().unwrap();
    assert_eq!(flow.len(), 3, "registration, nest, serve");
    let related: Vec<&str> = result["relatedLocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message"]["text"].as_str().unwrap())
        .collect();
    assert!(related.iter().any(|m| m.contains("applied before this route was added")), "{related:?}");
}

#[test]
fn findings_are_identical_at_any_thread_count_and_fingerprints_ignore_lines() {
    let root = fixture("auth");
    let a = run_in(&root, &["check", ".", "--only", "auth", "--format", "json", "-j", "1"]);
    let b = run_in(&root, &["check", ".", "--only", "auth", "--format", "json", "-j", "2"]);
    assert_eq!(a.stdout(), b.stdout());
    let doc = a.json();
    let n = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("auth/"))
        .count();
    assert!(n > 40, "{n} auth findings over the fixture fleet");

    // Moving a route down two lines keeps its fingerprint.
    let repo = TempRepo::from_fixture("auth/t02-axum-route-after-layer");
    let before = repo.run(&["check", ".", "--only", "auth", "--format", "json"]).json();
    let main = std::fs::read_to_string(repo.path().join("src/main.rs")).unwrap();
    repo.file("src/main.rs", format!("\n\n{main}"));
    let after = repo.run(&["check", ".", "--only", "auth", "--format", "json"]).json();
    let fp = |d: &serde_json::Value| {
        d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "auth/unauthenticated-route")
            .map(|f| (f["fingerprint"].clone(), f["line"].clone()))
            .collect::<Vec<_>>()
    };
    let (b, a) = (fp(&before), fp(&after));
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].0, a[0].0);
    assert_ne!(b[0].1, a[0].1);
}

const AXUM_MANIFEST: &str = "[dependencies]\naxum = \"0.8\"\ntokio = \"1\"\n";

#[test]
fn bad_input_is_reported_and_other_services_still_checked() {
    let repo = TempRepo::new();
    repo.package("svc/good", "good", true, AXUM_MANIFEST);
    repo.file(
        "svc/good/src/main.rs",
        "use axum::{Router, routing::get};\nasync fn open() {}\n#[tokio::main]\nasync fn main() {\n    let app = Router::new().route(\"/open\", get(open));\n    axum::serve(l, app).await.unwrap();\n}\n",
    );
    repo.package("svc/broken", "broken", true, AXUM_MANIFEST);
    repo.file("svc/broken/src/main.rs", "fn main() { let x = ; }\n");
    repo.file("svc/broken/src/bin/latin1.rs", b"fn main() { let s = \"caf\xe9\"; }\n".as_slice());
    // A deeply nested expression does not overflow the stack.
    let deep = format!("fn main() {{ let x = {}1{}; }}\n", "(".repeat(3000), ")".repeat(3000));
    repo.file("svc/broken/src/bin/deep.rs", deep);
    let run = repo.run(&["check", ".", "--only", "auth", "--format", "json"]);
    run.expect_code(1);
    let doc = run.json();
    let rules: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["file"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        rules.contains(&("auth/unauthenticated-route".into(), "svc/good/src/main.rs".into())),
        "{rules:?}"
    );
    assert!(rules.contains(&("fleetward/parse-error".into(), "svc/broken/src/main.rs".into())), "{rules:?}");
}

#[test]
fn policy_allowlist_stale_entries_directives_and_service_overrides() {
    let repo = TempRepo::new();
    repo.package(".", "api", true, AXUM_MANIFEST);
    repo.file(
        "src/main.rs",
        r#"use axum::{Router, routing::{get, post}, middleware};
async fn hook() {}
async fn status() {}
async fn probe() {}
async fn guarded() {}
async fn admin() {}
#[tokio::main]
async fn main() {
    let app = Router::new()
        .route("/webhooks/stripe", post(hook))
        // fleetward:public
        .route("/status", get(status))
        // fleetward:public load balancer probe
        .route("/lb", get(probe))
        .route("/internal/admin", get(admin))
        .route("/guarded", get(guarded).route_layer(middleware::from_fn(require_session)));
    axum::serve(l, app).await.unwrap();
}
// fleetward:protected-by gateway checked upstream
"#,
    );
    repo.file(
        "fleetward.toml",
        r#"[auth.names]
middleware_fns = ["require_session"]

[[auth.public]]
path = "/webhooks/stripe"
methods = ["POST"]
reason = "HMAC-verified in the handler"

[[auth.public]]
glob = "/old/**"
reason = "removed long ago"

[[auth.public]]
path = "/guarded"
reason = "was public once"

[[auth.service]]
services = ["api"]
severity = "medium"
"#,
    );
    let doc = repo.run(&["routes", ".", "--format", "json"]).json();
    assert_eq!(
        route_lines(&doc),
        [
            // Allowlisted wins over protected (and makes the entry stale, below).
            "public GET /guarded guarded",
            "public GET /lb probe",
            "public POST /webhooks/stripe hook",
            "unprotected GET /internal/admin admin critical",
            // A directive without a reason is ignored.
            "unprotected GET /status status medium",
        ]
    );
    let check = repo.run(&["check", ".", "--only", "auth", "--format", "json"]).json();
    let stale: Vec<(u64, String)> = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "auth/stale-allowlist")
        .map(|f| (f["line"].as_u64().unwrap(), f["message"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        stale,
        [
            (10, "public entry glob `/old/**`: matches no route".to_string()),
            (14, "public entry path `/guarded`: matches only routes that are protected anyway".to_string()),
            (19, "`fleetward:protected-by gateway` is not on or above a route registration or handler of a served route".to_string()),
        ]
    );
    let no_reason: Vec<u64> = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "fleetward/suppression-without-reason")
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(no_reason, [11]);
}

#[test]
fn external_auth_caps_severity_and_suggest_policy_names_candidates() {
    let repo = TempRepo::new();
    repo.package(".", "edge", true, AXUM_MANIFEST);
    repo.file(
        "src/main.rs",
        r#"use axum::{Router, routing::get, middleware, extract::FromRequestParts};
pub struct SessionUser;
impl<S> FromRequestParts<S> for SessionUser { type Rejection = (); }
async fn me(u: SessionUser) {}
async fn list() {}
#[tokio::main]
async fn main() {
    let app = Router::new()
        .route("/me", get(me))
        .route("/list", get(list))
        .layer(middleware::from_fn(check_token));
    axum::serve(l, app).await.unwrap();
}
"#,
    );
    let run = repo.run(&["routes", ".", "--format", "json", "--suggest-policy"]);
    let doc = run.json();
    assert_eq!(
        route_lines(&doc),
        ["unresolvable GET /list list info", "unresolvable GET /me me info"],
        "`check_token` looks like auth: unresolvable, not unprotected"
    );
    let suggestions: Vec<(String, String)> = doc["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["list"].as_str().unwrap().to_string(), s["name"].as_str().unwrap().to_string()))
        .collect();
    assert!(suggestions.contains(&("extractors".into(), "SessionUser".into())), "{suggestions:?}");
    assert!(
        suggestions.contains(&("middleware_fns".into(), "from_fn(check_token)".into())),
        "{suggestions:?}"
    );

    repo.file("fleetward.toml", "[auth.names]\nmiddleware_fns = [\"check_token\"]\n");
    let doc = repo.run(&["routes", ".", "--format", "json"]).json();
    assert_eq!(route_lines(&doc), ["protected GET /list list", "protected GET /me me"]);

    repo.file("fleetward.toml", "[[auth.service]]\nservices = [\"edge\"]\nexternal_auth = true\n");
    let run = repo.run(&["check", ".", "--only", "auth", "--format", "json"]);
    run.expect_code(0);
    let human = repo.run(&["routes", "."]).stdout();
    assert!(human.contains("2 routes: 0 protected, 0 unprotected, 0 public, 2 unresolvable"), "{human}");
}

#[test]
fn all_routers_reports_routers_nothing_serves() {
    let repo = TempRepo::new();
    repo.package(".", "lib-routes", false, AXUM_MANIFEST);
    repo.file(
        "src/lib.rs",
        "use axum::{Router, routing::get};\nasync fn stats() {}\nfn internal() -> Router { Router::new().route(\"/stats\", get(stats)) }\n",
    );
    let doc = repo.run(&["routes", ".", "--format", "json"]).json();
    assert_eq!(
        route_lines(&doc),
        Vec::<String>::new(),
        "a private router nobody serves is not reported by default"
    );
    let doc = repo.run(&["routes", ".", "--format", "json", "--all-routers"]).json();
    assert_eq!(route_lines(&doc), ["unprotected GET /stats stats high"]);
}

/// Two workspaces, each with one axum service: `a` serves `/health`, `b` serves `/items`.
fn two_workspaces(policy: &str) -> TempRepo {
    let repo = TempRepo::new();
    repo.file("fleetward.toml", policy);
    for (ws, path, handler) in [("a", "/health", "health"), ("b", "/items", "items")] {
        repo.file(&format!("{ws}/Cargo.toml"), "[workspace]\nmembers = [\"svc\"]\n");
        repo.package(
            &format!("{ws}/svc"),
            &format!("svc-{ws}"),
            true,
            "[dependencies]\naxum = \"0.7\"\ntokio = \"1\"\n",
        );
        repo.file(
            &format!("{ws}/svc/src/main.rs"),
            format!(
                "use axum::{{routing::get, Router}};\nasync fn {handler}() -> &'static str {{ \"ok\" }}\n\
                 #[tokio::main]\nasync fn main() {{\n    let app = Router::new().route(\"{path}\", get({handler}));\n    \
                 let l = tokio::net::TcpListener::bind(\"0.0.0.0:3000\").await.unwrap();\n    axum::serve(l, app).await.unwrap();\n}}\n"
            ),
        );
    }
    repo
}

/// (rule, file, line, message) of every finding.
fn rows(doc: &serde_json::Value) -> Vec<(String, String, u64, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("rule"), s("file"), f["line"].as_u64().unwrap(), s("message"))
        })
        .collect()
}

#[test]
fn a_public_entry_is_judged_over_every_workspace_cached_or_not_and_in_shards() {
    let policy = "[[auth.public]]\npath = \"/health\"\nreason = \"probe\"\n\n\
                  [[auth.public]]\npath = \"/gone\"\nreason = \"removed\"\n";
    let repo = two_workspaces(policy);
    let expected = vec![
        (
            "auth/unauthenticated-route".to_string(),
            "b/svc/src/main.rs".to_string(),
            5,
            "GET /items (axum) is reachable without authentication: no auth middleware, guard, extractor or attribute covers `items`".to_string(),
        ),
        ("auth/stale-allowlist".to_string(), "fleetward.toml".to_string(), 6, "public entry path `/gone`: matches no route".to_string()),
    ];
    // `/health` matches a route of workspace `a` only: not stale, though `b` has no such route.
    for cache in [&["--no-cache"][..], &[][..], &[][..]] {
        let mut args = vec!["check", "--only", "auth", "--format", "json"];
        args.extend_from_slice(cache);
        let run = repo.run(&args);
        run.expect_code(1);
        assert_eq!(rows(&run.json()), expected, "{args:?}");
    }
    // Every shard judges its own routes; the first judges the entries, over the whole fleet.
    let shard =
        |k: &str| rows(&repo.run(&["check", "--only", "auth", "--format", "json", "--shard", k]).json());
    let (one, two) = (shard("1/2"), shard("2/2"));
    assert_eq!(one.iter().filter(|r| r.0 == "auth/stale-allowlist").count(), 1, "{one:?}");
    assert!(two.iter().all(|r| r.0 != "auth/stale-allowlist"), "{two:?}");
    let mut all: Vec<_> = one.into_iter().chain(two).collect();
    all.sort();
    all.dedup();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(all, want);
}
