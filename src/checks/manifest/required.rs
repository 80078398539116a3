//! `manifest/missing-required-crate`: a service that does not depend directly on a crate the
//! policy requires of it (`[[manifest.required]]`), or only on versions outside the range.

use super::cfg::RequiredCrate;
use super::lock::{self, Lock};
use crate::checks::CheckCtx;
use crate::diag::{Finding, Location, Span};
use crate::registry;
use crate::versions;
use crate::workspace::PackageKind;

pub const MISSING_REQUIRED: &str = "manifest/missing-required-crate";

/// The `[[manifest.required]]` entries package `p` breaks (services only).
pub fn findings(ctx: &CheckCtx<'_>, m: &lock::Member<'_>, lock: Option<&Lock>) -> Vec<Finding> {
    let policy = &ctx.policy.manifest;
    let p = m.package;
    if p.kind != PackageKind::Service {
        return Vec::new();
    }
    let wanted = policy.required.iter().filter(|req| req.selector.as_ref().is_none_or(|s| s.matches(p)));
    wanted
        .filter_map(|req| {
            let (line, message) = problem(policy, req, m, lock)?;
            Some(
                Finding::new(
                    MISSING_REQUIRED,
                    registry::severity(MISSING_REQUIRED),
                    message,
                    Location::new(p.manifest.clone(), Span::line(line)),
                )
                .with_key(format!("required:{}", req.name))
                .with_services(vec![p.name.clone()])
                .with_help(format!(
                    "add `{} = \"{}\"` to `[dependencies]` of {} (`[[manifest.required]]` at line {} of the policy)",
                    req.name,
                    req.versions.as_ref().map_or("*".to_string(), |v| v.to_string()),
                    p.manifest,
                    req.line
                )),
            )
        })
        .collect()
}

/// (line, message) when package `m` breaks `req`: it lacks the crate (at the manifest's first
/// line), or every version it has is outside `versions` (at the dependency's line).
fn problem(
    policy: &super::cfg::ManifestPolicy,
    req: &RequiredCrate,
    m: &lock::Member<'_>,
    lock: Option<&Lock>,
) -> Option<(u32, String)> {
    let p = m.package;
    let deps: Vec<_> = lock::counted_deps(policy, p).filter(|d| d.package == req.name).collect();
    let Some(first) = deps.first() else {
        return Some((
            1,
            format!("{} does not depend on {}, which the policy requires: {}", p.name, req.name, req.reason),
        ));
    };
    let range = req.versions.as_ref()?;
    let local = lock.zip(m.local);
    let versions: Vec<semver::Version> = deps
        .iter()
        .filter_map(|d| {
            local
                .and_then(|(l, i)| Some(l.version(l.resolve(i, d)?).clone()))
                .or_else(|| d.req.as_deref().and_then(versions::lower_bound))
        })
        .collect();
    if versions.is_empty() || versions.iter().any(|v| range.matches(v)) {
        return None;
    }
    let shown: Vec<String> = versions.iter().map(ToString::to_string).collect();
    Some((
        first.key.line,
        format!(
            "{} uses {} {}, the policy requires {}: {}",
            p.name,
            req.name,
            shown.join(", "),
            range,
            req.reason
        ),
    ))
}
