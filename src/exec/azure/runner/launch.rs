//! Which plan steps start next: every step whose `after` steps are done, task collections up
//! to the in-flight limit, and those after a failed step skipped.

use super::submit::{is_collection, Submit};
use super::{arm_pools, jobs, monitor, pools, Ctx, Done, State};
use crate::exec::error::RunError;
use crate::plan::{Action, Plan, Step, StepKind};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::task::JoinSet;

/// The steps not started yet, in plan order. Task collections are kept apart and scanned from
/// the first one still pending, only until the in-flight limit is reached: a plan of 10,000
/// collections would otherwise be walked whole after every answer.
pub(super) struct Queue {
    others: Vec<usize>,
    collections: Vec<usize>,
    /// Collections before this index have all started (or been skipped).
    first: usize,
    /// Collections sent and not answered yet.
    pub(super) in_flight: usize,
}

impl Queue {
    pub(super) fn new(plan: &Plan, states: &HashMap<&str, State>) -> Queue {
        let pending = |s: &&Step| states.get(s.id.as_str()) == Some(&State::Pending);
        let (mut others, mut collections) = (Vec::new(), Vec::new());
        for (k, step) in plan.steps.iter().enumerate().filter(|(_, s)| pending(s)) {
            if is_collection(step) {
                collections.push(k);
            } else {
                others.push(k);
            }
        }
        Queue {
            others,
            collections,
            first: 0,
            in_flight: 0,
        }
    }
}

/// Whether a pending step can start.
enum Readiness {
    Ready,
    NotYet,
    /// It never will: a step it comes after failed or was skipped.
    Blocked(String),
}

fn readiness(step: &Step, states: &HashMap<&str, State>, failed_jobs: &HashSet<String>) -> Readiness {
    // `after` names a job's wait step when the job comes after another job.
    let blocked = step.after.iter().find_map(|a| match states.get(a.as_str()) {
        Some(State::Failed(_)) | Some(State::Skipped(_)) => Some(format!("`{a}` did not finish")),
        _ => None,
    });
    // A job after a job with failures does not start (as in a local run).
    let after_failed_job = match &step.kind {
        StepKind::CreateJob { .. } => failed_jobs
            .iter()
            .find(|j| step.after.contains(&StepKind::WaitJob { job: (*j).clone() }.id()))
            .map(|j| format!("job `{j}`, which it comes after, did not fully succeed")),
        _ => None,
    };
    if let Some(why) = blocked.or(after_failed_job) {
        return Readiness::Blocked(why);
    }
    if step.after.iter().all(|a| states.get(a.as_str()) == Some(&State::Done)) {
        Readiness::Ready
    } else {
        Readiness::NotYet
    }
}

/// Starts every step whose `after` steps are done (collections up to the in-flight limit);
/// skips those after a failed one.
pub(super) fn launch<'p>(
    plan: &'p Plan,
    queue: &mut Queue,
    states: &mut HashMap<&'p str, State>,
    set: &mut JoinSet<(String, Result<Done, RunError>)>,
    ctx: &Arc<Ctx>,
    failed_jobs: &HashSet<String>,
    submit: &mut Submit,
) {
    let pending =
        |states: &HashMap<&str, State>, k: usize| states.get(plan.steps[k].id.as_str()) == Some(&State::Pending);
    for &k in &queue.others {
        let step = &plan.steps[k];
        if can_start(step, states, failed_jobs) {
            start(step, states, set, ctx);
        }
    }
    queue.others.retain(|&k| pending(states, k));
    while queue.first < queue.collections.len() && !pending(states, queue.collections[queue.first]) {
        queue.first += 1;
    }
    for &k in &queue.collections[queue.first..] {
        if queue.in_flight >= ctx.opts.max_in_flight {
            break;
        }
        let step = &plan.steps[k];
        if can_start(step, states, failed_jobs) {
            queue.in_flight += 1;
            submit.started(step);
            start(step, states, set, ctx);
        }
    }
}

/// Whether a pending step can start now; one that never will is marked skipped.
fn can_start<'p>(step: &'p Step, states: &mut HashMap<&'p str, State>, failed_jobs: &HashSet<String>) -> bool {
    if states.get(step.id.as_str()) != Some(&State::Pending) {
        return false;
    }
    match readiness(step, states, failed_jobs) {
        Readiness::Ready => true,
        Readiness::NotYet => false,
        Readiness::Blocked(why) => {
            states.insert(step.id.as_str(), State::Skipped(why));
            false
        }
    }
}

/// Spawns the work of one step, by its kind.
fn start<'p>(
    step: &'p Step,
    states: &mut HashMap<&'p str, State>,
    set: &mut JoinSet<(String, Result<Done, RunError>)>,
    ctx: &Arc<Ctx>,
) {
    states.insert(step.id.as_str(), State::Running);
    let id = step.id.clone();
    let ctx = Arc::clone(ctx);
    let kind = step.kind.clone();
    let (body, path) = match &step.action {
        Action::Request { body, path, .. } => (Some(body.get()), ctx.opts.ids.fill(path).into_owned()),
        Action::Wait { path, .. } => (None, ctx.opts.ids.fill(path).into_owned()),
    };
    // Secrets and the run's id are filled in only here, just before the body is sent: never
    // in the plan.
    let body = match body.map(|b| ctx.reveal(b)).transpose() {
        Ok(b) => b,
        Err(e) => {
            set.spawn(async move { (id, Err(e)) });
            return;
        }
    };
    set.spawn(async move {
        let r = match (kind, body) {
            (StepKind::CreatePool { .. }, Some(body)) => pools::create(&ctx, &id, body).await,
            (StepKind::CreateArmPool { pool }, Some(body)) => arm_pools::create(&ctx, &id, &pool, &path, body).await,
            (StepKind::WaitPool { pool }, None) if ctx.arm_pools.contains(&pool) => {
                arm_pools::wait(&ctx, &pool).await.map(|()| Done::Plain)
            }
            (StepKind::WaitPool { pool }, None) => pools::wait_ready(&ctx, &pool).await.map(|()| Done::Plain),
            (StepKind::CreateJob { job }, Some(body)) => {
                jobs::create(&ctx, &id, &job, body).await.map(|()| Done::Plain)
            }
            (StepKind::AddTasks { job, .. }, Some(body)) => jobs::add_collection(&ctx, &job, body).await,
            (StepKind::EndJob { job }, Some(body)) => jobs::end_when_done(&ctx, &job, body).await.map(|()| Done::Plain),
            (StepKind::WaitJob { job }, None) => monitor::wait_completed(&ctx, &job).await,
            (kind, _) => Err(RunError::Launch(format!(
                "step `{id}`: a {kind:?} step of another shape than the plan writes"
            ))),
        };
        (id, r)
    });
}
