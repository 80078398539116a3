//! LCOV tracefiles (cargo-llvm-cov `--lcov`, tarpaulin, grcov, lcov/geninfo 1.x and 2.x),
//! read as a stream: memory follows the files of the report, not its size.
//!
//! Records used: `SF`, `DA`, `FN` (`FN:line,name` and 2.x `FN:line,end,name`), `FNDA`,
//! `FNL`/`FNA` (2.2), `BRDA`, `end_of_record`; the summary records (`LF`, `LH`, `FNF`, ...)
//! are recomputed, never trusted; other records are skipped. A line that is not a record, a
//! record with a bad number, or a file that ends inside a record is an error at its line.

use super::model::{FileCoverage, FileTable, Format, Measured, Metric, ReadError, ReportData};
use std::collections::HashMap;
use std::io::BufRead;

/// Line numbers above this are not believed (no source file has ten million lines).
pub const MAX_LINE: u32 = 10_000_000;

/// Read an LCOV tracefile.
pub fn read(input: &mut dyn BufRead) -> Result<ReportData, ReadError> {
    let mut table = FileTable::default();
    let mut measured = Measured::default().with(Metric::Lines);
    let mut record: Option<Record> = None;
    let mut buf = Vec::with_capacity(256);
    let mut lineno: u32 = 0;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| ReadError::new(lineno + 1, format!("read error: {e}")))?;
        if n == 0 {
            break;
        }
        lineno += 1;
        let line = trim_eol(&buf);
        if line.is_empty() {
            continue;
        }
        let err = |what: &str| ReadError::new(lineno, format!("{what}: `{}`", shorten(line)));
        let Some(colon) = memchr::memchr(b':', line) else {
            if line == b"end_of_record" {
                match record.take() {
                    Some(r) => {
                        let (path, file) = r.finish();
                        table.add(path, file);
                    }
                    None => return Err(err("`end_of_record` outside a file record")),
                }
                continue;
            }
            return Err(err("not an LCOV record"));
        };
        let (tag, value) = (&line[..colon], &line[colon + 1..]);
        if tag == b"SF" {
            if let Some(r) = &record {
                return Err(ReadError::new(
                    lineno,
                    format!("`SF` before the `end_of_record` of `{}` (line {})", r.path, r.line),
                ));
            }
            let path = String::from_utf8_lossy(value).trim().to_string();
            if path.is_empty() {
                return Err(err("`SF` without a path"));
            }
            record = Some(Record::new(path, lineno));
            continue;
        }
        if !tag.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_') || tag.is_empty() {
            return Err(err("not an LCOV record"));
        }
        let data_record = matches!(tag, b"DA" | b"FN" | b"FNDA" | b"FNL" | b"FNA" | b"BRDA");
        if !data_record {
            continue;
        }
        let Some(r) = record.as_mut() else {
            return Err(err("a data record outside a file record (no `SF` before it)"));
        };
        let ok = match tag {
            b"DA" => r.da(value),
            b"FN" => {
                measured = measured.with(Metric::Functions);
                r.fn_(value)
            }
            b"FNDA" => r.fnda(value),
            b"FNL" => {
                measured = measured.with(Metric::Functions);
                r.fnl(value)
            }
            b"FNA" => r.fna(value),
            _ => {
                measured = measured.with(Metric::Branches);
                r.brda(value)
            }
        };
        if !ok {
            return Err(err(&format!("malformed `{}` record", String::from_utf8_lossy(tag))));
        }
    }
    if let Some(r) = record {
        return Err(ReadError::new(
            lineno,
            format!(
                "the report ends inside the record of `{}` (line {}): no `end_of_record`; the file is truncated",
                r.path, r.line
            ),
        ));
    }
    Ok(table.into_report(Format::Lcov, measured))
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
            fn_lines: HashMap::new(),
            fn_hits: HashMap::new(),
            fnl: HashMap::new(),
            branch_seq: HashMap::new(),
        }
    }

    /// `DA:<line>,<count>[,<checksum>]`
    fn da(&mut self, v: &[u8]) -> bool {
        let mut parts = v.splitn(3, |b| *b == b',');
        let (Some(line), Some(count)) = (parts.next().and_then(line_no), parts.next().and_then(count)) else {
            return false;
        };
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
        let parts: Vec<&[u8]> = v.split(|b| *b == b',').collect();
        if parts.len() < 4 {
            return false;
        }
        let Some(line) = line_no(parts[0]) else { return false };
        let taken = parts[parts.len() - 1];
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
    count(s).and_then(|n| u32::try_from(n).ok()).filter(|n| (1..=MAX_LINE).contains(n))
}

/// A decimal count. Counts beyond `u64` saturate (gcov's counters are 64-bit); a `-` sign is
/// accepted and reads as "not run", as some gcov versions write negative counts on overflow.
fn count(s: &[u8]) -> Option<u64> {
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
