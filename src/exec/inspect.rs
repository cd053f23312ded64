//! What the inspection commands (`logs`, `status`, `runs`) read from a run folder: a task by
//! name, and why a task never started — from its record, else from the plan's `dependsOn`
//! and the states of what it depends on, so a local and an azure run say it alike.

use super::error::RunError;
use super::state::{RunState, TaskRecord};
use super::TaskState;
use crate::plan::batch_api::TaskAddCollectionParameter;
use crate::plan::{Action, Plan, StepKind};
use std::collections::{HashMap, HashSet, VecDeque};

/// Most blocking tasks named in one reason.
const NAMED: usize = 3;

/// The task `name` of a run (`TASK`, or `JOB/TASK` when two jobs have it), ignoring case.
pub fn find_task<'a>(state: &'a RunState, name: &str) -> Result<&'a TaskRecord, RunError> {
    let (job, task) = match name.split_once('/') {
        Some((j, t)) => (Some(j), t),
        None => (None, name),
    };
    let found: Vec<&TaskRecord> = state
        .tasks
        .iter()
        .filter(|t| t.task.eq_ignore_ascii_case(task) && job.is_none_or(|j| t.job.eq_ignore_ascii_case(j)))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => {
            let names = state.tasks.iter().map(|t| t.task.as_str());
            let hint = crate::suggest::did_you_mean(task, names).unwrap_or_default();
            Err(RunError::Refused(
                format!("run `{}` has no task `{name}` {hint}", state.run_id)
                    .trim_end()
                    .to_string(),
            ))
        }
        _ => Err(RunError::Refused(format!(
            "`{name}` is in several jobs; write it as JOB/{task}"
        ))),
    }
}

/// Whether a task never started an attempt: there is no output to show.
pub fn never_started(rec: &TaskRecord) -> bool {
    matches!(rec.state, TaskState::Waiting | TaskState::Blocked) && rec.attempts == 0 && rec.node.is_none()
}

/// Why `rec` never started, in a sentence: the tasks that blocked it (following blocked
/// dependencies back to the ones that failed), else its record's reason, else how the run
/// stopped.
pub fn why_not_started(state: &RunState, plan: Option<&Plan>, rec: &TaskRecord) -> String {
    let blockers = plan.map(|p| blockers(state, p, rec)).unwrap_or_default();
    if !blockers.is_empty() {
        let mut names: Vec<String> = blockers
            .iter()
            .take(NAMED)
            .map(|b| {
                let how = match (b.state, b.exit_code) {
                    (TaskState::Failed, Some(code)) => format!("failed (exit {code})"),
                    (TaskState::Failed, None) => "failed".to_string(),
                    (other, _) => format!("is {}", other.as_str()),
                };
                format!("`{}`, which {how}", b.task)
            })
            .collect();
        if blockers.len() > NAMED {
            names.push(format!("{} more", blockers.len() - NAMED));
        }
        return format!("it was blocked by {}", names.join("; "));
    }
    if let Some(reason) = &rec.reason {
        return format!("{}: {reason}", rec.state.as_str());
    }
    match rec.state {
        TaskState::Blocked => "it was blocked: the run ended before it could start".into(),
        _ => format!(
            "the run stopped ({}) before it started; continue it with `batchflow run --resume {}`",
            state.status_text(),
            state.run_id
        ),
    }
}

/// The tasks of `rec`'s job that kept it from starting: the failed ones its unmet
/// dependencies lead back to, else its unmet dependencies themselves.
fn blockers<'a>(state: &'a RunState, plan: &Plan, rec: &TaskRecord) -> Vec<&'a TaskRecord> {
    let deps = dependencies(plan, &rec.job);
    let by_id: HashMap<&str, &TaskRecord> = state
        .tasks
        .iter()
        .filter(|t| t.job == rec.job)
        .map(|t| (t.task.as_str(), t))
        .collect();
    let unmet = |task: &str| -> Vec<&'a TaskRecord> {
        deps.get(task)
            .into_iter()
            .flatten()
            .filter_map(|d| by_id.get(d.as_str()).copied())
            .filter(|d| d.state != TaskState::Succeeded)
            .collect()
    };
    let direct = unmet(&rec.task);
    let mut failed: Vec<&TaskRecord> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut todo: VecDeque<&TaskRecord> = direct.iter().copied().collect();
    while let Some(t) = todo.pop_front() {
        if !seen.insert(t.task.as_str()) {
            continue;
        }
        if t.state == TaskState::Failed {
            failed.push(t);
        } else {
            todo.extend(unmet(&t.task));
        }
    }
    if failed.is_empty() {
        direct
    } else {
        failed
    }
}

