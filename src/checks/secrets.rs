//! `secrets`: credentials committed in source. Every scanned Rust file's text is searched with
//! one regex per kind of secret (string literals, but also comments and macro bodies, which syn
//! does not parse), and each match must pass a shape check (length, no placeholder words such
//! as `EXAMPLE` or `xxxx`, enough distinct characters, Shannon entropy) before it is reported.
//! The secret itself never appears in a message or fingerprint: messages show its first four
//! characters and `…`, keys hold a hash. Test code removed by the engine is skipped here too.
//!
//! Rust files are scanned by the source engine (one read per file, with the other source
//! checks); every other text file the walk lists (configuration, `.env`, YAML, shell, docs) by
//! [`check_text_files`].

use crate::diag::{self, Finding, Location, Severity, Span};
use crate::registry;
use regex::Regex;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

struct Pattern {
    rule: &'static str,
    what: &'static str,
    re: Regex,
    /// Bytes of the match that are a fixed prefix (not counted in the entropy).
    prefix: usize,
    min_entropy: f64,
}

fn patterns() -> &'static [Pattern] {
    static P: OnceLock<Vec<Pattern>> = OnceLock::new();
    P.get_or_init(|| {
        let p = |rule, what, re: &str, prefix, min_entropy| Pattern {
            rule,
            what,
            re: Regex::new(re).unwrap_or_else(|e| panic!("secret pattern {rule}: {e}")),
            prefix,
            min_entropy,
        };
        vec![
            p(
                "secrets/private-key",
                "private key",
                r"-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----",
                0,
                0.0,
            ),
            p("secrets/aws-access-key", "aws access key id", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", 4, 3.0),
            p("secrets/github-token", "github token", r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b", 4, 3.5),
            p(
                "secrets/github-token",
                "github token",
                r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b",
                11,
                3.5,
            ),
            p("secrets/slack-token", "slack token", r"\bxox[bpoa]-[0-9]{6,}-[0-9A-Za-z-]{8,}", 5, 3.0),
            p(
                "secrets/stripe-live-key",
                "stripe live secret key",
                r"\b[sr]k_live_[0-9A-Za-z]{20,}\b",
                8,
                3.5,
            ),
        ]
    })
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    counts.iter().filter(|&&c| c > 0).map(|&c| c as f64 / n).map(|p| -p * p.log2()).sum()
}

const PLACEHOLDERS: &[&str] = &[
    "example",
    "xxxx",
    "0000",
    "1234",
    "abcd",
    "your",
    "dummy",
    "fake",
    "sample",
    "placeholder",
    "redacted",
    "test",
];

fn looks_real(body: &str, min_entropy: f64) -> bool {
    let lower = body.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return false;
    }
    let mut distinct: Vec<u8> = body.bytes().collect();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.len() * 3 >= body.len().min(30) && entropy(body) >= min_entropy
}

/// The key material after a `BEGIN .. PRIVATE KEY` header: base64 characters up to the END
/// line, across real or escaped (`\n`) line breaks and string concatenation.
fn key_body(after: &str) -> String {
    let end = after.find("-----END").unwrap_or(after.len().min(4096));
    let region = &after[..end];
    let region = region.replace("\\n", "\n").replace("\\r", "");
    region
        .lines()
        .map(|l| l.trim().trim_matches(|c| c == '"' || c == ',' || c == '\\'))
        .filter(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        })
        .collect::<Vec<_>>()
        .join("")
}

/// `AKIA…`: the first four characters and an ellipsis.
pub fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…")
}

fn fingerprint_key(rule: &str, secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{rule}:{hex}")
}

/// Scan one file's text (used by the engine for Rust files, usable for any text file).
pub fn scan_str(file: &str, text: &str, skip_line: &dyn Fn(u32) -> bool, out: &mut Vec<Finding>) {
    for pat in patterns() {
        for m in pat.re.find_iter(text) {
            let secret = m.as_str();
            let mut rule = pat.rule;
            let mut what = pat.what;
            let ok = if pat.rule == "secrets/private-key" {
                let body = key_body(&text[m.end()..]);
                let window = &text[m.start().saturating_sub(300)..m.start()];
                if window.contains("private_key") && text.contains("service_account") {
                    rule = "secrets/gcp-service-account-key";
                    what = "gcp service account private key";
                }
                body.len() >= 64 && entropy(&body) >= 4.5
            } else {
                looks_real(&secret[pat.prefix.min(secret.len())..], pat.min_entropy)
            };
            if !ok {
                continue;
            }
            let (line, col) = diag::line_col(text, m.start());
            if skip_line(line) {
                continue;
            }
            let severity = registry::rule(rule).map_or(Severity::High, |r| r.severity);
            let shown = if rule == pat.rule && pat.rule != "secrets/private-key" {
                mask(secret)
            } else {
                "-----BEGIN…".to_string()
            };
            let end_col = col + secret.chars().count() as u32;
            out.push(
                Finding::new(
                    rule,
                    severity,
                    format!("hard-coded {what} `{shown}`"),
                    Location::new(file, Span { line, column: col, end_line: line, end_column: end_col }),
                )
                .with_key(fingerprint_key(rule, secret))
                .with_help("revoke the credential, then load it from the environment or a secret store"),
            );
        }
    }
}

