//! Policy of the `banned` check (`[banned]` in `fleetward.toml`), as validated types with
//! `Default`s; the policy parser (`config.rs`) builds them, spans and "did you mean" included.
//!
//! ```toml
//! [banned]
//! disable = ["banned/memory-raw-pointer-access"]     # rule ids or `banned/*`
//! severity = { "banned/process-environment-mutation" = "high" }
//!
//! [[banned.deny]]                                      # an extra banned name, no pack needed
//! path = "std::process::exit"
//! reason = "services must shut down through the supervisor"
//! replacement = "return from main"
//!
//! [[banned.exception]]                                 # accepted findings, with a reason
//! rule = "banned/memory-transmute"
//! services = ["ledger", "libs/*"]                      # names or directory globs
//! paths = ["services/ledger/src/simd/**"]
//! reason = "SIMD lane reinterpretation, fuzzed nightly"
//! expires = "2026-12-31"
//!
//! [[banned.service]]                                   # per-service overrides
//! services = ["legacy-*"]
//! disable = ["banned/process-shell-command"]
//! ```
//! Overrides apply in order after the fleet-wide values; an exception without `reason` is a
//! config error, an expired one is a `fleetward/expired-exception` finding and the finding it
//! covered is reported again, one that matched nothing is `fleetward/unused-exception`.

use super::matcher::Index;
use crate::checks::source::cfg::ServiceSelector;
use crate::config::PolicyGlob;
use crate::diag::{Finding, Location, Severity, Span, Suppression, SuppressionKind};
use crate::registry::Rule;
use crate::workspace::Package;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, Default)]
pub struct BannedConfig {
    /// The policy's own rules: those of the packs it names (`packs = [..]`) and one per
    /// `[[banned.deny]]` entry. Registered with [`crate::registry::register_user_rules`].
    pub rules: Vec<&'static Rule>,
    /// The built-in banned rules plus [`BannedConfig::rules`], compiled; `None` = built-ins only.
    pub index: Option<Arc<Index>>,
    /// Rule ids (or `banned/*`) turned off for the whole fleet.
    pub disable: Vec<String>,
    /// Severity per rule id.
    pub severity: BTreeMap<String, Severity>,
    /// Names banned inline by the policy, besides the packs.
    pub deny: Vec<DenyEntry>,
    pub exceptions: Vec<Exception>,
    pub services: Vec<ServicePolicy>,
}

/// `[[banned.deny]]`: one extra banned name. Its findings use the rule id
/// `banned/policy-<kebab-case of the last segment>`.
#[derive(Debug, Clone, PartialEq)]
pub struct DenyEntry {
    /// Exactly one of path / method / macro / type is set.
    pub path: Option<String>,
    pub method: Option<String>,
    pub macro_name: Option<String>,
    pub type_name: Option<String>,
    pub reason: String,
    pub replacement: Option<String>,
    pub severity: Severity,
}

/// `[[banned.exception]]`: findings accepted for a reason, optionally until a date.
#[derive(Debug, Clone)]
pub struct Exception {
    pub rule: String,
    pub reason: String,
    pub expires: Option<jiff::civil::Date>,
    /// Empty = every service.
    pub services: Option<ServiceSelector>,
    /// Files (relative, `/`) the exception is limited to; empty = anywhere.
    pub paths: Vec<PolicyGlob>,
    /// 1-based line in the policy file, for findings about the exception itself.
    pub line: u32,
}

/// `[[banned.service]]`: overrides for the selected services.
#[derive(Debug, Clone)]
pub struct ServicePolicy {
    pub selector: ServiceSelector,
    pub disable: Vec<String>,
    /// Rules re-enabled for these services although disabled fleet-wide.
    pub enable: Vec<String>,
    pub severity: BTreeMap<String, Severity>,
}

fn rule_matches(pattern: &str, rule: &str) -> bool {
    pattern == rule || pattern.strip_suffix("/*").is_some_and(|c| rule.split('/').next() == Some(c))
}

impl BannedConfig {
    /// Whether `rule` is enabled for `package` (fleet-wide, then overrides in order).
    pub fn enabled(&self, rule: &str, package: Option<&Package>) -> bool {
        let mut on = !self.disable.iter().any(|d| rule_matches(d, rule));
        for s in self.services.iter().filter(|s| package.is_some_and(|p| s.selector.matches(p))) {
            if s.disable.iter().any(|d| rule_matches(d, rule)) {
                on = false;
            }
            if s.enable.iter().any(|d| rule_matches(d, rule)) {
                on = true;
            }
        }
        on
    }

    /// The severity of `rule` for `package`, if the policy sets one.
    pub fn severity(&self, rule: &str, package: Option<&Package>) -> Option<Severity> {
        let mut sev = self.severity.get(rule).copied();
        for s in self.services.iter().filter(|s| package.is_some_and(|p| s.selector.matches(p))) {
            if let Some(v) = s.severity.get(rule) {
                sev = Some(*v);
            }
        }
        sev
    }

    /// The index the `banned` visitor uses: built-ins plus the policy's rules.
    pub fn index(&self) -> &Index {
        self.index.as_deref().unwrap_or_else(|| Index::builtin())
    }

    /// Compile [`BannedConfig::rules`] with the built-in rules into [`BannedConfig::index`].
    pub fn with_rules(mut self, rules: Vec<&'static Rule>) -> BannedConfig {
        if !rules.is_empty() {
            let all = crate::registry::rules().iter().chain(rules.iter().copied());
            self.index = Some(Arc::new(Index::from_rules(all)));
        }
        self.rules = rules;
        self
    }

