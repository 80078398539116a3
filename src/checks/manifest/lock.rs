//! The dependency rules' view of a lockfile (`bans`, `drift`, `required`), from the parse the
//! pass over lockfiles ([`crate::checks::lockpass`]) shares with the audit: the `name = ` line
//! of every entry, edges sorted by (name, version) so that shortest paths are deterministic,
//! and walks from a fleet package that follow, at the first level, only the direct
//! dependencies whose kind the policy counts (the lockfile does not record kinds: they come
//! from the manifest). A lockfile that cannot be read is the pass's to report; the rules see
//! its packages without one.

use super::cfg::ManifestPolicy;
use crate::checks::advisories::lockfile;
use crate::checks::lockcache::Parsed;
use crate::workspace::{DepKind, Dependency, Package};
use semver::{Version, VersionReq};
use std::collections::VecDeque;
use std::sync::Arc;

/// Whether dependencies of `kind` count under the policy.
pub fn counts(policy: &ManifestPolicy, kind: DepKind) -> bool {
    match kind {
        DepKind::Normal => true,
        DepKind::Dev => policy.dev_dependencies,
        DepKind::Build => policy.build_dependencies,
    }
}

/// The dependencies of `p` that count under the policy, in manifest order.
pub fn counted_deps<'a>(
    policy: &'a ManifestPolicy,
    p: &'a Package,
) -> impl Iterator<Item = &'a Dependency> + 'a {
    p.dependencies.iter().filter(move |d| counts(policy, d.kind))
}

/// One parsed `Cargo.lock` (shared with the audit by [`crate::checks::lockpass`]), with its
/// entries in (name, version) order and its edges sorted in that order, for deterministic walks.
pub struct Lock {
    /// Relative path of the lockfile.
    pub rel: String,
    pub parsed: Arc<Parsed>,
    /// The entries sorted by (name, version, position).
    pub order: Vec<usize>,
    /// The entries each entry depends on, sorted by (name, version); `None` when the parsed
    /// edges already are (cargo writes entries and dependency lists in that order).
    sorted_edges: Option<Vec<Vec<usize>>>,
}

impl Lock {
    /// The manifest rules' view of lockfile `rel`.
    pub fn new(rel: &str, parsed: &Arc<Parsed>) -> Lock {
        let key = |i: usize| sort_key(&parsed.packages, i);
        let mut order: Vec<usize> = (0..parsed.packages.len()).collect();
        if !order.is_sorted_by(|&a, &b| key(a) <= key(b)) {
            order.sort_by(|&a, &b| key(a).cmp(&key(b)));
        }
        // Each entry's rank in that order, so that sorting the edges compares integers.
        let mut rank = vec![0; order.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i] = r;
        }
        let in_order = |e: &Vec<usize>| e.is_sorted_by(|&a, &b| rank[a] < rank[b]);
        let sorted_edges = (!parsed.edges.iter().all(in_order)).then(|| {
            let mut edges = parsed.edges.clone();
            for e in &mut edges {
                e.sort_unstable_by_key(|&j| rank[j]);
                e.dedup();
            }
            edges
        });
        Lock { rel: rel.to_string(), parsed: parsed.clone(), order, sorted_edges }
    }

    /// The entries entry `i` depends on, by (name, version).
    pub fn edges(&self, i: usize) -> &[usize] {
        match &self.sorted_edges {
            Some(edges) => &edges[i],
            None => &self.parsed.edges[i],
        }
    }
}

fn sort_key(packages: &[lockfile::LockPackage], i: usize) -> (&str, &Version, usize) {
    (packages[i].package.name.as_str(), &packages[i].package.version, i)
}

