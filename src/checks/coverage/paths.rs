//! Mapping the file paths a report names to files of the repository.
//!
//! Reports name files as the machine that made them saw them: absolute paths under a CI
//! runner's checkout (`/home/runner/work/acme/acme/services/billing/src/lib.rs`), paths
//! relative to where the tool ran, or relative to a Cobertura `<source>`. A path is matched to
//! the repository file that is its longest suffix (at whole components). The part before the
//! suffix is the checkout the report was made in; the prefix most of a report's files share is
//! taken as that checkout, and a path matched under another prefix (a dependency's
//! `src/lib.rs` in the cargo registry) is not the repository's. Registry, git-checkout and
//! toolchain paths are never matched.

use std::collections::{BTreeMap, HashSet};

/// Where a report path went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// A file of the repository (relative, `/`-separated).
    File(String),
    /// Not a file of the repository: a dependency, the toolchain, generated code, or a file
    /// the repository does not have.
    Outside,
}

/// The repository's files, for suffix lookups.
pub struct RepoFiles<'a> {
    files: HashSet<&'a str>,
    /// The canonical root, `/`-separated, without a trailing `/`.
    root: String,
}

impl<'a> RepoFiles<'a> {
    pub fn new(root: &std::path::Path, files: impl IntoIterator<Item = &'a str>) -> RepoFiles<'a> {
        let root = normalize(&root.to_string_lossy()).trim_end_matches('/').to_string();
        RepoFiles { files: files.into_iter().collect(), root }
    }

    /// Map every path of one report (its `bases` are the directories relative paths may be
    /// relative to), in order.
    pub fn map(&self, paths: &[&str], bases: &[String]) -> Vec<Mapped> {
        let bases: Vec<String> = bases.iter().map(|b| normalize(b)).collect();
        let found: Vec<Option<(String, String)>> = paths.iter().map(|p| self.lookup(p, &bases)).collect();
        // The checkout: the prefix most matched files share (ties: the longest, then the first
        // in sort order, so the choice does not depend on the report's order).
        let mut prefixes: BTreeMap<&str, usize> = BTreeMap::new();
        for (prefix, _) in found.iter().flatten() {
            *prefixes.entry(prefix.as_str()).or_default() += 1;
        }
        let checkout = prefixes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(a.0.len().cmp(&b.0.len())).then(b.0.cmp(a.0)))
            .map(|(p, _)| p.to_string());
        found
            .into_iter()
            .map(|m| match m {
                Some((prefix, rel)) if Some(&prefix) == checkout.as_ref() => Mapped::File(rel),
                _ => Mapped::Outside,
            })
            .collect()
    }

    /// The (prefix, repository file) a path matches, trying it as written and under each base.
    fn lookup(&self, path: &str, bases: &[String]) -> Option<(String, String)> {
        let path = normalize(path);
        if is_foreign(&path) {
            return None;
        }
        if let Some(rel) = path.strip_prefix(&self.root).and_then(|r| r.strip_prefix('/')) {
            // Under the scanned root itself: the file or nothing.
            return self.files.contains(rel).then(|| (self.root.clone(), rel.to_string()));
        }
        // A relative path is relative to one of the bases when the report has some.
        let relative = !path.starts_with('/');
        let candidates = bases
            .iter()
            .filter(|_| relative)
            .map(|b| format!("{}/{path}", b.trim_end_matches('/')))
            .chain(std::iter::once(path.clone()));
        for candidate in candidates {
            if let Some(found) = self.longest_suffix(&candidate) {
                return Some(found);
            }
        }
        None
    }

    /// The longest suffix of `path` (at `/` boundaries) that is a repository file.
    fn longest_suffix(&self, path: &str) -> Option<(String, String)> {
        let trimmed = path.trim_start_matches('/');
        let mut start = 0;
        loop {
            let suffix = &trimmed[start..];
            if self.files.contains(suffix) {
                let prefix = &path[..path.len() - suffix.len()];
                return Some((prefix.trim_end_matches('/').to_string(), suffix.to_string()));
            }
            start += suffix.find('/')? + 1;
        }
    }
}

/// `\` to `/`, `file://` and Windows drive letters dropped, `.` and `..` resolved, repeated
/// `/` collapsed.
pub fn normalize(path: &str) -> String {
    let path = path.trim().replace('\\', "/");
    let path = path.strip_prefix("file://").unwrap_or(&path);
    let path = match path.as_bytes() {
        [d, b':', b'/', ..] if d.is_ascii_alphabetic() => &path[2..],
        _ => path,
    };
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    if absolute { format!("/{joined}") } else { joined }
}

/// Paths that are never the repository's: the cargo registry and git checkouts, the
/// toolchain's sources, rustc's remapped `/rustc/<hash>/` paths.
fn is_foreign(path: &str) -> bool {
    const MARKERS: &[&str] =
        &["/.cargo/registry/", "/.cargo/git/checkouts/", "/.rustup/toolchains/", "/lib/rustlib/src/"];
    MARKERS.iter().any(|m| path.contains(m)) || path.starts_with("/rustc/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> RepoFiles<'static> {
        RepoFiles::new(
            std::path::Path::new("/work/repo"),
            [
                "src/lib.rs",
                "services/billing/src/lib.rs",
                "services/billing/src/main.rs",
                "libs/money/src/lib.rs",
            ],
        )
    }

    fn file(s: &str) -> Mapped {
        Mapped::File(s.to_string())
    }

    #[test]
    fn ci_checkout_paths_map_by_longest_suffix() {
        let m = repo().map(
            &[
                "/home/runner/work/acme/acme/services/billing/src/lib.rs",
                "/home/runner/work/acme/acme/libs/money/src/lib.rs",
                "/home/runner/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde-1.0.0/src/lib.rs",
                "/home/runner/work/acme/other/src/lib.rs",
                "/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/lib.rs",
                "/home/runner/work/acme/acme/target/debug/build/x/out/gen.rs",
            ],
            &[],
        );
        assert_eq!(
            m,
            [
                file("services/billing/src/lib.rs"),
                file("libs/money/src/lib.rs"),
                Mapped::Outside,
                Mapped::Outside,
                Mapped::Outside,
                Mapped::Outside
            ]
        );
    }

    #[test]
    fn root_relative_windows_and_cobertura_sources() {
        let m = repo().map(&["/work/repo/src/lib.rs", "/work/repo/nope.rs"], &[]);
        assert_eq!(m, [file("src/lib.rs"), Mapped::Outside]);
        let m = repo().map(&["C:\\a\\repo\\services\\billing\\src\\main.rs"], &[]);
        assert_eq!(m, [file("services/billing/src/main.rs")]);
        let m = repo().map(&["src/main.rs", "src/lib.rs"], &["/ci/repo/services/billing".into()]);
        assert_eq!(m, [file("services/billing/src/main.rs"), file("services/billing/src/lib.rs")]);
        let m = repo().map(&["./services/../libs/money/src/lib.rs"], &[]);
        assert_eq!(m, [file("libs/money/src/lib.rs")]);
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize("/a//b/./c/../d"), "/a/b/d");
        assert_eq!(normalize("../x/y"), "../x/y");
        assert_eq!(normalize("file:///a/b"), "/a/b");
        assert_eq!(normalize("D:\\x\\y.rs"), "/x/y.rs");
    }
}
