//! The local run loop: one thread decides what runs where; a waiter thread per process
//! reports its exit over a channel. Tasks start when their dependencies succeeded and a node
//! of their pool has the slots; a failure blocks what depends on it while independent work
//! goes on; timeouts and Ctrl-C stop whole process groups.

use super::clock::human;
use super::layout::{self, Node};
use super::model::Model;
use super::spawn::{self, ContainerTask, Launch};
use crate::exec::backend::Outcome;
use crate::exec::policy::{Decision, HookPolicy};
use crate::exec::state::{Event, RunDir, RunState, TaskRecord};
use crate::exec::{Counts, Observer, TaskReport, TaskState};
use crate::plan::batch_api::TaskContainerSettings;
use crate::value::parse_iso8601;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

mod outcomes;
mod outputs;
mod placement;
mod record;
mod units;

/// How long a stopped process group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// How often state is written while tasks finish (and always at the end).
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// On Ctrl-C, how long exits are still taken as ordinary ends before running tasks are stopped.
const SETTLE: Duration = Duration::from_millis(100);
/// Longest wait for a message: how soon Ctrl-C is noticed, so tasks are stopped before they
/// finish rather than as they finish.
const TICK: Duration = Duration::from_millis(20);

pub struct SchedulerOptions {
    /// Most tasks run at once (`--jobs`, default: the CPUs); as many start, preparation and
    /// release tasks may run beside them.
    pub jobs: u32,
    /// The docker-compatible CLI, when the plan has container tasks.
    pub container_cli: Option<PathBuf>,
    pub run_id: String,
    /// Values for `<secret:NAME>` placeholders.
    pub secrets: HashMap<String, String>,
    /// The folder each pool mount stands for.
    pub mounts: std::collections::BTreeMap<String, PathBuf>,
    /// Staged inputs and outputs (repository files, `az://`).
    pub files: Option<std::sync::Arc<crate::exec::stage::LocalFiles>>,
}

/// One piece of work on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Task(usize),
    Start,
    Prep(usize),
    Release(usize),
}

struct Running {
    unit: Unit,
    node: usize,
    slots: u32,
    pgid: i32,
    started: Instant,
    deadline: Option<Instant>,
    term_sent: Option<Instant>,
    timed_out: bool,
}

