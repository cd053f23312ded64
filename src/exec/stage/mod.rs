//! Data staging, owned by the run driver for both backends: before anything runs, the
//! repository files the plan names are checked (and, for Batch, uploaded by content); while it
//! runs, placeholders become URLs with SAS ([`Links`]) or local copies ([`LocalFiles`]); as each
//! task succeeds, its outputs with repository destinations are brought back; at the end,
//! whatever is still due.

mod deliver;
mod fetch;
mod links;
mod local;
mod patterns;
mod store;
mod upload;

pub use deliver::{deliver, Delivered};
pub use fetch::{Fetched, RunStore};
pub use links::{needs_storage, Links, Signed};
pub use local::{LocalFiles, Reveal};
pub use store::Store;

use crate::diagnostics::Problem;
use crate::exec::cloud::blob::StorageAccount;
use crate::exec::error::RunError;
use crate::exec::{Observer, TaskReport, TaskState};
use crate::plan::{Action, Delivery, Plan};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// How a backend's tasks reach their files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// On this machine: inputs copied from the repository, outputs kept in the run folder.
    Local,
    /// On Batch nodes: everything goes through the storage account.
    Storage,
}

/// What staging needs to start.
pub struct Opening<'a> {
    pub plan: &'a Plan,
    pub carrier: Carrier,
    /// The run folder (`REPO/.batchflow/runs/RUN`).
    pub run_dir: &'a Path,
    pub run_id: &'a str,
    /// Storage credentials (the Azure CLI's variables).
    pub env: &'a HashMap<String, String>,
    /// Tasks a rerun takes from an earlier run: their outputs came back with that run.
    pub carried: &'a HashSet<(String, String)>,
}

type Pending = (String, String, JoinHandle<Result<Vec<Delivered>, RunError>>);

/// One run's staging.
pub struct Stage {
    rt: tokio::runtime::Runtime,
    links: Arc<Links>,
    local: Option<Arc<LocalFiles>>,
    store: Arc<Store>,
    repo: PathBuf,
    run_id: String,
    by_task: HashMap<(String, String), Vec<Delivery>>,
    pending: Mutex<Vec<Pending>>,
    /// Tasks whose outputs are on their way (or need none from this run: carried over).
    started: Mutex<HashSet<(String, String)>>,
    /// What [`Stage::finish`] brought back.
    brought_back: Mutex<BroughtBack>,
}

/// What [`Stage::finish`] brought back into the repository, by task.
#[derive(Clone, Debug, Default)]
pub struct BroughtBack {
    /// The files written for each task whose outputs all came back.
    pub files: HashMap<(String, String), Vec<PathBuf>>,
    /// Tasks whose outputs could not be brought back.
    pub failed: HashSet<(String, String)>,
}

impl Stage {
    /// For Batch, uploads the repository files the plan reads and prepares the SAS; nothing is
    /// created on Batch yet. [`precheck`] has looked at the files already (the driver calls it
    /// before the run folder is made).
    pub fn open(o: Opening<'_>, observer: &mut dyn Observer) -> Result<Stage, RunError> {
        let staging = &o.plan.staging;
        let repo = repo_of(o.run_dir);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("batchflow-staging")
            .enable_all()
            .build()
            .map_err(|e| RunError::io("cannot start staging", e))?;
        let account = account(o.plan, o.env)?;
        let mut links = Links {
            run_id: o.run_id.to_string(),
            signed: None,
        };
        let folder = || Arc::new(Store::Folder(o.run_dir.join("store")));
        let (store, local) = match o.carrier {
            Carrier::Local => {
                let store = folder();
                let local = LocalFiles {
                    repo: repo.clone(),
                    store: Arc::clone(&store),
                    container: staging.storage.container.clone(),
                    account,
                    run_id: o.run_id.to_string(),
                    rt: rt.handle().clone(),
                };
                (store, Some(Arc::new(local)))
            }
            Carrier::Storage => match (account, needs_storage_at_all(o.plan)) {
                (_, false) => (folder(), None),
                (None, true) => return Err(no_storage()),
                (Some(account), true) => {
                    let signed = rt.block_on(upload::prepare(&account, o.plan, &repo, observer))?;
                    let store = Arc::new(Store::Blob(Box::new(account.container(&signed.container))));
                    links.signed = Some(signed);
                    (store, None)
                }
            },
        };
        let mut by_task: HashMap<(String, String), Vec<Delivery>> = HashMap::new();
        for d in &staging.deliveries {
            by_task
                .entry((d.job.clone(), d.task.clone()))
                .or_default()
                .push(d.clone());
        }
        Ok(Stage {
            rt,
            links: Arc::new(links),
            local,
            store,
            repo,
            run_id: o.run_id.to_string(),
            by_task,
            pending: Mutex::new(Vec::new()),
            started: Mutex::new(o.carried.clone()),
            brought_back: Mutex::default(),
        })
    }

    /// Fills the plan's placeholders in a body about to be sent.
    pub fn links(&self) -> Arc<Links> {
        Arc::clone(&self.links)
    }

    /// A local run's inputs and outputs.
    pub fn local(&self) -> Option<Arc<LocalFiles>> {
        self.local.clone()
    }

