//! The run's record: the journal and state file as tasks move, the reports at the end, and
//! picking up where a stopped run left off.

use super::*;

impl Sched<'_> {
    /// Tasks that succeeded in the earlier run stay succeeded; a task that was running when
    /// the run stopped counts as succeeded only if its shell recorded exit status 0.
    pub(super) fn restore(&mut self, r: Resume) {
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
    pub(super) fn orphan_exit(&self, old: &TaskRecord) -> Option<i32> {
        let node = self.nodes.iter().find(|n| Some(&n.node.id) == old.node.as_ref())?;
        spawn::recorded_exit(&node.node.task_dir(&old.job, &old.task))
    }

    pub(super) fn journal(
        &mut self,
        t: usize,
        state: TaskState,
        pid: Option<u32>,
        attempts: u32,
        exit_code: Option<i32>,
    ) {
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

    pub(super) fn save(&mut self) -> std::io::Result<()> {
        self.run.save(&self.record)?;
        self.dirty = false;
        self.last_save = Instant::now();
        Ok(())
    }

    pub(super) fn report(&self, t: usize, reason: Option<String>, state: TaskState) -> TaskReport {
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

    pub(super) fn reports(&self) -> Vec<TaskReport> {
        (0..self.tasks.len())
            .map(|t| self.report(t, self.tasks[t].reason.clone(), self.tasks[t].state))
            .collect()
    }
}

/// A task that was running when an earlier run stopped: if its process still runs, wait for
/// it (its shell records its exit status when it ends).
pub(super) fn wait_for_orphan(pid: Option<u32>) {
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
