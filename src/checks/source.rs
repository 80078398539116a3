//! The source engine shared by the `banned`, `unsafe` and `secrets` checks: every `.rs` file of
//! the fleet is read once, parsed once with `syn`, visited by each enabled source check, and
//! dropped before the next file, so memory does not grow with the repository.
//!
//! Files run in parallel (rayon) on a dedicated pool whose threads have a large stack
//! ([`cfg::SourceConfig::stack_size`]): syn's parser and visitors recurse, and deeply nested
//! generated code must not overflow. A cheap bracket-depth pre-check skips pathological files
//! with a finding instead. Bad input never stops the run: a file that is too large, not UTF-8,
//! or rejected by syn becomes one finding (`fleetward/skipped-path` or `fleetward/parse-error`)
//! located at the problem.
//!
//! Before the checks see a tree, `#[cfg(test)]` items and `#[test]` functions are removed, and
//! files under `tests/`, `benches/`, `examples/` of a package are not scanned (both
//! configurable). After the checks, inline `// fleetward:allow(..)` directives are applied
//! ([`suppress`]).

pub mod cfg;
pub mod items;
pub mod resolve;
pub mod suppress;

use super::CheckCtx;
use crate::checks::banned::matcher::Wanted;
use crate::diag::{self, Finding, Location, Severity, Sink, Span};
use crate::registry;
use crate::workspace::{Fleet, Package};
use cfg::{SourceConfig, UnsafeMode};
use rayon::prelude::*;
use resolve::CrateIndex;
use std::sync::atomic::AtomicBool;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;

/// Which source checks run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enabled {
    pub banned: bool,
    pub unsafe_code: bool,
    pub secrets: bool,
}

impl Enabled {
    pub const ALL: Enabled = Enabled { banned: true, unsafe_code: true, secrets: true };

    pub fn from_checks(enabled: impl Fn(&str) -> bool) -> Enabled {
        Enabled { banned: enabled("banned"), unsafe_code: enabled("unsafe"), secrets: enabled("secrets") }
    }

    pub fn any(self) -> bool {
        self.banned || self.unsafe_code || self.secrets
    }

    pub fn check(self, name: &str) -> bool {
        match name {
            "banned" => self.banned,
            "unsafe" => self.unsafe_code,
            "secrets" => self.secrets,
            _ => false,
        }
    }
}

/// What the engine knows about the file being scanned, handed to every source check.
pub struct FileCtx<'a> {
    /// Path relative to the scanned root.
    pub rel: &'a str,
    pub text: &'a str,
    /// Module path of the file in its crate.
    pub module: Vec<String>,
    pub index: &'a CrateIndex,
    pub unsafe_mode: UnsafeMode,
    /// 1-based inclusive line ranges of test code removed from the tree.
    pub skipped_lines: Vec<(u32, u32)>,
}

impl FileCtx<'_> {
    pub fn location(&self, span: proc_macro2::Span) -> Location {
        let (s, e) = (span.start(), span.end());
        let line = s.line.max(1) as u32;
        let column = s.column as u32 + 1;
        let (end_line, mut end_column) = (e.line.max(1) as u32, e.column as u32 + 1);
        if end_line == line && end_column <= column {
            end_column = column + 1;
        }
        Location::new(self.rel, Span { line, column, end_line: end_line.max(line), end_column })
    }

    pub fn line_is_skipped(&self, line: u32) -> bool {
        self.skipped_lines.iter().any(|&(a, b)| a <= line && line <= b)
    }
}

/// Where one file sits in the fleet.
pub struct FileEnv<'a> {
    pub package: Option<&'a Package>,
    pub index: &'a CrateIndex,
}

