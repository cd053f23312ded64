//! Watching a job to its end: task counts for the progress display, failed tasks with the end
//! of their stderr, `on_task_failed` asked once the job is quiet (a "retry" reactivates the
//! task), and the end of a job whose remaining tasks wait on failures and can never run.

use super::pools::{file_tail, stop_if_interrupted};
use super::{Ctx, Done, StepMsg};
use crate::exec::azure::models::{CloudJob, CloudPool, CloudTask, TaskCountsResult};
use crate::exec::azure::{control, list};
use crate::exec::error::RunError;
use crate::exec::policy::Decision;
use reqwest::Method;
use std::collections::{HashMap, HashSet};
use tokio::sync::oneshot;

/// Tasks of a job already announced as succeeded (staging brings their outputs back).
#[derive(Default)]
struct Succeeded {
    /// The succeeded count when they were last listed.
    counted: u64,
    told: HashSet<String>,
}

impl Succeeded {
    /// Lists the job's succeeded tasks and tells the run loop of the new ones.
    async fn announce(&mut self, ctx: &Ctx, job: &str, count: u64) -> Result<(), RunError> {
        let tasks: Vec<CloudTask> = list::all(
            &ctx.client,
            &format!("/jobs/{}/tasks", ctx.job_id(job)),
            &[("$filter", "executionInfo/result eq 'success'"), ("$select", "id")],
        )
        .await
        .map_err(|e| RunError::batch(format!("list the succeeded tasks of job `{job}`"), e))?;
        let fresh: Vec<String> = tasks
            .into_iter()
            .map(|t| t.id)
            .filter(|t| self.told.insert(t.clone()))
            .collect();
        self.counted = count;
        if !fresh.is_empty() {
            let _ = ctx.tx.send(StepMsg::Succeeded {
                job: job.to_string(),
                tasks: fresh,
            });
        }
        Ok(())
    }
}

/// Polls between looks at the pool of a job whose tasks wait and none runs.
const POOL_CHECK_EVERY: u64 = 5;

/// Tasks wait for nodes forever once their pool is gone (deleted by another run, by hand):
/// that is an error, not a wait.
async fn pool_still_there(ctx: &Ctx, job: &str, pool: &str) -> Result<(), RunError> {
    let gone = |how: &str| {
        RunError::Aborted(format!(
            "pool `{pool}` {how} while tasks of job `{job}` waited for it; they can never run"
        ))
    };
    match list::get_raw::<CloudPool>(&ctx.client, &format!("/pools/{pool}"), &[("$select", "id,state")]).await {
        Err(e) if e.code() == Some("PoolNotFound") => Err(gone("was deleted")),
        Err(e) => Err(RunError::batch(format!("read pool `{pool}`"), e)),
        Ok(p) if p.state.as_deref() == Some("deleting") => Err(gone("is being deleted")),
        Ok(_) => Ok(()),
    }
}

/// Failed tasks whose stderr is fetched for the report.
const TAILS: usize = 10;

