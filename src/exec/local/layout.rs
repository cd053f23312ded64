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
    /// Slots this node offers: the pool's task slots.
    pub slots: u32,
    /// A dedicated node; else a Spot/low-priority one.
    pub dedicated: bool,
    /// Its pool's mounts: the name, and the local folder it stands for.
    pub mounts: Vec<(String, PathBuf)>,
}

impl Node {
    pub fn shared(&self) -> PathBuf {
        self.root.join("shared")
    }

    pub fn startup(&self) -> PathBuf {
        self.root.join("startup")
    }

    /// `fsmounts/`, where Batch mounts the pool's file systems.
    pub fn mounts_dir(&self) -> PathBuf {
        self.root.join("fsmounts")
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
        ("AZ_BATCH_NODE_IS_DEDICATED".into(), node.dedicated.to_string()),
        ("AZ_BATCH_NODE_ROOT_DIR".into(), path(&node.root)),
        ("AZ_BATCH_NODE_SHARED_DIR".into(), path(&node.shared())),
        ("AZ_BATCH_NODE_MOUNTS_DIR".into(), path(&node.mounts_dir())),
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

/// Most simulated nodes of one pool. A constant, not the CPU count, so a workflow gets the same
/// nodes, and each task the same node, on every machine and with every `--jobs`; 64 covers the
/// small pools a workflow is tried on whole, while a node costs a directory tree and a run of
/// the start task, which a larger pool would repeat to no purpose on one machine.
pub const MAX_NODES: u32 = 64;

/// The simulated nodes of a pool of `dedicated` + `low_priority` nodes, dedicated first: `true`
/// for a dedicated node. At most [`MAX_NODES`].
pub fn simulated(dedicated: u32, low_priority: u32) -> Vec<bool> {
    let d = dedicated.min(MAX_NODES);
    let l = low_priority.min(MAX_NODES - d);
    let mut out = vec![true; d as usize];
    out.resize((d + l) as usize, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_follow_the_pool_up_to_the_cap() {
        assert_eq!(simulated(2, 1), vec![true, true, false]);
        assert_eq!(simulated(0, 0), Vec::<bool>::new());
        assert_eq!(simulated(0, 500).len(), MAX_NODES as usize);
        let big = simulated(60, 10);
        assert_eq!((big.len(), big.iter().filter(|d| **d).count()), (64, 60));
    }

    #[test]
    fn task_dirs_follow_batch() {
        let node = Node {
            id: "cpu-node-0".into(),
            pool: 0,
            pool_id: "cpu".into(),
            root: PathBuf::from("/r/nodes/cpu-node-0"),
            slots: 1,
            dedicated: false,
            mounts: Vec::new(),
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
        let dedicated = env.iter().find(|(k, _)| k == "AZ_BATCH_NODE_IS_DEDICATED");
        assert_eq!(dedicated.map(|(_, v)| v.as_str()), Some("false"));
    }
}