/// Run the enabled source checks over every Rust file of the fleet.
pub fn check(ctx: &CheckCtx<'_>, enabled: Enabled, cfg: &SourceConfig, sink: &Sink) {
    if !enabled.any() {
        return;
    }
    let fleet = ctx.fleet;
    let jobs: Vec<(&str, Option<usize>)> = fleet
        .rust_files
        .iter()
        .map(|rel| (rel.as_str(), owner(fleet, rel)))
        .filter(|(rel, pkg)| ctx.wants_file(*pkg, rel) && wanted(fleet, rel, *pkg, cfg))
        .collect();
    ctx.progress.inc(fleet.rust_files.len() - jobs.len());
    let used: Vec<AtomicBool> = cfg.banned.exceptions.iter().map(|_| AtomicBool::new(false)).collect();
    let run = || {
        let empty = CrateIndex::default();
        let finish = |mut findings: Vec<Finding>, pkg: Option<usize>| {
            cfg.banned.apply(&mut findings, pkg.map(|i| &fleet.packages[i]), ctx.now, &used);
            sink.extend(findings);
            ctx.progress.inc(1);
        };
        let Some(cache) = ctx.cache else {
            // One package at a time: its files are read once, for its crate index and for the
            // checks, and dropped when the package is done.
            let groups: Vec<Option<usize>> =
                std::iter::once(None).chain((0..fleet.packages.len()).map(Some)).collect();
            groups.par_iter().for_each(|&pkg| {
                let package = pkg.map(|i| &fleet.packages[i]);
                let files: Vec<&str> = jobs.iter().filter(|(_, o)| *o == pkg).map(|(rel, _)| *rel).collect();
                let texts: Vec<Result<Vec<u8>, Vec<Finding>>> =
                    files.par_iter().map(|rel| read_source(&fleet.root, rel, package, cfg)).collect();
                let index = match pkg {
                    Some(i) => index_from(
                        fleet,
                        i,
                        files.iter().zip(&texts).map(|(rel, t)| {
                            let t = t.as_ref().ok().filter(|b| b.len() <= INDEX_FILE_BYTES);
                            (*rel, t.and_then(|b| std::str::from_utf8(b).ok()))
                        }),
                        enabled,
                    ),
                    None => CrateIndex::default(),
                };
                let env = FileEnv { package, index: &index };
                files.into_par_iter().zip(texts).for_each(|(rel, text)| {
                    let findings = match text {
                        Ok(bytes) => scan_source(rel, &bytes, &env, enabled, cfg),
                        Err(found) => found,
                    };
                    proc_macro2::extra::invalidate_current_thread_spans();
                    finish(findings, pkg);
                });
            });
            return;
        };
        // With the cache, one package at a time: hash its files (reading only those whose stamp
        // the cache does not know), and build its crate index from their texts, read once,
        // unless the cache knows the index of exactly these files. An unchanged rerun reads no
        // file, builds no index and parses nothing; texts are held for one package only.
        let indexes: Vec<std::sync::OnceLock<CrateIndex>> =
            (0..fleet.packages.len()).map(|_| std::sync::OnceLock::new()).collect();
        let now = std::time::SystemTime::now();
        let mut hashes: Vec<Option<String>> = vec![None; jobs.len()];
        let mut digests: Vec<String> = vec![String::new(); fleet.packages.len()];
        let groups: Vec<Option<usize>> =
            std::iter::once(None).chain((0..fleet.packages.len()).map(Some)).collect();
        // Per group: (job, content hash) for its files, and (package, index digest).
        type Hashed = (Vec<(usize, Option<String>)>, Option<(usize, String)>);
        let done: Vec<Hashed> = groups
            .par_iter()
            .map(|&pkg| {
                let files: Vec<usize> = (0..jobs.len()).filter(|&j| jobs[j].1 == pkg).collect();
                // A file whose stamp the cache knows is not read: its hash is the one recorded.
                let stats: Vec<(bool, Option<String>, Option<String>)> = files
                    .par_iter()
                    .map(|&j| {
                        let meta = std::fs::metadata(fleet.root.join(jobs[j].0)).ok();
                        let small = meta.as_ref().is_some_and(|m| m.len() <= cfg.max_read_bytes);
                        let stamp = meta.as_ref().filter(|_| small).and_then(|m| crate::cache::stamp(m, now));
                        let known = stamp.as_deref().and_then(|s| cache.known_hash(jobs[j].0, s));
                        (small, stamp, known)
                    })
                    .collect();
                let read = |j: usize| std::fs::read(fleet.root.join(jobs[j].0)).ok();
                let mut bytes: Vec<Option<Vec<u8>>> = files
                    .par_iter()
                    .zip(&stats)
                    .map(|(&j, (small, _, known))| if *small && known.is_none() { read(j) } else { None })
                    .collect();
                // The content hash is the bulk of a rerun of changed files: XXH3-128, not a
                // cryptographic hash (the cache lives outside the scanned tree; see `cache`).
                let hashed: Vec<(usize, Option<String>)> = files
                    .iter()
                    .zip(&stats)
                    .zip(&bytes)
                    .map(|((&j, (_, stamp, known)), b)| {
                        let hash = known.clone().or_else(|| {
                            let h = crate::cache::content_digest(b.as_ref()?);
                            if let Some(s) = stamp {
                                cache.put_hash(jobs[j].0, s.clone(), h.clone());
                            }
                            Some(h)
                        });
                        (j, hash)
                    })
                    .collect();
                let digest = pkg.map(|i| {
                    let p = &fleet.packages[i];
                    let mut parts: Vec<&[u8]> = vec![p.name.as_bytes(), p.dir.as_bytes()];
                    for (j, h) in &hashed {
                        parts.push(jobs[*j].0.as_bytes());
                        parts.push(h.as_deref().unwrap_or("-").as_bytes());
                    }
                    let key = crate::cache::digest(parts);
                    let d = cache.index_digest(&key).unwrap_or_else(|| {
                        // The index needs every text: read the files whose hash was known.
                        bytes.par_iter_mut().zip(&files).zip(&stats).for_each(|((b, &j), (small, _, _))| {
                            if b.is_none() && *small {
                                *b = read(j);
                            }
                        });
                        let texts = files.iter().zip(&bytes).map(|(&j, b)| {
                            let b = b.as_ref().filter(|b| b.len() <= INDEX_FILE_BYTES);
                            (jobs[j].0, b.and_then(|b| std::str::from_utf8(b).ok()))
                        });
                        let d = indexes[i].get_or_init(|| index_from(fleet, i, texts, enabled)).digest();
                        cache.put_index_digest(key, d.clone());
                        d
                    });
                    (i, d)
                });
                (hashed, digest)
            })
            .collect();
        for (hashed, digest) in done {
            for (j, h) in hashed {
                hashes[j] = h;
            }
            if let Some((i, d)) = digest {
                digests[i] = d;
            }
        }
        // The unsafe mode of each package (and of files in none), spelled once.
        let modes: Vec<String> = std::iter::once(None)
            .chain(fleet.packages.iter().map(Some))
            .map(|p| format!("{:?}", cfg.unsafe_policy.mode_for(p)))
            .collect();
        jobs.par_iter().zip(&hashes).for_each(|(&(rel, pkg), hash)| {
            let package = pkg.map(|i| &fleet.packages[i]);
            let key = hash.as_ref().map(|h| {
                let (name, dir) = package.map_or(("", ""), |p| (p.name.as_str(), p.dir.as_str()));
                let mode = &modes[pkg.map_or(0, |i| i + 1)];
                let index = pkg.map_or("", |i| digests[i].as_str());
                crate::cache::digest([
                    rel.as_bytes(),
                    name.as_bytes(),
                    dir.as_bytes(),
                    mode.as_bytes(),
                    index.as_bytes(),
                    h.as_bytes(),
                ])
            });
            if let Some(found) = key.as_deref().and_then(|k| cache.get(k)) {
                return finish(found, pkg);
            }
            let index = match pkg {
                Some(i) => indexes[i].get_or_init(|| index_of(fleet, i, &jobs, enabled)),
                None => &empty,
            };
            let env = FileEnv { package, index };
            let findings = scan_path(&fleet.root, rel, &env, enabled, cfg);
            proc_macro2::extra::invalidate_current_thread_spans();
            if let Some(k) = key {
                cache.put(k, &findings);
            }
            finish(findings, pkg);
        });
    };
    let threads = rayon::current_num_threads();
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .stack_size(cfg.stack_size)
        .thread_name(|i| format!("fleetward-source-{i}"))
        .build()
    {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }
    if enabled.banned {
        let policy_file = ctx.policy.rel_path.as_deref().unwrap_or(crate::config::FILE_NAME);
        sink.extend(cfg.banned.exception_findings(&used, ctx.now, policy_file));
    }
}

