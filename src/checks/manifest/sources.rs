//! `manifest/disallowed-registry`, `manifest/disallowed-git-source`, `manifest/git-without-rev`,
//! `manifest/path-outside-repository` and `manifest/wildcard-requirement`: where each declared
//! dependency comes from (`[manifest.sources]`).
//!
//! A dependency inherited with `foo.workspace = true` is declared by its workspace root's
//! `[workspace.dependencies]` entry: it is reported once, at that entry, with every package
//! that uses it (and for which its kind counts) as services.

use super::cfg::Sources;
use crate::checks::CheckCtx;
use crate::diag::{Finding, Location, Related, Sink, Span};
use crate::registry;
use crate::workspace::{DepKind, DepSource, Dependency, Fleet, Package};
use std::collections::{BTreeMap, BTreeSet};

pub const DISALLOWED_REGISTRY: &str = "manifest/disallowed-registry";
pub const DISALLOWED_GIT_SOURCE: &str = "manifest/disallowed-git-source";
pub const GIT_WITHOUT_REV: &str = "manifest/git-without-rev";
pub const PATH_OUTSIDE_REPOSITORY: &str = "manifest/path-outside-repository";
pub const WILDCARD_REQUIREMENT: &str = "manifest/wildcard-requirement";

/// One problem with one dependency entry, before the services are gathered.
struct Problem {
    rule: &'static str,
    message: String,
    key: String,
    help: String,
}

/// One finding before the packages it concerns are gathered.
pub(super) struct Item<'a> {
    pub rule: &'static str,
    pub file: &'a str,
    pub span: Span,
    pub message: String,
    pub key: String,
    pub help: String,
    /// The package concerned.
    pub service: &'a str,
    /// Where that package takes the value from the finding's place (an inheriting member's
    /// `workspace = true` line), when it is another file.
    pub related: Option<(&'a str, Span, String)>,
}

/// (rule, file, span, message): what makes two packages' findings one.
type Place = (&'static str, String, Span, String);

/// What the packages of one [`Place`] add up to.
struct Gathered {
    key: String,
    help: String,
    services: BTreeSet<String>,
    related: BTreeSet<(String, Span, String)>,
}

/// Findings gathered by place and text: the services of one entry inherited by many packages
/// are united, each inheriting package a related location.
#[derive(Default)]
pub(super) struct Grouped {
    map: BTreeMap<Place, Gathered>,
}

impl Grouped {
    pub(super) fn add(&mut self, item: Item<'_>) {
        let entry = self
            .map
            .entry((item.rule, item.file.to_string(), item.span, item.message))
            .or_insert_with(|| Gathered {
                key: item.key,
                help: item.help,
                services: BTreeSet::new(),
                related: BTreeSet::new(),
            });
        entry.services.insert(item.service.to_string());
        if let Some((file, span, message)) = item.related {
            entry.related.insert((file.to_string(), span, message));
        }
    }

    pub(super) fn emit(self, sink: &Sink) {
        for ((rule, file, span, message), Gathered { key, help, services, related }) in self.map {
            let severity = registry::severity(rule);
            let related = related
                .into_iter()
                .map(|(file, span, message)| Related { location: Location::new(file, span), message })
                .collect();
            sink.push(
                Finding::new(rule, severity, message, Location::new(file, span))
                    .with_key(key)
                    .with_services(services.into_iter().collect())
                    .with_related(related)
                    .with_help(help),
            );
        }
    }
}

pub fn check(ctx: &CheckCtx<'_>, sink: &Sink) {
    let policy = &ctx.policy.manifest;
    let mut out = Grouped::default();
    for p in ctx.fleet.packages.iter().filter(|p| !policy.skips(p)) {
        for d in p.dependencies.iter().filter(|d| super::lock::counts(policy, d.kind)) {
            let Some((file, span, inherited)) = place(ctx.fleet, p, d) else { continue };
            for problem in problems(&policy.sources, d, inherited) {
                let related = inherited.then(|| {
                    (p.manifest.as_str(), d.key.span(), format!("`{}` inherits `{}`", p.name, d.name))
                });
                out.add(Item {
                    rule: problem.rule,
                    file,
                    span: span.clone(),
                    message: problem.message,
                    key: problem.key,
                    help: problem.help,
                    service: &p.name,
                    related,
                });
            }
        }
    }
    out.emit(sink);
}

/// Where dependency `d` of `p` is declared: its entry in `p`'s manifest, or, inherited, its
/// workspace root's `[workspace.dependencies]` entry (`true`). `None` when the inherited entry
/// does not exist (a `fleetward/parse-error` already says so).
fn place<'f>(fleet: &'f Fleet, p: &'f Package, d: &Dependency) -> Option<(&'f str, Span, bool)> {
    if !d.workspace_inherited {
        return Some((p.manifest.as_str(), d.key.span(), false));
    }
    let (root, settings) = fleet.inherits_from(p)?;
    let spot = settings.workspace_deps.get(&d.name)?;
    Some((root, spot.span(), true))
}

