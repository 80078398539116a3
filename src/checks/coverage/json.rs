//! The two JSON formats: llvm-cov's export (`cargo llvm-cov --json`, `llvm-cov export`) and
//! tarpaulin's report (`--out Json`). Told apart by their fields, read in one pass with serde.
//!
//! llvm-cov export: lines are computed from each file's segments exactly as llvm-cov computes
//! them for its own line counts and LCOV output (`LineCoverageStats`), so the same run gives
//! the same line percentage in JSON, LCOV and Cobertura. Functions are the function records by
//! start line; regions are the code regions of the function records (covered when any
//! instantiation ran them); branches are both outcomes of each branch record. An export made
//! with `--summary-only` has no segments and is refused with that reason.

use super::model::{FileCoverage, FileTable, Format, Measured, Metric, ReadError, ReportData};
use serde::Deserialize;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

/// Read a JSON coverage report from its whole text. The format is told by llvm-cov's type
/// tag or tarpaulin's `traces`; other JSON (coverage.py's `coverage.json`, a package.json) is
/// "not a coverage report".
pub fn read(bytes: &[u8]) -> Result<ReportData, ReadError> {
    let invalid = |e: serde_json::Error| {
        let what = if e.is_eof() { "the report ends early: the file is truncated" } else { "invalid JSON" };
        ReadError::new(u32::try_from(e.line()).unwrap_or(u32::MAX), format!("{what}: {e}"))
    };
    if memchr::memmem::find(bytes, b"\"llvm.coverage.json.export").is_some() {
        let doc: LlvmDoc = serde_json::from_slice(bytes).map_err(invalid)?;
        return llvm(doc.data);
    }
    if memchr::memmem::find(bytes, b"\"traces\"").is_some() {
        let doc: TarpaulinDoc = serde_json::from_slice(bytes).map_err(invalid)?;
        return Ok(tarpaulin(doc.files));
    }
    Err(ReadError::not_coverage(
        "not a coverage report: JSON that is neither an llvm-cov export nor a tarpaulin report",
    ))
}

#[derive(Deserialize)]
struct LlvmDoc {
    data: Vec<Export>,
}

#[derive(Deserialize)]
struct TarpaulinDoc {
    files: Vec<TarpaulinFile>,
}

// ----- llvm-cov export ---------------------------------------------------------------------

#[derive(Deserialize)]
struct Export {
    #[serde(default)]
    files: Vec<LlvmFile>,
    #[serde(default)]
    functions: Vec<LlvmFunction>,
}

#[derive(Deserialize)]
struct LlvmFile {
    filename: String,
    segments: Option<Vec<Tuple<Segment>>>,
    #[serde(default)]
    branches: Vec<Tuple<Branch>>,
}

#[derive(Deserialize)]
struct LlvmFunction {
    #[serde(default)]
    count: u64,
    #[serde(default)]
    regions: Vec<Tuple<FnRegion>>,
    #[serde(default)]
    filenames: Vec<String>,
}

/// `[line, col, count, has_count, is_region_entry, is_gap_region]`
#[derive(Clone, Copy)]
struct Segment {
    line: u32,
    count: u64,
    has_count: bool,
    is_region_entry: bool,
    is_gap: bool,
}

/// `[line_start, col_start, line_end, col_end, true_count, false_count, ...]`
struct Branch {
    line: u32,
    true_count: u64,
    false_count: u64,
}

/// `[line_start, col_start, line_end, col_end, count, file_id, expanded_file_id, kind]`
struct FnRegion {
    region: [u32; 4],
    count: u64,
    file_id: usize,
    kind: u32,
}

/// `CodeRegion` in llvm's `CounterMappingRegion::RegionKind`.
const CODE_REGION: u32 = 0;

