//! The fix plan: for every vulnerable package of every lockfile, the version to move to and
//! what must change for cargo to accept it.
//!
//! - The target is the smallest version that no vulnerability advisory of the crate affects
//!   (the ones found, minus policy ignores, plus any other the crate has, so a fix never moves
//!   into a known hole), preferring one semver-compatible with the current version. It is
//!   taken from the registry index when fleetward can read one ([`Index`]), else from the
//!   advisories' `patched` and `unaffected` ranges.
//! - Every package that depends on it in the lockfile graph must accept the target: a fleet
//!   package through its manifest requirement (edited when it does not: `manifest-bump`, in
//!   `[workspace.dependencies]` when inherited), a registry package through its published
//!   requirement (a newer compatible release of that parent is found: `parent-bump`).
//!   Otherwise plain `cargo update --precise` does it (`cargo-update`).

use super::index::Index;
use crate::checks::advisories::{Graph, VULNERABILITY, lockfile::LockPackage};
use crate::checks::lockcache::LockCache;
use crate::db::AdvisoryDb;
use crate::diag::{Finding, Severity};
use crate::versions::{compatible, lower_bounds};
use crate::workspace::{DepKind, Fleet};
use rustsec::advisory::Advisory;
use rustsec::{Version, VersionReq};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    CargoUpdate,
    ManifestBump,
    ParentBump,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::CargoUpdate => "cargo-update",
            How::ManifestBump => "manifest-bump",
            How::ParentBump => "parent-bump",
        }
    }
}

/// One requirement to rewrite in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub manifest: String,
    pub line: u32,
    /// `dependencies`, `dev-dependencies`, `build-dependencies`, or `workspace.dependencies`.
    pub table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub key: String,
    pub from: String,
    pub to: String,
}

/// A registry package whose published requirement excludes the target: it moves too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParentBump {
    pub package: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdvisoryRef {
    pub id: String,
    pub severity: Severity,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    pub package: String,
    pub from: String,
    pub to: String,
    pub advisories: Vec<String>,
    pub how: How,
    /// The manifests edited (empty for `cargo-update`).
    pub manifests: Vec<String>,
    pub severity: Severity,
    pub services: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<Edit>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<ParentBump>,
    /// Whether the registry index lists `to` (false: taken from the advisories' ranges).
    pub published: bool,
    /// With `--apply`: `fixed`, or `failed` with `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub details: Vec<AdvisoryRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unfixable {
    pub package: String,
    pub version: String,
    pub advisories: Vec<String>,
    pub reason: String,
    pub severity: Severity,
    pub services: Vec<String>,
    #[serde(skip)]
    pub details: Vec<AdvisoryRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkspacePlan {
    pub workspace: String,
    /// With `[fix] pull_requests = "service"` (`--open-pr`): the service this part of the
    /// workspace's plan is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub lockfile: String,
    /// The workspace's root manifest.
    pub manifest: String,
    pub fixes: Vec<Fix>,
    pub unfixable: Vec<Unfixable>,
    /// With `--apply`: the vulnerable packages left after the re-audit (`package@version`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<Vec<String>>,
}

/// One vulnerable package of one lockfile, as the audit found it.
struct Vulnerable {
    package: String,
    version: Version,
    advisories: Vec<AdvisoryRef>,
    services: Vec<String>,
}

/// Plan the fixes of every lockfile from the advisories check's findings (policy ignores
/// already applied there). `index_for` gives the registry index of a workspace directory.
pub fn plan(
    fleet: &Fleet,
    lockfiles: &LockCache,
    findings: &[Finding],
    db: &AdvisoryDb,
    index_for: &dyn Fn(&str) -> Index,
) -> Vec<WorkspacePlan> {
    let mut by_lockfile: BTreeMap<&str, BTreeMap<(String, Version), Vulnerable>> = BTreeMap::new();
    for f in findings {
        let Some(a) = f.advisory.as_ref() else { continue };
        if f.rule != VULNERABILITY || f.suppression.is_some() {
            continue;
        }
        let Ok(version) = Version::parse(&a.version) else { continue };
        let v = by_lockfile
            .entry(f.location.file.as_str())
            .or_default()
            .entry((a.package.clone(), version.clone()))
            .or_insert_with(|| Vulnerable {
                package: a.package.clone(),
                version,
                advisories: Vec::new(),
                services: Vec::new(),
            });
        if !v.advisories.iter().any(|x| x.id == a.id) {
            v.advisories.push(AdvisoryRef { id: a.id.clone(), severity: f.severity, title: a.title.clone() });
        }
        v.services.extend(f.services.iter().cloned());
    }

    let mut out = Vec::new();
    for (lockfile, vulnerable) in by_lockfile {
        // A lockfile no manifest of the tree claims is still planned (its local packages
        // cannot be edited): the workspace is its directory.
        let dir = lockfile.rsplit_once('/').map_or(".", |(d, _)| d);
        let (ws_dir, ws_manifest) =
            match fleet.workspaces.iter().find(|w| w.lockfile.as_deref() == Some(lockfile)) {
                Some(ws) => (ws.dir.clone(), ws.manifest.clone()),
                None if dir == "." => (".".to_string(), "Cargo.toml".to_string()),
                None => (dir.to_string(), format!("{dir}/Cargo.toml")),
            };
        // The audit parsed it; one it could not read has no vulnerable package to plan.
        let Some(Ok(parsed)) = lockfiles.get(lockfile) else { continue };
        let (packages, graph) = (&parsed.packages, parsed.graph());
        let index = index_for(&ws_dir);
        let lock = Lock { fleet, graph: &graph, packages, lockfile, ws_manifest: &ws_manifest };
        let mut plan = WorkspacePlan {
            workspace: ws_dir.clone(),
            service: None,
            lockfile: lockfile.to_string(),
            manifest: ws_manifest.clone(),
            fixes: Vec::new(),
            unfixable: Vec::new(),
            remaining: None,
        };
        for (_, mut v) in vulnerable {
            v.services.sort();
            v.services.dedup();
            v.advisories.sort_by(|a, b| a.id.cmp(&b.id));
            let severity = v.advisories.iter().map(|a| a.severity).max().unwrap_or(Severity::High);
            match plan_one(&lock, db, &index, &v) {
                Ok(mut fix) => {
                    fix.severity = severity;
                    plan.fixes.push(fix);
                }
                Err(reason) => plan.unfixable.push(Unfixable {
                    package: v.package.clone(),
                    version: v.version.to_string(),
                    advisories: v.advisories.iter().map(|a| a.id.clone()).collect(),
                    reason,
                    severity,
                    services: v.services.clone(),
                    details: v.advisories.clone(),
                }),
            }
        }
        out.push(plan);
    }
    out
}

struct Lock<'a> {
    fleet: &'a Fleet,
    graph: &'a Graph<'a>,
    packages: &'a [LockPackage],
    lockfile: &'a str,
    ws_manifest: &'a str,
}

