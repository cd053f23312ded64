//! The plan: the exact Batch REST requests the azure backend sends, in order, with waits as
//! steps too. A pure function of the checked workflow (and the hook script's
//! `before_submit`), printed by `batchflow plan` before anything runs.

pub mod api_version;
pub mod arm_api;
mod barrier;
pub mod batch_api;
mod batcher;
mod bodies;
pub mod cache_key;
mod collections;
pub mod deps;
pub mod estimate;
mod hook;
pub mod identity;
pub mod keep;
pub mod labels;
mod limits;
pub mod staging;
mod step;
pub mod task_graph;
mod task_size;
pub mod text;
#[cfg(test)]
mod uncached_tests;

use crate::diagnostics::Diagnostic;
use crate::graph::{JobId, Workflow};
use crate::hooks::Hooks;
use crate::repo::RepoFacts;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

pub use api_version::DEFAULT_API_VERSION;
pub use limits::{MAX_COLLECTION_BYTES, MAX_COLLECTION_TASKS};
pub use staging::{Delivery, Staging, StorageChoice, Upload, DEFAULT_CONTAINER};
pub use step::{Action, Step, StepKind, Wait};
pub use task_size::oversized_tasks;

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub api_version: String,
    /// What the repository inputs stand for on disk.
    pub repo: RepoFacts,
    /// The storage staged files go through.
    pub storage: StorageChoice,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            api_version: DEFAULT_API_VERSION.to_string(),
            repo: RepoFacts::default(),
            storage: StorageChoice::default(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    pub workflow: String,
    pub api_version: String,
    /// What the run may cost (see [`estimate`]); set by the caller, who has the prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<estimate::Estimate>,
    /// Repository files to upload and outputs to bring back (see [`staging`]).
    #[serde(default, skip_serializing_if = "Staging::is_empty")]
    pub staging: Staging,
    /// Pools left when the run ends, shrinking to no nodes once idle (see [`keep`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<keep::Keep>,
    /// Tasks declared with `cache = false`, as `(job, task id)`: the task cache never reuses
    /// them (`plan::cache_key`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uncached: Vec<(String, String)>,
    pub steps: Vec<Step>,
}

/// Serializes a body; the wire types cannot fail to serialize.
fn raw<T: Serialize>(body: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(body).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Builds the plan of a workflow that checked without errors.
pub fn plan(wf: &Workflow, hooks: Option<&Hooks>, options: &PlanOptions) -> Result<Plan, Vec<Diagnostic>> {
    let files = staging::Files {
        repo: &options.repo,
        storage: &options.storage,
    };
    let mut steps = Vec::new();
    for pool in &wf.pools {
        let body = bodies::pool(&wf.name, pool, &wf.registries, files);
        let id = &pool.name.value;
        let identities = wf.pool_identities(pool);
        let (kind, action) = if identities.is_empty() {
            (
                StepKind::CreatePool { pool: id.clone() },
                Action::Request {
                    method: "POST",
                    path: "/pools".into(),
                    body: raw(&body),
                },
            )
        } else {
            (
                StepKind::CreateArmPool { pool: id.clone() },
                Action::Request {
                    method: "PUT",
                    path: format!("{}/pools/{id}", arm_api::ACCOUNT_PLACEHOLDER),
                    body: raw(&arm_api::pool(&body, &identities)),
                },
            )
        };
        let mut summary = text::pool_summary(pool);
        if let Some(idle) = pool.keep {
            summary.push_str(&format!("; {}", keep::describe(idle)));
        }
        if !identities.is_empty() {
            summary.push_str(&format!(
                ", through Azure Resource Manager with identit{} {}",
                if identities.len() == 1 { "y" } else { "ies" },
                identities
                    .iter()
                    .map(|i| format!("`{i}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let create = Step::new(kind, action, Vec::new(), pool.name.span).with_summary(summary);
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
        match collections::job_steps(wf, job, hooks, files) {
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
        estimate: None,
        staging: staging_of(wf, files),
        keep: wf
            .pools
            .iter()
            .filter_map(|p| p.keep.map(|idle| keep::Keep::new(&p.name.value, idle)))
            .collect(),
        uncached: job_order(wf)
            .into_iter()
            .flat_map(|job| collections::uncached(wf, job))
            .collect(),
        steps,
    })
}

/// The repository files the workflow's inputs upload, and the deliveries of its tasks' outputs.
fn staging_of(wf: &Workflow, files: staging::Files<'_>) -> Staging {
    let mut inputs: Vec<&crate::graph::FileMap> = Vec::new();
    let mut deliveries = Vec::new();
    for pool in &wf.pools {
        if let Some((aux, _)) = &pool.start_task {
            inputs.extend(aux.spec.inputs.iter());
        }
    }
    for job in &wf.jobs {
        for aux in job.prep_task.iter().chain(job.release_task.iter()) {
            inputs.extend(aux.spec.inputs.iter());
        }
    }
    for task in &wf.tasks {
        inputs.extend(task.spec.inputs.iter());
        let job = wf.template(task.template).and_then(|t| wf.job(t.job));
        if let Some(job) = job {
            deliveries.extend(staging::deliveries(&task.spec.outputs, &job.name.value, &task.id));
        }
    }
    Staging {
        storage: files.storage.clone(),
        uploads: staging::uploads(inputs, files.repo),
        deliveries,
    }
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
