//! `manifest/version-drift` and `manifest/duplicate-versions` (`[manifest.drift]`).
//!
//! Drift: for the crates the policy names (or all; a crate with a chosen version is always
//! checked), the version each fleet package's lockfile resolved for its direct dependency on
//! it, compared at the policy's level (cargo's compatibility class `1.x` / `0.4.x` / `0.0.3`,
//! or major.minor) with the fleet's version: the chosen one, else the class most packages use
//! (ties: the newest). Each package on another class is a finding at its dependency's line.
//!
//! Duplicates: a lockfile holding more registry versions of one crate than `max_versions`,
//! counting only what the lockfile's fleet packages reach through the dependency kinds the
//! policy counts, is one finding at the crate's first entry, naming who pulls in each version.

use super::cfg::{DriftCrates, DriftLevel, ManifestPolicy};
use super::lock::{self, Lock};
use crate::checks::CheckCtx;
use crate::diag::{Finding, Location, Sink, Span};
use crate::registry;
use crate::workspace::{DepSource, Dependency, Package};
use semver::{Version, VersionReq};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const VERSION_DRIFT: &str = "manifest/version-drift";
pub const DUPLICATE_VERSIONS: &str = "manifest/duplicate-versions";

use crate::versions::{self, Class};

/// Whether the policy asks for drift or duplicate checks (the lockfiles are read only then).
pub fn wanted(policy: &super::cfg::ManifestPolicy) -> bool {
    drift_on(policy) || policy.drift.max_versions.is_some()
}

fn drift_on(policy: &super::cfg::ManifestPolicy) -> bool {
    !matches!(policy.drift.crates, DriftCrates::None) || !policy.drift.chosen.is_empty()
}

/// Whether the drift rule looks at crate `name`.
fn drift_wanted(policy: &ManifestPolicy, name: &str) -> bool {
    policy.drift.chosen.contains_key(name)
        || match &policy.drift.crates {
            DriftCrates::None => false,
            DriftCrates::All => true,
            DriftCrates::Named(names) => names.iter().any(|n| n == name),
        }
}

/// The class of `v` at `level`: cargo's compatibility class, or major.minor (`0.0.x` stays
/// `0.0.x`, which is already finer).
fn class(level: DriftLevel, v: &Version) -> Class {
    match level {
        DriftLevel::Major => versions::compat_class(v),
        DriftLevel::Minor if v.major == 0 && v.minor == 0 => (0, Some(0), Some(v.patch)),
        DriftLevel::Minor => (v.major, Some(v.minor), None),
    }
}

/// `1.x`, `1.40.x`, `0.4.x`, `0.0.3`.
fn class_shown(c: &Class) -> String {
    match c.2 {
        Some(_) => versions::class_text(c),
        None => format!("{}.x", versions::class_text(c)),
    }
}

/// How many version components a requirement pins, trailing zeros not counted (they are the
/// usual way to write "any": `"1"` and `"1.0"` 1, `"^1.40"` and `"1.40.0"` 2, `"1.2.3"` 3).
fn precision(req: Option<&str>) -> usize {
    let Some(r) = req.and_then(|r| VersionReq::parse(r).ok()) else { return 0 };
    r.comparators
        .iter()
        .map(|c| match (c.minor, c.patch) {
            (_, Some(p)) if p > 0 => 3,
            (Some(m), _) if m > 0 => 2,
            _ => 1,
        })
        .max()
        .unwrap_or(0)
}

/// One direct use of a crate by a fleet package, at the version its lockfile resolved, else
/// (no lockfile, or one that does not resolve it) at its requirement's lower bound.
pub struct Use<'a> {
    package: &'a Package,
    dep: &'a Dependency,
    version: Version,
    locked: bool,
}