/// `` `name` `` or `` `name` (crate `real`) `` for a renamed dependency.
fn label(d: &Dependency) -> String {
    if d.name == d.package {
        format!("`{}`", d.name)
    } else {
        format!("`{}` (crate `{}`)", d.name, d.package)
    }
}

/// A line-independent identity of an entry: where it sits (kind and target) and its name. An
/// inherited entry is one per root manifest.
fn entry_key(d: &Dependency, inherited: bool, what: &str) -> String {
    if inherited {
        return format!("workspace.dependencies.{}:{what}", d.name);
    }
    let kind = match d.kind {
        DepKind::Normal => "dependencies",
        DepKind::Dev => "dev-dependencies",
        DepKind::Build => "build-dependencies",
    };
    match &d.target {
        Some(t) => format!("target.{t}.{kind}.{}:{what}", d.name),
        None => format!("{kind}.{}:{what}", d.name),
    }
}

fn problems(s: &Sources, d: &Dependency, inherited: bool) -> Vec<Problem> {
    let mut out = Vec::new();
    let dep = label(d);
    match &d.source {
        DepSource::Registry { registry } => {
            let name = registry.as_deref().unwrap_or("crates-io");
            if let Some(allowed) = &s.registries
                && !allowed.iter().any(|a| a == name)
            {
                out.push(Problem {
                    rule: DISALLOWED_REGISTRY,
                    message: format!(
                        "{dep} comes from registry `{name}`, which the policy does not allow (allowed: {})",
                        list(allowed)
                    ),
                    key: entry_key(d, inherited, &format!("registry:{name}")),
                    help: "take the crate from an allowed registry, or add the registry to `[manifest.sources] registries`"
                        .into(),
                });
            }
            if s.wildcard && is_wildcard(d.req.as_deref()) {
                out.push(wildcard(d, &dep, inherited));
            }
        }
        DepSource::Git { url, rev, branch, tag } => {
            if let Some(allowed) = &s.git_hosts
                && !allowed.iter().any(|a| git_allowed(url, a))
            {
                let host = parse_git_url(url)
                    .map_or_else(|| "an unknown host".to_string(), |(h, _)| format!("`{h}`"));
                out.push(Problem {
                    rule: DISALLOWED_GIT_SOURCE,
                    message: format!(
                        "{dep} comes from git repository `{url}` on {host}, which the policy does not allow (allowed: {})",
                        list(allowed)
                    ),
                    key: entry_key(d, inherited, &format!("git:{url}")),
                    help: "take the crate from an allowed git host or a registry, or add the host to `[manifest.sources] git_hosts`"
                        .into(),
                });
            }
            if s.require_git_rev
                && let Some(message) = unpinned(&dep, url, rev.as_deref(), branch.as_deref(), tag.as_deref())
            {
                out.push(Problem {
                    rule: GIT_WITHOUT_REV,
                    message,
                    key: entry_key(d, inherited, "git-rev"),
                    help: "pin the commit the lockfile resolved: `rev = \"<40-hex commit>\"`".into(),
                });
            }
            if s.wildcard && is_wildcard(d.req.as_deref()) && d.req.is_some() {
                out.push(wildcard(d, &dep, inherited));
            }
        }
        DepSource::Path { path } => {
            if s.path_outside_repository && leaves_root(path) {
                out.push(Problem {
                    rule: PATH_OUTSIDE_REPOSITORY,
                    message: format!(
                        "{dep} is a path dependency on `{path}`, outside the repository: what it builds is not reviewed nor checked with it"
                    ),
                    key: entry_key(d, inherited, &format!("path:{path}")),
                    help: "move the crate into the repository, or depend on a published or git version of it".into(),
                });
            }
        }
    }
    out
}

fn wildcard(d: &Dependency, dep: &str, inherited: bool) -> Problem {
    let message = match d.req.as_deref() {
        Some(_) => format!("{dep} is required as `*`: any version of it may be built"),
        None => format!("{dep} has no version requirement: cargo takes it as `*`, any version"),
    };
    Problem {
        rule: WILDCARD_REQUIREMENT,
        message,
        key: entry_key(d, inherited, "wildcard"),
        help: "require the version you build and test with, like `version = \"1.0\"`".into(),
    }
}

/// `*` (or no requirement at all).
fn is_wildcard(req: Option<&str>) -> bool {
    req.is_none_or(|r| r.trim() == "*")
}

/// `` `a`, `b` ``.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

/// Whether a path dependency's path (relative to the root once normalised, or as written when
/// it leaves the root) leaves the scanned root: `workspace::load` keeps only those as written,
/// so they are the absolute ones and those with a `..` component.
fn leaves_root(path: &str) -> bool {
    path.starts_with('/')
        || path.starts_with('\\')
        || path.get(1..2) == Some(":")
        || path.split(['/', '\\']).any(|c| c == "..")
}

