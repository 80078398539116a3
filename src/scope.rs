//! Which packages a run checks: all of them, those a change touches (`--changed-since`,
//! `--staged`), or one shard of the fleet (`--shard K/N`).
//!
//! A change selects the package that owns each changed file (a rename selects the old and the
//! new owner, a deletion the owner the file had) and every package that depends on it through
//! path dependencies, transitively: a change to a shared library re-checks all its dependents.
//! A changed workspace manifest selects its members; the policy file, everything. A changed
//! lockfile is compared with its earlier version: only the packages whose resolved dependency
//! set (name, version, source of every crate they reach) differs are selected, with the change
//! named; when either version does not parse, all of its packages.
//!
//! A shard is a deterministic, work-balanced slice: packages weighed by the bytes of their
//! files (plus a constant per package), heaviest first, each to the lightest shard so far
//! (ties to the lower shard, packages ordered by path). Every shard reports the fleet-level
//! findings (policy, database) and the findings of its packages exactly as a full run would,
//! so `fleetward merge` only has to drop duplicates; the one thing a slice cannot know is
//! whether an exception matched nothing anywhere, so each shard reports
//! `fleetward/unused-exception` as it sees it and the merge keeps those every shard reported.

use crate::diag::Finding;
use crate::git::Change;
use crate::workspace::{DepSource, Fleet};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Findings of this rule depend on what the run covered (see the module docs).
pub const SCOPE_DEPENDENT: &[&str] = &[crate::checks::advisories::UNUSED_EXCEPTION];

/// What the user asked for, before the fleet is known.
#[derive(Debug, Clone)]
pub enum Request {
    /// Files changed since the merge base of `reference` (or staged), with the earlier text
    /// of each changed lockfile (to tell which packages' dependencies changed).
    Changes {
        mode: Mode,
        changes: Vec<Change>,
        old_lockfiles: BTreeMap<String, String>,
    },
    Shard {
        index: u32,
        count: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Mode {
    ChangedSince {
        #[serde(rename = "ref")]
        reference: String,
        merge_base: String,
    },
    Staged,
    Shard {
        index: u32,
        count: u32,
    },
}

/// A resolved selection.
#[derive(Debug, Clone)]
pub struct Scope {
    pub mode: Mode,
    /// Per package of the fleet: checked in this run.
    pub selected: Vec<bool>,
    /// Why each selected package is (package index -> reasons, sorted).
    pub reasons: BTreeMap<usize, BTreeSet<String>>,
    /// Changed files owned by no package (their own findings are reported).
    pub loose_files: HashSet<String>,
    /// How many paths the change named.
    pub changed_files: usize,
}

/// What the reports say about a scoped run (JSON `selection`, SARIF run properties, the human
/// report's first lines).
#[derive(Debug, Clone, Serialize)]
pub struct Selected {
    #[serde(flatten)]
    pub mode: Mode,
    /// Paths the change named (changed-since and staged runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_files: Option<usize>,
    pub packages_checked: usize,
    pub packages_total: usize,
    pub packages: Vec<Picked>,
}

/// One selected package as the reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct Picked {
    pub name: String,
    pub path: String,
    pub why: Vec<String>,
}

impl Scope {
    pub fn resolve(fleet: &Fleet, policy_file: Option<&str>, request: &Request) -> Scope {
        match request {
            Request::Changes { mode, changes, old_lockfiles } => {
                from_changes(fleet, policy_file, mode.clone(), changes, old_lockfiles)
            }
            Request::Shard { index, count } => shard(fleet, *index, *count),
        }
    }

    pub fn is_shard(&self) -> bool {
        matches!(self.mode, Mode::Shard { .. })
    }

    /// Whether the checks should look at a file owned by package `owner` (`None`: by none).
    pub fn wants_file(&self, owner: Option<usize>, rel: &str) -> bool {
        match owner {
            Some(i) => self.selected.get(i).copied().unwrap_or(false),
            None => self.is_shard() || self.loose_files.contains(rel),
        }
    }

