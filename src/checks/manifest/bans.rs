//! `manifest/banned-crate`: the crates `[[manifest.ban]]` bans, found as direct dependencies in
//! each fleet package's `Cargo.toml` (renamed ones by their real name; the version is the one
//! the lockfile resolved, else the requirement's lower bound) and, unless the ban is
//! `direct_only`, transitively through the package's lockfile, with the shortest dependency
//! path in the message and as related locations. Dev- and build-dependencies count as the
//! policy says, at the first level of the walk. A ban's `allow` entries suppress the findings
//! of the services they select; expired and unused entries are findings of their own.

use super::cfg::{Ban, BanAllow};
use super::lock::{self, Lock};
use crate::checks::CheckCtx;
use crate::checks::advisories::{EXPIRED_EXCEPTION, UNUSED_EXCEPTION};
use crate::diag::{Finding, Location, Related, Sink, Span, Suppression, SuppressionKind};
use crate::registry;
use crate::versions;
use crate::workspace::{Dependency, Package};
use semver::Version;
use std::collections::{BTreeSet, HashMap};

pub const BANNED_CRATE: &str = "manifest/banned-crate";

/// One banned use found in one package, before the allow-lists.
pub struct Hit {
    finding: Finding,
    /// The banned crate's version (for keys of two versions in one file).
    version: String,
}

/// Whether the policy asks for this rule family (its lockfiles are read only then).
pub fn wanted(policy: &super::cfg::ManifestPolicy) -> bool {
    !policy.bans.is_empty()
}

/// Report the banned uses found per package (by [`hits`]), with the allow-lists applied.
pub fn report(ctx: &CheckCtx<'_>, per_package: Vec<(&Package, Vec<(usize, Hit)>)>, sink: &Sink) {
    let policy = &ctx.policy.manifest;
    if !wanted(policy) {
        return;
    }
    // Allow-lists: the first active entry selecting the package suppresses its finding.
    let active: Vec<Vec<bool>> = policy
        .bans
        .iter()
        .map(|b| b.allow.iter().map(|a| a.expires.is_none_or(|d| d >= ctx.now)).collect())
        .collect();
    let mut used: Vec<Vec<bool>> = policy.bans.iter().map(|b| vec![false; b.allow.len()]).collect();
    let mut hits: Vec<Hit> = Vec::new();
    for (p, ban_index, mut hit) in
        per_package.into_iter().flat_map(|(p, h)| h.into_iter().map(move |(b, h)| (p, b, h)))
    {
        let ban = &policy.bans[ban_index];
        let allowed =
            ban.allow.iter().enumerate().position(|(i, a)| active[ban_index][i] && a.selector.matches(p));
        if let Some(i) = allowed {
            used[ban_index][i] = true;
            hit.finding.suppression = Some(Suppression {
                kind: SuppressionKind::Policy,
                justification: ban.allow[i].reason.clone(),
            });
        }
        hits.push(hit);
    }
    disambiguate_keys(&mut hits);
    sink.extend(hits.into_iter().map(|h| h.finding));

    let policy_file = ctx.policy.rel_path.clone().unwrap_or_else(|| crate::config::FILE_NAME.to_string());
    for (b, ban) in policy.bans.iter().enumerate() {
        for (i, allow) in ban.allow.iter().enumerate() {
            let at = Location::new(policy_file.clone(), Span::line(allow.line));
            let key = format!("manifest.ban:{}:allow:{}", ban.name, selector_text(allow));
            if !active[b][i] {
                let expires = allow.expires.map(|d| d.to_string()).unwrap_or_default();
                sink.push(
                    Finding::new(
                        EXPIRED_EXCEPTION,
                        registry::severity(EXPIRED_EXCEPTION),
                        format!(
                            "the allow of banned crate {} for {} expired on {expires}: it no longer applies",
                            ban.name,
                            selector_text(allow)
                        ),
                        at,
                    )
                    .with_key(key)
                    .with_help("move off the crate, or renew the entry with a new `expires` and reason"),
                );
            } else if !used[b][i] {
                sink.push(
                    Finding::new(
                        UNUSED_EXCEPTION,
                        registry::severity(UNUSED_EXCEPTION),
                        format!(
                            "the allow of banned crate {} for {} matched no finding",
                            ban.name,
                            selector_text(allow)
                        ),
                        at,
                    )
                    .with_key(key)
                    .with_help("delete the entry"),
                );
            }
        }
    }
}

/// `billing, services/legacy-*`: the services an allow entry selects, as written.
fn selector_text(a: &BanAllow) -> String {
    let mut parts: Vec<&str> = a.selector.names.iter().map(String::as_str).collect();
    parts.extend(a.selector.paths.iter().map(|g| g.pattern.as_str()));
    parts.join(", ")
}

/// Whether `version` is one of the versions `ban` covers.
fn covers(ban: &Ban, version: &Version) -> bool {
    ban.versions.as_ref().is_none_or(|r| r.matches(version))
}