fn llvm(data: Vec<Export>) -> Result<ReportData, ReadError> {
    let mut files: BTreeMap<String, FileCoverage> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut measured = Measured::default().with(Metric::Lines).with(Metric::Functions).with(Metric::Regions);
    for export in data {
        for f in export.files {
            let Some(segments) = f.segments else {
                return Err(ReadError::new(
                    1,
                    format!(
                        "llvm-cov export without line data for `{}` (made with `--summary-only`?): export without it",
                        f.filename
                    ),
                ));
            };
            let file = entry(&mut files, &mut order, f.filename);
            line_stats(segments.iter().map(|s| &s.0), |line, count| file.lines.push(line, count > 0));
            if !f.branches.is_empty() {
                measured = measured.with(Metric::Branches);
            }
            let mut seq: BTreeMap<u32, u32> = BTreeMap::new();
            for Tuple(b) in f.branches {
                let n = seq.entry(b.line).or_default();
                file.branches.push((b.line, *n), b.true_count > 0);
                file.branches.push((b.line, *n + 1), b.false_count > 0);
                *n += 2;
            }
        }
        for func in export.functions {
            if let Some(Tuple(first)) = func.regions.first()
                && let Some(name) = func.filenames.get(first.file_id)
            {
                entry(&mut files, &mut order, name.clone()).functions.push(first.region[0], func.count > 0);
            }
            for Tuple(r) in &func.regions {
                if r.kind == CODE_REGION
                    && let Some(name) = func.filenames.get(r.file_id)
                {
                    entry(&mut files, &mut order, name.clone()).regions.push(r.region, r.count > 0);
                }
            }
        }
    }
    let mut table = FileTable::default();
    for name in order {
        if let Some(file) = files.remove(&name) {
            table.add(name, file);
        }
    }
    Ok(table.into_report(Format::LlvmJson, measured))
}

fn entry<'a>(
    files: &'a mut BTreeMap<String, FileCoverage>,
    order: &mut Vec<String>,
    name: String,
) -> &'a mut FileCoverage {
    if !files.contains_key(&name) {
        order.push(name.clone());
    }
    files.entry(name).or_default()
}

/// llvm's `LineCoverageIterator` and `LineCoverageStats`: for each line from the first
/// segment's to the last one's, the line is mapped when it does not start a skipped region
/// and either a region with a count starts on it or the region wrapping in from an earlier
/// line has a count; its count is the largest of the wrapped count and the counts of the
/// (non-gap) regions starting on it. `emit(line, count)` is called for each mapped line.
fn line_stats<'a>(segments: impl Iterator<Item = &'a Segment>, mut emit: impl FnMut(u32, u64)) {
    let segments: Vec<&Segment> = segments.collect();
    let (Some(first), Some(last)) = (segments.first(), segments.last()) else { return };
    let (first_line, last_line) = (first.line, last.line);
    let mut wrapped: Option<&Segment> = None;
    let mut i = 0;
    let mut line = first_line;
    while line <= last_line {
        let start = i;
        while i < segments.len() && segments[i].line == line {
            i += 1;
        }
        let on_line = &segments[start..i];
        let is_start = |s: &&&Segment| !s.is_gap && s.has_count && s.is_region_entry;
        let starts = on_line.iter().filter(is_start).count();
        let skipped = on_line.first().is_some_and(|s| !s.has_count && s.is_region_entry);
        let mapped = !skipped && (wrapped.is_some_and(|w| w.has_count) || starts > 0);
        if mapped {
            let mut count = wrapped.map_or(0, |w| w.count);
            for s in on_line.iter().filter(is_start) {
                count = count.max(s.count);
            }
            emit(line, count);
        }
        if let Some(last) = on_line.last() {
            wrapped = Some(last);
        }
        // Jump over lines with no segment and no mapped wrap: nothing to emit there.
        line = if wrapped.is_some_and(|w| w.has_count) || i >= segments.len() {
            line + 1
        } else {
            segments[i].line
        };
    }
}

// ----- tarpaulin ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct TarpaulinFile {
    /// Path components: `["/", "home", "ci", "repo", "src", "lib.rs"]`.
    path: Vec<String>,
    #[serde(default)]
    traces: Vec<Trace>,
}

#[derive(Deserialize)]
struct Trace {
    line: u64,
    stats: TraceStats,
}

#[derive(Deserialize)]
enum TraceStats {
    Line(u64),
    Branch(LogicState),
    Condition(Vec<LogicState>),
}

#[derive(Deserialize)]
struct LogicState {
    been_true: bool,
    been_false: bool,
}