    /// Apply enablement and exceptions to the findings of one file of `package`, marking in
    /// `used` (one flag per exception, shared by every file of the run) what matched.
    /// Severities are applied with every other override, after the checks
    /// ([`crate::checks::apply_severity_overrides`]).
    pub fn apply(
        &self,
        findings: &mut Vec<Finding>,
        package: Option<&Package>,
        now: jiff::civil::Date,
        used: &[AtomicBool],
    ) {
        findings.retain(|f| !f.rule.starts_with("banned/") || self.enabled(&f.rule, package));
        for f in findings.iter_mut().filter(|f| f.rule.starts_with("banned/")) {
            for (i, e) in self.exceptions.iter().enumerate() {
                let service_ok =
                    e.services.as_ref().is_none_or(|sel| package.is_some_and(|p| sel.matches(p)));
                let path_ok = e.paths.is_empty() || e.paths.iter().any(|g| g.is_match(&f.location.file));
                if rule_matches(&e.rule, &f.rule) && service_ok && path_ok {
                    if let Some(u) = used.get(i) {
                        u.store(true, Ordering::Relaxed);
                    }
                    let expired = e.expires.is_some_and(|d| d < now);
                    if !expired && f.suppression.is_none() {
                        f.suppression = Some(Suppression {
                            kind: SuppressionKind::Policy,
                            justification: e.reason.clone(),
                        });
                    }
                }
            }
        }
    }

    /// After every package: findings about expired and unused exceptions (`policy_file`
    /// locates them).
    pub fn exception_findings(
        &self,
        used: &[AtomicBool],
        now: jiff::civil::Date,
        policy_file: &str,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for (e, used) in self.exceptions.iter().zip(used) {
            let used = used.load(Ordering::Relaxed);
            let loc = Location::new(policy_file, Span::line(e.line));
            if let Some(d) = e.expires.filter(|d| *d < now) {
                out.push(
                    Finding::new(
                        "fleetward/expired-exception",
                        Severity::Medium,
                        format!("exception for `{}` expired on {d}", e.rule),
                        loc,
                    )
                    .with_key(format!("banned:{}:{}", e.rule, e.reason)),
                );
            } else if !used {
                out.push(
                    Finding::new(
                        "fleetward/unused-exception",
                        Severity::Info,
                        format!("exception for `{}` matched no finding", e.rule),
                        loc,
                    )
                    .with_key(format!("banned:{}:{}", e.rule, e.reason)),
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, dir: &str) -> Package {
        Package::new(name, dir, crate::workspace::PackageKind::Service)
    }

    fn flags(n: usize) -> Vec<AtomicBool> {
        (0..n).map(|_| AtomicBool::new(false)).collect()
    }

    fn finding(rule: &str, file: &str) -> Finding {
        Finding::new(rule, Severity::Medium, "m", Location::new(file, Span::line(3)))
    }

    #[test]
    fn overrides_severities_and_exceptions() {
        let legacy =
            ServiceSelector { names: vec![], paths: vec![PolicyGlob::new("services/legacy-*").unwrap()] };
        let cfg = BannedConfig {
            disable: vec!["banned/memory-raw-pointer-access".into()],
            severity: [("banned/memory-transmute".to_string(), Severity::High)].into(),
            services: vec![ServicePolicy {
                selector: legacy,
                disable: vec!["banned/*".into()],
                enable: vec!["banned/sql-built-with-format".into()],
                severity: BTreeMap::new(),
            }],
            exceptions: vec![
                Exception {
                    rule: "banned/memory-transmute".into(),
                    reason: "simd lanes".into(),
                    expires: Some(jiff::civil::date(2027, 1, 1)),
                    services: Some(ServiceSelector { names: vec!["ledger".into()], paths: vec![] }),
                    paths: vec![],
                    line: 10,
                },
                Exception {
                    rule: "banned/memory-box-from-raw".into(),
                    reason: "ffi".into(),
                    expires: Some(jiff::civil::date(2026, 1, 1)),
                    services: None,
                    paths: vec![],
                    line: 20,
                },
            ],
            ..BannedConfig::default()
        };
        let now = jiff::civil::date(2026, 11, 22);
        let ledger = pkg("ledger", "services/ledger");
        let mut f = vec![
            finding("banned/memory-transmute", "services/ledger/src/a.rs"),
            finding("banned/memory-raw-pointer-access", "services/ledger/src/a.rs"),
            finding("banned/memory-box-from-raw", "services/ledger/src/a.rs"),
        ];
        let used = flags(cfg.exceptions.len());
        cfg.apply(&mut f, Some(&ledger), now, &used);
        let extra = cfg.exception_findings(&used, now, "fleetward.toml");
        assert_eq!(f.len(), 2, "disabled rule dropped");
        assert_eq!(cfg.severity(&f[0].rule, Some(&ledger)), Some(Severity::High));
        assert_eq!(f[0].suppression.as_ref().map(|s| s.justification.as_str()), Some("simd lanes"));
        assert!(f[1].suppression.is_none(), "expired exception no longer applies");
        assert_eq!(extra.len(), 1);
        assert_eq!(extra[0].rule, "fleetward/expired-exception");
        assert_eq!(extra[0].location.span.line, 20);

        let legacy = pkg("legacy-billing", "services/legacy-billing");
        assert!(!cfg.enabled("banned/memory-transmute", Some(&legacy)));
        assert!(cfg.enabled("banned/sql-built-with-format", Some(&legacy)));
        let used = flags(cfg.exceptions.len());
        cfg.apply(&mut Vec::new(), Some(&legacy), now, &used);
        let extra = cfg.exception_findings(&used, now, "fleetward.toml");
        let rules: Vec<&str> = extra.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(rules, vec!["fleetward/unused-exception", "fleetward/expired-exception"]);
    }
}