    pub fn wants_package(&self, i: usize) -> bool {
        self.selected.get(i).copied().unwrap_or(false)
    }

    /// Whether a finding of a full run belongs in this run's report.
    pub fn keeps(&self, fleet: &Fleet, policy_file: Option<&str>, f: &Finding) -> bool {
        if SCOPE_DEPENDENT.contains(&f.rule.as_str()) {
            return self.is_shard();
        }
        // The policy's public entries are judged over the whole fleet, by the first shard only
        // (`checks::auth::check`); a change run cannot judge them.
        if f.rule == crate::checks::auth::STALE && Some(f.location.file.as_str()) == policy_file {
            return matches!(self.mode, Mode::Shard { index: 1, .. });
        }
        if !f.services.is_empty() {
            return fleet
                .packages
                .iter()
                .enumerate()
                .any(|(i, p)| self.selected[i] && f.services.contains(&p.name));
        }
        if Some(f.location.file.as_str()) == policy_file {
            return true;
        }
        match crate::checks::source::owner(fleet, &f.location.file) {
            Some(i) => self.selected[i],
            // Fleet-level: the database, lockfiles' own problems, loose files.
            None => true,
        }
    }

    /// Whether this run looked for the findings located in `rel` (a baseline entry the run did
    /// not find is reported absent only then): a shard reports every entry it did not find
    /// (`fleetward merge` keeps those every shard reported); a change run, the entries of the
    /// policy, of a lockfile one of its selected packages uses, and of the files of selected
    /// packages or of none.
    pub fn covers(&self, fleet: &Fleet, policy_file: Option<&str>, rel: &str) -> bool {
        if self.is_shard() || Some(rel) == policy_file || self.loose_files.contains(rel) {
            return true;
        }
        if fleet.lockfiles.iter().any(|l| l == rel) {
            let mut users =
                fleet.packages.iter().enumerate().filter(|(_, p)| p.lockfile.as_deref() == Some(rel));
            let mut any = false;
            let hit = users.any(|(i, _)| {
                any = true;
                self.selected[i]
            });
            return hit || !any;
        }
        crate::checks::source::owner(fleet, rel).is_none_or(|i| self.selected[i])
    }

    /// The selected packages with their reasons, by path.
    pub fn picked(&self, fleet: &Fleet) -> Vec<Picked> {
        let mut v: Vec<Picked> = fleet
            .packages
            .iter()
            .enumerate()
            .filter(|(i, _)| self.selected[*i])
            .map(|(i, p)| Picked {
                name: p.name.clone(),
                path: p.dir.clone(),
                why: self.reasons.get(&i).map(shorten).unwrap_or_default(),
            })
            .collect();
        v.sort_by(|a, b| (&a.path, &a.name).cmp(&(&b.path, &b.name)));
        v
    }

    pub fn count(&self) -> usize {
        self.selected.iter().filter(|s| **s).count()
    }

    pub fn view(&self, fleet: &Fleet) -> Selected {
        Selected {
            mode: self.mode.clone(),
            changed_files: (!self.is_shard()).then_some(self.changed_files),
            packages_checked: self.count(),
            packages_total: fleet.packages.len(),
            packages: self.picked(fleet),
        }
    }