/// Each task of `job` and the ids it depends on, from the plan's task collections.
fn dependencies(plan: &Plan, job: &str) -> HashMap<String, Vec<String>> {
    let mut out = HashMap::new();
    for step in &plan.steps {
        let (StepKind::AddTasks { job: j, .. }, Action::Request { body, .. }) = (&step.kind, &step.action) else {
            continue;
        };
        if j != job {
            continue;
        }
        let Ok(collection) = serde_json::from_str::<TaskAddCollectionParameter>(body.get()) else {
            continue;
        };
        for task in collection.value {
            let Some(deps) = task.depends_on else { continue };
            let mut ids = deps.task_ids;
            for range in deps.task_id_ranges {
                // A range stands for consecutive numbered tasks; a bound keeps a wild one cheap.
                ids.extend((range.start..=range.end).take(1_000_000).map(|n| n.to_string()));
            }
            out.insert(task.id, ids);
        }
    }
    out
}

/// A run as `runs --format json` lists it.
#[derive(Debug, serde::Serialize)]
pub struct RunSummary {
    pub id: String,
    pub workflow: String,
    /// `local`, or the Batch endpoint.
    pub target: String,
    /// `running`, `stopped` (its process died), `succeeded`, `failed`, `interrupted`, `cancelled`.
    pub state: String,
    /// When it started, UTC: `2026-11-23T14:15:02Z`.
    pub started: String,
    /// Its `--param NAME=VALUE`s.
    pub params: Vec<String>,
    pub counts: TaskCounts,
    /// The run this one reran (`run --rerun-failed`); its tasks taken from there are in
    /// `counts.reused` (and in `counts.succeeded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<String>,
    /// An azure run: the Batch id of each of the workflow's jobs.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub batch_jobs: std::collections::BTreeMap<String, String>,
}

/// How many of a run's tasks are in each state.
#[derive(Debug, Default, serde::Serialize)]
pub struct TaskCounts {
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub blocked: usize,
    pub interrupted: usize,
    pub waiting: usize,
    pub running: usize,
    /// Succeeded in an earlier run and not run in this one (a rerun).
    pub reused: usize,
    /// Taken from the task cache (in `succeeded` too).
    pub cached: usize,
}

impl TaskCounts {
    pub fn of(state: &RunState) -> TaskCounts {
        let mut c = TaskCounts {
            total: state.tasks.len(),
            ..TaskCounts::default()
        };
        for t in &state.tasks {
            let slot = match t.state {
                TaskState::Succeeded => &mut c.succeeded,
                TaskState::Failed => &mut c.failed,
                TaskState::Blocked => &mut c.blocked,
                TaskState::Interrupted => &mut c.interrupted,
                TaskState::Waiting => &mut c.waiting,
                TaskState::Running => &mut c.running,
            };
            *slot += 1;
        }
        c.reused = state.tasks.iter().filter(|t| t.from.is_some() && !t.cached).count();
        c.cached = state.cached();
        c
    }
}

impl RunSummary {
    pub fn of(state: &RunState) -> RunSummary {
        RunSummary {
            id: state.run_id.clone(),
            workflow: state.workflow.clone(),
            target: state.target.clone(),
            state: state.status_text().to_string(),
            started: utc(state.started),
            params: state.params.clone(),
            counts: TaskCounts::of(state),
            rerun_of: state.rerun_of.clone(),
            batch_jobs: state.batch_jobs.clone(),
        }
    }
}

/// A failed task as `status` lists it.
#[derive(Debug, serde::Serialize)]
pub struct FailedTask {
    pub job: String,
    pub task: String,
    /// What a sweep instance stands for: `train[s=3, lr=0.01]`.
    pub instance: Option<String>,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

/// The run's failed tasks, in the record's order, with what each sweep instance stands for.
pub fn failed_tasks(state: &RunState, plan: Option<&Plan>) -> Vec<FailedTask> {
    let labels = plan.map(super::plan_tasks::labels).unwrap_or_default();
    state
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Failed)
        .map(|t| FailedTask {
            job: t.job.clone(),
            task: t.task.clone(),
            instance: labels.get(&(t.job.clone(), t.task.clone())).cloned(),
            exit_code: t.exit_code,
            reason: t.reason.clone(),
        })
        .collect()
}

/// `2026-11-23T14:15:02Z` for seconds since the Unix epoch.
pub fn utc(secs: u64) -> String {
    let date = crate::stdlib::Date::from_unix(secs);
    let t = secs % 86_400;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        date.year,
        date.month,
        date.day,
        t / 3600,
        (t % 3600) / 60,
        t % 60
    )
}