impl Running {
    /// A unit started now on node `node`; `pgid` 0 when no process could be started.
    fn new(unit: Unit, node: usize, slots: u32, pgid: i32, timeout: Option<Duration>) -> Running {
        let started = Instant::now();
        Running {
            unit,
            node,
            slots,
            pgid,
            started,
            deadline: timeout.map(|t| started + t),
            term_sent: None,
            timed_out: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Gate {
    /// No start/prep task, or it succeeded.
    Open,
    Running,
    Failed(String),
}

struct NodeRun {
    node: Node,
    free: u32,
    start: Gate,
    /// Job preparation state per job on this node.
    prep: HashMap<usize, Gate>,
    /// Release tasks still to run here (jobs whose prep ran here and that finished).
    release_due: Vec<usize>,
    /// Start task runs so far, for its `maxTaskRetryCount`.
    start_attempts: u32,
}

struct TaskRun {
    state: TaskState,
    attempts: u32,
    exit_code: Option<i32>,
    node: Option<usize>,
    duration: Option<Duration>,
    reason: Option<String>,
    /// Dependencies not yet satisfied.
    waiting_on: usize,
    /// Succeeded, or failed with `on_task_failed` answering "continue".
    satisfies: bool,
}

struct JobRun {
    /// Jobs in its `after` that have not finished.
    waiting_on: usize,
    eligible: bool,
    /// Tasks not yet in a final state.
    left: usize,
    failed_any: bool,
    done: bool,
}

/// A process of a unit ended.
struct ProcessExit {
    key: u64,
    code: Option<i32>,
}

struct Sched<'a, 'h> {
    model: &'a Model,
    policy: &'a mut HookPolicy<'h>,
    opts: &'a SchedulerOptions,
    /// Set by Ctrl-C (or SIGTERM): stop children, save, return.
    interrupt: &'a AtomicBool,
    run: &'a mut RunDir,
    record: &'a mut RunState,
    nodes: Vec<NodeRun>,
    /// The nodes of each pool, in order.
    pool_nodes: Vec<Vec<usize>>,
    /// Each task's home node, an index into its pool's nodes.
    homes: Vec<usize>,
    /// Nodes whose start task waits for its turn.
    start_due: VecDeque<usize>,
    /// Start, preparation and release tasks running now.
    side_running: u32,
    tasks: Vec<TaskRun>,
    jobs: Vec<JobRun>,
    dependents: Vec<Vec<usize>>,
    /// The tasks of each job, in plan order.
    job_tasks: Vec<Vec<usize>>,
    /// Ready tasks per pool, in plan order.
    ready: Vec<VecDeque<usize>>,
    running: HashMap<u64, Running>,
    next_key: u64,
    tx: Sender<ProcessExit>,
    rx: Receiver<ProcessExit>,
    counts: Counts,
    dirty: bool,
    last_save: Instant,
    abort: Option<String>,
    /// Process groups told to stop whose shell has exited: the rest of the group gets the
    /// grace period to clean up, then SIGKILL.
    lingering: Vec<(i32, Instant)>,
    observer: &'a mut dyn Observer,
}

/// What the scheduler is given by the run driver.
pub struct Ctx<'a, 'h> {
    pub run: &'a mut RunDir,
    pub record: &'a mut RunState,
    /// The stopped run's record, when this one continues it.
    pub resumed: Option<RunState>,
    pub policy: &'a mut HookPolicy<'h>,
    pub observer: &'a mut dyn Observer,
    pub interrupt: &'a AtomicBool,
}

/// Runs the model; `run_dir` already holds `plan.json`. Errors are I/O errors of the run
/// folder itself; everything a task does is in its report.
pub fn run(model: &Model, opts: &SchedulerOptions, ctx: Ctx<'_, '_>) -> std::io::Result<(Outcome, Vec<TaskReport>)> {
    let (tx, rx) = channel();
    let nodes = nodes(model, &ctx.run.path, &opts.mounts);
    let mut pool_nodes = vec![Vec::new(); model.pools.len()];
    for (i, n) in nodes.iter().enumerate() {
        if let Some(v) = pool_nodes.get_mut(n.node.pool) {
            v.push(i);
        }
    }
    let mut s = Sched {
        model,
        policy: ctx.policy,
        opts,
        interrupt: ctx.interrupt,
        nodes,
        homes: placement::homes(model, &pool_nodes),
        pool_nodes,
        start_due: VecDeque::new(),
        side_running: 0,
        run: ctx.run,
        record: ctx.record,
        tasks: Vec::with_capacity(model.tasks.len()),
        jobs: Vec::new(),
        dependents: vec![Vec::new(); model.tasks.len()],
        job_tasks: vec![Vec::new(); model.jobs.len()],
        ready: vec![VecDeque::new(); model.pools.len()],
        running: HashMap::new(),
        next_key: 0,
        tx,
        rx,
        counts: Counts::default(),
        dirty: true,
        last_save: Instant::now(),
        abort: None,
        lingering: Vec::new(),
        observer: ctx.observer,
    };
    s.init(ctx.resumed)?;
    // A state file from the first moment: a run killed at once can still be resumed.
    s.save()?;
    let outcome = s.main_loop()?;
    let reports = s.reports();
    s.save()?;
    Ok((outcome, reports))
}

/// The simulated nodes of every pool: as many as the pool has (see [`layout::simulated`]),
/// each with the pool's task slots.
fn nodes(
    model: &Model,
    run_dir: &std::path::Path,
    mounts: &std::collections::BTreeMap<String, PathBuf>,
) -> Vec<NodeRun> {
    let mut out = Vec::new();
    for (p, pool) in model.pools.iter().enumerate() {
        for (n, dedicated) in layout::simulated(pool.dedicated, pool.low_priority)
            .into_iter()
            .enumerate()
        {
            let id = format!("{}-node-{n}", pool.id);
            out.push(NodeRun {
                node: Node {
                    root: run_dir.join("nodes").join(&id),
                    id,
                    pool: p,
                    pool_id: pool.id.clone(),
                    slots: pool.task_slots,
                    dedicated,
                    mounts: pool
                        .mounts
                        .iter()
                        .filter_map(|m| Some((m.clone(), mounts.get(m)?.clone())))
                        .collect(),
                },
                free: pool.task_slots,
                start: if pool.start_task.is_some() {
                    Gate::Running
                } else {
                    Gate::Open
                },
                prep: HashMap::new(),
                release_due: Vec::new(),
                start_attempts: 0,
            });
        }
    }
    out
}

impl Sched<'_, '_> {
    fn init(&mut self, resumed: Option<RunState>) -> std::io::Result<()> {
        let model = self.model;
        for (i, t) in model.tasks.iter().enumerate() {
            if let Some(v) = self.job_tasks.get_mut(t.job) {
                v.push(i);
            }
            for d in &t.deps {
                if let Some(v) = self.dependents.get_mut(*d) {
                    v.push(i);
                }
            }
        }
        for job in &model.jobs {
            self.jobs.push(JobRun {
                waiting_on: job.after.len(),
                eligible: false,
                left: 0,
                failed_any: false,
                done: false,
            });
        }
        for t in &model.tasks {
            self.tasks.push(TaskRun {
                state: TaskState::Waiting,
                attempts: 0,
                exit_code: None,
                node: None,
                duration: None,
                reason: None,
                waiting_on: t.deps.len(),
                satisfies: false,
            });
            if let Some(j) = self.jobs.get_mut(t.job) {
                j.left += 1;
            }
        }
        self.counts.waiting = self.tasks.len();
        for dir in self.nodes.iter().map(|n| n.node.root.clone()).collect::<Vec<_>>() {
            for sub in ["shared", "startup/wd", "workitems"] {
                std::fs::create_dir_all(dir.join(sub))?;
            }
        }
        if let Some(old) = resumed {
            self.restore(&old);
        }
        // Start tasks go first, `--jobs` at a time (see `dispatch`).
        self.start_due = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].start == Gate::Running)
            .collect();
        // Jobs with nothing to wait for become eligible now (in plan order).
        for j in 0..self.jobs.len() {
            if self.jobs[j].waiting_on == 0 {
                self.make_eligible(j);
            }
        }
        Ok(())
    }

    fn job_id(&self, task: usize) -> &str {
        self.model
            .tasks
            .get(task)
            .and_then(|t| self.model.jobs.get(t.job))
            .map_or("", |j| j.id.as_str())
    }

    fn task_id(&self, task: usize) -> &str {
        self.model.tasks.get(task).map_or("", |t| t.body.id.as_str())
    }

    fn main_loop(&mut self) -> std::io::Result<Outcome> {
        loop {
            if self.interrupt.load(Ordering::SeqCst) {
                self.stop_everything();
                return Ok(Outcome::Interrupted);
            }
            if let Some(why) = self.abort.take() {
                self.observer.note(&why);
                self.stop_everything();
                self.block_all_waiting(&why);
            }
            self.dispatch();
            self.observer.progress(&self.counts);
            if self.running.is_empty() {
                break;
            }
            let wait = self
                .running
                .values()
                .filter_map(|r| r.term_sent.map(|t| t + GRACE).or(r.deadline))
                .min()
                .map_or(TICK, |d| d.saturating_duration_since(Instant::now()))
                .min(TICK);
            match self.rx.recv_timeout(wait) {
                Ok(ProcessExit { key, code }) => self.on_exit(key, code),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // Take every exit already waiting before deciding what to start next.
            while let Ok(ProcessExit { key, code }) = self.rx.try_recv() {
                self.on_exit(key, code);
            }
            self.enforce_deadlines();
            if self.dirty && self.last_save.elapsed() >= SAVE_EVERY {
                self.save()?;
            }
        }
        // Timed-out tasks may have left processes within their grace period.
        while !self.lingering.is_empty() {
            self.enforce_deadlines();
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever could never start (a pool whose nodes all failed their start task, a
        // dependency that never ran) ends blocked rather than waiting forever.
        self.block_all_waiting("it could not be scheduled: nothing it waits for can finish");
        self.observer.progress(&self.counts);
        Ok(Outcome::Finished)
    }

    fn pool_of(&self, t: usize) -> usize {
        self.model
            .tasks
            .get(t)
            .and_then(|x| self.model.jobs.get(x.job))
            .map_or(0, |j| j.pool)
    }
}