    /// Starts bringing back the outputs of a task that just succeeded.
    pub fn task_succeeded(&self, job: &str, task: &str) {
        self.task_ended(job, task, true);
    }

    /// Starts bringing back the outputs a task that ended this way has (`when`), once per task.
    fn task_ended(&self, job: &str, task: &str, succeeded: bool) {
        let key = (job.to_string(), task.to_string());
        let Some(list) = self.by_task.get(&key) else {
            return;
        };
        let list: Vec<Delivery> = list.iter().filter(|d| d.after(succeeded)).cloned().collect();
        if list.is_empty() || !self.started.lock().is_ok_and(|mut s| s.insert(key)) {
            return;
        }
        let (store, repo, run_id) = (Arc::clone(&self.store), self.repo.clone(), self.run_id.clone());
        let handle = self.rt.spawn(async move {
            let mut out = Vec::with_capacity(list.len());
            for d in &list {
                out.push(deliver(&store, d, &run_id, &repo).await?);
            }
            Ok(out)
        });
        if let Ok(mut p) = self.pending.lock() {
            p.push((job.to_string(), task.to_string(), handle));
        }
    }

    /// Brings back the outputs of every ended task not yet brought back (those of an earlier
    /// process of a resumed run too, and a failed task's `when = failure|always` ones), waits
    /// for all, and reports what failed.
    pub fn finish(&self, reports: &[TaskReport], observer: &mut dyn Observer) -> Vec<Problem> {
        for r in reports {
            match r.state {
                TaskState::Succeeded => self.task_ended(&r.job, &r.task, true),
                TaskState::Failed => self.task_ended(&r.job, &r.task, false),
                _ => {}
            }
        }
        let pending = self
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        let mut problems = Vec::new();
        let mut files = 0;
        for (job, task, handle) in pending {
            let id = (job.clone(), task.clone());
            let failed = match self.rt.block_on(handle) {
                Ok(Ok(done)) => {
                    let mut written = Vec::new();
                    for d in done {
                        files += d.files.len();
                        written.extend(d.files);
                        if let Some(to) = d.missing {
                            observer.note(&format!("`{job}/{task}` made no file for its output `{to}`"));
                        }
                    }
                    if let Ok(mut b) = self.brought_back.lock() {
                        b.files.insert(id, written);
                    }
                    None
                }
                Ok(Err(e)) => Some(
                    Problem::error(format!("cannot bring back the outputs of `{job}/{task}`: {e}"))
                        .with_help("`batchflow fetch` tries again once the cause is fixed"),
                ),
                Err(e) => Some(Problem::error(format!(
                    "bringing back the outputs of `{job}/{task}` stopped: {e}"
                ))),
            };
            if let Some(p) = failed {
                problems.push(p);
                if let Ok(mut b) = self.brought_back.lock() {
                    b.failed.insert((job, task));
                }
            }
        }
        if files > 0 {
            observer.note(&format!(
                "brought back {files} output file{} into the repository",
                if files == 1 { "" } else { "s" }
            ));
        }
        problems
    }
}

impl Stage {
    /// What [`Stage::finish`] brought back.
    pub fn brought_back(&self) -> BroughtBack {
        self.brought_back.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

/// What [`Stage::open`] would refuse, found before the run folder is made: an input that
/// changed since it was checked, or a run on Batch that needs storage and has none.
pub fn precheck(plan: &Plan, carrier: Carrier, repo: &Path, env: &HashMap<String, String>) -> Result<(), RunError> {
    upload::check_unchanged(repo, &plan.staging.uploads)?;
    if carrier == Carrier::Storage && needs_storage_at_all(plan) && account(plan, env)?.is_none() {
        return Err(no_storage());
    }
    Ok(())
}

/// The storage account the plan's workflow configured (by name, or the environment alone).
pub fn account(plan: &Plan, env: &HashMap<String, String>) -> Result<Option<StorageAccount>, RunError> {
    if !plan.staging.storage.configured {
        return Ok(None);
    }
    named_or_from_env(plan, env)
}

/// The account the plan names, else the one the environment gives, if any.
fn named_or_from_env(plan: &Plan, env: &HashMap<String, String>) -> Result<Option<StorageAccount>, RunError> {
    match &plan.staging.storage.account {
        Some(name) => StorageAccount::named(name, env).map(Some),
        None => StorageAccount::from_env(env),
    }
}

/// The repository of a run folder (`REPO/.batchflow/runs/RUN`).
pub fn repo_of(run_dir: &Path) -> PathBuf {
    crate::exec::runs::repo_of(run_dir.parent().unwrap_or(run_dir))
}

/// Whether a Batch run of `plan` moves anything through storage.
fn needs_storage_at_all(plan: &Plan) -> bool {
    !plan.staging.uploads.is_empty()
        || !plan.staging.deliveries.is_empty()
        || plan.steps.iter().any(|s| match &s.action {
            Action::Request { body, .. } => needs_storage(body.get()),
            Action::Wait { .. } => false,
        })
}

fn no_storage() -> RunError {
    RunError::Refused(
        "this workflow moves files from or into the repository, which a run on Batch does through a storage account, and none is configured: set `account` under [storage] in batchflow.toml, a `storage { account = \"...\" }` block, or AZURE_STORAGE_CONNECTION_STRING (`batchflow explain azure`)"
            .into(),
    )
}