/// The package owning `rel`: the one with the longest directory prefix.
pub fn owner(fleet: &Fleet, rel: &str) -> Option<usize> {
    fleet.owner(rel)
}

/// `rel` relative to `dir` when it is inside it.
fn under<'r>(rel: &'r str, dir: &str) -> Option<&'r str> {
    rel.strip_prefix(dir)?.strip_prefix('/')
}

/// `rel` relative to its package directory.
pub(crate) fn rel_in_package<'r>(rel: &'r str, pkg: Option<&Package>) -> &'r str {
    match pkg {
        Some(p) if p.dir != "." && !p.dir.is_empty() => under(rel, &p.dir).unwrap_or(rel),
        _ => rel,
    }
}

fn wanted(fleet: &Fleet, rel: &str, pkg: Option<usize>, cfg: &SourceConfig) -> bool {
    if pkg.is_none() && !fleet.packages.is_empty() && !cfg.scan_orphan_files {
        return false;
    }
    in_scanned_dir(fleet, rel, pkg, cfg)
}

/// Whether `rel` is outside the package directories that are not scanned (`tests/`,
/// `benches/`, `examples/` by default).
pub fn in_scanned_dir(fleet: &Fleet, rel: &str, pkg: Option<usize>, cfg: &SourceConfig) -> bool {
    let inner = rel_in_package(rel, pkg.map(|i| &fleet.packages[i]));
    match inner.split_once('/') {
        Some((first, _)) => !cfg.skip_dirs.iter().any(|d| d == first),
        None => true,
    }
}

/// The pre-pass of [`resolve`] for package `i`: its re-export map, built from the text of its
/// files (only the `banned` check needs it).
fn index_of(fleet: &Fleet, i: usize, jobs: &[(&str, Option<usize>)], enabled: Enabled) -> CrateIndex {
    if !enabled.banned {
        return CrateIndex::new(&fleet.packages[i].name);
    }
    let files: Vec<&str> = jobs.iter().filter(|(_, o)| *o == Some(i)).map(|(rel, _)| *rel).collect();
    let uses: Vec<_> = files
        .par_iter()
        .map(|rel| {
            let path = fleet.root.join(rel);
            let small = std::fs::metadata(&path).is_ok_and(|m| m.len() as usize <= INDEX_FILE_BYTES);
            let text = if small { std::fs::read_to_string(&path).ok() } else { None };
            text.as_deref().map(resolve::file_uses)
        })
        .collect();
    index_from_uses(fleet, i, files.into_iter().zip(uses))
}

