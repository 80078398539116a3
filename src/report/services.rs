//! `fleetward services`: the fleet inventory (every package, service or library, with its
//! workspace, lockfile and direct dependency count), as a human table or JSON version 1.
//!
//! Manifests that could not be parsed are listed after the table (human) or in an `errors` array
//! (JSON), paths discovery did not scan (symlinks leaving the root, loops, unreadable
//! directories) likewise under `skipped`; neither changes the exit status of this command.

use crate::cli::ListFormat;
use crate::diag::PARSE_ERROR;
use crate::discover::SKIPPED_PATH;
use crate::workspace::{Fleet, Package, PackageKind};
use serde_json::{Value, json};
use std::io::{self, Write};

pub fn render(fleet: &Fleet, format: ListFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        ListFormat::Human => human(fleet, out),
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &to_json(fleet))?;
            writeln!(out)
        }
    }
}

/// Services first, then libraries; each group by path.
fn ordered(fleet: &Fleet) -> Vec<&Package> {
    let mut v: Vec<&Package> = fleet.packages.iter().collect();
    v.sort_by(|a, b| (a.kind, &a.manifest).cmp(&(b.kind, &b.manifest)));
    v
}

/// The JSON document: `{ "version": 1, "services": [...], "errors": [...] }`.
pub fn to_json(fleet: &Fleet) -> Value {
    let services: Vec<Value> = fleet
        .packages
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "kind": p.kind.as_str(),
                "version": p.version,
                "path": p.dir,
                "manifest": p.manifest,
                "workspace": p.workspace,
                "lockfile": p.lockfile,
                "bins": p.bins,
                "dependencies": p.direct_dependency_count(),
            })
        })
        .collect();
    let errors: Vec<Value> = fleet
        .problems
        .iter()
        .filter(|f| f.rule == PARSE_ERROR)
        .map(|f| {
            let mut e = serde_json::Map::new();
            if let Some(s) = f.services.first() {
                e.insert("service".into(), json!(s));
            }
            e.insert("file".into(), json!(f.location.file));
            e.insert("line".into(), json!(f.location.span.line));
            e.insert("message".into(), json!(f.message));
            Value::Object(e)
        })
        .collect();
    let skipped: Vec<Value> = fleet
        .problems
        .iter()
        .filter(|f| f.rule == SKIPPED_PATH)
        .map(|f| json!({ "path": f.location.file, "message": f.message }))
        .collect();
    json!({ "version": 1, "services": services, "errors": errors, "skipped": skipped })
}

fn human(fleet: &Fleet, out: &mut dyn Write) -> io::Result<()> {
    let packages = ordered(fleet);
    if packages.is_empty() {
        writeln!(out, "no Cargo packages found")?;
    } else {
        let header = ["NAME", "KIND", "PATH", "WORKSPACE", "LOCKFILE", "DEPS"];
        let rows: Vec<[String; 6]> = packages
            .iter()
            .map(|p| {
                [
                    p.name.clone(),
                    p.kind.as_str().to_string(),
                    p.dir.clone(),
                    p.workspace.clone(),
                    p.lockfile.clone().unwrap_or_else(|| "-".to_string()),
                    p.direct_dependency_count().to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: [&str; 6]| {
            let mut s = String::new();
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i == 5 {
                    s.push_str(&format!("{cell:>w$}"));
                } else {
                    s.push_str(&format!("{cell:<w$}  "));
                }
            }
            s
        };
        writeln!(out, "{}", line(header))?;
        for row in &rows {
            writeln!(out, "{}", line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]))?;
        }
        let services = packages.iter().filter(|p| p.kind == PackageKind::Service).count();
        let libraries = packages.len() - services;
        let workspaces = fleet.workspaces.iter().filter(|w| !w.members.is_empty()).count();
        writeln!(
            out,
            "\n{} ({} {}, {} {}) in {} {}",
            plural(packages.len(), "package"),
            services,
            if services == 1 { "service" } else { "services" },
            libraries,
            if libraries == 1 { "library" } else { "libraries" },
            workspaces,
            if workspaces == 1 { "workspace" } else { "workspaces" },
        )?;
    }
    let errors: Vec<_> = fleet.problems.iter().filter(|f| f.rule == PARSE_ERROR).collect();
    if !errors.is_empty() {
        writeln!(out, "\n{} could not be read:", plural(errors.len(), "manifest"))?;
        for f in errors {
            writeln!(out, "  {}:{}: {}", f.location.file, f.location.span.line, f.message)?;
        }
    }
    let skipped: Vec<_> = fleet.problems.iter().filter(|f| f.rule == SKIPPED_PATH).collect();
    if !skipped.is_empty() {
        writeln!(out, "\n{} not scanned:", plural(skipped.len(), "path"))?;
        for f in skipped {
            writeln!(out, "  {}", f.message)?;
        }
    }
    Ok(())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("1 {word}") } else { format!("{n} {word}s") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::Workspace;

    fn package(name: &str, kind: PackageKind, dir: &str) -> Package {
        Package {
            name: name.into(),
            version: Some("0.1.0".into()),
            kind,
            manifest: format!("{dir}/Cargo.toml"),
            dir: dir.into(),
            workspace: "svc".into(),
            lockfile: Some("svc/Cargo.lock".into()),
            dependencies: Vec::new(),
            bins: Vec::new(),
        }
    }

    #[test]
    fn human_table_lists_services_first_with_a_summary() {
        let fleet = Fleet {
            packages: vec![
                package("core", PackageKind::Library, "svc/core"),
                package("api", PackageKind::Service, "svc/z-api"),
            ],
            workspaces: vec![Workspace {
                manifest: "svc/Cargo.toml".into(),
                dir: "svc".into(),
                members: vec![0, 1],
                default_members: vec![0, 1],
                lockfile: Some("svc/Cargo.lock".into()),
                is_virtual: true,
            }],
            problems: vec![crate::diag::parse_error("bad/Cargo.toml", 3, 1, "invalid TOML: x")],
            ..Fleet::default()
        };
        let mut out = Vec::new();
        render(&fleet, ListFormat::Human, &mut out).expect("render");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAME  KIND     PATH"), "{text}");
        assert!(lines[1].starts_with("api   service  svc/z-api"), "{text}");
        assert!(text.contains("2 packages (1 service, 1 library) in 1 workspace"), "{text}");
        assert!(text.contains("  bad/Cargo.toml:3: invalid TOML: x"), "{text}");
        let json = to_json(&fleet);
        assert_eq!(json["errors"][0]["line"], 3);
        assert_eq!(json["services"][1]["kind"], "service");
    }
}