/// Scan every text file of the fleet that is not Rust (the source engine scans those) in
/// parallel: read, scan, drop. Binary files (a NUL byte in the first 8 KiB) are skipped
/// silently; text that is not UTF-8 is scanned lossily (secrets are ASCII). Files under a
/// package's skipped directories (`tests/`, ...) are not scanned, as for Rust files.
pub fn check_text_files(
    ctx: &super::CheckCtx<'_>,
    cfg: &super::source::cfg::SourceConfig,
    sink: &crate::diag::Sink,
) {
    use rayon::prelude::*;
    let fleet = ctx.fleet;
    fleet.text_files.par_iter().for_each(|rel| {
        ctx.progress.inc(1);
        let pkg = super::source::owner(fleet, rel);
        if !ctx.wants_file(pkg, rel) || !super::source::in_scanned_dir(fleet, rel, pkg, cfg) {
            return;
        }
        let mut found = match ctx.cache {
            Some(cache) => cached_scan(cache, &fleet.root, rel, cfg.max_read_bytes),
            None => scan_text_file(&fleet.root, rel, cfg.max_read_bytes),
        };
        if let Some(p) = pkg.map(|i| &fleet.packages[i]) {
            for f in &mut found {
                f.services = vec![p.name.clone()];
            }
        }
        sink.extend(found);
    });
}

/// [`scan_text_file`] through the result cache: a file whose content (XXH3-128), path and
/// rules are unchanged is not scanned again.
fn cached_scan(
    cache: &crate::cache::Cache,
    root: &std::path::Path,
    rel: &str,
    max_bytes: u64,
) -> Vec<Finding> {
    let key_of =
        |hash: &str| crate::cache::digest([b"text-file".as_slice(), rel.as_bytes(), hash.as_bytes()]);
    // A file whose stamp the cache knows is not read at all.
    let meta = std::fs::metadata(root.join(rel)).ok().filter(|m| m.len() <= max_bytes);
    let stamp = meta.and_then(|m| crate::cache::stamp(&m, std::time::SystemTime::now()));
    if let Some(hash) = stamp.as_deref().and_then(|s| cache.known_hash(rel, s))
        && let Some(found) = cache.get(&key_of(&hash))
    {
        return found;
    }
    let bytes = match read_capped(root, rel, max_bytes) {
        Ok(b) => b,
        Err(found) => return found,
    };
    let hash = crate::cache::content_digest(&bytes);
    if let Some(s) = stamp {
        cache.put_hash(rel, s, hash.clone());
    }
    let key = key_of(&hash);
    if let Some(found) = cache.get(&key) {
        return found;
    }
    let found = scan_bytes(rel, &bytes);
    cache.put(key, &found);
    found
}

/// The bytes of a text file, or the finding that says why it is not scanned.
fn read_capped(root: &std::path::Path, rel: &str, max_bytes: u64) -> Result<Vec<u8>, Vec<Finding>> {
    let path = root.join(rel);
    if let Ok(m) = std::fs::metadata(&path)
        && m.len() > max_bytes
    {
        return Err(vec![crate::discover::skipped(
            rel,
            &format!("not scanned for secrets: over the {} MiB limit", max_bytes >> 20),
        )]);
    }
    std::fs::read(&path).map_err(|_| vec![crate::discover::skipped(rel, "cannot read it")])
}

/// Read one text file (size-capped) and scan it, directives included.
pub fn scan_text_file(root: &std::path::Path, rel: &str, max_bytes: u64) -> Vec<Finding> {
    match read_capped(root, rel, max_bytes) {
        Ok(bytes) => scan_bytes(rel, &bytes),
        Err(found) => found,
    }
}

/// Scan the bytes of a text file, directives included; binary files give nothing.
fn scan_bytes(rel: &str, bytes: &[u8]) -> Vec<Finding> {
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    scan_str(rel, &text, &|_| false, &mut out);
    let directives = super::source::suppress::parse_text(&text);
    super::source::suppress::apply(&mut out, &directives, rel, &|check| check == "secrets");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::source::Enabled;
    use crate::checks::source::cfg::SourceConfig;
    use crate::checks::source::resolve::CrateIndex;
    use crate::checks::source::testing::{fixture, render};

    #[test]
    fn fixture_findings() {
        let e = Enabled { secrets: true, ..Enabled::default() };
        let out = render(
            "lib.rs",
            &fixture("secrets/secrets.rs"),
            e,
            &SourceConfig::default(),
            &CrateIndex::default(),
        );
        insta::assert_snapshot!(out);
    }

    #[test]
    fn messages_never_contain_the_secret() {
        let text = fixture("secrets/secrets.rs");
        let mut out = Vec::new();
        scan_str("a.rs", &text, &|_| false, &mut out);
        assert!(!out.is_empty());
        for f in &out {
            assert!(
                !f.message.contains("q8W3nV7") && !f.message.contains("2E0A8F3B") && !f.key.contains("AKIA"),
                "{}",
                f.message
            );
        }
        assert_eq!(mask("AKIA2E0A8F3B2W4C9X86"), "AKIA…");
    }

    #[test]
    fn entropy_orders_random_above_repetitive() {
        assert!(entropy("q8W3nV7LzR2mT5kY9bX1") > entropy("aaaaaaaaaaaaaaaaaaab"));
    }
}
