//! `fleetward merge`: the JSON reports or SARIF logs of the N runs of `check --shard K/N`
//! combined into the report one full run would have written.
//!
//! What makes this possible is in [`crate::scope`]: a shard reports each finding it keeps
//! exactly as a full run does (services, message and related locations are computed over the
//! whole fleet), and every shard keeps the fleet-level findings. So the merge is:
//!
//! - the union of the findings as a multiset (a finding that several shards report is one
//!   finding; identical findings inside one shard stay as many as the shard had), except the
//!   rules of [`crate::scope::SCOPE_DEPENDENT`], kept only as far as every shard reported them;
//! - baseline entries reported absent by every shard (a shard reports absent every entry it did
//!   not find itself), as many times as the shard that found most of them;
//! - the report order restored from what the outputs show: file, span, rule, message and
//!   fingerprint, the order of [`crate::diag::sort_findings`] (SARIF results carry the
//!   fleetward rule in `properties.rule`; the message is the text without the services suffix);
//! - everything derived from findings recomputed (JSON `errors`, `summary`, the baseline counts;
//!   SARIF rules and each result's `ruleIndex`), the coverage rows of each shard's packages put
//!   back in the table's order, and the selection dropped: the category is `fleetward/all/`.
//!
//! Inputs that cannot be merged into a full run (another format, not a fleetward shard output,
//! different shard counts, fleets or versions, a shard missing or given twice) are errors that
//! name the file.

use crate::baseline::FindingEntry;
use crate::cli::MergeFormat;
use crate::diag::{PARSE_ERROR, Severity};
use crate::scope::SCOPE_DEPENDENT;
use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What to do when the merged SARIF is over GitHub's limits.
const ADVICE: &str = "upload the shards' SARIF files separately instead: each has its own category \
     (fleetward/shard-K-of-N/), so they do not replace each other; or check fewer rules \
     (--only, --skip)";

/// One input: its path as given and its parsed content.
struct Input {
    path: PathBuf,
    doc: Value,
    index: u32,
    count: u32,
}

impl Input {
    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Merge `files` (all of one `format`) and write the result to `output` or standard output.
pub fn run(files: &[PathBuf], format: MergeFormat, output: Option<&Path>) -> anyhow::Result<()> {
    let inputs = read_inputs(files, format)?;
    let bytes = match format {
        MergeFormat::Json => {
            let mut bytes = serde_json::to_vec_pretty(&merge_json(&inputs)?)?;
            bytes.push(b'\n');
            bytes
        }
        MergeFormat::Sarif => crate::report::sarif::to_bytes(&merge_sarif(&inputs)?, ADVICE)?,
    };
    match output {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("could not write {}", path.display()))?
        }
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Json,
    Sarif,
}

fn kind_of(doc: &Value) -> Option<Kind> {
    if doc["tool"]["name"] == "fleetward" && doc["version"] == 1 && doc["findings"].is_array() {
        return Some(Kind::Json);
    }
    let runs = doc["runs"].as_array()?;
    (doc["version"] == "2.1.0" && runs.iter().all(|r| r["tool"]["driver"]["name"] == "fleetward"))
        .then_some(Kind::Sarif)
}

