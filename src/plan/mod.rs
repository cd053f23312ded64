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
mod task_size;
pub mod text;

use crate::diagnostics::Diagnostic;
use crate::graph::{JobId, Workflow};
use crate::hooks::Hooks;
use crate::source::Span;
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

pub use api_version::DEFAULT_API_VERSION;
pub use limits::{MAX_COLLECTION_BYTES, MAX_COLLECTION_TASKS};
pub use task_size::oversized_tasks;

#[derive(Debug, Clone)]
pub struct Options {
    pub api_version: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
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

/// What a wait step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wait {
    /// Allocation steady at its target, start tasks finished on every node.
    PoolReady,
    /// The job completed (all its tasks ended and it was terminated).
    JobCompleted,
}

#[derive(Debug)]
pub enum Action {
    Request {
        method: &'static str,
        path: String,
        /// Exactly the JSON the Batch API takes.
        body: Box<RawValue>,
    },
    Wait {
        wait: Wait,
        path: String,
    },
}

#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub action: Action,
    pub after: Vec<String>,
    /// The `.batchflow` declaration the step comes from, so run-time errors point at it.
    pub origin: Span,
    /// One line for `plan --format text`.
    pub summary: String,
    /// Task ids in an `addtaskcollection` body, for progress and error reports.
    pub tasks: usize,
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Step", 5)?;
        st.serialize_field("step", &self.id)?;
        match &self.action {
            Action::Request { method, path, body } => {
                st.serialize_field("method", method)?;
                st.serialize_field("path", path)?;
                st.serialize_field("body", body)?;
            }
            Action::Wait { wait, path } => {
                st.serialize_field("wait", wait)?;
                st.serialize_field("path", path)?;
            }
        }
        st.serialize_field("after", &self.after)?;
        st.end()
    }
}

/// A step as `plan --format json` writes it, read back (a run keeps its plan on disk).
#[derive(Deserialize)]
struct StepJson {
    step: String,
    #[serde(default)]
    method: Option<String>,
    path: String,
    #[serde(default)]
    body: Option<Box<RawValue>>,
    #[serde(default)]
    wait: Option<Wait>,
    #[serde(default)]
    after: Vec<String>,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        let j = StepJson::deserialize(d)?;
        let action = match (j.method.as_deref(), j.body, j.wait) {
            (Some(m), Some(body), None) => Action::Request {
                method: match m {
                    "POST" => "POST",
                    "PATCH" => "PATCH",
                    "PUT" => "PUT",
                    "DELETE" => "DELETE",
                    other => return Err(serde::de::Error::custom(format!("unknown method `{other}`"))),
                },
                path: j.path,
                body,
            },
            (None, None, Some(wait)) => Action::Wait { wait, path: j.path },
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "step `{}` is neither a request nor a wait",
                    j.step
                )))
            }
        };
        let tasks = match &action {
            Action::Request { body, .. } if body.get().starts_with("{\"value\":[") => {
                serde_json::from_str::<batch_api::TaskAddCollectionParameter>(body.get()).map_or(0, |c| c.value.len())
            }
            _ => 0,
        };
        Ok(Step {
            id: j.step,
            action,
            after: j.after,
            origin: Span::default(),
            summary: String::new(),
            tasks,
        })
    }
}

/// Serializes a body; the wire types cannot fail to serialize.
fn raw<T: Serialize>(body: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(body).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Builds the plan of a workflow that checked without errors.
pub fn plan(wf: &Workflow, hooks: Option<&Hooks>, options: &Options) -> Result<Plan, Vec<Diagnostic>> {
    let mut steps = Vec::new();
    for pool in &wf.pools {
        let body = bodies::pool(pool, &wf.registries);
        let create = format!("create-pool-{}", pool.name.value);
        steps.push(Step {
            id: create.clone(),
            summary: text::pool_summary(pool),
            action: Action::Request {
                method: "POST",
                path: "/pools".into(),
                body: raw(&body),
            },
            after: Vec::new(),
            origin: pool.name.span,
            tasks: 0,
        });
        steps.push(Step {
            id: format!("wait-pool-{}", pool.name.value),
            summary: if pool.start_task.is_some() {
                "nodes allocated and start tasks done".into()
            } else {
                "nodes allocated".into()
            },
            action: Action::Wait {
                wait: Wait::PoolReady,
                path: format!("/pools/{}", pool.name.value),
            },
            after: vec![create],
            origin: pool.name.span,
            tasks: 0,
        });
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