/// Files larger than this are left out of the crate index.
const INDEX_FILE_BYTES: usize = 8 * 1024 * 1024;

/// The crate index of package `i` from its files: each declares its module, and those whose
/// text could be read add their imports.
fn index_from<'t>(
    fleet: &Fleet,
    i: usize,
    files: impl Iterator<Item = (&'t str, Option<&'t str>)>,
    enabled: Enabled,
) -> CrateIndex {
    if !enabled.banned {
        return CrateIndex::new(&fleet.packages[i].name);
    }
    let files: Vec<(&str, Option<&str>)> = files.collect();
    let uses: Vec<_> = files.par_iter().map(|(_, text)| text.map(resolve::file_uses)).collect();
    index_from_uses(fleet, i, files.iter().map(|(rel, _)| *rel).zip(uses))
}

/// The crate index of package `i` from the imports of its files (`None`: not read).
fn index_from_uses<'t>(
    fleet: &Fleet,
    i: usize,
    files: impl Iterator<Item = (&'t str, Option<Vec<Vec<resolve::UseBinding>>>)>,
) -> CrateIndex {
    let p = &fleet.packages[i];
    let mut index = CrateIndex::new(&p.name);
    let (modules, uses): (Vec<Vec<String>>, Vec<_>) =
        files.map(|(rel, uses)| (resolve::module_path(rel_in_package(rel, Some(p))), uses)).unzip();
    for m in &modules {
        index.add_module(m);
    }
    for (module, uses) in modules.into_iter().zip(uses) {
        if let Some(uses) = uses {
            index.add_uses(&module, uses);
        }
    }
    index
}

/// What identifies the engine's settings and rules in the cache (see [`crate::cache`]): the
/// build, the built-in packs, the policy's own rules, which checks run and how files are parsed.
/// Everything that differs per file is in the key `check` computes for it.
pub fn cache_namespace(enabled: Enabled, cfg: &SourceConfig) -> String {
    let packs: String = registry::PACKS.iter().map(|(_, text)| *text).collect();
    let user_rules = format!("{:?}", cfg.banned.rules);
    let settings = format!(
        "{enabled:?} skip_test_code={} max_file_bytes={} max_nesting={}",
        cfg.skip_test_code, cfg.max_file_bytes, cfg.max_nesting
    );
    crate::cache::digest([
        crate::cache::build_stamp().as_bytes(),
        packs.as_bytes(),
        user_rules.as_bytes(),
        settings.as_bytes(),
    ])
}

/// Read one file (size-capped) and scan it.
fn scan_path(
    root: &std::path::Path,
    rel: &str,
    env: &FileEnv<'_>,
    enabled: Enabled,
    cfg: &SourceConfig,
) -> Vec<Finding> {
    match read_source(root, rel, env.package, cfg) {
        Ok(bytes) => scan_source(rel, &bytes, env, enabled, cfg),
        Err(found) => found,
    }
}

/// The bytes of a source file, or the finding that says why it is not read.
fn read_source(
    root: &std::path::Path,
    rel: &str,
    package: Option<&Package>,
    cfg: &SourceConfig,
) -> Result<Vec<u8>, Vec<Finding>> {
    let path = root.join(rel);
    match std::fs::metadata(&path) {
        Ok(m) if m.len() > cfg.max_read_bytes => {
            return Err(vec![
                skipped(
                    rel,
                    Span::line(1),
                    format!(
                        "source file not read: {} is over the {} limit",
                        mib(m.len()),
                        mib(cfg.max_read_bytes)
                    ),
                )
                .with_services(services(package)),
            ]);
        }
        _ => {}
    }
    std::fs::read(&path).map_err(|e| {
        vec![
            diag::parse_error(rel, 1, 1, format!("could not read source file: {e}"))
                .with_services(services(package)),
        ]
    })
}

/// `1.5 MiB`, `256 KiB`, `12 B`.
fn mib(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)).replace(".0 ", " "),
        b if b >= 1024 => format!("{:.1} KiB", b as f64 / 1024.0).replace(".0 ", " "),
        b => format!("{b} B"),
    }
}

fn services(p: Option<&Package>) -> Vec<String> {
    p.map(|p| vec![p.name.clone()]).unwrap_or_default()
}

fn skipped(rel: &str, span: Span, message: String) -> Finding {
    let id = "fleetward/skipped-path";
    let sev = registry::rule(id).map_or(Severity::Info, |r| r.severity);
    Finding::new(id, sev, message, Location::new(rel, span)).with_key("source-skipped")
}

/// Scan one file's bytes with the enabled checks: the unit everything else is built on.
pub fn scan_source(
    rel: &str,
    bytes: &[u8],
    env: &FileEnv<'_>,
    enabled: Enabled,
    cfg: &SourceConfig,
) -> Vec<Finding> {
    let mut findings = scan_inner(rel, bytes, env, enabled, cfg);
    let svc = services(env.package);
    for f in &mut findings {
        f.services = svc.clone();
    }
    findings
}

