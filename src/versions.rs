//! Cargo's version arithmetic that several checks share: compatibility classes (what `^`
//! accepts, what `cargo update` may move within) and the lower bounds of requirements.

use semver::{Op, Version, VersionReq};

/// A compatibility class: `(1, None, None)` for `1.x`, `(0, Some(4), None)` for `0.4.x`,
/// `(0, Some(0), Some(3))` for `0.0.3`.
pub type Class = (u64, Option<u64>, Option<u64>);

/// The semver-compatible line of `v`: `1`, `0.4`, `0.0.3` (cargo's compatibility classes).
pub fn compat_class(v: &Version) -> Class {
    match (v.major, v.minor) {
        (0, 0) => (0, Some(0), Some(v.patch)),
        (0, minor) => (0, Some(minor), None),
        (major, _) => (major, None, None),
    }
}

/// `1`, `0.4`, `0.0.3` for a class.
pub fn class_text(c: &Class) -> String {
    match c {
        (major, None, _) => major.to_string(),
        (major, Some(minor), None) => format!("{major}.{minor}"),
        (major, Some(minor), Some(patch)) => format!("{major}.{minor}.{patch}"),
    }
}

/// Whether `a` and `b` are in one compatibility class (same major, or same minor under 1.0, or
/// same patch under 0.1).
pub fn compatible(a: &Version, b: &Version) -> bool {
    compat_class(a) == compat_class(b)
}

/// The smallest version each comparator of `req` admits (none for `<` and `<=`).
pub fn lower_bounds(req: &VersionReq) -> Vec<Version> {
    req.comparators
        .iter()
        .filter_map(|c| {
            let v = Version {
                major: c.major,
                minor: c.minor.unwrap_or(0),
                patch: c.patch.unwrap_or(0),
                pre: c.pre.clone(),
                build: Default::default(),
            };
            match c.op {
                Op::GreaterEq | Op::Caret | Op::Tilde | Op::Exact | Op::Wildcard => Some(v),
                Op::Greater => Some(match (c.minor, c.patch) {
                    (Some(_), Some(p)) => Version { patch: p + 1, pre: Default::default(), ..v },
                    (Some(m), None) => Version::new(c.major, m + 1, 0),
                    _ => Version::new(c.major + 1, 0, 0),
                }),
                _ => None,
            }
        })
        .collect()
}

/// The lowest version a requirement as written accepts (the largest of its lower bounds;
/// `None` for `*`, `<x` only, or text that is not a requirement).
pub fn lower_bound(req: &str) -> Option<Version> {
    lower_bounds(&VersionReq::parse(req).ok()?).into_iter().max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn compatibility_is_cargos() {
        assert!(compatible(&v("1.2.3"), &v("1.9.0")));
        assert!(!compatible(&v("1.2.3"), &v("2.0.0")));
        assert!(compatible(&v("0.9.6"), &v("0.9.7")));
        assert!(!compatible(&v("0.9.6"), &v("0.10.0")));
        assert!(!compatible(&v("0.0.1"), &v("0.0.2")));
    }

    #[test]
    fn classes() {
        let t = |s: &str| class_text(&compat_class(&v(s)));
        assert_eq!((t("1.40.2"), t("0.4.9"), t("0.0.3")), ("1".into(), "0.4".into(), "0.0.3".into()));
    }

    #[test]
    fn lower_bounds_of_patched_ranges() {
        let lb = |s: &str| lower_bounds(&VersionReq::parse(s).unwrap());
        assert_eq!(lb(">=0.9.7"), vec![v("0.9.7")]);
        assert_eq!(lb("^1.2"), vec![v("1.2.0")]);
        assert_eq!(lb(">= 0.5.3, < 0.6"), vec![v("0.5.3")]);
        assert_eq!(lb(">1.0.1"), vec![v("1.0.2")]);
        assert_eq!(lb("<0.3"), Vec::<Version>::new());
    }

    #[test]
    fn lower_bound_of_a_requirement() {
        assert_eq!(lower_bound("0.10"), Some(Version::new(0, 10, 0)));
        assert_eq!(lower_bound(">=1.2, <2"), Some(Version::new(1, 2, 0)));
        assert_eq!(lower_bound("=0.10.64"), Some(Version::new(0, 10, 64)));
        assert_eq!(lower_bound("*"), None);
        assert_eq!(lower_bound("<1"), None);
        assert_eq!(lower_bound("not a req"), None);
    }
}
