//! Jobs and their tasks: create the job, add task collections (halving a collection Batch
//! finds too large, re-sending tasks it answered with a server error, counting `TaskExists`
//! as added), and set the job to end when its tasks are done.

use super::pools::stop_if_interrupted;
use super::{Ctx, Done};
use crate::exec::azure::list;
use crate::exec::azure::models::{CloudJob, TaskAddCollectionResult};
use crate::exec::error::RunError;
use crate::exec::rerun;
use crate::plan::identity::{self, meta};
use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Rounds of re-sending tasks that got a server error inside a collection.
const SERVER_ERROR_ROUNDS: u32 = 8;
/// How long a job being deleted may take to go.
const DELETE_WAIT: Duration = Duration::from_secs(30 * 60);

/// Step `step` creates the workflow's job `job` with `body` (its Batch id is the run's own).
pub async fn create(ctx: &Ctx, step: &str, job: &str, body: String) -> Result<(), RunError> {
    let id = ctx.job_id(job);
    loop {
        match ctx.create(step, "/jobs", body.clone()).await {
            Ok(()) => return Ok(()),
            Err(e) if e.code() == Some("JobBeingDeleted") => wait_gone(ctx, id).await?,
            Err(e) if e.code() == Some("JobExists") => return existing(ctx, job, id).await,
            Err(e) => return Err(RunError::batch(format!("create job `{job}` (`{id}`)"), e)),
        }
    }
}

/// A job of this run's id exists: this run's own when its metadata names this run (an
/// attempt whose answer was lost, or a process of this run that was killed), and then it is
/// added to; anything else is an error, never shared.
async fn existing(ctx: &Ctx, job: &str, id: &str) -> Result<(), RunError> {
    let have: CloudJob = list::get_raw(
        &ctx.client,
        &format!("/jobs/{id}"),
        &[("$select", "id,state,creationTime,metadata")],
    )
    .await
    .map_err(|e| RunError::batch(format!("read job `{id}`, which exists already"), e))?;
    // A run from before job ids were the run's own has no metadata to go by.
    let untagged_own = ctx.opts.ids.suffix.is_none() && have.metadata.is_empty();
    if !(ctx.is_mine(&have.metadata) || untagged_own) {
        let by = identity::value(&have.metadata, meta::RUN)
            .map_or_else(|| "not by batchflow".to_string(), |r| format!("by run `{r}`"));
        return Err(RunError::Conflict(format!(
            "job `{id}` already exists ({}, made {by}): a run never shares a job; start the run again for a new id",
            have.state
        )));
    }
    if have.state != "active" {
        return Err(RunError::Conflict(format!(
            "job `{id}` of this run is {} already; start a new run",
            have.state
        )));
    }
    ctx.note(format!(
        "job `{job}` (`{id}`) exists and is active (an earlier attempt of this run): adding to it"
    ));
    Ok(())
}

/// Until Batch no longer has the job (a deleted job takes a while to go).
async fn wait_gone(ctx: &Ctx, id: &str) -> Result<(), RunError> {
    let started = std::time::Instant::now();
    let key = format!("job {id}");
    loop {
        stop_if_interrupted(ctx)?;
        match list::get_raw::<CloudJob>(&ctx.client, &format!("/jobs/{id}"), &[("$select", "id,state")]).await {
            Err(e) if e.code() == Some("JobNotFound") => {
                ctx.waiting(&key, None);
                return Ok(());
            }
            Err(e) => return Err(RunError::batch(format!("tell whether job `{id}` is gone"), e)),
            Ok(job) => ctx.waiting(&key, Some(format!("job `{id}`: {}, waiting for it to go", job.state))),
        }
        if started.elapsed() > DELETE_WAIT {
            ctx.waiting(&key, None);
            return Err(RunError::Conflict(format!(
                "job `{id}` is still being deleted after {} minutes",
                DELETE_WAIT.as_secs() / 60
            )));
        }
        tokio::time::sleep(ctx.opts.poll).await;
    }
}

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(borrow)]
    value: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct JustId {
    id: String,
}