fn plan_one(lock: &Lock<'_>, db: &AdvisoryDb, index: &Index, v: &Vulnerable) -> Result<Fix, String> {
    let name = v.package.as_str();
    let all = db.advisories_of(name).map_err(str::to_string)?;
    let found: Vec<&str> = v.advisories.iter().map(|a| a.id.as_str()).collect();
    // What the target must escape: the advisories found, and every vulnerability of the crate
    // that does not affect the current version (an ignored one that does is not held against it).
    let guards: Vec<&Advisory> = all
        .iter()
        .filter(|a| a.metadata.informational.is_none() && a.metadata.withdrawn.is_none())
        .filter(|a| found.contains(&a.metadata.id.as_str()) || !a.versions.is_vulnerable(&v.version))
        .collect();
    let hit: Vec<&&Advisory> = guards.iter().filter(|a| found.contains(&a.metadata.id.as_str())).collect();
    if hit.iter().any(|a| a.versions.patched().is_empty() && a.versions.unaffected().is_empty()) {
        return Err(format!("the advisory names no patched version: remove or replace {name}"));
    }
    let safe = |x: &Version| !guards.iter().any(|a| a.versions.is_vulnerable(x));
    let (to, published) = target(name, &v.version, &guards, index, &safe)?;

    let mut fix = Fix {
        package: name.to_string(),
        from: v.version.to_string(),
        to: to.to_string(),
        advisories: found.iter().map(|s| s.to_string()).collect(),
        how: How::CargoUpdate,
        manifests: Vec::new(),
        severity: Severity::High,
        services: v.services.clone(),
        edits: Vec::new(),
        parents: Vec::new(),
        published,
        result: None,
        error: None,
        details: v.advisories.clone(),
    };
    let me = lock
        .packages
        .iter()
        .position(|p| p.package.name.as_str() == name && p.package.version == v.version && is_registry(p))
        .ok_or_else(|| format!("{name} {} is not in {}", v.version, lock.lockfile))?;
    for (q, deps) in lock.graph.edges().iter().enumerate() {
        if !deps.contains(&me) {
            continue;
        }
        let parent = &lock.packages[q].package;
        if parent.source.is_none() {
            match local_edits(lock, parent, name, &v.version, &to) {
                Some(edits) => fix.edits.extend(edits),
                None if compatible(&v.version, &to) => {}
                None => {
                    return Err(format!(
                        "{name} {to} is needed, and {} {} requires {name} {}, but its manifest is not in the scanned tree",
                        parent.name, parent.version, v.version
                    ));
                }
            }
        } else if is_registry(&lock.packages[q]) {
            if let Some(bump) = parent_bump(index, parent, name, &v.version, &to)? {
                fix.parents.push(bump);
            }
        } else if !compatible(&v.version, &to) {
            return Err(format!(
                "{name} {to} is needed, and {} {} (from {}) requires {name} {}",
                parent.name,
                parent.version,
                parent.source.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                v.version
            ));
        }
    }
    fix.edits.sort_by(|a, b| (&a.manifest, a.line).cmp(&(&b.manifest, b.line)));
    fix.edits.dedup();
    fix.parents.sort_by(|a, b| a.package.cmp(&b.package));
    fix.parents.dedup();
    fix.manifests = fix.edits.iter().map(|e| e.manifest.clone()).collect();
    fix.manifests.dedup();
    fix.how = if !fix.parents.is_empty() {
        How::ParentBump
    } else if !fix.edits.is_empty() {
        How::ManifestBump
    } else {
        How::CargoUpdate
    };
    Ok(fix)
}

