//! Where and when work starts. Each task has a home node, given in plan order round the nodes
//! of its pool, as Batch's default `spread` fill type assigns "Tasks … evenly across all
//! Compute Nodes in the Pool": so which node runs a task — and what it finds in that node's
//! shared directory — depends on the plan alone, never on `--jobs` or on timing. A task moves
//! to the next node only when its home node cannot run it at all (its start task or its job's
//! preparation task failed there). `--jobs` caps the tasks running at once, and separately the
//! start, preparation and release tasks running at once beside the slots.

use super::*;

pub(super) enum Placement {
    Started,
    /// Not now (its node is busy or preparing, or it was blocked): try the next task.
    Later,
    /// No node of the pool has a free slot: stop looking in this pool.
    Full,
}

/// Each task's home node: an index into its pool's nodes, in plan order round the pool.
pub(super) fn homes(model: &Model, pool_nodes: &[Vec<usize>]) -> Vec<usize> {
    let mut next = vec![0usize; pool_nodes.len()];
    model
        .tasks
        .iter()
        .map(|t| {
            let pool = model.jobs.get(t.job).map_or(0, |j| j.pool);
            let count = pool_nodes.get(pool).map_or(0, Vec::len).max(1);
            let slot = next.get_mut(pool).map_or(0, |k| {
                *k += 1;
                *k - 1
            });
            slot % count
        })
        .collect()
}

impl Sched<'_, '_> {
    /// Starts what can start: queued start tasks and due release tasks while `--jobs` allows
    /// them, then ready tasks while fewer than `--jobs` tasks run.
    pub(super) fn dispatch(&mut self) {
        while self.side_free() {
            let Some(n) = self.start_due.pop_front() else { break };
            self.start_unit(Unit::Start, n);
        }
        for n in 0..self.nodes.len() {
            while self.side_free() {
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
                if self.counts.running >= self.opts.jobs as usize {
                    skipped.push_back(t);
                    break;
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

    /// Whether another start, preparation or release task may start now.
    fn side_free(&self) -> bool {
        self.side_running < self.opts.jobs
    }

    /// Runs a ready task on its home node (or the next one that can run it), starting its
    /// job's preparation task there first.
    fn place(&mut self, t: usize, pool: usize) -> Placement {
        let model = self.model;
        let Some(task) = model.tasks.get(t) else {
            return Placement::Later;
        };
        let job = task.job;
        let count = self.pool_nodes[pool].len();
        if count == 0 {
            let id = model.pools.get(pool).map_or("", |p| p.id.as_str());
            let why = format!("pool `{id}` has no nodes to run it on");
            self.fail_for_good(t, TaskState::Blocked, Some(why));
            return Placement::Later;
        }
        if self.pool_nodes[pool].iter().all(|&n| self.nodes[n].free == 0) {
            return Placement::Full;
        }
        let has_prep = model.jobs.get(job).is_some_and(|j| j.prep().is_some());
        let home = self.homes.get(t).copied().unwrap_or(0);
        let usable = (0..count)
            .map(|k| self.pool_nodes[pool][(home + k) % count])
            .find(|&n| !self.unusable(n, pool, job, has_prep));
        let Some(n) = usable else {
            let why = self.gate_failure(pool, job);
            self.fail_for_good(t, TaskState::Blocked, Some(why));
            return Placement::Later;
        };
        if self.nodes[n].start == Gate::Running && self.start_waits(pool) {
            return Placement::Later;
        }
        let prep = if has_prep {
            self.nodes[n].prep.get(&job).cloned()
        } else {
            Some(Gate::Open)
        };
        let need = task
            .body
            .required_slots
            .unwrap_or(1)
            .max(1)
            .min(self.nodes[n].node.slots);
        match prep {
            None if self.side_free() => {
                self.nodes[n].prep.insert(job, Gate::Running);
                self.start_unit(Unit::Prep(job), n);
                Placement::Later
            }
            Some(Gate::Open) if self.nodes[n].free >= need => {
                self.start_task(t, n, need);
                Placement::Started
            }
            _ => Placement::Later,
        }
    }

    /// A node that can never run the job's tasks: its start task failed (and tasks wait for
    /// it), or the job's preparation task failed there.
    fn unusable(&self, n: usize, pool: usize, job: usize, has_prep: bool) -> bool {
        let node = &self.nodes[n];
        (matches!(node.start, Gate::Failed(_)) && self.start_waits(pool))
            || (has_prep && matches!(node.prep.get(&job), Some(Gate::Failed(_))))
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
}
