//! The local run loop: one thread decides what runs where; a waiter thread per process
//! reports its exit over a channel. Tasks start when their dependencies succeeded and a node
//! of their pool has the slots; a failure blocks what depends on it while independent work
//! goes on; timeouts and Ctrl-C stop whole process groups.

use super::hooks::{self, Decision};
use super::layout::{self, Node};
use super::model::Model;
use super::spawn::{self, ContainerTask, Launch};
use crate::exec::{Counts, Observer, TaskReport, TaskState};
use crate::hooks::Hooks;
use crate::plan::batch_api::TaskContainerSettings;
use crate::state::{Event, RunDir, RunState, RunStatus, TaskRecord};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a stopped process group gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(5);
/// How often state is written while tasks finish (and always at the end).
const SAVE_EVERY: Duration = Duration::from_millis(500);
/// How many times `on_task_failed` may answer "retry" for one task.
const HOOK_RETRIES: u32 = 10;

pub struct Options {
    /// Most tasks run at once (`--jobs`, default: the CPUs).
    pub jobs: u32,
    /// The docker-compatible CLI, when the plan has container tasks.
    pub container_cli: Option<PathBuf>,
    pub run_id: String,
    /// Values for `<secret:NAME>` placeholders.
    pub secrets: HashMap<String, String>,
    /// Set by Ctrl-C (or SIGTERM): stop children, save, return.
    pub interrupt: Arc<AtomicBool>,
}

/// Where a resumed run left off.
pub struct Resume {
    pub state: RunState,
    /// Tasks started and never seen to end, with their process ids.
    pub started: Vec<(usize, Option<u32>)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Finished { all_succeeded: bool },
    Interrupted,
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
    hook_retries: u32,
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

enum Msg {
    Exit { key: u64, code: Option<i32> },
}

struct Sched<'a> {
    model: &'a Model,
    hooks: Option<&'a Hooks>,
    opts: &'a Options,
    run: RunDir,
    record: RunState,
    nodes: Vec<NodeRun>,
    tasks: Vec<TaskRun>,
    jobs: Vec<JobRun>,
    dependents: Vec<Vec<usize>>,
    /// Ready tasks per pool, in plan order.
    ready: Vec<VecDeque<usize>>,
    running: HashMap<u64, Running>,
    next_key: u64,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    counts: Counts,
    dirty: bool,
    last_save: Instant,
    abort: Option<String>,
    observer: &'a mut dyn Observer,
}

/// Runs the model; `run_dir` already holds `plan.json`. Errors are I/O errors of the run
/// folder itself; everything a task does is in its report.
pub fn run(
    model: &Model,
    hooks: Option<&Hooks>,
    opts: &Options,
    run_dir: RunDir,
    record: RunState,
    resume: Option<Resume>,
    observer: &mut dyn Observer,
) -> std::io::Result<(Outcome, Vec<TaskReport>)> {
    let (tx, rx) = channel();
    let mut s = Sched {
        model,
        hooks,
        opts,
        nodes: nodes(model, opts, &run_dir.path),
        run: run_dir,
        record,
        tasks: Vec::with_capacity(model.tasks.len()),
        jobs: Vec::new(),
        dependents: vec![Vec::new(); model.tasks.len()],
        ready: vec![VecDeque::new(); model.pools.len()],
        running: HashMap::new(),
        next_key: 0,
        tx,
        rx,
        counts: Counts::default(),
        dirty: true,
        last_save: Instant::now(),
        abort: None,
        observer,
    };
    s.init(resume)?;
    let outcome = s.main_loop()?;
    let reports = s.reports();
    if outcome != Outcome::Interrupted {
        if let Err(e) = hooks::on_complete(
            hooks,
            &model.workflow,
            &reports,
            model.jobs.first().map(|j| j.origin).unwrap_or_default(),
        ) {
            s.observer.note(&format!("on_complete failed: {e}"));
        }
    }
    s.record.status = match outcome {
        Outcome::Interrupted => RunStatus::Interrupted,
        Outcome::Finished { all_succeeded: true } => RunStatus::Succeeded,
        Outcome::Finished { all_succeeded: false } => RunStatus::Failed,
    };
    s.save()?;
    Ok((outcome, reports))
}

