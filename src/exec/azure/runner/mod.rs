//! Executes a plan against Batch: every step starts when the steps in its `after` are done,
//! task collections go out with bounded parallelism, and each step is recorded in the run
//! folder when it is done, so `--resume` continues without sending it again.

mod arm_pools;
mod jobs;
mod launch;
mod monitor;
mod pools;
mod reuse;
mod submit;

use super::arm::pools::ArmAccount;
use super::client::{BatchClient, Error};
use super::control;
use super::models::TaskCounts;
use crate::exec::backend::Outcome;
use crate::exec::error::RunError;
use crate::exec::identity::{self, RunIds};
use crate::exec::plan_tasks::Origins;
use crate::exec::policy::{Decision, HookPolicy};
use crate::exec::stage::Links;
use crate::exec::state::RunDir;
use crate::exec::{Counts, Observer};
use crate::exec::{TaskReport, TaskState};
use crate::plan::{Plan, Step, StepKind};
use crate::secrets::{self, Escape};
use launch::{launch, Queue};
use reqwest::Method;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

pub use monitor::FailedTask;
use submit::{is_collection, Submit};

#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// Task collections in flight at once (`--max-in-flight`).
    pub max_in_flight: usize,
    /// How often waits ask Batch how things stand.
    pub poll: Duration,
    /// Resizes re-issued when a pool stops short of its target.
    pub resize_retries: u32,
    pub interrupt: Arc<AtomicBool>,
    /// Values for `<secret:NAME>` placeholders, filled in as each body is sent.
    pub secrets: HashMap<String, String>,
    /// The run's id and suffix, for `<run>` and `<run-suffix>`; whose pools and jobs are this
    /// run's.
    pub ids: RunIds,
    /// Fills staging's placeholders (blob URLs with SAS) as bodies are sent.
    pub links: Arc<Links>,
    /// A rerun's tasks carried over from an earlier run, by (job, task): never sent, and no
    /// task sent depends on them.
    pub carried: Arc<HashSet<(String, String)>>,
}

/// What a run found, for the summary.
#[derive(Debug, Default)]
pub struct Findings {
    pub failed_tasks: Vec<FailedTask>,
    /// Tasks Batch refused to add: (job, task, error).
    pub rejected: Vec<(String, String, String)>,
    /// Steps that failed, with their errors.
    pub failed_steps: Vec<(String, RunError)>,
    /// Steps that could not run, and why.
    pub skipped: Vec<(String, String)>,
    pub succeeded: u64,
    pub submitted: u64,
    /// Pools that became ready in this process: when, and their dedicated and low-priority
    /// nodes then (for the node-hours the summary shows).
    pub ready: Vec<PoolReady>,
}

/// A pool that became ready.
#[derive(Debug, Clone)]
pub struct PoolReady {
    pub pool: String,
    pub at: std::time::Instant,
    pub dedicated: u32,
    pub low_priority: u32,
}

/// What a step handler sends while it works.
pub(crate) enum StepMsg {
    Note(String),
    /// How a wait stands (see [`Observer::waiting`]).
    Waiting {
        key: String,
        line: Option<String>,
    },
    Counts {
        job: String,
        counts: TaskCounts,
    },
    /// Tasks seen to succeed (once each).
    Succeeded {
        job: String,
        tasks: Vec<String>,
    },
    /// Failed tasks for `on_task_failed`: the hooks live on the run's loop.
    Ask {
        tasks: Vec<FailedTask>,
        reply: oneshot::Sender<Vec<Decision>>,
    },
}

/// What a finished step tells the loop.
pub(crate) enum Done {
    Plain,
    /// A pool that was there before this run (see `reuse.rs`); when the run ends it is left as
    /// it was if batchflow did not make it (`release.rs`).
    PoolAdopted(String),
    Collection {
        job: String,
        added: u64,
        rejected: Vec<(String, String)>,
    },
    Job {
        job: String,
        succeeded: u64,
        failed: Vec<FailedTask>,
    },
}

