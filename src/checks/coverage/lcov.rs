//! LCOV tracefiles (cargo-llvm-cov `--lcov`, tarpaulin, grcov, lcov/geninfo 1.x and 2.x),
//! read as a stream: memory follows the files of the report, not its size.
//!
//! Records used: `SF`, `DA`, `FN` (`FN:line,name` and 2.x `FN:line,end,name`), `FNDA`,
//! `FNL`/`FNA` (2.2), `BRDA`, `end_of_record`; the summary records (`LF`, `LH`, `FNF`, ...)
//! are recomputed, never trusted; other records are skipped. A line that is not a record, a
//! record with a bad number, or a file that ends inside a record is an error at its line.

use super::model::{FileCoverage, FileTable, Format, Measured, Metric, ReadError, ReportData};
use rustc_hash::FxHashMap as HashMap;
use std::io::BufRead;

/// Line numbers above this are not believed (no source file has ten million lines).
pub const MAX_LINE: u32 = 10_000_000;

/// Read an LCOV tracefile. The input is scanned in the reader's buffer, line by line with
/// `memchr`, without copying lines (only a line cut by the buffer's end is carried over).
pub fn read(input: &mut dyn BufRead) -> Result<ReportData, ReadError> {
    let mut p = Parser::default();
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let chunk = input.fill_buf().map_err(|e| ReadError::new(p.lineno + 1, format!("read error: {e}")))?;
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len();
        let mut pos = 0;
        if !carry.is_empty() {
            match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    carry.extend_from_slice(&chunk[..i]);
                    p.line(&carry)?;
                    carry.clear();
                    pos = i + 1;
                }
                None => {
                    carry.extend_from_slice(chunk);
                    input.consume(len);
                    continue;
                }
            }
        }
        let rest = &chunk[pos..];
        let last = memchr::memrchr(b'\n', rest);
        let (lines, tail) = match last {
            Some(i) => (&rest[..i + 1], &rest[i + 1..]),
            None => (&rest[..0], rest),
        };
        for line in memchr::memchr_iter(b'\n', lines).scan(0, |start, nl| {
            let l = &lines[*start..nl];
            *start = nl + 1;
            Some(l)
        }) {
            p.line(line)?;
        }
        carry.extend_from_slice(tail);
        input.consume(len);
    }
    if !carry.is_empty() {
        p.line(&carry)?;
    }
    p.finish()
}

/// The state of a tracefile being read.
#[derive(Default)]
struct Parser {
    table: FileTable,
    measured: Measured,
    record: Option<Record>,
    lineno: u32,
}

impl Parser {
    fn line(&mut self, raw: &[u8]) -> Result<(), ReadError> {
        self.lineno += 1;
        let lineno = self.lineno;
        // The common case first: a `DA` record inside a file record.
        if let (Some(v), Some(r)) = (raw.strip_prefix(b"DA:"), self.record.as_mut())
            && r.da(trim_eol(v))
        {
            return Ok(());
        }
        let line = trim_eol(raw);
        if line.is_empty() {
            return Ok(());
        }
        let err = |what: &str| ReadError::new(lineno, format!("{what}: `{}`", shorten(line)));
        let Some(colon) = memchr::memchr(b':', line) else {
            if line == b"end_of_record" {
                return match self.record.take() {
                    Some(r) => {
                        let (path, file) = r.finish();
                        self.table.add(path, file);
                        Ok(())
                    }
                    None => Err(err("`end_of_record` outside a file record")),
                };
            }
            return Err(err("not an LCOV record"));
        };
        let (tag, value) = (&line[..colon], &line[colon + 1..]);
        if tag == b"SF" {
            if let Some(r) = &self.record {
                return Err(ReadError::new(
                    lineno,
                    format!("`SF` before the `end_of_record` of `{}` (line {})", r.path, r.line),
                ));
            }
            let path = String::from_utf8_lossy(value).trim().to_string();
            if path.is_empty() {
                return Err(err("`SF` without a path"));
            }
            self.record = Some(Record::new(path, lineno));
            return Ok(());
        }
        if tag.is_empty() || !tag.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_') {
            return Err(err("not an LCOV record"));
        }
        if !matches!(tag, b"DA" | b"FN" | b"FNDA" | b"FNL" | b"FNA" | b"BRDA") {
            return Ok(());
        }
        let Some(r) = self.record.as_mut() else {
            return Err(err("a data record outside a file record (no `SF` before it)"));
        };
        let ok = match tag {
            b"DA" => r.da(value),
            b"FN" => {
                self.measured = self.measured.with(Metric::Functions);
                r.fn_(value)
            }
            b"FNDA" => r.fnda(value),
            b"FNL" => {
                self.measured = self.measured.with(Metric::Functions);
                r.fnl(value)
            }
            b"FNA" => r.fna(value),
            _ => {
                self.measured = self.measured.with(Metric::Branches);
                r.brda(value)
            }
        };
        if ok { Ok(()) } else { Err(err(&format!("malformed `{}` record", String::from_utf8_lossy(tag)))) }
    }

    fn finish(self) -> Result<ReportData, ReadError> {
        if let Some(r) = self.record {
            return Err(ReadError::new(
                self.lineno,
                format!(
                    "the report ends inside the record of `{}` (line {}): no `end_of_record`; the file is truncated",
                    r.path, r.line
                ),
            ));
        }
        Ok(self.table.into_report(Format::Lcov, self.measured.with(Metric::Lines)))
    }
}