/// The direct uses by package `p` of the crates the drift rule looks at.
pub fn uses_of<'a>(ctx: &CheckCtx<'a>, m: &lock::Member<'a>, lock: Option<&Lock>) -> Vec<Use<'a>> {
    let p = m.package;
    let policy = &ctx.policy.manifest;
    if !drift_on(policy) {
        return Vec::new();
    }
    let level = policy.drift.level;
    let mut uses = Vec::new();
    let local = lock.zip(m.local);
    let mut seen: BTreeSet<(&str, Version)> = BTreeSet::new();
    for d in lock::counted_deps(policy, p) {
        if !matches!(d.source, DepSource::Registry { .. }) || !drift_wanted(policy, &d.package) {
            continue;
        }
        let resolved = local.and_then(|(l, i)| Some(l.version(l.resolve(i, d)?).clone()));
        let (version, locked) = match resolved {
            Some(v) => (v, true),
            // A requirement says nothing finer than it is written: `tokio = "1"` is on no
            // particular minor version.
            None => match d.req.as_deref().and_then(versions::lower_bound) {
                Some(v) if level == DriftLevel::Major || v.major == 0 || precision(d.req.as_deref()) >= 2 => {
                    (v, false)
                }
                _ => continue,
            },
        };
        if seen.insert((d.package.as_str(), version.clone())) {
            uses.push(Use { package: p, dep: d, version, locked });
        }
    }
    uses
}

/// Report the packages whose uses (by [`uses_of`]) drift from the fleet's version.
pub fn report(ctx: &CheckCtx<'_>, all: Vec<Use<'_>>, sink: &Sink) {
    let policy = &ctx.policy.manifest;
    let level = policy.drift.level;
    let mut uses: BTreeMap<&str, Vec<Use<'_>>> = BTreeMap::new();
    for u in all {
        uses.entry(u.dep.package.as_str()).or_default().push(u);
    }
    let rule_severity = registry::severity(VERSION_DRIFT);
    let mut out = Vec::new();
    for (krate, uses) in uses {
        // Packages per class (a package is told apart by its manifest).
        let mut by_class: BTreeMap<Class, BTreeSet<&str>> = BTreeMap::new();
        for u in &uses {
            by_class.entry(class(level, &u.version)).or_default().insert(u.package.manifest.as_str());
        }
        let total: BTreeSet<&str> = uses.iter().map(|u| u.package.manifest.as_str()).collect();
        let chosen = policy.drift.chosen.get(krate).map(|(v, _)| v);
        let fleet_class = match chosen {
            Some(v) => class(level, v),
            // Most packages; ties: the newest class (the last of the equal maxima).
            None => match by_class.iter().max_by(|a, b| a.1.len().cmp(&b.1.len()).then(a.0.cmp(b.0))) {
                Some((c, _)) => *c,
                None => continue,
            },
        };
        let on_fleet = by_class.get(&fleet_class).map_or(0, BTreeSet::len);
        let newest = uses.iter().map(|u| &u.version).filter(|v| class(level, v) == fleet_class).max();
        let target = newest.or(chosen).map(Version::to_string).unwrap_or_default();
        let shown = class_shown(&fleet_class);
        let mut findings: Vec<(Finding, Class)> = Vec::new();
        for u in uses.iter().filter(|u| class(level, &u.version) != fleet_class) {
            let p = u.package;
            // Without a lockfile, the requirement is what the manifest says.
            let uses_what = if u.locked {
                format!("uses {krate} {}", u.version)
            } else {
                format!("requires {krate} {}", u.dep.req.as_deref().unwrap_or("*"))
            };
            let (message, why) = match chosen {
                Some(_) => (
                    format!(
                        "{} {uses_what}, the fleet's chosen version is {krate} {shown} ({on_fleet} of {} packages use it)",
                        p.name,
                        total.len()
                    ),
                    format!("the version `[manifest.drift] versions` chooses is {shown}"),
                ),
                None => (
                    format!(
                        "{} {uses_what}, the fleet uses {krate} {shown} ({on_fleet} of {} packages)",
                        p.name,
                        total.len()
                    ),
                    format!("the newest {shown} in the fleet"),
                ),
            };
            let finding = Finding::new(
                VERSION_DRIFT,
                rule_severity,
                message,
                Location::new(p.manifest.clone(), u.dep.key.span()),
            )
            .with_key(format!("drift:{krate}"))
            .with_services(vec![p.name.clone()])
            .with_help(format!("move {} to {krate} {target} ({why})", p.name));
            findings.push((finding, class(level, &u.version)));
        }
        // Two drifting versions of one crate in one manifest: tell their keys apart.
        let mut count: HashMap<String, usize> = HashMap::new();
        for (f, _) in &findings {
            *count.entry(f.location.file.clone()).or_default() += 1;
        }
        for (mut f, c) in findings {
            if count[&f.location.file] > 1 {
                f.key = format!("{}@{}", f.key, versions::class_text(&c));
            }
            out.push(f);
        }
    }
    sink.extend(out);
}

