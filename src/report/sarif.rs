//! SARIF 2.1.0 output for GitHub code scanning (DESIGN.md §4, `shared/sarif/GITHUB-NOTES.md`).
//!
//! One run, one rule per distinct SARIF rule id (sorted), advisory findings reported under
//! their RUSTSEC id. Output is pretty-printed, deterministic and ends with a newline.

use super::Report;
use crate::diag::{AdvisoryInfo, Finding, Location, Severity, SuppressionKind};
use crate::registry;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// GitHub rejects a run with more results than this.
pub const MAX_RESULTS: usize = 25_000;
/// GitHub rejects a file with more runs than this.
pub const MAX_RUNS: usize = 20;
/// GitHub rejects a file larger than this once gzipped (10 MB, read as 10,000,000 bytes like
/// `shared/sarif/validate.py`).
pub const MAX_GZIP_BYTES: u64 = 10_000_000;
/// What to do when `check` would write a SARIF file GitHub rejects.
pub const CHECK_ADVICE: &str = "split the run with --shard K/N and upload each shard's SARIF \
     separately (each has its own category), or check fewer rules (--only, --skip)";
/// GitHub rejects SARIF identifiers longer than this.
pub const MAX_ID_LEN: usize = 255;
/// GitHub shows at most this many characters of a description.
const MAX_DESCRIPTION: usize = 1000;
/// GitHub keeps at most this many tags per rule.
const MAX_TAGS: usize = 10;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/fleetward/fleetward";
const SRCROOT: &str = "%SRCROOT%";

pub fn render(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let log = build(report)?;
    out.write_all(&to_bytes(&log, CHECK_ADVICE)?)
}

/// The file's bytes (pretty JSON and a newline), once GitHub's limits are checked.
pub fn to_bytes(log: &Value, advice: &str) -> io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(log)?;
    bytes.push(b'\n');
    check_github_limits(log, &bytes, advice)?;
    Ok(bytes)
}

fn too_many_results(count: usize, advice: &str) -> String {
    format!(
        "SARIF: {count} results in one run exceed GitHub's limit of {MAX_RESULTS} results per run; {advice}"
    )
}

/// Refuse a SARIF file GitHub would reject (DESIGN.md §4, GITHUB-NOTES.md §1-2): more than
/// [`MAX_RUNS`] runs, more than [`MAX_RESULTS`] results in a run, or more than
/// [`MAX_GZIP_BYTES`] once gzipped. `advice` says what to do instead.
pub fn check_github_limits(log: &Value, bytes: &[u8], advice: &str) -> io::Result<()> {
    let runs = log["runs"].as_array().map_or(&[][..], Vec::as_slice);
    if runs.len() > MAX_RUNS {
        return Err(io::Error::other(format!(
            "SARIF: {} runs exceed GitHub's limit of {MAX_RUNS} runs per file; {advice}",
            runs.len()
        )));
    }
    for run in runs {
        let count = run["results"].as_array().map_or(0, Vec::len);
        if count > MAX_RESULTS {
            return Err(io::Error::other(too_many_results(count, advice)));
        }
    }
    // Deflate never grows its input by more than a few bytes per stored block and gzip adds 18
    // (zlib's deflateBound is about len/4096 + len/16384 + 13): a file within the limit even
    // with a generous bound of that is not compressed.
    let len = bytes.len() as u64;
    if len + len / 256 + 64 <= MAX_GZIP_BYTES {
        return Ok(());
    }
    let gzipped = gzip_size(bytes)?;
    if gzipped > MAX_GZIP_BYTES {
        return Err(io::Error::other(format!(
            "SARIF: the file is {gzipped} bytes gzipped ({} bytes uncompressed), over GitHub's limit \
             of {MAX_GZIP_BYTES} bytes gzipped per file; {advice}",
            bytes.len()
        )));
    }
    Ok(())
}

/// The size of `bytes` gzipped at the default level (what the upload action and the API
/// send), counted without keeping the compressed bytes.
pub fn gzip_size(bytes: &[u8]) -> io::Result<u64> {
    struct Count(u64);
    impl Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Count(0), flate2::Compression::default());
    gz.write_all(bytes)?;
    Ok(gz.finish()?.0)
}

