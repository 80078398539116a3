//! The coverage check end to end: reports made by the real tools (cargo-llvm-cov and tarpaulin,
//! committed under fixtures/coverage/reports by fixtures/coverage/regen.sh) and hand-made edge
//! cases, read by the real binary against a copy of the fixture fleet they were made from.

use crate::util::{TempRepo, copy_dir, fixture};
use serde_json::Value;

/// The fixture fleet with every report copied under `reports/`.
fn fleet(policy: &str) -> TempRepo {
    let repo = TempRepo::from_fixture("coverage/fleet");
    copy_dir(&fixture("coverage/reports"), &repo.path().join("reports"));
    if !policy.is_empty() {
        repo.file("fleetward.toml", policy);
    }
    repo
}

fn run_json(repo: &TempRepo, reports: &[&str], extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["check", "--only", "coverage", "--format", "json"];
    for r in reports {
        args.extend(["--coverage", r]);
    }
    args.extend(extra);
    let run = repo.run(&args);
    (run.code(), run.json())
}

/// (service, metric, covered, total, percent, verdict) rows.
fn rows(doc: &Value) -> Vec<(String, String, u64, u64, Option<f64>, String)> {
    doc["coverage"]
        .as_array()
        .expect("coverage rows")
        .iter()
        .map(|r| {
            (
                r["service"].as_str().unwrap().to_string(),
                r["metric"].as_str().unwrap().to_string(),
                r["covered"].as_u64().unwrap(),
                r["total"].as_u64().unwrap(),
                r["percent"].as_f64(),
                r["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn line_rows(doc: &Value) -> Vec<(String, u64, u64, Option<f64>)> {
    rows(doc).into_iter().filter(|r| r.1 == "lines").map(|r| (r.0, r.2, r.3, r.4)).collect()
}

/// (rule, file, line, message) of every finding.
fn findings(doc: &Value) -> Vec<(String, String, u64, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn s(x: &str) -> String {
    x.to_string()
}

#[test]
fn llvm_cov_lcov_cobertura_and_json_give_the_same_line_percentages() {
    let repo = fleet("");
    let expected = vec![
        (s("billing"), 39, 52, Some(75.0)),
        (s("ledger"), 16, 45, Some(35.56)),
        (s("money"), 39, 41, Some(95.12)),
        (s("notify"), 0, 11, Some(0.0)),
    ];
    for report in
        ["reports/llvm-cov/lcov.info", "reports/llvm-cov/cobertura.xml", "reports/llvm-cov/coverage.json"]
    {
        let (code, doc) = run_json(&repo, &[report], &[]);
        assert_eq!(code, 0, "{report}");
        assert_eq!(line_rows(&doc), expected, "{report}");
        assert_eq!(doc["coverage_reports"][0]["matched"], 6, "{report}");
    }
    // Functions agree too; regions come from the JSON export only.
    let (_, doc) = run_json(&repo, &["reports/llvm-cov/coverage.json"], &[]);
    let fns: Vec<_> =
        rows(&doc).into_iter().filter(|r| r.1 != "lines").map(|r| (r.0, r.1, r.2, r.3)).collect();
    assert_eq!(
        fns,
        [
            (s("billing"), s("functions"), 9, 12),
            (s("billing"), s("regions"), 65, 99),
            (s("ledger"), s("functions"), 3, 7),
            (s("ledger"), s("regions"), 32, 92),
            (s("money"), s("functions"), 8, 11),
            (s("money"), s("regions"), 85, 93),
            (s("notify"), s("functions"), 0, 2),
            (s("notify"), s("regions"), 0, 14),
        ]
    );
    assert_eq!(doc["coverage_reports"][0]["format"], "llvm-json");
}

#[test]
fn tarpaulin_lcov_cobertura_and_json_give_the_same_line_percentages() {
    let repo = fleet("");
    let expected = vec![
        (s("billing"), 17, 28, Some(60.71)),
        (s("ledger"), 7, 31, Some(22.58)),
        (s("money"), 21, 23, Some(91.3)),
        (s("notify"), 0, 7, Some(0.0)),
    ];
    for (report, format) in [
        ("reports/tarpaulin/lcov.info", "lcov"),
        ("reports/tarpaulin/cobertura.xml", "cobertura"),
        ("reports/tarpaulin/tarpaulin-report.json", "tarpaulin-json"),
    ] {
        let (_, doc) = run_json(&repo, &[report], &[]);
        assert_eq!(line_rows(&doc), expected, "{report}");
        assert_eq!(doc["coverage_reports"][0]["format"], format);
    }
}

#[test]
fn thresholds_overrides_and_exact_findings() {
    let repo = fleet(
        "[coverage]\nlines = 80\nfunctions = 70\n\n\
         [[coverage.service]]\nservices = [\"ledger\"]\nlines = 30\nfunctions = 40\n\n\
         [[coverage.service]]\nservices = [\"services/notify\"]\nskip = true\n",
    );
    let (code, doc) = run_json(&repo, &["reports/llvm-cov/lcov.info"], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&doc),
        [(
            s("coverage/below-threshold"),
            s("services/billing/Cargo.toml"),
            1,
            s("line coverage 75.00% (39 of 52 lines) is below the required 80%")
        )]
    );
    let f = &doc["findings"][0];
    assert_eq!(
        f["coverage"],
        serde_json::json!({"metric": "lines", "percent": 75.0, "threshold": 80.0, "covered": 39, "total": 52})
    );
    assert_eq!(f["services"], serde_json::json!(["billing"]));
    let verdicts: Vec<_> = rows(&doc).into_iter().map(|r| (r.0, r.1, r.5)).collect();
    assert_eq!(
        verdicts,
        [
            (s("billing"), s("lines"), s("below-threshold")),
            (s("billing"), s("functions"), s("pass")),
            (s("ledger"), s("lines"), s("pass")),
            (s("ledger"), s("functions"), s("pass")),
            (s("money"), s("lines"), s("pass")),
            (s("money"), s("functions"), s("pass")),
            (s("notify"), s("lines"), s("skipped")),
        ]
    );
    // The human table shows the same.
    let out = repo.run(&["check", "--only", "coverage", "--coverage", "reports/llvm-cov/lcov.info"]).stdout();
    assert!(
        out.contains("  billing  service  75.00% (min 80%)  75.00% (min 70%)  below threshold: lines\n"),
        "{out}"
    );
    assert!(out.contains("  notify   service  skipped"), "{out}");
}

#[test]
fn two_reports_of_one_service_merge_each_line_once() {
    let repo = fleet("");
    let (_, unit) = run_json(&repo, &["reports/edge/unit.lcov"], &[]);
    let (_, integration) = run_json(&repo, &["reports/edge/integration.lcov"], &[]);
    let (_, both) = run_json(&repo, &["reports/edge/unit.lcov", "reports/edge/integration.lcov"], &[]);
    let billing = |doc: &Value| line_rows(doc).into_iter().find(|r| r.0 == "billing").map(|r| (r.1, r.2));
    assert_eq!(billing(&unit), Some((6, 16)));
    assert_eq!(billing(&integration), Some((6, 16)));
    assert_eq!(billing(&both), Some((11, 16)), "16 lines once each, covered if covered in either");
    // The registry and toolchain files of the integration report are not the repository's.
    assert_eq!(both["coverage_reports"][1]["files"], 3);
    assert_eq!(both["coverage_reports"][1]["matched"], 1);
    // billing's other files are listed, not counted; the services no report names say so.
    assert_eq!(
        both["coverage_unreported"],
        serde_json::json!([{"service": "billing", "files": ["services/billing/src/main.rs", "services/billing/src/tax.rs"], "counted_as_uncovered": false}])
    );
    let no_report: Vec<_> = rows(&both).into_iter().filter(|r| r.5 == "no-report").map(|r| r.0).collect();
    assert_eq!(no_report, ["ledger", "money", "notify"]);
}

#[test]
fn missing_files_uncovered_and_require_report() {
    let repo = fleet(
        "[coverage]\nlines = 50\nmissing_files = \"uncovered\"\nrequire_report = true\n\n[[coverage.service]]\nservices = [\"money\"]\nrequire_report = false\n",
    );
    let (code, doc) = run_json(&repo, &["reports/edge/unit.lcov", "reports/edge/integration.lcov"], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&doc),
        [
            (
                s("coverage/below-threshold"),
                s("services/billing/Cargo.toml"),
                1,
                // 16 measured lines, plus main.rs (3) and tax.rs (10) estimated and uncovered.
                s("line coverage 37.93% (11 of 29 lines) is below the required 50%")
            ),
            (
                s("coverage/missing-report"),
                s("services/ledger/Cargo.toml"),
                1,
                s("no coverage report names any of its files")
            ),
            (
                s("coverage/missing-report"),
                s("services/notify/Cargo.toml"),
                1,
                s("no coverage report names any of its files")
            ),
        ]
    );
    assert_eq!(doc["coverage_unreported"][0]["counted_as_uncovered"], true);
    // No report at all: every required service says why.
    let repo = TempRepo::from_fixture("coverage/fleet");
    repo.file("fleetward.toml", "[coverage]\nrequire_report = true\n\n[[coverage.service]]\nservices = [\"money\"]\nrequire_report = false\n");
    let (code, doc) = run_json(&repo, &[], &[]);
    assert_eq!(code, 1);
    let missing: Vec<_> =
        findings(&doc).into_iter().map(|f| (f.1, f.3.starts_with("no coverage report was found"))).collect();
    assert_eq!(
        missing,
        [
            (s("services/billing/Cargo.toml"), true),
            (s("services/ledger/Cargo.toml"), true),
            (s("services/notify/Cargo.toml"), true)
        ]
    );
}

#[test]
fn no_drop_compares_with_the_recorded_baseline() {
    let repo = fleet("");
    // Record the llvm-cov numbers as the baseline...
    let run = repo.run(&[
        "baseline",
        "--only",
        "coverage",
        "--coverage",
        "reports/llvm-cov/lcov.info",
        "-o",
        "coverage-baseline.json",
    ]);
    run.expect_code(0);
    assert!(run.stdout().contains("coverage of 4 services (8 values)"), "{}", run.stdout());
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(repo.path().join("coverage-baseline.json")).unwrap())
            .unwrap();
    assert_eq!(b["version"], 1);
    assert_eq!(
        b["coverage"][0],
        serde_json::json!({"service": "money", "path": "libs/money", "metric": "functions", "percent": 72.73, "covered": 8, "total": 11})
    );
    // ...then check tarpaulin's lower numbers against it.
    repo.file(
        "fleetward.toml",
        "[coverage]\nno_drop = true\ntolerance = 0.5\nbaseline = \"coverage-baseline.json\"\n\n[[coverage.service]]\nservices = [\"ledger\"]\ntolerance = 15\n",
    );
    let (code, doc) = run_json(&repo, &["reports/tarpaulin/lcov.info"], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        findings(&doc),
        [
            (
                s("coverage/dropped"),
                s("libs/money/Cargo.toml"),
                1,
                s("line coverage dropped from 95.12% to 91.30% (21 of 23 lines; tolerance 0.5 points)")
            ),
            (
                s("coverage/dropped"),
                s("services/billing/Cargo.toml"),
                1,
                s("function coverage dropped from 75.00% to 66.67% (4 of 6 functions; tolerance 0.5 points)")
            ),
            (
                s("coverage/dropped"),
                s("services/billing/Cargo.toml"),
                1,
                s("line coverage dropped from 75.00% to 60.71% (17 of 28 lines; tolerance 0.5 points)")
            ),
        ]
    );
    // ledger fell 12.98 points in lines and 2.86 in functions, within its own tolerance of 15.
    let ledger: Vec<_> = rows(&doc).into_iter().filter(|r| r.0 == "ledger").map(|r| (r.1, r.5)).collect();
    assert_eq!(ledger, [(s("lines"), s("pass")), (s("functions"), s("pass"))]);
    // The same report as the baseline passes, to the last digit.
    let (code, _) = run_json(&repo, &["reports/llvm-cov/lcov.info"], &[]);
    assert_eq!(code, 0);
    // A baseline that cannot be read is exit 2 with the way out.
    std::fs::remove_file(repo.path().join("coverage-baseline.json")).unwrap();
    let run = repo.run(&["check", "--only", "coverage", "--coverage", "reports/llvm-cov/lcov.info"]);
    run.expect_code(2);
    assert!(run.stderr().contains("fleetward baseline -o"), "{}", run.stderr());
}

#[test]
fn bad_reports_are_findings_at_their_line_and_the_rest_is_still_checked() {
    let repo = fleet("");
    let (code, doc) = run_json(
        &repo,
        &[
            "reports/edge/truncated.lcov",
            "reports/edge/malformed.xml",
            "reports/edge/truncated.json",
            "reports/edge/not-coverage.json",
            "reports/edge/foreign.lcov",
            "reports/llvm-cov/lcov.info",
        ],
        &[],
    );
    assert_eq!(code, 1, "parse errors are high");
    let got: Vec<_> = findings(&doc).into_iter().map(|f| (f.0, f.1, f.2)).collect();
    assert_eq!(
        got,
        [
            (s("coverage/unmatched-report"), s("reports/edge/foreign.lcov"), 1),
            (s("fleetward/parse-error"), s("reports/edge/malformed.xml"), 18),
            (s("fleetward/parse-error"), s("reports/edge/not-coverage.json"), 1),
            (s("fleetward/parse-error"), s("reports/edge/truncated.json"), 41),
            (s("fleetward/parse-error"), s("reports/edge/truncated.lcov"), 31),
        ]
    );
    let messages: Vec<_> = findings(&doc).into_iter().map(|f| f.3).collect();
    assert!(messages[4].contains("no `end_of_record`; the file is truncated"), "{messages:?}");
    assert!(messages[1].contains("expected `</lines>`, but `</class>` was found"), "{messages:?}");
    // The good report still counts, and only it.
    assert_eq!(line_rows(&doc)[0], (s("billing"), 39, 52, Some(75.0)));
    let errors: Vec<_> =
        doc["coverage_reports"].as_array().unwrap().iter().map(|r| r["error"].is_string()).collect();
    assert_eq!(errors, [true, true, true, true, false, false]);
}

#[test]
fn windows_paths_branches_and_branchless_reports() {
    let repo = fleet("[coverage]\nbranches = 50\n");
    let (_, doc) = run_json(&repo, &["reports/edge/windows.xml"], &[]);
    assert!(line_rows(&doc).contains(&(s("ledger"), 4, 6, Some(66.67))), "{:?}", line_rows(&doc));
    // The branch threshold applies only where a report measures branches.
    let (code, doc) = run_json(&repo, &["reports/edge/branches.lcov"], &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&doc)[0].3, "branch coverage 25.00% (1 of 4 branches) is below the required 50%");
    let (code, doc) = run_json(&repo, &["reports/tarpaulin/lcov.info"], &[]);
    assert_eq!(code, 0, "tarpaulin measures no branches here: nothing to fail");
    let billing: Vec<_> = rows(&doc).into_iter().filter(|r| r.0 == "billing").map(|r| (r.1, r.5)).collect();
    assert_eq!(
        billing,
        [(s("lines"), s("measured")), (s("functions"), s("measured")), (s("branches"), s("no-data"))]
    );
}

#[test]
fn reports_are_found_by_policy_globs_or_discovery() {
    // Discovery: an lcov.info in the repository is read with no flag.
    let repo = TempRepo::from_fixture("coverage/fleet");
    std::fs::copy(fixture("coverage/reports/llvm-cov/lcov.info"), repo.path().join("lcov.info")).unwrap();
    // coverage.py's coverage.json (a polyglot monorepo) is found by its name too, but is not
    // ours: skipped without a finding.
    repo.file(
        "tools/py/coverage.json",
        r#"{"meta": {"format": 3}, "files": {"a.py": {"executed_lines": [1]}}, "totals": {}}"#,
    );
    let (code, doc) = run_json(&repo, &[], &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["coverage_reports"][0]["file"], "lcov.info");
    assert_eq!(doc["coverage_reports"][1]["file"], "tools/py/coverage.json");
    assert!(doc["coverage_reports"][1]["error"].as_str().unwrap().starts_with("not a coverage report"));
    assert_eq!(findings(&doc), []);
    assert_eq!(line_rows(&doc)[0], (s("billing"), 39, 52, Some(75.0)));
    // Asked for by name, it is a finding.
    let (_, doc) = run_json(&repo, &["tools/py/coverage.json"], &[]);
    assert_eq!(findings(&doc)[0].0, "fleetward/parse-error");
    // Policy globs reach into target/ (which discovery skips), besides --coverage.
    let repo = fleet("[coverage]\nreports = [\"target/llvm-cov/*.info\"]\n");
    repo.file(
        "target/llvm-cov/unit.info",
        std::fs::read(fixture("coverage/reports/edge/unit.lcov")).unwrap(),
    );
    let (_, doc) = run_json(&repo, &["reports/edge/integration.lcov"], &[]);
    let files: Vec<_> = doc["coverage_reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files, ["reports/edge/integration.lcov", "target/llvm-cov/unit.info"]);
    assert_eq!(line_rows(&doc)[0], (s("billing"), 11, 16, Some(68.75)));
    // A --coverage file that does not exist is a bad argument.
    repo.run(&["check", "--only", "coverage", "--coverage", "nope.info"]).expect_code(2);
    // No report and no [coverage]: the check stays silent.
    let repo = TempRepo::from_fixture("coverage/fleet");
    let (code, doc) = run_json(&repo, &[], &[]);
    assert_eq!(code, 0);
    assert!(doc.get("coverage").is_none());
}

#[test]
fn output_is_identical_at_any_thread_count() {
    let repo = fleet("[coverage]\nlines = 60\n");
    let args = [
        "reports/llvm-cov/coverage.json",
        "reports/tarpaulin/cobertura.xml",
        "reports/edge/unit.lcov",
        "reports/edge/truncated.lcov",
    ];
    let mut outputs = Vec::new();
    for j in ["1", "2", "4"] {
        let mut a = vec!["check", "--only", "coverage", "--format", "sarif", "-j", j];
        for r in args {
            a.extend(["--coverage", r]);
        }
        outputs.push(repo.run(&a).stdout());
    }
    assert_eq!(outputs[0], outputs[1]);
    assert_eq!(outputs[0], outputs[2]);
    assert!(outputs[0].contains("coverage/below-threshold"));
}