/// Read, recognise and order the inputs; check they are the N shards of one run.
fn read_inputs(files: &[PathBuf], format: MergeFormat) -> anyhow::Result<Vec<Input>> {
    let wanted = match format {
        MergeFormat::Json => Kind::Json,
        MergeFormat::Sarif => Kind::Sarif,
    };
    let mut inputs: Vec<Input> = Vec::new();
    for path in files {
        let name = path.display();
        let text = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
        let doc: Value = serde_json::from_slice(&text)
            .with_context(|| format!("{name} is not a fleetward report: it is not JSON"))?;
        let kind = kind_of(&doc).with_context(|| {
            format!("{name} is not a fleetward report (neither a JSON report nor a SARIF log of fleetward)")
        })?;
        if kind != wanted {
            let (is, merging) = match kind {
                Kind::Json => ("a JSON report", "SARIF logs"),
                Kind::Sarif => ("a SARIF log", "JSON reports"),
            };
            bail!(
                "{name} is {is}, but --format {} merges {merging}: give every shard's output in one format",
                match format {
                    MergeFormat::Json => "json",
                    MergeFormat::Sarif => "sarif",
                }
            );
        }
        let selection = match kind {
            Kind::Json => &doc["selection"],
            Kind::Sarif => {
                let runs = doc["runs"].as_array().map_or(0, Vec::len);
                if runs != 1 {
                    bail!("{name} has {runs} runs; the SARIF of a fleetward shard has one");
                }
                &doc["runs"][0]["properties"]["fleetward"]["selection"]
            }
        };
        let (Some(index), Some(count)) = (selection["index"].as_u64(), selection["count"].as_u64()) else {
            bail!("{name} is not the output of `fleetward check --shard K/N` (it names no shard)");
        };
        if selection["mode"] != "shard" || index == 0 || index > count {
            bail!("{name} is not the output of `fleetward check --shard K/N` (it names no shard)");
        }
        inputs.push(Input { path: path.clone(), doc, index: index as u32, count: count as u32 });
    }
    let Some(first) = inputs.first() else { bail!("no file to merge") };
    let (count, version) = (first.count, tool_version(&first.doc, wanted));
    for i in &inputs {
        if i.count != count {
            bail!(
                "{} is shard {} of {}, but {} is a shard of {count}: merge the shards of one run",
                i.name(),
                i.index,
                i.count,
                first.name()
            );
        }
        let v = tool_version(&i.doc, wanted);
        if v != version {
            bail!("{} was written by fleetward {v}, {} by fleetward {version}", i.name(), first.name());
        }
    }
    inputs.sort_by_key(|i| i.index);
    for pair in inputs.windows(2) {
        if pair[0].index == pair[1].index {
            bail!(
                "{} and {} are both shard {} of {count}: give each shard once",
                pair[0].name(),
                pair[1].name(),
                pair[0].index
            );
        }
    }
    let missing: Vec<String> =
        (1..=count).filter(|k| !inputs.iter().any(|i| i.index == *k)).map(|k| k.to_string()).collect();
    if !missing.is_empty() {
        bail!(
            "shard{} {} of {count} missing: a merge needs the outputs of all {count} shards",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        );
    }
    Ok(inputs)
}

fn tool_version(doc: &Value, kind: Kind) -> String {
    let v = match kind {
        Kind::Json => &doc["tool"]["version"],
        Kind::Sarif => &doc["runs"][0]["tool"]["driver"]["version"],
    };
    v.as_str().unwrap_or_default().to_string()
}

/// The same in every input, or an error naming the first that differs.
fn same<'a>(
    inputs: &'a [Input],
    what: &str,
    get: impl Fn(&'a Value) -> &'a Value,
) -> anyhow::Result<&'a Value> {
    let first = get(&inputs[0].doc);
    for i in &inputs[1..] {
        if get(&i.doc) != first {
            bail!(
                "{} and {} differ in {what}: they are not shards of one run of the same fleet",
                i.name(),
                inputs[0].name()
            );
        }
    }
    Ok(first)
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// The multiset union of per-shard lists: each distinct value as many times as the shard that
/// has most of it, or, when `all_shards(value)`, as the shard that has fewest (0 when one shard
/// lacks it). Returns (value, the first shard holding it, its canonical text), unordered.
fn union(
    lists: &[&[Value]],
    canonical: impl Fn(&Value) -> String,
    all_shards: impl Fn(&Value) -> bool,
) -> Vec<(Value, usize, String)> {
    let mut seen: HashMap<String, (Value, usize, Vec<usize>)> = HashMap::new();
    for (s, list) in lists.iter().enumerate() {
        for v in list.iter() {
            let key = canonical(v);
            let entry = seen.entry(key).or_insert_with(|| (v.clone(), s, vec![0; lists.len()]));
            entry.2[s] += 1;
        }
    }
    let mut out = Vec::new();
    for (key, (v, first, counts)) in seen {
        let n = if all_shards(&v) {
            counts.iter().copied().min().unwrap_or(0)
        } else {
            counts.iter().copied().max().unwrap_or(0)
        };
        for _ in 0..n {
            out.push((v.clone(), first, key.clone()));
        }
    }
    out
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn scope_dependent(rule: &Value) -> bool {
    SCOPE_DEPENDENT.contains(&str_of(rule))
}

/// The report order of [`crate::diag::sort_findings`], then the value itself (findings equal
/// in all of it are identical as far as any report shows).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct OrderKey {
    file: Vec<u8>,
    span: [u64; 4],
    rule: String,
    message: String,
    fingerprint: String,
    canonical: String,
}