fn is_registry(p: &LockPackage) -> bool {
    p.package.source.as_ref().is_some_and(|s| s.is_registry())
}

/// The version to move to, and whether the index lists it.
fn target(
    name: &str,
    from: &Version,
    guards: &[&Advisory],
    index: &Index,
    safe: &dyn Fn(&Version) -> bool,
) -> Result<(Version, bool), String> {
    let pick = |mut c: Vec<Version>| -> Option<Version> {
        c.retain(|x| x > from && safe(x) && (x.pre.is_empty() || !from.pre.is_empty()));
        c.sort();
        c.iter().find(|x| compatible(from, x)).or(c.first()).cloned()
    };
    if let Some(releases) = index.releases(name) {
        let live: Vec<Version> = releases.iter().filter(|r| !r.yanked).map(|r| r.version.clone()).collect();
        if let Some(v) = pick(live) {
            return Ok((v, true));
        }
        if index.authoritative() {
            let yanked: Vec<String> = releases
                .iter()
                .filter(|r| r.yanked && r.version > *from && safe(&r.version))
                .map(|r| r.version.to_string())
                .collect();
            let newest = releases.iter().map(|r| r.version.to_string()).next_back().unwrap_or_default();
            return Err(if yanked.is_empty() {
                format!("no published version of {name} is patched (newest published: {newest})")
            } else {
                format!("every patched version of {name} is yanked ({})", yanked.join(", "))
            });
        }
    }
    let bounds: Vec<Version> = guards
        .iter()
        .flat_map(|a| a.versions.patched().iter().chain(a.versions.unaffected()))
        .flat_map(lower_bounds)
        .collect();
    pick(bounds).map(|v| (v, false)).ok_or_else(|| {
        format!("no version of {name} above {from} is outside every advisory's affected ranges")
    })
}

/// The requirement edits a fleet package `parent` needs to accept `to` (`None`: it is not a
/// package of the scanned tree).
fn local_edits(
    lock: &Lock<'_>,
    parent: &rustsec::package::Package,
    name: &str,
    from: &Version,
    to: &Version,
) -> Option<Vec<Edit>> {
    let pkg = lock.fleet.packages_of_lockfile(lock.lockfile).find(|p| {
        p.name == parent.name.as_str() && p.version.as_deref().is_none_or(|v| v == parent.version.to_string())
    })?;
    let deps: Vec<_> = pkg.dependencies.iter().filter(|d| d.package == name).collect();
    let resolving: Vec<_> =
        deps.iter().filter(|d| req_of(d.req.as_deref()).is_some_and(|r| r.matches(from))).collect();
    let chosen = if resolving.is_empty() { deps.iter().collect() } else { resolving };
    let edits = chosen
        .into_iter()
        .filter(|d| !req_of(d.req.as_deref()).is_some_and(|r| r.matches(to)))
        .filter_map(|d| {
            let old = d.req.clone()?;
            let new = bumped_req(&old, to);
            let kind = match d.kind {
                DepKind::Normal => "dependencies",
                DepKind::Dev => "dev-dependencies",
                DepKind::Build => "build-dependencies",
            };
            Some(if d.workspace_inherited {
                Edit {
                    manifest: lock.ws_manifest.to_string(),
                    line: lock
                        .fleet
                        .settings_of(lock.ws_manifest)
                        .and_then(|s| s.workspace_deps.get(&d.name))
                        .map_or(1, |spot| spot.line),
                    table: "workspace.dependencies".to_string(),
                    target: None,
                    key: d.name.clone(),
                    from: old,
                    to: new,
                }
            } else {
                Edit {
                    manifest: pkg.manifest.clone(),
                    line: d.key.line,
                    table: kind.to_string(),
                    target: d.target.clone(),
                    key: d.name.clone(),
                    from: old,
                    to: new,
                }
            })
        })
        .collect();
    Some(edits)
}

