//! How an attempt of a task ends: simulated (`task_done` after `task_duration`) or, with
//! `run_tasks`, handed to a node as a [`Launch`] and ended by the node's [`Outcome`].

use super::*;
use std::sync::atomic::Ordering::Relaxed;

impl Task {
    /// Tells the node running this task, if any, to stop.
    pub(super) fn cancel_run(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            cancel.store(true, Relaxed);
        }
    }
}

impl Sim {
    /// Queues task `t` of job `j`, just started on its node, for the nodes to run.
    pub(super) fn launch(&mut self, j: usize, t: usize, run: u32) {
        let cancel = Arc::new(AtomicBool::new(false));
        let job = &mut self.jobs[j];
        let task = &mut job.tasks[t];
        let Some((pi, ni)) = task.node else {
            return;
        };
        task.cancel = Some(cancel.clone());
        let pool = &self.pools[pi];
        let node = &pool.nodes[ni];
        self.launches.push(Launch {
            job: j,
            task: t,
            run,
            job_id: job.id.clone(),
            task_id: task.id.clone(),
            pool_id: pool.id.clone(),
            node_id: node.id.clone(),
            dedicated: node.dedicated,
            body: task.body.clone(),
            job_env: job.body["commonEnvironmentSettings"].clone(),
            cancel,
        });
    }

    /// A node reports how its run ended; ignored when the task was ended or requeued since.
    pub fn run_finished(&mut self, j: usize, t: usize, run: u32, outcome: Outcome, at: Instant) {
        let current = self
            .jobs
            .get(j)
            .and_then(|job| job.tasks.get(t))
            .is_some_and(|task| task.run == run && task.state == TaskState::Running);
        if current {
            self.end_attempt(j, t, at, outcome);
        }
    }

    /// Ends the running attempt of a task: completed with its result, or back to `active` for
    /// a retry. Only a non-zero exit is retried: "pre-processing errors (the Task could not be
    /// run) and file upload errors are not retried" (TaskExecutionInformation.retryCount).
    pub(super) fn end_attempt(&mut self, j: usize, t: usize, at: Instant, outcome: Outcome) {
        let task = &self.jobs[j].tasks[t];
        let exit = outcome.exit_code;
        let success = exit == Some(0) && outcome.failure.is_none();
        let retry = !success
            && outcome.failure.is_none()
            && (task.max_retries < 0 || i64::from(task.retry_count) < task.max_retries);
        let pool = self.free_node(j, t, success);
        let etag = self.next_etag();
        let job = &mut self.jobs[j];
        job.running -= 1;
        job.tasks[t].cancel = None;
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
            let failure = match outcome.failure {
                Some(f) => Some(f),
                None if !success => Some((
                    "FailureExitCode",
                    "The task exited with an exit code representing a failure".to_string(),
                )),
                None => None,
            };
            job.change(t, at, |task| {
                task.state = TaskState::Completed;
                task.end = Some(at);
                task.exit_code = exit;
                task.result = Some(success);
                task.failure = failure;
                task.etag = etag;
            });
            if success {
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

    /// Stops every node run (the fake is going away).
    pub fn cancel_all_runs(&mut self) {
        for job in &mut self.jobs {
            for task in &mut job.tasks {
                task.cancel_run();
            }
        }
    }

    /// Where task `t` of job `j` last ran: (pool id, node id).
    pub fn task_ran_on(&self, j: usize, t: usize) -> Option<(String, String)> {
        self.jobs[j].tasks[t].ran_on.clone()
    }
}
