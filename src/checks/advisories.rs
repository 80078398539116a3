//! `advisories/*`: every lockfile of the fleet audited against the RustSec database.
//!
//! Each `Cargo.lock`, read and parsed once by the pass over lockfiles ([`super::lockpass`]), is
//! matched with rustsec's own
//! queries (crates.io packages only; withdrawn advisories never; `patched`/`unaffected` ranges
//! as cargo-audit applies them), located on the package's `name = ` line, and attributed to
//! the fleet packages that really reach the vulnerable package through the lockfile's
//! dependency graph. Policy ignores (reason, expiry, service scope) are applied here; expired
//! and unused ones become findings of their own.

use super::CheckCtx;
use super::lockcache::{Loaded, Parsed};
use crate::config::AdvisoryIgnore;
use crate::db::AdvisoryDb;
use crate::diag::{
    AdvisoryInfo, Finding, Location, Related, Severity, Sink, Span, Suppression, SuppressionKind,
};
use crate::registry;
use crate::workspace::{Package, PackageKind};
use lockfile::LockPackage;
use rustsec::Collection;
use rustsec::advisory::Informational;
use rustsec::database::Query;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

pub mod lockfile;

pub const VULNERABILITY: &str = "advisories/vulnerability";
pub const UNMAINTAINED: &str = "advisories/unmaintained";
pub const UNSOUND: &str = "advisories/unsound";
pub const NOTICE: &str = "advisories/notice";
pub const STALE_DATABASE: &str = "advisories/stale-database";
pub const EXPIRED_EXCEPTION: &str = "fleetward/expired-exception";
pub const UNUSED_EXCEPTION: &str = "fleetward/unused-exception";

/// The audit of one run: the policy's ignores, and which of them matched a finding. The
/// lockfiles come from the pass over them ([`super::lockpass`]), one call of
/// [`Audit::lockfile`] each; [`Audit::finish`] then reports the fleet-level findings.
pub struct Audit<'c> {
    ctx: &'c CheckCtx<'c>,
    db: &'c AdvisoryDb,
    ignores: Vec<&'c AdvisoryIgnore>,
    active: Vec<bool>,
    used: Vec<AtomicBool>,
}

