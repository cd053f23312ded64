//! `batchflow plan FILE` and `batchflow graph FILE`.

use super::{eprint_human, options, usage_error, FOUND_ERRORS, OK};
use batchflow::exec::{cache, plan_tasks, rerun};
use batchflow::plan;
use batchflow::render_graph;
use batchflow::source::SourceMap;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

/// Compiles a file for planning or drawing: problems printed; `Err` with the exit code when
/// it must stop, else the compiled file and its workflow.
fn compiled(
    file: &Path,
    params: &[String],
    sources: &mut SourceMap,
) -> Result<(batchflow::Compiled, batchflow::graph::Workflow), u8> {
    let options = options(params).map_err(|e| usage_error(&e))?;
    let mut compiled = batchflow::compile(file, sources, &options)
        .map_err(|e| usage_error(&format!("cannot read `{}`: {e}", file.display())))?;
    super::eprint_hook_log(&compiled);
    eprint_human(&compiled.diagnostics, sources);
    if compiled.has_errors() {
        super::eprint_line(&format!(
            "{}: {}; fix them first",
            file.display(),
            super::summary(&compiled.diagnostics)
        ));
        return Err(FOUND_ERRORS);
    }
    let wf = compiled.workflow.take().ok_or(FOUND_ERRORS)?;
    Ok((compiled, wf))
}

pub fn run(file: &Path, json: bool, api_version: String, offline: bool, params: &[String]) -> u8 {
    if let Err(why) = plan::api_version::check(&api_version) {
        return usage_error(&format!("--api-version: {why}"));
    }
    if let Some(note) = plan::api_version::untested(&api_version) {
        super::eprint_line(&note);
    }
    let mut sources = SourceMap::new();
    let (compiled, wf) = match compiled(file, params, &mut sources) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = plan::plan(&wf, compiled.hooks.as_ref(), &compiled.plan_options(api_version));
    super::eprint_hook_log(&compiled);
    let mut plan = match plan {
        Ok(p) => p,
        Err(diags) => {
            eprint_human(&diags, &sources);
            return FOUND_ERRORS;
        }
    };
    plan.estimate = Some(estimate(&wf, offline));
    let repo = std::env::current_dir()
        .ok()
        .map(|cwd| batchflow::exec::state::repo_root(&cwd));
    let cached = cached(&plan, repo.as_deref(), offline);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = if json {
        as_json(&plan, &cached).and_then(|text| writeln!(out, "{text}"))
    } else {
        out.write_all(plan::text::render_marked(&plan, &marks(&plan, &cached)).as_bytes())
    };
    match written.and_then(|()| out.flush()) {
        Ok(()) => OK,
        // A closed pipe (`| head`) is not an error worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => OK,
        Err(e) => usage_error(&format!("cannot write the plan: {e}")),
    }
}

/// The tasks the task cache would take now, with the run whose outputs each is; nothing
/// is brought back (a run does that).
fn cached(plan: &plan::Plan, repo: Option<&Path>, offline: bool) -> HashMap<(String, String), String> {
    let Some(repo) = repo else {
        return HashMap::new();
    };
    let consulted = cache::consult(&cache::Asked {
        plan,
        repo,
        env: &super::environment(),
        carried: &HashSet::new(),
        restore: false,
        reuse: true,
        offline,
    });
    for note in &consulted.notes {
        super::eprint_line(&format!("note: {note}"));
    }
    consulted.reused
}

/// Which steps the cached tasks leave with less, or nothing, to do.
fn marks(plan: &plan::Plan, cached: &HashMap<(String, String), String>) -> plan::text::Marks {
    if cached.is_empty() {
        return plan::text::Marks::default();
    }
    let set: HashSet<(String, String)> = cached.keys().cloned().collect();
    let mut marks = plan::text::Marks {
        skipped: rerun::idle_steps(plan, &set),
        total: set.len(),
        ..Default::default()
    };
    for step in plan.steps.iter().filter(|s| s.tasks > 0) {
        let one: HashSet<String> = [step.id.clone()].into();
        let n = plan_tasks::tasks_of_steps(plan, &one).intersection(&set).count();
        marks.cached.insert(step.id.clone(), n);
    }
    marks
}

/// The plan as JSON (its fields in their order), with `cached` last: the tasks the cache
/// would take, and from which run.
fn as_json(plan: &plan::Plan, cached: &HashMap<(String, String), String>) -> std::io::Result<String> {
    let text = serde_json::to_string(plan)?;
    if cached.is_empty() {
        return Ok(text);
    }
    let mut list: Vec<(&String, &String, &String)> = cached.iter().map(|((j, t), r)| (j, t, r)).collect();
    list.sort();
    let list: Vec<serde_json::Value> = list
        .into_iter()
        .map(|(job, task, run)| serde_json::json!({"job": job, "task": task, "from": run}))
        .collect();
    let body = text.strip_suffix('}').unwrap_or(&text);
    Ok(format!("{body},\"cached\":{}}}", serde_json::Value::Array(list)))
}

/// The run's cost, priced when an account is configured (see `docs/plan.md`); what could not
/// be priced is said on stderr and stays unknown.
fn estimate(wf: &batchflow::graph::Workflow, offline: bool) -> batchflow::plan::estimate::Estimate {
    let env: std::collections::HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let file = std::env::current_dir()
        .ok()
        .and_then(|cwd| batchflow::repo_scan::find_root(&cwd))
        .and_then(|root| batchflow::settings::read(&root).ok())
        .unwrap_or_default();
    let reach = batchflow::online::reach(&file, &env).unwrap_or_else(|e| {
        super::eprint_line(&format!("note: the run is not priced: {e}"));
        None
    });
    let (estimate, notes) = batchflow::online::estimate(reach.as_ref(), wf, None, offline);
    for note in notes {
        super::eprint_line(&format!("note: {note}"));
    }
    estimate
}

pub fn graph(file: &Path, format: render_graph::Format, instances: bool, params: &[String]) -> u8 {
    let mut sources = SourceMap::new();
    let (_, wf) = match compiled(file, params, &mut sources) {
        Ok(c) => c,
        Err(code) => return code,
    };
    super::print_out(&render_graph::render(&wf, format, instances))
        .err()
        .unwrap_or(OK)
}
