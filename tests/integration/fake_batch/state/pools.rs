//! Pools and their nodes: creation, resizes (one that falls short), allocation, start tasks,
//! deletion.

use super::*;

impl Sim {
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
            last_enable: None,
        };
        self.pools.push(pool);
        let i = self.pools.len() - 1;
        self.pool_index.insert(key, i);
        self.start_resize(i, now, faults);
        Ok(i)
    }

    pub(super) fn start_resize(&mut self, i: usize, now: Instant, faults: &Faults) {
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
    pub(super) fn remove_nodes(&mut self, pi: usize, which: &[usize], now: Instant) {
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
            job.tasks[t].cancel_run();
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

    pub(super) fn pool_phase(&mut self, pi: usize, gen: u64, phase: u8, at: Instant, faults: &Faults) {
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
}