impl<'c> Audit<'c> {
    pub fn new(ctx: &'c CheckCtx<'c>, db: &'c AdvisoryDb) -> Audit<'c> {
        let ignores: Vec<&AdvisoryIgnore> = ctx.policy.advisories.ignore.iter().collect();
        let active = ignores.iter().map(|i| i.expires.is_none_or(|d| d >= ctx.now)).collect();
        let used = ignores.iter().map(|_| AtomicBool::new(false)).collect();
        Audit { ctx, db, ignores, active, used }
    }

    /// The findings of lockfile `rel`, or the problem that kept it from being read.
    pub fn lockfile(&self, rel: &str, loaded: &Loaded) -> Vec<Finding> {
        match loaded {
            Ok(parsed) => audit_lockfile(self, rel, parsed),
            Err(problem) => vec![(**problem).clone()],
        }
    }

    /// The findings about the audit itself: expired and unused ignores, a stale database.
    pub fn finish(self, sink: &Sink) {
        let Audit { ctx, db, ignores, active, used } = self;
        let policy_file = ctx.policy.rel_path.clone().unwrap_or_else(|| crate::config::FILE_NAME.to_string());
        for (i, ignore) in ignores.iter().enumerate() {
            let at = Location::new(policy_file.clone(), Span::line(ignore.line));
            if !active[i] {
                let expires = ignore.expires.map(|d| d.to_string()).unwrap_or_default();
                sink.push(
                    Finding::new(
                        EXPIRED_EXCEPTION,
                        registry::severity(EXPIRED_EXCEPTION),
                        format!("the ignore of {} expired on {expires}: it no longer applies", ignore.id),
                        at,
                    )
                    .with_key(format!("advisories.ignore:{}", ignore.id))
                    .with_help("fix the finding, or renew the ignore with a new `expires` and reason"),
                );
            } else if !used[i].load(Ordering::Relaxed) {
                sink.push(
                    Finding::new(
                        UNUSED_EXCEPTION,
                        registry::severity(UNUSED_EXCEPTION),
                        format!("the ignore of {} matched no finding", ignore.id),
                        at,
                    )
                    .with_key(format!("advisories.ignore:{}", ignore.id))
                    .with_help("delete the entry"),
                );
            }
        }

        let max_age = ctx.policy.advisories.max_db_age_days;
        let summary = db.summary(ctx.now);
        if max_age > 0
            && let (Some(age), Some(newest)) = (summary.age_days, summary.newest.as_deref())
            && age > i64::from(max_age)
        {
            let file = ctx.policy.rel_path.clone().or_else(|| ctx.fleet.lockfiles.first().cloned());
            if let Some(file) = file {
                sink.push(
                    Finding::new(
                        STALE_DATABASE,
                        registry::severity(STALE_DATABASE),
                        format!(
                            "the advisory database is {age} days old (newest advisory {newest}), more than the {max_age} days the policy allows"
                        ),
                        Location::new(file, Span::line(1)),
                    )
                    .with_key("stale-database")
                    .with_help("run `fleetward db fetch` before auditing"),
                );
            }
        }
    }
}

/// Whether a run scoped to some packages audits `lockfile`: one of its packages is checked (a
/// lockfile no package uses is audited by every shard, and by a change run that touched it).
pub fn wanted(ctx: &CheckCtx<'_>, lockfile: &str) -> bool {
    let Some(scope) = ctx.scope else { return true };
    let mut users =
        ctx.fleet.packages.iter().enumerate().filter(|(_, p)| p.lockfile.as_deref() == Some(lockfile));
    let mut any = false;
    let hit = users.any(|(i, _)| {
        any = true;
        scope.wants_package(i)
    });
    hit || (!any && scope.wants_file(None, lockfile))
}

fn audit_lockfile(audit: &Audit<'_>, rel: &str, parsed: &Parsed) -> Vec<Finding> {
    let (ctx, db, scope) = (audit.ctx, audit.db, audit);
    let packages = &parsed.packages;
    let graph = parsed.graph();
    let members: Vec<&Package> = ctx.fleet.packages_of_lockfile(rel).collect();
    let roots: Vec<(&Package, Vec<bool>)> =
        members.iter().filter_map(|p| graph.local_index(p).map(|i| (*p, graph.reachable_from(i)))).collect();

    let mut out = Vec::new();
    for (idx, pkg) in packages.iter().map(|p| &p.package).enumerate() {
        if pkg.source.as_ref().is_none_or(|s| !s.is_default_registry()) {
            continue;
        }
        let query = Query::new().collection(Collection::Crates).withdrawn(false).package(pkg);
        for advisory in db.query(&query, pkg.name.as_str()) {
            let meta = &advisory.metadata;
            let (rule, kind) = match &meta.informational {
                None => (VULNERABILITY, "vulnerability"),
                Some(Informational::Unmaintained) => (UNMAINTAINED, "unmaintained"),
                Some(Informational::Unsound) => (UNSOUND, "unsound"),
                Some(_) => (NOTICE, "notice"),
            };
            if rule != VULNERABILITY && !ctx.policy.advisories.informational.iter().any(|k| k == kind) {
                continue;
            }
            let cvss = meta.cvss.as_ref().map(|c| (c.score() * 10.0).round() / 10.0);
            let severity = match (rule, cvss) {
                (VULNERABILITY, Some(score)) => Severity::from_cvss(score),
                _ => registry::severity(rule),
            };
            let name = pkg.name.as_str();
            let version = pkg.version.to_string();
            let line = packages[idx].line;

            let reaching: Vec<&Package> =
                roots.iter().filter(|(_, reach)| reach[idx]).map(|(p, _)| *p).collect();
            let services: Vec<&Package> =
                reaching.iter().copied().filter(|p| p.kind == PackageKind::Service).collect();
            let mut affected = if services.is_empty() { reaching } else { services };
            affected.sort_by(|a, b| (&a.name, &a.manifest).cmp(&(&b.name, &b.manifest)));

            let patched: Vec<String> = advisory.versions.patched().iter().map(|r| r.to_string()).collect();
            let aliases: Vec<String> = meta.aliases.iter().map(|a| a.to_string()).collect();
            let id = meta.id.to_string();

            // Policy ignores: a matching unscoped ignore suppresses the finding; a scoped one
            // removes the services it names, and suppresses the finding when none is left.
            let mut suppression = None;
            for (i, ignore) in scope.ignores.iter().enumerate() {
                if !scope.active[i] || !(ignore.id == id || aliases.contains(&ignore.id)) {
                    continue;
                }
                if ignore.services.is_empty() {
                    scope.used[i].store(true, Ordering::Relaxed);
                    suppression = Some(Suppression {
                        kind: SuppressionKind::Policy,
                        justification: ignore.reason.clone(),
                    });
                    break;
                }
                let before = affected.len();
                affected.retain(|p| !ignore.applies_to(&p.name, &p.dir));
                if affected.len() < before {
                    scope.used[i].store(true, Ordering::Relaxed);
                    if affected.is_empty() {
                        suppression = Some(Suppression {
                            kind: SuppressionKind::Policy,
                            justification: ignore.reason.clone(),
                        });
                        break;
                    }
                }
            }

            let help = if patched.is_empty() {
                match rule {
                    VULNERABILITY => "no patched version is available: remove or replace the crate, or ignore it with a reason".to_string(),
                    _ => "no fixed version: move to a maintained alternative, or ignore it with a reason".to_string(),
                }
            } else {
                format!("upgrade {name} to {}", patched.join(" or "))
            };
            let related = affected
                .iter()
                .map(|p| Related {
                    location: Location::new(p.manifest.clone(), Span::line(dependency_line(p, name))),
                    message: format!("affected {} {}", p.kind.as_str(), p.name),
                })
                .collect();
            let mut finding = Finding::new(
                rule,
                severity,
                format!("{name} {version}: {} ({id})", meta.title.trim()),
                Location::new(
                    rel,
                    Span { line, column: 1, end_line: line, end_column: 8 + name.len() as u32 + 2 },
                ),
            )
            .with_key(format!("{id}:{name}"))
            .with_services(affected.iter().map(|p| p.name.clone()).collect())
            .with_related(related)
            .with_help(help);
            finding.suppression = suppression;
            finding.advisory = Some(AdvisoryInfo {
                id,
                package: name.to_string(),
                version,
                patched,
                aliases,
                cvss,
                kind: kind.to_string(),
                title: meta.title.trim().to_string(),
                url: meta.url.as_ref().map(|u| u.to_string()),
                date: meta.date.as_str().to_string(),
                description: meta.description.trim().to_string(),
                cvss_vector: meta.cvss.as_ref().map(|c| c.to_string()),
            });
            out.push(finding);
        }
    }
    disambiguate_keys(&mut out);
    out
}

/// When one advisory hits two versions of a crate in one lockfile, the `ID:crate` keys (and so
/// the fingerprints) would collide: add the semver-compatible line (`@0.4`, `@1`) to those.
fn disambiguate_keys(findings: &mut [Finding]) {
    let mut count: HashMap<(String, String), usize> = HashMap::new();
    for f in findings.iter() {
        *count.entry((f.rule.clone(), f.key.clone())).or_default() += 1;
    }
    for f in findings.iter_mut() {
        if count[&(f.rule.clone(), f.key.clone())] > 1
            && let Some(version) = f.advisory.as_ref().and_then(|a| rustsec::Version::parse(&a.version).ok())
        {
            let line = crate::versions::class_text(&crate::versions::compat_class(&version));
            f.key = format!("{}@{line}", f.key);
        }
    }
}

/// The line of `dep` in the package's manifest when it is a direct dependency, else 1.
fn dependency_line(p: &Package, dep: &str) -> u32 {
    p.dependencies.iter().find(|d| d.package == dep).map_or(1, |d| d.key.line)
}

/// `line N, column M` in a TOML error message, else (1, 1).
pub(crate) fn error_position(message: &str) -> (u32, u32) {
    let re = regex::Regex::new(r"line (\d+), column (\d+)").expect("valid regex");
    re.captures(message).and_then(|c| Some((c[1].parse().ok()?, c[2].parse().ok()?))).unwrap_or((1, 1))
}

/// The lockfile's dependency graph, by package index.
/// A lockfile's dependency graph: each entry's dependencies resolved to entries.
pub struct Graph<'a> {
    packages: &'a [LockPackage],
    edges: std::borrow::Cow<'a, [Vec<usize>]>,
}