/// What step handlers share.
pub(crate) struct Ctx {
    pub client: BatchClient,
    /// The account for pools created through Azure Resource Manager, when the plan has any.
    pub arm: Option<ArmAccount>,
    /// Pools created through Azure Resource Manager.
    pub arm_pools: HashSet<String>,
    /// Pools that became ready, as they do.
    pub ready: std::sync::Mutex<Vec<PoolReady>>,
    pub opts: RunnerOptions,
    pub tx: mpsc::UnboundedSender<StepMsg>,
    pub hooks_on_failure: bool,
    /// Jobs with outputs that come back into the repository: their succeeded tasks are
    /// announced as they succeed.
    pub delivering: HashSet<String>,
    /// The run folder's step log, to mark creations before they are sent.
    steps: RunDir,
    /// Steps an earlier process of this run had sent (or was about to).
    sent_before: HashSet<String>,
    /// The Batch id of each of the workflow's jobs in this run.
    batch_jobs: BTreeMap<String, String>,
}

impl Ctx {
    pub fn note(&self, line: impl Into<String>) {
        let _ = self.tx.send(StepMsg::Note(line.into()));
    }

    /// Marks `step` in the run folder as being sent; whether an earlier process of this run
    /// had sent it already.
    pub fn mark_sending(&self, step: &str) -> bool {
        if let Err(e) = self.steps.mark_sending(step) {
            self.note(format!("cannot record step `{step}` in the run folder: {e}"));
        }
        self.sent_before.contains(step)
    }

    /// Sends a request that creates a pool or job (`step`), first marking it in the run folder.
    /// An "exists" answer is for the caller to judge, from the metadata of what exists: this
    /// run's own (an attempt whose answer was lost, or a process of this run that was killed)
    /// carries this run's id.
    pub async fn create(&self, step: &str, path: &str, body: String) -> Result<(), Error> {
        self.mark_sending(step);
        self.client
            .send(Method::POST, path, &[], Some(body.into_bytes()))
            .await
            .map(|_| ())
    }

    /// Whether a pool or job carrying `metadata` is this run's.
    pub fn is_mine(&self, metadata: &[crate::plan::batch_api::MetadataItem]) -> bool {
        self.opts.ids.is_mine(metadata)
    }

    /// The Batch id of the workflow's job `job` in this run.
    pub fn job_id<'a>(&'a self, job: &'a str) -> &'a str {
        self.batch_jobs.get(job).map_or(job, String::as_str)
    }

    /// A body (or path) with the run's id and suffix, its secrets and staging's URLs filled in,
    /// for sending only.
    pub fn reveal(&self, body: &str) -> Result<String, RunError> {
        let body = self.opts.ids.fill(body);
        let body = if body.contains("<secret:") {
            secrets::reveal(&body, &self.opts.secrets, Escape::Json).map_err(RunError::Refused)?
        } else {
            body.into_owned()
        };
        self.opts.links.fill(&body)
    }