/// A task that ended in failure (or never ran because of one).
#[derive(Debug, Clone)]
pub struct FailedTask {
    pub job: String,
    pub task: String,
    pub exit_code: Option<i32>,
    /// Attempts Batch made (its retries included).
    pub attempts: u32,
    /// Why, with the last line of its stderr when there is one.
    pub reason: String,
    /// The last lines of its `stderr.txt`, or of `stdout.txt` when stderr is empty: (file, lines).
    pub tail: Option<(&'static str, String)>,
}

/// Waits for the job to end. Batch ends it by itself once the plan's PATCH set
/// `terminatejob`; with an `on_task_failed` hook that PATCH is held back (a completed job
/// cannot reactivate a task), and the job is terminated here once it is quiet.
pub async fn wait_completed(ctx: &Ctx, job: &str) -> Result<Done, RunError> {
    let path = format!("/jobs/{}", ctx.job_id(job));
    let mut settled: HashSet<String> = HashSet::new();
    let mut succeeded = Succeeded::default();
    let mut polls: u64 = 0;
    loop {
        stop_if_interrupted(ctx)?;
        let counts: TaskCountsResult = list::get(&ctx.client, &format!("{path}/taskcounts"), &[]).await?;
        let c = counts.task_counts;
        let _ = ctx.tx.send(StepMsg::Counts {
            job: job.to_string(),
            counts: c,
        });
        if ctx.delivering.contains(job) && c.succeeded > succeeded.counted {
            succeeded.announce(ctx, job, c.succeeded).await?;
        }
        let state: CloudJob = list::get(&ctx.client, &path, &[("$select", "id,state,executionInfo,poolInfo")]).await?;
        if state.state == "completed" {
            return finished(ctx, job, c.succeeded, Vec::new()).await;
        }
        polls += 1;
        let pool = &state.pool_info.pool_id;
        if c.active > 0 && c.running == 0 && polls.is_multiple_of(POOL_CHECK_EVERY) && !pool.is_empty() {
            pool_still_there(ctx, job, pool).await?;
        }
        // Counts lag behind on Batch; a quiet job is confirmed with a list call.
        let may_be_quiet = c.running == 0 && (c.active == 0 || c.failed > 0);
        if may_be_quiet {
            if let Some(quiet) = quiet(ctx, job).await? {
                if ctx.hooks_on_failure && !quiet.failed.is_empty() {
                    let fresh: Vec<String> = quiet.failed.iter().filter(|t| !settled.contains(*t)).cloned().collect();
                    if !fresh.is_empty() && retry_some(ctx, job, &fresh, &mut settled).await? {
                        continue;
                    }
                }
                if !quiet.blocked.is_empty() {
                    ctx.note(format!(
                        "job `{job}`: {} tasks wait on failed tasks and can never run; terminating the job",
                        quiet.blocked.len()
                    ));
                }
                if !quiet.blocked.is_empty() || ctx.hooks_on_failure {
                    terminate(
                        ctx,
                        job,
                        if quiet.blocked.is_empty() {
                            "AllTasksComplete"
                        } else {
                            "BlockedByFailedTasks"
                        },
                    )
                    .await?;
                }
                let blocked = quiet
                    .blocked
                    .into_iter()
                    .map(|(task, dep)| FailedTask {
                        job: job.to_string(),
                        task,
                        exit_code: None,
                        attempts: 0,
                        reason: format!("blocked: `{dep}` did not succeed"),
                        tail: None,
                    })
                    .collect();
                return finished(ctx, job, c.succeeded, blocked).await;
            }
        }
        tokio::time::sleep(ctx.opts.poll).await;
    }
}

async fn finished(ctx: &Ctx, job: &str, succeeded: u64, blocked: Vec<FailedTask>) -> Result<Done, RunError> {
    let mut failed = failures(ctx, job).await?;
    failed.extend(blocked);
    Ok(Done::Job {
        job: job.to_string(),
        succeeded,
        failed,
    })
}

async fn terminate(ctx: &Ctx, job: &str, reason: &str) -> Result<(), RunError> {
    control::terminate_job(&ctx.client, ctx.job_id(job), reason)
        .await
        .map(|_| ())
        .map_err(|e| RunError::batch(format!("terminate job `{job}`"), e))
}

/// Asks `on_task_failed` about the failed tasks not asked before (through the run's loop,
/// which holds the hooks) and reactivates those it retries. True if any was reactivated.
async fn retry_some(ctx: &Ctx, job: &str, fresh: &[String], settled: &mut HashSet<String>) -> Result<bool, RunError> {
    let details = failures(ctx, job).await?;
    let tasks: Vec<FailedTask> = details.into_iter().filter(|t| fresh.contains(&t.task)).collect();
    let (reply, answer) = oneshot::channel();
    let _ = ctx.tx.send(StepMsg::Ask {
        tasks: tasks.clone(),
        reply,
    });
    let decisions = answer
        .await
        .map_err(|_| RunError::Aborted("the run stopped while asking on_task_failed".into()))?;
    let mut any = false;
    for (t, decision) in tasks.iter().zip(decisions) {
        match decision {
            Decision::Retry => {
                let path = format!("/jobs/{}/tasks/{}/reactivate", ctx.job_id(job), t.task);
                ctx.client
                    .send(Method::POST, &path, &[], None)
                    .await
                    .map_err(|e| RunError::batch(format!("reactivate `{}`", t.task), e))?;
                ctx.note(format!(
                    "`{}` failed ({}); on_task_failed says retry: reactivated",
                    t.task, t.reason
                ));
                any = true;
            }
            Decision::Continue => {
                ctx.note(format!(
                    "`{}` failed; on_task_failed says continue, but Batch keeps its dependents waiting (give the task `exit_conditions` to let them run)",
                    t.task
                ));
                settled.insert(t.task.clone());
            }
            Decision::Abort => {
                return Err(RunError::Aborted(format!(
                    "`{}` failed and on_task_failed says abort",
                    t.task
                )))
            }
            Decision::Fail => {
                settled.insert(t.task.clone());
            }
        }
    }
    Ok(any)
}

/// A job with nothing running and nothing that can still run: its failed tasks, and the
/// waiting tasks that depend (through others) on a failure, each with the failure.
struct Quiet {
    failed: Vec<String>,
    blocked: Vec<(String, String)>,
}

async fn quiet(ctx: &Ctx, job: &str) -> Result<Option<Quiet>, RunError> {
    let path = format!("/jobs/{}/tasks", ctx.job_id(job));
    let open: Vec<CloudTask> = list::all(
        &ctx.client,
        &path,
        &[("$filter", "state ne 'completed'"), ("$select", "id,state,dependsOn")],
    )
    .await
    .map_err(|e| RunError::batch(format!("list the open tasks of `{job}`"), e))?;
    if open.iter().any(|t| t.state != "active") {
        return Ok(None);
    }
    let failed: Vec<CloudTask> = list::all(
        &ctx.client,
        &path,
        &[("$filter", "executionInfo/result eq 'failure'"), ("$select", "id")],
    )
    .await
    .map_err(|e| RunError::batch(format!("list the failed tasks of `{job}`"), e))?;
    let mut culprit: HashMap<String, String> = failed.iter().map(|t| (t.id.clone(), t.id.clone())).collect();
    let deps: Vec<(String, Vec<String>)> = open.iter().map(|t| (t.id.clone(), t.dependency_ids())).collect();
    // Propagate until nothing changes: a chain of waiting tasks is blocked all along.
    let mut changed = true;
    while changed {
        changed = false;
        for (id, ids) in &deps {
            if culprit.contains_key(id) {
                continue;
            }
            if let Some(c) = ids.iter().find_map(|d| culprit.get(d).cloned()) {
                culprit.insert(id.clone(), c);
                changed = true;
            }
        }
    }
    let blocked: Vec<(String, String)> = deps
        .iter()
        .filter_map(|(id, _)| culprit.get(id).map(|c| (id.clone(), c.clone())))
        .collect();
    if blocked.len() < open.len() {
        // Some waiting task can still run (its dependencies are not failures).
        return Ok(None);
    }
    Ok(Some(Quiet {
        failed: failed.into_iter().map(|t| t.id).collect(),
        blocked,
    }))
}

/// Completed tasks with result `failure`, the first ones with the end of their stderr.
async fn failures(ctx: &Ctx, job: &str) -> Result<Vec<FailedTask>, RunError> {
    let tasks: Vec<CloudTask> = list::all(
        &ctx.client,
        &format!("/jobs/{}/tasks", ctx.job_id(job)),
        &[
            ("$filter", "executionInfo/result eq 'failure'"),
            ("$select", "id,state,executionInfo"),
        ],
    )
    .await
    .map_err(|e| RunError::batch(format!("list the failed tasks of `{job}`"), e))?;
    let mut out = Vec::with_capacity(tasks.len());
    for (i, t) in tasks.into_iter().enumerate() {
        let info = t.execution_info.unwrap_or_default();
        let code = info.exit_code;
        let failure_code = info.failure_info.as_ref().and_then(|f| f.code.clone());
        let mut reason = match (&info.failure_info, code) {
            // A non-zero exit: Batch's FailureExitCode adds nothing to the code itself.
            (_, Some(c)) if failure_code.as_deref().is_none_or(|f| f == "FailureExitCode") => format!("exit code {c}"),
            (Some(f), _) => format!(
                "{}: {}",
                failure_code.unwrap_or_default(),
                f.message.clone().unwrap_or_default()
            ),
            (None, _) => "failed".into(),
        };
        let tail = if i < TAILS {
            output_tail(ctx, job, &t.id).await
        } else {
            None
        };
        if let Some(("stderr.txt", lines)) = &tail {
            if let Some(last) = lines.lines().last() {
                reason = format!("{reason}: {last}");
            }
        }
        out.push(FailedTask {
            job: job.to_string(),
            task: t.id,
            exit_code: code,
            attempts: info.retry_count + 1,
            reason,
            tail,
        });
    }
    Ok(out)
}

/// The tail of a failed task's `stderr.txt`, or of its `stdout.txt` when stderr is empty;
/// None when neither can be read (the node may be gone) or both are empty.
async fn output_tail(ctx: &Ctx, job: &str, task: &str) -> Option<(&'static str, String)> {
    for file in ["stderr.txt", "stdout.txt"] {
        let path = format!("/jobs/{}/tasks/{task}/files/{file}", ctx.job_id(job));
        if let Ok(tail) = file_tail(ctx, &path).await {
            if !tail.is_empty() {
                return Some((file, tail));
            }
        }
    }
    None
}
