//! Batch's directory layout and `AZ_BATCH_*` variables, on this machine. Each simulated node
//! has a root directory like `/mnt/batch/tasks` with `shared/`, `startup/` and
//! `workitems/<job>/job-1/<task>/wd`, so scripts that work here work on Batch.

use std::path::{Path, PathBuf};

/// A simulated node.
#[derive(Clone, Debug)]
pub struct Node {
    /// `<pool>-node-<n>`.
    pub id: String,
    pub pool: usize,
    pub pool_id: String,
    pub root: PathBuf,
    /// Slots this node offers (at most the pool's task slots).
    pub slots: u32,
}

impl Node {
    pub fn shared(&self) -> PathBuf {
        self.root.join("shared")
    }

    pub fn startup(&self) -> PathBuf {
        self.root.join("startup")
    }

    /// `workitems/<job>/job-1/<task>`: the task directory; `wd/` inside is its working dir.
    pub fn task_dir(&self, job: &str, task: &str) -> PathBuf {
        self.root.join("workitems").join(job).join("job-1").join(task)
    }
}

/// The variables Batch sets for every task (the task's own and its job's come on top).
pub fn batch_env(
    node: &Node,
    job: Option<&str>,
    task_id: &str,
    task_dir: &Path,
    attempt: u32,
) -> Vec<(String, String)> {
    let path = |p: &Path| p.display().to_string();
    let mut env = vec![
        ("AZ_BATCH_ACCOUNT_NAME".into(), "local".into()),
        ("AZ_BATCH_ACCOUNT_URL".into(), "http://localhost".into()),
        ("AZ_BATCH_POOL_ID".into(), node.pool_id.clone()),
        ("AZ_BATCH_NODE_ID".into(), node.id.clone()),
        ("AZ_BATCH_NODE_IS_DEDICATED".into(), "true".into()),
        ("AZ_BATCH_NODE_ROOT_DIR".into(), path(&node.root)),
        ("AZ_BATCH_NODE_SHARED_DIR".into(), path(&node.shared())),
        ("AZ_BATCH_NODE_STARTUP_DIR".into(), path(&node.startup())),
        (
            "AZ_BATCH_NODE_STARTUP_WORKING_DIR".into(),
            path(&node.startup().join("wd")),
        ),
        ("AZ_BATCH_TASK_ID".into(), task_id.to_string()),
        ("AZ_BATCH_TASK_DIR".into(), path(task_dir)),
        ("AZ_BATCH_TASK_WORKING_DIR".into(), path(&task_dir.join("wd"))),
        (
            "AZ_BATCH_TASK_RETRY_COUNT".into(),
            attempt.saturating_sub(1).to_string(),
        ),
    ];
    if let Some(job) = job {
        env.push(("AZ_BATCH_JOB_ID".into(), job.to_string()));
        let prep = node.task_dir(job, "jobpreparation");
        env.push(("AZ_BATCH_JOB_PREP_DIR".into(), path(&prep)));
        env.push(("AZ_BATCH_JOB_PREP_WORKING_DIR".into(), path(&prep.join("wd"))));
    }
    env
}

/// Spreads `slots` over nodes of `per_node` slots, at most `nodes` of them.
pub fn slots_per_node(nodes: u32, per_node: u32, jobs: u32) -> Vec<u32> {
    let total = (u64::from(nodes.max(1)) * u64::from(per_node.max(1))).min(u64::from(jobs.max(1)));
    let per = u64::from(per_node.max(1));
    let mut out = Vec::new();
    let mut left = total;
    while left > 0 {
        let here = left.min(per);
        out.push(u32::try_from(here).unwrap_or(u32::MAX));
        left -= here;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_by_jobs_and_spread_over_nodes() {
        assert_eq!(slots_per_node(4, 1, 2), vec![1, 1]);
        assert_eq!(slots_per_node(400, 4, 2), vec![2]);
        assert_eq!(slots_per_node(2, 4, 16), vec![4, 4]);
        assert_eq!(slots_per_node(0, 1, 8), vec![1]);
    }

    #[test]
    fn task_dirs_follow_batch() {
        let node = Node {
            id: "cpu-node-0".into(),
            pool: 0,
            pool_id: "cpu".into(),
            root: PathBuf::from("/r/nodes/cpu-node-0"),
            slots: 1,
        };
        assert_eq!(
            node.task_dir("j", "t-3"),
            PathBuf::from("/r/nodes/cpu-node-0/workitems/j/job-1/t-3")
        );
        let env = batch_env(&node, Some("j"), "t-3", &node.task_dir("j", "t-3"), 1);
        let wd = env
            .iter()
            .find(|(k, _)| k == "AZ_BATCH_TASK_WORKING_DIR")
            .map(|(_, v)| v.as_str());
        assert_eq!(wd, Some("/r/nodes/cpu-node-0/workitems/j/job-1/t-3/wd"));
    }
}