impl Lock {
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.parsed.packages.len()
    }

    /// Whether the lockfile has no entry.
    pub fn is_empty(&self) -> bool {
        self.parsed.packages.is_empty()
    }

    /// 1-based line of entry `i`'s `name = ` line.
    pub fn line(&self, i: usize) -> u32 {
        self.parsed.packages[i].line
    }

    pub fn name(&self, i: usize) -> &str {
        self.parsed.packages[i].package.name.as_str()
    }

    pub fn version(&self, i: usize) -> &Version {
        &self.parsed.packages[i].package.version
    }

    /// `name version`, as paths show an entry.
    pub fn label(&self, i: usize) -> String {
        format!("{} {}", self.name(i), self.version(i))
    }

    /// Whether entry `i` comes from a registry (not a path or git source).
    pub fn is_registry(&self, i: usize) -> bool {
        self.parsed.packages[i].package.source.as_ref().is_some_and(|s| s.is_registry())
    }

    /// The entry of fleet package `p` ([`lockfile::local_index`]).
    pub fn local_index(&self, p: &Package) -> Option<usize> {
        lockfile::local_index(&self.parsed.packages, p)
    }

    /// The entry a direct dependency `d` of the package at `local` resolved to: the edge of
    /// that name, the one the requirement accepts when there are several.
    pub fn resolve(&self, local: usize, d: &Dependency) -> Option<usize> {
        let mut candidates = self.edges(local).iter().copied().filter(|&j| self.name(j) == d.package);
        let first = candidates.next()?;
        let Some(req) = d.req.as_deref().and_then(|r| VersionReq::parse(r).ok()) else { return Some(first) };
        std::iter::once(first).chain(candidates).find(|&j| req.matches(self.version(j))).or(Some(first))
    }

    /// The entries the counted direct dependencies of `p` resolve to, sorted, deduplicated.
    pub fn starts(&self, policy: &ManifestPolicy, p: &Package, local: usize) -> Vec<usize> {
        let mut out: Vec<usize> = counted_deps(policy, p).filter_map(|d| self.resolve(local, d)).collect();
        out.sort_by(|&a, &b| sort_key(&self.parsed.packages, a).cmp(&sort_key(&self.parsed.packages, b)));
        out.dedup();
        out
    }

    /// Breadth-first walk from the package entry `local` through `starts` (its counted direct
    /// dependencies), then every edge: each reached entry's parent on one shortest path (ties
    /// broken by name and version). `local` itself is not reached.
    pub fn walk(&self, local: usize, starts: &[usize]) -> Walk {
        let mut parent = vec![None; self.parsed.packages.len()];
        let mut queue = VecDeque::new();
        for &s in starts {
            if s != local && parent[s].is_none() {
                parent[s] = Some(local);
                queue.push_back(s);
            }
        }
        while let Some(i) = queue.pop_front() {
            for &j in self.edges(i) {
                if j != local && parent[j].is_none() {
                    parent[j] = Some(i);
                    queue.push_back(j);
                }
            }
        }
        Walk { local, parent }
    }
}

/// A fleet package of one lockfile, with its entry there and, computed when first asked and
/// then shared by the rules, what it reaches through its counted dependencies.
pub struct Member<'a> {
    pub package: &'a Package,
    /// Its entry in the lockfile (`None` without a lockfile, or when it has no entry there).
    pub local: Option<usize>,
    walk: std::cell::OnceCell<Walk>,
}

impl<'a> Member<'a> {
    pub fn new(lock: Option<&Lock>, package: &'a Package) -> Member<'a> {
        Member { package, local: lock.and_then(|l| l.local_index(package)), walk: Default::default() }
    }

    /// [`Lock::walk`] from this package's entry through its counted direct dependencies.
    pub fn walk(&self, l: &Lock, policy: &ManifestPolicy) -> Option<&Walk> {
        let local = self.local?;
        Some(self.walk.get_or_init(|| l.walk(local, &l.starts(policy, self.package, local))))
    }
}

/// What one package reaches in its lockfile.
pub struct Walk {
    local: usize,
    parent: Vec<Option<usize>>,
}

impl Walk {
    pub fn reaches(&self, j: usize) -> bool {
        self.parent[j].is_some()
    }

    /// The path from the package to `j`: its direct dependency first, `j` last.
    pub fn path(&self, j: usize) -> Vec<usize> {
        let mut out = vec![j];
        let mut at = j;
        while let Some(p) = self.parent[at] {
            if p == self.local || out.len() > self.parent.len() {
                break;
            }
            out.push(p);
            at = p;
        }
        out.reverse();
        out
    }

    /// The entry whose parent is `j`'s on its path (the direct dependency it comes through).
    pub fn parent(&self, j: usize) -> Option<usize> {
        self.parent[j]
    }
}
