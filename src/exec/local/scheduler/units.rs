//! Starting units of work: the process a task, start task or job preparation/release task
//! runs, with its environment and secrets; timeouts and stopping everything.

use super::*;
use crate::exec::error::RunError;
use crate::exec::local::program::{self, Refusal};
use crate::plan::batch_api::{EnvironmentSetting, ResourceFile, TaskConstraints};

/// Why a unit could not start, and the exit status to report for it (127 for a program that
/// was not found, as a shell reports it).
pub(super) struct Failure {
    why: String,
    exit_code: Option<i32>,
}

impl From<String> for Failure {
    fn from(why: String) -> Failure {
        Failure { why, exit_code: None }
    }
}

impl From<&str> for Failure {
    fn from(why: &str) -> Failure {
        Failure::from(why.to_string())
    }
}

impl From<RunError> for Failure {
    fn from(e: RunError) -> Failure {
        Failure::from(e.to_string())
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Failure {
        Failure {
            why: r.message,
            exit_code: r.exit_code,
        }
    }
}

impl Sched<'_, '_> {
    pub(super) fn start_task(&mut self, t: usize, n: usize, slots: u32) {
        let run = &mut self.tasks[t];
        run.attempts += 1;
        run.node = Some(n);
        self.counts.add(TaskState::Waiting, -1);
        self.counts.add(TaskState::Running, 1);
        run.state = TaskState::Running;
        self.nodes[n].free -= slots;
        self.launch(Unit::Task(t), n, slots);
    }

    /// Start, preparation and release tasks: Batch runs them beside the node's task slots.
    pub(super) fn start_unit(&mut self, unit: Unit, n: usize) {
        self.launch(unit, n, 0);
    }