fn scan_inner(
    rel: &str,
    bytes: &[u8],
    env: &FileEnv<'_>,
    enabled: Enabled,
    cfg: &SourceConfig,
) -> Vec<Finding> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]);
            let (line, col) = diag::line_col(&valid, valid.len());
            return vec![diag::parse_error(rel, line, col, "source file is not valid UTF-8")];
        }
    };
    let module = resolve::module_path(rel_in_package(rel, env.package));
    let unsafe_mode = cfg.unsafe_policy.mode_for(env.package);
    let too_big = bytes.len() as u64 > cfg.max_file_bytes;
    // The text is searched once: for secrets (kept, filtered for test code once the tree is
    // known), and for the words that decide whether and what to parse.
    let mut secrets = Vec::new();
    if enabled.secrets {
        super::secrets::scan_str(rel, text, &|_| false, &mut secrets);
    }
    let words = if cfg.prefilter && !too_big {
        tree_words(text, env, enabled, cfg, unsafe_mode)
    } else {
        Wanted::default()
    };
    let tree_needed = !too_big
        && (!cfg.prefilter
            || !words.is_empty()
            || text.contains("fleetward:")
            || (cfg.skip_test_code && !secrets.is_empty()));
    if !tree_needed {
        // Too big to parse (generated code), or nothing a tree check looks for: the text-only
        // check still runs.
        let mut findings = Vec::new();
        if too_big && (enabled.banned || enabled.unsafe_code) {
            findings.push(skipped(
                rel,
                Span::line(1),
                format!(
                    "source file not parsed: {} is over the {} limit (`[source] max_file_size`); `banned` and `unsafe` did not check it",
                    mib(bytes.len() as u64),
                    mib(cfg.max_file_bytes)
                ),
            ));
        }
        findings.append(&mut secrets);
        let directives = suppress::parse(text);
        suppress::apply(&mut findings, &directives, rel, &|check| enabled.check(check));
        return findings;
    }
    let too_deep_at = |offset: usize| {
        let (line, col) = diag::line_col(text, offset);
        vec![skipped(
            rel,
            Span::at(line, col),
            format!("source file not scanned: brackets nest deeper than {} levels", cfg.max_nesting),
        )]
    };
    // Big files are parsed one at a time: their trees are the memory peak of a run.
    static BIG_FILE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _big = (bytes.len() as u64 > cfg.big_file_bytes)
        .then(|| BIG_FILE.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    // The item selection's lexer measures nesting; a whole-file parse measures it first.
    let selected =
        if cfg.prefilter { select_items(text, words, &secrets, enabled, cfg) } else { items::Parsed::Whole };
    let parsed = match selected {
        items::Parsed::File(f) => Ok(f),
        items::Parsed::TooDeep(offset) => return too_deep_at(offset),
        items::Parsed::Whole => match too_deep(text, cfg.max_nesting) {
            Some(offset) => return too_deep_at(offset),
            None => syn::parse_file(text),
        },
    };
    let mut file = match parsed {
        Ok(f) => f,
        Err(e) => {
            let start = e.span().start();
            let what = e.to_string();
            let what = if what == "cannot parse string into token stream" {
                "unbalanced delimiter or invalid token".to_string()
            } else {
                what
            };
            return vec![diag::parse_error(
                rel,
                start.line.max(1) as u32,
                start.column as u32 + 1,
                format!("rust syntax error: {what}"),
            )];
        }
    };
    let mut strip = StripTests { ranges: Vec::new() };
    if cfg.skip_test_code {
        strip.visit_file_mut(&mut file);
    }
    let fctx = FileCtx { rel, text, module, index: env.index, unsafe_mode, skipped_lines: strip.ranges };
    let mut findings = Vec::new();
    if enabled.banned {
        super::banned::visit_file(&fctx, cfg.banned.index(), &file, &mut findings);
    }
    if enabled.unsafe_code {
        super::unsafe_code::visit_file(&fctx, &file, &mut findings);
    }
    drop(file);
    secrets.retain(|f| !fctx.line_is_skipped(f.location.span.line));
    findings.append(&mut secrets);
    let directives = suppress::parse(text);
    suppress::apply(&mut findings, &directives, rel, &|check| enabled.check(check));
    findings
}

/// The words whose whole-identifier mentions decide what is parsed (see
/// [`SourceConfig::prefilter`]): the call-site words (and literal-argument words) of the
/// banned matchers whose words all occur in the file, the crate's aliases of banned items that
/// the file mentions, and `unsafe`. Empty: no tree check can find anything in the file.
fn tree_words(
    text: &str,
    env: &FileEnv<'_>,
    enabled: Enabled,
    cfg: &SourceConfig,
    mode: UnsafeMode,
) -> Wanted {
    let mut wanted = Wanted::default();
    if enabled.banned {
        let index = cfg.banned.index();
        wanted = index.relevant(text);
        wanted.words.extend(
            env.index
                .alias_words()
                .iter()
                .filter(|(alias, item)| index.is_anchor(item) && text.contains(alias.as_str()))
                .map(|(alias, _)| alias.clone()),
        );
    }
    if enabled.unsafe_code && mode != UnsafeMode::Allow && text.contains("unsafe") {
        wanted.words.push("unsafe".into());
    }
    wanted
}

