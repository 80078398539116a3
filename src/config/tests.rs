//! Unit tests of the policy loader: one good and one bad case per validation rule, the starter
//! file, and how problems are collected and located.

use super::*;
use std::path::Path;

/// Every problem of `src` as `line N: message [help]`.
fn problems(src: &str) -> Vec<String> {
    match validate(src, Path::new("/repo")) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .iter()
            .map(|p| {
                let line = crate::diag::line_col(src, p.span.offset()).0;
                match &p.help {
                    Some(h) => format!("line {line}: {} [{h}]", p.message),
                    None => format!("line {line}: {}", p.message),
                }
            })
            .collect(),
    }
}

/// The one problem of `src`.
fn problem(src: &str) -> String {
    let mut all = problems(src);
    assert_eq!(all.len(), 1, "expected one problem, got {all:#?}");
    all.remove(0)
}

fn ok(src: &str) -> Policy {
    validate(src, Path::new("/repo")).unwrap_or_else(|p| panic!("expected no problems, got {p:#?}"))
}

/// Every key of the schema, set to a non-default value.
const FULL: &str = r#"
fail_on = "high"

[fleet]
service_roots = ["services/*", "apps/**"]
exclude = ["experiments/**"]

[advisories]
db = "../advisory-db"
max_db_age = "30d"
informational = ["unsound"]

[[advisories.ignore]]
id = "RUSTSEC-2023-0071"
reason = "we only verify signatures"
expires = 2026-12-31
services = ["billing", "libs/*"]

[[advisories.ignore]]
id = "GHSA-c2f4-cvqm-65w2"
reason = "alias of a rustsec advisory"
expires = "2027-01-15"

[severity]
"advisories/unmaintained" = "medium"
"manifest/*" = "high"
"#;

// ----- the starter and the full schema -------------------------------------------------------

#[test]
fn empty_file_is_the_default_policy() {
    let p = ok("");
    assert_eq!(p.fail_on, Severity::Medium);
    assert_eq!(p.advisories.max_db_age_days, 90);
    assert_eq!(p.advisories.informational, INFORMATIONAL);
    assert!(p.severity.is_empty() && p.advisories.ignore.is_empty() && p.fleet.exclude.is_empty());
}

#[test]
fn starter_loads_with_zero_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, STARTER).unwrap();
    let p = load(Some(&path), dir.path()).unwrap_or_else(|e| panic!("{:#?}", e.problems));
    assert_eq!(p.fail_on, Severity::Medium);
    assert_eq!(p.advisories.max_db_age_days, 90);
    assert_eq!(p.advisories.informational, INFORMATIONAL);
    assert_eq!(p.rel_path.as_deref(), Some(FILE_NAME));
    // The values the starter sets are the defaults.
    let (a, d) = (&p.auth, crate::checks::auth::cfg::AuthConfig::default());
    assert_eq!(
        (a.severity, a.severity_sensitive, a.severity_conditional, a.severity_unresolvable),
        (d.severity, d.severity_sensitive, d.severity_conditional, d.severity_unresolvable)
    );
    assert_eq!(a.treat_conditional_as, d.treat_conditional_as);
    let globs = |c: &crate::checks::auth::cfg::AuthConfig| {
        c.sensitive_paths.iter().map(|g| g.pattern.clone()).collect::<Vec<_>>()
    };
    assert_eq!(globs(a), globs(&d));
    assert!(a.public.is_empty() && a.services.is_empty() && a.exclude.is_empty());
}