fn sort_by_report_order(items: &mut [(Value, usize, String)], key: impl Fn(&Value, &str) -> OrderKey) {
    items.sort_by_cached_key(|(v, _, canonical)| key(v, canonical));
}

fn merge_json(inputs: &[Input]) -> anyhow::Result<Value> {
    same(inputs, "`services` (the fleet)", |d| &d["services"])?;
    same(inputs, "`database`", |d| &d["database"])?;
    same(inputs, "`coverage_reports`", |d| &d["coverage_reports"])?;
    same(inputs, "`summary.services`", |d| &d["summary"]["services"])?;
    same(inputs, "`summary.packages`", |d| &d["summary"]["packages"])?;
    let fail_on = same(inputs, "`summary.fail_on` (--fail-on)", |d| &d["summary"]["fail_on"])?;
    let baseline_file = same(inputs, "`baseline.file` (--baseline)", |d| &d["baseline"]["file"])?;
    let fail_on =
        Severity::parse(str_of(fail_on)).context("the reports' `summary.fail_on` is not a severity")?;

    // Findings.
    let lists: Vec<&[Value]> = inputs.iter().map(|i| array(&i.doc["findings"])).collect();
    let mut findings =
        union(&lists, |v| serde_json::to_string(v).unwrap_or_default(), |v| scope_dependent(&v["rule"]));
    sort_by_report_order(&mut findings, |v, canonical| OrderKey {
        file: str_of(&v["file"]).as_bytes().to_vec(),
        span: ["line", "column", "end_line", "end_column"].map(|k| v[k].as_u64().unwrap_or(0)),
        rule: str_of(&v["rule"]).to_string(),
        message: str_of(&v["message"]).to_string(),
        fingerprint: str_of(&v["fingerprint"]).to_string(),
        canonical: canonical.to_string(),
    });

    // Errors: one per parse-error finding, in the findings' order.
    let mut error_of: HashMap<String, Value> = HashMap::new();
    for i in inputs {
        let parse_errors = array(&i.doc["findings"]).iter().filter(|f| f["rule"] == PARSE_ERROR);
        let errors = array(&i.doc["errors"]);
        if parse_errors.clone().count() != errors.len() {
            bail!("{}: its `errors` do not match its {PARSE_ERROR} findings", i.name());
        }
        for (f, e) in parse_errors.zip(errors) {
            error_of.entry(serde_json::to_string(f).unwrap_or_default()).or_insert_with(|| e.clone());
        }
    }
    let errors: Vec<Value> = findings
        .iter()
        .filter(|(v, _, _)| v["rule"] == PARSE_ERROR)
        .filter_map(|(_, _, canonical)| error_of.get(canonical).cloned())
        .collect();

    // Coverage rows and unreported files, in the table's order: by package name, then by the
    // package's place in the fleet (`services` lists the packages in that order).
    let services = array(&inputs[0].doc["services"]);
    let package_index = |path: &str| services.iter().position(|s| s["path"] == path).unwrap_or(usize::MAX);
    let package_of_files = |row: &Value| {
        let name = &row["service"];
        let named: Vec<usize> = (0..services.len()).filter(|&i| &services[i]["name"] == name).collect();
        if named.len() == 1 {
            return named[0];
        }
        // Names repeat across workspaces: the package whose directory holds the files.
        let file = str_of(&row["files"][0]);
        named
            .into_iter()
            .filter(|&i| {
                let dir = str_of(&services[i]["path"]);
                dir == "." || file.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
            })
            .max_by_key(|&i| str_of(&services[i]["path"]).len())
            .unwrap_or(usize::MAX)
    };
    let coverage = merge_rows(inputs, "coverage", |r| {
        (str_of(&r["service"]).to_string(), package_index(str_of(&r["path"])))
    });
    let unreported = merge_rows(inputs, "coverage_unreported", |r| {
        (str_of(&r["service"]).to_string(), package_of_files(r))
    });

    // Baseline.
    let baseline = if baseline_file.is_null() {
        None
    } else {
        // (file, rule, fingerprint) -> the fewest missing occurrences any shard reported.
        let mut absent: BTreeMap<(String, String, String), u32> = BTreeMap::new();
        for (s, i) in inputs.iter().enumerate() {
            let entries: Vec<FindingEntry> = serde_json::from_value(i.doc["baseline"]["absent"].clone())
                .with_context(|| {
                    format!("{}: `baseline.absent` is not a list of baseline entries", i.name())
                })?;
            let mut here: HashMap<(String, String, String), u32> = HashMap::new();
            for e in entries {
                *here.entry((e.file, e.rule, e.fingerprint)).or_default() += e.count;
            }
            if s == 0 {
                absent = here.into_iter().collect();
            } else {
                for (key, n) in absent.iter_mut() {
                    *n = (*n).min(here.get(key).copied().unwrap_or(0));
                }
            }
        }
        let absent: Vec<FindingEntry> = absent
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|((file, rule, fingerprint), count)| FindingEntry { rule, file, fingerprint, count })
            .collect();
        let state = |s: &str| findings.iter().filter(|(v, _, _)| v["baseline_state"] == s).count();
        Some(
            json!({ "file": baseline_file, "new": state("new"), "unchanged": state("unchanged"), "absent": absent }),
        )
    };

    // Summary.
    let unsuppressed = || findings.iter().map(|(v, _, _)| v).filter(|v| v["suppressed"] != true);
    let mut counts = Map::new();
    for s in Severity::ALL {
        counts
            .insert(s.as_str().into(), json!(unsuppressed().filter(|v| v["severity"] == s.as_str()).count()));
    }
    let failing = unsuppressed()
        .filter(|v| Severity::parse(str_of(&v["severity"])).is_some_and(|s| s >= fail_on))
        .filter(|v| v["baseline_state"] != "unchanged")
        .count();
    let suppressed = findings.len() - unsuppressed().count();

    // The document, in the first report's key order.
    let Value::Object(first) = &inputs[0].doc else { bail!("{} is not a JSON object", inputs[0].name()) };
    let mut out = Map::new();
    for (key, value) in first {
        let merged = match key.as_str() {
            "selection" => continue,
            "findings" => Value::Array(findings.iter().map(|(v, _, _)| v.clone()).collect()),
            "errors" => Value::Array(errors.clone()),
            "baseline" => baseline.clone().unwrap_or(Value::Null),
            "coverage" => Value::Array(coverage.clone()),
            "coverage_unreported" => Value::Array(unreported.clone()),
            "summary" => {
                let mut summary = value.clone();
                summary["findings"] = Value::Object(counts.clone());
                summary["suppressed"] = json!(suppressed);
                summary["failing"] = json!(failing);
                summary
            }
            _ => value.clone(),
        };
        out.insert(key.clone(), merged);
    }
    Ok(Value::Object(out))
}