/// Whether `head` (the start of a file) looks like LCOV.
pub fn sniff(head: &[u8]) -> bool {
    head.split(|b| *b == b'\n')
        .map(trim_eol)
        .filter(|l| !l.is_empty())
        .take(5)
        .any(|l| l.starts_with(b"SF:") || l.starts_with(b"TN:") || l.starts_with(b"VER:"))
}

/// One `SF` .. `end_of_record` record being read.
struct Record {
    path: String,
    /// Line of the `SF` record.
    line: u32,
    file: FileCoverage,
    /// Function name -> start line (`FN`), and name -> hit (`FNDA`).
    fn_lines: HashMap<Vec<u8>, u32>,
    fn_hits: HashMap<Vec<u8>, bool>,
    /// `FNL` index -> start line, and index -> hit (`FNA`).
    fnl: HashMap<u32, (u32, bool)>,
    /// Branch entries seen so far per line, for their index within the line.
    branch_seq: HashMap<u32, u32>,
}

impl Record {
    fn new(path: String, line: u32) -> Record {
        Record {
            path,
            line,
            file: FileCoverage::default(),
            fn_lines: HashMap::default(),
            fn_hits: HashMap::default(),
            fnl: HashMap::default(),
            branch_seq: HashMap::default(),
        }
    }

    /// `DA:<line>,<count>[,<checksum>]`
    fn da(&mut self, v: &[u8]) -> bool {
        let Some(comma) = memchr::memchr(b',', v) else { return false };
        let rest = &v[comma + 1..];
        let hits = &rest[..memchr::memchr(b',', rest).unwrap_or(rest.len())];
        let (Some(line), Some(count)) = (line_no(&v[..comma]), count(hits)) else { return false };
        self.file.lines.push(line, count > 0);
        true
    }

    /// `FN:<line>,<name>` or (2.x) `FN:<line>,<end line>,<name>`
    fn fn_(&mut self, v: &[u8]) -> bool {
        let Some(comma) = memchr::memchr(b',', v) else { return false };
        let Some(line) = line_no(&v[..comma]) else { return false };
        let mut name = &v[comma + 1..];
        if let Some(c) = memchr::memchr(b',', name)
            && c > 0
            && name[..c].iter().all(u8::is_ascii_digit)
        {
            name = &name[c + 1..];
        }
        self.fn_lines.insert(name.to_vec(), line);
        true
    }

    /// `FNDA:<count>,<name>`
    fn fnda(&mut self, v: &[u8]) -> bool {
        let Some(comma) = memchr::memchr(b',', v) else { return false };
        let Some(n) = count(&v[..comma]) else { return false };
        *self.fn_hits.entry(v[comma + 1..].to_vec()).or_default() |= n > 0;
        true
    }

    /// `FNL:<index>,<line>[,<end line>]`
    fn fnl(&mut self, v: &[u8]) -> bool {
        let mut parts = v.split(|b| *b == b',');
        let (Some(i), Some(line)) = (parts.next().and_then(count), parts.next().and_then(line_no)) else {
            return false;
        };
        let Ok(i) = u32::try_from(i) else { return false };
        self.fnl.entry(i).or_insert((line, false)).0 = line;
        true
    }

    /// `FNA:<index>,<count>,<name>`
    fn fna(&mut self, v: &[u8]) -> bool {
        let mut parts = v.splitn(3, |b| *b == b',');
        let (Some(i), Some(n)) = (parts.next().and_then(count), parts.next().and_then(count)) else {
            return false;
        };
        let Ok(i) = u32::try_from(i) else { return false };
        if let Some(e) = self.fnl.get_mut(&i) {
            e.1 |= n > 0;
        }
        true
    }

    /// `BRDA:<line>,[e]<block>,<branch>,<taken>` (`taken` is `-` when the block never ran).
    fn brda(&mut self, v: &[u8]) -> bool {
        if v.iter().filter(|b| **b == b',').count() < 3 {
            return false;
        }
        let (Some(first), Some(last)) = (memchr::memchr(b',', v), memchr::memrchr(b',', v)) else {
            return false;
        };
        let Some(line) = line_no(&v[..first]) else { return false };
        let taken = &v[last + 1..];
        let hit = match taken {
            b"-" => false,
            t => match count(t) {
                Some(n) => n > 0,
                None => return false,
            },
        };
        let seq = self.branch_seq.entry(line).or_default();
        self.file.branches.push((line, *seq), hit);
        *seq += 1;
        true
    }

