//! What a coverage report says about one source file, in a form that every reader fills the
//! same way and that merges: sets of points (lines, functions by start line, branches,
//! regions), each covered or not. Hit counts are not kept: a point is covered when any report
//! ran it, so the same file in two reports counts each point once.

use serde::Serialize;

/// The metrics a threshold can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Lines,
    Functions,
    Branches,
    Regions,
}

impl Metric {
    pub const ALL: [Metric; 4] = [Metric::Lines, Metric::Functions, Metric::Branches, Metric::Regions];

    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Lines => "lines",
            Metric::Functions => "functions",
            Metric::Branches => "branches",
            Metric::Regions => "regions",
        }
    }

    /// `line`, `function`, ... for messages.
    pub fn singular(self) -> &'static str {
        match self {
            Metric::Lines => "line",
            Metric::Functions => "function",
            Metric::Branches => "branch",
            Metric::Regions => "region",
        }
    }

    pub fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// The report formats, detected by content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Lcov,
    Cobertura,
    LlvmJson,
    TarpaulinJson,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Lcov => "lcov",
            Format::Cobertura => "cobertura",
            Format::LlvmJson => "llvm-json",
            Format::TarpaulinJson => "tarpaulin-json",
        }
    }
}

/// A set of points of one kind, each covered or not. Filled in any order, then [`finish`]ed:
/// sorted by key, one entry per key, covered when any entry for it was.
///
/// [`finish`]: Points::finish
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Points<K> {
    items: Vec<(K, bool)>,
}

impl<K: Ord + Copy> Points<K> {
    pub fn push(&mut self, key: K, covered: bool) {
        self.items.push((key, covered));
    }

    /// Sort and merge duplicates (covered if any duplicate was). Cheap when already sorted
    /// and unique, which is how most reports list their lines.
    pub fn finish(&mut self) {
        if !self.items.windows(2).all(|w| w[0].0 < w[1].0) {
            self.items.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            // Covered entries sort first among equal keys, so keeping the first keeps "covered".
            self.items.dedup_by_key(|e| e.0);
        }
        self.items.shrink_to_fit();
    }

    /// Add every point of `other` (both finished), merging as [`Points::finish`] does.
    pub fn merge(&mut self, other: Points<K>) {
        if self.items.is_empty() {
            self.items = other.items;
            return;
        }
        self.items.extend(other.items);
        self.finish();
    }

    /// (covered, total).
    pub fn counts(&self) -> (u64, u64) {
        let covered = self.items.iter().filter(|e| e.1).count();
        (covered as u64, self.items.len() as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(K, bool)> {
        self.items.iter()
    }
}

/// A code region: start line, start column, end line, end column.
pub type Region = [u32; 4];

/// The coverage of one source file, from one or several reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileCoverage {
    pub lines: Points<u32>,
    /// Functions by start line: instantiations of a generic function (and functions that
    /// start on the same line) count once, covered when any ran.
    pub functions: Points<u32>,
    /// Branch outcomes by (line, index within the line).
    pub branches: Points<(u32, u32)>,
    pub regions: Points<Region>,
    /// Which metrics the reports this came from measure at all (a report without branch data
    /// says nothing about branches; one that measures them and found none says 0 of 0).
    pub measured: Measured,
}

impl FileCoverage {
    pub fn finish(&mut self) {
        self.lines.finish();
        self.functions.finish();
        self.branches.finish();
        self.regions.finish();
    }

    pub fn merge(&mut self, other: FileCoverage) {
        self.lines.merge(other.lines);
        self.functions.merge(other.functions);
        self.branches.merge(other.branches);
        self.regions.merge(other.regions);
        self.measured = self.measured.union(other.measured);
    }

    /// (covered, total) of `metric`.
    pub fn counts(&self, metric: Metric) -> (u64, u64) {
        match metric {
            Metric::Lines => self.lines.counts(),
            Metric::Functions => self.functions.counts(),
            Metric::Branches => self.branches.counts(),
            Metric::Regions => self.regions.counts(),
        }
    }
}

/// A set of metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measured(u8);

impl Measured {
    pub fn with(self, metric: Metric) -> Measured {
        Measured(self.0 | 1 << metric.index())
    }

    pub fn has(self, metric: Metric) -> bool {
        self.0 & 1 << metric.index() != 0
    }

    pub fn union(self, other: Measured) -> Measured {
        Measured(self.0 | other.0)
    }
}

/// One report, read: its format and each file it names (paths as written in the report, in
/// the report's order, each once).
#[derive(Debug, Default)]
pub struct ReportData {
    pub format: Option<Format>,
    pub files: Vec<(String, FileCoverage)>,
    /// Directories the report's relative paths are relative to (Cobertura `<source>`s).
    pub bases: Vec<String>,
}

/// Why a report could not be read: a message and the 1-based line it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub line: u32,
    pub message: String,
    /// The file is not a coverage report of a known format at all (as opposed to a broken
    /// one): a report found by its name alone is then skipped, not reported.
    pub not_coverage: bool,
}

impl ReadError {
    pub fn new(line: u32, message: impl Into<String>) -> ReadError {
        ReadError { line: line.max(1), message: message.into(), not_coverage: false }
    }

    pub fn not_coverage(message: impl Into<String>) -> ReadError {
        ReadError { not_coverage: true, ..ReadError::new(1, message) }
    }
}

/// Collects a report's files by path, merging a path seen twice (LCOV lists a file once per
/// test name), in first-seen order.
#[derive(Default)]
pub struct FileTable {
    index: std::collections::HashMap<String, usize>,
    files: Vec<(String, FileCoverage)>,
}

impl FileTable {
    pub fn add(&mut self, path: String, mut file: FileCoverage) {
        file.finish();
        match self.index.get(&path) {
            Some(&i) => self.files[i].1.merge(file),
            None => {
                self.index.insert(path.clone(), self.files.len());
                self.files.push((path, file));
            }
        }
    }

    /// The report, every file marked with the metrics the report measures.
    pub fn into_report(mut self, format: Format, measured: Measured) -> ReportData {
        for (_, f) in &mut self.files {
            f.measured = f.measured.union(measured);
        }
        ReportData { format: Some(format), files: self.files, bases: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_merge_covered_if_any() {
        let mut a = Points::default();
        a.push(3, false);
        a.push(1, true);
        a.push(3, true);
        a.push(2, false);
        a.finish();
        assert_eq!(a.counts(), (2, 3));
        let mut b = Points::default();
        b.push(2, true);
        b.push(4, false);
        b.finish();
        a.merge(b);
        assert_eq!(a.iter().copied().collect::<Vec<_>>(), [(1, true), (2, true), (3, true), (4, false)]);
    }

    #[test]
    fn measured_sets() {
        let m = Measured::default().with(Metric::Lines).with(Metric::Branches);
        assert!(m.has(Metric::Lines) && m.has(Metric::Branches) && !m.has(Metric::Functions));
        assert!(m.union(Measured::default().with(Metric::Regions)).has(Metric::Regions));
    }
}