/// The SARIF log as a JSON value; fails when GitHub would reject the file.
pub fn build(report: &Report<'_>) -> io::Result<Value> {
    let absent = report.baseline.map_or(0, |b| b.absent_count());
    let count = report.findings.len() + absent;
    if count > MAX_RESULTS {
        return Err(io::Error::other(too_many_results(count, CHECK_ADVICE)));
    }
    // One descriptor per SARIF rule id, sorted by id (first finding of an id describes it).
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    for f in report.findings {
        let id = sarif_rule_id(f);
        if id.chars().count() > MAX_ID_LEN {
            return Err(io::Error::other(format!(
                "SARIF: rule id `{id}` is longer than GitHub's limit of {MAX_ID_LEN} characters"
            )));
        }
        if !rules.contains_key(id) {
            rules.insert(id.to_string(), rule_descriptor(f));
        }
    }
    // Baseline entries no finding matched: under their fleetward rule id (an advisory's RUSTSEC
    // id is not recorded), described from the registry when no finding of the run has the rule.
    let absent: &[crate::baseline::FindingEntry] = report.baseline.map_or(&[], |b| &b.absent);
    for e in absent {
        if !rules.contains_key(&e.rule) {
            let severity = registry::rule(&e.rule).map_or(Severity::Medium, |r| r.severity);
            rules.insert(e.rule.clone(), registry_descriptor(&e.rule, severity));
        }
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    let mut results: Vec<Value> =
        report.findings.iter().map(|f| result(f, index[sarif_rule_id(f)])).collect();
    for e in absent {
        for _ in 0..e.count {
            results.push(absent_result(e, index[e.rule.as_str()]));
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    let mut run = json!({
            "tool": {
                "driver": {
                    "name": "fleetward",
                    "version": version,
                    "semanticVersion": version,
                    "informationUri": INFORMATION_URI,
                    "rules": rules.into_values().collect::<Vec<_>>(),
                }
            },
            "automationDetails": { "id": report.automation_id },
            "originalUriBaseIds": {
                SRCROOT: { "description": { "text": "The root of the scanned fleet." } }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
    });
    if let Some(sel) = report.selection {
        run["properties"] = json!({ "fleetward": { "selection": sel } });
    }
    Ok(json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run]
    }))
}

/// The SARIF rule id of a finding: the RUSTSEC id for advisories, else the fleetward rule.
pub fn sarif_rule_id(f: &Finding) -> &str {
    match &f.advisory {
        Some(a) => &a.id,
        None => &f.rule,
    }
}

/// SARIF `level` of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// `security-severity` of a severity (none for info).
fn security_severity(s: Severity) -> Option<&'static str> {
    match s {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("3.0"),
        Severity::Info => None,
    }
}

/// The finding message, with the concerned services appended.
pub fn message_with_services(f: &Finding) -> String {
    if f.services.is_empty() {
        f.message.clone()
    } else {
        format!("{} (services: {})", f.message, f.services.join(", "))
    }
}

fn cut(s: &str, max: usize) -> String {
    let s = s.trim();
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => {
            let head: String = s[..i].chars().take(max.saturating_sub(3)).collect();
            format!("{}...", head.trim_end())
        }
    }
}

fn rule_descriptor(f: &Finding) -> Value {
    match &f.advisory {
        Some(a) => advisory_descriptor(f, a),
        None => registry_descriptor(&f.rule, f.severity),
    }
}

