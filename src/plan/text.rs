//! `batchflow plan --format text`: the steps as a readable table.

use super::{Action, Plan, Wait};
use crate::graph::{Image, Job, Pool, Workflow};
use crate::value::{format_bytes, format_duration};
use std::fmt::Write;

pub fn pool_summary(pool: &Pool) -> String {
    let mut out = format!("pool `{}`: {}", pool.name.value, pool.vm_size.as_deref().unwrap_or("?"));
    match &pool.autoscale {
        Some(_) => out.push_str(", autoscale"),
        None => {
            let _ = write!(out, " x {} dedicated", pool.dedicated.unwrap_or(0));
            if let Some(low) = pool.low_priority.filter(|n| *n > 0) {
                let _ = write!(out, " + {low} low-priority");
            }
        }
    }
    match &pool.image {
        Some(Image::Marketplace {
            publisher, offer, sku, ..
        }) => {
            let _ = write!(out, ", {publisher}/{offer}/{sku}");
        }
        Some(Image::Managed { .. }) => out.push_str(", managed image"),
        Some(Image::Gallery { .. }) => out.push_str(", gallery image"),
        None => {}
    }
    if let Some(c) = &pool.containers {
        let _ = write!(out, ", containers ({} prefetched)", c.images.len());
    }
    if pool.start_task.is_some() {
        out.push_str(", start task");
    }
    out
}

pub fn job_summary(wf: &Workflow, job: &Job) -> String {
    let tasks: u64 = job
        .templates
        .iter()
        .filter_map(|t| wf.template(*t))
        .map(|t| u64::from(t.count))
        .sum();
    let mut out = format!(
        "job `{}` on `{}`: {tasks} tasks",
        job.name.value,
        job.pool.and_then(|p| wf.pool(p)).map_or("?", |p| &p.name.value)
    );
    if let Some(t) = job.max_wall_clock {
        let _ = write!(out, ", max wall clock {}", format_duration(t));
    }
    for template in job.templates.iter().filter_map(|t| wf.template(*t)) {
        let Some(task) = template.instances().next().and_then(|id| wf.task(id)) else {
            continue;
        };
        let Some(mi) = &task.spec.multi_instance else { continue };
        let Some(launch) = &mi.mpi else { continue };
        let _ = write!(
            out,
            "\n`{}`: {} on {} nodes x {} processes (batchflow explain mpi)\n  command: {}\n  coordination: {}",
            template.name.value,
            launch.mpi.word(),
            mi.nodes,
            launch.processes_per_node,
            task.spec.command.as_deref().unwrap_or(""),
            mi.coordination
        );
    }
    out
}

/// What the task cache would take, shown on the steps of `batchflow plan` (the run decides
/// again when it starts).
#[derive(Debug, Default)]
pub struct Marks {
    /// Steps with nothing to do: every task of their job (or every job of their pool) cached.
    pub skipped: std::collections::HashSet<String>,
    /// For `add-tasks` steps: how many of their tasks are cached.
    pub cached: std::collections::HashMap<String, usize>,
    /// How many tasks in all are cached.
    pub total: usize,
}

pub fn render(plan: &Plan) -> String {
    render_marked(plan, &Marks::default())
}

