//! The plan's requests read back into what the local runner needs: pools with their start
//! tasks, jobs in order, tasks with their dependencies as indices.

use crate::plan::batch_api::{
    JobAddParameter, JobPreparationTask, JobReleaseTask, PoolAddParameter, StartTask, TaskAddCollectionParameter,
    TaskAddParameter,
};
use crate::plan::{Action, Plan, StepKind};
use crate::source::Span;
use std::collections::HashMap;

pub struct Pool {
    pub id: String,
    /// Dedicated nodes Batch would allocate (1 for an autoscale pool: its formula decides at
    /// run time, and a local run cannot evaluate it).
    pub dedicated: u32,
    /// Spot/low-priority nodes (0 for an autoscale pool).
    pub low_priority: u32,
    pub autoscale: bool,
    pub task_slots: u32,
    pub containers: bool,
    pub start_task: Option<StartTask>,
    pub windows: bool,
    /// The names of its mounts (`relativeMountPath`).
    pub mounts: Vec<String>,
}

pub struct Job {
    pub id: String,
    pub pool: usize,
    pub body: JobAddParameter,
    /// Jobs that must finish first (`after`).
    pub after: Vec<usize>,
    pub origin: Span,
}

impl Job {
    pub fn prep(&self) -> Option<&JobPreparationTask> {
        self.body.job_preparation_task.as_ref()
    }

    pub fn release(&self) -> Option<&JobReleaseTask> {
        self.body.job_release_task.as_ref()
    }
}

pub struct Task {
    pub job: usize,
    pub body: TaskAddParameter,
    /// Indices of the tasks it depends on.
    pub deps: Vec<usize>,
    pub origin: Span,
}

pub struct Model {
    pub workflow: String,
    pub pools: Vec<Pool>,
    pub jobs: Vec<Job>,
    pub tasks: Vec<Task>,
}

/// A plan that cannot be run locally: a malformed body, a dependency on no task.
#[derive(Debug)]
pub struct ModelError(pub String);

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn body<T: serde::de::DeserializeOwned>(step: &str, raw: &serde_json::value::RawValue) -> Result<T, ModelError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ModelError(format!("step `{step}` has a body the runner cannot read: {e}")))
}

impl Model {
    /// Whether a task or a start task runs in a container (a container CLI is needed).
    pub fn has_containers(&self) -> bool {
        self.tasks.iter().any(|t| t.body.container_settings.is_some())
            || self
                .pools
                .iter()
                .any(|p| p.start_task.as_ref().is_some_and(|s| s.container_settings.is_some()))
    }

    pub fn from_plan(plan: &Plan) -> Result<Model, ModelError> {
        let mut model = Model {
            workflow: plan.workflow.clone(),
            pools: Vec::new(),
            jobs: Vec::new(),
            tasks: Vec::new(),
        };
        let mut job_index: HashMap<String, usize> = HashMap::new();
        // Task ids are unique per job, ignoring case.
        let mut task_index: HashMap<(usize, String), usize> = HashMap::new();
        let mut pending_deps: Vec<(usize, TaskAddParameter)> = Vec::new();
        for step in &plan.steps {
            let Action::Request { body: raw, .. } = &step.action else {
                continue;
            };
            match &step.kind {
                StepKind::CreatePool { .. } => {
                    let p: PoolAddParameter = body(&step.id, raw)?;
                    let auto = p.enable_auto_scale == Some(true);
                    let agent = p.virtual_machine_configuration.node_agent_sku_id.to_ascii_lowercase();
                    model.pools.push(Pool {
                        dedicated: if auto { 1 } else { p.target_dedicated_nodes.unwrap_or(0) },
                        low_priority: if auto {
                            0
                        } else {
                            p.target_low_priority_nodes.unwrap_or(0)
                        },
                        autoscale: auto,
                        task_slots: p.task_slots_per_node.unwrap_or(1).max(1),
                        containers: p.virtual_machine_configuration.container_configuration.is_some(),
                        start_task: p.start_task,
                        windows: agent.contains("windows"),
                        mounts: p
                            .mount_configuration
                            .iter()
                            .filter_map(|m| m.relative_mount_path().map(str::to_string))
                            .collect(),
                        id: p.id,
                    });
                }
                StepKind::CreateJob { job: name } => {
                    let j: JobAddParameter = body(&step.id, raw)?;
                    let pool = model
                        .pools
                        .iter()
                        .position(|p| p.id == j.pool_info.pool_id)
                        .ok_or_else(|| {
                            ModelError(format!(
                                "job `{}` runs on pool `{}`, which the plan does not create",
                                name, j.pool_info.pool_id
                            ))
                        })?;
                    // A job after other jobs comes after their wait steps.
                    let after = model
                        .jobs
                        .iter()
                        .enumerate()
                        .filter(|(_, j)| step.after.contains(&StepKind::WaitJob { job: j.id.clone() }.id()))
                        .map(|(i, _)| i)
                        .collect();
                    // A local run's folder is its own: its jobs keep the workflow's names
                    // (on Batch, each run's job ids are unique to it).
                    job_index.insert(name.clone(), model.jobs.len());
                    model.jobs.push(Job {
                        id: name.clone(),
                        pool,
                        body: j,
                        after,
                        origin: step.origin,
                    });
                }
                StepKind::AddTasks { job: job_id, .. } => {
                    let job = *job_index.get(job_id).ok_or_else(|| {
                        ModelError(format!("step `{}` adds tasks to unknown job `{job_id}`", step.id))
                    })?;
                    let collection: TaskAddCollectionParameter = body(&step.id, raw)?;
                    for (i, task) in collection.value.into_iter().enumerate() {
                        task_index.insert((job, task.id.to_ascii_lowercase()), model.tasks.len());
                        model.tasks.push(Task {
                            job,
                            body: task.clone(),
                            deps: Vec::new(),
                            origin: step.task_origin(i),
                        });
                        pending_deps.push((model.tasks.len() - 1, task));
                    }
                }
                _ => {}
            }
        }
        for (i, task) in pending_deps {
            let Some(deps) = &task.depends_on else { continue };
            let job = model.tasks.get(i).map_or(0, |t| t.job);
            let mut out = Vec::with_capacity(deps.task_ids.len());
            let resolve = |id: &str| {
                task_index.get(&(job, id.to_ascii_lowercase())).copied().ok_or_else(|| {
                    ModelError(format!(
                        "task `{}` depends on `{id}`, which its job does not have",
                        task.id
                    ))
                })
            };
            for id in &deps.task_ids {
                out.push(resolve(id)?);
            }
            for range in &deps.task_id_ranges {
                for n in range.start..=range.end {
                    // Batch ignores ids in a range that name no task.
                    if let Ok(d) = resolve(&n.to_string()) {
                        out.push(d);
                    }
                }
            }
            if let Some(t) = model.tasks.get_mut(i) {
                t.deps = out;
            }
        }
        Ok(model)
    }
}