    /// SARIF `automationDetails.id`: a shard has its own category, so that shards uploaded
    /// separately never replace each other; a change run keeps the full run's (`fleetward/all/`),
    /// which is what code scanning compares a pull request's analysis with.
    pub fn automation_id(&self) -> String {
        match &self.mode {
            Mode::Shard { index, count } => format!("fleetward/shard-{index}-of-{count}/"),
            Mode::ChangedSince { .. } | Mode::Staged => "fleetward/all/".to_string(),
        }
    }
}

/// At most four reasons, the direct ones (a file of the package changed) first.
fn shorten(reasons: &BTreeSet<String>) -> Vec<String> {
    let mut all: Vec<String> = reasons.iter().cloned().collect();
    all.sort_by_key(|s| s.starts_with("depends on"));
    if all.len() > 4 {
        let more = all.len() - 3;
        all.truncate(3);
        all.push(format!("and {more} more"));
    }
    all
}

fn from_changes(
    fleet: &Fleet,
    policy_file: Option<&str>,
    mode: Mode,
    changes: &[Change],
    old_lockfiles: &BTreeMap<String, String>,
) -> Scope {
    let n = fleet.packages.len();
    let mut reasons: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut loose_files = HashSet::new();
    // Packages with a changed file of their own: their dependents are re-checked too (a
    // lockfile or workspace manifest governs its own packages only).
    let mut sources_changed = BTreeSet::new();
    let mut add = |i: usize, why: String| {
        reasons.entry(i).or_default().insert(why);
    };
    let mut paths: Vec<(&str, String)> = Vec::new();
    for c in changes {
        let verb = match (c.status, &c.from) {
            ('A' | 'U', _) => "added".to_string(),
            ('D', _) => "deleted".to_string(),
            ('R', Some(from)) => format!("renamed from {from}"),
            ('C', Some(from)) => format!("copied from {from}"),
            _ => "changed".to_string(),
        };
        paths.push((c.path.as_str(), verb));
        if let (Some(from), 'R') = (&c.from, c.status) {
            paths.push((from.as_str(), format!("renamed to {}", c.path)));
        }
    }
    for (path, verb) in paths {
        if Some(path) == policy_file {
            for i in 0..n {
                add(i, format!("the policy {path} {verb}"));
            }
            continue;
        }
        if fleet.lockfiles.iter().any(|l| l == path) {
            // Only the packages whose resolved dependencies differ, when both versions parse.
            let new = std::fs::read_to_string(fleet.root.join(path)).ok();
            let diff = old_lockfiles
                .get(path)
                .zip(new.as_deref())
                .and_then(|(old, new)| lock_diff(fleet, path, old, new));
            for (i, p) in fleet.packages.iter().enumerate() {
                if p.lockfile.as_deref() != Some(path) {
                    continue;
                }
                match &diff {
                    Some(d) => match d.get(&i).map(String::as_str) {
                        Some("changed") => add(i, format!("{path} {verb}")),
                        Some(what) => add(i, format!("{path}: {what}")),
                        None => {}
                    },
                    None => add(i, format!("{path} {verb}")),
                }
            }
            continue;
        }
        if let Some(ws) = fleet.workspaces.iter().find(|w| w.manifest == path && w.is_virtual) {
            for &i in &ws.members {
                add(i, format!("workspace manifest {path} {verb}"));
            }
            continue;
        }
        match crate::checks::source::owner(fleet, path) {
            Some(i) => {
                // A workspace root that is also a package: its `[workspace]` governs the members.
                if fleet.packages[i].manifest == path
                    && let Some(ws) = fleet.workspaces.iter().find(|w| w.manifest == path)
                {
                    for &m in &ws.members {
                        if m != i {
                            add(m, format!("workspace manifest {path} {verb}"));
                        }
                    }
                }
                add(i, format!("{path} {verb}"));
                sources_changed.insert(i);
            }
            None => {
                loose_files.insert(path.to_string());
            }
        }
    }
    // Dependents of everything selected so far, through path dependencies (a package selected
    // for its own changes is not also said to depend on another).
    let dependents = dependents(fleet);
    let direct: BTreeSet<usize> = reasons.keys().copied().collect();
    let mut queue: Vec<usize> = sources_changed.iter().copied().collect();
    while let Some(i) = queue.pop() {
        for &d in &dependents[i] {
            if direct.contains(&d) {
                continue;
            }
            let fresh = !reasons.contains_key(&d);
            reasons.entry(d).or_default().insert(format!("depends on {}", fleet.packages[i].name));
            if fresh {
                queue.push(d);
            }
        }
    }
    let mut selected = vec![false; n];
    for &i in reasons.keys() {
        selected[i] = true;
    }
    Scope { mode, selected, reasons, loose_files, changed_files: changes.len() }
}

/// For the packages of `lockfile`, what changed in the dependencies each one resolves to
/// between two versions of the lockfile (`None` when either does not parse): a package is in
/// the map only if the set of crates (name, version, source) it reaches changed.
fn lock_diff(fleet: &Fleet, lockfile: &str, old: &str, new: &str) -> Option<BTreeMap<usize, String>> {
    use crate::checks::advisories::Graph;
    use crate::checks::advisories::lockfile::{LockPackage, parse};
    let (old, new) = (parse(old).ok()?, parse(new).ok()?);
    let (old_graph, new_graph) = (Graph::new(&old), Graph::new(&new));
    // Every crate a package reaches, itself excluded, as (name, "version source").
    let reach = |lock: &[LockPackage], graph: &Graph<'_>, p: &crate::workspace::Package| {
        let start = graph.local_index(p)?;
        let seen = graph.reachable_from(start);
        Some(
            lock.iter()
                .enumerate()
                .filter(|&(i, _)| seen[i] && i != start)
                .map(|(_, l)| {
                    let source = l.package.source.as_ref().map(|s| s.to_string()).unwrap_or_default();
                    (l.package.name.as_str().to_string(), format!("{} {source}", l.package.version))
                })
                .collect::<BTreeSet<(String, String)>>(),
        )
    };
    let mut out = BTreeMap::new();
    for (i, p) in fleet.packages.iter().enumerate() {
        if p.lockfile.as_deref() != Some(lockfile) {
            continue;
        }
        let (a, b) = match (reach(&old, &old_graph, p), reach(&new, &new_graph, p)) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => {
                out.insert(i, "changed".to_string());
                continue;
            }
            (None, Some(_)) => {
                out.insert(i, format!("{} added", p.name));
                continue;
            }
            (Some(_), None) => {
                out.insert(i, format!("{} removed", p.name));
                continue;
            }
        };
        if a == b {
            continue;
        }
        // Name the changes: `name old -> new`, `+name new`, `-name old`.
        let version = |s: &str| s.split(' ').next().unwrap_or("").to_string();
        let mut names: BTreeMap<&str, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for (n, v) in a.difference(&b) {
            names.entry(n).or_default().0.push(version(v));
        }
        for (n, v) in b.difference(&a) {
            names.entry(n).or_default().1.push(version(v));
        }
        let parts: Vec<String> = names
            .iter()
            .map(|(n, (gone, came))| match (gone.is_empty(), came.is_empty()) {
                (false, false) => format!("{n} {} -> {}", gone.join(", "), came.join(", ")),
                (true, _) => format!("+{n} {}", came.join(", ")),
                (_, true) => format!("-{n} {}", gone.join(", ")),
            })
            .collect();
        let shown = parts.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        let more = if parts.len() > 3 { format!(" and {} more", parts.len() - 3) } else { String::new() };
        out.insert(i, format!("{shown}{more}"));
    }
    Some(out)
}

