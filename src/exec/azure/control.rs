//! What happens around a run on Batch: what a plan creates there, terminating a job, the final
//! state of every task, and how things stand now (`batchflow status`). Ending a run is
//! `release::end_run`.

use super::client::{BatchClient, Error};
use super::list;
use super::models::{CloudJob, CloudPool, CloudTask, TaskCounts, TaskCountsResult};
use crate::exec::TaskState;
use crate::plan::{Plan, StepKind};
use reqwest::Method;
use serde::Serialize;
use std::collections::BTreeMap;

/// A run's Batch job ids, by the workflow's job names (`RunState::batch_jobs`).
pub type JobIds = BTreeMap<String, String>;

/// The Batch id of the workflow's job `job`: its run's, else its name (older runs).
pub fn job_id<'a>(ids: &'a JobIds, job: &'a str) -> &'a str {
    ids.get(job).map_or(job, String::as_str)
}

/// The pools and jobs a plan creates, by id, in plan order (jobs by the workflow's names).
pub fn created(plan: &Plan) -> (Vec<String>, Vec<String>) {
    let (mut pools, mut jobs) = (Vec::new(), Vec::new());
    for step in &plan.steps {
        match &step.kind {
            StepKind::CreatePool { pool } | StepKind::CreateArmPool { pool } => pools.push(pool.clone()),
            StepKind::CreateJob { job } => jobs.push(job.clone()),
            _ => {}
        }
    }
    (pools, jobs)
}

/// The line of the run folder's step log that says a pool was there before the run.
pub fn adopted_mark(pool: &str) -> String {
    format!("adopted-pool {pool}")
}

/// Terminates a job; false if it had ended already.
pub async fn terminate_job(client: &BatchClient, job: &str, reason: &str) -> Result<bool, Error> {
    let body = serde_json::json!({ "terminateReason": reason }).to_string();
    match client
        .send(
            Method::POST,
            &format!("/jobs/{job}/terminate"),
            &[],
            Some(body.into_bytes()),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.code(), Some("JobCompleted") | Some("JobBeingTerminated")) => Ok(false),
        Err(e) => Err(e),
    }
}

/// One task as Batch last reported it.
#[derive(Debug, Clone)]
pub struct TaskStatus {
    pub task: String,
    pub state: TaskState,
    pub exit_code: Option<i32>,
    pub attempts: u32,
    /// Of the latest attempt, once it ended.
    pub duration: Option<std::time::Duration>,
}

/// Every task of a job, in the states of a local run: a task still waiting when its job has
/// ended could never run (`blocked`).
pub async fn task_states(client: &BatchClient, job: &str, job_ended: bool) -> Result<Vec<TaskStatus>, Error> {
    let tasks: Vec<CloudTask> = list::all(
        client,
        &format!("/jobs/{job}/tasks"),
        &[("$select", "id,state,executionInfo")],
    )
    .await?;
    Ok(tasks
        .into_iter()
        .map(|t| {
            let info = t.execution_info.unwrap_or_default();
            let state = match (t.state.as_str(), info.result.as_deref()) {
                ("completed", Some("failure")) => TaskState::Failed,
                ("completed", _) => TaskState::Succeeded,
                ("running" | "preparing", _) => TaskState::Running,
                _ if job_ended => TaskState::Blocked,
                _ => TaskState::Waiting,
            };
            let started = info.exit_code.is_some() || state == TaskState::Running;
            TaskStatus {
                task: t.id,
                state,
                exit_code: info.exit_code,
                attempts: info.retry_count + u32::from(started),
                duration: info.duration(),
            }
        })
        .collect())
}

#[derive(Debug, Serialize)]
pub struct PoolStatus {
    pub id: String,
    /// `missing` when Batch has no such pool.
    pub state: String,
    pub allocation: String,
    pub nodes: u32,
    pub target: u32,
}

#[derive(Debug, Serialize)]
pub struct JobStatus {
    /// The workflow's job.
    pub name: String,
    /// Its Batch id in the run.
    pub id: String,
    pub state: String,
    pub active: u64,
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub pools: Vec<PoolStatus>,
    pub jobs: Vec<JobStatus>,
}

/// The plan's pools and jobs as Batch has them now.
pub async fn status(client: &BatchClient, plan: &Plan, job_ids: &JobIds) -> Result<Status, Error> {
    let (pools, jobs) = created(plan);
    let mut out = Status {
        pools: Vec::new(),
        jobs: Vec::new(),
    };
    for id in pools {
        let fields = "id,state,allocationState,currentDedicatedNodes,currentLowPriorityNodes,targetDedicatedNodes,targetLowPriorityNodes";
        match list::get_raw::<CloudPool>(client, &format!("/pools/{id}"), &[("$select", fields)]).await {
            Ok(p) => out.pools.push(PoolStatus {
                id,
                state: p.state.unwrap_or_default(),
                allocation: p.allocation_state.unwrap_or_default(),
                nodes: p.current_dedicated_nodes + p.current_low_priority_nodes,
                target: p.target_dedicated_nodes + p.target_low_priority_nodes,
            }),
            Err(e) if e.code() == Some("PoolNotFound") => out.pools.push(PoolStatus {
                id,
                state: "missing".into(),
                allocation: String::new(),
                nodes: 0,
                target: 0,
            }),
            Err(e) => return Err(e),
        }
    }
    for name in jobs {
        let id = job_id(job_ids, &name).to_string();
        let job = match list::get_raw::<CloudJob>(client, &format!("/jobs/{id}"), &[("$select", "id,state")]).await {
            Ok(j) => j,
            Err(e) if e.code() == Some("JobNotFound") => {
                out.jobs.push(JobStatus {
                    name,
                    id,
                    state: "missing".into(),
                    active: 0,
                    running: 0,
                    succeeded: 0,
                    failed: 0,
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        let c: TaskCounts = list::get_raw::<TaskCountsResult>(client, &format!("/jobs/{id}/taskcounts"), &[])
            .await?
            .task_counts;
        out.jobs.push(JobStatus {
            name,
            id,
            state: job.state,
            active: c.active,
            running: c.running,
            succeeded: c.succeeded,
            failed: c.failed,
        });
    }
    Ok(out)
}