fn tarpaulin(files: Vec<TarpaulinFile>) -> ReportData {
    let mut table = FileTable::default();
    let mut measured = Measured::default().with(Metric::Lines);
    for f in files {
        let path = join_components(&f.path);
        let mut file = FileCoverage::default();
        for t in f.traces {
            let Ok(line) = u32::try_from(t.line) else { continue };
            let states = match t.stats {
                TraceStats::Line(n) => {
                    file.lines.push(line, n > 0);
                    continue;
                }
                TraceStats::Branch(s) => vec![s],
                TraceStats::Condition(v) => v,
            };
            measured = measured.with(Metric::Branches);
            file.lines.push(line, states.iter().any(|s| s.been_true || s.been_false));
            for (i, s) in states.iter().enumerate() {
                let i = u32::try_from(i).unwrap_or(u32::MAX / 2) * 2;
                file.branches.push((line, i), s.been_true);
                file.branches.push((line, i + 1), s.been_false);
            }
        }
        table.add(path, file);
    }
    table.into_report(Format::TarpaulinJson, measured)
}

/// `["/", "home", "x.rs"]` -> `/home/x.rs`; `["C:\\", "x.rs"]` -> `C:\x.rs`.
fn join_components(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if !out.is_empty() && !out.ends_with(['/', '\\']) {
            out.push('/');
        }
        out.push_str(p);
    }
    out
}

// ----- fixed-position arrays ---------------------------------------------------------------

/// A JSON array read by position; elements past the ones used are ignored (newer llvm
/// versions append fields).
struct Tuple<T>(T);

trait FromSeq: Sized {
    const WHAT: &'static str;
    fn from_seq<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<Self, A::Error>;
}

impl<'de, T: FromSeq> Deserialize<'de> for Tuple<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: FromSeq> Visitor<'de> for V<T> {
            type Value = Tuple<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::WHAT)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tuple<T>, A::Error> {
                let value = T::from_seq(&mut seq)?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Tuple(value))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

fn next<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(seq: &mut A, what: &'static str) -> Result<T, A::Error> {
    seq.next_element()?.ok_or_else(|| serde::de::Error::custom(format!("{what} is too short")))
}

impl FromSeq for Segment {
    const WHAT: &'static str = "a segment [line, col, count, has_count, is_region_entry, is_gap_region]";
    fn from_seq<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<Self, A::Error> {
        let line = next(seq, "segment")?;
        let _col: u32 = next(seq, "segment")?;
        Ok(Segment {
            line,
            count: next(seq, "segment")?,
            has_count: next(seq, "segment")?,
            is_region_entry: next(seq, "segment")?,
            is_gap: seq.next_element()?.unwrap_or(false),
        })
    }
}

impl FromSeq for Branch {
    const WHAT: &'static str =
        "a branch [line_start, col_start, line_end, col_end, true_count, false_count, ...]";
    fn from_seq<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<Self, A::Error> {
        let line = next(seq, "branch")?;
        for _ in 0..3 {
            next::<_, u32>(seq, "branch")?;
        }
        Ok(Branch { line, true_count: next(seq, "branch")?, false_count: next(seq, "branch")? })
    }
}