/// Uncomment every example line of the starter (`# key = value`, `# [[table]]`): the result
/// must validate too, and set every key of the schema.
#[test]
fn starter_examples_uncommented_are_valid() {
    let example = regex::Regex::new(r#"^# ((\[\[?[a-z.]+\]\]?)|("[a-z/*-]+"|[a-z_]+) = .+)$"#).unwrap();
    let mut uncommented = 0;
    let text: String = STARTER
        .lines()
        .map(|l| {
            if example.is_match(l) {
                uncommented += 1;
                format!("{}\n", &l[2..])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert!(uncommented >= 10, "only {uncommented} example lines found in the starter");
    let p = ok(&text);
    assert_eq!(p.fleet.service_roots[0].pattern, "services/*");
    assert_eq!(p.fleet.exclude[0].pattern, "experiments/**");
    assert_eq!(p.advisories.db.as_deref(), Some(Path::new("/repo/advisory-db")));
    assert_eq!(p.advisories.ignore.len(), 1);
    assert_eq!(p.advisories.ignore[0].services, ["billing", "libs/*"]);
    assert_eq!(p.severity.len(), 2);
    let b = &p.source.banned;
    assert_eq!((b.rules.len(), b.exceptions.len(), b.services.len(), b.disable.len()), (1, 1, 1, 1));
    assert_eq!(b.rules[0].id, "banned/policy-exit");
    assert_eq!(p.source.unsafe_policy.overrides.len(), 1);
    let a = &p.auth;
    assert_eq!(a.exclude[0].pattern, "**/generated/**");
    assert_eq!(a.names.middleware_fns, ["require_auth", "crate::auth::*"]);
    assert_eq!(a.names.extractors, ["Claims", "AuthUser"]);
    assert_eq!((a.public.len(), a.public[0].methods.len()), (1, 2));
    assert_eq!((a.services.len(), a.services[0].public.len()), (1, 1));
    assert_eq!(a.services[0].severity, Some(Severity::Critical));
    let m = &p.manifest;
    assert!(m.configured && !m.dev_dependencies && m.build_dependencies);
    assert_eq!(m.bans.len(), 1);
    assert_eq!((m.bans[0].name.as_str(), m.bans[0].use_instead.as_deref()), ("openssl-sys", Some("rustls")));
    assert_eq!(m.bans[0].allow.len(), 1);
    assert_eq!((m.required.len(), m.required[0].name.as_str()), (1, "tracing"));
    assert_eq!(m.drift.chosen["tokio"].0, semver::Version::new(1, 40, 0));
    assert_eq!(m.sources.registries.as_deref(), Some(&["crates-io".to_string()][..]));
    assert_eq!(m.require.min_edition.as_deref(), Some("2021"));
    assert_eq!(m.require.release_panic.as_deref(), Some("abort"));
    assert_eq!(m.services.len(), 1);
    assert!(!p.fix.per_service);
}

/// Every key the starter mentions, in `FULL`, is read into the policy.
#[test]
fn full_policy_sets_every_field() {
    let p = ok(FULL);
    assert_eq!(p.fail_on, Severity::High);
    let globs: Vec<_> = p.fleet.service_roots.iter().map(|g| g.pattern.as_str()).collect();
    assert_eq!(globs, ["services/*", "apps/**"]);
    assert!(p.fleet.service_roots[0].is_match("services/billing"));
    assert!(!p.fleet.service_roots[0].is_match("services/billing/api"));
    assert!(p.fleet.exclude[0].is_match("experiments/a/b"));
    assert_eq!(p.advisories.db.as_deref(), Some(Path::new("/repo/../advisory-db")));
    assert_eq!(p.advisories.max_db_age_days, 30);
    assert_eq!(p.advisories.informational, ["unsound"]);
    let [a, b] = &p.advisories.ignore[..] else { panic!("two ignores expected") };
    assert_eq!((a.id.as_str(), a.line), ("RUSTSEC-2023-0071", 14));
    assert_eq!(a.reason, "we only verify signatures");
    assert_eq!(a.expires, Some(jiff::civil::date(2026, 12, 31)));
    assert_eq!(a.services, ["billing", "libs/*"]);
    assert_eq!((b.id.as_str(), b.line), ("GHSA-c2f4-cvqm-65w2", 20));
    assert_eq!(b.expires, Some(jiff::civil::date(2027, 1, 15)));
    assert!(b.services.is_empty());
    assert_eq!(p.severity.get("advisories/unmaintained"), Some(&Severity::Medium));
    assert_eq!(p.severity.get("manifest/*"), Some(&Severity::High));
}

// ----- unknown keys ----------------------------------------------------------------------------

#[test]
fn unknown_top_level_key_suggests_the_closest() {
    assert_eq!(
        problem("fial_on = \"high\"\n"),
        "line 1: unknown key `fial_on` at the top level [did you mean `fail_on`?]"
    );
}

#[test]
fn unknown_key_without_close_match_lists_the_keys() {
    assert_eq!(
        problem("[fleet]\nzzz = 1\n"),
        "line 2: unknown key `zzz` in `[fleet]` [known keys in `[fleet]`: `service_roots`, `exclude`]"
    );
}

#[test]
fn unknown_keys_in_nested_tables() {
    assert_eq!(
        problem("[advisories]\nmax_db_ag = 3\n"),
        "line 2: unknown key `max_db_ag` in `[advisories]` [did you mean `max_db_age`?]"
    );
    assert_eq!(
        problem("[[advisories.ignore]]\nid = \"RUSTSEC-2023-0071\"\nreasn = \"x\"\nreason = \"y\"\n"),
        "line 3: unknown key `reasn` in `advisories.ignore[1]` [did you mean `reason`?]"
    );
    assert_eq!(
        problem("[fleet]\nexclud = []\n"),
        "line 2: unknown key `exclud` in `[fleet]` [did you mean `exclude`?]"
    );
}

#[test]
fn unknown_section_is_an_unknown_key() {
    assert_eq!(
        problem("[advisory]\ndb = \"x\"\n"),
        "line 1: unknown key `advisory` at the top level [did you mean `advisories`?]"
    );
}

// ----- types -------------------------------------------------------------------------------------

#[test]
fn wrong_types_name_expected_and_found() {
    assert_eq!(problem("fail_on = 3\n"), "line 1: invalid `fail_on`: expected a string, found an integer");
    assert_eq!(problem("fleet = \"x\"\n"), "line 1: invalid `fleet`: expected a table, found a string");
    assert_eq!(
        problem("[fleet]\nexclude = \"target\"\n"),
        "line 2: invalid `fleet.exclude`: expected an array, found a string"
    );
    assert_eq!(
        problem("[fleet]\nexclude = [\"a\",\n  true]\n"),
        "line 3: invalid `fleet.exclude`: expected a string, found a boolean"
    );
    assert_eq!(
        problem("[advisories]\nignore = { id = \"x\" }\n"),
        "line 2: invalid `advisories.ignore`: expected an array, found a table"
    );
}

// ----- severities ------------------------------------------------------------------------------

#[test]
fn severities() {
    assert_eq!(ok("fail_on = \"critical\"").fail_on, Severity::Critical);
    assert_eq!(ok("fail_on = \"info\"").fail_on, Severity::Info);
    assert_eq!(
        problem("fail_on = \"medum\"\n"),
        "line 1: unknown severity `medum` for `fail_on` [did you mean `medium`?]"
    );
    assert_eq!(
        problem("fail_on = \"severe\"\n"),
        "line 1: unknown severity `severe` for `fail_on` [severities are: `info`, `low`, `medium`, `high`, `critical`]"
    );
}

// ----- globs -------------------------------------------------------------------------------------

#[test]
fn globs() {
    let p = ok("[fleet]\nexclude = [\"a/**\", \"b/*.rs\", \"{x,y}/z\"]\n");
    assert_eq!(p.fleet.exclude.len(), 3);
    assert!(
        problem("[fleet]\nexclude = [\"services/[\"]\n")
            .starts_with("line 2: invalid glob `services/[` in `fleet.exclude`: unclosed character class")
    );
    assert_eq!(
        problem("[fleet]\nservice_roots = [\"/services/*\"]\n"),
        "line 2: glob `/services/*` in `fleet.service_roots` is not a relative `/`-separated path [globs are matched against paths relative to the repository root, like `services/*`]"
    );
    assert_eq!(problem("[fleet]\nexclude = [\"\"]\n"), "line 2: empty string for `fleet.exclude`");
}

// ----- advisories ------------------------------------------------------------------------------

#[test]
fn db_is_relative_to_the_policy_directory() {
    assert_eq!(ok("[advisories]\ndb = \"db\"").advisories.db.as_deref(), Some(Path::new("/repo/db")));
    assert_eq!(ok("[advisories]\ndb = \"/abs/db\"").advisories.db.as_deref(), Some(Path::new("/abs/db")));
    assert_eq!(
        problem("[advisories]\ndb = 1\n"),
        "line 2: invalid `advisories.db`: expected a string, found an integer"
    );
}

#[test]
fn max_db_age() {
    assert_eq!(ok("[advisories]\nmax_db_age = 0").advisories.max_db_age_days, 0);
    assert_eq!(ok("[advisories]\nmax_db_age = 365").advisories.max_db_age_days, 365);
    assert_eq!(ok("[advisories]\nmax_db_age = \"90d\"").advisories.max_db_age_days, 90);
    let help = "[write a number of days, like 90 or \"90d\" (0 disables the check)]";
    assert_eq!(
        problem("[advisories]\nmax_db_age = -1\n"),
        format!("line 2: `advisories.max_db_age` is negative {help}")
    );
    assert_eq!(
        problem("[advisories]\nmax_db_age = \"3 months\"\n"),
        format!("line 2: invalid `advisories.max_db_age`: `3 months` is not a number of days {help}")
    );
    assert_eq!(
        problem("[advisories]\nmax_db_age = 1.5\n"),
        "line 2: invalid `advisories.max_db_age`: expected an integer or a string like \"90d\", found a float"
    );
}

#[test]
fn informational() {
    assert!(ok("[advisories]\ninformational = []").advisories.informational.is_empty());
    assert_eq!(
        ok("[advisories]\ninformational = [\"notice\", \"notice\"]").advisories.informational,
        ["notice"]
    );
    assert_eq!(
        problem("[advisories]\ninformational = [\"unmaintaned\"]\n"),
        "line 2: unknown value `unmaintaned` in `advisories.informational` [did you mean `unmaintained`?]"
    );
}

#[test]
fn ignore_ids() {
    for id in ["RUSTSEC-2023-0071", "CVE-2023-49092", "CVE-2021-1234567", "GHSA-c2f4-cvqm-65w2"] {
        let p = ok(&format!("[[advisories.ignore]]\nid = \"{id}\"\nreason = \"r\"\n"));
        assert_eq!(p.advisories.ignore[0].id, id);
    }
    assert_eq!(
        problem("[[advisories.ignore]]\nid = \"RUSTSEC-23-71\"\nreason = \"r\"\n"),
        "line 2: `RUSTSEC-23-71` is not an advisory id [advisory ids look like RUSTSEC-2023-0071, CVE-2023-12345 or GHSA-xxxx-xxxx-xxxx]"
    );
    assert_eq!(
        problem("[[advisories.ignore]]\nid = \"rustsec-2023-0071\"\nreason = \"r\"\n"),
        "line 2: `rustsec-2023-0071` is not an advisory id [write it `RUSTSEC-2023-0071`]"
    );
    assert_eq!(
        problem("[[advisories.ignore]]\nreason = \"r\"\n"),
        "line 1: missing `id` in `advisories.ignore[1]` [name the advisory, like `id = \"RUSTSEC-2023-0071\"`]"
    );
}

#[test]
fn ignore_reason_is_required_and_not_empty() {
    assert_eq!(
        problem("[[advisories.ignore]]\nid = \"RUSTSEC-2023-0071\"\n"),
        "line 1: missing `reason` in `advisories.ignore[1]` [say why this advisory is accepted, like `reason = \"not reachable: we never decrypt\"`]"
    );
    assert_eq!(
        problem("[[advisories.ignore]]\nid = \"RUSTSEC-2023-0071\"\nreason = \"  \"\n"),
        "line 3: empty string for `advisories.ignore[1].reason`"
    );
}

#[test]
fn ignore_dates() {
    let base = "[[advisories.ignore]]\nid = \"RUSTSEC-2023-0071\"\nreason = \"r\"\n";
    let expires = |v: &str| ok(&format!("{base}expires = {v}\n")).advisories.ignore[0].expires;
    assert_eq!(expires("2026-12-31"), Some(jiff::civil::date(2026, 12, 31)));
    assert_eq!(expires("\"2024-02-29\""), Some(jiff::civil::date(2024, 2, 29)));
    let help = "[write a date like 2026-12-31 (a TOML date or a \"YYYY-MM-DD\" string)]";
    for bad in
        ["\"2026-02-30\"", "\"next year\"", "\"2026-1-5\"", "2026-12-31T10:00:00", "2026-12-31T10:00:00Z"]
    {
        assert_eq!(
            problem(&format!("{base}expires = {bad}\n")),
            format!("line 4: invalid date for `advisories.ignore[1].expires` {help}"),
            "{bad}"
        );
    }
    assert_eq!(
        problem(&format!("{base}expires = 20261231\n")),
        "line 4: invalid `advisories.ignore[1].expires`: expected a date, found an integer"
    );
}

#[test]
fn ignore_services() {
    let base = "[[advisories.ignore]]\nid = \"RUSTSEC-2023-0071\"\nreason = \"r\"\n";
    let p = ok(&format!("{base}services = [\"billing\", \"libs/*\", \"services/ledger\"]\n"));
    let ig = &p.advisories.ignore[0];
    assert!(ig.applies_to("billing", "services/billing"));
    assert!(ig.applies_to("anything", "libs/crypto"));
    assert!(ig.applies_to("ledger", "services/ledger"));
    assert!(!ig.applies_to("auth", "services/auth"));
    assert!(ok(base).advisories.ignore[0].applies_to("auth", "services/auth"));
    assert_eq!(
        problem(&format!("{base}services = [\"libs/[\"]\n")),
        "line 4: invalid glob `libs/[` in `advisories.ignore[1].services`: unclosed character class; missing ']'"
    );
    assert_eq!(
        problem(&format!("{base}services = [\"\"]\n")),
        "line 4: empty string for `advisories.ignore[1].services`"
    );
}

#[test]
fn ignore_entries_are_numbered_and_inline_tables_work() {
    let src = "[advisories]\nignore = [\n  { id = \"RUSTSEC-2023-0071\", reason = \"r\" },\n  { id = \"RUSTSEC-2020-0071\" },\n]\n";
    assert_eq!(
        problem(src),
        "line 4: missing `reason` in `advisories.ignore[2]` [say why this advisory is accepted, like `reason = \"not reachable: we never decrypt\"`]"
    );
    let src = "[advisories]\nignore = [\n  { id = \"RUSTSEC-2023-0071\", reason = \"r\" },\n]\n";
    assert_eq!(ok(src).advisories.ignore[0].line, 3);
}

// ----- [severity] ------------------------------------------------------------------------------

#[test]
fn severity_overrides_good() {
    let p = ok(r#"[severity]
"advisories/unmaintained" = "medium"
"advisories/*" = "low"
"fleetward/parse-error" = "info"
"banned/insecure-hash-function" = "critical"
"#);
    assert_eq!(p.severity.len(), 4);
    assert_eq!(p.severity["banned/insecure-hash-function"], Severity::Critical);
}

#[test]
fn severity_overrides_bad() {
    assert_eq!(
        problem("[severity]\n\"advisory/*\" = \"low\"\n"),
        "line 2: unknown check `advisory` in `[severity]` [did you mean `advisories`?]"
    );
    assert_eq!(
        problem("[severity]\nadvisories = \"low\"\n"),
        "line 2: `advisories` in `[severity]` is not a rule id [write `\"advisories/*\"` for every rule of the `advisories` check]"
    );
    assert_eq!(
        problem("[severity]\n\"advisories/unmaintaned\" = \"low\"\n"),
        "line 2: unknown rule `advisories/unmaintaned` in `[severity]` [did you mean `advisories/unmaintained`?]"
    );
    assert_eq!(
        problem("[severity]\n\"manifest/Bad_Name\" = \"low\"\n"),
        "line 2: `manifest/Bad_Name` in `[severity]` is not a rule id [rule names are kebab-case (`advisories/unmaintained`), or `*` for every rule of the check]"
    );
    assert_eq!(
        problem("[severity]\n\"manifest/*\" = \"hgh\"\n"),
        "line 2: unknown severity `hgh` for `severity.\"manifest/*\"` [did you mean `high`?]"
    );
    assert_eq!(problem("severity = 3\n"), "line 1: invalid `severity`: expected a table, found an integer");
}

// ----- collecting and locating -----------------------------------------------------------------

#[test]
fn every_problem_is_reported_in_file_order() {
    let src = r#"fial_on = "high"
[fleet]
exclude = ["a/["]
[advisories]
max_db_age = "soon"
informational = ["unsond"]
[[advisories.ignore]]
id = "RUSTSEC-2023-71"
expires = "tomorrow"
[severity]
"advisories/*" = "severe"
"#;
    let lines: Vec<String> = problems(src).iter().map(|p| p.split(':').next().unwrap().to_string()).collect();
    assert_eq!(lines, ["line 1", "line 3", "line 5", "line 6", "line 7", "line 8", "line 9", "line 11"]);
}

#[test]
fn toml_syntax_error_is_one_problem_at_its_line() {
    let p = problem("fail_on = \"high\"\n[fleet\nexclude = []\n");
    assert!(p.starts_with("line 2: invalid TOML: "), "{p}");
    let p = problem("fail_on = \"high\"\nfail_on = \"low\"\n");
    assert!(p.starts_with("line 2: invalid TOML: duplicate key"), "{p}");
}

#[test]
fn problem_messages_follow_the_style() {
    let src = "fial_on = 1\nfail_on = \"x\"\n[fleet]\nexclude = [\"/a\", 3]\n[advisories]\nmax_db_age = -4\n[[advisories.ignore]]\nid = \"x\"\nreason = \"\"\nexpires = 1\n[severity]\nx = 1\n";
    let all = match validate(src, Path::new("/repo")) {
        Ok(_) => panic!("expected problems"),
        Err(p) => p,
    };
    assert!(all.len() >= 9, "{all:#?}");
    for p in &all {
        let first = p.message.chars().next().unwrap();
        assert!(!first.is_uppercase() && !p.message.ends_with('.'), "message style: {}", p.message);
        assert!(!p.label.is_empty() && !p.label.ends_with('.'), "label style: {}", p.label);
    }
}

// ----- load --------------------------------------------------------------------------------------

#[test]
fn load_without_a_file_is_the_default() {
    let p = load(None, Path::new("/nonexistent")).unwrap();
    assert!(p.path.is_none() && p.rel_path.is_none());
    assert_eq!(p.fail_on, Severity::Medium);
}

#[test]
fn load_sets_paths_and_resolves_db_next_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    std::fs::create_dir_all(root.join("ops")).unwrap();
    let path = root.join("ops/policy.toml");
    std::fs::write(&path, "fail_on = \"low\"\n[advisories]\ndb = \"db\"\n").unwrap();
    let p = load(Some(&path), &root).unwrap();
    assert_eq!(p.path.as_deref(), Some(path.as_path()));
    assert_eq!(p.rel_path.as_deref(), Some("ops/policy.toml"));
    assert_eq!(p.fail_on, Severity::Low);
    let db = p.advisories.db.unwrap();
    assert_eq!(db, std::fs::canonicalize(root.join("ops")).unwrap().join("db"));
    // Outside the scanned root: no relative path.
    let p = load(Some(&path), &root.join("ops/..").join("elsewhere")).unwrap();
    assert!(p.rel_path.is_none());
}

#[test]
fn load_error_counts_problems_and_keeps_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, "fial_on = \"high\"\nfail_on = \"hgh\"\n").unwrap();
    let err = load(Some(&path), dir.path()).unwrap_err();
    assert_eq!(err.problems.len(), 2);
    assert!(err.to_string().starts_with("invalid policy file "), "{err}");
    assert!(err.to_string().ends_with("fleetward.toml: 2 problems"), "{err}");
    std::fs::write(&path, "fail_on = 1\n").unwrap();
    let err = load(Some(&path), dir.path()).unwrap_err();
    assert!(err.to_string().ends_with(": 1 problem"), "{err}");
}

#[test]
fn load_reports_unreadable_and_non_utf8_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let err = load(Some(&missing), dir.path()).unwrap_err();
    assert!(
        err.to_string().starts_with("cannot read policy file ")
            && err.to_string().ends_with(": file not found")
    );
    assert!(err.problems.is_empty());

    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, b"fail_on = \"high\"\n# caf\xe9\n").unwrap();
    let err = load(Some(&path), dir.path()).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].message, "the policy file is not valid UTF-8");
    assert_eq!(err.problems[0].span.offset(), 22);
}

