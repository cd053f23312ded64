//! Jobs and their tasks: create the job, add task collections (halving a collection Batch
//! finds too large, re-sending tasks it answered with a server error, counting `TaskExists`
//! as added), and set the job to end when its tasks are done.

use super::pools::stop_if_interrupted;
use super::{Ctx, Done};
use crate::exec::azure::list;
use crate::exec::azure::models::{CloudJob, TaskAddCollectionResult};
use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Rounds of re-sending tasks that got a server error inside a collection.
const SERVER_ERROR_ROUNDS: u32 = 8;
pub async fn create(ctx: &Ctx, body: String) -> Result<(), String> {
    let id = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string))
        .unwrap_or_default();
    match ctx.create(&format!("create-job-{id}"), "/jobs", body).await {
        Ok(()) => Ok(()),
        Err((e, maybe_ours)) if e.code() == Some("JobExists") => {
            let job: CloudJob = list::get(
                &ctx.client,
                &format!("/jobs/{id}"),
                &[("$select", "id,state,creationTime")],
            )
            .await
            .map_err(|e| format!("job `{id}` exists, and {e}"))?;
            let created = job.creation_time.as_deref().unwrap_or("an unknown time");
            if job.state == "active" && maybe_ours && ctx.created_by_this_run(job.creation_time.as_deref()) {
                ctx.note(format!(
                    "job `{id}` exists and is active (an earlier attempt of this run): adding to it"
                ));
                Ok(())
            } else if job.state == "active" {
                Err(format!(
                    "job `{id}` already exists, active, created at {created} by another run: let that run finish or cancel it (`batchflow cancel RUN`, `az batch job terminate --job-id {id}`), or rename the job"
                ))
            } else {
                Err(format!(
                    "job `{id}` already exists and is {} (created at {created} by an earlier run): delete it (`az batch job delete --job-id {id}`) or rename the job",
                    job.state
                ))
            }
        }
        Err((e, _)) => Err(format!("cannot create job `{id}`: {e}")),
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
pub async fn add_collection(ctx: &Ctx, job: &str, body: String) -> Result<Done, String> {
    let parsed: Collection<'_> =
        serde_json::from_str(&body).map_err(|e| format!("a collection of job `{job}` does not parse: {e}"))?;
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
                let result: TaskAddCollectionResult = serde_json::from_slice(&reply.body)
                    .map_err(|e| format!("the reply to a collection of `{job}` does not parse: {e}"))?;
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
                        return Err(format!(
                            "{} tasks of `{job}` still get server errors after {SERVER_ERROR_ROUNDS} rounds",
                            again.len()
                        ));
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
            Err(e) => return Err(format!("cannot add tasks to job `{job}`: {e}")),
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
pub async fn end_when_done(ctx: &Ctx, job: &str, body: String) -> Result<(), String> {
    if ctx.hooks_on_failure {
        return Ok(());
    }
    ctx.client
        .send(Method::PATCH, &format!("/jobs/{job}"), &[], Some(body.into_bytes()))
        .await
        .map(|_| ())
        .map_err(|e| format!("cannot set job `{job}` to end when its tasks are done: {e}"))
}