    /// How the wait for `key` stands; `None` when it is over.
    pub fn waiting(&self, key: &str, line: Option<String>) {
        let _ = self.tx.send(StepMsg::Waiting {
            key: key.to_string(),
            line,
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done,
    Skipped(String),
    Failed(String),
}

/// What the run loop is given by the run driver.
pub struct Env<'a, 'h> {
    pub run_dir: &'a RunDir,
    pub policy: &'a mut HookPolicy<'h>,
    pub observer: &'a mut dyn Observer,
    pub origins: &'a Origins,
}

pub async fn run(
    plan: &Plan,
    client: BatchClient,
    arm: Option<ArmAccount>,
    opts: RunnerOptions,
    env: Env<'_, '_>,
) -> (Outcome, Findings) {
    let Env {
        run_dir,
        policy,
        observer,
        origins,
    } = env;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let arm_pools = plan
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::CreateArmPool { pool } => Some(pool.clone()),
            _ => None,
        })
        .collect();
    let ctx = Arc::new(Ctx {
        client,
        arm,
        arm_pools,
        ready: std::sync::Mutex::new(Vec::new()),
        opts: opts.clone(),
        tx,
        hooks_on_failure: policy.decides_failures(),
        delivering: plan.staging.deliveries.iter().map(|d| d.job.clone()).collect(),
        steps: RunDir::open(run_dir.path.clone()),
        sent_before: run_dir.steps_sent(),
        batch_jobs: identity::batch_jobs(plan, &opts.ids),
    });
    let mut done_before = run_dir.steps_done();
    // A rerun's jobs (and pools) with nothing to run are done before they start.
    done_before.extend(crate::exec::rerun::idle_steps(plan, &opts.carried));
    let mut states: HashMap<&str, State> = plan
        .steps
        .iter()
        .map(|s| {
            let st = if done_before.contains(&s.id) {
                State::Done
            } else {
                State::Pending
            };
            (s.id.as_str(), st)
        })
        .collect();
    let mut report = Findings::default();
    let mut set: JoinSet<(String, Result<Done, RunError>)> = JoinSet::new();
    let mut counts: HashMap<String, TaskCounts> = HashMap::new();
    let total_tasks: u64 = plan.steps.iter().map(|s| s.tasks as u64).sum();
    let mut aborted: Option<RunError> = None;
    let mut failed_jobs: HashSet<String> = HashSet::new();
    let index: HashMap<&str, &Step> = plan.steps.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut submit = Submit::new(plan, &states);
    let mut queue = Queue::new(plan, &states);
    loop {
        if opts.interrupt.load(Ordering::SeqCst) {
            set.abort_all();
            report.ready = take_ready(&ctx);
            return (Outcome::Interrupted, report);
        }
        if aborted.is_none() {
            launch(plan, &mut queue, &mut states, &mut set, &ctx, &failed_jobs, &mut submit);
        }
        observer.progress(&progress(&counts, total_tasks, opts.carried.len() as u64));
        if set.is_empty() {
            break;
        }
        tokio::select! {
            joined = set.join_next() => {
                let Some(joined) = joined else { continue };
                let Ok((id, result)) = joined else { continue };
                let step = index.get(id.as_str()).copied();
                if step.is_some_and(is_collection) {
                    queue.in_flight = queue.in_flight.saturating_sub(1);
                }
                if let (Some(step), Ok(Done::Collection { added, .. })) = (step, &result) {
                    if let Some(line) = submit.finished(step, *added) {
                        observer.note(&line);
                    }
                }
                match result {
                    Ok(done) => {
                        if let Done::PoolAdopted(pool) = &done {
                            if let Err(e) = run_dir.mark_step(&control::adopted_mark(pool)) {
                                observer.note(&format!("cannot record pool `{pool}` in the run folder: {e}"));
                            }
                        }
                        if let Err(e) = run_dir.mark_step(&id) {
                            observer.note(&format!("cannot record step `{id}` in the run folder: {e}"));
                        }
                        states.insert(step.map_or("", |s| s.id.as_str()), State::Done);
                        absorb(done, &mut report, &mut failed_jobs);
                    }
                    Err(RunError::Interrupted) => {}
                    Err(error) => {
                        let why = error.to_string();
                        observer.note(&format!("step `{id}` failed: {why}"));
                        states.insert(step.map_or("", |s| s.id.as_str()), State::Failed(why));
                        match step.map(|s| &s.kind) {
                            Some(StepKind::CreatePool { .. } | StepKind::CreateArmPool { .. }) => {
                                aborted = aborted.or(Some(error))
                            }
                            Some(StepKind::WaitJob { job } | StepKind::EndJob { job }) => {
                                failed_jobs.insert(job.clone());
                                report.failed_steps.push((id, error));
                            }
                            _ => report.failed_steps.push((id, error)),
                        }
                    }
                }
            }
            Some(msg) = rx.recv() => handle(msg, &mut counts, policy, observer, origins, &mut aborted),
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        while let Ok(msg) = rx.try_recv() {
            handle(msg, &mut counts, policy, observer, origins, &mut aborted);
        }
        if aborted.is_some() && !set.is_empty() {
            // Nothing more is sent; the cleanup after the run ends the jobs.
            set.abort_all();
        }
    }
    for (id, st) in &states {
        match st {
            State::Skipped(why) => report.skipped.push((id.to_string(), why.clone())),
            State::Pending => report
                .skipped
                .push((id.to_string(), "a step it comes after did not finish".into())),
            _ => {}
        }
    }
    report.skipped.sort();
    report.ready = take_ready(&ctx);
    let outcome = match aborted {
        Some(error) => Outcome::Aborted(error),
        None => Outcome::Finished,
    };
    (outcome, report)
}

fn take_ready(ctx: &Ctx) -> Vec<PoolReady> {
    ctx.ready
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default()
}

/// A message from a step handler.
fn handle(
    msg: StepMsg,
    counts: &mut HashMap<String, TaskCounts>,
    policy: &mut HookPolicy<'_>,
    observer: &mut dyn Observer,
    origins: &Origins,
    aborted: &mut Option<RunError>,
) {
    match msg {
        StepMsg::Note(line) => observer.note(&line),
        StepMsg::Waiting { key, line } => observer.waiting(&key, line.as_deref()),
        StepMsg::Counts { job, counts: c } => {
            counts.insert(job, c);
        }
        StepMsg::Succeeded { job, tasks } => {
            for task in &tasks {
                observer.task_succeeded(&job, task);
            }
        }
        StepMsg::Ask { tasks, reply } => {
            let mut decisions = Vec::with_capacity(tasks.len());
            for t in &tasks {
                let report = TaskReport {
                    job: t.job.clone(),
                    task: t.task.clone(),
                    state: TaskState::Failed,
                    exit_code: t.exit_code,
                    attempts: t.attempts,
                    duration: None,
                    output: None,
                    reason: Some(t.reason.clone()),
                    cached: false,
                };
                let verdict = policy.task_failed(&report, origins.get(&t.job, &t.task));
                if let Some(note) = &verdict.note {
                    observer.note(note);
                }
                if verdict.decision == Decision::Abort && aborted.is_none() {
                    *aborted = Some(RunError::Aborted(format!(
                        "`{}` failed and on_task_failed says abort",
                        t.task
                    )));
                }
                decisions.push(verdict.decision);
            }
            let _ = reply.send(decisions);
        }
    }
}

fn absorb(done: Done, report: &mut Findings, failed_jobs: &mut HashSet<String>) {
    match done {
        Done::Plain | Done::PoolAdopted(_) => {}
        Done::Collection { job, added, rejected } => {
            report.submitted += added;
            report
                .rejected
                .extend(rejected.into_iter().map(|(t, e)| (job.clone(), t, e)));
        }
        Done::Job { job, succeeded, failed } => {
            report.succeeded += succeeded;
            if !failed.is_empty() {
                failed_jobs.insert(job);
            }
            report.failed_tasks.extend(failed);
        }
    }
}

/// Task counts for the progress display, from what Batch reported per job; tasks not yet
/// seen by Batch count as waiting, and those a rerun carried over as succeeded.
fn progress(counts: &HashMap<String, TaskCounts>, total: u64, carried: u64) -> Counts {
    let (mut running, mut succeeded, mut failed) = (0u64, carried, 0u64);
    for tc in counts.values() {
        running += tc.running;
        succeeded += tc.succeeded;
        failed += tc.failed;
    }
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Counts {
        waiting: as_usize(total.saturating_sub(running + succeeded + failed)),
        running: as_usize(running),
        succeeded: as_usize(succeeded),
        failed: as_usize(failed),
        ..Counts::default()
    }
}