    /// Builds and spawns the process of a unit; a launch failure ends the unit at once.
    pub(super) fn launch(&mut self, unit: Unit, n: usize, slots: u32) {
        if !matches!(unit, Unit::Task(_)) {
            self.side_running += 1;
        }
        let key = self.next_key;
        self.next_key += 1;
        let built = self.build(unit, n);
        let started = built.and_then(|(launch, timeout)| {
            let child = spawn::start(&launch)
                .map_err(|e| Failure::from(format!("could not start `{}`: {e}", launch.program)))?;
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
                    let _ = tx.send(ProcessExit { key, code });
                });
                let pgid = i32::try_from(pid).unwrap_or(0);
                self.running.insert(key, Running::new(unit, n, slots, pgid, timeout));
            }
            Err(f) => {
                // Best effort: the reason is in the report either way.
                let _ = spawn::refused(&self.unit_dir(unit, n), &f.why);
                self.running.insert(key, Running::new(unit, n, slots, 0, None));
                self.end_unit(key, f.exit_code, Some(f.why));
            }
        }
    }

    /// The process of a unit and its timeout.
    pub(super) fn build(&self, unit: Unit, n: usize) -> Result<(Launch, Option<Duration>), Failure> {
        let model = self.model;
        let node = &self.nodes[n].node;
        let secret = |s: &str| self.reveal(s);
        let w: Work<'_> = match unit {
            Unit::Task(t) => {
                let task = &model.tasks[t];
                let job = &model.jobs[task.job];
                let b = &task.body;
                let env = job_env(job, &b.environment_settings);
                let timeout = wall_clock(b.constraints.as_ref());
                Work {
                    job: Some(job.id.as_str()),
                    id: b.id.clone(),
                    command: b.command_line.clone(),
                    // One local node plays every instance: coordination first, then the task.
                    coordination: b
                        .multi_instance_settings
                        .as_ref()
                        .map(|m| m.coordination_command_line.clone()),
                    container: b.container_settings.as_ref(),
                    inputs: &b.resource_files,
                    env,
                    timeout,
                    dir: node.task_dir(&job.id, &b.id),
                }
            }
            Unit::Start => {
                let st = model.pools[node.pool].start_task.as_ref().ok_or("no start task")?;
                let env = pairs(&st.environment_settings);
                Work {
                    job: None,
                    id: "starttask".into(),
                    command: st.command_line.clone(),
                    coordination: None,
                    container: st.container_settings.as_ref(),
                    inputs: &st.resource_files,
                    env,
                    timeout: None,
                    dir: node.startup(),
                }
            }
            Unit::Prep(j) => {
                let job = &model.jobs[j];
                let p = job.prep().ok_or("no preparation task")?;
                let env = job_env(job, &p.environment_settings);
                let timeout = wall_clock(p.constraints.as_ref());
                Work {
                    job: Some(job.id.as_str()),
                    id: "jobpreparation".into(),
                    command: p.command_line.clone(),
                    coordination: None,
                    container: p.container_settings.as_ref(),
                    inputs: &p.resource_files,
                    env,
                    timeout,
                    dir: node.task_dir(&job.id, "jobpreparation"),
                }
            }
            Unit::Release(j) => {
                let job = &model.jobs[j];
                let r = job.release().ok_or("no release task")?;
                let env = job_env(job, &r.environment_settings);
                let timeout = r.max_wall_clock_time.as_deref().and_then(parse_iso8601);
                Work {
                    job: Some(job.id.as_str()),
                    id: "jobrelease".into(),
                    command: r.command_line.clone(),
                    coordination: None,
                    container: r.container_settings.as_ref(),
                    inputs: &r.resource_files,
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
            coordination,
            container,
            inputs,
            env,
            timeout,
            dir,
        } = w;
        // Blocks the scheduler while it downloads; local inputs are expected to be small.
        crate::exec::local::inputs::fetch(inputs, &dir.join("wd"), secret, self.opts.files.as_deref())?;
        crate::exec::local::mounts::link(&node.mounts_dir(), &node.mounts)
            .map_err(|e| RunError::io("cannot link the node's mounts", e))?;
        let mut full_env = layout::batch_env(node, job, &id, &dir, attempt);
        for (k, v) in env {
            full_env.push((k, secret(&v)?));
        }
        let command = secret(&command)?;
        let coordination = coordination.as_deref().map(secret).transpose()?;
        let (before, argv) = match container {
            None => {
                let wd = dir.join("wd");
                let before = coordination.map(|c| program::resolve(&c, &full_env, &wd)).transpose()?;
                (before, program::resolve(&command, &full_env, &wd)?)
            }
            Some(c) => {
                let cli = self.opts.container_cli.as_ref().ok_or("no container CLI")?;
                let cli = cli.display().to_string();
                let image = secret(&c.image_name)?;
                let options = c.container_run_options.as_deref().map(secret).transpose()?;
                let name = format!("batchflow-{}-{}-{}", self.opts.run_id, node.id, id);
                let run = |command_line: &str, name: &str| {
                    let c = ContainerTask {
                        image: &image,
                        run_options: options.as_deref(),
                        command_line,
                    };
                    let folders: Vec<PathBuf> = node.mounts.iter().map(|(_, f)| f.clone()).collect();
                    spawn::container_argv(&cli, &c, &full_env, (&node.root, &folders), &dir, name)
                };
                let before = coordination
                    .map(|c| run(&c, &format!("{name}-coordination")))
                    .transpose()?;
                (before, run(&command, &name)?)
            }
        };
        let launch = spawn::supervised(before.as_deref(), argv, full_env, &dir)?;
        Ok((launch, timeout))
    }

    /// Replaces `<secret:NAME>` with its value from the environment.
    pub(super) fn reveal(&self, text: &str) -> Result<String, RunError> {
        crate::secrets::reveal(text, &self.opts.secrets, crate::secrets::Escape::Plain).map_err(RunError::Refused)
    }

    pub(super) fn unit_dir(&self, unit: Unit, n: usize) -> PathBuf {
        let node = &self.nodes[n].node;
        match unit {
            Unit::Task(t) => node.task_dir(self.job_id(t), self.task_id(t)),
            Unit::Start => node.startup(),
            Unit::Prep(j) => node.task_dir(self.model.jobs.get(j).map_or("", |x| x.id.as_str()), "jobpreparation"),
            Unit::Release(j) => node.task_dir(self.model.jobs.get(j).map_or("", |x| x.id.as_str()), "jobrelease"),
        }
    }

    /// SIGTERM to process groups past their deadline, SIGKILL after the grace period.
    pub(super) fn enforce_deadlines(&mut self) {
        let now = Instant::now();
        self.lingering.retain(|&(pgid, until)| {
            let pg = Pid::from_raw(pgid);
            if killpg(pg, None).is_err() {
                return false;
            }
            if now >= until {
                let _ = killpg(pg, Signal::SIGKILL);
                return false;
            }
            true
        });
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
    pub(super) fn stop_everything(&mut self) {
        // Exits that arrive in the first moments are ordinary ends: a task that has done its
        // work is usually a few microseconds from exiting, and killing it then would run it
        // again on resume. Record them before stopping the rest.
        let settle = Instant::now() + SETTLE;
        while let Ok(ProcessExit { key, code }) = self.rx.recv_timeout(settle.saturating_duration_since(Instant::now()))
        {
            self.end_unit(key, code, None);
            if self.running.is_empty() {
                break;
            }
        }
        for r in self.running.values_mut() {
            if r.pgid > 0 {
                let _ = killpg(Pid::from_raw(r.pgid), Signal::SIGTERM);
                r.term_sent = Some(Instant::now());
            }
        }
        let until = Instant::now() + GRACE;
        while !self.running.is_empty() {
            match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(ProcessExit { key, code }) => {
                    // A task that ended with 0 before the signal reached it did succeed.
                    if code == Some(0) {
                        self.end_unit(key, code, None);
                        continue;
                    }
                    if let Some(r) = self.running.remove(&key) {
                        self.linger(r.pgid, r.term_sent.unwrap_or_else(Instant::now));
                        self.nodes[r.node].free += r.slots;
                        if let Unit::Task(t) = r.unit {
                            self.counts.add(TaskState::Running, -1);
                            self.counts.add(TaskState::Interrupted, 1);
                            self.tasks[t].state = TaskState::Interrupted;
                            let attempts = self.tasks[t].attempts;
                            self.journal(t, TaskState::Interrupted, None, attempts, None);
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
        // Groups whose shell is gone may still hold processes cleaning up: wait out their
        // grace period, so nothing of the run outlives it.
        while !self.lingering.is_empty() {
            self.enforce_deadlines();
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Keeps watching a stopped unit's process group after its shell exited.
    pub(super) fn linger(&mut self, pgid: i32, term_sent: Instant) {
        if pgid > 0 && killpg(Pid::from_raw(pgid), None).is_ok() {
            self.lingering.push((pgid, term_sent + GRACE));
        }
    }
}

/// A job's common environment, then the task's own (a later name wins when the shell reads it).
pub(super) fn job_env(job: &super::super::model::Job, own: &[EnvironmentSetting]) -> Vec<(String, String)> {
    let mut env = pairs(&job.body.common_environment_settings);
    env.extend(pairs(own));
    env
}

fn pairs(settings: &[EnvironmentSetting]) -> Vec<(String, String)> {
    settings.iter().map(|e| (e.name.clone(), e.value.clone())).collect()
}

/// A task's `maxWallClockTime`.
fn wall_clock(constraints: Option<&TaskConstraints>) -> Option<Duration> {
    constraints
        .and_then(|c| c.max_wall_clock_time.as_deref())
        .and_then(parse_iso8601)
}

/// What one unit runs, before secrets are filled in.
struct Work<'m> {
    job: Option<&'m str>,
    id: String,
    command: String,
    /// A multi-instance task's coordination command line, run before `command`.
    coordination: Option<String>,
    container: Option<&'m TaskContainerSettings>,
    /// `resourceFiles`, downloaded into the working directory first.
    inputs: &'m [ResourceFile],
    env: Vec<(String, String)>,
    timeout: Option<Duration>,
    dir: PathBuf,
}