impl FromSeq for FnRegion {
    const WHAT: &'static str =
        "a region [line_start, col_start, line_end, col_end, count, file_id, expanded_file_id, kind]";
    fn from_seq<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<Self, A::Error> {
        let region = [next(seq, "region")?, next(seq, "region")?, next(seq, "region")?, next(seq, "region")?];
        let count = next(seq, "region")?;
        let file_id = next(seq, "region")?;
        let _expanded: u64 = next(seq, "region")?;
        Ok(FnRegion { region, count, file_id, kind: next(seq, "region")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(line: u32, count: u64, has_count: bool, entry: bool, gap: bool) -> Segment {
        Segment { line, count, has_count, is_region_entry: entry, is_gap: gap }
    }

    fn lines(segments: &[Segment]) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        line_stats(segments.iter(), |l, c| out.push((l, c)));
        out
    }

    #[test]
    fn line_stats_follow_llvm() {
        // fn f(x) {          line 1: region entry, count 3
        //     if x {         line 2: wrapped
        //         a();       line 3: region entry, count 1 (the wrapped 3 is larger)
        //     }              line 4: gap region (count 2), then the wrap continues
        // }                  line 5: segment without entry, count 3
        let s = [
            seg(1, 3, true, true, false),
            seg(3, 1, true, true, false),
            seg(4, 2, true, true, true),
            seg(5, 3, true, false, false),
            seg(5, 0, false, false, false),
        ];
        assert_eq!(lines(&s), [(1, 3), (2, 3), (3, 3), (4, 1), (5, 2)]);
        // A skipped region (#[cfg] out) is not mapped; lines after a count-less end are not.
        let s = [
            seg(10, 0, false, true, false),
            seg(12, 0, false, false, false),
            seg(20, 5, true, true, false),
            seg(21, 0, false, false, false),
        ];
        assert_eq!(lines(&s), [(20, 5), (21, 5)]);
    }

    #[test]
    fn reads_llvm_export() {
        let doc = r#"{"data":[{"files":[{"filename":"/ci/repo/src/lib.rs",
            "segments":[[1,1,2,true,true,false],[2,10,0,false,false,false],[3,1,0,true,true,false],[4,2,0,false,false,false]],
            "branches":[[1,5,1,9,2,0,0,0,4]],"expansions":[],"summary":{}}],
            "functions":[{"name":"f","count":2,"regions":[[1,1,2,2,2,0,0,0]],"filenames":["/ci/repo/src/lib.rs"]},
                         {"name":"g","count":0,"regions":[[3,1,4,2,0,0,0,0],[3,5,3,9,0,0,0,2]],"filenames":["/ci/repo/src/lib.rs"]}],
            "totals":{}}],"type":"llvm.coverage.json.export","version":"2.0.1"}"#;
        let r = read(doc.as_bytes()).unwrap();
        assert_eq!(r.format, Some(Format::LlvmJson));
        let (path, f) = &r.files[0];
        assert_eq!(path, "/ci/repo/src/lib.rs");
        assert_eq!(f.counts(Metric::Lines), (2, 4));
        assert_eq!(f.counts(Metric::Functions), (1, 2));
        assert_eq!(f.counts(Metric::Regions), (1, 2), "the skipped region is not counted");
        assert_eq!(f.counts(Metric::Branches), (1, 2));
    }

    #[test]
    fn summary_only_export_is_refused() {
        let doc = r#"{"data":[{"files":[{"filename":"a.rs","summary":{}}],"totals":{}}],"type":"llvm.coverage.json.export"}"#;
        assert!(read(doc.as_bytes()).unwrap_err().message.contains("--summary-only"));
    }

    #[test]
    fn reads_tarpaulin() {
        let doc = r#"{"files":[{"path":["/","ci","repo","src","lib.rs"],"content":"","traces":[
            {"line":3,"address":[1],"length":1,"stats":{"Line":2}},
            {"line":4,"address":[2],"length":1,"stats":{"Line":0}},
            {"line":5,"address":[],"length":1,"stats":{"Branch":{"been_true":true,"been_false":false}}}],
            "covered":1,"coverable":2}],"coverage":50.0,"covered":1,"coverable":2}"#;
        let r = read(doc.as_bytes()).unwrap();
        assert_eq!(r.format, Some(Format::TarpaulinJson));
        let (path, f) = &r.files[0];
        assert_eq!(path, "/ci/repo/src/lib.rs");
        assert_eq!(f.counts(Metric::Lines), (2, 3));
        assert_eq!(f.counts(Metric::Branches), (1, 2));
    }

    #[test]
    fn errors_name_the_line() {
        let e = read(b"{\"files\": [\n  {\"path\": [\"a.rs\"],\n  \"traces\": [").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("truncated"), "{e:?}");
        let e = read(b"{\n\"files\": 3, \"traces\": 1}").unwrap_err();
        assert_eq!(e.line, 2);
        // coverage.py's JSON report is not one of ours.
        let e = read(br#"{"meta": {"format": 3}, "files": {"a.py": {"executed_lines": [1]}}}"#).unwrap_err();
        assert!(e.not_coverage, "{e:?}");
        let e = read(b"{\"name\": \"package.json\"}").unwrap_err();
        assert!(e.message.starts_with("not a coverage report"), "{e:?}");
    }
}
