//! `fleetward routes`: the route inventory of every service (method, path, handler, verdict,
//! what protects it), as a human table or JSON version 1; `--suggest-policy` adds the
//! auth-looking names the policy does not name yet.

use crate::checks::auth::Analysis;
use crate::cli::ListFormat;
use serde_json::{Value, json};
use std::io::{self, Write};

pub fn render(a: &Analysis, format: ListFormat, suggest: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &to_json(a, suggest))?;
            writeln!(out)
        }
        ListFormat::Human => human(a, suggest, out),
    }
}

pub fn to_json(a: &Analysis, suggest: bool) -> Value {
    let routes: Vec<Value> = a
        .routes
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("file".into(), json!(r.registration.file));
                o.insert("line".into(), json!(r.registration.line));
            }
            v
        })
        .collect();
    let errors: Vec<Value> = a
        .findings
        .iter()
        .filter(|f| f.rule == crate::diag::PARSE_ERROR)
        .map(|f| json!({ "file": f.location.file, "line": f.location.span.line, "message": f.message }))
        .collect();
    let mut doc = json!({ "version": 1, "routes": routes, "errors": errors });
    if suggest {
        let s: Vec<Value> = a
            .suggestions
            .iter()
            .map(|(kind, name, at)| json!({ "list": kind, "name": name, "seen": at }))
            .collect();
        doc.as_object_mut().expect("object").insert("suggestions".into(), json!(s));
    }
    doc
}

fn human(a: &Analysis, suggest: bool, out: &mut dyn Write) -> io::Result<()> {
    if a.routes.is_empty() {
        writeln!(
            out,
            "no routes found (no served router of axum, actix-web, rocket, warp, poem, tonic or salvo)"
        )?;
    }
    let mut service = "";
    for r in &a.routes {
        if r.service != service {
            service = &r.service;
            writeln!(out, "\n{service}")?;
        }
        let how = match r.verdict.as_str() {
            "protected" => format!("by {}", r.protected_by.join(", ")),
            _ => r.reason.clone(),
        };
        let pitfalls =
            if r.pitfalls.is_empty() { String::new() } else { format!(" [{}]", r.pitfalls.join(", ")) };
        writeln!(
            out,
            "  {:<12} {:<7} {:<32} {:<24} {}:{}  {how}{pitfalls}",
            r.verdict,
            r.methods.join(","),
            r.path,
            r.handler,
            r.registration.file,
            r.registration.line
        )?;
    }
    let count = |v: &str| a.routes.iter().filter(|r| r.verdict == v).count();
    writeln!(
        out,
        "\n{} routes: {} protected, {} unprotected, {} public, {} unresolvable",
        a.routes.len(),
        count("protected"),
        count("unprotected"),
        count("public"),
        count("unresolvable")
    )?;
    for f in a.findings.iter().filter(|f| f.rule == crate::diag::PARSE_ERROR) {
        writeln!(out, "error: {}:{}: {}", f.location.file, f.location.span.line, f.message)?;
    }
    if suggest {
        if a.suggestions.is_empty() {
            writeln!(out, "\nno suggestions: every auth-looking name is in the policy")?;
        } else {
            writeln!(out, "\nsuggested [auth.names] entries (check each before adding it):")?;
            for (kind, name, at) in &a.suggestions {
                writeln!(out, "  {kind:<15} {name:<40} seen at {at}")?;
            }
        }
    }
    Ok(())
}
