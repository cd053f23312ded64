//! The simulated Batch account: pools with nodes, jobs with tasks, moved through Batch's states
//! by timed events. Time only moves in [`Sim::advance`]: every request (and a 2 ms ticker)
//! first plays the events that are due, in time order, so what a request sees is what a
//! real-time simulation would show at that instant.
//!
//! A pool's allocation, with D = `allocation_delay`, from the resize (or create) request:
//! - `+D/2`: nodes appear as `creating` (the pool is `resizing`);
//! - `+D`: the pool is `steady` (with `resizeErrors` when it fell short), nodes are `starting`;
//! - `+1.5D`: nodes with a start task that waits for success are `waitingforstarttask`, the
//!   others `idle` (their start task, if any, runs in the background);
//! - `+2D`: start tasks end: the node is `idle`, or `starttaskfailed` under `failing_start_task`.
//!
//! A task is `active` until its dependencies completed with success and a node has free slots,
//! then `running` for `task_duration`, then `completed` (or back to running for a retry).
//! With `run_tasks`, a running task is instead handed to a node (`runs.rs`, `../node/`) and
//! completes when the node reports how its run ended.

mod jobs;
mod pools;
mod runs;
mod scaling;
mod views;

use super::node::{Launch, Outcome};
use super::odata::{lookup, rfc3339};
use super::Faults;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Batch's rendering of "no limit" for durations.
const FOREVER: &str = "P10675199DT2H48M5.4775807S";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TaskState {
    Active,
    Running,
    Completed,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Active => "active",
            TaskState::Running => "running",
            TaskState::Completed => "completed",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum JobState {
    Active,
    Completed,
    Deleting,
}

impl JobState {
    fn as_str(self) -> &'static str {
        match self {
            JobState::Active => "active",
            JobState::Completed => "completed",
            JobState::Deleting => "deleting",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NodeState {
    Creating,
    Starting,
    WaitingForStartTask,
    Idle,
    StartTaskFailed,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Allocation {
    Resizing,
    Steady,
    Stopping,
}

/// A failure a handler turns into a Batch error reply.
#[derive(Debug, Clone)]
pub struct Failure {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

pub fn fail(status: u16, code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        code,
        message: message.into(),
    }
}

pub struct Node {
    pub id: String,
    gen: u64,
    dedicated: bool,
    pub state: NodeState,
    state_time: Instant,
    allocated: Instant,
    removed: bool,
    used_slots: u32,
    running_tasks: u32,
    total_run: u64,
    total_succeeded: u64,
    /// The start task: when it started and ended, and whether it fails.
    pub start_started: Option<Instant>,
    pub start_ended: Option<Instant>,
    pub start_fails: bool,
}

impl Node {
    fn usable(&self) -> bool {
        !self.removed && self.state == NodeState::Idle
    }

    fn state_str(&self) -> &'static str {
        match self.state {
            NodeState::Creating => "creating",
            NodeState::Starting => "starting",
            NodeState::WaitingForStartTask => "waitingforstarttask",
            NodeState::Idle if self.running_tasks > 0 => "running",
            NodeState::Idle => "idle",
            NodeState::StartTaskFailed => "starttaskfailed",
        }
    }
}

pub struct Pool {
    pub id: String,
    key: String,
    pub body: Value,
    created: Instant,
    deleting: bool,
    state_time: Instant,
    allocation: Allocation,
    allocation_time: Instant,
    target_dedicated: u32,
    target_low: u32,
    /// How many nodes the running allocation leaves out.
    short: u32,
    /// Whether the pool already fell short once (`pool_short_by` hits a pool once).
    shorted: bool,
    resize_errors: Vec<Value>,
    gen: u64,
    slots_per_node: u32,
    start_task: Option<Value>,
    wait_for_success: bool,
    pub nodes: Vec<Node>,
    node_seq: u32,
    /// Free slots over the usable nodes.
    free: u64,
    cursor: usize,
    pub gone: bool,
    etag: u64,
    modified: Instant,
    /// When autoscaling was last enabled on the pool (after its creation).
    last_enable: Option<Instant>,
}

impl Pool {
    fn live_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| !n.removed)
    }

    fn recount_free(&mut self) {
        self.free = self
            .nodes
            .iter()
            .filter(|n| n.usable())
            .map(|n| u64::from(self.slots_per_node.saturating_sub(n.used_slots)))
            .sum();
    }

    /// A usable node with `need` free slots, round robin from the last one used.
    fn find_node(&mut self, need: u32) -> Option<usize> {
        let n = self.nodes.len();
        for k in 0..n {
            let i = (self.cursor + k) % n;
            let node = &self.nodes[i];
            if node.usable() && self.slots_per_node - node.used_slots >= need {
                self.cursor = i + 1;
                return Some(i);
            }
        }
        None
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    active: u64,
    running: u64,
    completed: u64,
    succeeded: u64,
    failed: u64,
}

impl Counts {
    fn json(&self) -> Value {
        json!({
            "active": self.active,
            "running": self.running,
            "completed": self.completed,
            "succeeded": self.succeeded,
            "failed": self.failed,
        })
    }
}

pub struct Task {
    pub id: String,
    pub body: Value,
    /// Dependencies, `taskIdRanges` expanded, without repeats.
    pub deps: Vec<String>,
    /// Dependencies not yet completed with success.
    pending: u32,
    required_slots: u32,
    max_retries: i64,
    pub state: TaskState,
    state_time: Instant,
    previous: Option<(TaskState, Instant)>,
    created: Instant,
    start: Option<Instant>,
    end: Option<Instant>,
    pub exit_code: Option<i32>,
    /// `Some(true)` success, `Some(false)` failure, once completed.
    result: Option<bool>,
    failure: Option<(&'static str, String)>,
    retry_count: u32,
    last_retry: Option<Instant>,
    requeue_count: u32,
    last_requeue: Option<Instant>,
    /// The node it runs on: (pool index, node index).
    node: Option<(usize, usize)>,
    /// Where it last ran: (pool id, node id).
    ran_on: Option<(String, String)>,
    /// Bumped at each start, so a stale completion event is ignored.
    run: u32,
    /// Set to end the node's run of the task (`run_tasks` only).
    cancel: Option<Arc<AtomicBool>>,
    queued: bool,
    etag: u64,
    modified: Instant,
    pub add_attempts: u32,
    pub created_count: u32,
}

pub struct Job {
    pub id: String,
    key: String,
    pub body: Value,
    pool_key: String,
    pub state: JobState,
    state_time: Instant,
    previous: Option<(JobState, Instant)>,
    created: Instant,
    end: Option<Instant>,
    terminate_reason: Option<String>,
    uses_dependencies: bool,
    terminate_when_done: bool,
    priority: i64,
    max_parallel: i64,
    max_task_retries: i64,
    pub tasks: Vec<Task>,
    index: HashMap<String, u32>,
    /// Tasks waiting for a task id (lowercase) to complete with success.
    waiters: HashMap<String, Vec<u32>>,
    ready: VecDeque<u32>,
    running: i64,
    counts: Counts,
    slot_counts: Counts,
    /// Ids that were in add requests but never created: (id, attempts, last body).
    pub not_created: BTreeMap<String, (String, u32, Value)>,
    pub gone: bool,
    etag: u64,
    modified: Instant,
}

impl Job {
    fn count(&mut self, t: usize, sign: i64) {
        let task = &self.tasks[t];
        let slots = i64::from(task.required_slots);
        let (state, result) = (task.state, task.result);
        for (c, n) in [(&mut self.counts, 1), (&mut self.slot_counts, slots)] {
            let add = |x: &mut u64| *x = x.saturating_add_signed(sign * n);
            match state {
                TaskState::Active => add(&mut c.active),
                TaskState::Running => add(&mut c.running),
                TaskState::Completed => {
                    add(&mut c.completed);
                    if result == Some(true) {
                        add(&mut c.succeeded);
                    } else {
                        add(&mut c.failed);
                    }
                }
            }
        }
    }

    /// Changes a task (its state, result...) keeping the counts right.
    fn change(&mut self, t: usize, at: Instant, f: impl FnOnce(&mut Task)) {
        self.count(t, -1);
        let task = &mut self.tasks[t];
        let before = task.state;
        f(task);
        if task.state != before {
            task.previous = Some((before, task.state_time));
            task.state_time = at;
        }
        task.modified = at;
        self.count(t, 1);
    }

    fn set_state(&mut self, state: JobState, at: Instant) {
        if self.state != state {
            self.previous = Some((self.state, self.state_time));
            self.state = state;
            self.state_time = at;
            self.modified = at;
        }
    }
}

enum Event {
    Pool { pool: usize, gen: u64, phase: u8 },
    PoolGone { pool: usize },
    JobGone { job: usize },
    TaskDone { job: usize, task: u32, run: u32 },
}

struct Timed {
    at: Instant,
    seq: u64,
    event: Event,
}

impl PartialEq for Timed {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timed {
    /// Reversed: the heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// What an add of one task did.
pub enum Added {
    Created(usize),
    ClientError(&'static str, String),
    ServerError,
}

pub struct Sim {
    pub base: String,
    t0: (Instant, SystemTime),
    allocation_delay: Duration,
    task_duration: Duration,
    /// Nodes really run tasks: a started task goes to `launches` instead of ending by itself.
    run_tasks: bool,
    /// Tasks started since the last look, for the nodes to run (`run_tasks` only).
    pub launches: Vec<Launch>,
    pub pools: Vec<Pool>,
    pool_index: HashMap<String, usize>,
    pub jobs: Vec<Job>,
    job_index: HashMap<String, usize>,
    jobs_by_pool: HashMap<String, Vec<usize>>,
    events: BinaryHeap<Timed>,
    seq: u64,
    etag: u64,
    pool_seq: u32,
    /// Node users, as added (`api/users.rs`).
    pub users: Vec<crate::fake_batch::api::NodeUserSeen>,
}

/// Batch ids: letters, digits, `-`, `_`; 1 to 64 of them.
pub fn is_batch_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn u32_of(v: &Value, default: u32) -> u32 {
    v.as_u64().map_or(default, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// The largest integer literal assigned to `$name` in an autoscale formula (the fake does not
/// evaluate formulas: `$TargetDedicatedNodes = min(20, $pending)` sizes the pool to 20).
fn formula_target(formula: &str, name: &str) -> Option<u32> {
    let at = formula.find(name)?;
    let rest = &formula[at + name.len()..];
    let rest = rest.trim_start().strip_prefix('=')?;
    let statement = rest.split(';').next().unwrap_or("");
    statement
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok())
        .max()
}

impl Sim {
    pub fn new(base: String, allocation_delay: Duration, task_duration: Duration, run_tasks: bool) -> Sim {
        Sim {
            base,
            t0: (Instant::now(), SystemTime::now()),
            allocation_delay,
            task_duration: task_duration.max(Duration::from_micros(1)),
            run_tasks,
            launches: Vec::new(),
            pools: Vec::new(),
            pool_index: HashMap::new(),
            jobs: Vec::new(),
            job_index: HashMap::new(),
            jobs_by_pool: HashMap::new(),
            events: BinaryHeap::new(),
            seq: 0,
            etag: 0x8D4_1309_1E73_9A56,
            pool_seq: 0,
            users: Vec::new(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Time and events
    // -----------------------------------------------------------------------------------------

    pub fn time(&self, t: Instant) -> String {
        rfc3339(self.t0.1 + t.saturating_duration_since(self.t0.0))
    }

    pub fn http_time(&self, t: Instant) -> String {
        httpdate::fmt_http_date(self.t0.1 + t.saturating_duration_since(self.t0.0))
    }

    pub fn etag_str(etag: u64) -> String {
        format!("0x{etag:X}")
    }

    fn next_etag(&mut self) -> u64 {
        self.etag += 1;
        self.etag
    }

    fn at(&mut self, at: Instant, event: Event) {
        self.seq += 1;
        self.events.push(Timed {
            at,
            seq: self.seq,
            event,
        });
    }

    /// Plays every event due by `now`, in time order.
    pub fn advance(&mut self, now: Instant, faults: &Faults) {
        while self.events.peek().is_some_and(|e| e.at <= now) {
            let Some(Timed { at, event, .. }) = self.events.pop() else {
                break;
            };
            match event {
                Event::Pool { pool, gen, phase } => self.pool_phase(pool, gen, phase, at, faults),
                Event::PoolGone { pool } => {
                    let p = &mut self.pools[pool];
                    p.gone = true;
                    p.nodes.clear();
                    if self.pool_index.get(&p.key) == Some(&pool) {
                        self.pool_index.remove(&p.key);
                    }
                }
                Event::JobGone { job } => {
                    let j = &mut self.jobs[job];
                    j.gone = true;
                    if self.job_index.get(&j.key) == Some(&job) {
                        self.job_index.remove(&j.key);
                    }
                }
                Event::TaskDone { job, task, run } => self.task_done(job, task as usize, run, at, faults),
            }
        }
    }
}
