//! `banned`: calls, methods, macros, types, field settings and trait impls that the fleet's
//! policy bans, matched on the one syn tree of each file with names resolved by
//! [`super::source::resolve`]. The rules and what they match are data (`rules/banned/*.toml`);
//! this module owns the visitor that walks a file and asks the [`matcher::Index`] about each
//! name it meets.
//!
//! What is seen: fully qualified paths, `use` renames, groups, globs and `self`, re-exports inside
//! the crate, `let f = path;` aliases, associated functions, method calls by name with literal
//! argument conditions, macros (and calls inside the arguments of function-like macros, whose
//! bodies are parsed as comma-separated expressions when they can be), types, field assignments
//! and struct literals, and trait impls. What is not: the type of a method's receiver (a method
//! is matched by name), code produced by macro expansion, and values flowing between functions.

pub mod cfg;
pub mod matcher;
mod visitor;

use super::source::FileCtx;
use crate::diag::Finding;

/// Run the banned rules of `index` (built-ins and the policy's own) over one parsed file.
pub fn visit_file(ctx: &FileCtx<'_>, index: &matcher::Index, file: &syn::File, out: &mut Vec<Finding>) {
    visitor::run(ctx, index, file, out);
}

#[cfg(test)]
mod tests {
    use crate::checks::source::cfg::SourceConfig;
    use crate::checks::source::resolve::CrateIndex;
    use crate::checks::source::testing::{fixture, render};
    use crate::checks::source::{Enabled, FileEnv, scan_source};

    const BANNED: Enabled = Enabled { banned: true, unsafe_code: false, secrets: false };

    fn snap(fixture_name: &str) -> String {
        render("lib.rs", &fixture(fixture_name), BANNED, &SourceConfig::default(), &CrateIndex::new("svc"))
    }

    #[test]
    fn memory_transmute_and_resolution() {
        insta::assert_snapshot!(snap("banned/memory-transmute.rs"));
    }

    #[test]
    fn constants_and_value_namespace() {
        // A local fn named like a crate does not hide the crate's paths; a constant bound to a
        // variable is reported where it is written.
        let t =
            "use openssl::ssl::SslVerifyMode;\nfn openssl() {}\nfn f() { let m = SslVerifyMode::NONE; }\n";
        let out = render("lib.rs", t, BANNED, &SourceConfig::default(), &CrateIndex::new("svc"));
        assert_eq!(
            out,
            "banned/tls-verification-disabled:3:18 tls verification disabled: `SslVerifyMode::NONE` resolved to `openssl::ssl::SslVerifyMode::NONE`"
        );
    }
    #[test]
    fn memory_misc() {
        insta::assert_snapshot!(snap("banned/memory-misc.rs"));
    }

    #[test]
    fn local_definitions_shadow() {
        insta::assert_snapshot!(snap("banned/local-shadowing.rs"));
    }

    #[test]
    fn process() {
        insta::assert_snapshot!(snap("banned/process.rs"));
    }

    #[test]
    fn tls_verification_disabled() {
        insta::assert_snapshot!(snap("banned/tls-verification-disabled.rs"));
    }

    #[test]
    fn jwt() {
        insta::assert_snapshot!(snap("banned/jwt.rs"));
    }

    #[test]
    fn sql_built_with_format() {
        insta::assert_snapshot!(snap("banned/sql-built-with-format.rs"));
    }

    #[test]
    fn reexports_inside_the_crate() {
        let mut index = CrateIndex::new("svc");
        index.add_module(&[]);
        index.add_module(&["util".to_string()]);
        index.add_file(&[], &fixture("banned/reexport/lib.rs"));
        index.add_file(&["util".to_string()], &fixture("banned/reexport/util.rs"));
        let out =
            render("lib.rs", &fixture("banned/reexport/lib.rs"), BANNED, &SourceConfig::default(), &index);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn every_banned_rule_has_a_matcher_and_every_matcher_a_kind() {
        for r in crate::registry::rules().iter().filter(|r| r.check() == "banned") {
            assert!(!r.matchers.is_empty(), "{} matches nothing", r.id);
            for m in &r.matchers {
                let kinds = [&m.paths, &m.methods, &m.macros, &m.types, &m.fields, &m.impls];
                assert!(kinds.iter().any(|k| !k.is_empty()), "{}: a matcher names nothing", r.id);
            }
        }
    }

    #[test]
    fn user_pack_with_macros_and_types() {
        let pack = r#"
[[rule]]
id = "banned/test-include-bytes"
name = "included bytes"
severity = "low"
summary = "s"
what = "w"
why = "w"
example = "e"
instead = "i"
[[rule.match]]
macros = ["std::include_bytes"]
[[rule.match]]
types = ["std::cell::RefCell"]
"#;
        #[derive(serde::Deserialize)]
        struct Pack {
            rule: Vec<crate::registry::Rule>,
        }
        let rules: &'static [crate::registry::Rule] =
            Box::leak(toml::from_str::<Pack>(pack).expect("pack").rule.into_boxed_slice());
        let index = super::matcher::Index::from_rules(rules.iter());
        let text = "use std::cell::RefCell as Cell2;\nstatic B: &[u8] = include_bytes!(\"x.bin\");\nfn f(_: Cell2<u8>, _: core::cell::RefCell<u8>) { let _ = my_include_bytes!(); }\n";
        let file = syn::parse_file(text).expect("parse");
        let empty = CrateIndex::default();
        let ctx = crate::checks::source::FileCtx {
            rel: "a.rs",
            text,
            module: Vec::new(),
            index: &empty,
            unsafe_mode: Default::default(),
            skipped_lines: Vec::new(),
        };
        let mut out = Vec::new();
        super::visit_file(&ctx, &index, &file, &mut out);
        let got: Vec<String> = out
            .iter()
            .map(|f| format!("{}:{} {}", f.location.span.line, f.location.span.column, f.message))
            .collect();
        assert_eq!(
            got,
            vec![
                "2:19 included bytes: `std::include_bytes!`",
                "3:9 included bytes: `Cell2` resolved to `std::cell::RefCell`",
                "3:23 included bytes: `core::cell::RefCell` resolved to `std::cell::RefCell`",
            ]
        );
        let _ = (FileEnv { package: None, index: &empty }, scan_source);
    }
}