/// The descriptor of fleetward rule `id` from the registry (`severity` is used only for an id
/// the registry does not know).
fn registry_descriptor(id: &str, severity: Severity) -> Value {
    let mut props = Map::new();
    let (name, short, full, text, markdown, severity, tags) = match registry::rule(id) {
        Some(r) => (
            r.name.clone(),
            r.summary.clone(),
            cut(&r.what, MAX_DESCRIPTION),
            r.text(),
            r.markdown(),
            r.severity,
            r.tags.iter().take(MAX_TAGS).cloned().collect::<Vec<_>>(),
        ),
        // Not in the registry (should not happen): still emit a valid descriptor.
        None => (
            id.to_string(),
            id.to_string(),
            id.to_string(),
            id.to_string(),
            id.to_string(),
            severity,
            Vec::new(),
        ),
    };
    let security = tags.iter().any(|t| t == "security");
    props.insert("tags".into(), json!(tags));
    props.insert("precision".into(), json!("high"));
    if security {
        if let Some(s) = security_severity(severity) {
            props.insert("security-severity".into(), json!(s));
        }
    } else {
        let problem = match level(severity) {
            "note" => "recommendation",
            other => other,
        };
        props.insert("problem.severity".into(), json!(problem));
    }
    json!({
        "id": id,
        "name": cut(&name, MAX_ID_LEN),
        "shortDescription": { "text": cut(&short, MAX_DESCRIPTION) },
        "fullDescription": { "text": full },
        "help": { "text": text, "markdown": markdown },
        "defaultConfiguration": { "level": level(severity) },
        "properties": Value::Object(props),
    })
}

fn first_paragraph(text: &str) -> Option<&str> {
    text.split("\n\n").map(str::trim).find(|p| !p.is_empty())
}

fn advisory_descriptor(f: &Finding, a: &AdvisoryInfo) -> Value {
    let title = if a.title.trim().is_empty() { a.id.as_str() } else { a.title.trim() };
    let full = first_paragraph(&a.description).unwrap_or(title);
    let description = if a.description.trim().is_empty() { title } else { a.description.trim() };
    let patched = if a.patched.is_empty() { "no patched version".to_string() } else { a.patched.join(", ") };
    let help_uri = format!("https://rustsec.org/advisories/{}.html", a.id);
    let markdown = format!("{description}\n\nPatched: {patched}\n\n[{}]({help_uri})", a.id);
    let text = format!("{description}\n\nPatched: {patched}\n\n{help_uri}");
    let security_severity = match a.cvss {
        Some(score) if score > 0.0 && score <= 10.0 => Some(format!("{score:.1}")),
        _ => security_severity(f.severity).map(str::to_string),
    };
    let mut props = Map::new();
    props.insert("tags".into(), json!(["security", f.rule, a.kind]));
    props.insert("precision".into(), json!("very-high"));
    if let Some(s) = security_severity {
        props.insert("security-severity".into(), json!(s));
    }
    json!({
        "id": a.id,
        "name": cut(&f.rule, MAX_ID_LEN),
        "shortDescription": { "text": cut(title, MAX_DESCRIPTION) },
        "fullDescription": { "text": cut(full, MAX_DESCRIPTION) },
        "help": { "text": text, "markdown": markdown },
        "helpUri": help_uri,
        "defaultConfiguration": { "level": level(f.severity) },
        "properties": Value::Object(props),
    })
}

/// Percent-encode a relative `/`-separated path for `artifactLocation.uri`.
pub fn encode_uri(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => s.push(b as char),
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b'@' => {
                s.push(b as char)
            }
            _ => s.push_str(&format!("%{b:02X}")),
        }
    }
    s
}

