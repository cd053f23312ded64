//! `run FILE --rerun-failed [RUN]`: a new run of the tasks that did not succeed in an earlier
//! run of the same workflow, and of everything that depends on them. The tasks that succeeded
//! go into the new run's record as succeeded, with the run whose outputs they are (`from`):
//! the driver hands that record to the backend as resume does, so neither backend runs them,
//! and their outputs stay where that run left them.

use super::error::RunError;
use super::runs;
use super::state::{RunDir, RunState, TaskRecord};
use super::TaskState;
use crate::plan::batch_api::TaskIdRange;
use crate::plan::task_graph::TaskGraph;
use crate::plan::{Plan, StepKind};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What a rerun starts from: the earlier run and the new run's task records.
#[derive(Debug)]
pub struct Rerun {
    /// The run it reruns.
    pub of: String,
    /// Every task of the plan: to run again (waiting), or carried over (succeeded, `from`).
    pub tasks: Vec<TaskRecord>,
    /// How many run again.
    pub again: usize,
}

impl Rerun {
    pub fn reused(&self) -> usize {
        self.tasks.len() - self.again
    }
}

/// The run `which` names (an id, a unique prefix; `""` or `latest` for the newest run of
/// `file`), to rerun. Refused when it is of another workflow file, still running, or gone.
pub fn earlier(root: &Path, which: &str, file: &Path) -> Result<RunState, RunError> {
    let full = format!("run it all with `batchflow run {}`", file.display());
    let dir = if which.is_empty() || which == "latest" {
        runs::newest_of(root, file)
            .ok_or_else(|| RunError::Refused(format!("no earlier run of `{}` to rerun; {full}", file.display())))?
    } else {
        runs::find(root, which).map_err(|_| {
            RunError::Refused(format!(
                "no run `{which}` under {} (its folder is gone, or it never was): nothing to rerun from; {full}",
                root.display()
            ))
        })?
    };
    let (st, _) = RunDir::open(dir.clone()).load().map_err(|e| {
        RunError::Refused(format!(
            "cannot read the state of run `{}` ({e}): nothing to rerun from; {full}",
            dir.display()
        ))
    })?;
    if !runs::is_run_of(&st, &runs::repo_of(root), file) {
        return Err(RunError::Refused(format!(
            "run `{}` is a run of `{}`, not of `{}`",
            st.run_id,
            st.file,
            file.display()
        )));
    }
    if st.status_text() == "running" {
        return Err(RunError::Refused(format!(
            "run `{}` is still running (process {}); rerun it once it ends",
            st.run_id, st.owner_pid
        )));
    }
    Ok(st)
}

/// The new run's tasks: those of `plan` that succeeded in `earlier` are carried over, unless
/// they depend (through `dependsOn`, or their job coming after another) on one that runs again.
pub fn select(plan: &Plan, earlier: &RunState) -> Rerun {
    let before: HashMap<(&str, &str), &TaskRecord> = earlier
        .tasks
        .iter()
        .map(|t| ((t.job.as_str(), t.task.as_str()), t))
        .collect();
    let graph = TaskGraph::of(plan);
    let mut again: HashSet<(String, String)> = graph
        .tasks
        .iter()
        .filter(|k| {
            !before
                .get(&(k.0.as_str(), k.1.as_str()))
                .is_some_and(|t| t.state == TaskState::Succeeded)
        })
        .cloned()
        .collect();
    // To a fixed point: a task runs again when one it depends on does, or its job comes after
    // a job with a task that does.
    loop {
        let jobs_again: HashSet<&str> = again.iter().map(|(j, _)| j.as_str()).collect();
        let more: Vec<(String, String)> = graph
            .tasks
            .iter()
            .filter(|k| !again.contains(*k))
            .filter(|k| {
                graph
                    .deps
                    .get(*k)
                    .is_some_and(|d| d.iter().any(|t| again.contains(&(k.0.clone(), t.clone()))))
                    || graph
                        .jobs_before
                        .get(&k.0)
                        .is_some_and(|b| b.iter().any(|j| jobs_again.contains(j.as_str())))
            })
            .cloned()
            .collect();
        if more.is_empty() {
            break;
        }
        again.extend(more);
    }
    let tasks: Vec<TaskRecord> = graph
        .tasks
        .iter()
        .map(|(job, task)| match before.get(&(job.as_str(), task.as_str())) {
            Some(old) if !again.contains(&(job.clone(), task.clone())) => TaskRecord {
                pid: None,
                reason: None,
                from: Some(old.from.clone().unwrap_or_else(|| earlier.run_id.clone())),
                ..(*old).clone()
            },
            _ => TaskRecord::waiting(job.clone(), task.clone()),
        })
        .collect();
    Rerun {
        of: earlier.run_id.clone(),
        again: again.len(),
        tasks,
    }
}

