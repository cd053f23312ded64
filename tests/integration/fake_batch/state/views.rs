//! What the GETs and lists show of pools, nodes, jobs and tasks.

use super::*;

impl Sim {
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

    pub(super) fn execution_info(&self, task: &Task) -> Value {
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