fn physical_location(loc: &Location) -> Value {
    let sp = loc.span.normalized();
    json!({
        "artifactLocation": { "uri": encode_uri(&loc.file), "uriBaseId": SRCROOT },
        "region": {
            "startLine": sp.line,
            "startColumn": sp.column,
            "endLine": sp.end_line,
            "endColumn": sp.end_column,
        }
    })
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(sarif_rule_id(f)));
    r.insert("ruleIndex".into(), json!(rule_index));
    r.insert("level".into(), json!(level(f.severity)));
    r.insert("message".into(), json!({ "text": message_with_services(f) }));
    r.insert("locations".into(), json!([{ "physicalLocation": physical_location(&f.location) }]));
    if !f.related.is_empty() {
        let related: Vec<Value> = f
            .related
            .iter()
            .enumerate()
            .map(|(i, rel)| {
                json!({
                    "id": i + 1,
                    "physicalLocation": physical_location(&rel.location),
                    "message": { "text": rel.message },
                })
            })
            .collect();
        r.insert("relatedLocations".into(), json!(related));
    }
    if let Some(route) = &f.route {
        // The composition trail (registration, then each nest/merge/scope/mount, then the
        // serve site) as a code flow.
        let mut steps =
            vec![(f.location.clone(), format!("{} {} registered", route.methods.join(","), route.path))];
        for p in &route.composition {
            steps.push((
                Location::new(p.file.clone(), crate::diag::Span::at(p.line, p.column)),
                p.what.clone(),
            ));
        }
        let locations: Vec<Value> = steps
            .iter()
            .map(|(loc, what)| json!({ "location": { "physicalLocation": physical_location(loc), "message": { "text": what } } }))
            .collect();
        r.insert("codeFlows".into(), json!([{ "threadFlows": [{ "locations": locations }] }]));
    }
    r.insert(
        "partialFingerprints".into(),
        json!({ "primaryLocationLineHash": format!("{}:1", f.fingerprint()) }),
    );
    // `rule` is the fleetward rule id (the `ruleId` of an advisory is its RUSTSEC id): with the
    // location, message and fingerprint it gives `fleetward merge` the report order.
    r.insert(
        "properties".into(),
        json!({ "rule": f.rule, "severity": f.severity.as_str(), "services": f.services }),
    );
    if let Some(s) = &f.suppression {
        let kind = match s.kind {
            SuppressionKind::InSource => "inSource",
            SuppressionKind::Policy => "external",
        };
        r.insert("suppressions".into(), json!([{ "kind": kind, "justification": s.justification }]));
    }
    if let Some(state) = f.baseline {
        r.insert("baselineState".into(), json!(state.as_str()));
    }
    Value::Object(r)
}

/// One occurrence of a baseline entry that the run did not find: at the start of its file (the
/// recorded line is not known), level `none`, and a fingerprint apart from the live finding's
/// (`:absent` instead of `:1`), so it never keeps an alert of the fixed finding open.
fn absent_result(e: &crate::baseline::FindingEntry, rule_index: usize) -> Value {
    let location = Location::new(e.file.clone(), crate::diag::Span::line(1));
    json!({
        "ruleId": e.rule,
        "ruleIndex": rule_index,
        "level": "none",
        "message": { "text": format!("{}: no longer found (recorded in the baseline)", e.rule) },
        "locations": [{ "physicalLocation": physical_location(&location) }],
        "partialFingerprints": { "primaryLocationLineHash": format!("{}:absent", e.fingerprint) },
        "properties": { "rule": e.rule, "fingerprint": e.fingerprint },
        "baselineState": "absent",
    })
}