/// Adds one collection; returns the tasks added and those Batch refused (with why).
pub async fn add_collection(ctx: &Ctx, job: &str, body: String) -> Result<Done, RunError> {
    let id = ctx.job_id(job);
    let carried: HashSet<&str> = ctx
        .opts
        .carried
        .iter()
        .filter(|(j, _)| j == job)
        .map(|(_, t)| t.as_str())
        .collect();
    let body = if carried.is_empty() {
        body
    } else {
        rerun::collection_without(&body, &carried).map_err(|e| RunError::Body {
            what: format!("a collection of job `{job}`"),
            error: e,
        })?
    };
    let parsed: Collection<'_> = serde_json::from_str(&body).map_err(|e| RunError::Body {
        what: format!("a collection of job `{job}`"),
        error: e,
    })?;
    let path = format!("/jobs/{id}/addtaskcollection");
    let mut queue: Vec<Vec<&RawValue>> = vec![parsed.value];
    let (mut added, mut rejected) = (0u64, Vec::new());
    let mut rounds = 0;
    while let Some(chunk) = queue.pop() {
        if chunk.is_empty() {
            continue;
        }
        stop_if_interrupted(ctx)?;
        let body = collection_body(&chunk);
        match ctx.client.send(Method::POST, &path, &[], Some(body.into_bytes())).await {
            Ok(reply) => {
                let result: TaskAddCollectionResult =
                    serde_json::from_slice(&reply.body).map_err(|e| RunError::Body {
                        what: format!("the reply to a collection of `{job}`"),
                        error: e,
                    })?;
                let mut again = Vec::new();
                let by_id: HashMap<String, &RawValue> = chunk
                    .iter()
                    .filter_map(|t| serde_json::from_str::<JustId>(t.get()).ok().map(|j| (j.id, *t)))
                    .collect();
                let answered: HashSet<&str> = result.value.iter().map(|r| r.task_id.as_str()).collect();
                for r in &result.value {
                    match r.status.as_str() {
                        "success" => added += 1,
                        // Created by an earlier attempt whose answer was lost, or an earlier run.
                        "clienterror" if r.error.as_ref().is_some_and(|e| e.code == "TaskExists") => added += 1,
                        "servererror" => again.extend(by_id.get(&r.task_id).copied()),
                        _ => rejected.push((
                            r.task_id.clone(),
                            r.error.as_ref().map_or_else(|| r.status.clone(), |e| e.text()),
                        )),
                    }
                }
                // A task the reply does not mention is sent again (Batch answers every task).
                again.extend(
                    by_id
                        .iter()
                        .filter(|(id, _)| !answered.contains(id.as_str()))
                        .map(|(_, t)| *t),
                );
                if !again.is_empty() {
                    rounds += 1;
                    if rounds > SERVER_ERROR_ROUNDS {
                        return Err(RunError::Launch(format!(
                            "{} tasks of `{job}` still get server errors after {SERVER_ERROR_ROUNDS} rounds",
                            again.len()
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(rounds))).await;
                    queue.push(again);
                }
            }
            Err(e) if e.code() == Some("RequestBodyTooLarge") && chunk.len() > 1 => {
                let half = chunk.len() / 2;
                queue.push(chunk[half..].to_vec());
                queue.push(chunk[..half].to_vec());
            }
            Err(e) => return Err(RunError::batch(format!("add tasks to job `{job}`"), e)),
        }
    }
    Ok(Done::Collection {
        job: job.to_string(),
        added,
        rejected,
    })
}

fn collection_body(tasks: &[&RawValue]) -> String {
    let mut body = String::from("{\"value\":[");
    for (i, t) in tasks.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(t.get());
    }
    body.push_str("]}");
    body
}

/// The PATCH that ends the job when all its tasks are complete; held back when
/// `on_task_failed` may reactivate tasks (the monitor ends the job then).
pub async fn end_when_done(ctx: &Ctx, job: &str, body: String) -> Result<(), RunError> {
    if ctx.hooks_on_failure {
        return Ok(());
    }
    ctx.client
        .send(
            Method::PATCH,
            &format!("/jobs/{}", ctx.job_id(job)),
            &[],
            Some(body.into_bytes()),
        )
        .await
        .map(|_| ())
        .map_err(|e| RunError::batch(format!("set job `{job}` to end when its tasks are done"), e))
}