fn req_of(req: Option<&str>) -> Option<VersionReq> {
    VersionReq::parse(req.unwrap_or("*")).ok()
}

/// The requirement `old` rewritten to admit `to` and nothing older: its operator and, when
/// it loses nothing, its precision are kept (`"0.1"` -> `"0.2"`, `"=1.0.3"` -> `"=1.0.5"`).
pub fn bumped_req(old: &str, to: &Version) -> String {
    let t = old.trim();
    if t.contains(',') || t == "*" || t.is_empty() {
        return to.to_string();
    }
    let (op, rest) = ["^", "~", "=", ">="]
        .iter()
        .find_map(|op| t.strip_prefix(op).map(|r| (*op, r.trim())))
        .unwrap_or(("", t));
    let precision = rest.split('.').count();
    let text = match precision {
        1 if to.minor == 0 && to.patch == 0 && to.pre.is_empty() => to.major.to_string(),
        2 if to.patch == 0 && to.pre.is_empty() => format!("{}.{}", to.major, to.minor),
        _ => to.to_string(),
    };
    format!("{op}{text}")
}

/// A registry parent's requirement on `name`: nothing to do when it admits `to`; else the
/// smallest compatible release of the parent whose requirement does.
fn parent_bump(
    index: &Index,
    parent: &rustsec::package::Package,
    name: &str,
    from: &Version,
    to: &Version,
) -> Result<Option<ParentBump>, String> {
    let requirement = |r: &super::index::Release| -> Option<VersionReq> {
        r.deps.iter().find(|(n, req)| n == name && req.matches(from)).map(|(_, req)| req.clone())
    };
    let releases = index.releases(parent.name.as_str());
    let current = releases.as_ref().and_then(|rs| rs.iter().find(|r| r.version == parent.version).cloned());
    let Some(current) = current else {
        if compatible(from, to) {
            return Ok(None);
        }
        return Err(format!(
            "{name} {to} is not compatible with {from}, which {} {} requires, and the registry index does not list {}: upgrade {} by hand",
            parent.name, parent.version, parent.name, parent.name
        ));
    };
    let Some(req) = requirement(&current) else { return Ok(None) };
    if req.matches(to) {
        return Ok(None);
    }
    let releases = releases.unwrap_or_default();
    let next = releases.iter().find(|r| {
        r.version > parent.version
            && !r.yanked
            && compatible(&parent.version, &r.version)
            && r.deps.iter().filter(|(n, _)| n == name).all(|(_, q)| q.matches(to))
    });
    match next {
        Some(r) => Ok(Some(ParentBump {
            package: parent.name.to_string(),
            from: parent.version.to_string(),
            to: r.version.to_string(),
        })),
        None => Err(format!(
            "{} {} requires {name} {req}, and no semver-compatible release of {} accepts {name} {to}: upgrade {} by hand",
            parent.name, parent.version, parent.name, parent.name
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn requirements_keep_their_operator_and_precision_when_it_loses_nothing() {
        assert_eq!(bumped_req("0.1", &v("0.2.0")), "0.2");
        assert_eq!(bumped_req("0.1", &v("0.2.3")), "0.2.3");
        assert_eq!(bumped_req("^1.0.2", &v("1.0.5")), "^1.0.5");
        assert_eq!(bumped_req("=1.0.3", &v("1.0.5")), "=1.0.5");
        assert_eq!(bumped_req("1", &v("2.0.0")), "2");
        assert_eq!(bumped_req(">=0.1, <0.2", &v("0.2.1")), "0.2.1");
        assert_eq!(bumped_req("~0.4.1", &v("0.5.0")), "~0.5.0");
        for (old, to) in [("0.1", "0.2.0"), ("~0.4.1", "0.5.0"), ("1", "2.0.0"), ("1.2", "1.4.7")] {
            let req = VersionReq::parse(&bumped_req(old, &v(to))).unwrap();
            assert!(req.matches(&v(to)), "{old} -> {to}");
        }
    }
}
