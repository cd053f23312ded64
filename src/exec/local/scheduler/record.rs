//! The run's record: the journal and state file as tasks move, the reports at the end, and
//! picking up where a stopped run left off.

use super::*;

impl Sched<'_, '_> {
    /// Tasks that succeeded in the earlier run stay succeeded. A stopped run's tasks may have
    /// gone on without it: wait for every process it left in this run's node directories,
    /// then count a task as succeeded when its last attempt's shell recorded exit status 0.
    pub(super) fn restore(&mut self, old: &RunState) {
        let left = processes_under(&self.run.path.join("nodes"));
        if !left.is_empty() {
            self.observer.note(&format!(
                "waiting for {} process(es) the stopped run left running",
                left.len()
            ));
            while left.iter().any(|p| alive(*p)) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let by_key: HashMap<(String, String), &TaskRecord> =
            old.tasks.iter().map(|t| ((t.job.clone(), t.task.clone()), t)).collect();
        let exits: Vec<HashMap<PathBuf, i32>> =
            self.nodes.iter().map(|n| spawn::recorded_exits(&n.node.root)).collect();
        for i in 0..self.model.tasks.len() {
            let key = (self.job_id(i).to_string(), self.task_id(i).to_string());
            let old = by_key.get(&key);
            let node = match old {
                Some(o) if o.state == TaskState::Succeeded => o
                    .node
                    .as_ref()
                    .and_then(|n| self.nodes.iter().position(|x| &x.node.id == n)),
                _ => match self.recorded_success(i, &exits) {
                    Some(n) => Some(n),
                    None => continue,
                },
            };
            self.tasks[i].attempts = old.map_or(1, |o| o.attempts.max(1));
            self.tasks[i].exit_code = Some(0);
            self.tasks[i].node = node;
            self.tasks[i].duration = old.and_then(|o| o.duration_ms).map(Duration::from_millis);
            self.finish_task(i, TaskState::Succeeded, None);
        }
    }

    /// The node on which a task's last attempt recorded exit status 0, if one did.
    fn recorded_success(&self, t: usize, exits: &[HashMap<PathBuf, i32>]) -> Option<usize> {
        let (job, task) = (self.job_id(t), self.task_id(t));
        (0..self.nodes.len()).find(|&n| {
            exits
                .get(n)
                .and_then(|e| e.get(&self.nodes[n].node.task_dir(job, task)))
                == Some(&0)
        })
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
        self.run.save(self.record)?;
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
            cached: false,
        }
    }

    pub(super) fn reports(&self) -> Vec<TaskReport> {
        (0..self.tasks.len())
            .map(|t| self.report(t, self.tasks[t].reason.clone(), self.tasks[t].state))
            .collect()
    }
}

/// Live processes whose `AZ_BATCH_TASK_DIR` lies under `dir`: what a stopped run's tasks left.
fn processes_under(dir: &std::path::Path) -> Vec<i32> {
    let prefix = format!("AZ_BATCH_TASK_DIR={}", dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var.starts_with(prefix.as_bytes())))
        })
        .collect()
}

/// Whether a process still runs (a zombie counts as gone).
fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
    nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok() && state != Some("Z")
}
