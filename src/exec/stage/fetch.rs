//! After a run: its outputs with repository destinations brought back again (`batchflow
//! fetch`), and a task's `stdout.txt`/`stderr.txt` read from storage once its node is gone.
//! Both read where the run left them: a local run's folder store, or the workflow's storage
//! container for a run on Batch.

use super::deliver::{deliver, Delivered};
use super::store::Store;
use super::{named_or_from_env, repo_of, Carrier};
use crate::exec::error::RunError;
use crate::plan::{Delivery, Plan};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What one task's outputs brought back.
#[derive(Debug)]
pub struct Fetched {
    pub job: String,
    pub task: String,
    pub files: Vec<PathBuf>,
    /// Destinations of single-file outputs the store does not hold.
    pub missing: Vec<String>,
}

/// Where a past run's outputs are.
pub struct RunStore {
    store: Store,
    rt: tokio::runtime::Runtime,
}

impl RunStore {
    /// The store of the run in `run_dir`: its folder for a local run, the storage account
    /// (named by the plan, else the environment) for a run on Batch.
    pub fn open(
        run_dir: &Path,
        plan: &Plan,
        carrier: Carrier,
        env: &HashMap<String, String>,
    ) -> Result<RunStore, RunError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RunError::io("cannot start the async runtime", e))?;
        let store = match carrier {
            Carrier::Local => Store::Folder(run_dir.join("store")),
            Carrier::Storage => {
                let account = named_or_from_env(plan, env)?.ok_or_else(|| {
                    RunError::Refused(
                        "this run kept its outputs in a storage account and none is configured now: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT (with AZURE_STORAGE_KEY or a Microsoft Entra ID sign-in)"
                            .into(),
                    )
                })?;
                Store::Blob(Box::new(account.container(&plan.staging.storage.container)))
            }
        };
        Ok(RunStore { store, rt })
    }

    /// Brings back the outputs of the tasks in `only` (every task with repository outputs
    /// when empty) into the repository of `run_dir`; a task name matches `TASK` or `JOB/TASK`.
    /// A task a rerun took from an earlier run (`from`, by (job, task)) is fetched from where
    /// that run kept its outputs.
    pub fn fetch(
        &self,
        run_dir: &Path,
        plan: &Plan,
        run_id: &str,
        from: &HashMap<(String, String), String>,
        only: &[String],
    ) -> Result<Vec<Fetched>, RunError> {
        let repo = repo_of(run_dir);
        let mut by_task: BTreeMap<(&str, &str), Vec<&Delivery>> = BTreeMap::new();
        for d in &plan.staging.deliveries {
            by_task.entry((&d.job, &d.task)).or_default().push(d);
        }
        for name in only {
            if !by_task.keys().any(|k| named(*k, name)) {
                return Err(RunError::Refused(format!(
                    "`{name}` has no outputs that go to the repository in run `{run_id}`"
                )));
            }
        }
        let mut out = Vec::new();
        for ((job, task), list) in by_task {
            if !only.is_empty() && !only.iter().any(|n| named((job, task), n)) {
                continue;
            }
            let mut fetched = Fetched {
                job: job.to_string(),
                task: task.to_string(),
                files: Vec::new(),
                missing: Vec::new(),
            };
            let origin = from.get(&(job.to_string(), task.to_string()));
            // A local run's store is its folder; runs on Batch share the container.
            let elsewhere = match (&self.store, origin) {
                (Store::Folder(_), Some(other)) => run_dir
                    .parent()
                    .map(|runs| Store::Folder(runs.join(other).join("store"))),
                _ => None,
            };
            let store = elsewhere.as_ref().unwrap_or(&self.store);
            let id = origin.map_or(run_id, String::as_str);
            for d in list {
                let Delivered { files, missing } = self.rt.block_on(deliver(store, d, id, &repo))?;
                fetched.files.extend(files);
                fetched.missing.extend(missing);
            }
            out.push(fetched);
        }
        Ok(out)
    }

    /// A task's `stdout.txt` or `stderr.txt` as the run uploaded it (`runs/RUN/JOB/TASK/FILE`);
    /// `None` when the store does not hold it.
    pub fn log(&self, run_id: &str, job: &str, task: &str, file: &str) -> Result<Option<Vec<u8>>, RunError> {
        let name = format!("runs/{run_id}/{job}/{task}/{file}");
        let held = self.rt.block_on(self.store.list(&name))?;
        if !held.contains(&name) {
            return Ok(None);
        }
        self.rt.block_on(self.store.read(&name)).map(Some)
    }
}

/// Whether `name` (`TASK` or `JOB/TASK`) names the task.
fn named((job, task): (&str, &str), name: &str) -> bool {
    match name.split_once('/') {
        Some((j, t)) => j == job && t == task,
        None => name == task,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_is_named_alone_or_with_its_job() {
        assert!(named(("align", "map-0"), "map-0"));
        assert!(named(("align", "map-0"), "align/map-0"));
        assert!(!named(("align", "map-0"), "other/map-0"));
        assert!(!named(("align", "map-0"), "map-1"));
    }
}
