//! Jobs and their tasks: creation, collections, dependencies, dispatch to node slots, retries,
//! reactivation, termination and deletion.

use super::*;

impl Sim {
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
    pub(super) fn active_job(&self, id: &str) -> Result<usize, Failure> {
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
    pub(super) fn end_running(&mut self, j: usize, t: usize, now: Instant, code: &'static str, message: &str) {
        self.free_node(j, t, false);
        let job = &mut self.jobs[j];
        job.running -= 1;
        job.tasks[t].cancel_run();
        job.change(t, now, |task| {
            task.state = TaskState::Completed;
            task.end = Some(now);
            task.result = Some(false);
            task.failure = Some((code, message.to_string()));
            task.run += 1;
        });
    }

    /// Ends every running task of job `j` with `TaskEnded`.
    pub(super) fn end_running_tasks(&mut self, j: usize, now: Instant, message: &str) {
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
            cancel: None,
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
    pub(super) fn free_node(&mut self, j: usize, t: usize, success: bool) -> Option<usize> {
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

    /// A simulated run ends: exit code 0, or the one `failing_tasks` gives the task.
    pub(super) fn task_done(&mut self, j: usize, t: usize, run: u32, at: Instant, faults: &Faults) {
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
        self.end_attempt(
            j,
            t,
            at,
            Outcome {
                exit_code: Some(exit),
                failure: None,
            },
        );
    }

    pub(super) fn check_job_done(&mut self, j: usize, at: Instant) {
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
    pub(super) fn dispatch(&mut self, pi: usize, at: Instant) {
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
            if self.run_tasks {
                self.launch(job, task as usize, run);
            } else {
                self.at(done, Event::TaskDone { job, task, run });
            }
        }
    }
}