/// The rows of `key` of every input, each once, sorted by `order` (stable: a package's rows
/// keep their order, and a package is in one shard).
fn merge_rows(inputs: &[Input], key: &str, order: impl Fn(&Value) -> (String, usize)) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    let mut rows: Vec<Value> = Vec::new();
    for i in inputs {
        for r in array(&i.doc[key]) {
            if seen.insert(serde_json::to_string(r).unwrap_or_default()) {
                rows.push(r.clone());
            }
        }
    }
    rows.sort_by_cached_key(|r| order(r));
    rows
}

/// Percent-decoding of an `artifactLocation.uri` (the inverse of
/// [`crate::report::sarif::encode_uri`]), as bytes.
fn decode_uri(uri: &str) -> Vec<u8> {
    let b = uri.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(byte) =
                std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn sarif_order(v: &Value, canonical: &str) -> OrderKey {
    let location = &v["locations"][0]["physicalLocation"];
    let region = &location["region"];
    let services: Vec<&str> = array(&v["properties"]["services"]).iter().map(str_of).collect();
    let text = str_of(&v["message"]["text"]);
    let suffix = format!(" (services: {})", services.join(", "));
    let message = if services.is_empty() { text } else { text.strip_suffix(&suffix).unwrap_or(text) };
    let hash = str_of(&v["partialFingerprints"]["primaryLocationLineHash"]);
    OrderKey {
        file: decode_uri(str_of(&location["artifactLocation"]["uri"])),
        span: ["startLine", "startColumn", "endLine", "endColumn"].map(|k| region[k].as_u64().unwrap_or(0)),
        rule: str_of(&v["properties"]["rule"]).to_string(),
        message: message.to_string(),
        fingerprint: hash.rsplit_once(':').map_or(hash, |(h, _)| h).to_string(),
        canonical: canonical.to_string(),
    }
}

fn merge_sarif(inputs: &[Input]) -> anyhow::Result<Value> {
    let run = |d: &Value| -> Value { d["runs"][0].clone() };
    let runs: Vec<Value> = inputs.iter().map(|i| run(&i.doc)).collect();
    same(inputs, "`$schema`", |d| &d["$schema"])?;
    same(inputs, "`originalUriBaseIds`", |d| &d["runs"][0]["originalUriBaseIds"])?;
    same(inputs, "`columnKind`", |d| &d["runs"][0]["columnKind"])?;

    // A result without its rule index (shards number their rules apart).
    let canonical = |v: &Value| {
        let mut v = v.clone();
        if let Some(o) = v.as_object_mut() {
            o.insert("ruleIndex".into(), json!(0));
        }
        serde_json::to_string(&v).unwrap_or_default()
    };
    let is_absent = |v: &Value| v["baselineState"] == "absent";
    let found: Vec<Vec<Value>> = runs
        .iter()
        .map(|r| array(&r["results"]).iter().filter(|v| !is_absent(v)).cloned().collect())
        .collect();
    let absent: Vec<Vec<Value>> = runs
        .iter()
        .map(|r| array(&r["results"]).iter().filter(|v| is_absent(v)).cloned().collect())
        .collect();
    let mut results = union(&found.iter().map(Vec::as_slice).collect::<Vec<_>>(), canonical, |v| {
        scope_dependent(&v["properties"]["rule"])
    });
    sort_by_report_order(&mut results, sarif_order);
    // Absent entries: those every shard reported, in (file, rule, fingerprint) order.
    let mut gone = union(&absent.iter().map(Vec::as_slice).collect::<Vec<_>>(), canonical, |_| true);
    gone.sort_by_cached_key(|(v, _, canonical)| {
        let location = &v["locations"][0]["physicalLocation"];
        (
            decode_uri(str_of(&location["artifactLocation"]["uri"])),
            str_of(&v["ruleId"]).to_string(),
            str_of(&v["properties"]["fingerprint"]).to_string(),
            canonical.clone(),
        )
    });
    results.extend(gone);

    // Rules: each described as in the shard holding the first result of its id (the renderer
    // describes a rule by its first finding), sorted by id.
    let mut rules: BTreeMap<String, Value> = BTreeMap::new();
    for (v, shard, _) in &results {
        let id = str_of(&v["ruleId"]);
        if rules.contains_key(id) {
            continue;
        }
        let descriptor = array(&runs[*shard]["tool"]["driver"]["rules"])
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .with_context(|| format!("{}: result of rule `{id}` without its rule", inputs[*shard].name()))?;
        rules.insert(id.to_string(), descriptor);
    }
    let index: HashMap<String, usize> = rules.keys().enumerate().map(|(i, k)| (k.clone(), i)).collect();
    let results: Vec<Value> = results
        .into_iter()
        .map(|(mut v, _, _)| {
            let i = index[str_of(&v["ruleId"])];
            v["ruleIndex"] = json!(i);
            v
        })
        .collect();

    let mut merged = runs[0].clone();
    merged["tool"]["driver"]["rules"] = Value::Array(rules.into_values().collect());
    merged["results"] = Value::Array(results);
    merged["automationDetails"]["id"] = json!("fleetward/all/");
    if let Some(props) = merged.get_mut("properties").and_then(Value::as_object_mut) {
        if let Some(fw) = props.get_mut("fleetward").and_then(Value::as_object_mut) {
            fw.remove("selection");
            if fw.is_empty() {
                props.remove("fleetward");
            }
        }
        if props.is_empty() {
            merged.as_object_mut().map(|o| o.remove("properties"));
        }
    }
    let mut log = inputs[0].doc.clone();
    log["runs"] = json!([merged]);
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_decoding_inverts_the_encoding() {
        for path in ["a b/100%/x#y?z.rs", "crates/foo/Cargo.lock", "é/ü.rs", "%zz"] {
            let encoded = crate::report::sarif::encode_uri(path);
            assert_eq!(decode_uri(&encoded), path.as_bytes(), "{path}");
        }
        assert_eq!(decode_uri("a%2"), b"a%2");
    }
}
