//! Cobertura XML (tarpaulin `--out Xml`, cargo-llvm-cov `--cobertura`, and every other tool
//! that writes it). Class `filename`s are relative to the `<source>` directories, which are
//! kept as the report's bases for path mapping.
//!
//! Lines come from each class's own `<lines>` (a method's lines repeat them); functions from
//! `<method>`s (start line = their first line, covered when any line ran); branches from the
//! `condition-coverage="50% (1/2)"` of branch lines.

use super::model::{FileCoverage, FileTable, Format, Measured, Metric, ReadError, ReportData};
use quick_xml::events::{BytesStart, Event};
use std::sync::LazyLock;

/// Read a Cobertura report from its whole text.
pub fn read(bytes: &[u8]) -> Result<ReportData, ReadError> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut st = State::default();
    loop {
        let pos = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| at(bytes, reader.error_position(), format!("invalid XML: {e}")))?;
        match event {
            Event::Start(e) => {
                st.start(&e, bytes, pos)?;
                st.stack.push(e.local_name().as_ref().to_vec());
            }
            Event::Empty(e) => {
                st.start(&e, bytes, pos)?;
                st.end(e.local_name().as_ref());
            }
            Event::End(e) => {
                st.stack.pop();
                st.end(e.local_name().as_ref());
            }
            Event::Text(t) if st.stack.last().is_some_and(|s| s == b"source") => {
                st.text.push_str(&t.decode().map_err(|e| at(bytes, pos, format!("invalid text: {e}")))?);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = st.stack.last() {
        return Err(at(
            bytes,
            bytes.len() as u64,
            format!("the report ends inside `<{}>`: the file is truncated", String::from_utf8_lossy(open)),
        ));
    }
    if !st.saw_root {
        return Err(ReadError::new(1, "not a Cobertura report: no `<coverage>` element"));
    }
    let mut report = st.table.into_report(Format::Cobertura, st.measured.with(Metric::Lines));
    report.bases = st.bases;
    Ok(report)
}

/// What has been read so far.
#[derive(Default)]
struct State {
    table: FileTable,
    measured: Measured,
    bases: Vec<String>,
    /// Names of the open elements.
    stack: Vec<Vec<u8>>,
    /// The text of the `<source>` being read.
    text: String,
    class: Option<(String, FileCoverage)>,
    /// The current method's first line and whether any of its lines ran.
    method: Option<(Option<u32>, bool)>,
    saw_root: bool,
}

impl State {
    /// An element starts (at byte `pos`).
    fn start(&mut self, e: &BytesStart<'_>, bytes: &[u8], pos: u64) -> Result<(), ReadError> {
        let name = e.local_name();
        let name = name.as_ref();
        if self.stack.is_empty() {
            if name != b"coverage" {
                let e = at(bytes, pos, "not a Cobertura report: the root element is not `<coverage>`");
                return Err(ReadError { not_coverage: true, ..e });
            }
            self.saw_root = true;
        }
        match name {
            b"source" => self.text.clear(),
            b"class" => {
                let filename =
                    attr(e, b"filename").ok_or_else(|| at(bytes, pos, "`<class>` without a `filename`"))?;
                self.class = Some((filename, FileCoverage::default()));
            }
            b"method" => {
                self.measured = self.measured.with(Metric::Functions);
                self.method = Some((None, false));
            }
            b"line" => {
                let line = attr(e, b"number")
                    .and_then(|n| n.trim().parse::<u32>().ok())
                    .filter(|n| (1..=super::lcov::MAX_LINE).contains(n))
                    .ok_or_else(|| at(bytes, pos, "`<line>` without a valid `number`"))?;
                let hits = attr(e, b"hits")
                    .and_then(|h| parse_hits(&h))
                    .ok_or_else(|| at(bytes, pos, "`<line>` without a valid `hits`"))?;
                let in_method = self.stack.iter().any(|s| s == b"method");
                match (&mut self.method, &mut self.class) {
                    (Some(m), _) if in_method => {
                        m.0 = Some(m.0.map_or(line, |l| l.min(line)));
                        m.1 |= hits;
                    }
                    (_, Some((_, file))) => {
                        file.lines.push(line, hits);
                        if attr(e, b"branch").as_deref() == Some("true") {
                            self.measured = self.measured.with(Metric::Branches);
                            if let Some((covered, total)) =
                                attr(e, b"condition-coverage").as_deref().and_then(condition_coverage)
                            {
                                for i in 0..total {
                                    file.branches.push((line, i), i < covered);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// An element ends: close the method or class it ends, or keep a `<source>`.
    fn end(&mut self, name: &[u8]) {
        match name {
            b"source" => {
                let t = self.text.trim();
                if !t.is_empty() && !self.bases.iter().any(|b| b == t) {
                    self.bases.push(t.to_string());
                }
            }
            b"method" => {
                if let (Some((Some(line), hit)), Some((_, file))) = (self.method.take(), self.class.as_mut())
                {
                    file.functions.push(line, hit);
                }
            }
            b"class" => {
                if let Some((path, file)) = self.class.take() {
                    self.table.add(path, file);
                }
            }
            _ => {}
        }
    }
}

fn attr(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
}

/// `hits`: an integer count (some writers use floats or overflowed negatives).
fn parse_hits(s: &str) -> Option<bool> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i128>() {
        return Some(n > 0);
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f > 0.0)
}

/// `50% (1/2)` -> (1, 2).
fn condition_coverage(s: &str) -> Option<(u32, u32)> {
    static RE: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\((\d+)\s*/\s*(\d+)\)").expect("valid regex"));
    let c = RE.captures(s)?;
    let (covered, total) = (c[1].parse().ok()?, c[2].parse::<u32>().ok()?);
    (covered <= total && total <= 4096).then_some((covered, total))
}

/// An error at byte `offset` of the report.
fn at(bytes: &[u8], offset: u64, message: impl Into<String>) -> ReadError {
    let end = (offset as usize).min(bytes.len());
    let line = memchr::memchr_iter(b'\n', &bytes[..end]).count() + 1;
    ReadError::new(u32::try_from(line).unwrap_or(u32::MAX), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0"?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage lines-valid="5" lines-covered="3" line-rate="0.6" branch-rate="0.5" version="1.9" timestamp="1">
  <sources>
    <source>/ci/work/repo</source>
  </sources>
  <packages>
    <package name="billing" line-rate="0.6" branch-rate="0.5" complexity="0">
      <classes>
        <class name="lib" filename="services/billing/src/lib.rs" line-rate="0.6" branch-rate="0.5" complexity="0">
          <methods>
            <method name="total" signature="" line-rate="1"><lines><line number="3" hits="2"/><line number="4" hits="2"/></lines></method>
            <method name="unused" signature="" line-rate="0"><lines><line number="8" hits="0"/></lines></method>
          </methods>
          <lines>
            <line number="3" hits="2"/>
            <line number="4" hits="2" branch="true" condition-coverage="50% (1/2)"><conditions><condition number="0" type="jump" coverage="50%"/></conditions></line>
            <line number="5" hits="1"/>
            <line number="8" hits="0"/>
            <line number="9" hits="0"/>
          </lines>
        </class>
      </classes>
    </package>
  </packages>
</coverage>
"#;

    #[test]
    fn reads_classes_methods_branches_and_sources() {
        let r = read(DOC.as_bytes()).unwrap();
        assert_eq!(r.format, Some(Format::Cobertura));
        assert_eq!(r.bases, ["/ci/work/repo"]);
        assert_eq!(r.files.len(), 1);
        let (path, f) = &r.files[0];
        assert_eq!(path, "services/billing/src/lib.rs");
        assert_eq!(f.counts(Metric::Lines), (3, 5));
        assert_eq!(f.counts(Metric::Functions), (1, 2));
        assert_eq!(f.counts(Metric::Branches), (1, 2));
    }

    #[test]
    fn truncated_and_malformed_name_the_line() {
        let cut = &DOC[..DOC.find("<line number=\"5\"").unwrap()];
        let e = read(cut.as_bytes()).unwrap_err();
        assert!(e.message.contains("truncated"), "{e:?}");
        assert_eq!(e.line, 18);
        let bad = DOC.replace("<line number=\"9\" hits=\"0\"/>", "<line number=\"x\" hits=\"0\"/>");
        let e = read(bad.as_bytes()).unwrap_err();
        assert_eq!(e, ReadError::new(20, "`<line>` without a valid `number`"));
        let mismatched = DOC.replace("</lines>\n        </class>", "</line>\n        </class>");
        let e = read(mismatched.as_bytes()).unwrap_err();
        assert!(e.message.starts_with("invalid XML"), "{e:?}");
        let e = read(b"<?xml version=\"1.0\"?>\n<html></html>").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