    fn finish(mut self) -> (String, FileCoverage) {
        for (name, line) in self.fn_lines {
            let hit = self.fn_hits.get(&name).copied().unwrap_or(false);
            self.file.functions.push(line, hit);
        }
        for (line, hit) in self.fnl.into_values() {
            self.file.functions.push(line, hit);
        }
        (self.path, self.file)
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.trim_ascii()
}

/// A 1-based line number no larger than [`MAX_LINE`].
fn line_no(s: &[u8]) -> Option<u32> {
    let s = s.trim_ascii();
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    let mut n: u32 = 0;
    for &d in s {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(d - b'0');
    }
    (1..=MAX_LINE).contains(&n).then_some(n)
}

/// A decimal count. Counts beyond `u64` saturate (gcov's counters are 64-bit); a `-` sign is
/// accepted and reads as "not run", as some gcov versions write negative counts on overflow.
fn count(s: &[u8]) -> Option<u64> {
    if let [d @ b'0'..=b'9'] = s {
        return Some(u64::from(d - b'0'));
    }
    let s = s.trim_ascii();
    let (neg, digits) = match s.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if neg {
        return Some(0);
    }
    Some(digits.iter().fold(0u64, |n, d| n.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
}

/// A record as quoted in an error message: at most 80 bytes.
fn shorten(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned();
    if line.len() > 80 { format!("{s}...") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::coverage::model::Metric;

    fn parse(text: &str) -> Result<ReportData, ReadError> {
        read(&mut text.as_bytes())
    }

    #[test]
    fn reads_lines_functions_branches_and_merges_repeated_files() {
        let r = parse(
            "TN:a\nSF:/ci/src/lib.rs\nFN:1,f\nFN:5,g\nFNDA:3,f\nFNDA:0,g\nDA:1,3\nDA:2,0\nDA:5,0\n\
             BRDA:2,0,0,1\nBRDA:2,0,1,-\nBRF:2\nBRH:1\nLF:3\nLH:1\nend_of_record\n\
             TN:b\nSF:/ci/src/lib.rs\nDA:2,7\nDA:6,0\nFN:5,g\nFNDA:1,g\nend_of_record\n",
        )
        .unwrap();
        assert_eq!(r.format, Some(Format::Lcov));
        assert_eq!(r.files.len(), 1);
        let f = &r.files[0].1;
        assert_eq!(f.counts(Metric::Lines), (2, 4));
        assert_eq!(f.counts(Metric::Functions), (2, 2));
        assert_eq!(f.counts(Metric::Branches), (1, 2));
        assert!(f.measured.has(Metric::Branches) && f.measured.has(Metric::Functions));
    }

    #[test]
    fn lcov2_function_forms() {
        let r =
            parse("SF:a.rs\nFN:3,9,main\nFNDA:1,main\nFNL:0,12,20\nFNA:0,0,helper\nDA:3,1\nend_of_record\n")
                .unwrap();
        let f = &r.files[0].1;
        assert_eq!(f.functions.iter().copied().collect::<Vec<_>>(), [(3, true), (12, false)]);
    }

    #[test]
    fn branchless_report_does_not_measure_branches() {
        let r = parse("SF:a.rs\nDA:1,1\nBRF:0\nBRH:0\nend_of_record\n").unwrap();
        assert!(!r.files[0].1.measured.has(Metric::Branches));
        assert!(!r.files[0].1.measured.has(Metric::Functions));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("SF:a.rs\nDA:1,1\nDA:2\nend_of_record\n").unwrap_err();
        assert_eq!(e, ReadError::new(3, "malformed `DA` record: `DA:2`"));
        let e = parse("SF:a.rs\nDA:1,1\nDA:2,0\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("truncated"), "{e:?}");
        let e = parse("SF:a.rs\nDA:1,1\nSF:b.rs\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("SF:a.rs\n<html>\n").unwrap_err();
        assert_eq!(e, ReadError::new(2, "not an LCOV record: `<html>`"));
        let e = parse("DA:1,1\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("SF:a.rs\nDA:99999999999,1\nend_of_record\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn crlf_and_blank_lines() {
        let r = parse("TN:\r\n\r\nSF:a.rs\r\nDA:1,0\r\nend_of_record\r\n").unwrap();
        assert_eq!(r.files[0].0, "a.rs");
        assert_eq!(r.files[0].1.counts(Metric::Lines), (0, 1));
    }

    #[test]
    fn sniffs() {
        assert!(sniff(b"TN:\nSF:/x.rs\n"));
        assert!(sniff(b"\nSF:/x.rs\n"));
        assert!(!sniff(b"<?xml version"));
        assert!(!sniff(b"{\"data\":[]}"));
    }
}
