//! `fleetward rules [ID]`: list the rules, or explain one.

use crate::cli::ListFormat;
use crate::registry;
use std::io::{self, Write};

pub fn render(id: Option<&str>, format: ListFormat, out: &mut dyn Write) -> io::Result<()> {
    let rules = registry::all_rules();
    match (id, format) {
        (None, ListFormat::Human) => {
            let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
            for r in &rules {
                writeln!(out, "{:width$}  {:8}  {}", r.id, r.severity.as_str(), r.summary)?;
            }
        }
        (None, ListFormat::Json) => {
            let list: Vec<_> = rules.iter().map(|r| rule_json(r)).collect();
            serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "version": 1, "rules": list }))?;
            writeln!(out)?;
        }
        (Some(id), format) => {
            let Some(r) = registry::rule(id) else {
                let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
                let hint = crate::commands::closest(id, &ids)
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default();
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no rule `{id}`{hint}; `fleetward rules` lists them"),
                ));
            };
            match format {
                ListFormat::Human => {
                    writeln!(out, "{} ({}, default severity {})\n", r.id, r.name, r.severity)?;
                    writeln!(out, "{}", r.text())?;
                }
                ListFormat::Json => {
                    serde_json::to_writer_pretty(&mut *out, &rule_json(r))?;
                    writeln!(out)?;
                }
            }
        }
    }
    Ok(())
}

fn rule_json(r: &registry::Rule) -> serde_json::Value {
    serde_json::json!({
        "id": r.id, "name": r.name, "severity": r.severity, "summary": r.summary,
        "tags": r.tags, "references": r.references, "markdown": r.markdown(),
    })
}