/// The simulated nodes of every pool.
fn nodes(model: &Model, opts: &Options, run_dir: &std::path::Path) -> Vec<NodeRun> {
    let mut out = Vec::new();
    for (p, pool) in model.pools.iter().enumerate() {
        for (n, slots) in layout::slots_per_node(pool.nodes, pool.task_slots, opts.jobs)
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
                    slots,
                },
                free: slots,
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

impl Sched<'_> {
    fn init(&mut self, resume: Option<Resume>) -> std::io::Result<()> {
        let model = self.model;
        for (i, t) in model.tasks.iter().enumerate() {
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
                hook_retries: 0,
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
        if let Some(r) = resume {
            self.restore(r);
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].start == Gate::Running {
                self.start_unit(Unit::Start, i);
            }
        }
        // Jobs with nothing to wait for become eligible now (in plan order).
        for j in 0..self.jobs.len() {
            if self.jobs[j].waiting_on == 0 {
                self.make_eligible(j);
            }
        }
        Ok(())
    }

    /// Tasks that succeeded in the earlier run stay succeeded; a task that was running when
    /// the run stopped counts as succeeded only if its shell recorded exit status 0.
    fn restore(&mut self, r: Resume) {
        let by_key: HashMap<(String, String), &TaskRecord> = r
            .state
            .tasks
            .iter()
            .map(|t| ((t.job.clone(), t.task.clone()), t))
            .collect();
        let unfinished: HashMap<usize, Option<u32>> = r.started.iter().copied().collect();
        for i in 0..self.model.tasks.len() {
            let key = (self.job_id(i).to_string(), self.task_id(i).to_string());
            let Some(old) = by_key.get(&key) else { continue };
            let old_index = r.state.tasks.iter().position(|t| std::ptr::eq(t, *old));
            let succeeded = match old.state {
                TaskState::Succeeded => true,
                TaskState::Running => {
                    let pid = old_index.and_then(|x| unfinished.get(&x).copied().flatten());
                    wait_for_orphan(pid);
                    self.orphan_exit(old).is_some_and(|c| c == 0)
                }
                _ => false,
            };
            if succeeded {
                self.tasks[i].attempts = old.attempts;
                self.tasks[i].exit_code = Some(0);
                self.tasks[i].node = old
                    .node
                    .as_ref()
                    .and_then(|n| self.nodes.iter().position(|x| &x.node.id == n));
                self.tasks[i].duration = old.duration_ms.map(Duration::from_millis);
                self.finish_task(i, TaskState::Succeeded, None);
            }
        }
    }

    /// The exit status an unfinished task's shell recorded in its task directory.
    fn orphan_exit(&self, old: &TaskRecord) -> Option<i32> {
        let node = self.nodes.iter().find(|n| Some(&n.node.id) == old.node.as_ref())?;
        spawn::recorded_exit(&node.node.task_dir(&old.job, &old.task))
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
            if self.opts.interrupt.load(Ordering::SeqCst) {
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
                .map_or(Duration::from_millis(250), |d| {
                    d.saturating_duration_since(Instant::now())
                })
                .min(Duration::from_millis(250));
            match self.rx.recv_timeout(wait) {
                Ok(Msg::Exit { key, code }) => self.on_exit(key, code),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // Take every exit already waiting before deciding what to start next.
            while let Ok(Msg::Exit { key, code }) = self.rx.try_recv() {
                self.on_exit(key, code);
            }
            self.enforce_deadlines();
            if self.dirty && self.last_save.elapsed() >= SAVE_EVERY {
                self.save()?;
            }
        }
        // Whatever could never start (a pool whose nodes all failed their start task, a
        // dependency that never ran) ends blocked rather than waiting forever.
        self.block_all_waiting("it could not be scheduled: nothing it waits for can finish");
        self.observer.progress(&self.counts);
        let all = self.tasks.iter().all(|t| t.state == TaskState::Succeeded);
        Ok(Outcome::Finished { all_succeeded: all })
    }

    /// Starts what can start: start tasks are already running; release tasks, job
    /// preparation tasks and ready tasks take free slots.
    fn dispatch(&mut self) {
        for n in 0..self.nodes.len() {
            while self.nodes[n].free > 0 {
                let Some(job) = self.nodes[n].release_due.pop() else {
                    break;
                };
                self.start_unit(Unit::Release(job), n);
            }
        }
        for pool in 0..self.ready.len() {
            let mut skipped = VecDeque::new();
            while let Some(t) = self.ready[pool].pop_front() {
                if self.tasks[t].state != TaskState::Waiting {
                    continue;
                }
                match self.place(t, pool) {
                    Placement::Started => {}
                    Placement::Later => skipped.push_back(t),
                    Placement::Full => {
                        skipped.push_back(t);
                        break;
                    }
                }
            }
            skipped.append(&mut self.ready[pool]);
            self.ready[pool] = skipped;
        }
    }

    /// Finds a node for a ready task, starting its job's preparation task there first.
    fn place(&mut self, t: usize, pool: usize) -> Placement {
        let model = self.model;
        let Some(task) = model.tasks.get(t) else {
            return Placement::Later;
        };
        let job = task.job;
        let need = task.body.required_slots.unwrap_or(1).max(1);
        let has_prep = model.jobs.get(job).is_some_and(|j| j.prep().is_some());
        let mut any_free = false;
        let mut all_gates_failed = true;
        for n in 0..self.nodes.len() {
            let node = &self.nodes[n];
            if node.node.pool != pool {
                continue;
            }
            let start_blocks = match &node.start {
                Gate::Open => false,
                Gate::Running => self.start_waits(pool),
                Gate::Failed(_) => self.start_waits(pool),
            };
            let prep_gate = if has_prep {
                node.prep.get(&job).cloned()
            } else {
                Some(Gate::Open)
            };
            let failed_here =
                matches!(node.start, Gate::Failed(_)) && start_blocks || matches!(prep_gate, Some(Gate::Failed(_)));
            if !failed_here {
                all_gates_failed = false;
            }
            if node.free == 0 {
                continue;
            }
            any_free = true;
            if start_blocks {
                continue;
            }
            match prep_gate {
                None => {
                    self.nodes[n].prep.insert(job, Gate::Running);
                    self.start_unit(Unit::Prep(job), n);
                }
                Some(Gate::Open) if node.free >= need.min(node.node.slots) => {
                    let slots = need.min(self.nodes[n].node.slots);
                    self.start_task(t, n, slots);
                    return Placement::Started;
                }
                _ => {}
            }
        }
        if all_gates_failed && self.nodes.iter().any(|n| n.node.pool == pool) {
            let why = self.gate_failure(pool, job);
            self.fail_for_good(t, TaskState::Blocked, Some(why));
            return Placement::Later;
        }
        if any_free {
            Placement::Later
        } else {
            Placement::Full
        }
    }

    /// Whether tasks of the pool wait for start tasks (`waitForSuccess`, true by default).
    fn start_waits(&self, pool: usize) -> bool {
        self.model
            .pools
            .get(pool)
            .and_then(|p| p.start_task.as_ref())
            .is_some_and(|s| s.wait_for_success.unwrap_or(true))
    }

    fn gate_failure(&self, pool: usize, job: usize) -> String {
        let node = self.nodes.iter().find(|n| n.node.pool == pool);
        match node.map(|n| (&n.start, n.prep.get(&job))) {
            Some((Gate::Failed(why), _)) => why.clone(),
            Some((_, Some(Gate::Failed(why)))) => why.clone(),
            _ => "no node of its pool can run tasks".into(),
        }
    }

    fn start_task(&mut self, t: usize, n: usize, slots: u32) {
        let run = &mut self.tasks[t];
        run.attempts += 1;
        run.node = Some(n);
        self.counts.add(TaskState::Waiting, -1);
        self.counts.add(TaskState::Running, 1);
        run.state = TaskState::Running;
        self.nodes[n].free -= slots;
        self.launch(Unit::Task(t), n, slots);
    }

    fn start_unit(&mut self, unit: Unit, n: usize) {
        let slots = u32::from(self.nodes[n].free > 0);
        self.nodes[n].free = self.nodes[n].free.saturating_sub(slots);
        self.launch(unit, n, slots);
    }

    /// Builds and spawns the process of a unit; a launch failure ends the unit at once.
    fn launch(&mut self, unit: Unit, n: usize, slots: u32) {
        let key = self.next_key;
        self.next_key += 1;
        let built = self.build(unit, n);
        let started = built.and_then(|(launch, timeout)| {
            let child = spawn::start(&launch).map_err(|e| format!("could not start `{}`: {e}", launch.program))?;
            Ok((child, timeout))
        });
        match started {
            Ok((mut child, timeout)) => {
                let pid = child.id();
                if let Unit::Task(t) = unit {
                    let attempts = self.tasks[t].attempts;
                    self.journal(t, TaskState::Running, Some(pid), attempts, None);
                }
                let tx = self.tx.clone();
                std::thread::spawn(move || {
                    let code = child.wait().ok().map(|s| {
                        use std::os::unix::process::ExitStatusExt;
                        s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
                    });
                    let _ = tx.send(Msg::Exit { key, code });
                });
                let now = Instant::now();
                self.running.insert(
                    key,
                    Running {
                        unit,
                        node: n,
                        slots,
                        pgid: i32::try_from(pid).unwrap_or(0),
                        started: now,
                        deadline: timeout.map(|t| now + t),
                        term_sent: None,
                        timed_out: false,
                    },
                );
            }
            Err(why) => {
                self.running.insert(
                    key,
                    Running {
                        unit,
                        node: n,
                        slots,
                        pgid: 0,
                        started: Instant::now(),
                        deadline: None,
                        term_sent: None,
                        timed_out: false,
                    },
                );
                self.end_unit(key, None, Some(why));
            }
        }
    }

    /// The process of a unit and its timeout.
    fn build(&self, unit: Unit, n: usize) -> Result<(Launch, Option<Duration>), String> {
        let model = self.model;
        let node = &self.nodes[n].node;
        let secret = |s: &str| self.reveal(s);
        let w: Work<'_> = match unit {
            Unit::Task(t) => {
                let task = &model.tasks[t];
                let job = &model.jobs[task.job];
                let b = &task.body;
                let mut command = b.command_line.clone();
                if let Some(mi) = &b.multi_instance_settings {
                    // One local node plays every instance: coordination first, then the task.
                    let coord = shlex::try_quote(&mi.coordination_command_line).map_err(|e| e.to_string())?;
                    command = format!("/bin/sh -c {coord} && {command}");
                }
                let env = job
                    .body
                    .common_environment_settings
                    .iter()
                    .chain(b.environment_settings.iter())
                    .map(|e| (e.name.clone(), e.value.clone()))
                    .collect();
                let timeout = b
                    .constraints
                    .as_ref()
                    .and_then(|c| c.max_wall_clock_time.as_deref())
                    .and_then(parse_iso);
                Work {
                    job: Some(job.id.as_str()),
                    id: b.id.clone(),
                    command,
                    container: b.container_settings.as_ref(),
                    env,
                    timeout,
                    dir: node.task_dir(&job.id, &b.id),
                }
            }
            Unit::Start => {
                let st = model.pools[node.pool].start_task.as_ref().ok_or("no start task")?;
                let env = st
                    .environment_settings
                    .iter()
                    .map(|e| (e.name.clone(), e.value.clone()))
                    .collect();
                Work {
                    job: None,
                    id: "starttask".into(),
                    command: st.command_line.clone(),
                    container: st.container_settings.as_ref(),
                    env,
                    timeout: None,
                    dir: node.startup(),
                }
            }
            Unit::Prep(j) => {
                let job = &model.jobs[j];
                let p = job.prep().ok_or("no preparation task")?;
                let env = job
                    .body
                    .common_environment_settings
                    .iter()
                    .chain(p.environment_settings.iter())
                    .map(|e| (e.name.clone(), e.value.clone()))
                    .collect();
                let timeout = p
                    .constraints
                    .as_ref()
                    .and_then(|c| c.max_wall_clock_time.as_deref())
                    .and_then(parse_iso);
                Work {
                    job: Some(job.id.as_str()),
                    id: "jobpreparation".into(),
                    command: p.command_line.clone(),
                    container: p.container_settings.as_ref(),
                    env,
                    timeout,
                    dir: node.task_dir(&job.id, "jobpreparation"),
                }
            }
            Unit::Release(j) => {
                let job = &model.jobs[j];
                let r = job.release().ok_or("no release task")?;
                let env = job
                    .body
                    .common_environment_settings
                    .iter()
                    .chain(r.environment_settings.iter())
                    .map(|e| (e.name.clone(), e.value.clone()))
                    .collect();
                let timeout = r.max_wall_clock_time.as_deref().and_then(parse_iso);
                Work {
                    job: Some(job.id.as_str()),
                    id: "jobrelease".into(),
                    command: r.command_line.clone(),
                    container: r.container_settings.as_ref(),
                    env,
                    timeout,
                    dir: node.task_dir(&job.id, "jobrelease"),
                }
            }
        };
        let attempt = match unit {
            Unit::Task(t) => self.tasks[t].attempts,
            _ => 1,
        };
        let Work {
            job,
            id,
            command,
            container,
            env,
            timeout,
            dir,
        } = w;
        let mut full_env = layout::batch_env(node, job, &id, &dir, attempt);
        for (k, v) in env {
            full_env.push((k, secret(&v)?));
        }
        let command = secret(&command)?;
        std::fs::create_dir_all(dir.join("wd")).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
        let launch = match container {
            None => spawn::host(&command, full_env, &dir),
            Some(c) => {
                let cli = self.opts.container_cli.as_ref().ok_or("no container CLI")?;
                let image = secret(&c.image_name)?;
                let options = c.container_run_options.as_deref().map(secret).transpose()?;
                let name = format!("batchflow-{}-{}-{}", self.opts.run_id, node.id, id);
                spawn::container(
                    &cli.display().to_string(),
                    &ContainerTask {
                        image: &image,
                        run_options: options.as_deref(),
                        command_line: &command,
                    },
                    full_env,
                    &node.root,
                    &dir,
                    &name,
                )?
            }
        };
        Ok((launch, timeout))
    }

    /// Replaces `<secret:NAME>` with its value from the environment.
    fn reveal(&self, text: &str) -> Result<String, String> {
        if !text.contains("<secret:") {
            return Ok(text.to_string());
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("<secret:") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 8..];
            let Some(end) = after.find('>') else {
                out.push_str(&rest[i..]);
                return Ok(out);
            };
            let name = &after[..end];
            let value = self
                .opts
                .secrets
                .get(name)
                .ok_or_else(|| format!("secret `{name}` is not set in the environment"))?;
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn on_exit(&mut self, key: u64, code: Option<i32>) {
        self.end_unit(key, code, None);
    }

    /// A unit ended: free its slots and move its task (or node, or job) on.
    fn end_unit(&mut self, key: u64, code: Option<i32>, launch_error: Option<String>) {
        let Some(r) = self.running.remove(&key) else { return };
        self.nodes[r.node].free += r.slots;
        let elapsed = r.started.elapsed();
        let ok = code == Some(0) && launch_error.is_none() && !r.timed_out;
        let dir = self.unit_dir(r.unit, r.node);
        let why = || {
            if let Some(e) = &launch_error {
                return e.clone();
            }
            if r.timed_out {
                return format!("timed out after {}", human(elapsed));
            }
            let tail = spawn::stderr_tail(&dir, 5);
            let code_text = code.map_or("was killed".to_string(), |c| format!("exited with {c}"));
            if tail.is_empty() {
                code_text
            } else {
                format!("{code_text}: {tail}")
            }
        };
        match r.unit {
            Unit::Task(t) => {
                self.tasks[t].exit_code = code;
                self.tasks[t].duration = Some(elapsed);
                if ok {
                    self.finish_task(t, TaskState::Succeeded, None);
                } else {
                    self.task_failed(t, why());
                }
            }
            Unit::Start => {
                let node_id = self.nodes[r.node].node.id.clone();
                if ok {
                    self.nodes[r.node].start = Gate::Open;
                } else if self.start_retry(r.node) {
                    self.observer
                        .note(&format!("start task on `{node_id}` failed; retrying"));
                    self.start_unit(Unit::Start, r.node);
                } else {
                    let why = format!("the start task failed on node `{node_id}` ({})", why());
                    self.observer.note(&why);
                    self.nodes[r.node].start = Gate::Failed(why);
                }
            }
            Unit::Prep(j) => {
                let gate = if ok {
                    Gate::Open
                } else {
                    let job = self.model.jobs.get(j).map_or("", |x| x.id.as_str());
                    let why = format!(
                        "the job preparation task of `{job}` failed on node `{}` ({})",
                        self.nodes[r.node].node.id,
                        why()
                    );
                    self.observer.note(&why);
                    Gate::Failed(why)
                };
                self.nodes[r.node].prep.insert(j, gate);
            }
            Unit::Release(j) => {
                if !ok {
                    let job = self.model.jobs.get(j).map_or("", |x| x.id.as_str());
                    self.observer.note(&format!(
                        "the job release task of `{job}` failed on node `{}` ({})",
                        self.nodes[r.node].node.id,
                        why()
                    ));
                }
            }
        }
    }

    /// Start tasks retry up to their `maxTaskRetryCount` (-1: without end).
    fn start_retry(&mut self, n: usize) -> bool {
        let pool = self.nodes[n].node.pool;
        let max = self
            .model
            .pools
            .get(pool)
            .and_then(|p| p.start_task.as_ref())
            .and_then(|s| s.max_task_retry_count)
            .unwrap_or(0);
        let node = &mut self.nodes[n];
        node.start_attempts += 1;
        max < 0 || i64::from(node.start_attempts) <= max
    }

    fn unit_dir(&self, unit: Unit, n: usize) -> PathBuf {
        let node = &self.nodes[n].node;
        match unit {
            Unit::Task(t) => node.task_dir(self.job_id(t), self.task_id(t)),
            Unit::Start => node.startup(),
            Unit::Prep(j) => node.task_dir(self.model.jobs.get(j).map_or("", |x| x.id.as_str()), "jobpreparation"),
            Unit::Release(j) => node.task_dir(self.model.jobs.get(j).map_or("", |x| x.id.as_str()), "jobrelease"),
        }
    }

    /// A failed attempt: retry while retries last, then ask `on_task_failed`.
    fn task_failed(&mut self, t: usize, why: String) {
        let max = self.model.tasks[t]
            .body
            .constraints
            .as_ref()
            .and_then(|c| c.max_task_retry_count)
            .unwrap_or(0);
        let attempts = self.tasks[t].attempts;
        if max < 0 || i64::from(attempts) <= max {
            self.observer.note(&format!(
                "`{}` failed ({why}); retry {attempts} of {}",
                self.task_id(t),
                if max < 0 { "unlimited".into() } else { max.to_string() }
            ));
            self.requeue(t);
            return;
        }
        let report = self.report(t, Some(why.clone()), TaskState::Failed);
        let origin = self.model.tasks[t].origin;
        match hooks::on_task_failed(self.hooks, &report, origin) {
            Ok(Decision::Retry) if self.tasks[t].hook_retries < HOOK_RETRIES => {
                self.tasks[t].hook_retries += 1;
                self.observer.note(&format!(
                    "`{}` failed ({why}); on_task_failed says retry",
                    self.task_id(t)
                ));
                self.requeue(t);
            }
            Ok(Decision::Continue) => {
                self.tasks[t].satisfies = true;
                self.observer.note(&format!(
                    "`{}` failed ({why}); on_task_failed says continue",
                    self.task_id(t)
                ));
                self.finish_task(t, TaskState::Failed, Some(why));
            }
            Ok(Decision::Abort) => {
                self.finish_task(t, TaskState::Failed, Some(why));
                self.abort = Some(format!(
                    "`{}` failed and on_task_failed says abort: stopping the run",
                    self.task_id(t)
                ));
            }
            Ok(_) => self.finish_task(t, TaskState::Failed, Some(why)),
            Err(e) => {
                self.observer.note(&format!("on_task_failed failed: {e}"));
                self.finish_task(t, TaskState::Failed, Some(why));
            }
        }
    }

    fn requeue(&mut self, t: usize) {
        self.counts.add(self.tasks[t].state, -1);
        self.counts.add(TaskState::Waiting, 1);
        self.tasks[t].state = TaskState::Waiting;
        let pool = self.pool_of(t);
        if let Some(q) = self.ready.get_mut(pool) {
            q.push_front(t);
        }
    }

    fn pool_of(&self, t: usize) -> usize {
        self.model
            .tasks
            .get(t)
            .and_then(|x| self.model.jobs.get(x.job))
            .map_or(0, |j| j.pool)
    }

    /// A task reached a final state: record it, release its dependents or block them, and
    /// see whether its job is done.
    fn finish_task(&mut self, t: usize, state: TaskState, reason: Option<String>) {
        let before = self.tasks[t].state;
        if before.is_final() {
            return;
        }
        self.counts.add(before, -1);
        self.counts.add(state, 1);
        let run = &mut self.tasks[t];
        run.state = state;
        run.reason = reason.clone();
        if state == TaskState::Succeeded {
            run.satisfies = true;
        }
        let (attempts, code) = (run.attempts, run.exit_code);
        self.journal(t, state, None, attempts, code);
        let satisfies = self.tasks[t].satisfies;
        let job = self.model.tasks[t].job;
        if state != TaskState::Succeeded {
            self.jobs[job].failed_any = true;
        }
        let dependents = self.dependents.get(t).cloned().unwrap_or_default();
        for d in dependents {
            if satisfies {
                self.tasks[d].waiting_on = self.tasks[d].waiting_on.saturating_sub(1);
                if self.tasks[d].waiting_on == 0 && self.jobs[job].eligible && self.tasks[d].state == TaskState::Waiting
                {
                    let pool = self.pool_of(d);
                    self.ready[pool].push_back(d);
                }
            } else {
                let why = format!("`{}` did not succeed", self.task_id(t));
                self.fail_for_good(d, TaskState::Blocked, Some(why));
            }
        }
        self.jobs[job].left = self.jobs[job].left.saturating_sub(1);
        if self.jobs[job].left == 0 {
            self.job_done(job);
        }
    }

    /// Ends a waiting task without running it (and, through `finish_task`, what needs it).
    fn fail_for_good(&mut self, t: usize, state: TaskState, reason: Option<String>) {
        if self.tasks[t].state.is_final() {
            return;
        }
        self.finish_task(t, state, reason);
    }

    fn job_done(&mut self, j: usize) {
        if self.jobs[j].done {
            return;
        }
        self.jobs[j].done = true;
        for n in 0..self.nodes.len() {
            if self.nodes[n].prep.get(&j) == Some(&Gate::Open) && self.model.jobs[j].release().is_some() {
                self.nodes[n].release_due.push(j);
            }
        }
        let failed = self.jobs[j].failed_any;
        let name = self.model.jobs[j].id.clone();
        for k in 0..self.jobs.len() {
            if self.model.jobs[k].after.contains(&j) {
                self.jobs[k].waiting_on = self.jobs[k].waiting_on.saturating_sub(1);
                if failed {
                    self.block_job(k, &format!("job `{name}`, which it comes after, did not fully succeed"));
                } else if self.jobs[k].waiting_on == 0 {
                    self.make_eligible(k);
                }
            }
        }
    }

    fn make_eligible(&mut self, j: usize) {
        if self.jobs[j].eligible || self.jobs[j].done {
            return;
        }
        self.jobs[j].eligible = true;
        let pool = self.model.jobs[j].pool;
        let ready: Vec<usize> = (0..self.model.tasks.len())
            .filter(|t| {
                self.model.tasks[*t].job == j
                    && self.tasks[*t].state == TaskState::Waiting
                    && self.tasks[*t].waiting_on == 0
            })
            .collect();
        if let Some(q) = self.ready.get_mut(pool) {
            q.extend(ready);
        }
        if self.jobs[j].left == 0 {
            self.job_done(j);
        }
    }

    fn block_job(&mut self, j: usize, why: &str) {
        let tasks: Vec<usize> = (0..self.model.tasks.len())
            .filter(|t| self.model.tasks[*t].job == j)
            .collect();
        for t in tasks {
            self.fail_for_good(t, TaskState::Blocked, Some(why.to_string()));
        }
        self.job_done(j);
    }

    fn block_all_waiting(&mut self, why: &str) {
        for t in 0..self.tasks.len() {
            if self.tasks[t].state == TaskState::Waiting {
                self.fail_for_good(t, TaskState::Blocked, Some(why.to_string()));
            }
        }
    }

    /// SIGTERM to process groups past their deadline, SIGKILL after the grace period.
    fn enforce_deadlines(&mut self) {
        let now = Instant::now();
        for r in self.running.values_mut() {
            if r.pgid <= 0 {
                continue;
            }
            if let Some(t) = r.term_sent {
                if now >= t + GRACE {
                    let _ = killpg(Pid::from_raw(r.pgid), Signal::SIGKILL);
                }
            } else if r.deadline.is_some_and(|d| now >= d) {
                r.timed_out = true;
                r.term_sent = Some(now);
                let _ = killpg(Pid::from_raw(r.pgid), Signal::SIGTERM);
            }
        }
    }

    /// Ctrl-C or abort: stop every process group and wait for them; their tasks go back to
    /// waiting so a resumed run starts them again.
    fn stop_everything(&mut self) {
        for r in self.running.values_mut() {
            if r.pgid > 0 {
                let _ = killpg(Pid::from_raw(r.pgid), Signal::SIGTERM);
                r.term_sent = Some(Instant::now());
            }
        }
        let until = Instant::now() + GRACE;
        while !self.running.is_empty() {
            match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Exit { key, .. }) => {
                    if let Some(r) = self.running.remove(&key) {
                        self.nodes[r.node].free += r.slots;
                        if let Unit::Task(t) = r.unit {
                            self.counts.add(TaskState::Running, -1);
                            self.counts.add(TaskState::Waiting, 1);
                            self.tasks[t].state = TaskState::Waiting;
                            let attempts = self.tasks[t].attempts;
                            self.journal(t, TaskState::Waiting, None, attempts, None);
                        }
                    }
                }
                Err(_) if Instant::now() >= until => {
                    for r in self.running.values() {
                        if r.pgid > 0 {
                            let _ = killpg(Pid::from_raw(r.pgid), Signal::SIGKILL);
                        }
                    }
                }
                Err(_) => {}
            }
        }
    }

    fn journal(&mut self, t: usize, state: TaskState, pid: Option<u32>, attempts: u32, exit_code: Option<i32>) {
        let node = self.tasks[t]
            .node
            .and_then(|n| self.nodes.get(n))
            .map(|n| n.node.id.clone());
        let duration_ms = self.tasks[t]
            .duration
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let reason = self.tasks[t].reason.clone();
        if let Some(rec) = self.record.tasks.get_mut(t) {
            rec.state = state;
            rec.attempts = attempts;
            rec.exit_code = exit_code;
            rec.node.clone_from(&node);
            rec.duration_ms = duration_ms;
            rec.reason.clone_from(&reason);
            rec.pid = pid;
        }
        let event = Event {
            task: t,
            state,
            node,
            pid,
            exit_code,
            attempts,
            duration_ms,
            reason,
        };
        if let Err(e) = self.run.append(&event) {
            self.observer.note(&format!("cannot write the run journal: {e}"));
        }
        self.dirty = true;
    }

    fn save(&mut self) -> std::io::Result<()> {
        self.run.save(&self.record)?;
        self.dirty = false;
        self.last_save = Instant::now();
        Ok(())
    }

    fn report(&self, t: usize, reason: Option<String>, state: TaskState) -> TaskReport {
        let run = &self.tasks[t];
        TaskReport {
            job: self.job_id(t).to_string(),
            task: self.task_id(t).to_string(),
            state,
            exit_code: run.exit_code,
            attempts: run.attempts,
            duration: run.duration,
            output: run
                .node
                .and_then(|n| self.nodes.get(n))
                .map(|n| n.node.task_dir(self.job_id(t), self.task_id(t))),
            reason,
        }
    }

    fn reports(&self) -> Vec<TaskReport> {
        (0..self.tasks.len())
            .map(|t| self.report(t, self.tasks[t].reason.clone(), self.tasks[t].state))
            .collect()
    }
}