/// For each package, the packages that depend on it through a path dependency.
pub fn dependents(fleet: &Fleet) -> Vec<Vec<usize>> {
    let by_dir: std::collections::HashMap<&str, usize> =
        fleet.packages.iter().enumerate().map(|(i, p)| (p.dir.as_str(), i)).collect();
    let mut out = vec![Vec::new(); fleet.packages.len()];
    for (i, p) in fleet.packages.iter().enumerate() {
        for d in &p.dependencies {
            if let DepSource::Path { path } = &d.source
                && let Some(&j) = by_dir.get(path.trim_end_matches('/'))
                && j != i
                && !out[j].contains(&i)
            {
                out[j].push(i);
            }
        }
    }
    out
}

/// `selected` and every package they depend on through path dependencies, transitively (the
/// files a check of the selected packages may read: re-exports, routers built in a library).
pub fn with_dependencies(fleet: &Fleet, selected: &[bool]) -> Vec<bool> {
    let dependents = dependents(fleet);
    let mut deps = vec![Vec::new(); fleet.packages.len()];
    for (lib, users) in dependents.iter().enumerate() {
        for &u in users {
            deps[u].push(lib);
        }
    }
    let mut out = selected.to_vec();
    let mut queue: Vec<usize> = (0..out.len()).filter(|&i| out[i]).collect();
    while let Some(i) = queue.pop() {
        for &d in &deps[i] {
            if !out[d] {
                out[d] = true;
                queue.push(d);
            }
        }
    }
    out
}

