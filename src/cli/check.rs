//! `batchflow check [PATHS]`.

use super::{eprint_human, options, summary, usage_error, Output, FOUND_ERRORS, OK};
use batchflow::diagnostics::{render, Diagnostic, Severity};
use batchflow::repo_scan::find_root;
use batchflow::source::SourceMap;
use std::path::{Path, PathBuf};

pub fn run(paths: &[PathBuf], output: Output, deny_warnings: bool, online: bool, params: &[String]) -> u8 {
    let options = match options(params) {
        Ok(o) => o,
        Err(e) => return usage_error(&e),
    };
    let files = match files(paths) {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let reach = match online.then(|| online_target(&options)).transpose() {
        Ok(r) => r,
        Err(e) => return usage_error(&e),
    };
    let mut sources = SourceMap::new();
    let mut compiled = Vec::new();
    for file in &files {
        match batchflow::compile(file, &mut sources, &options) {
            Ok(c) => {
                super::eprint_hook_log(&c);
                compiled.push(c);
            }
            Err(e) => return usage_error(&format!("cannot read `{}`: {e}", file.display())),
        }
    }
    if let Some(reach) = &reach {
        let workflows: Vec<&batchflow::graph::Workflow> = compiled.iter().filter_map(|c| c.workflow.as_ref()).collect();
        let facts = reach.facts(&batchflow::online::wanted(&workflows));
        for c in &mut compiled {
            if let Some(wf) = &c.workflow {
                batchflow::online::judge(wf, &facts, options.today, &mut c.diagnostics);
            }
        }
    }
    let all: Vec<Diagnostic> = compiled.into_iter().flat_map(|c| c.diagnostics).collect();
    match output {
        Output::Human => {
            eprint_human(&all, &sources);
            let n = files.len();
            super::eprint_line(&format!(
                "checked {n} file{}: {}",
                if n == 1 { "" } else { "s" },
                summary(&all)
            ));
        }
        Output::Github => {
            if let Err(code) = super::print_out(&render::github(&all, &sources)) {
                return code;
            }
        }
        Output::Json => {
            if let Err(code) = super::print_out(&(render::json(&all, &sources) + "\n")) {
                return code;
            }
        }
        Output::Sarif => {
            if let Err(code) = super::print_out(&(batchflow::diagnostics::sarif(&all, &sources) + "\n")) {
                return code;
            }
        }
    }
    let fails = |d: &Diagnostic| d.severity == Severity::Error || (deny_warnings && d.severity == Severity::Warning);
    if all.iter().any(fails) {
        FOUND_ERRORS
    } else {
        OK
    }
}

/// `--online`: the target of `batchflow.toml` and the environment, which must be configured.
fn online_target(options: &batchflow::CompileOptions) -> Result<batchflow::exec::azure::reach::Reach, String> {
    let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    let file = find_root(&cwd)
        .map(|root| batchflow::settings::read(&root))
        .transpose()?
        .unwrap_or_default();
    let env = options.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    batchflow::online::reach(&file, &env)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            "--online needs a Batch account: set AZURE_BATCH_ENDPOINT, or `endpoint` under [target] in batchflow.toml"
                .to_string()
        })
}

/// The files to check: given files, `*.batchflow` under given folders, or with no paths
/// the repository's `pipelines/**/*.batchflow`.
pub fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    if paths.is_empty() {
        let cwd = std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
        let root = find_root(&cwd).ok_or_else(|| {
            "no repository here: give paths, or run inside a repository (a folder with `pipelines/`, `batchflow.toml` or `.git`)".to_string()
        })?;
        let pipelines = root.join("pipelines");
        let mut out = Vec::new();
        if pipelines.is_dir() {
            walk(&pipelines, &mut out).map_err(|e| format!("cannot read `{}`: {e}", pipelines.display()))?;
        }
        // Paths relative to where the user stands read better and match CI annotations.
        for p in &mut out {
            if let Some(rel) = pathdiff(p, &cwd) {
                *p = rel;
            }
        }
        if out.is_empty() {
            return Err(format!(
                "no workflows in `{}`: put `*.batchflow` files there, or give paths",
                pipelines.display()
            ));
        }
        return Ok(out);
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            walk(p, &mut out).map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
            if out.len() == before {
                return Err(format!("no `*.batchflow` files in `{}`", p.display()));
            }
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(format!("`{}` does not exist", p.display()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "batchflow") {
            out.push(path);
        }
    }
    Ok(())
}

/// `path` relative to `base` when `base` is one of its ancestors or shares one with it.
fn pathdiff(path: &Path, base: &Path) -> Option<PathBuf> {
    let common = base.ancestors().find(|a| path.starts_with(a))?;
    let ups = base.strip_prefix(common).ok()?.components().count();
    let mut rel = PathBuf::new();
    for _ in 0..ups {
        rel.push("..");
    }
    rel.push(path.strip_prefix(common).ok()?);
    Some(rel)
}
