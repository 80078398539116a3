//! Inline suppressions: `// fleetward:allow(<rule-id>[, <rule-id>..]) <reason>` on the line of a
//! finding, or alone on a comment line above it (attributes and further comments may sit in
//! between). `check/*` suppresses every rule of a check. A directive without a reason still
//! suppresses but is reported (`fleetward/suppression-without-reason`); a directive that
//! suppressed nothing in a check that ran is reported (`fleetward/unused-suppression`).
//! Suppressed findings are kept, with [`Suppression`] set, so SARIF can show them.

use crate::diag::{Finding, Location, Severity, Span, Suppression, SuppressionKind};
use crate::registry;

pub const WITHOUT_REASON: &str = "fleetward/suppression-without-reason";
pub const UNUSED: &str = "fleetward/unused-suppression";
const MARKER: &str = "fleetward:allow(";

#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    /// 1-based line of the directive.
    pub line: u32,
    pub column: u32,
    /// The line of code it applies to besides its own (for a comment-only line).
    pub next_code_line: Option<u32>,
    pub rules: Vec<String>,
    pub reason: Option<String>,
}

impl Directive {
    fn covers(&self, f: &Finding) -> bool {
        let line = f.location.span.line;
        (line == self.line || Some(line) == self.next_code_line)
            && self.rules.iter().any(|r| {
                *r == f.rule
                    || r.strip_suffix("/*").is_some_and(|check| f.rule.split('/').next() == Some(check))
            })
    }
}

/// Comment openers of the text files the secrets check reads (YAML, TOML, shell, `.env`,
/// SQL, HTML/Markdown, INI, C-like).
const TEXT_OPENERS: &[&str] = &["<!--", "//", "/*", "#", "--", ";"];

/// Every directive of a Rust file (`//` comments).
pub fn parse(text: &str) -> Vec<Directive> {
    parse_with(text, &rust_comment, &|t| t.starts_with("//") || t.starts_with("#[") || t.starts_with("/*"))
}

/// Every directive of any other text file: the directive follows one of the usual comment
/// openers (`#`, `//`, `--`, `<!--`, `;`, `/*`).
pub fn parse_text(text: &str) -> Vec<Directive> {
    parse_with(text, &text_comment, &|t| TEXT_OPENERS.iter().any(|o| t.starts_with(o)))
}

/// Where the `//` comment of a Rust line starts, and where its text starts.
fn rust_comment(line: &str) -> Option<(usize, usize)> {
    let at = line.find("//")?;
    // `//` inside a string literal (an odd number of unescaped quotes before it) is not a
    // comment: a test that embeds a directive in a string must not count as one.
    (!inside_string(&line[..at])).then_some((at, at + 2))
}

/// The comment opener right before the directive on a text line.
fn text_comment(line: &str) -> Option<(usize, usize)> {
    let m = line.find(MARKER)?;
    let before = line[..m].trim_end();
    TEXT_OPENERS.iter().find(|o| before.ends_with(*o)).map(|o| (before.len() - o.len(), before.len()))
}

fn parse_with(
    text: &str,
    comment_of: &dyn Fn(&str) -> Option<(usize, usize)>,
    is_comment_line: &dyn Fn(&str) -> bool,
) -> Vec<Directive> {
    if !text.contains(MARKER) {
        return Vec::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((comment_at, body)) = comment_of(line) else { continue };
        let comment = &line[body..];
        let Some(m) = comment.find(MARKER) else { continue };
        // Only `// fleetward:allow(` (after optional `/` or `!` and spaces), not prose.
        if !comment[..m].trim_start_matches(['/', '!']).trim().is_empty() {
            continue;
        }
        let after = &comment[m + MARKER.len()..];
        let Some(close) = after.find(')') else { continue };
        let rules: Vec<String> =
            after[..close].split(',').map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect();
        let reason = after[close + 1..].trim().trim_start_matches([':', '-', '—']).trim();
        let comment_only = line[..comment_at].trim().is_empty();
        let next_code_line = if comment_only {
            lines
                .iter()
                .enumerate()
                .skip(i + 1)
                .find(|(_, l)| {
                    let t = l.trim();
                    !(t.is_empty() || is_comment_line(t))
                })
                .map(|(j, _)| j as u32 + 1)
        } else {
            None
        };
        let column = line[..comment_at].chars().count() as u32 + 1;
        out.push(Directive {
            line: i as u32 + 1,
            column,
            next_code_line,
            rules,
            reason: (!reason.is_empty()).then(|| reason.to_string()),
        });
    }
    out
}