/// The packages of shard `index` (1-based) of `count`.
fn shard(fleet: &Fleet, index: u32, count: u32) -> Scope {
    let n = fleet.packages.len();
    let mut weight = vec![4096u64; n];
    for rel in fleet.rust_files.iter().chain(&fleet.text_files) {
        if let Some(i) = crate::checks::source::owner(fleet, rel) {
            let size = std::fs::metadata(fleet.root.join(rel)).map_or(0, |m| m.len());
            weight[i] += size + 512;
        }
    }
    let assignment = balance(&weight, |i| &fleet.packages[i].dir, count as usize);
    let mut selected = vec![false; n];
    let mut reasons = BTreeMap::new();
    for i in 0..n {
        if assignment[i] + 1 == index as usize {
            selected[i] = true;
            reasons.insert(i, BTreeSet::from([format!("shard {index} of {count}")]));
        }
    }
    Scope {
        mode: Mode::Shard { index, count },
        selected,
        reasons,
        loose_files: HashSet::new(),
        changed_files: 0,
    }
}

/// Longest-processing-time-first: heaviest package first (ties by `key`), each to the shard with
/// the least work so far (ties to the lower shard). Returns each package's 0-based shard.
pub fn balance<'a>(weight: &[u64], key: impl Fn(usize) -> &'a str, count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..weight.len()).collect();
    order.sort_by(|&a, &b| weight[b].cmp(&weight[a]).then_with(|| key(a).cmp(key(b))).then(a.cmp(&b)));
    let mut load = vec![0u64; count.max(1)];
    let mut out = vec![0; weight.len()];
    for i in order {
        let (s, _) = load.iter().enumerate().min_by_key(|(s, l)| (**l, *s)).expect("one shard at least");
        load[s] += weight[i];
        out[i] = s;
    }
    out
}

/// Parse `K/N` (1 <= K <= N).
pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not K/N (e.g. 2/4)"))?;
    let k: u32 = k.trim().parse().map_err(|_| format!("`{k}` in `{s}` is not a shard number"))?;
    let n: u32 = n.trim().parse().map_err(|_| format!("`{n}` in `{s}` is not a shard count"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard `{s}`: K must be between 1 and N, and N at least 1"));
    }
    if n > 256 {
        return Err(format!("shard `{s}`: at most 256 shards"));
    }
    Ok((k, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_syntax() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        assert_eq!(parse_shard("1/1"), Ok((1, 1)));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "1/999"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn balance_is_by_work_and_deterministic() {
        // One heavy package and four light ones over two shards: the heavy one alone.
        let w = [100, 10, 10, 10, 10];
        let keys = ["a", "b", "c", "d", "e"];
        let s = balance(&w, |i| keys[i], 2);
        assert_eq!(s, vec![0, 1, 1, 1, 1]);
        // Equal weights: round-robin in key order.
        let s = balance(&[5, 5, 5, 5], |i| keys[i], 3);
        assert_eq!(s, vec![0, 1, 2, 0]);
        // More shards than packages: the rest are empty.
        assert_eq!(balance(&[1], |i| keys[i], 3), vec![0]);
    }
}
