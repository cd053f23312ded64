//! Jobs and their tasks: create the job, add task collections (halving a collection Batch
//! finds too large, re-sending tasks it answered with a server error, counting `TaskExists`
//! as added), and set the job to end when its tasks are done.

use super::pools::stop_if_interrupted;
use super::{Ctx, Done};
use crate::exec::azure::list;
use crate::exec::azure::models::{CloudJob, TaskAddCollectionResult};
use crate::exec::error::RunError;
use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Rounds of re-sending tasks that got a server error inside a collection.
const SERVER_ERROR_ROUNDS: u32 = 8;
/// How long a job being deleted may take to go.
const DELETE_WAIT: Duration = Duration::from_secs(30 * 60);

/// What to do about a job that exists already.
enum Existing {
    /// This run created it (an attempt whose answer was lost, or before a crash).
    Ours,
    /// An earlier run's, ended: deleted (`--replace-jobs`); create it again once it is gone.
    Replaced,
}

/// Step `step` creates job `id` with `body`.
pub async fn create(ctx: &Ctx, step: &str, id: &str, body: String) -> Result<(), RunError> {
    let mut replaced = false;
    loop {
        match ctx.create(step, "/jobs", body.clone()).await {
            Ok(()) => return Ok(()),
            Err((e, _)) if e.code() == Some("JobBeingDeleted") => wait_gone(ctx, id).await?,
            Err((e, maybe_ours)) if e.code() == Some("JobExists") => {
                match existing(ctx, id, maybe_ours, !replaced).await? {
                    Existing::Ours => return Ok(()),
                    Existing::Replaced => replaced = true,
                }
            }
            Err((e, _)) => return Err(RunError::batch(format!("create job `{id}`"), e)),
        }
    }
}

/// A job of the run's id exists: this run's own, an earlier run's (replaced when asked, and
/// only once), or another's (an error that says what to do).
async fn existing(ctx: &Ctx, id: &str, maybe_ours: bool, may_replace: bool) -> Result<Existing, RunError> {
    let job: CloudJob = list::get_raw(
        &ctx.client,
        &format!("/jobs/{id}"),
        &[("$select", "id,state,creationTime")],
    )
    .await
    .map_err(|e| RunError::batch(format!("read job `{id}`, which exists already"), e))?;
    let created = job.creation_time.as_deref().unwrap_or("an unknown time");
    if job.state == "active" && maybe_ours && ctx.created_by_this_run(job.creation_time.as_deref()) {
        ctx.note(format!(
            "job `{id}` exists and is active (an earlier attempt of this run): adding to it"
        ));
        return Ok(Existing::Ours);
    }
    if job.state != "completed" {
        return Err(RunError::Conflict(format!(
            "job `{id}` already exists, {}, created at {created} by another run: let that run finish or cancel it (`batchflow cancel RUN`, `az batch job terminate --job-id {id}`), or rename the job",
            job.state
        )));
    }
    if !(ctx.opts.replace_jobs && may_replace) {
        return Err(RunError::Conflict(format!(
            "job `{id}` already exists and is completed (created at {created} by an earlier run): run with --replace-jobs to delete it first, delete it yourself (`az batch job delete --job-id {id}`), or rename the job"
        )));
    }
    ctx.note(format!(
        "job `{id}` of an earlier run (created at {created}) is being deleted (--replace-jobs)"
    ));
    match ctx.client.send(Method::DELETE, &format!("/jobs/{id}"), &[], None).await {
        Ok(_) => {}
        Err(e) if matches!(e.code(), Some("JobNotFound") | Some("JobBeingDeleted")) => {}
        Err(e) => return Err(RunError::batch(format!("delete job `{id}` of an earlier run"), e)),
    }
    wait_gone(ctx, id).await?;
    Ok(Existing::Replaced)
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
    let parsed: Collection<'_> = serde_json::from_str(&body).map_err(|e| RunError::Body {
        what: format!("a collection of job `{job}`"),
        error: e,
    })?;
    let path = format!("/jobs/{job}/addtaskcollection");
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
        .send(Method::PATCH, &format!("/jobs/{job}"), &[], Some(body.into_bytes()))
        .await
        .map(|_| ())
        .map_err(|e| RunError::batch(format!("set job `{job}` to end when its tasks are done"), e))
}