fn severity(id: &str, fallback: Severity) -> Severity {
    registry::rule(id).map_or(fallback, |r| r.severity)
}

/// Mark the findings the directives cover, and add the findings about the directives
/// themselves. `check_ran` says whether a rule's check ran (unused directives of other checks
/// are not reported).
pub fn apply(
    findings: &mut Vec<Finding>,
    directives: &[Directive],
    file: &str,
    check_ran: &dyn Fn(&str) -> bool,
) {
    let mut extra = Vec::new();
    for d in directives {
        let mut used = false;
        for f in findings.iter_mut().filter(|f| f.suppression.is_none() && d.covers(f)) {
            used = true;
            f.suppression = Some(Suppression {
                kind: SuppressionKind::InSource,
                justification: d.reason.clone().unwrap_or_else(|| "no reason given".to_string()),
            });
        }
        let loc = Location::new(file, Span::at(d.line, d.column));
        let key = d.rules.join(",");
        if d.reason.is_none() {
            extra.push(
                Finding::new(
                    WITHOUT_REASON,
                    severity(WITHOUT_REASON, Severity::Low),
                    format!("suppression of `{key}` gives no reason"),
                    loc.clone(),
                )
                .with_key(format!("{key}@{}", d.line))
                .with_help("write why the finding is acceptable after the closing parenthesis"),
            );
        }
        let checked = d.rules.iter().any(|r| check_ran(r.split('/').next().unwrap_or("")));
        if !used && checked {
            extra.push(
                Finding::new(
                    UNUSED,
                    severity(UNUSED, Severity::Info),
                    format!("suppression of `{key}` matched no finding"),
                    loc,
                )
                .with_key(format!("{key}@unused"))
                .with_help("remove the directive"),
            );
        }
    }
    findings.extend(extra);
}

/// Whether the end of `prefix` lies inside a `"..."` string literal.
fn inside_string(prefix: &str) -> bool {
    let mut inside = false;
    let mut escaped = false;
    for c in prefix.chars() {
        match c {
            '\\' if inside => escaped = !escaped,
            '"' if !escaped => inside = !inside,
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_inside_string_literals_are_not_comments() {
        let text = "let s = \"a // fleetward:allow(banned/x) reason\";\nlet t = \"q\\\"\"; // fleetward:allow(banned/y) real\n";
        let d = parse(text);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].rules, vec!["banned/y".to_string()]);
    }

    #[test]
    fn text_files_take_their_own_comment_syntax() {
        let text = "# fleetward:allow(secrets/aws-access-key) documented example key\nKEY=AKIA...\nx: 1 # fleetward:allow(secrets/*) fixture\n<!-- fleetward:allow(secrets/github-token) docs -->\nsee fleetward:allow(secrets/x) in prose\n";
        let d = parse_text(text);
        let got: Vec<(u32, Option<u32>, &str)> =
            d.iter().map(|d| (d.line, d.next_code_line, d.rules[0].as_str())).collect();
        assert_eq!(
            got,
            [
                (1, Some(2), "secrets/aws-access-key"),
                (3, None, "secrets/*"),
                (4, Some(5), "secrets/github-token")
            ]
        );
        assert_eq!(d[0].reason.as_deref(), Some("documented example key"));
    }

    #[test]
    fn parses_rules_reason_and_target_line() {
        let text = "fn f() {\n    // fleetward:allow(banned/a, unsafe/*) reviewed in #12\n    #[allow(x)]\n    g();\n    h(); // fleetward:allow(banned/b)\n    // see fleetward:allow(banned/c) in the docs\n}\n";
        let d = parse(text);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].rules, vec!["banned/a", "unsafe/*"]);
        assert_eq!(d[0].reason.as_deref(), Some("reviewed in #12"));
        assert_eq!((d[0].line, d[0].next_code_line), (2, Some(4)));
        assert_eq!((d[1].line, d[1].next_code_line, d[1].reason.clone()), (5, None, None));
    }
}