/// A task of a collection body about to be sent, without its dependencies on `carried` (ids
/// of its job that this run does not run: they succeeded before, so there is nothing to wait
/// for, and Batch must not wait for a task its job never gets). Ranges are split around them.
pub fn drop_carried_deps(task: &mut Value, carried: &HashSet<&str>) {
    let Some(deps) = task.get_mut("dependsOn").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(ids) = deps.get_mut("taskIds").and_then(Value::as_array_mut) {
        ids.retain(|i| !i.as_str().is_some_and(|s| carried.contains(s)));
    }
    let carried_nums: Vec<u64> = carried.iter().filter_map(|c| c.parse::<u64>().ok()).collect();
    if let Some(ranges) = deps.get("taskIdRanges").cloned() {
        let ranges: Vec<TaskIdRange> = serde_json::from_value(ranges).unwrap_or_default();
        let split = split_ranges(&ranges, &carried_nums);
        deps.insert(
            "taskIdRanges".into(),
            serde_json::to_value(split).unwrap_or(Value::Array(Vec::new())),
        );
    }
    for key in ["taskIds", "taskIdRanges"] {
        if deps.get(key).and_then(Value::as_array).is_some_and(Vec::is_empty) {
            deps.remove(key);
        }
    }
    if deps.is_empty() {
        if let Some(t) = task.as_object_mut() {
            t.remove("dependsOn");
        }
    }
}

/// A collection body about to be sent, without the tasks of `carried` and without any
/// dependency on them.
pub fn collection_without(body: &str, carried: &HashSet<&str>) -> Result<String, serde_json::Error> {
    let mut v: Value = serde_json::from_str(body)?;
    if let Some(tasks) = v.get_mut("value").and_then(Value::as_array_mut) {
        tasks.retain(|t| {
            !t.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| carried.contains(id))
        });
        for t in tasks.iter_mut() {
            drop_carried_deps(t, carried);
        }
    }
    serde_json::to_string(&v)
}

/// The steps a rerun has nothing to do in: those of a job whose every task is carried over,
/// and those of a pool whose every job is such a job (no pool is made for nothing).
pub fn idle_steps(plan: &Plan, carried: &HashSet<(String, String)>) -> HashSet<String> {
    if carried.is_empty() {
        return HashSet::new();
    }
    let graph = TaskGraph::of(plan);
    let busy: HashSet<&str> = graph
        .tasks
        .iter()
        .filter(|k| !carried.contains(*k))
        .map(|(job, _)| job.as_str())
        .collect();
    let pool_of_create: HashMap<&str, &str> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::CreatePool { pool } | StepKind::CreateArmPool { pool } => Some((s.id.as_str(), pool.as_str())),
            _ => None,
        })
        .collect();
    let mut pools_busy: HashSet<&str> = HashSet::new();
    let mut pools_any: HashSet<&str> = HashSet::new();
    for s in &plan.steps {
        if let StepKind::CreateJob { job } = &s.kind {
            for pool in s.after.iter().filter_map(|a| pool_of_create.get(a.as_str())) {
                pools_any.insert(pool);
                if busy.contains(job.as_str()) {
                    pools_busy.insert(pool);
                }
            }
        }
    }
    plan.steps
        .iter()
        .filter(|s| match (s.kind.job(), s.kind.pool()) {
            (Some(job), _) => !busy.contains(job),
            (None, Some(pool)) => pools_any.contains(pool) && !pools_busy.contains(pool),
            _ => false,
        })
        .map(|s| s.id.clone())
        .collect()
}

/// `ranges` without the numbers in `holes`.
fn split_ranges(ranges: &[TaskIdRange], holes: &[u64]) -> Vec<TaskIdRange> {
    let mut out = Vec::new();
    for r in ranges {
        let mut inside: Vec<u64> = holes.iter().copied().filter(|h| r.start <= *h && *h <= r.end).collect();
        inside.sort_unstable();
        let mut start = r.start;
        for h in inside {
            if h > start {
                out.push(TaskIdRange { start, end: h - 1 });
            }
            start = h.saturating_add(1);
        }
        if start <= r.end {
            out.push(TaskIdRange { start, end: r.end });
        }
    }
    out
}

#[cfg(test)]
#[path = "rerun_tests.rs"]
mod tests;