/// Test fixtures shared by the report renderers' tests.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::diag::{
        AdvisoryInfo, Finding, Location, Related, Severity, Span, Suppression, SuppressionKind, parse_error,
    };
    use crate::workspace::Fleet;

    pub const LOCK: &str = "# lock\nversion = 4\n\n[[package]]\nname = \"hyper\"\nversion = \"0.13.9\"\n\n[[package]]\nname = \"net2\"\nversion = \"0.2.37\"\n";

    pub fn fleet() -> (tempfile::TempDir, Fleet) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), LOCK).unwrap();
        std::fs::create_dir_all(dir.path().join("svc dir")).unwrap();
        std::fs::write(dir.path().join("svc dir/main#1.rs"), "fn main() {\n    let x = 1;\n}\n").unwrap();
        let fleet = Fleet {
            root: dir.path().to_path_buf(),
            packages: Vec::new(),
            workspaces: Vec::new(),
            lockfiles: vec!["Cargo.lock".into()],
            rust_files: vec!["svc dir/main#1.rs".into()],
            coverage_reports: Vec::new(),
            text_files: Vec::new(),
            problems: Vec::new(),
            owners: Default::default(),
            settings: Default::default(),
        };
        (dir, fleet)
    }

    fn advisory(id: &str, cvss: Option<f64>, kind: &str) -> AdvisoryInfo {
        AdvisoryInfo {
            id: id.into(),
            package: "hyper".into(),
            version: "0.13.9".into(),
            patched: vec![">= 0.14.10".into()],
            aliases: vec!["CVE-2021-32715".into()],
            cvss,
            kind: kind.into(),
            title: "Lenient hyper header parsing of Content-Length".into(),
            url: None,
            date: "2021-07-07".into(),
            description: "hyper accepted a leading plus sign.\n\nSecond paragraph, with details.".into(),
            cvss_vector: None,
        }
    }

    pub fn findings() -> Vec<Finding> {
        let mut vuln = Finding::new(
            "advisories/vulnerability",
            Severity::Medium,
            "hyper 0.13.9 is vulnerable (RUSTSEC-2021-0078)",
            Location::new("Cargo.lock", Span { line: 4, column: 1, end_line: 6, end_column: 19 }),
        )
        .with_key("RUSTSEC-2021-0078 hyper@0.13.9")
        .with_services(vec!["billing".into(), "api".into()])
        .with_help("upgrade hyper to >= 0.14.10")
        .with_related(vec![Related {
            location: Location::new("billing/Cargo.toml", Span::line(1)),
            message: "billing depends on hyper".into(),
        }]);
        vuln.advisory = Some(advisory("RUSTSEC-2021-0078", Some(5.9), "vulnerability"));

        let mut unmaintained = Finding::new(
            "advisories/unmaintained",
            Severity::Low,
            "net2 0.2.37 is unmaintained (RUSTSEC-2020-0016)",
            Location::new("Cargo.lock", Span::line(8)),
        )
        .with_key("RUSTSEC-2020-0016 net2@0.2.37");
        let mut a = advisory("RUSTSEC-2020-0016", None, "unmaintained");
        a.package = "net2".into();
        unmaintained.advisory = Some(a);

        let mut suppressed = Finding::new(
            "unsafe/unsafe-code",
            Severity::High,
            "unsafe block: a, b\nsecond line 100%",
            Location::new("svc dir/main#1.rs", Span::at(2, 5)),
        )
        .with_services(vec!["billing".into()]);
        suppressed.suppression =
            Some(Suppression { kind: SuppressionKind::InSource, justification: "audited".into() });

        let mut ignored = Finding::new(
            "advisories/vulnerability",
            Severity::Critical,
            "ignored by policy",
            Location::new("Cargo.lock", Span::line(5)),
        )
        .with_key("ignored");
        ignored.suppression =
            Some(Suppression { kind: SuppressionKind::Policy, justification: "not reachable".into() });

        let source = Finding::new(
            "unsafe/unsafe-code",
            Severity::High,
            "unsafe block: a, b\nsecond line 100%",
            Location::new("svc dir/main#1.rs", Span { line: 2, column: 5, end_line: 2, end_column: 15 }),
        )
        .with_key("other")
        .with_services(vec!["billing".into()]);

        let broken = parse_error("broken/Cargo.toml", 3, 7, "expected `=`");
        vec![vuln, unmaintained, suppressed, ignored, source, broken]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Report;

    fn report<'a>(fleet: &'a crate::workspace::Fleet, findings: &'a [Finding]) -> Report<'a> {
        Report {
            fleet,
            findings,
            db: None,
            coverage: None,
            fail_on: Severity::High,
            selection: None,
            baseline: None,
            automation_id: "fleetward/all/".into(),
            color: false,
            quiet: false,
        }
    }

    #[test]
    fn sarif_is_consistent_and_valid() {
        let (dir, fleet) = fixture::fleet();
        let findings = fixture::findings();
        let rep = report(&fleet, &findings);
        let mut buf = Vec::new();
        render(&rep, &mut buf).unwrap();
        let mut again = Vec::new();
        render(&rep, &mut again).unwrap();
        assert_eq!(buf, again, "output is deterministic");
        assert!(buf.ends_with(b"}\n"));
        let v: Value = serde_json::from_slice(&buf).unwrap();
        let run = &v["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted, "rules sorted and unique");
        assert!(ids.contains(&"RUSTSEC-2021-0078") && ids.contains(&"fleetward/parse-error"));
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), findings.len());
        for (r, f) in results.iter().zip(&findings) {
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], r["ruleId"]);
            assert_eq!(r["partialFingerprints"]["primaryLocationLineHash"], format!("{}:1", f.fingerprint()));
        }
        let vuln = &rules[ids.iter().position(|i| *i == "RUSTSEC-2021-0078").unwrap()];
        assert_eq!(vuln["properties"]["security-severity"], "5.9");
        assert_eq!(vuln["name"], "advisories/vulnerability");
        assert_eq!(vuln["fullDescription"]["text"], "hyper accepted a leading plus sign.");
        let unm = &rules[ids.iter().position(|i| *i == "RUSTSEC-2020-0016").unwrap()];
        assert_eq!(unm["properties"]["security-severity"], "3.0");
        assert_eq!(
            results[0]["message"]["text"],
            "hyper 0.13.9 is vulnerable (RUSTSEC-2021-0078) (services: api, billing)"
        );
        assert_eq!(results[0]["relatedLocations"][0]["id"], 1);
        assert_eq!(results[2]["suppressions"][0]["kind"], "inSource");
        assert_eq!(results[3]["suppressions"][0]["kind"], "external");
        assert_eq!(
            results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "svc%20dir/main%231.rs"
        );

        let validator = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/sarif/validate.py");
        if std::path::Path::new(validator).exists() {
            let file = dir.path().join("out.sarif");
            std::fs::write(&file, &buf).unwrap();
            let out = std::process::Command::new("python3")
                .arg(validator)
                .arg("--strict")
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "validate.py --strict failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn refuses_overlong_ids_and_too_many_results() {
        let (_dir, fleet) = fixture::fleet();
        let mut long = fixture::findings();
        long[0].advisory.as_mut().unwrap().id = "X".repeat(256);
        assert!(build(&report(&fleet, &long)).unwrap_err().to_string().contains("255"));
        let many = vec![fixture::findings().pop().unwrap(); MAX_RESULTS + 1];
        assert!(build(&report(&fleet, &many)).unwrap_err().to_string().contains("25000"));
    }

    #[test]
    fn github_limits_on_runs_results_and_gzipped_size() {
        let ok = json!({ "runs": [{ "results": [] }] });
        assert!(check_github_limits(&ok, b"{}", "advice").is_ok());
        let runs = json!({ "runs": vec![json!({ "results": [] }); MAX_RUNS + 1] });
        let err = check_github_limits(&runs, b"{}", "do this").unwrap_err().to_string();
        assert!(err.contains("21 runs exceed GitHub's limit of 20") && err.ends_with("do this"), "{err}");
        let results = json!({ "runs": [{ "results": vec![json!(1); MAX_RESULTS + 1] }] });
        let err = check_github_limits(&results, b"{}", "do this").unwrap_err().to_string();
        assert!(err.contains("25001 results in one run exceed GitHub's limit of 25000"), "{err}");
        // 11 MB that gzip cannot shrink (xorshift bytes): only the size is measured.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let big: Vec<u8> = (0..11_000_000 / 8)
            .flat_map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()
            })
            .collect();
        let err = check_github_limits(&ok, &big, "do this").unwrap_err().to_string();
        assert!(
            err.contains("bytes gzipped") && err.contains("over GitHub's limit of 10000000 bytes"),
            "{err}"
        );
        assert!(err.contains(&format!("({} bytes uncompressed)", big.len())), "{err}");
        // The same size of repetitive text compresses far below the limit.
        let small = vec![b'a'; big.len()];
        assert!(check_github_limits(&ok, &small, "do this").is_ok());
        assert!(gzip_size(&small).unwrap() < 100_000);
    }

    #[test]
    fn uri_encoding() {
        assert_eq!(encode_uri("a b/100%/x#y?z.rs"), "a%20b/100%25/x%23y%3Fz.rs");
        assert_eq!(encode_uri("crates/foo/Cargo.lock"), "crates/foo/Cargo.lock");
    }
}
