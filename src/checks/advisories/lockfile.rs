//! Reading `Cargo.lock` fast. Lockfiles are written by cargo in one fixed layout, so a line
//! reader takes ~10x less time than a general TOML parse (the audit's hot path). Anything the
//! reader does not recognise (hand edits, `replace`, unknown sections) falls back to the
//! `cargo-lock` crate, which also produces the error message for malformed files.

use rustsec::package::{Name, Package};
use rustsec::{Lockfile, SourceId, Version};
use std::collections::HashMap;
use std::str::FromStr;

/// One `[[package]]` with its dependencies as written (name, version, source).
pub struct LockPackage {
    pub package: Package,
    pub deps: Vec<(String, Option<String>, Option<String>)>,
    /// 1-based line of its `name = ` line (where findings about it point).
    pub line: u32,
}

/// The entry of fleet package `p`: a package with no source (path or workspace member) of the
/// same name, and the same version when the manifest states one.
pub fn local_index(packages: &[LockPackage], p: &crate::workspace::Package) -> Option<usize> {
    packages.iter().map(|l| &l.package).position(|q| {
        q.source.is_none()
            && q.name.as_str() == p.name
            && p.version.as_deref().is_none_or(|v| q.version.to_string() == v)
    })
}

/// Parse `text`: the fast reader, else `cargo-lock` (whose error is returned as a string).
pub fn parse(text: &str) -> Result<Vec<LockPackage>, String> {
    if let Some(packages) = parse_fast(text) {
        return Ok(packages);
    }
    let lockfile = Lockfile::from_str(text).map_err(|e| e.to_string())?;
    let lines = package_lines(text);
    Ok(lockfile
        .packages
        .into_iter()
        .map(|p| {
            let deps = p
                .dependencies
                .iter()
                .map(|d| {
                    (
                        d.name.as_str().to_string(),
                        Some(d.version.to_string()),
                        d.source.as_ref().map(|s| s.to_string()),
                    )
                })
                .collect();
            let key = (
                p.name.as_str().to_string(),
                p.version.to_string(),
                p.source.as_ref().map(|s| s.to_string()),
            );
            let line = lines.get(&key).copied().unwrap_or(1);
            LockPackage { package: p, deps, line }
        })
        .collect())
}

/// (name, version, source) of every `[[package]]` block -> 1-based line of its `name = ` line.
fn package_lines(text: &str) -> HashMap<(String, String, Option<String>), u32> {
    fn value(line: &str, key: &str) -> Option<String> {
        let rest = line.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
        Some(rest.trim_matches('"').to_string())
    }
    let mut map = HashMap::new();
    let mut current: Option<(u32, String, String, Option<String>)> = None;
    let mut flush = |c: Option<(u32, String, String, Option<String>)>| {
        if let Some((line, name, version, source)) = c
            && line > 0
        {
            map.entry((name, version, source)).or_insert(line);
        }
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            flush(current.take());
            if line == "[[package]]" {
                current = Some((0, String::new(), String::new(), None));
            }
            continue;
        }
        if let Some(c) = current.as_mut() {
            if let Some(v) = value(line, "name") {
                c.0 = i as u32 + 1;
                c.1 = v;
            } else if let Some(v) = value(line, "version") {
                c.2 = v;
            } else if let Some(v) = value(line, "source") {
                c.3 = Some(v);
            }
        }
    }
    flush(current);
    map
}

fn unquote(s: &str) -> Option<&str> {
    s.trim().strip_prefix('"')?.strip_suffix('"')
}

struct Partial {
    line: u32,
    name: Option<String>,
    version: Option<String>,
    source: Option<String>,
    deps: Vec<(String, Option<String>, Option<String>)>,
}

impl Partial {
    fn finish(self) -> Option<LockPackage> {
        let source = match self.source {
            Some(s) => Some(SourceId::from_url(&s).ok()?),
            None => None,
        };
        let package = Package {
            name: Name::from_str(&self.name?).ok()?,
            version: Version::parse(&self.version?).ok()?,
            source,
            checksum: None,
            dependencies: Vec::new(),
            replace: None,
        };
        Some(LockPackage { package, deps: self.deps, line: self.line })
    }
}

/// A dependency string: `name`, `name version` or `name version (source)`.
fn dependency(s: &str) -> Option<(String, Option<String>, Option<String>)> {
    let s = unquote(s.trim().trim_end_matches(','))?;
    let mut parts = s.splitn(3, ' ');
    let name = parts.next()?.to_string();
    let version = parts.next().map(str::to_string);
    let source = match parts.next() {
        Some(src) => Some(src.strip_prefix('(')?.strip_suffix(')')?.to_string()),
        None => None,
    };
    Some((name, version, source))
}

