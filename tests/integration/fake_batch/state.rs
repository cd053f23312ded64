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

use super::odata::{lookup, rfc3339};
use super::Faults;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
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
    pub pools: Vec<Pool>,
    pool_index: HashMap<String, usize>,
    pub jobs: Vec<Job>,
    job_index: HashMap<String, usize>,
    jobs_by_pool: HashMap<String, Vec<usize>>,
    events: BinaryHeap<Timed>,
    seq: u64,
    etag: u64,
    pool_seq: u32,
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
    pub fn new(base: String, allocation_delay: Duration, task_duration: Duration) -> Sim {
        Sim {
            base,
            t0: (Instant::now(), SystemTime::now()),
            allocation_delay,
            task_duration: task_duration.max(Duration::from_micros(1)),
            pools: Vec::new(),
            pool_index: HashMap::new(),
            jobs: Vec::new(),
            job_index: HashMap::new(),
            jobs_by_pool: HashMap::new(),
            events: BinaryHeap::new(),
            seq: 0,
            etag: 0x8D4_1309_1E73_9A56,
            pool_seq: 0,
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

    // -----------------------------------------------------------------------------------------
    // Pools and nodes
    // -----------------------------------------------------------------------------------------

    pub fn pool(&self, id: &str) -> Result<usize, Failure> {
        self.pool_index
            .get(&id.to_ascii_lowercase())
            .copied()
            .ok_or_else(|| fail(404, "PoolNotFound", "The specified pool does not exist."))
    }

    pub fn add_pool(&mut self, body: Value, now: Instant, faults: &Faults) -> Result<usize, Failure> {
        let id = body["id"].as_str().unwrap_or("").to_string();
        if !is_batch_id(&id) {
            return Err(fail(
                400,
                "InvalidPropertyValue",
                format!("The pool id `{id}` is not 1-64 letters, digits, hyphens and underscores."),
            ));
        }
        let key = id.to_ascii_lowercase();
        if let Some(&i) = self.pool_index.get(&key) {
            return Err(if self.pools[i].deleting {
                fail(
                    409,
                    "PoolBeingDeleted",
                    "The specified pool has been marked for deletion and is being reclaimed.",
                )
            } else {
                fail(409, "PoolExists", "The specified pool already exists.")
            });
        }
        let autoscale = body["enableAutoScale"] == true;
        let formula = body["autoScaleFormula"].as_str().unwrap_or("");
        let (dedicated, low) = if autoscale {
            (
                formula_target(formula, "$TargetDedicatedNodes").unwrap_or(1),
                formula_target(formula, "$TargetLowPriorityNodes").unwrap_or(0),
            )
        } else {
            (
                u32_of(&body["targetDedicatedNodes"], 0),
                u32_of(&body["targetLowPriorityNodes"], 0),
            )
        };
        let start_task = body.get("startTask").cloned();
        let wait_for_success = start_task
            .as_ref()
            .is_some_and(|s| s["waitForSuccess"].as_bool().unwrap_or(true));
        let etag = self.next_etag();
        self.pool_seq += 1;
        let pool = Pool {
            id,
            key: key.clone(),
            slots_per_node: u32_of(&body["taskSlotsPerNode"], 1).max(1),
            body,
            created: now,
            deleting: false,
            state_time: now,
            allocation: Allocation::Resizing,
            allocation_time: now,
            target_dedicated: dedicated,
            target_low: low,
            short: 0,
            shorted: false,
            resize_errors: Vec::new(),
            gen: 0,
            start_task,
            wait_for_success,
            nodes: Vec::new(),
            node_seq: self.pool_seq * 1000,
            free: 0,
            cursor: 0,
            gone: false,
            etag,
            modified: now,
        };
        self.pools.push(pool);
        let i = self.pools.len() - 1;
        self.pool_index.insert(key, i);
        self.start_resize(i, now, faults);
        Ok(i)
    }

    fn start_resize(&mut self, i: usize, now: Instant, faults: &Faults) {
        let d = self.allocation_delay;
        let etag = self.next_etag();
        let p = &mut self.pools[i];
        p.gen += 1;
        p.allocation = Allocation::Resizing;
        p.allocation_time = now;
        p.resize_errors.clear();
        p.short = 0;
        if !p.shorted && faults.pool_short_by > 0 {
            p.shorted = true;
            p.short = faults.pool_short_by.min(p.target_dedicated + p.target_low);
        }
        p.etag = etag;
        p.modified = now;
        let gen = p.gen;
        self.at(now + d / 2, Event::Pool { pool: i, gen, phase: 1 });
        self.at(now + d, Event::Pool { pool: i, gen, phase: 2 });
    }

    pub fn resize_pool(&mut self, id: &str, body: &Value, now: Instant, faults: &Faults) -> Result<(), Failure> {
        let i = self.pool(id)?;
        let p = &mut self.pools[i];
        if p.deleting {
            return Err(fail(
                409,
                "PoolBeingDeleted",
                "The specified pool has been marked for deletion.",
            ));
        }
        if p.body["enableAutoScale"] == true {
            return Err(fail(
                409,
                "OperationInvalidForCurrentState",
                "The pool is configured for automatic scaling and cannot be resized.",
            ));
        }
        if p.allocation != Allocation::Steady {
            return Err(fail(
                409,
                "PoolBeingResized",
                "The specified pool is already being resized.",
            ));
        }
        if let Some(n) = body["targetDedicatedNodes"].as_u64() {
            p.target_dedicated = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = body["targetLowPriorityNodes"].as_u64() {
            p.target_low = u32::try_from(n).unwrap_or(u32::MAX);
        }
        self.start_resize(i, now, faults);
        Ok(())
    }

    pub fn delete_pool(&mut self, id: &str, now: Instant) -> Result<(), Failure> {
        let i = self.pool(id)?;
        if self.pools[i].deleting {
            return Err(fail(
                409,
                "PoolBeingDeleted",
                "The specified pool has been marked for deletion.",
            ));
        }
        let etag = self.next_etag();
        let p = &mut self.pools[i];
        p.deleting = true;
        p.state_time = now;
        p.allocation = Allocation::Stopping;
        p.allocation_time = now;
        p.gen += 1;
        p.etag = etag;
        p.modified = now;
        let all: Vec<usize> = (0..p.nodes.len()).collect();
        self.remove_nodes(i, &all, now);
        let d = self.allocation_delay;
        self.at(now + d, Event::PoolGone { pool: i });
        Ok(())
    }

    /// Removes nodes from a pool; their running tasks go back to `active` (requeued).
    fn remove_nodes(&mut self, pi: usize, which: &[usize], now: Instant) {
        for &ni in which {
            self.pools[pi].nodes[ni].removed = true;
        }
        let mut requeue: Vec<(usize, usize)> = Vec::new();
        if let Some(job_ids) = self.jobs_by_pool.get(&self.pools[pi].key) {
            for &j in job_ids {
                let job = &self.jobs[j];
                if job.counts.running == 0 {
                    continue;
                }
                for (t, task) in job.tasks.iter().enumerate() {
                    if let Some((p, n)) = task.node {
                        if p == pi && which.contains(&n) {
                            requeue.push((j, t));
                        }
                    }
                }
            }
        }
        for (j, t) in requeue {
            let job = &mut self.jobs[j];
            job.running -= 1;
            job.change(t, now, |task| {
                task.state = TaskState::Active;
                task.node = None;
                task.run += 1;
                task.requeue_count += 1;
                task.last_requeue = Some(now);
                task.queued = true;
            });
            job.ready.push_front(t as u32);
        }
        for &ni in which {
            let node = &mut self.pools[pi].nodes[ni];
            node.used_slots = 0;
            node.running_tasks = 0;
        }
        self.pools[pi].recount_free();
    }

    fn pool_phase(&mut self, pi: usize, gen: u64, phase: u8, at: Instant, faults: &Faults) {
        let d = self.allocation_delay;
        let p = &self.pools[pi];
        // A newer resize took over the allocation; nodes of this generation still finish
        // starting (phases 3 and 4 only touch nodes of their own generation).
        if p.gone || p.deleting || (p.gen != gen && phase <= 2) {
            return;
        }
        match phase {
            1 => {
                let short_ded = p.short.min(p.target_dedicated);
                let short_low = (p.short - short_ded).min(p.target_low);
                let want = [
                    (true, p.target_dedicated - short_ded),
                    (false, p.target_low - short_low),
                ];
                for (dedicated, want) in want {
                    let live: Vec<usize> = self.pools[pi]
                        .nodes
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| !n.removed && n.dedicated == dedicated)
                        .map(|(k, _)| k)
                        .collect();
                    let have = u32::try_from(live.len()).unwrap_or(u32::MAX);
                    if have < want {
                        let p = &mut self.pools[pi];
                        for _ in have..want {
                            p.node_seq += 1;
                            let n = p.node_seq;
                            p.nodes.push(Node {
                                id: format!("tvm-{:010}_{}-20250101t000000z", 1_695_681_911 + pi, n),
                                gen,
                                dedicated,
                                state: NodeState::Creating,
                                state_time: at,
                                allocated: at,
                                removed: false,
                                used_slots: 0,
                                running_tasks: 0,
                                total_run: 0,
                                total_succeeded: 0,
                                start_started: None,
                                start_ended: None,
                                start_fails: false,
                            });
                        }
                    } else if have > want {
                        // Shrink: idle nodes first, newest first.
                        let p = &self.pools[pi];
                        let mut order = live.clone();
                        order.sort_by_key(|&k| (p.nodes[k].running_tasks > 0, std::cmp::Reverse(k)));
                        let drop: Vec<usize> = order.into_iter().take((have - want) as usize).collect();
                        self.remove_nodes(pi, &drop, at);
                    }
                }
            }
            2 => {
                let etag = self.next_etag();
                let p = &mut self.pools[pi];
                p.allocation = Allocation::Steady;
                p.allocation_time = at;
                p.etag = etag;
                p.modified = at;
                if p.short > 0 {
                    let current = p.live_nodes().filter(|n| n.dedicated).count();
                    let current_low = p.live_nodes().filter(|n| !n.dedicated).count();
                    p.resize_errors = vec![json!({
                        "code": "AllocationFailed",
                        "message": format!(
                            "Desired number of dedicated nodes could not be allocated: the pool stopped {} node(s) short of its target (fake Batch fault pool_short_by).",
                            p.short
                        ),
                        "values": [
                            {"name": "TargetDedicatedNodes", "value": p.target_dedicated.to_string()},
                            {"name": "CurrentDedicatedNodes", "value": current.to_string()},
                            {"name": "TargetLowPriorityNodes", "value": p.target_low.to_string()},
                            {"name": "CurrentLowPriorityNodes", "value": current_low.to_string()},
                        ]
                    })];
                }
                for n in p
                    .nodes
                    .iter_mut()
                    .filter(|n| n.gen == gen && n.state == NodeState::Creating)
                {
                    n.state = NodeState::Starting;
                    n.state_time = at;
                }
                self.at(
                    at + d / 2,
                    Event::Pool {
                        pool: pi,
                        gen,
                        phase: 3,
                    },
                );
            }
            3 => {
                let p = &mut self.pools[pi];
                let has_start = p.start_task.is_some();
                let wait = p.wait_for_success;
                for n in p
                    .nodes
                    .iter_mut()
                    .filter(|n| n.gen == gen && n.state == NodeState::Starting)
                {
                    if has_start {
                        n.start_started = Some(at);
                        n.start_fails = faults.failing_start_task;
                    }
                    n.state = if has_start && wait {
                        NodeState::WaitingForStartTask
                    } else {
                        NodeState::Idle
                    };
                    n.state_time = at;
                }
                p.recount_free();
                if has_start {
                    self.at(
                        at + d / 2,
                        Event::Pool {
                            pool: pi,
                            gen,
                            phase: 4,
                        },
                    );
                }
                self.dispatch(pi, at);
            }
            _ => {
                let p = &mut self.pools[pi];
                for n in p
                    .nodes
                    .iter_mut()
                    .filter(|n| n.gen == gen && !n.removed && n.start_started.is_some() && n.start_ended.is_none())
                {
                    n.start_ended = Some(at);
                    if n.state == NodeState::WaitingForStartTask {
                        n.state = if n.start_fails {
                            NodeState::StartTaskFailed
                        } else {
                            NodeState::Idle
                        };
                        n.state_time = at;
                    }
                }
                p.recount_free();
                self.dispatch(pi, at);
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Jobs and tasks
    // -----------------------------------------------------------------------------------------

    pub fn job(&self, id: &str) -> Result<usize, Failure> {
        self.job_index
            .get(&id.to_ascii_lowercase())
            .copied()
            .ok_or_else(|| fail(404, "JobNotFound", "The specified job does not exist."))
    }

    pub fn add_job(&mut self, body: Value, now: Instant) -> Result<usize, Failure> {
        let id = body["id"].as_str().unwrap_or("").to_string();
        if !is_batch_id(&id) {
            return Err(fail(
                400,
                "InvalidPropertyValue",
                format!("The job id `{id}` is not 1-64 letters, digits, hyphens and underscores."),
            ));
        }
        let key = id.to_ascii_lowercase();
        if let Some(&j) = self.job_index.get(&key) {
            return Err(if self.jobs[j].state == JobState::Deleting {
                fail(
                    409,
                    "JobBeingDeleted",
                    "The specified job has been marked for deletion and is being garbage collected.",
                )
            } else {
                fail(409, "JobExists", "The specified job already exists.")
            });
        }
        let priority = body["priority"].as_i64().unwrap_or(0);
        if !(-1000..=1000).contains(&priority) {
            return Err(fail(
                400,
                "OutOfRangePriority",
                "The priority must be between -1000 and 1000.",
            ));
        }
        let max_parallel = body["maxParallelTasks"].as_i64().unwrap_or(-1);
        if max_parallel != -1 && max_parallel < 1 {
            return Err(fail(
                400,
                "InvalidPropertyValue",
                "maxParallelTasks must be -1 or greater than 0.",
            ));
        }
        let pool_key = body["poolInfo"]["poolId"].as_str().unwrap_or("").to_ascii_lowercase();
        let etag = self.next_etag();
        let job = Job {
            id,
            key: key.clone(),
            pool_key: pool_key.clone(),
            state: JobState::Active,
            state_time: now,
            previous: None,
            created: now,
            end: None,
            terminate_reason: None,
            uses_dependencies: body["usesTaskDependencies"] == true,
            terminate_when_done: body["onAllTasksComplete"] == "terminatejob",
            priority,
            max_parallel,
            max_task_retries: body["constraints"]["maxTaskRetryCount"].as_i64().unwrap_or(0),
            body,
            tasks: Vec::new(),
            index: HashMap::new(),
            waiters: HashMap::new(),
            ready: VecDeque::new(),
            running: 0,
            counts: Counts::default(),
            slot_counts: Counts::default(),
            not_created: BTreeMap::new(),
            gone: false,
            etag,
            modified: now,
        };
        self.jobs.push(job);
        let j = self.jobs.len() - 1;
        self.job_index.insert(key, j);
        self.jobs_by_pool.entry(pool_key).or_default().push(j);
        self.check_job_done(j, now);
        Ok(j)
    }

    /// A job that may still change: active (not completed, not being deleted).
    fn active_job(&self, id: &str) -> Result<usize, Failure> {
        let j = self.job(id)?;
        match self.jobs[j].state {
            JobState::Active => Ok(j),
            JobState::Completed => Err(fail(
                409,
                "JobCompleted",
                "The specified job is already in a completed state.",
            )),
            JobState::Deleting => Err(fail(
                409,
                "JobBeingDeleted",
                "The specified job has been marked for deletion and is being garbage collected.",
            )),
        }
    }

    pub fn patch_job(&mut self, id: &str, patch: &Value, now: Instant) -> Result<(), Failure> {
        let j = self.active_job(id)?;
        let job = &self.jobs[j];
        if job.terminate_when_done && patch["onAllTasksComplete"] == "noaction" {
            return Err(fail(
                400,
                "InvalidPropertyValue",
                "onAllTasksComplete cannot be changed from terminatejob to noaction.",
            ));
        }
        if let Some(pool) = patch["poolInfo"]["poolId"].as_str() {
            if pool.to_ascii_lowercase() != job.pool_key {
                return Err(fail(
                    409,
                    "OperationInvalidForCurrentState",
                    "The pool of a job can only change while the job is disabled (not supported by the fake).",
                ));
            }
        }
        if let Some(p) = patch["priority"].as_i64() {
            if !(-1000..=1000).contains(&p) {
                return Err(fail(
                    400,
                    "OutOfRangePriority",
                    "The priority must be between -1000 and 1000.",
                ));
            }
        }
        let etag = self.next_etag();
        let job = &mut self.jobs[j];
        if let (Value::Object(body), Value::Object(patch)) = (&mut job.body, patch) {
            for (k, v) in patch {
                body.insert(k.clone(), v.clone());
            }
        }
        job.terminate_when_done = job.body["onAllTasksComplete"] == "terminatejob";
        job.priority = job.body["priority"].as_i64().unwrap_or(0);
        job.max_parallel = job.body["maxParallelTasks"].as_i64().unwrap_or(-1);
        job.max_task_retries = job.body["constraints"]["maxTaskRetryCount"].as_i64().unwrap_or(0);
        job.etag = etag;
        job.modified = now;
        self.check_job_done(j, now);
        self.dispatch_job(j, now);
        Ok(())
    }

    /// Ends a running task now, as a terminate does: completed, failed.
    fn end_running(&mut self, j: usize, t: usize, now: Instant, code: &'static str, message: &str) {
        self.free_node(j, t, false);
        let job = &mut self.jobs[j];
        job.running -= 1;
        job.change(t, now, |task| {
            task.state = TaskState::Completed;
            task.end = Some(now);
            task.result = Some(false);
            task.failure = Some((code, message.to_string()));
            task.run += 1;
        });
    }

    /// Ends every running task of job `j` with `TaskEnded`.
    fn end_running_tasks(&mut self, j: usize, now: Instant, message: &str) {
        let running: Vec<usize> = self.jobs[j]
            .tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.state == TaskState::Running)
            .map(|(k, _)| k)
            .collect();
        for t in running {
            self.end_running(j, t, now, "TaskEnded", message);
        }
    }

    pub fn terminate_job(&mut self, id: &str, reason: Option<&str>, now: Instant) -> Result<(), Failure> {
        let j = self.active_job(id)?;
        self.end_running_tasks(j, now, "The task was ended because its job was terminated.");
        let etag = self.next_etag();
        let job = &mut self.jobs[j];
        job.set_state(JobState::Completed, now);
        job.end = Some(now);
        job.terminate_reason = Some(reason.unwrap_or("UserTerminate").to_string());
        job.etag = etag;
        let pool = self.pool_index.get(&self.jobs[j].pool_key).copied();
        if let Some(pi) = pool {
            self.dispatch(pi, now);
        }
        Ok(())
    }

    pub fn delete_job(&mut self, id: &str, now: Instant) -> Result<(), Failure> {
        let j = self.job(id)?;
        if self.jobs[j].state == JobState::Deleting {
            return Err(fail(
                409,
                "JobBeingDeleted",
                "The specified job has been marked for deletion and is being garbage collected.",
            ));
        }
        self.end_running_tasks(j, now, "The task was ended because its job was deleted.");
        let etag = self.next_etag();
        let job = &mut self.jobs[j];
        job.set_state(JobState::Deleting, now);
        job.etag = etag;
        let d = self.allocation_delay.max(Duration::from_millis(1));
        self.at(now + d, Event::JobGone { job: j });
        let pool = self.pool_index.get(&self.jobs[j].pool_key).copied();
        if let Some(pi) = pool {
            self.dispatch(pi, now);
        }
        Ok(())
    }

    /// Whether a job can take tasks (a 409 otherwise).
    pub fn job_for_adding(&self, id: &str) -> Result<usize, Failure> {
        self.active_job(id)
    }

    /// Adds one task of an add request to an active job (`j` from [`Sim::job_for_adding`]).
    /// `seen` holds the lowercase ids of the same request so far.
    pub fn add_task(
        &mut self,
        j: usize,
        mut body: Value,
        seen: &mut HashSet<String>,
        server_error: bool,
        now: Instant,
    ) -> (String, Added) {
        let id = body["id"].as_str().unwrap_or("").to_string();
        let key = id.to_ascii_lowercase();
        let job = &mut self.jobs[j];
        if let Some(&t) = job.index.get(&key) {
            job.tasks[t as usize].add_attempts += 1;
            return (
                id,
                Added::ClientError("TaskExists", "The specified task already exists.".into()),
            );
        }
        let not_created = |job: &mut Job, body: Value| {
            let e = job
                .not_created
                .entry(key.clone())
                .or_insert_with(|| (id.clone(), 0, Value::Null));
            e.1 += 1;
            e.2 = body;
        };
        if !seen.insert(key.clone()) {
            not_created(job, body);
            return (
                id,
                Added::ClientError("TaskExists", "The request adds the same task id twice.".into()),
            );
        }
        if !is_batch_id(&id) {
            not_created(job, body);
            return (
                id.clone(),
                Added::ClientError(
                    "InvalidPropertyValue",
                    format!("The task id `{id}` is not 1-64 letters, digits, hyphens and underscores."),
                ),
            );
        }
        let depends = body.get("dependsOn").cloned();
        if depends.is_some() && !job.uses_dependencies {
            not_created(job, body);
            return (
                id,
                Added::ClientError(
                    "TaskDependenciesNotSpecifiedOnJob",
                    "The task has dependencies but its job's usesTaskDependencies is not true.".into(),
                ),
            );
        }
        let mut deps: Vec<String> = Vec::new();
        let mut dep_keys: HashSet<String> = HashSet::new();
        if let Some(d) = &depends {
            let ids: Vec<&str> = d["taskIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if ids.iter().map(|s| s.len() + 1).sum::<usize>().saturating_sub(1) > 64_000 {
                not_created(job, body);
                return (
                    id,
                    Added::ClientError(
                        "TaskDependencyListTooLong",
                        "The combined length of dependsOn.taskIds exceeds 64000 characters.".into(),
                    ),
                );
            }
            for dep in ids {
                if dep_keys.insert(dep.to_ascii_lowercase()) {
                    deps.push(dep.to_string());
                }
            }
            for r in d["taskIdRanges"].as_array().into_iter().flatten() {
                let (start, end) = (r["start"].as_i64().unwrap_or(0), r["end"].as_i64().unwrap_or(-1));
                for n in start..=end {
                    let dep = n.to_string();
                    if dep_keys.insert(dep.clone()) {
                        deps.push(dep);
                    }
                }
            }
        }
        if server_error {
            not_created(job, body);
            return (id, Added::ServerError);
        }
        let t = job.tasks.len();
        let t32 = u32::try_from(t).unwrap_or(u32::MAX);
        let mut pending = 0;
        for dep in &dep_keys {
            let done = job.index.get(dep).is_some_and(|&d| {
                job.tasks[d as usize].state == TaskState::Completed && job.tasks[d as usize].result == Some(true)
            });
            if !done {
                pending += 1;
                job.waiters.entry(dep.clone()).or_default().push(t32);
            }
        }
        let attempts = job.not_created.remove(&key).map_or(0, |(_, n, _)| n);
        let required_slots = u32_of(&body["requiredSlots"], 1);
        let max_retries = body["constraints"]["maxTaskRetryCount"]
            .as_i64()
            .unwrap_or(job.max_task_retries);
        if let Value::Object(m) = &mut body {
            m.remove("odata.metadata");
        }
        job.tasks.push(Task {
            id: id.clone(),
            body,
            deps,
            pending,
            required_slots,
            max_retries,
            state: TaskState::Active,
            state_time: now,
            previous: None,
            created: now,
            start: None,
            end: None,
            exit_code: None,
            result: None,
            failure: None,
            retry_count: 0,
            last_retry: None,
            requeue_count: 0,
            last_requeue: None,
            node: None,
            ran_on: None,
            run: 0,
            queued: pending == 0,
            etag: 0,
            modified: now,
            add_attempts: attempts + 1,
            created_count: 1,
        });
        job.index.insert(key, t32);
        job.count(t, 1);
        if pending == 0 {
            job.ready.push_back(t32);
        }
        self.etag += 1;
        self.jobs[j].tasks[t].etag = self.etag;
        (id, Added::Created(t))
    }

    /// After adding tasks: run what can run.
    pub fn dispatch_job(&mut self, j: usize, now: Instant) {
        if let Some(&pi) = self.pool_index.get(&self.jobs[j].pool_key) {
            self.dispatch(pi, now);
        }
    }

    pub fn task(&self, j: usize, id: &str) -> Result<usize, Failure> {
        self.jobs[j]
            .index
            .get(&id.to_ascii_lowercase())
            .map(|&t| t as usize)
            .ok_or_else(|| fail(404, "TaskNotFound", "The specified task does not exist."))
    }

    pub fn reactivate(&mut self, job: &str, task: &str, now: Instant) -> Result<(), Failure> {
        let j = self.job(job)?;
        let t = self.task(j, task)?;
        let j = self.active_job(job)?;
        let tk = &self.jobs[j].tasks[t];
        if tk.state != TaskState::Completed || tk.result != Some(false) {
            return Err(fail(
                409,
                "OperationInvalidForCurrentState",
                "Only a task that completed with a failure can be reactivated.",
            ));
        }
        let etag = self.next_etag();
        let job = &mut self.jobs[j];
        job.change(t, now, |task| {
            task.state = TaskState::Active;
            task.retry_count = 0;
            task.last_retry = None;
            task.exit_code = None;
            task.result = None;
            task.failure = None;
            task.start = None;
            task.end = None;
            task.etag = etag;
        });
        let task = &mut job.tasks[t];
        if task.pending == 0 && !task.queued {
            task.queued = true;
            job.ready.push_back(t as u32);
        }
        self.dispatch_job(j, now);
        Ok(())
    }

    /// Frees the slots of a running task's node.
    fn free_node(&mut self, j: usize, t: usize, success: bool) -> Option<usize> {
        let task = &mut self.jobs[j].tasks[t];
        let need = task.required_slots;
        let (pi, ni) = task.node.take()?;
        let pool = &mut self.pools[pi];
        let node = &mut pool.nodes[ni];
        if node.removed {
            return Some(pi);
        }
        node.used_slots = node.used_slots.saturating_sub(need);
        node.running_tasks = node.running_tasks.saturating_sub(1);
        node.total_run += 1;
        if success {
            node.total_succeeded += 1;
        }
        if node.usable() {
            pool.free += u64::from(need);
        }
        Some(pi)
    }

    fn task_done(&mut self, j: usize, t: usize, run: u32, at: Instant, faults: &Faults) {
        let Some(task) = self.jobs.get(j).and_then(|job| job.tasks.get(t)) else {
            return;
        };
        if task.run != run || task.state != TaskState::Running {
            return;
        }
        let exit = faults
            .failing_tasks
            .iter()
            .find(|(prefix, _)| task.id.starts_with(prefix.as_str()))
            .map_or(0, |(_, code)| *code);
        let retry = exit != 0 && (task.max_retries < 0 || i64::from(task.retry_count) < task.max_retries);
        let pool = self.free_node(j, t, exit == 0);
        let etag = self.next_etag();
        let job = &mut self.jobs[j];
        job.running -= 1;
        if retry {
            job.change(t, at, |task| {
                task.state = TaskState::Active;
                task.retry_count += 1;
                task.last_retry = Some(at);
                task.queued = true;
                task.etag = etag;
            });
            job.ready.push_front(t as u32);
        } else {
            job.change(t, at, |task| {
                task.state = TaskState::Completed;
                task.end = Some(at);
                task.exit_code = Some(exit);
                task.result = Some(exit == 0);
                task.failure = (exit != 0).then(|| {
                    (
                        "FailureExitCode",
                        "The task exited with an exit code representing a failure".to_string(),
                    )
                });
                task.etag = etag;
            });
            if exit == 0 {
                let key = job.tasks[t].id.to_ascii_lowercase();
                for w in job.waiters.remove(&key).unwrap_or_default() {
                    let waiting = &mut job.tasks[w as usize];
                    waiting.pending = waiting.pending.saturating_sub(1);
                    if waiting.pending == 0 && waiting.state == TaskState::Active && !waiting.queued {
                        waiting.queued = true;
                        job.ready.push_back(w);
                    }
                }
            }
            self.check_job_done(j, at);
        }
        if let Some(pi) = pool {
            self.dispatch(pi, at);
        }
    }

    fn check_job_done(&mut self, j: usize, at: Instant) {
        let job = &mut self.jobs[j];
        if job.state == JobState::Active
            && job.terminate_when_done
            && job.counts.completed == u64::try_from(job.tasks.len()).unwrap_or(u64::MAX)
        {
            job.set_state(JobState::Completed, at);
            job.end = Some(at);
            job.terminate_reason = Some("AllTasksComplete".into());
        }
    }

    /// Starts ready tasks of the pool's jobs on free slots: jobs by priority, tasks in order.
    fn dispatch(&mut self, pi: usize, at: Instant) {
        let p = &self.pools[pi];
        if p.gone || p.deleting || p.free == 0 {
            return;
        }
        let Some(job_ids) = self.jobs_by_pool.get(&p.key) else {
            return;
        };
        let mut order: Vec<usize> = job_ids
            .iter()
            .copied()
            .filter(|&j| {
                let job = &self.jobs[j];
                !job.gone && job.state == JobState::Active && !job.ready.is_empty()
            })
            .collect();
        if order.len() > 1 {
            order.sort_by_key(|&j| (-self.jobs[j].priority, j));
        }
        let mut started: Vec<(usize, u32, u32)> = Vec::new();
        let etag = self.etag + 1;
        'jobs: for j in order {
            let (pools, jobs) = (&mut self.pools, &mut self.jobs);
            let pool = &mut pools[pi];
            let job = &mut jobs[j];
            while let Some(&t) = job.ready.front() {
                if pool.free == 0 {
                    break 'jobs;
                }
                if job.max_parallel > 0 && job.running >= job.max_parallel {
                    break;
                }
                let task = &job.tasks[t as usize];
                if task.state != TaskState::Active || task.pending > 0 {
                    job.ready.pop_front();
                    job.tasks[t as usize].queued = false;
                    continue;
                }
                let need = task.required_slots.max(1);
                if need > pool.slots_per_node {
                    // Never fits a node of this pool: stays active, as on Batch.
                    job.ready.pop_front();
                    job.tasks[t as usize].queued = false;
                    continue;
                }
                let Some(ni) = (if u64::from(need) <= pool.free {
                    pool.find_node(need)
                } else {
                    None
                }) else {
                    break;
                };
                job.ready.pop_front();
                let node = &mut pool.nodes[ni];
                node.used_slots += need;
                node.running_tasks += 1;
                pool.free -= u64::from(need);
                let (pool_id, node_id) = (pool.id.clone(), node.id.clone());
                job.running += 1;
                job.change(t as usize, at, |task| {
                    task.queued = false;
                    task.state = TaskState::Running;
                    task.start = Some(at);
                    task.node = Some((pi, ni));
                    task.ran_on = Some((pool_id, node_id));
                    task.run += 1;
                    task.etag = etag;
                });
                started.push((j, t, job.tasks[t as usize].run));
            }
        }
        if !started.is_empty() {
            self.etag += 1;
        }
        let done = at + self.task_duration;
        for (job, task, run) in started {
            self.at(done, Event::TaskDone { job, task, run });
        }
    }

    // -----------------------------------------------------------------------------------------
    // What GETs show
    // -----------------------------------------------------------------------------------------

    pub fn pool_etag(&self, i: usize) -> (String, String) {
        let p = &self.pools[i];
        (Sim::etag_str(p.etag), self.http_time(p.modified))
    }

    pub fn pool_json(&self, i: usize) -> Value {
        let p = &self.pools[i];
        let mut m = match &p.body {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        let dedicated = p.live_nodes().filter(|n| n.dedicated).count();
        let low = p.live_nodes().filter(|n| !n.dedicated).count();
        let fields = json!({
            "url": format!("{}/pools/{}", self.base, p.id),
            "eTag": Sim::etag_str(p.etag),
            "lastModified": self.time(p.modified),
            "creationTime": self.time(p.created),
            "state": if p.deleting { "deleting" } else { "active" },
            "stateTransitionTime": self.time(p.state_time),
            "allocationState": match p.allocation {
                Allocation::Resizing => "resizing",
                Allocation::Steady => "steady",
                Allocation::Stopping => "stopping",
            },
            "allocationStateTransitionTime": self.time(p.allocation_time),
            "currentDedicatedNodes": dedicated,
            "currentLowPriorityNodes": low,
            "targetDedicatedNodes": p.target_dedicated,
            "targetLowPriorityNodes": p.target_low,
            "enableAutoScale": p.body["enableAutoScale"] == true,
            "enableInterNodeCommunication": p.body["enableInterNodeCommunication"] == true,
            "taskSlotsPerNode": p.slots_per_node,
        });
        if let Value::Object(f) = fields {
            m.extend(f);
        }
        m.entry("resizeTimeout").or_insert_with(|| json!("PT15M"));
        m.entry("taskSchedulingPolicy")
            .or_insert_with(|| json!({"nodeFillType": "spread"}));
        if p.allocation == Allocation::Steady && !p.resize_errors.is_empty() {
            m.insert("resizeErrors".into(), Value::Array(p.resize_errors.clone()));
        }
        Value::Object(m)
    }

    /// The live nodes of a pool, as (index in `nodes`).
    pub fn node_indexes(&self, i: usize) -> Vec<usize> {
        self.pools[i]
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.removed)
            .map(|(k, _)| k)
            .collect()
    }

    pub fn find_node(&self, i: usize, id: &str) -> Result<usize, Failure> {
        self.pools[i]
            .nodes
            .iter()
            .position(|n| !n.removed && n.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| fail(404, "NodeNotFound", "The specified node does not exist."))
    }

    pub fn node_json(&self, i: usize, k: usize) -> Value {
        let p = &self.pools[i];
        let n = &p.nodes[k];
        let mut v = json!({
            "id": n.id,
            "url": format!("{}/pools/{}/nodes/{}", self.base, p.id, n.id),
            "state": n.state_str(),
            "schedulingState": "enabled",
            "stateTransitionTime": self.time(n.state_time),
            "allocationTime": self.time(n.allocated),
            "ipAddress": format!("10.0.{}.{}", k / 250, k % 250 + 4),
            "affinityId": format!("TVM:{}", n.id),
            "vmSize": p.body["vmSize"].as_str().unwrap_or("").to_ascii_lowercase(),
            "totalTasksRun": n.total_run,
            "totalTasksSucceeded": n.total_succeeded,
            "runningTasksCount": n.running_tasks,
            "runningTaskSlotsCount": n.used_slots,
            "isDedicated": n.dedicated,
            "nodeAgentInfo": {"version": "1.11.0.0", "lastUpdateTime": self.time(n.allocated)},
        });
        if !matches!(n.state, NodeState::Creating | NodeState::Starting) {
            v["lastBootTime"] = json!(self.time(n.allocated));
        }
        if let Some(st) = &p.start_task {
            v["startTask"] = st.clone();
        }
        if let Some(started) = n.start_started {
            let retries = p
                .start_task
                .as_ref()
                .and_then(|s| s["maxTaskRetryCount"].as_i64())
                .unwrap_or(0);
            let mut info = json!({"state": "running", "startTime": self.time(started), "retryCount": 0});
            if let Some(ended) = n.start_ended {
                info["state"] = json!("completed");
                info["endTime"] = json!(self.time(ended));
                if n.start_fails {
                    info["exitCode"] = json!(1);
                    info["result"] = json!("failure");
                    info["retryCount"] = json!(retries.max(0));
                    info["failureInfo"] = json!({
                        "category": "usererror",
                        "code": "FailureExitCode",
                        "message": "The task exited with an exit code representing a failure",
                        "details": [{"name": "Message", "value": "The task process exited with an unexpected exit code"}]
                    });
                } else {
                    info["exitCode"] = json!(0);
                    info["result"] = json!("success");
                }
            }
            v["startTaskInfo"] = info;
        }
        v
    }

    pub fn job_etag(&self, j: usize) -> (String, String) {
        let job = &self.jobs[j];
        (Sim::etag_str(job.etag), self.http_time(job.modified))
    }

    pub fn job_json(&self, j: usize) -> Value {
        let job = &self.jobs[j];
        let mut m = match &job.body {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        let mut execution = json!({"startTime": self.time(job.created)});
        if let Some(pool) = job.body["poolInfo"]["poolId"].as_str() {
            execution["poolId"] = json!(pool);
        }
        if let Some(end) = job.end {
            execution["endTime"] = json!(self.time(end));
        }
        if let Some(r) = &job.terminate_reason {
            execution["terminateReason"] = json!(r);
        }
        let fields = json!({
            "url": format!("{}/jobs/{}", self.base, job.id),
            "eTag": Sim::etag_str(job.etag),
            "lastModified": self.time(job.modified),
            "creationTime": self.time(job.created),
            "state": job.state.as_str(),
            "stateTransitionTime": self.time(job.state_time),
            "priority": job.priority,
            "maxParallelTasks": job.max_parallel,
            "allowTaskPreemption": job.body["allowTaskPreemption"] == true,
            "usesTaskDependencies": job.uses_dependencies,
            "onAllTasksComplete": job.body["onAllTasksComplete"].as_str().unwrap_or("noaction"),
            "onTaskFailure": job.body["onTaskFailure"].as_str().unwrap_or("noaction"),
            "executionInfo": execution,
        });
        if let Value::Object(f) = fields {
            m.extend(f);
        }
        if let Some((state, at)) = job.previous {
            m.insert("previousState".into(), json!(state.as_str()));
            m.insert("previousStateTransitionTime".into(), json!(self.time(at)));
        }
        let constraints = m.entry("constraints").or_insert_with(|| json!({}));
        if let Value::Object(c) = constraints {
            c.entry("maxWallClockTime").or_insert_with(|| json!(FOREVER));
            c.entry("maxTaskRetryCount").or_insert_with(|| json!(0));
        }
        Value::Object(m)
    }

    pub fn task_counts(&self, j: usize) -> Value {
        let job = &self.jobs[j];
        json!({"taskCounts": job.counts.json(), "taskSlotCounts": job.slot_counts.json()})
    }

    pub fn task_etag(&self, j: usize, t: usize) -> (String, String) {
        let task = &self.jobs[j].tasks[t];
        (Sim::etag_str(task.etag), self.http_time(task.modified))
    }

    pub fn task_last_modified(&self, j: usize, t: usize) -> String {
        self.time(self.jobs[j].tasks[t].modified)
    }

    /// Whether the task's files exist (it started at least once).
    pub fn task_ran(&self, j: usize, t: usize) -> bool {
        self.jobs[j].tasks[t].ran_on.is_some()
    }

    pub fn task_json(&self, j: usize, t: usize, select: Option<&[String]>) -> Value {
        let job = &self.jobs[j];
        let task = &job.tasks[t];
        let want = |k: &str| select.is_none_or(|s| s.iter().any(|x| x == k));
        let mut m = Map::new();
        if let Value::Object(b) = &task.body {
            for (k, v) in b {
                if want(k) {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        let mut put = |k: &str, v: Value| {
            if want(k) {
                m.insert(k.to_string(), v);
            }
        };
        put("url", json!(format!("{}/jobs/{}/tasks/{}", self.base, job.id, task.id)));
        put("eTag", json!(Sim::etag_str(task.etag)));
        put("lastModified", json!(self.time(task.modified)));
        put("creationTime", json!(self.time(task.created)));
        put("state", json!(task.state.as_str()));
        put("stateTransitionTime", json!(self.time(task.state_time)));
        if let Some((state, at)) = task.previous {
            put("previousState", json!(state.as_str()));
            put("previousStateTransitionTime", json!(self.time(at)));
        }
        put("requiredSlots", json!(task.required_slots));
        if want("constraints") {
            let mut c = task.body["constraints"].as_object().cloned().unwrap_or_default();
            c.entry("maxWallClockTime").or_insert_with(|| json!(FOREVER));
            c.entry("retentionTime").or_insert_with(|| json!("P7D"));
            c.insert("maxTaskRetryCount".into(), json!(task.max_retries));
            put("constraints", Value::Object(c));
        }
        if want("executionInfo") {
            put("executionInfo", self.execution_info(task));
        }
        if let Some((pool, node)) = &task.ran_on {
            if want("nodeInfo") {
                let root = format!("workitems/{}/job-1/{}", job.id, task.id);
                put(
                    "nodeInfo",
                    json!({
                        "affinityId": format!("TVM:{node}"),
                        "nodeUrl": format!("{}/pools/{pool}/nodes/{node}", self.base),
                        "poolId": pool,
                        "nodeId": node,
                        "taskRootDirectory": root,
                        "taskRootDirectoryUrl": format!("{}/pools/{pool}/nodes/{node}/files/{root}", self.base),
                    }),
                );
            }
        }
        Value::Object(m)
    }

    fn execution_info(&self, task: &Task) -> Value {
        let mut e = json!({"retryCount": task.retry_count, "requeueCount": task.requeue_count});
        if let Some(s) = task.start {
            e["startTime"] = json!(self.time(s));
        }
        if let Some(s) = task.end {
            e["endTime"] = json!(self.time(s));
        }
        if let Some(c) = task.exit_code {
            e["exitCode"] = json!(c);
        }
        if let Some(r) = task.result {
            e["result"] = json!(if r { "success" } else { "failure" });
        }
        if let Some((code, message)) = &task.failure {
            e["failureInfo"] = json!({"category": "usererror", "code": code, "message": message});
        }
        if let Some(s) = task.last_retry {
            e["lastRetryTime"] = json!(self.time(s));
        }
        if let Some(s) = task.last_requeue {
            e["lastRequeueTime"] = json!(self.time(s));
        }
        e
    }

    /// A task property for `$filter`, without building the whole task for the common ones.
    pub fn task_field(&self, j: usize, t: usize, path: &str) -> Option<Value> {
        let task = &self.jobs[j].tasks[t];
        match path {
            "id" => Some(json!(task.id)),
            "state" => Some(json!(task.state.as_str())),
            "requiredSlots" => Some(json!(task.required_slots)),
            "executionInfo/result" => task.result.map(|r| json!(if r { "success" } else { "failure" })),
            "executionInfo/exitCode" => task.exit_code.map(|c| json!(c)),
            "executionInfo/retryCount" => Some(json!(task.retry_count)),
            _ => lookup(&self.task_json(j, t, None), path),
        }
    }

    /// The live pools and jobs, in creation order (deleted ones show `"state": "deleted"`).
    pub fn snapshot_pools(&self) -> Vec<Value> {
        (0..self.pools.len())
            .map(|i| {
                let mut v = self.pool_json(i);
                if self.pools[i].gone {
                    v["state"] = json!("deleted");
                }
                v
            })
            .collect()
    }

    pub fn snapshot_jobs(&self) -> Vec<Value> {
        (0..self.jobs.len())
            .map(|j| {
                let mut v = self.job_json(j);
                if self.jobs[j].gone {
                    v["state"] = json!("deleted");
                }
                v
            })
            .collect()
    }
}