/// `manifest/duplicate-versions` in one lockfile, among the registry crates its `members`
/// (the lockfile's fleet packages the policy checks) reach.
pub fn duplicates(ctx: &CheckCtx<'_>, l: &Lock, members: &[lock::Member<'_>], max: u32) -> Vec<Finding> {
    let policy = &ctx.policy.manifest;
    let walks: Vec<(&Package, usize, &lock::Walk)> =
        members.iter().filter_map(|m| Some((m.package, m.local?, m.walk(l, policy)?))).collect();
    let mut out = Vec::new();
    // The reached registry entries, in (name, version) order: each name's versions are a run.
    let reached: Vec<usize> = l
        .order
        .iter()
        .copied()
        .filter(|&j| l.is_registry(j) && walks.iter().any(|(_, _, w)| w.reaches(j)))
        .collect();
    for entries in reached.chunk_by(|&a, &b| l.name(a) == l.name(b)) {
        let name = l.name(entries[0]);
        let mut versions: Vec<&Version> = entries.iter().map(|&j| l.version(j)).collect();
        versions.dedup();
        if versions.len() <= max as usize || policy.drift.duplicates_allowed.iter().any(|n| n == name) {
            continue;
        }
        let mut services: Vec<String> = Vec::new();
        let mut listed: Vec<String> = Vec::new();
        for &j in entries {
            // Who pulls this version in: a fleet package depending on it directly, else the
            // crate before it on a shortest path from one (the first by name and version).
            let mut packages: Vec<&str> = Vec::new();
            let mut crates: Vec<usize> = Vec::new();
            for (p, local, w) in walks.iter().filter(|(_, _, w)| w.reaches(j)) {
                services.push(p.name.clone());
                match w.parent(j) {
                    Some(parent) if parent == *local => packages.push(p.name.as_str()),
                    Some(parent) => crates.push(parent),
                    None => {}
                }
            }
            packages.sort();
            crates.sort_by(|&a, &b| (l.name(a), l.version(a), a).cmp(&(l.name(b), l.version(b), b)));
            let from =
                packages.first().map(|s| s.to_string()).or_else(|| crates.first().map(|&c| l.label(c)));
            listed.push(match from {
                Some(from) => format!("{} (from {from})", l.version(j)),
                None => l.version(j).to_string(),
            });
        }
        let line = entries.iter().map(|&j| l.line(j)).min().unwrap_or(1);
        out.push(
            Finding::new(
                DUPLICATE_VERSIONS,
                registry::severity(DUPLICATE_VERSIONS),
                format!(
                    "{} versions of {name} in {}, more than the {max} allowed: {}",
                    versions.len(),
                    l.rel,
                    listed.join(", ")
                ),
                Location::new(l.rel.clone(), Span { line, column: 1, end_line: line, end_column: 8 + name.len() as u32 + 2 }),
            )
            .with_key(format!("duplicates:{name}"))
            .with_services(services)
            .with_help(format!(
                "update or replace the crates pulling in the older versions of {name}, or list it in `[manifest.drift] duplicates_allowed`"
            )),
        );
    }
    out
}