// ----- the context API, as a new section would use it ----------------------------------------

/// A made-up section validated with the context, the way `[banned]` or `[[services]]` will be:
/// nested sections, arrays of tables, free-form keys, and every getter reporting its problems.
#[test]
fn context_api_serves_a_new_section() {
    use context::{Ctx, Table};

    #[derive(Debug, Default, PartialEq)]
    struct Demo {
        enabled: bool,
        limit: i64,
        names: Vec<String>,
        per_service: Vec<(String, Severity)>,
        levels: BTreeMap<String, Severity>,
    }

    fn demo(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Demo {
        let mut out = Demo::default();
        let Some(t) = ctx.section(root, "demo", &["enabled", "limit", "names", "service", "levels"]) else {
            return out;
        };
        out.enabled = ctx.boolean(&t, "enabled").is_some_and(|b| *b.get_ref());
        out.limit = ctx.integer(&t, "limit").map_or(0, |n| n.into_inner());
        out.names =
            ctx.strings(&t, "names").unwrap_or_default().into_iter().map(|s| s.into_inner()).collect();
        for s in ctx.tables(&t, "service", &["name", "severity"]) {
            let name = ctx.required(&s, "name", "name the service").and_then(|v| ctx.string_value("name", v));
            let sev = ctx.severity(&s, "severity");
            if let (Some(n), Some(sev)) = (name, sev) {
                out.per_service.push((n.into_inner(), sev));
            }
        }
        if let Some(levels) = ctx.map_section(&t, "levels") {
            for (key, _, value) in levels.entries() {
                if let Some(sev) = ctx.severity_value(&levels.path_of(key), value) {
                    out.levels.insert(key.to_string(), sev);
                }
            }
        }
        out
    }

    fn run(src: &str) -> (Demo, Vec<String>) {
        let doc = toml::de::DeTable::parse(src).unwrap();
        let mut ctx = Ctx::new(src, Path::new("/repo"));
        let root = ctx.root(&doc, &["demo"]);
        let d = demo(&mut ctx, &root);
        let problems = ctx.finish().into_iter().map(|p| p.message).collect();
        (d, problems)
    }

    let (d, problems) = run(
        "[demo]\nenabled = true\nlimit = 0x10\nnames = [\"a\"]\n[[demo.service]]\nname = \"billing\"\nseverity = \"high\"\n[demo.levels]\nx = \"low\"\n",
    );
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(d.limit, 16);
    assert!(d.enabled);
    assert_eq!(d.per_service, [("billing".to_string(), Severity::High)]);
    assert_eq!(d.levels["x"], Severity::Low);

    let (_, problems) = run(
        "[demo]\nenabled = \"yes\"\nlimt = 3\nlimit = 99999999999999999999\n[[demo.service]]\nseverity = \"hi\"\n[demo.levels]\nx = 1\n",
    );
    assert_eq!(
        problems,
        [
            "invalid `demo.enabled`: expected a boolean, found a string",
            "unknown key `limt` in `[demo]`",
            "`demo.limit` is out of range",
            "missing `name` in `demo.service[1]`",
            "unknown severity `hi` for `demo.service[1].severity`",
            "invalid `demo.levels.x`: expected a string, found an integer",
        ]
    );
}

// ----- [source], [unsafe], [banned] -----------------------------------------------------------

#[test]
fn source_and_unsafe_sections() {
    let p = ok(r#"
[source]
skip_test_code = false
skip_dirs = ["tests"]
max_file_size = "512KiB"
scan_orphan_files = true
prefilter = false

[unsafe]
mode = "deny"
[[unsafe.service]]
services = ["ffi-bridge", "libs/simd-*"]
mode = "allow"
"#);
    let s = &p.source;
    assert!(!s.skip_test_code && s.scan_orphan_files && !s.prefilter);
    assert_eq!(s.skip_dirs, ["tests"]);
    assert_eq!(s.max_file_bytes, 512 * 1024);
    use crate::checks::source::cfg::UnsafeMode;
    use crate::workspace::{Package, PackageKind};
    let pkg = |n: &str, d: &str| Package::new(n, d, PackageKind::Service);
    assert_eq!(s.unsafe_policy.mode_for(Some(&pkg("billing", "services/billing"))), UnsafeMode::Deny);
    assert_eq!(s.unsafe_policy.mode_for(Some(&pkg("ffi-bridge", "services/ffi"))), UnsafeMode::Allow);
    assert_eq!(s.unsafe_policy.mode_for(Some(&pkg("simd", "libs/simd-avx"))), UnsafeMode::Allow);
    assert_eq!(ok("[source]\nmax_file_size = 1000\n").source.max_file_bytes, 1000);
}

#[test]
fn source_and_unsafe_problems() {
    assert_eq!(
        problems(
            "[source]\nskip_dirs = [\"a/b\"]\nmax_file_size = \"8 parsecs\"\n[unsafe]\nmode = \"forbid\"\n[[unsafe.service]]\nservices = []\nmode = \"allow\"\n[[unsafe.service]]\nservices = [\"x\"]\n"
        ),
        [
            "line 2: `a/b` in `source.skip_dirs` is not a directory name [name top-level directories of a package, like \"tests\"; use `[fleet] exclude` for paths and globs]",
            "line 3: invalid size for `source.max_file_size` [write a number of bytes, or a size like \"8MiB\" or \"512KiB\"]",
            "line 5: unknown value `forbid` in `unsafe.mode` [expected one of: `require-safety-comment`, `deny`, `allow`]",
            "line 7: `unsafe.service[1].services` is empty [name the services, like `services = [\"billing\", \"services/legacy-*\"]`]",
            "line 9: missing `mode` in `unsafe.service[2]` [say which mode applies to these services, like `mode = \"deny\"`]",
        ]
    );
}

#[test]
fn banned_section_good() {
    let p = ok(r#"
[banned]
disable = ["banned/memory-raw-pointer-access"]
severity = { "banned/process-environment-mutation" = "high" }

[[banned.deny]]
path = "std::process::exit"
reason = "services shut down through the supervisor"
replacement = "return an error from main"

[[banned.deny]]
id = "banned/policy-no-unwrap"
method = "unwrap"
reason = "handle errors"
severity = "low"

[[banned.exception]]
rule = "banned/policy-exit"
reason = "the CLI tool may exit"
services = ["tools/*"]
paths = ["tools/**"]

[[banned.service]]
services = ["legacy-*"]
disable = ["banned/*"]
enable = ["banned/policy-exit"]
"#);
    let b = &p.source.banned;
    assert_eq!(b.disable, ["banned/memory-raw-pointer-access"]);
    assert_eq!(b.severity.get("banned/process-environment-mutation"), Some(&Severity::High));
    let ids: Vec<&str> = b.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["banned/policy-exit", "banned/policy-no-unwrap"]);
    assert_eq!(b.rules[0].why, "services shut down through the supervisor");
    assert_eq!(b.rules[0].instead, "return an error from main");
    assert_eq!(b.rules[1].severity, Severity::Low);
    use crate::checks::banned::matcher::Kind;
    assert_eq!(b.index().get(Kind::Path, "std::process::exit")[0].rule.id, "banned/policy-exit");
    assert_eq!(b.index().get(Kind::Method, "unwrap")[0].rule.id, "banned/policy-no-unwrap");
    assert!(!b.index().get(Kind::Path, "std::mem::transmute").is_empty(), "built-ins stay");
    assert_eq!((b.exceptions[0].rule.as_str(), b.exceptions[0].line), ("banned/policy-exit", 18));
    assert_eq!(b.services[0].enable, ["banned/policy-exit"]);
}

#[test]
fn banned_section_problems() {
    assert_eq!(
        problems(
            r#"[banned]
disable = ["banned/memory-transmut", "advisories/unmaintained"]
[[banned.deny]]
path = "a::b"
method = "c"
reason = "r"
[[banned.deny]]
macro = "dbg!"
[[banned.exception]]
rule = "banned/memory-transmute"
[[banned.deny]]
type = "std::cell::RefCell"
reason = "r"
id = "banned/memory-transmute"
"#
        ),
        [
            "line 2: unknown rule `banned/memory-transmut` in `banned.disable` [did you mean `banned/memory-transmute`?]",
            "line 2: unknown rule `advisories/unmaintained` in `banned.disable` [only `banned/...` rules can be named here; `[severity]` takes any rule]",
            "line 3: `banned.deny[1]` must name exactly one of `path`, `method`, `macro`, `type` [one entry per banned name, like `path = \"std::process::exit\"`]",
            "line 7: missing `reason` in `banned.deny[2]` [say why it is banned, like `reason = \"services stop through the supervisor\"`]",
            "line 9: missing `reason` in `banned.exception[1]` [say why these findings are accepted, like `reason = \"FFI boundary, fuzzed\"`]",
            "line 11: `banned.deny[3]` would be rule `banned/memory-transmute`, which already exists [give the entry its own `id = \"banned/...\"`]",
        ]
    );
}

#[test]
fn banned_packs_are_read_next_to_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let pack = r#"
[[rule]]
id = "banned/team-refcell"
name = "shared mutable state"
severity = "low"
summary = "a `RefCell` is used"
what = "Finds the `std::cell::RefCell` type."
why = "Services share state through actors."
example = "`RefCell<u8>`"
instead = "Use a channel."
[[rule.match]]
types = ["std::cell::RefCell"]
"#;
    std::fs::create_dir(dir.path().join("security")).unwrap();
    std::fs::write(dir.path().join("security/extra.toml"), pack).unwrap();
    std::fs::write(dir.path().join("security/bad.toml"), "[[rule]]\nid = \"banned/x\"\n").unwrap();
    std::fs::write(dir.path().join("security/clash.toml"), pack.replace("team-refcell", "memory-transmute"))
        .unwrap();
    let p = validate("[banned]\npacks = [\"security/extra.toml\"]\n", dir.path()).expect("valid");
    assert_eq!(p.source.banned.rules[0].id, "banned/team-refcell");
    let src =
        "[banned]\npacks = [\"security/bad.toml\", \"security/missing.toml\", \"security/clash.toml\"]\n";
    let got: Vec<String> = validate(src, dir.path()).unwrap_err().iter().map(|p| p.message.clone()).collect();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(
        got[0].starts_with("invalid rule pack `security/bad.toml` (line 1): missing field `name`"),
        "{got:#?}"
    );
    assert!(got[1].starts_with("cannot read rule pack `security/missing.toml`: "), "{got:#?}");
    assert_eq!(got[2], "rule `banned/memory-transmute` in pack `security/clash.toml` is not usable");
}

// ----- [auth] ----------------------------------------------------------------------------------

#[test]
fn auth_section_absent_is_the_default() {
    use crate::checks::auth::cfg::Conditional;
    let a = ok("").auth;
    assert_eq!(
        (a.severity, a.severity_sensitive, a.severity_conditional, a.severity_unresolvable),
        (Severity::High, Severity::Critical, Severity::Medium, Severity::Info)
    );
    assert_eq!(a.treat_conditional_as, Conditional::Unresolvable);
    assert_eq!(a.sensitive_paths.len(), 4);
    assert!(a.suspect_keywords.contains(&"jwt".to_string()));
    assert!(a.check_fallbacks && a.use_builtin_defaults && !a.all_routers);
    assert_eq!(a.max_call_depth, 8);
    assert!(a.exclude.is_empty() && a.frameworks.is_empty() && a.public.is_empty() && a.services.is_empty());
    assert_eq!(a.names, Default::default());
    // An empty `[auth]` changes nothing either.
    assert_eq!(ok("[auth]\n").auth.max_call_depth, 8);
}

#[test]
fn auth_section_good() {
    use crate::checks::auth::cfg::{AuthNames, Conditional, PublicMatch};
    let p = ok(r#"
[auth]
severity = "medium"
severity_sensitive = "high"
severity_conditional = "low"
severity_unresolvable = "low"
treat_conditional_as = "protected"
sensitive_paths = ["/admin/**", "**/pprof/**", "/ops/*"]
suspect_keywords = ["Auth", "jwt", "auth"]
check_fallbacks = false
max_call_depth = 64
exclude = ["**/generated/**"]
use_builtin_defaults = false
all_routers = true

[auth.names]
middleware_fns = ["require_auth", "crate::auth::*", "require_auth"]
layers = ["JwtAuthLayer"]
extractors = ["Claims", "AuthUser"]
extension_principals = ["CurrentUser"]
attributes = ["protect!", "has_role"]
guard_calls = ["check_*"]
guards = ["AdminGuard"]
router_methods = ["with_auth"]
not_auth = ["tower_http::cors::*"]

[auth.names.tonic]
middleware_fns = ["check_token"]

[auth.names.axum]
extractors = ["UserAuth"]
replace = true

[[auth.public]]
glob = "/static/**"
methods = ["get", "HEAD", "GET"]
reason = "static assets"

[[auth.public]]
path = "/health"
reason = "load balancer probe"

[[auth.public]]
regex = "^/v[0-9]+/status$"
reason = "status"

[[auth.public]]
grpc = "grpc.health.v1.Health/*"
reason = "health service"

[[auth.service]]
services = ["billing-api", "services/billing/**"]
names = { extractors = ["BillingPrincipal"], replace = true }
public = [{ path = "/webhooks/stripe", reason = "HMAC-verified in handler" }]
severity = "critical"

[[auth.service]]
services = ["internal-*"]
external_auth = true
"#);
    let a = &p.auth;
    assert_eq!(
        (a.severity, a.severity_sensitive, a.severity_conditional, a.severity_unresolvable),
        (Severity::Medium, Severity::High, Severity::Low, Severity::Low)
    );
    assert_eq!(a.treat_conditional_as, Conditional::Protected);
    let sensitive: Vec<&str> = a.sensitive_paths.iter().map(|g| g.pattern.as_str()).collect();
    assert_eq!(sensitive, ["/admin/**", "**/pprof/**", "/ops/*"]);
    assert!(a.sensitive_paths[0].is_match("/admin/users/1"));
    assert!(a.sensitive_paths[1].is_match("/api/debug/pprof/heap"));
    assert!(a.sensitive_paths[2].is_match("/ops/metrics"));
    assert!(!a.sensitive_paths[2].is_match("/ops/metrics/x"), "`*` is one segment");
    assert_eq!(a.suspect_keywords, ["auth", "jwt"]);
    assert!(!a.check_fallbacks && !a.use_builtin_defaults && a.all_routers);
    assert_eq!(a.max_call_depth, 64);
    assert!(a.exclude[0].is_match("services/api/src/generated/routes.rs"));
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        a.names,
        AuthNames {
            middleware_fns: s(&["require_auth", "crate::auth::*"]),
            layers: s(&["JwtAuthLayer"]),
            extractors: s(&["Claims", "AuthUser"]),
            extension_principals: s(&["CurrentUser"]),
            attributes: s(&["protect!", "has_role"]),
            guard_calls: s(&["check_*"]),
            guards: s(&["AdminGuard"]),
            router_methods: s(&["with_auth"]),
            not_auth: s(&["tower_http::cors::*"]),
        }
    );
    let [tonic, axum] = &a.frameworks[..] else { panic!("two frameworks expected: {:?}", a.frameworks) };
    assert_eq!((tonic.framework.as_str(), tonic.replace), ("tonic", false));
    assert_eq!(tonic.names.middleware_fns, ["check_token"]);
    assert_eq!((axum.framework.as_str(), axum.replace), ("axum", true));
    assert_eq!(axum.names, AuthNames { extractors: s(&["UserAuth"]), ..AuthNames::default() });

    let [glob, path, regex, grpc] = &a.public[..] else { panic!("four public entries expected") };
    let PublicMatch::Glob(g) = &glob.matcher else { panic!("{:?}", glob.matcher) };
    assert!(g.is_match("/static/css/site.css"));
    assert_eq!(
        (glob.methods.as_slice(), glob.reason.as_str(), glob.line),
        (&s(&["GET", "HEAD"])[..], "static assets", 35)
    );
    assert!(matches!(&path.matcher, PublicMatch::Path(p) if p == "/health"));
    assert!(path.methods.is_empty());
    assert_eq!((path.reason.as_str(), path.line), ("load balancer probe", 40));
    let PublicMatch::Regex(r) = &regex.matcher else { panic!("{:?}", regex.matcher) };
    assert!(r.is_match("/v2/status") && !r.is_match("/v2/status/x"));
    assert_eq!(regex.line, 44);
    assert!(matches!(&grpc.matcher, PublicMatch::Grpc(g) if g == "grpc.health.v1.Health/*"));
    assert_eq!(grpc.line, 48);

    let [billing, internal] = &a.services[..] else { panic!("two overrides expected") };
    use crate::workspace::{Package, PackageKind};
    let pkg = |n: &str, d: &str| Package::new(n, d, PackageKind::Service);
    assert!(billing.selector.matches(&pkg("billing-api", "apps/billing")));
    assert!(billing.selector.matches(&pkg("ledger", "services/billing/ledger")));
    assert!(!billing.selector.matches(&pkg("ledger", "services/ledger")));
    assert_eq!(billing.names, AuthNames { extractors: s(&["BillingPrincipal"]), ..AuthNames::default() });
    assert!(billing.replace && !billing.external_auth);
    assert_eq!(billing.severity, Some(Severity::Critical));
    assert_eq!(billing.line, 52);
    let [hook] = &billing.public[..] else { panic!("one public entry expected") };
    assert!(matches!(&hook.matcher, PublicMatch::Path(p) if p == "/webhooks/stripe"));
    assert_eq!((hook.reason.as_str(), hook.line), ("HMAC-verified in handler", 54));
    assert!(internal.selector.matches(&pkg("internal-admin", "services/admin")));
    assert!(internal.external_auth && !internal.replace && internal.severity.is_none());
    assert!(internal.public.is_empty() && internal.names == AuthNames::default());
    assert_eq!(internal.line, 58);
}

#[test]
fn auth_scalar_problems() {
    assert_eq!(
        problems(
            "[auth]\nseverity = \"hgh\"\ntreat_conditional_as = \"protect\"\nmax_call_depth = 0\ncheck_fallback = true\nall_routers = \"no\"\nsuspect_keywords = [\"\"]\n"
        ),
        [
            "line 2: unknown severity `hgh` for `auth.severity` [did you mean `high`?]",
            "line 3: unknown value `protect` in `auth.treat_conditional_as` [did you mean `protected`?]",
            "line 4: `auth.max_call_depth` must be between 1 and 64 [how many calls deep a router or middleware is followed, like `max_call_depth = 8`]",
            "line 5: unknown key `check_fallback` in `[auth]` [did you mean `check_fallbacks`?]",
            "line 6: invalid `auth.all_routers`: expected a boolean, found a string",
            "line 7: empty string for `auth.suspect_keywords`",
        ]
    );
    assert!(
        problem("[auth]\nmax_call_depth = 65\n")
            .starts_with("line 2: `auth.max_call_depth` must be between 1 and 64")
    );
    assert_eq!(problem("auth = []\n"), "line 1: invalid `auth`: expected a table, found an array");
    assert_eq!(problem("[auht]\n"), "line 1: unknown key `auht` at the top level [did you mean `auth`?]");
}

#[test]
fn auth_glob_problems() {
    assert_eq!(
        problems(
            "[auth]\nsensitive_paths = [\"/admin/**\",\n  \"/debug/[\",\n  \"admin/**\"]\nexclude = [\"/generated/**\"]\n"
        ),
        [
            "line 3: invalid glob `/debug/[` in `auth.sensitive_paths`: unclosed character class; missing ']'",
            "line 4: glob `admin/**` in `auth.sensitive_paths` never matches a route path [route paths start with `/`, like `/admin/**`]",
            "line 5: glob `/generated/**` in `auth.exclude` is not a relative `/`-separated path [globs are matched against paths relative to the repository root, like `generated/**`]",
        ]
    );
}

#[test]
fn auth_name_problems() {
    let help = "[write a name or a path, like `require_auth`, `crate::auth::*` or `authorize!` (identifiers and `*` separated by `::`, no generics)]";
    assert_eq!(
        problems(
            "[auth.names]\nextractors = [\"Claims\",\n  \"Extension<User>\"]\nlayers = [\"tower::\"]\nmiddlware_fns = []\n[auth.names.axm]\nlayers = []\n[auth.names.actix]\nguards = [\"a b\"]\nreplace = 1\n"
        ),
        [
            format!("line 3: `Extension<User>` in `auth.names.extractors` is not a Rust path pattern {help}"),
            format!("line 4: `tower::` in `auth.names.layers` is not a Rust path pattern {help}"),
            "line 5: unknown key `middlware_fns` in `[auth.names]` [did you mean `middleware_fns`?]"
                .to_string(),
            "line 6: unknown key `axm` in `[auth.names]` [did you mean `axum`?]".to_string(),
            format!("line 9: `a b` in `auth.names.actix.guards` is not a Rust path pattern {help}"),
            "line 10: invalid `auth.names.actix.replace`: expected a boolean, found an integer".to_string(),
        ]
    );
    assert_eq!(
        problem("[auth.names]\nreplace = true\n"),
        "line 2: unknown key `replace` in `[auth.names]` [known keys in `[auth.names]`: `middleware_fns`, `layers`, `extractors`, `extension_principals`, `attributes`, `guard_calls`, `guards`, `router_methods`, `not_auth`, `axum`, `actix`, `rocket`, `warp`, `poem`, `tonic`, `salvo`, `loco`]"
    );
    assert_eq!(
        problem("[auth.names]\naxum = [\"Claims\"]\n"),
        "line 2: invalid `auth.names.axum`: expected a table, found an array"
    );
}

#[test]
fn auth_public_problems() {
    assert_eq!(
        problems(
            r#"[[auth.public]]
reason = "nothing"
[[auth.public]]
path = "/a"
glob = "/b/**"
reason = "two"
[[auth.public]]
path = "health"
reason = "r"
[[auth.public]]
regex = "(unclosed"
reason = "r"
[[auth.public]]
grpc = "/pkg.Service/Method"
reason = "r"
[[auth.public]]
grpc = "pkg.Service"
reason = "r"
[[auth.public]]
path = "/x"
methods = ["DELET", "FETCH"]
reason = "r"
[[auth.public]]
glob = "/static/**"
[[auth.public]]
glob = "/static/**"
reason = " "
[[auth.public]]
glob = "/static/**"
reasn = "r"
reason = "r"
"#
        ),
        [
            "line 1: `auth.public[1]` must have exactly one of `path`, `glob`, `regex`, `grpc` [one entry per route pattern, like `path = \"/health\"` or `glob = \"/static/**\"`]",
            "line 3: `auth.public[2]` must have exactly one of `path`, `glob`, `regex`, `grpc` [one entry per route pattern, like `path = \"/health\"` or `glob = \"/static/**\"`]",
            "line 8: `health` in `auth.public[3].path` is not a route path [route paths start with `/`, like `/health`]",
            "line 11: invalid regex `(unclosed` in `auth.public[4].regex`: unclosed group",
            "line 14: `/pkg.Service/Method` in `auth.public[5].grpc` is not a gRPC method [write it without the leading `/`: `pkg.Service/Method`]",
            "line 17: `pkg.Service` in `auth.public[6].grpc` is not a gRPC method [write `pkg.Service/Method`, `pkg.Service/*` or `pkg.*/*`]",
            "line 21: unknown HTTP method `DELET` in `auth.public[7].methods` [did you mean `DELETE`?]",
            "line 21: unknown HTTP method `FETCH` in `auth.public[7].methods` [HTTP methods are: `GET`, `POST`, `PUT`, `DELETE`, `PATCH`, `HEAD`, `OPTIONS`, `TRACE`, `CONNECT`]",
            "line 23: missing `reason` in `auth.public[8]` [say why this route needs no authentication, like `reason = \"load balancer health check\"`]",
            "line 27: empty string for `auth.public[9].reason`",
            "line 30: unknown key `reasn` in `auth.public[10]` [did you mean `reason`?]",
        ]
    );
    for grpc in ["pkg.Service/Method", "pkg.Service/*", "pkg.*/*", "grpc.health.v1.Health/Check"] {
        let p = ok(&format!("[[auth.public]]\ngrpc = \"{grpc}\"\nreason = \"r\"\n"));
        assert_eq!(p.auth.public.len(), 1, "{grpc}");
    }
    assert_eq!(
        problem("[auth]\npublic = { path = \"/a\", reason = \"r\" }\n"),
        "line 2: invalid `auth.public`: expected an array, found a table"
    );
}

#[test]
fn auth_service_problems() {
    assert_eq!(
        problems(
            r#"[[auth.service]]
severity = "critical"
[[auth.service]]
services = []
external_auth = true
[[auth.service]]
services = ["billing"]
names = { extractors = ["Vec<u8>"], replace = "yes", layer = [] }
public = [{ path = "/hook" }, { glob = "/a/**", reason = "r" }]
external_auth = "yes"
severity = "severe"
"#
        ),
        [
            "line 1: missing `services` in `auth.service[1]` [name the services, like `services = [\"billing\", \"services/legacy-*\"]`]",
            "line 4: `auth.service[2].services` is empty [name the services, like `services = [\"billing\", \"services/legacy-*\"]`]",
            "line 8: `Vec<u8>` in `auth.service[3].names.extractors` is not a Rust path pattern [write a name or a path, like `require_auth`, `crate::auth::*` or `authorize!` (identifiers and `*` separated by `::`, no generics)]",
            "line 8: invalid `auth.service[3].names.replace`: expected a boolean, found a string",
            "line 8: unknown key `layer` in `[auth.service[3].names]` [did you mean `layers`?]",
            "line 9: missing `reason` in `auth.service[3].public[1]` [say why this route needs no authentication, like `reason = \"load balancer health check\"`]",
            "line 10: invalid `auth.service[3].external_auth`: expected a boolean, found a string",
            "line 11: unknown severity `severe` for `auth.service[3].severity` [severities are: `info`, `low`, `medium`, `high`, `critical`]",
        ]
    );
    assert_eq!(
        problem("[[auth.service]]\nservices = [\"a\"]\nnames = { replace = true, axum = {} }\n"),
        "line 3: unknown key `axum` in `[auth.service[1].names]` [known keys in `[auth.service[1].names]`: `middleware_fns`, `layers`, `extractors`, `extension_principals`, `attributes`, `guard_calls`, `guards`, `router_methods`, `not_auth`, `replace`]"
    );
}

// ----- [coverage] ----------------------------------------------------------------------------

#[test]
fn coverage_section_good() {
    let p = ok(r#"
[coverage]
reports = ["target/llvm-cov/*.info", "coverage/**/cobertura.xml"]
lines = 80
functions = 72.5
missing_files = "uncovered"
require_report = true
no_drop = true
tolerance = 0.5
baseline = "ci/coverage-baseline.json"
exclude = ["**/generated/**"]

[[coverage.service]]
services = ["legacy-*", "services/old"]
lines = 50
require_report = false

[[coverage.service]]
services = ["legacy-tools"]
skip = true
"#);
    let c = &p.coverage;
    assert!(c.configured);
    assert_eq!(c.line, 2);
    assert_eq!(c.reports.len(), 2);
    assert_eq!(c.baseline.as_deref(), Some(Path::new("/repo/ci/coverage-baseline.json")));
    let pkg = |name: &str, dir: &str| {
        crate::workspace::Package::new(name, dir, crate::workspace::PackageKind::Service)
    };
    let e = c.for_package(&pkg("billing", "services/billing"));
    assert_eq!(e.min, [Some(80.0), Some(72.5), None, None]);
    assert!(e.require_report && e.no_drop && !e.skip);
    assert_eq!(e.tolerance, 0.5);
    assert_eq!(e.missing_files, crate::checks::coverage::cfg::MissingFiles::Uncovered);
    let e = c.for_package(&pkg("legacy-api", "services/legacy-api"));
    assert_eq!(e.min, [Some(50.0), Some(72.5), None, None]);
    assert!(!e.require_report && !e.skip);
    assert!(c.for_package(&pkg("legacy-tools", "tools")).skip);
    assert!(c.for_package(&pkg("old", "services/old")).min[0] == Some(50.0));
}

#[test]
fn coverage_problems() {
    assert_eq!(
        problem("[coverage]\nlines = 180\n"),
        "line 2: `coverage.lines` must be a percentage from 0 to 100 [write a percentage, like `80` or `72.5`]"
    );
    assert_eq!(
        problem("[coverage]\nlines = \"80%\"\n"),
        "line 2: `coverage.lines` is a string [write the number without `%`: `80`]"
    );
    assert_eq!(
        problem("[coverage]\nline = 80\n"),
        "line 2: unknown key `line` in `[coverage]` [did you mean `lines`?]"
    );
    assert_eq!(
        problem("[coverage]\nno_drop = true\n"),
        "line 2: `no_drop` needs a baseline to compare with: `coverage.baseline` is not set [record one with `fleetward baseline -o coverage-baseline.json`, commit it, and set `baseline = \"coverage-baseline.json\"`]"
    );
    assert_eq!(
        problem("[coverage]\nmissing_files = \"zero\"\n"),
        "line 2: unknown value `zero` in `coverage.missing_files` [expected one of: `list`, `uncovered`]"
    );
    assert_eq!(
        problem("[coverage]\n\n[[coverage.service]]\nservices = [\"a\"]\n"),
        "line 3: `coverage.service[1]` sets nothing [set a threshold (`lines = 60`), `require_report`, `no_drop`, `tolerance`, `missing_files` or `skip`]"
    );
    assert_eq!(
        problem("[coverage]\n\n[[coverage.service]]\nlines = 3\n"),
        "line 3: missing `services` in `coverage.service[1]` [name the services, like `services = [\"billing\", \"services/legacy-*\"]`]"
    );
    assert_eq!(
        problem("[coverage]\nreports = [\"/abs/lcov.info\"]\n"),
        "line 2: glob `/abs/lcov.info` in `coverage.reports` is not a relative `/`-separated path [globs are matched against paths relative to the repository root, like `abs/lcov.info`]"
    );
}

// ----- [manifest] bans and drift ---------------------------------------------------------------

#[test]
fn manifest_bans() {
    let p = ok(r#"
[manifest]
dev_dependencies = true

[[manifest.ban]]
crate = "openssl"
versions = "<0.10.60"
direct_only = true
reason = "one TLS stack: rustls"
use_instead = "rustls"
allow = [{ services = ["legacy-*", "billing"], reason = "migrating", expires = 2027-03-31 }]
"#);
    let m = &p.manifest;
    assert!(m.configured && m.dev_dependencies && m.build_dependencies);
    let b = &m.bans[0];
    assert_eq!((b.name.as_str(), b.line, b.direct_only), ("openssl", 5, true));
    assert!(b.versions.as_ref().unwrap().matches(&semver::Version::new(0, 10, 59)));
    assert!(!b.versions.as_ref().unwrap().matches(&semver::Version::new(0, 10, 60)));
    assert_eq!((b.reason.as_str(), b.use_instead.as_deref()), ("one TLS stack: rustls", Some("rustls")));
    let a = &b.allow[0];
    assert_eq!(
        (a.reason.as_str(), a.expires, a.line),
        ("migrating", Some(jiff::civil::date(2027, 3, 31)), 11)
    );
    assert_eq!(a.selector.names, ["billing"]);
    assert_eq!(a.selector.paths[0].pattern, "legacy-*");
    // Every version, transitive uses included, by default.
    let b = &ok("[[manifest.ban]]\ncrate = \"openssl-sys\"\nreason = \"r\"\n").manifest.bans[0];
    assert!(b.versions.is_none() && !b.direct_only && b.use_instead.is_none() && b.allow.is_empty());
}

#[test]
fn manifest_ban_problems() {
    assert_eq!(
        problem("[[manifest.ban]]\ncrate = \"openssl\"\n"),
        "line 1: missing `reason` in `manifest.ban[1]` [say why the crate is banned, like `reason = \"one TLS stack: rustls\"`]"
    );
    assert_eq!(
        problem("[[manifest.ban]]\nreason = \"r\"\n"),
        "line 1: missing `crate` in `manifest.ban[1]` [name the crate, like `crate = \"openssl\"`]"
    );
    assert_eq!(
        problem("[[manifest.ban]]\ncrate = \"open ssl\"\nreason = \"r\"\n"),
        "line 2: `open ssl` in `manifest.ban[1].crate` is not a crate name [crate names start with a letter and have only ASCII letters, digits, `-` and `_`]"
    );
    assert_eq!(
        problem("[[manifest.ban]]\ncrate = \"openssl\"\nversions = \"< 0.10.x.y\"\nreason = \"r\"\n"),
        "line 3: `< 0.10.x.y` in `manifest.ban[1].versions` is not a version range: expected comma after patch version number, found '.' [write a cargo requirement, like \"<0.10.60\" or \">=1, <1.4\"]"
    );
    assert_eq!(
        problem("[[manifest.ban]]\ncrate = \"openssl\"\nreason = \"r\"\nuse_instead = \"\"\n"),
        "line 4: empty string for `manifest.ban[1].use_instead`"
    );
    assert_eq!(
        problem("[[manifest.ban]]\ncrate = \"openssl\"\nreason = \"r\"\nallow = [{ services = [\"a\"] }]\n"),
        "line 4: missing `reason` in `manifest.ban[1].allow[1]` [say why these services may use it, like `reason = \"migrating by March\"`]"
    );
    assert_eq!(
        problem(
            "[[manifest.ban]]\ncrate = \"openssl\"\nreason = \"r\"\nallow = [{ reason = \"x\", services = [\"a\"], expires = \"soon\" }]\n"
        ),
        "line 4: invalid date for `manifest.ban[1].allow[1].expires` [write a date like 2026-12-31 (a TOML date or a \"YYYY-MM-DD\" string)]"
    );
    assert_eq!(
        problem("[[manifest.ban]]\ncrate = \"openssl\"\nreason = \"r\"\nonly_direct = true\n"),
        "line 4: unknown key `only_direct` in `manifest.ban[1]` [known keys in `manifest.ban[1]`: `crate`, `versions`, `direct_only`, `reason`, `use_instead`, `allow`]"
    );
}

#[test]
fn manifest_drift() {
    let d = ok("[manifest.drift]\ncrates = [\"tokio\", \"serde\"]\nlevel = \"minor\"\nversions = { tokio = \"1.40\", serde = \"1\" }\nmax_versions = 2\nduplicates_allowed = [\"windows-sys\"]\n").manifest.drift;
    assert!(
        matches!(&d.crates, crate::checks::manifest::cfg::DriftCrates::Named(n) if n == &["tokio", "serde"])
    );
    assert_eq!(d.level, crate::checks::manifest::cfg::DriftLevel::Minor);
    assert_eq!(d.chosen["tokio"], (semver::Version::new(1, 40, 0), 4));
    assert_eq!(d.chosen["serde"].0, semver::Version::new(1, 0, 0));
    assert_eq!(
        (d.max_versions, d.duplicates_allowed.as_slice()),
        (Some(2), &["windows-sys".to_string()][..])
    );
    let d = ok("[manifest.drift]\ncrates = \"all\"\n").manifest.drift;
    assert!(matches!(d.crates, crate::checks::manifest::cfg::DriftCrates::All));
    assert_eq!((d.level, d.max_versions), (crate::checks::manifest::cfg::DriftLevel::Major, None));
}

#[test]
fn manifest_drift_problems() {
    assert_eq!(
        problem("[manifest.drift]\ncrates = [\"tokio\", \"9lives\"]\n"),
        "line 2: `9lives` in `manifest.drift.crates` is not a crate name [crate names start with a letter and have only ASCII letters, digits, `-` and `_`]"
    );
    assert_eq!(
        problem("[manifest.drift]\ncrates = \"some\"\n"),
        "line 2: invalid `manifest.drift.crates`: expected \"all\" or an array of crate names, found a string"
    );
    assert_eq!(
        problem("[manifest.drift]\nlevel = \"patch\"\n"),
        "line 2: unknown value `patch` in `manifest.drift.level` [expected one of: `major`, `minor`]"
    );
    assert_eq!(
        problem("[manifest.drift]\nversions = { tokio = \"1.x\" }\n"),
        "line 2: `1.x` in `manifest.drift.versions.tokio` is not a version [write the version the fleet uses, like \"1.40\" or \"1\"]"
    );
    assert_eq!(
        problem("[manifest.drift]\nmax_versions = 0\n"),
        "line 2: `manifest.drift.max_versions` must be at least 1 [1 allows a single version of each crate per lockfile]"
    );
    assert_eq!(
        problem("[manifest.drift]\nduplicates_allowed = [\"windows sys\"]\n"),
        "line 2: `windows sys` in `manifest.drift.duplicates_allowed` is not a crate name [crate names start with a letter and have only ASCII letters, digits, `-` and `_`]"
    );
}