/// The file's tree restricted to the top-level items a check can find something in (see
/// [`items`]): those that mention one of `words`, or hold one of `secrets` (whose test-code
/// status the tree decides). `None`: parse the whole file.
fn select_items(
    text: &str,
    wanted: Wanted,
    secrets: &[Finding],
    enabled: Enabled,
    cfg: &SourceConfig,
) -> items::Parsed {
    let secret_lines: Vec<(u32, u32)> =
        secrets.iter().map(|f| (f.location.span.line, f.location.span.end_line)).collect();
    let also = |range: std::ops::Range<usize>| {
        !secret_lines.is_empty() && {
            let first = diag::line_col(text, range.start).0;
            let last = diag::line_col(text, range.end).0;
            secret_lines.iter().any(|&(a, b)| a <= last && first <= b)
        }
    };
    let index = cfg.banned.index();
    let renames_of = |item: &str| enabled.banned && index.is_anchor(item);
    let max_depth = cfg.max_nesting;
    items::parse_selected(text, &items::Selection { wanted, renames_of: &renames_of, also: &also, max_depth })
}

/// The first place where brackets nest deeper than `max`, ignoring strings and comments
/// (roughly: enough to refuse pathological generated code before syn recurses into it).
fn too_deep(text: &str, max: usize) -> Option<usize> {
    let b = text.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Removes `#[cfg(test)]` items and `#[test]` functions, remembering their lines.
struct StripTests {
    ranges: Vec<(u32, u32)>,
}

pub(crate) fn is_test_attr(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let path = a.path();
        if path.is_ident("cfg") {
            let Ok(list) = a.meta.require_list() else { return false };
            let tokens = list.tokens.to_string();
            let has_test = tokens.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == "test");
            has_test && !tokens.contains("not")
        } else {
            path.segments.last().is_some_and(|s| s.ident == "test")
        }
    })
}

impl StripTests {
    /// Whether an item stays; `span` is asked for only when it goes (a syn node's whole span
    /// costs a walk over its tokens).
    fn keep(&mut self, attrs: &[syn::Attribute], span: impl FnOnce() -> proc_macro2::Span) -> bool {
        if is_test_attr(attrs) {
            let span = span();
            self.ranges.push((span.start().line as u32, span.end().line as u32));
            false
        } else {
            true
        }
    }
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

impl VisitMut for StripTests {
    fn visit_file_mut(&mut self, f: &mut syn::File) {
        f.items.retain(|i| self.keep(item_attrs(i), || i.span()));
        syn::visit_mut::visit_file_mut(self, f);
    }

    fn visit_item_mod_mut(&mut self, m: &mut syn::ItemMod) {
        if let Some((_, items)) = &mut m.content {
            items.retain(|i| self.keep(item_attrs(i), || i.span()));
        }
        syn::visit_mut::visit_item_mod_mut(self, m);
    }

    fn visit_item_impl_mut(&mut self, i: &mut syn::ItemImpl) {
        i.items.retain(|it| match it {
            syn::ImplItem::Fn(f) => self.keep(&f.attrs, || it.span()),
            syn::ImplItem::Const(c) => self.keep(&c.attrs, || it.span()),
            _ => true,
        });
        syn::visit_mut::visit_item_impl_mut(self, i);
    }

