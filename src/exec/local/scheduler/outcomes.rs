//! What happens when a unit ends: retries, `on_task_failed`, dependents released or
//! blocked, jobs finished and the jobs that come after them started.

use super::*;
use crate::exec::local::container_cli;

impl Sched<'_, '_> {
    pub(super) fn on_exit(&mut self, key: u64, code: Option<i32>) {
        self.end_unit(key, code, None);
    }

    /// A unit ended: free its slots and move its task (or node, or job) on.
    pub(super) fn end_unit(&mut self, key: u64, code: Option<i32>, launch_error: Option<String>) {
        let Some(r) = self.running.remove(&key) else { return };
        if !matches!(r.unit, Unit::Task(_)) {
            self.side_running = self.side_running.saturating_sub(1);
        }
        // A unit that was told to stop is stopped for good: processes of its group that
        // outlive its shell get the rest of the grace period, then SIGKILL.
        if let Some(sent) = r.term_sent {
            self.linger(r.pgid, sent);
        }
        self.nodes[r.node].free += r.slots;
        let elapsed = r.started.elapsed();
        let ok = code == Some(0) && launch_error.is_none() && !r.timed_out;
        let dir = self.unit_dir(r.unit, r.node);
        // A container CLI that failed itself explains why on its own line, followed by a
        // pointer to its help: that line is the reason, not the pointer.
        let cli_failed = code.is_some_and(container_cli::failed_itself) && self.in_container(r.unit, r.node);
        let why = || {
            if let Some(e) = &launch_error {
                return e.clone();
            }
            if r.timed_out {
                return format!("timed out after {}", human(elapsed));
            }
            // A task's reason ends in its last line of stderr (what a summary shows); start and
            // preparation tasks, which stop whole pools, show a few more.
            let lines = if matches!(r.unit, Unit::Task(_)) { 1 } else { 5 };
            let tail = if cli_failed {
                container_cli::own_error(&spawn::stderr_tail(&dir, 20)).unwrap_or_default()
            } else {
                spawn::stderr_tail(&dir, lines)
            };
            let code_text = code.map_or("was killed".to_string(), |c| format!("exited with {c}"));
            if tail.is_empty() {
                code_text
            } else if lines == 1 {
                format!("{code_text}: {tail}")
            } else {
                format!("{code_text}; the end of its stderr:\n{tail}")
            }
        };
        match r.unit {
            Unit::Task(t) => {
                self.tasks[t].exit_code = code;
                self.tasks[t].duration = Some(elapsed);
                // As on a node: outputs go up when the process ends; a failed upload fails
                // the task whatever its exit code.
                let kept = if launch_error.is_none() {
                    self.keep_outputs(t, r.node, if r.timed_out { None } else { code })
                } else {
                    Ok(())
                };
                match (ok, kept) {
                    (true, Ok(())) => self.finish_task(t, TaskState::Succeeded, None),
                    (_, Err(upload)) => self.task_failed(t, upload),
                    (false, Ok(())) => self.task_failed(t, why()),
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

    /// Whether a unit runs in a container.
    fn in_container(&self, unit: Unit, node: usize) -> bool {
        let m = self.model;
        match unit {
            Unit::Task(t) => m.tasks.get(t).is_some_and(|t| t.body.container_settings.is_some()),
            Unit::Start => self
                .nodes
                .get(node)
                .and_then(|n| m.pools.get(n.node.pool))
                .and_then(|p| p.start_task.as_ref())
                .is_some_and(|s| s.container_settings.is_some()),
            Unit::Prep(j) => m
                .jobs
                .get(j)
                .and_then(|j| j.prep())
                .is_some_and(|p| p.container_settings.is_some()),
            Unit::Release(j) => m
                .jobs
                .get(j)
                .and_then(|j| j.release())
                .is_some_and(|r| r.container_settings.is_some()),
        }
    }

    /// Start tasks retry up to their `maxTaskRetryCount` (-1: without end).
    pub(super) fn start_retry(&mut self, n: usize) -> bool {
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

    /// A failed attempt: retry while retries last, then ask `on_task_failed`.
    pub(super) fn task_failed(&mut self, t: usize, why: String) {
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
        let verdict = self.policy.task_failed(&report, origin);
        if let Some(note) = &verdict.note {
            self.observer.note(note);
        }
        match verdict.decision {
            Decision::Retry => {
                self.observer.note(&format!(
                    "`{}` failed ({why}); on_task_failed says retry",
                    self.task_id(t)
                ));
                self.requeue(t);
            }
            Decision::Continue => {
                self.tasks[t].satisfies = true;
                self.observer.note(&format!(
                    "`{}` failed ({why}); on_task_failed says continue",
                    self.task_id(t)
                ));
                self.finish_task(t, TaskState::Failed, Some(why));
            }
            Decision::Abort => {
                self.finish_task(t, TaskState::Failed, Some(why));
                self.abort = Some(format!(
                    "`{}` failed and on_task_failed says abort: stopping the run",
                    self.task_id(t)
                ));
            }
            Decision::Fail => {
                if verdict.note.is_none() {
                    self.observer.note(&format!("`{}` failed: {why}", self.task_id(t)));
                }
                self.finish_task(t, TaskState::Failed, Some(why));
            }
        }
    }

    pub(super) fn requeue(&mut self, t: usize) {
        self.counts.add(self.tasks[t].state, -1);
        self.counts.add(TaskState::Waiting, 1);
        self.tasks[t].state = TaskState::Waiting;
        let pool = self.pool_of(t);
        if let Some(q) = self.ready.get_mut(pool) {
            q.push_front(t);
        }
    }

    /// A task reached a final state: record it, release its dependents or block them, and
    /// see whether its job is done.
    pub(super) fn finish_task(&mut self, t: usize, state: TaskState, reason: Option<String>) {
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
        if state == TaskState::Succeeded {
            let (job, task) = (
                &self.model.jobs[self.model.tasks[t].job].id,
                &self.model.tasks[t].body.id,
            );
            self.observer.task_succeeded(job, task);
        }
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
    pub(super) fn fail_for_good(&mut self, t: usize, state: TaskState, reason: Option<String>) {
        if self.tasks[t].state.is_final() {
            return;
        }
        self.finish_task(t, state, reason);
    }

    pub(super) fn job_done(&mut self, j: usize) {
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

    pub(super) fn make_eligible(&mut self, j: usize) {
        if self.jobs[j].eligible || self.jobs[j].done {
            return;
        }
        self.jobs[j].eligible = true;
        let pool = self.model.jobs[j].pool;
        let ready: Vec<usize> = self.job_tasks[j]
            .iter()
            .copied()
            .filter(|t| self.tasks[*t].state == TaskState::Waiting && self.tasks[*t].waiting_on == 0)
            .collect();
        if let Some(q) = self.ready.get_mut(pool) {
            q.extend(ready);
        }
        if self.jobs[j].left == 0 {
            self.job_done(j);
        }
    }

    pub(super) fn block_job(&mut self, j: usize, why: &str) {
        let tasks = self.job_tasks[j].clone();
        for t in tasks {
            self.fail_for_good(t, TaskState::Blocked, Some(why.to_string()));
        }
        self.job_done(j);
    }

    pub(super) fn block_all_waiting(&mut self, why: &str) {
        for t in 0..self.tasks.len() {
            if self.tasks[t].state == TaskState::Waiting {
                self.fail_for_good(t, TaskState::Blocked, Some(why.to_string()));
            }
        }
    }
}