/// Why a git dependency is not pinned to a commit, if it is not: a branch, the default branch,
/// a tag (movable), or a `rev` that is a ref name rather than a commit hash.
fn unpinned(
    dep: &str,
    url: &str,
    rev: Option<&str>,
    branch: Option<&str>,
    tag: Option<&str>,
) -> Option<String> {
    if let Some(rev) = rev {
        let hex = rev.len() >= 7 && rev.len() <= 64 && rev.chars().all(|c| c.is_ascii_hexdigit());
        return (!hex).then(|| {
            format!("{dep} is pinned to `rev = \"{rev}\"` of `{url}`, a ref name rather than a commit hash: it can move")
        });
    }
    Some(match (branch, tag) {
        (Some(b), _) => {
            format!("{dep} follows branch `{b}` of `{url}`: each lockfile update may build other code")
        }
        (None, Some(t)) => {
            format!("{dep} is pinned to tag `{t}` of `{url}`: a tag can be moved to other code")
        }
        (None, None) => {
            format!("{dep} follows the default branch of `{url}`: each lockfile update may build other code")
        }
    })
}

/// The host (lowercased) and path (no leading or trailing `/`, no `.git`) of a git URL:
/// `https://host/org/repo`, `ssh://git@host:22/org/repo`, `git@host:org/repo`,
/// `git+https://...`, or a bare `host/org` policy entry.
pub(super) fn parse_git_url(url: &str) -> Option<(String, String)> {
    let url = url.trim();
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let (host_part, path) = if let Some((_, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        // a port (`host:22`); an IPv6 literal keeps its brackets
        let host = match host.rsplit_once(':') {
            Some((h, port))
                if !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') =>
            {
                h
            }
            _ => host,
        };
        (host, path)
    } else {
        let slash = url.find('/').unwrap_or(url.len());
        match url[..slash].find(':') {
            // scp-like `user@host:org/repo`
            Some(colon) => {
                let authority = &url[..colon];
                (authority.rsplit_once('@').map_or(authority, |(_, h)| h), &url[colon + 1..])
            }
            None => {
                let (h, p) = url.split_once('/').unwrap_or((url, ""));
                (h.rsplit_once('@').map_or(h, |(_, h)| h), p)
            }
        }
    };
    if host_part.is_empty() {
        return None;
    }
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path).trim_end_matches('/');
    Some((host_part.to_ascii_lowercase(), path.to_string()))
}

/// Whether `url` is under the policy entry `allowed` (`host` or `host/org...`): same host
/// (ignoring case), and the entry's path a prefix of the URL's on `/` boundaries.
pub(super) fn git_allowed(url: &str, allowed: &str) -> bool {
    let (Some((host, path)), Some((a_host, a_path))) = (parse_git_url(url), parse_git_url(allowed)) else {
        return false;
    };
    host == a_host
        && (a_path.is_empty()
            || path == a_path
            || path.strip_prefix(&a_path).is_some_and(|r| r.starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_in_every_form() {
        let want = Some(("github.com".to_string(), "acme/repo".to_string()));
        for url in [
            "https://github.com/acme/repo",
            "https://github.com/acme/repo.git",
            "https://GitHub.com/acme/repo/",
            "ssh://git@github.com/acme/repo.git",
            "ssh://git@github.com:22/acme/repo",
            "git@github.com:acme/repo.git",
            "git+https://github.com/acme/repo?branch=x#abc",
            "github.com/acme/repo",
        ] {
            assert_eq!(parse_git_url(url), want, "{url}");
        }
        assert_eq!(parse_git_url("file:///srv/git/x"), None);
    }

    #[test]
    fn hosts_and_prefixes_on_segment_boundaries() {
        assert!(git_allowed("https://github.com/acme/repo", "github.com"));
        assert!(git_allowed("git@GITHUB.com:acme/repo", "github.com/acme"));
        assert!(git_allowed("ssh://git@github.com/acme/sub/repo", "github.com/acme/sub"));
        assert!(!git_allowed("https://github.com/acme-evil/repo", "github.com/acme"));
        assert!(!git_allowed("https://github.com/Acme/repo", "github.com/acme"));
        assert!(!git_allowed("https://github.com.evil.io/acme/repo", "github.com"));
        assert!(!git_allowed("https://evil.io/github.com/acme", "github.com"));
        assert!(!git_allowed("file:///srv/acme", "github.com"));
        assert!(git_allowed("https://git.corp.example:8443/team/x.git", "git.corp.example/team"));
    }

    #[test]
    fn pinning_and_paths() {
        let u = "https://x/y";
        assert_eq!(unpinned("`a`", u, Some("0123abcd"), None, None), None);
        assert!(unpinned("`a`", u, Some("main"), None, None).is_some_and(|m| m.contains("ref name")));
        assert!(unpinned("`a`", u, None, Some("dev"), None).is_some_and(|m| m.contains("branch `dev`")));
        assert!(unpinned("`a`", u, None, None, Some("v1")).is_some_and(|m| m.contains("tag `v1`")));
        assert!(unpinned("`a`", u, None, None, None).is_some_and(|m| m.contains("default branch")));
        assert!(leaves_root("../../outside") && leaves_root("/opt/x") && leaves_root("C:\\x"));
        assert!(!leaves_root("libs/core") && !leaves_root("."));
        assert!(is_wildcard(Some(" * ")) && is_wildcard(None) && !is_wildcard(Some("1.*")));
    }
}