impl<'a> Graph<'a> {
    /// The graph of `packages` with edges already resolved (by [`Graph::new`] earlier).
    pub fn from_edges(packages: &'a [LockPackage], edges: &'a [Vec<usize>]) -> Graph<'a> {
        Graph { packages, edges: std::borrow::Cow::Borrowed(edges) }
    }

    /// The resolved edges, owned (to keep them beside the packages).
    pub fn into_edges(self) -> Vec<Vec<usize>> {
        self.edges.into_owned()
    }

    pub fn new(packages: &'a [LockPackage]) -> Graph<'a> {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in packages.iter().enumerate() {
            by_name.entry(p.package.name.as_str()).or_default().push(i);
        }
        let edges = packages
            .iter()
            .map(|p| {
                p.deps
                    .iter()
                    .filter_map(|(name, version, source)| {
                        let candidates = by_name.get(name.as_str())?;
                        candidates
                            .iter()
                            .copied()
                            .find(|&i| {
                                let q = &packages[i].package;
                                version.as_ref().is_some_and(|v| q.version.to_string() == *v)
                                    && source.as_ref().is_none_or(|s| {
                                        q.source.as_ref().is_some_and(|qs| qs.to_string() == *s)
                                    })
                            })
                            .or_else(|| (candidates.len() == 1).then(|| candidates[0]))
                    })
                    .collect()
            })
            .collect();
        Graph { packages, edges: std::borrow::Cow::Owned(edges) }
    }

    /// The lockfile entry of a fleet package ([`lockfile::local_index`]).
    pub fn local_index(&self, p: &Package) -> Option<usize> {
        lockfile::local_index(self.packages, p)
    }

    /// The lockfile's entries, in file order.
    pub fn packages(&self) -> &'a [LockPackage] {
        self.packages
    }

    /// The entries each entry depends on.
    pub fn edges(&self) -> &[Vec<usize>] {
        &self.edges
    }

    /// Which entries `start` reaches (itself included).
    pub fn reachable_from(&self, start: usize) -> Vec<bool> {
        let mut seen = vec![false; self.edges.len()];
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            for &j in &self.edges[i] {
                if !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_position_reads_toml_messages() {
        assert_eq!(error_position("TOML parse error at line 5, column 11\n  |"), (5, 11));
        assert_eq!(error_position("something else"), (1, 1));
    }
}