    fn visit_block_mut(&mut self, b: &mut syn::Block) {
        b.stmts.retain(|s| match s {
            syn::Stmt::Item(i) => self.keep(item_attrs(i), || i.span()),
            _ => true,
        });
        syn::visit_mut::visit_block_mut(self, b);
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the source checks' fixture tests.
    use super::*;

    /// Scan `text` as `src/<name>` of a package `svc` and render `rule:line:col message` lines
    /// (suppressed findings marked).
    pub fn render(
        name: &str,
        text: &str,
        enabled: Enabled,
        cfg: &SourceConfig,
        index: &CrateIndex,
    ) -> String {
        let pkg = Package {
            name: "svc".into(),
            version: None,
            kind: crate::workspace::PackageKind::Service,
            manifest: "svc/Cargo.toml".into(),
            dir: "svc".into(),
            workspace: "svc".into(),
            lockfile: None,
            dependencies: Vec::new(),
            bins: Vec::new(),
        };
        let env = FileEnv { package: Some(&pkg), index };
        let rel = format!("svc/src/{name}");
        let mut f = scan_source(&rel, text.as_bytes(), &env, enabled, cfg);
        crate::diag::sort_findings(&mut f);
        f.iter()
            .map(|f| {
                let s = match &f.suppression {
                    Some(s) => format!(" [suppressed: {}]", s.justification),
                    None => String::new(),
                };
                format!("{}:{}:{} {}{s}", f.rule, f.location.span.line, f.location.span.column, f.message)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn fixture(rel: &str) -> String {
        let p = format!("{}/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {p}: {e}"))
    }

    /// Run `f` on a thread with the engine's stack size (tests run on small default stacks).
    pub fn big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(SourceConfig::default().stack_size)
            .spawn(f)
            .expect("spawn")
            .join()
            .expect("join")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn parse_error_has_line_and_column() {
        let text = "fn main() {\n    let x = ;\n}\n";
        let all = SourceConfig { prefilter: false, ..SourceConfig::default() };
        let out = render("bad.rs", text, Enabled::ALL, &all, &CrateIndex::default());
        assert!(out.starts_with("fleetward/parse-error:2:13 rust syntax error"), "{out}");
        // With the prefilter (the default), a file that mentions nothing a tree check looks for
        // is not parsed; one that does is, and its syntax error is reported.
        let cfg = SourceConfig::default();
        assert_eq!(render("bad.rs", text, Enabled::ALL, &cfg, &CrateIndex::default()), "");
        let text = "fn main() {\n    let x = std::mem::transmute;\n    let y = ;\n}\n";
        let out = render("bad.rs", text, Enabled::ALL, &cfg, &CrateIndex::default());
        assert!(out.starts_with("fleetward/parse-error:3:13 rust syntax error"), "{out}");
    }

    /// The prefilter never hides a finding: each spelling the resolver understands still
    /// names a word the prefilter looks for, including a crate alias defined in another file.
    #[test]
    fn prefilter_keeps_every_spelling() {
        let cfg = SourceConfig::default();
        let e = Enabled { banned: true, ..Enabled::default() };
        let cases = [
            ("use std::mem::transmute as t;\nfn f() { let _: f32 = t(1u32); }\n", 2),
            ("use std::mem::*;\nfn f() { let _: f32 = transmute(1u32); }\n", 2),
            ("use std::ptr as p;\nfn f(x: *const u8) { p::read(x); }\n", 2),
            (
                "use std::process::Command as C;\nfn f() { C::new(\"sh\").arg(\"-c\").arg(format!(\"{}\", 1)); }\n",
                2,
            ),
            ("fn f() { let b = reqwest::Client::builder().danger_accept_invalid_certs(true); }\n", 1),
            // The type of an associated function renamed: the item does not spell `Box`.
            ("use std::boxed::Box as B;\nfn f(p: *mut u8) { let _ = unsafe { B::from_raw(p) }; }\n", 2),
            ("fn f(p: *mut u8) { let _ = unsafe { std::boxed::Box::from_raw(p) }; }\n", 1),
        ];
        for (text, line) in cases {
            let out = render("a.rs", text, e, &cfg, &CrateIndex::new("svc"));
            assert!(out.lines().any(|l| l.contains(&format!(":{line}:"))), "{text}\n=> {out:?}");
        }
        // `reinterpret` is a crate-level alias of transmute, defined in another file.
        let mut index = CrateIndex::new("svc");
        index.add_module(&[]);
        index.add_module(&["util".to_string()]);
        index.add_file(&["util".to_string()], "pub use std::mem::transmute as reinterpret;\n");
        let text = "use crate::util::reinterpret;\nfn f() { let _: f32 = reinterpret(1u32); }\n";
        let out = render("a.rs", text, e, &cfg, &index);
        assert!(out.starts_with("banned/memory-transmute:2:"), "{out}");
        // Mentions of nothing: not parsed, nothing found.
        assert_eq!(render("a.rs", "fn f() { let t = 1; }\n", e, &cfg, &index), "");
    }

    /// Every source fixture gives the same findings with the prefilter and item selection as
    /// with a full parse of every file.
    #[test]
    fn prefilter_and_item_selection_change_no_finding() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
        let full = SourceConfig { prefilter: false, ..SourceConfig::default() };
        let mut checked = 0;
        for sub in ["banned", "unsafe", "secrets"] {
            for entry in walkdir::WalkDir::new(format!("{dir}/{sub}")).into_iter().filter_map(Result::ok) {
                if entry.path().extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(entry.path()).unwrap();
                let a =
                    render("lib.rs", &text, Enabled::ALL, &SourceConfig::default(), &CrateIndex::new("svc"));
                let b = render("lib.rs", &text, Enabled::ALL, &full, &CrateIndex::new("svc"));
                assert_eq!(a, b, "{}", entry.path().display());
                checked += 1;
            }
        }
        assert!(checked >= 9, "only {checked} fixtures");
    }

    #[test]
    fn prefilter_words_are_whole_identifiers() {
        let index = crate::checks::banned::matcher::Index::builtin();
        assert!(index.may_match("use std::ptr;\nfn f(p: *const u8) { unsafe { ptr::read(p) }; }"));
        assert!(!index.may_match("use std::thread;\nfn f(ptr_x: u8) { thread::spawn(|| ()).join(); }"));
        assert!(!index.may_match("fn f() { Command::new(\"ls\").arg(\"-l\"); }"), "no -c flag");
        assert!(index.may_match("fn f() { Command::new(\"sh\").arg(\"-c\"); }"));
        assert!(index.is_anchor("transmute") && !index.is_anchor("Result"));
    }

    #[test]
    fn invalid_utf8_is_one_finding() {
        let env_index = CrateIndex::default();
        let env = FileEnv { package: None, index: &env_index };
        let f =
            scan_source("a.rs", b"fn main() {}\n// \xff\xfe\n", &env, Enabled::ALL, &SourceConfig::default());
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].rule.as_str(), f[0].location.span.line), ("fleetward/parse-error", 2));
        assert_eq!(f[0].message, "source file is not valid UTF-8");
    }

