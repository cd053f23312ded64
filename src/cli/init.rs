//! `batchflow init [NAME] [--template T]`: a workflow in `pipelines/`, a commented
//! `batchflow.toml` and `.batchflow/` in `.gitignore`, at the repository root (the current
//! folder when it is in none). Nothing that exists is overwritten.

use super::{eprint_line, usage_error, OK};
use batchflow::init::{self, Template};
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn run(name: Option<&str>, template: Template) -> u8 {
    let name = name.unwrap_or(template.name());
    if let Err(e) = init::check_name(name) {
        return usage_error(&e);
    }
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => return usage_error(&format!("cannot read the current directory: {e}")),
    };
    let root = batchflow::repo_scan::find_root(&cwd).unwrap_or_else(|| cwd.clone());
    let shown = |p: &Path| p.strip_prefix(&cwd).unwrap_or(p).display().to_string();
    let workflow = root.join("pipelines").join(format!("{name}.batchflow"));
    if workflow.exists() {
        return usage_error(&format!(
            "`{}` exists; init never overwrites a file: give another NAME",
            shown(&workflow)
        ));
    }
    match write_all(&root, &workflow, name, template) {
        Ok(notes) => {
            eprint_line(&format!("created {} (template {template})", shown(&workflow)));
            for (done, path) in notes {
                eprint_line(&format!("{done} {}", shown(&path)));
            }
            eprint_line(&format!(
                "next: `batchflow check`, then `batchflow run {}`",
                shown(&workflow)
            ));
            OK
        }
        Err(e) => usage_error(&e),
    }
}

/// Writes the workflow, then the config and `.gitignore` where needed; what was done to each.
fn write_all(
    root: &Path,
    workflow: &Path,
    name: &str,
    template: Template,
) -> Result<Vec<(&'static str, PathBuf)>, String> {
    let text = template.workflow(name);
    let io = |what: &Path, e: std::io::Error| format!("cannot write `{}`: {e}", what.display());
    if let Some(dir) = workflow.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(workflow)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| io(workflow, e))?;
    let mut notes = Vec::new();
    let config = root.join("batchflow.toml");
    if config.exists() {
        notes.push(("kept", config));
    } else {
        std::fs::write(&config, init::CONFIG).map_err(|e| io(&config, e))?;
        notes.push(("created", config));
    }
    let ignore = root.join(".gitignore");
    let existing = match std::fs::read_to_string(&ignore) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read `{}`: {e}", ignore.display())),
    };
    match init::gitignore(existing.as_deref()) {
        Some(text) => {
            std::fs::write(&ignore, text).map_err(|e| io(&ignore, e))?;
            notes.push(("added .batchflow/ to", ignore));
        }
        None => notes.push(("already ignores .batchflow/:", ignore)),
    }
    Ok(notes)
}