/// What one unit runs, before secrets are filled in.
struct Work<'m> {
    job: Option<&'m str>,
    id: String,
    command: String,
    container: Option<&'m TaskContainerSettings>,
    env: Vec<(String, String)>,
    timeout: Option<Duration>,
    dir: PathBuf,
}

enum Placement {
    Started,
    /// Not now (its node is busy preparing, or it was blocked): try the next task.
    Later,
    /// No node of the pool has a free slot: stop looking in this pool.
    Full,
}

/// A task that was running when an earlier run stopped: if its process still runs, wait for
/// it (its shell records its exit status when it ends).
fn wait_for_orphan(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    while nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok() && is_same_task(pid) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether a live process id still belongs to a task's shell (not a reused pid).
fn is_same_task(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| env.windows(17).any(|w| w == b"AZ_BATCH_TASK_ID="))
}

/// ISO-8601 durations as the planner writes them (`PT1H30M`, `P1DT2H`).
pub fn parse_iso(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut secs: u64 = 0;
    if let Some(d) = days.strip_suffix('D') {
        secs += d.parse::<u64>().ok()?.checked_mul(86_400)?;
    }
    let mut num = String::new();
    for c in time.chars() {
        match c {
            '0'..='9' => num.push(c),
            'H' | 'M' | 'S' => {
                let n: u64 = num.parse().ok()?;
                secs += n * match c {
                    'H' => 3_600,
                    'M' => 60,
                    _ => 1,
                };
                num.clear();
            }
            _ => return None,
        }
    }
    Some(Duration::from_secs(secs))
}

/// `1m05s`, `3.2s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    } else {
        format!("{}h{:02}m", d.as_secs() / 3600, (d.as_secs() % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_parse() {
        assert_eq!(parse_iso("PT25M"), Some(Duration::from_secs(1_500)));
        assert_eq!(parse_iso("P1DT2H"), Some(Duration::from_secs(93_600)));
        assert_eq!(parse_iso("PT1M30S"), Some(Duration::from_secs(90)));
        assert_eq!(parse_iso("P7D"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_iso("bogus"), None);
    }
}