/// The plan, with what the task cache would skip marked.
pub fn render_marked(plan: &Plan, marks: &Marks) -> String {
    let tasks: usize = plan.steps.iter().map(|s| s.tasks).sum();
    let requests = plan
        .steps
        .iter()
        .filter(|s| matches!(s.action, Action::Request { .. }))
        .count();
    let mut out = format!(
        "plan for `{}` (api-version {}): {} steps, {requests} requests, {tasks} tasks\n\n",
        plan.workflow,
        plan.api_version,
        plan.steps.len()
    );
    if let Some(estimate) = &plan.estimate {
        for line in super::estimate::describe(estimate) {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    if marks.total > 0 {
        let _ = writeln!(
            out,
            "task cache: {} of {tasks} tasks succeeded before with the same key and their outputs are there; they are not sent (`--no-cache` sends them)\n",
            marks.total
        );
    }
    let width = plan
        .steps
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(0)
        .max("upload-inputs".len());
    out.push_str(&uploads(plan, width));
    for step in &plan.steps {
        let (verb, path) = match &step.action {
            Action::Request { method, path, .. } => (*method, path.as_str()),
            Action::Wait { wait, path } => (
                match wait {
                    Wait::PoolReady | Wait::JobCompleted => "WAIT",
                },
                path.as_str(),
            ),
        };
        let _ = writeln!(out, "  {:width$}  {verb:<5} {path}", step.id);
        if marks.skipped.contains(&step.id) {
            let _ = writeln!(
                out,
                "  {:width$}        skipped: nothing to do, every task is cached",
                ""
            );
        } else if let Some(n) = marks.cached.get(&step.id).filter(|n| **n > 0) {
            let _ = writeln!(
                out,
                "  {:width$}        {n} of {} tasks cached: not sent",
                "", step.tasks
            );
        }
        for line in step.summary.lines() {
            let _ = writeln!(out, "  {:width$}        {line}", "");
        }
        if !step.after.is_empty() {
            let _ = writeln!(out, "  {:width$}        after {}", "", step.after.join(", "));
        }
    }
    out.push_str(&deliveries(plan, width));
    out.push_str("\nsecrets appear as <secret:NAME>; they are read from the environment when the workflow runs.\n");
    if !plan.staging.uploads.is_empty() || plan.staging.storage.configured {
        out.push_str(
            "storage appears as <repo:PATH> (a repository file's blob, by content), <blob:C/P>, <container:C> and <outputs:C>, and the run's id as <run>; each URL gets its <sas> when the workflow runs.\n",
        );
    }
    out
}

/// Most files listed one by one; the rest are counted.
const LISTED: usize = 20;

/// The repository files a run on Batch uploads before it creates anything.
fn uploads(plan: &Plan, width: usize) -> String {
    let list = &plan.staging.uploads;
    if list.is_empty() {
        return String::new();
    }
    let total: u64 = list.iter().map(|u| u.size).sum();
    let mut out = format!(
        "  {:width$}  PUT   container `{}`, by content (cas/<sha256>: a file already there is not sent again)\n  {:width$}        {} repository file{}, {}\n",
        "upload-inputs",
        plan.staging.storage.container,
        "",
        list.len(),
        if list.len() == 1 { "" } else { "s" },
        format_bytes(total)
    );
    let name = list.iter().take(LISTED).map(|u| u.path.len()).max().unwrap_or(0);
    let lines = list
        .iter()
        .map(|u| format!("{:name$}  {}", u.path, format_bytes(u.size)));
    listing(&mut out, width, list.len(), lines);
    out.push('\n');
    out
}

/// The outputs that come back into the repository as each task succeeds.
fn deliveries(plan: &Plan, width: usize) -> String {
    let list = &plan.staging.deliveries;
    if list.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n  {:width$}  GET   container `{}` (or the run folder, on this machine)\n  {:width$}        {} output{} into the repository, each as its task succeeds\n",
        "bring-back",
        plan.staging.storage.container,
        "",
        list.len(),
        if list.len() == 1 { "" } else { "s" }
    );
    let lines = list.iter().map(|d| {
        let from = if d.prefix {
            format!("{}/**", d.blob.trim_end_matches('/'))
        } else {
            d.blob.clone()
        };
        format!("{}/{}: {from} -> {}", d.job, d.task, d.to)
    });
    listing(&mut out, width, list.len(), lines);
    out
}

/// The first [`LISTED`] of a pseudo-step's `total` lines, indented under it, then how many
/// more there are.
fn listing(out: &mut String, width: usize, total: usize, lines: impl Iterator<Item = String>) {
    for line in lines.take(LISTED) {
        let _ = writeln!(out, "  {:width$}          {line}", "");
    }
    if total > LISTED {
        let _ = writeln!(out, "  {:width$}          ... and {} more", "", total - LISTED);
    }
}