/// The fast reader; `None` as soon as anything is unexpected.
pub fn parse_fast(text: &str) -> Option<Vec<LockPackage>> {
    let mut packages = Vec::new();
    let mut current: Option<Partial> = None;
    let mut in_deps = false;
    let mut skipping = false; // inside [metadata] or [[patch.unused]]
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if in_deps {
            if line == "]" {
                in_deps = false;
            } else {
                current.as_mut()?.deps.push(dependency(line)?);
            }
            continue;
        }
        if line.starts_with('[') {
            if let Some(p) = current.take() {
                packages.push(p.finish()?);
            }
            match line {
                "[[package]]" => {
                    skipping = false;
                    current =
                        Some(Partial { line: 1, name: None, version: None, source: None, deps: Vec::new() });
                }
                "[metadata]" | "[[patch.unused]]" => skipping = true,
                _ => return None,
            }
            continue;
        }
        if skipping {
            continue;
        }
        let (key, value) = line.split_once('=')?;
        let (key, value) = (key.trim(), value.trim());
        let Some(p) = current.as_mut() else {
            // Top level: only `version = N` is expected.
            if key == "version" && value.parse::<u32>().is_ok() {
                continue;
            }
            return None;
        };
        match key {
            "name" => {
                p.name = Some(unquote(value)?.to_string());
                p.line = i as u32 + 1;
            }
            "version" => p.version = Some(unquote(value)?.to_string()),
            "source" => p.source = Some(unquote(value)?.to_string()),
            "checksum" => {
                unquote(value)?;
            }
            "dependencies" if value == "[" => in_deps = true,
            "dependencies" if value == "[]" => {}
            _ => return None,
        }
    }
    if in_deps {
        return None;
    }
    if let Some(p) = current.take() {
        packages.push(p.finish()?);
    }
    Some(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_lines_find_the_name_line() {
        let text = "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\n";
        let m = package_lines(text);
        assert_eq!(m[&("a".into(), "1.0.0".into(), Some("registry+x".into()))], 4);
        assert_eq!(m[&("b".into(), "2.0.0".into(), None)], 9);
    }

    #[test]
    fn both_readers_know_each_name_line() {
        let text = "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\n";
        let fast: Vec<u32> = parse_fast(text).unwrap().iter().map(|p| p.line).collect();
        assert_eq!(fast, [4, 8]);
        // A one-line `dependencies` array sends it to cargo-lock, which knows the lines too.
        let odd = text.replace("version = \"1.0.0\"\n", "version = \"1.0.0\"\ndependencies = [\"b\"]\n");
        assert!(parse_fast(&odd).is_none());
        let slow: Vec<u32> = parse(&odd).unwrap().iter().map(|p| p.line).collect();
        assert_eq!(slow, [4, 9]);
    }

    /// The fast reader and cargo-lock agree on every lockfile in the repository's fixtures and
    /// in the shared corpus when present.
    #[test]
    fn fast_reader_agrees_with_cargo_lock() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(root.join("fixtures"))
            .into_iter()
            .chain(walkdir::WalkDir::new(root.join("../shared/lockfiles")))
            .filter_map(Result::ok)
            .filter(|e| e.file_name() == "Cargo.lock")
            .map(|e| e.into_path())
            .collect();
        files.sort();
        assert!(!files.is_empty());
        let mut checked = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let Ok(slow) = Lockfile::from_str(&text) else { continue };
            let fast = parse_fast(&text).unwrap_or_else(|| panic!("fast reader refused {}", f.display()));
            assert_eq!(fast.len(), slow.packages.len(), "{}", f.display());
            for (a, b) in fast.iter().zip(&slow.packages) {
                assert_eq!(a.package.name, b.name);
                assert_eq!(a.package.version, b.version);
                assert_eq!(a.package.source, b.source, "{}", f.display());
                assert_eq!(a.deps.len(), b.dependencies.len(), "{} {}", f.display(), b.name);
                for (d, e) in a.deps.iter().zip(&b.dependencies) {
                    assert_eq!(d.0, e.name.as_str());
                    if let Some(v) = &d.1 {
                        assert_eq!(v, &e.version.to_string());
                    }
                }
            }
            checked += 1;
        }
        assert!(checked >= 3);
    }

    #[test]
    fn unusual_input_falls_back() {
        assert!(
            parse_fast("version = 3\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nreplace = \"b\"\n")
                .is_none()
        );
        assert!(parse_fast("[[package]]\nname = \"a\"\nversion = \n").is_none());
        assert!(parse("[[package]]\nname = \"a\"\nversion = \n").is_err());
        let ok = parse("version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\n \"b 2.0.0 (registry+https://github.com/rust-lang/crates.io-index)\",\n]\n").unwrap();
        assert_eq!(ok[0].deps[0].1.as_deref(), Some("2.0.0"));
    }
}
