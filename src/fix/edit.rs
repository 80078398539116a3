//! Rewriting one dependency requirement in a `Cargo.toml` with `toml_edit`: only the version
//! string changes; comments, order, spacing and quoting of everything else survive.

use super::plan::Edit;
use toml_edit::{DocumentMut, Item, Value};

/// `text` with the requirement of `edit` replaced, or why it could not be.
pub fn apply(text: &str, edit: &Edit) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{}: {e}", edit.manifest))?;
    let table = match (&edit.target, edit.table.as_str()) {
        (_, "workspace.dependencies") => doc.get_mut("workspace").and_then(|w| w.get_mut("dependencies")),
        (Some(target), kind) => {
            doc.get_mut("target").and_then(|t| t.get_mut(target.as_str())).and_then(|t| t.get_mut(kind))
        }
        (None, kind) => doc.get_mut(kind),
    };
    let where_ = || format!("`{}` in [{}] of {}", edit.key, edit.table, edit.manifest);
    let item = table
        .and_then(|t| t.get_mut(edit.key.as_str()))
        .filter(|i| !i.is_none())
        .ok_or_else(|| format!("{} is missing", where_()))?;
    let slot: &mut Value = match item {
        Item::Value(Value::String(_)) => item.as_value_mut().expect("a value"),
        Item::Value(Value::InlineTable(t)) => {
            t.get_mut("version").ok_or_else(|| format!("{} has no version", where_()))?
        }
        Item::Table(t) => t
            .get_mut("version")
            .and_then(Item::as_value_mut)
            .ok_or_else(|| format!("{} has no version", where_()))?,
        _ => return Err(format!("{} is not a requirement fleetward can edit", where_())),
    };
    if slot.as_str().map(str::trim) != Some(edit.from.trim()) {
        return Err(format!(
            "{} is {} now, not {:?} as planned",
            where_(),
            slot.to_string().trim(),
            edit.from
        ));
    }
    let decor = slot.decor().clone();
    *slot = Value::from(edit.to.as_str());
    *slot.decor_mut() = decor;
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(table: &str, target: Option<&str>, key: &str, from: &str, to: &str) -> Edit {
        Edit {
            manifest: "Cargo.toml".into(),
            line: 1,
            table: table.into(),
            target: target.map(String::from),
            key: key.into(),
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn only_the_requirement_changes() {
        let text = "[package]\nname = \"a\" # the name\n\n[dependencies]\n# why we use it\nleaky = \"0.1\"   # pinned\nother = { version = \"1\", features = [\"x\"] }\n\n[dependencies.tabled]\nversion = \"0.3\"\n\n[target.'cfg(unix)'.dev-dependencies]\nleaky = { version = \"=0.1.0\", optional = true }\n\n[workspace.dependencies]\nshared = \"2.1\"\n";
        let out = apply(text, &edit("dependencies", None, "leaky", "0.1", "0.2")).unwrap();
        assert_eq!(out, text.replace("leaky = \"0.1\"   # pinned", "leaky = \"0.2\"   # pinned"));
        let out = apply(text, &edit("dependencies", None, "other", "1", "2")).unwrap();
        assert!(out.contains("other = { version = \"2\", features = [\"x\"] }"), "{out}");
        let out = apply(text, &edit("dependencies", None, "tabled", "0.3", "0.4.1")).unwrap();
        assert!(out.contains("[dependencies.tabled]\nversion = \"0.4.1\"\n"), "{out}");
        let out =
            apply(text, &edit("dev-dependencies", Some("cfg(unix)"), "leaky", "=0.1.0", "=0.1.2")).unwrap();
        assert!(out.contains("leaky = { version = \"=0.1.2\", optional = true }"), "{out}");
        let out = apply(text, &edit("workspace.dependencies", None, "shared", "2.1", "2.3.4")).unwrap();
        assert!(out.ends_with("shared = \"2.3.4\"\n"), "{out}");
    }

    #[test]
    fn a_requirement_that_changed_since_the_plan_is_not_touched() {
        let text = "[dependencies]\nleaky = \"0.3\"\n";
        let e = apply(text, &edit("dependencies", None, "leaky", "0.1", "0.2")).unwrap_err();
        assert!(e.contains("not \"0.1\" as planned"), "{e}");
        let e = apply(text, &edit("dependencies", None, "gone", "0.1", "0.2")).unwrap_err();
        assert!(e.contains("is missing"), "{e}");
    }
}
