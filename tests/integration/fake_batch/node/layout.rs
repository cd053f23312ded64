//! A node's folders and a task's environment, as Batch lays them out ("Azure Batch runtime
//! environment variables", learn.microsoft.com/azure/batch/batch-compute-node-environment-variables):
//! under `AZ_BATCH_NODE_ROOT_DIR`, `shared` (`AZ_BATCH_NODE_SHARED_DIR`), `startup`
//! (`AZ_BATCH_NODE_STARTUP_DIR`) and, for a task of a (non-scheduled) job,
//! `workitems/{job}/job-1/{task}` (`AZ_BATCH_TASK_DIR`, which "contains the stdout.txt and
//! stderr.txt for the task, and the AZ_BATCH_TASK_WORKING_DIR") with `wd` inside
//! (`AZ_BATCH_TASK_WORKING_DIR`). The fake's nodes are folders `{root}/{pool}/{node}`.

use super::{failure, Launch, Nodes, TaskFailure};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The folders of one run of a task.
pub struct Dirs {
    pub node_root: PathBuf,
    pub shared: PathBuf,
    pub startup: PathBuf,
    /// `AZ_BATCH_TASK_DIR`: `stdout.txt`, `stderr.txt`, `wd/`.
    pub task: PathBuf,
    /// `AZ_BATCH_TASK_WORKING_DIR`.
    pub wd: PathBuf,
}

fn node_root(root: &Path, pool: &str, node: &str) -> PathBuf {
    root.join(pool).join(node)
}

/// `AZ_BATCH_TASK_DIR` of a task that ran on `pool`/`node`; the same path as the task's
/// `nodeInfo.taskRootDirectory` (`workitems/{job}/job-1/{task}`).
pub fn task_dir(root: &Path, pool: &str, node: &str, job: &str, task: &str) -> PathBuf {
    node_root(root, pool, node)
        .join("workitems")
        .join(job)
        .join("job-1")
        .join(task)
}

/// Makes the folders of a run: the task folder starts empty at each attempt (a retry or a
/// requeued run may land on another node anyway), with empty `stdout.txt` and `stderr.txt`.
pub fn prepare(root: &Path, l: &Launch) -> Result<Dirs, TaskFailure> {
    let node_root = node_root(root, &l.pool_id, &l.node_id);
    let task = task_dir(root, &l.pool_id, &l.node_id, &l.job_id, &l.task_id);
    let dirs = Dirs {
        shared: node_root.join("shared"),
        startup: node_root.join("startup"),
        wd: task.join("wd"),
        task,
        node_root,
    };
    let made = (|| -> std::io::Result<()> {
        if dirs.task.exists() {
            std::fs::remove_dir_all(&dirs.task)?;
        }
        for d in [&dirs.shared, &dirs.startup, &dirs.wd] {
            std::fs::create_dir_all(d)?;
        }
        for f in ["stdout.txt", "stderr.txt"] {
            std::fs::File::create(dirs.task.join(f))?;
        }
        if !l.body["containerSettings"].is_null() {
            std::fs::write(
                dirs.task.join("fake-node.txt"),
                "containerSettings: the fake Batch service has no container runtime; the command ran on the host.\n",
            )?;
        }
        Ok(())
    })();
    made.map_err(|e| {
        failure(
            "ResourceDirectoryCreateFailed",
            format!("The node could not create the task's folders: {e}"),
        )
    })?;
    Ok(dirs)
}

/// The task's environment: Batch's variables, then the job's `commonEnvironmentSettings`, then
/// the task's `environmentSettings` (a later name overrides an earlier one). Nothing else of
/// the test process leaks in but `PATH`, so `/bin/sh` and programs on the path are found.
pub fn environment(nodes: &Nodes, l: &Launch, dirs: &Dirs) -> Vec<(String, String)> {
    let show = |p: &Path| p.display().to_string();
    let mut env: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        ),
        ("AZ_BATCH_ACCOUNT_NAME".into(), nodes.account.clone()),
        ("AZ_BATCH_ACCOUNT_URL".into(), nodes.account_url.clone()),
        ("AZ_BATCH_JOB_ID".into(), l.job_id.clone()),
        ("AZ_BATCH_NODE_ID".into(), l.node_id.clone()),
        ("AZ_BATCH_NODE_IS_DEDICATED".into(), l.dedicated.to_string()),
        ("AZ_BATCH_NODE_ROOT_DIR".into(), show(&dirs.node_root)),
        ("AZ_BATCH_NODE_SHARED_DIR".into(), show(&dirs.shared)),
        ("AZ_BATCH_NODE_STARTUP_DIR".into(), show(&dirs.startup)),
        ("AZ_BATCH_POOL_ID".into(), l.pool_id.clone()),
        ("AZ_BATCH_TASK_DIR".into(), show(&dirs.task)),
        ("AZ_BATCH_TASK_ID".into(), l.task_id.clone()),
        ("AZ_BATCH_TASK_WORKING_DIR".into(), show(&dirs.wd)),
    ];
    for settings in [&l.job_env, &l.body["environmentSettings"]] {
        for s in settings.as_array().into_iter().flatten() {
            set(&mut env, s);
        }
    }
    env
}

fn set(env: &mut Vec<(String, String)>, setting: &Value) {
    let Some(name) = setting["name"].as_str() else {
        return;
    };
    let value = setting["value"].as_str().unwrap_or("").to_string();
    match env.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value,
        None => env.push((name.to_string(), value)),
    }
}