    #[test]
    fn oversized_file_is_not_parsed_but_secrets_are_scanned() {
        let cfg = SourceConfig { max_file_bytes: 16, ..SourceConfig::default() };
        let text = "fn main() { let k = \"AKIAZ7Q3XW5R2M4N6P8J\"; unsafe {} }\n";
        let out = render("big.rs", text, Enabled::ALL, &cfg, &CrateIndex::default());
        assert_eq!(
            out,
            "fleetward/skipped-path:1:1 source file not parsed: 56 B is over the 16 B limit (`[source] max_file_size`); `banned` and `unsafe` did not check it\n\
             secrets/aws-access-key:1:22 hard-coded aws access key id `AKIA…`"
        );
        let secrets_only = Enabled { secrets: true, ..Enabled::default() };
        let out = render("big.rs", text, secrets_only, &cfg, &CrateIndex::default());
        assert_eq!(out, "secrets/aws-access-key:1:22 hard-coded aws access key id `AKIA…`");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let out = big_stack(|| {
            let depth = 5000;
            let text = format!(
                "fn f() -> i32 {{\n    let x = {}1{};\n    x\n}}\nfn g() {{ let _ = unsafe {{ std::mem::transmute::<u32, f32>(1) }}; }}\n",
                "(".repeat(depth),
                ")".repeat(depth)
            );
            render("deep.rs", &text, Enabled::ALL, &SourceConfig::default(), &CrateIndex::default())
        });
        assert_eq!(
            out,
            "unsafe/unsafe-without-safety-comment:5:18 `unsafe` block without a `// SAFETY:` comment\n\
             banned/memory-transmute:5:27 memory reinterpreted with transmute: `std::mem::transmute`"
        );
    }

    #[test]
    fn pathological_nesting_is_skipped() {
        let cfg = SourceConfig { max_nesting: 100, prefilter: false, ..SourceConfig::default() };
        let text = format!("fn f() {{ let x = {}1{}; }}", "[".repeat(200), "]".repeat(200));
        let out = render("deep.rs", &text, Enabled::ALL, &cfg, &CrateIndex::default());
        assert_eq!(
            out,
            "fleetward/skipped-path:1:117 source file not scanned: brackets nest deeper than 100 levels"
        );
    }

    #[test]
    fn secrets_in_test_code_are_skipped_even_when_the_prefilter_skips_the_parse() {
        let text = "fn key() -> &'static str { \"AKIAZ7Q3XW5R2M4N6P8J\" }\n#[cfg(test)]\nmod tests {\n    const K: &str = \"AKIA2E0A8F3B2W4C9X86\";\n}\n";
        let e = Enabled { secrets: true, ..Enabled::default() };
        let out = render("k.rs", text, e, &SourceConfig::default(), &CrateIndex::default());
        assert_eq!(out, "secrets/aws-access-key:1:29 hard-coded aws access key id `AKIA…`");
    }

    #[test]
    fn test_code_is_skipped_by_default() {
        let text = "fn a() { unsafe {} }\n#[cfg(test)]\nmod tests {\n    fn b() { unsafe {} }\n}\n#[test]\nfn c() { unsafe {} }\n";
        let e = Enabled { unsafe_code: true, ..Enabled::default() };
        let out = render("t.rs", text, e, &SourceConfig::default(), &CrateIndex::default());
        assert_eq!(
            out,
            "unsafe/unsafe-without-safety-comment:1:10 `unsafe` block without a `// SAFETY:` comment"
        );
        let cfg = SourceConfig { skip_test_code: false, ..SourceConfig::default() };
        assert_eq!(render("t.rs", text, e, &cfg, &CrateIndex::default()).lines().count(), 3);
    }

    #[test]
    fn skip_dirs_and_owner() {
        let mk = |name: &str, dir: &str| Package::new(name, dir, crate::workspace::PackageKind::Service);
        let fleet = Fleet { packages: vec![mk("root", "."), mk("a", "services/a")], ..Fleet::default() };
        assert_eq!(owner(&fleet, "services/a/src/main.rs"), Some(1));
        assert_eq!(owner(&fleet, "services/ab/src/main.rs"), Some(0));
        let cfg = SourceConfig::default();
        assert!(wanted(&fleet, "services/a/src/main.rs", Some(1), &cfg));
        assert!(!wanted(&fleet, "services/a/tests/it.rs", Some(1), &cfg));
        assert!(!wanted(&fleet, "examples/demo.rs", Some(0), &cfg));
    }
}
