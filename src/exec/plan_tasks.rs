//! The tasks a plan adds, read from its `add-tasks` steps: (job, task) in plan order, where
//! the workflow declares each, and what each sweep instance stands for.

use crate::plan::{Action, Plan, Step, StepKind};
use crate::source::Span;
use std::collections::{HashMap, HashSet};

#[derive(serde::Deserialize)]
struct Ids {
    value: Vec<Id>,
}

#[derive(serde::Deserialize)]
struct Id {
    id: String,
}

/// Every task the plan adds, as (job, task, declaration), in plan order.
pub fn tasks(plan: &Plan) -> Vec<(String, String, Span)> {
    tasks_where(plan, |_| true)
}

/// The tasks of the `add-tasks` steps whose ids are in `steps`, as (job, task).
pub fn tasks_of_steps(plan: &Plan, steps: &HashSet<String>) -> HashSet<(String, String)> {
    tasks_where(plan, |s| steps.contains(&s.id))
        .into_iter()
        .map(|(job, task, _)| (job, task))
        .collect()
}

/// What each sweep instance stands for (`train[s=3, lr=0.01]`), by (job, task).
pub type Labels = HashMap<(String, String), String>;

/// The labels of the plan's sweep instances; plain tasks have none.
pub fn labels(plan: &Plan) -> Labels {
    let mut out = HashMap::new();
    for step in plan.steps.iter().filter(|s| !s.task_labels.is_empty()) {
        let (StepKind::AddTasks { job, .. }, Action::Request { body, .. }) = (&step.kind, &step.action) else {
            continue;
        };
        let Ok(ids) = serde_json::from_str::<Ids>(body.get()) else {
            continue;
        };
        for (t, label) in ids.value.into_iter().zip(&step.task_labels) {
            if !label.is_empty() {
                out.insert((job.clone(), t.id), label.clone());
            }
        }
    }
    out
}

fn tasks_where(plan: &Plan, wanted: impl Fn(&Step) -> bool) -> Vec<(String, String, Span)> {
    let mut out = Vec::new();
    for step in plan.steps.iter().filter(|s| wanted(s)) {
        let (StepKind::AddTasks { job, .. }, Action::Request { body, .. }) = (&step.kind, &step.action) else {
            continue;
        };
        if let Ok(ids) = serde_json::from_str::<Ids>(body.get()) {
            out.extend(
                ids.value
                    .into_iter()
                    .enumerate()
                    .map(|(i, t)| (job.clone(), t.id, step.task_origin(i))),
            );
        }
    }
    out
}

/// Where each (job, task) is declared.
#[derive(Default)]
pub struct Origins {
    by_task: HashMap<(String, String), Span>,
}

impl Origins {
    pub fn of(plan: &Plan) -> Origins {
        Origins {
            by_task: tasks(plan).into_iter().map(|(j, t, s)| ((j, t), s)).collect(),
        }
    }

    /// The declaration of task `task` of job `job` (the default span when unknown).
    pub fn get(&self, job: &str, task: &str) -> Span {
        self.by_task
            .get(&(job.to_string(), task.to_string()))
            .copied()
            .unwrap_or_default()
    }
}
