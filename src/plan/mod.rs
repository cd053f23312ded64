//! The plan: the exact Batch REST requests the azure backend sends, in order, with waits as
//! steps too. A pure function of the checked workflow (and the hook script's
//! `before_submit`), printed by `batchflow plan` before anything runs.

pub mod api_version;
mod barrier;
pub mod batch_api;
mod batcher;
mod bodies;
mod collections;
pub mod deps;
mod hook;
mod limits;
mod step;
mod task_size;
pub mod text;

use crate::diagnostics::Diagnostic;
use crate::graph::{JobId, Workflow};
use crate::hooks::Hooks;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub use api_version::DEFAULT_API_VERSION;
pub use limits::{MAX_COLLECTION_BYTES, MAX_COLLECTION_TASKS};
pub use step::{Action, Step, StepKind, Wait};
pub use task_size::oversized_tasks;

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub api_version: String,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            api_version: DEFAULT_API_VERSION.to_string(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    pub workflow: String,
    pub api_version: String,
    pub steps: Vec<Step>,
}

/// Serializes a body; the wire types cannot fail to serialize.
fn raw<T: Serialize>(body: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(body).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Builds the plan of a workflow that checked without errors.
pub fn plan(wf: &Workflow, hooks: Option<&Hooks>, options: &PlanOptions) -> Result<Plan, Vec<Diagnostic>> {
    let mut steps = Vec::new();
    for pool in &wf.pools {
        let body = bodies::pool(pool, &wf.registries);
        let id = &pool.name.value;
        let create = Step::new(
            StepKind::CreatePool { pool: id.clone() },
            Action::Request {
                method: "POST",
                path: "/pools".into(),
                body: raw(&body),
            },
            Vec::new(),
            pool.name.span,
        )
        .with_summary(text::pool_summary(pool));
        let wait = Step::new(
            StepKind::WaitPool { pool: id.clone() },
            Action::Wait {
                wait: Wait::PoolReady,
                path: format!("/pools/{id}"),
            },
            vec![create.id.clone()],
            pool.name.span,
        )
        .with_summary(if pool.start_task.is_some() {
            "nodes allocated and start tasks done"
        } else {
            "nodes allocated"
        });
        steps.push(create);
        steps.push(wait);
    }
    let mut errors = Vec::new();
    for job in job_order(wf) {
        match collections::job_steps(wf, job, hooks) {
            Ok(job_steps) => steps.extend(job_steps),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Plan {
        workflow: wf.name.clone(),
        api_version: options.api_version.clone(),
        steps,
    })
}

/// Jobs so that each comes after the jobs it names in `after` (the checker ruled out cycles).
fn job_order(wf: &Workflow) -> Vec<JobId> {
    let mut order: Vec<JobId> = Vec::with_capacity(wf.jobs.len());
    let mut placed = vec![false; wf.jobs.len()];
    while order.len() < wf.jobs.len() {
        let before = order.len();
        for (i, job) in wf.jobs.iter().enumerate() {
            if !placed[i] && job.after.iter().all(|a| placed.get(a.index()).copied().unwrap_or(true)) {
                placed[i] = true;
                order.push(JobId(i as u32));
            }
        }
        if order.len() == before {
            // A cycle slipped through: place the rest in declaration order.
            order.extend((0..wf.jobs.len()).filter(|i| !placed[*i]).map(|i| JobId(i as u32)));
        }
    }
    order
}