/// The banned uses of one package: (ban index, finding), one per ban and version.
pub fn hits(ctx: &CheckCtx<'_>, m: &lock::Member<'_>, lock: Option<&Lock>) -> Vec<(usize, Hit)> {
    let policy = &ctx.policy.manifest;
    let p = m.package;
    let local = lock.zip(m.local);
    let direct: Vec<(&Dependency, Option<usize>)> =
        lock::counted_deps(policy, p).map(|d| (d, local.and_then(|(l, i)| l.resolve(i, d)))).collect();
    let mut out = Vec::new();
    for (b, ban) in policy.bans.iter().enumerate() {
        let mut seen: BTreeSet<Version> = BTreeSet::new();
        for (d, entry) in direct.iter().filter(|(d, _)| d.package == ban.name) {
            let locked = local.zip(*entry).map(|((l, _), j)| l.version(j).clone());
            let Some(version) = locked.clone().or_else(|| d.req.as_deref().and_then(versions::lower_bound))
            else {
                // No version known: only a ban of every version applies.
                if ban.versions.is_none() && seen.is_empty() {
                    seen.insert(Version::new(0, 0, 0));
                    out.push((b, direct_hit(p, ban, d, None, String::new())));
                }
                continue;
            };
            if covers(ban, &version) && seen.insert(version.clone()) {
                let shown = match (&locked, d.req.as_deref()) {
                    (Some(v), _) => v.to_string(),
                    (None, Some(req)) => format!("\"{req}\""),
                    (None, None) => version.to_string(),
                };
                out.push((b, direct_hit(p, ban, d, Some(&shown), version.to_string())));
            }
        }
        if ban.direct_only {
            continue;
        }
        let Some((l, w)) = lock.and_then(|l| Some((l, m.walk(l, policy)?))) else { continue };
        let mut reached: Vec<usize> = (0..l.len())
            .filter(|&j| w.reaches(j) && l.name(j) == ban.name && covers(ban, l.version(j)))
            .collect();
        reached.sort_by(|&a, &c| l.version(a).cmp(l.version(c)));
        for j in reached {
            if seen.insert(l.version(j).clone()) {
                out.push((b, transitive_hit(p, ban, l, &w.path(j), &direct)));
            }
        }
    }
    out
}

fn ban_help(p: &Package, ban: &Ban, through: Option<&str>) -> String {
    let move_to = match (&ban.use_instead, through) {
        (Some(alt), None) => format!("use {alt} instead of {}", ban.name),
        (Some(alt), Some(dep)) => {
            format!("{} comes in through {dep}: move to {alt} (replace or reconfigure {dep})", ban.name)
        }
        (None, None) => format!("remove {}", ban.name),
        (None, Some(dep)) => format!("{} comes in through {dep}: replace or reconfigure {dep}", ban.name),
    };
    format!("{move_to}, or allow {} in the ban's `allow` list with a reason and an expiry date", p.name)
}

fn direct_hit(p: &Package, ban: &Ban, d: &Dependency, shown: Option<&str>, version: String) -> Hit {
    let what = match shown {
        Some(v) => format!("{} {v}", ban.name),
        None => ban.name.clone(),
    };
    let renamed = if d.name != d.package { format!(" (as `{}`)", d.name) } else { String::new() };
    let message = format!("{} depends on banned crate {what}{renamed}: {}", p.name, ban.reason);
    let finding = Finding::new(
        BANNED_CRATE,
        registry::severity(BANNED_CRATE),
        message,
        Location::new(p.manifest.clone(), d.key.span()),
    )
    .with_key(format!("ban:{}:{}", ban.name, p.name))
    .with_services(vec![p.name.clone()])
    .with_help(ban_help(p, ban, None));
    Hit { finding, version }
}

fn transitive_hit(
    p: &Package,
    ban: &Ban,
    l: &Lock,
    path: &[usize],
    direct: &[(&Dependency, Option<usize>)],
) -> Hit {
    let target = *path.last().expect("a path ends at the banned entry");
    let first = path[0];
    let mut chain = vec![p.name.clone()];
    chain.extend(path.iter().map(|&j| l.label(j)));
    let message = format!(
        "{} depends on banned crate {} through {}: {}",
        p.name,
        l.label(target),
        chain.join(" -> "),
        ban.reason
    );
    let line = l.line(target);
    let mut related = Vec::new();
    if let Some((d, _)) = direct.iter().find(|(_, e)| *e == Some(first)) {
        related.push(Related {
            location: Location::new(p.manifest.clone(), d.key.span()),
            message: format!("{} depends on {}", p.name, l.label(first)),
        });
    }
    for (k, &j) in path.iter().enumerate() {
        let message = match path.get(k + 1) {
            Some(&next) => format!("{} depends on {}", l.label(j), l.label(next)),
            None => format!("{} is banned", l.label(j)),
        };
        related.push(Related { location: Location::new(l.rel.clone(), Span::line(l.line(j))), message });
    }
    let finding = Finding::new(
        BANNED_CRATE,
        registry::severity(BANNED_CRATE),
        message,
        Location::new(
            l.rel.clone(),
            Span { line, column: 1, end_line: line, end_column: 8 + l.name(target).len() as u32 + 2 },
        ),
    )
    .with_key(format!("ban:{}:{}", ban.name, p.name))
    .with_services(vec![p.name.clone()])
    .with_related(related)
    .with_help(ban_help(p, ban, (path.len() > 1).then(|| l.name(first))));
    Hit { finding, version: l.version(target).to_string() }
}

/// Two versions of a banned crate in one file would share a key (and a fingerprint): add the
/// compatible line (`@0.10`, `@1`) to those.
fn disambiguate_keys(hits: &mut [Hit]) {
    let mut count: HashMap<(String, String), usize> = HashMap::new();
    for h in hits.iter() {
        *count.entry((h.finding.location.file.clone(), h.finding.key.clone())).or_default() += 1;
    }
    for h in hits.iter_mut() {
        if count[&(h.finding.location.file.clone(), h.finding.key.clone())] > 1
            && let Ok(v) = Version::parse(&h.version)
        {
            h.finding.key =
                format!("{}@{}", h.finding.key, versions::class_text(&versions::compat_class(&v)));
        }
    }
}
