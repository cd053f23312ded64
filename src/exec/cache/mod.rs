//! The task cache, consulted by the run driver before either backend runs anything: a task
//! whose key (`plan::cache_key`) matches one that succeeded in an earlier run, whose outputs
//! are still there, and whose upstream tasks are all reused too, is not run again; it goes
//! into the new run's record as succeeded, like a task a rerun carries over. When the run
//! ends, the tasks it ran that succeeded (and brought their outputs back) join the index.
//!
//! Anything uncertain means "run it": an unreadable index copy is left out with a note,
//! storage that cannot be reached turns the cache off for the run with a note.

mod challenge;
mod contents;
pub mod index;
mod present;
pub mod registry;
mod remember;

pub use remember::{load_keys, remember, save_keys, Ended};

use crate::exec::cloud::blob::StorageAccount;
use crate::exec::stage::{self, Store};
use crate::plan::cache_key::{self, TaskKey};
use crate::plan::task_graph::{TaskGraph, TaskRef};
use crate::plan::Plan;
use index::{Entry, Found, Index};
use present::Files;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What the cache is asked.
pub struct Asked<'a> {
    pub plan: &'a Plan,
    pub repo: &'a Path,
    /// Storage credentials (the Azure CLI's variables).
    pub env: &'a HashMap<String, String>,
    /// Tasks a rerun carries over: reused whatever the cache says.
    pub carried: &'a HashSet<TaskRef>,
    /// A run brings back missing repository outputs of the tasks it reuses; `plan` only looks.
    pub restore: bool,
    /// `false` (`--no-cache`): only the keys, to record what the run does; nothing is reused.
    pub reuse: bool,
    /// Nothing from the network (`plan --offline`): this machine's copy of the index only, no
    /// registries; what only storage could tell (`az://` inputs and outputs) is not reused.
    pub offline: bool,
}

/// What the cache answered.
#[derive(Debug, Default)]
pub struct Consulted {
    /// Every cacheable task's key, to record the tasks that succeed.
    pub keys: HashMap<TaskRef, String>,
    /// The tasks to take as they are, with the run whose outputs they are.
    pub reused: HashMap<TaskRef, String>,
    /// What the user should know (an index left out, storage unreachable, files restored).
    pub notes: Vec<String>,
}

/// Looks every task of `a.plan` up.
pub fn consult(a: &Asked<'_>) -> Consulted {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            return Consulted {
                notes: vec![format!("the task cache is off for this run: cannot start it ({e})")],
                ..Consulted::default()
            }
        }
    };
    rt.block_on(look_up(a))
}

async fn look_up(a: &Asked<'_>) -> Consulted {
    let mut out = Consulted::default();
    let account = match stage::account(a.plan, a.env) {
        Ok(acc) => acc.filter(|_| !a.offline),
        Err(e) => return off(out, &format!("the storage account cannot be used ({e})")),
    };
    let index = if a.reuse {
        read(a, account.as_ref(), &mut out.notes).await
    } else {
        None
    };
    // `plan` with nothing in the index has nothing to mark: no key is worth its time.
    if !a.restore && index.as_ref().is_none_or(|i| i.entries.is_empty()) {
        return out;
    }
    // The plan's tasks, read from its bodies once for the inputs, the images and the keys.
    let graph = TaskGraph::of(a.plan);
    let files = contents::files(a.plan, a.repo).await;
    let blobs = match contents::blobs(a.plan, &graph, account.as_ref()).await {
        Ok(b) => b,
        Err(e) => return off(out, &format!("the `az://` inputs cannot be listed ({e})")),
    };
    let (images, image_notes) = if a.offline {
        Default::default()
    } else {
        contents::images(a.plan, &graph, a.env).await
    };
    out.notes.extend(image_notes);
    let keys = cache_key::keys(a.plan, &graph, &contents::Found::new(files, blobs).with_images(images));
    out.keys = keys
        .iter()
        .filter(|k| k.cacheable.is_ok())
        .map(|k| ((k.job.clone(), k.task.clone()), k.key.clone()))
        .collect();
    // No index to read (`--no-cache`, or storage down: said): the keys are for recording.
    let Some(index) = index else { return out };
    let hits = index.by_key();
    let mut ready: HashMap<TaskRef, &Entry> = HashMap::new();
    let mut restorable: HashSet<TaskRef> = HashSet::new();
    let container_store = account
        .as_ref()
        .map(|acc| Store::Blob(Box::new(acc.container(&a.plan.staging.storage.container))));
    let runs = a.repo.join(crate::exec::state::RUNS_DIR);
    let mut found: Vec<&TaskKey> = Vec::new();
    for k in keys.iter().filter(|k| k.cacheable.is_ok()) {
        let id = (k.job.clone(), k.task.clone());
        let Some(hit) = hits.get(k.key.as_str()) else { continue };
        if a.carried.contains(&id) {
            continue;
        }
        let store = store_of(&runs, &hit.run, container_store.as_ref());
        match present::repository(k, hit, a.repo, store.as_ref()).await {
            Ok(Files::InRepository) => {}
            Ok(Files::Restorable) => {
                restorable.insert(id.clone());
            }
            Ok(Files::Gone) => continue,
            Err(e) => return off(out, &format!("the outputs of earlier runs cannot be looked at ({e})")),
        }
        ready.insert(id, hit);
        found.push(k);
    }
    match present::blobs_present(&found, account.as_ref()).await {
        Ok(there) => ready.retain(|id, _| there.contains(id)),
        Err(e) => {
            return off(
                out,
                &format!("the `az://` outputs of earlier runs cannot be listed ({e})"),
            )
        }
    }
    let mut reused = with_upstream(&keys, ready, a.carried);
    if a.restore {
        let mut restored = 0;
        let mut failed = false;
        for k in keys
            .iter()
            .filter(|k| restorable.contains(&(k.job.clone(), k.task.clone())))
        {
            let id = (k.job.clone(), k.task.clone());
            let Some(hit) = reused.get(&id).copied() else { continue };
            let Some(store) = store_of(&runs, &hit.run, container_store.as_ref()) else {
                continue;
            };
            match present::restore(k, hit, a.repo, &store).await {
                Ok(n) => restored += n,
                Err(e) => {
                    out.notes.push(format!(
                        "`{}/{}` runs again: its outputs cannot be brought back from run `{}` ({e})",
                        k.job, k.task, hit.run
                    ));
                    reused.remove(&id);
                    failed = true;
                }
            }
        }
        if failed {
            let ready = reused.clone();
            reused = with_upstream(&keys, ready, a.carried);
        }
        if restored > 0 {
            out.notes.push(format!(
                "brought back {restored} output file{} of reused tasks that were missing from the repository",
                if restored == 1 { "" } else { "s" }
            ));
        }
    }
    out.reused = reused.into_iter().map(|(id, e)| (id, e.run.clone())).collect();
    out
}

/// Both copies of the index, merged; `None` (with a note) when storage cannot be read.
async fn read(a: &Asked<'_>, account: Option<&StorageAccount>, notes: &mut Vec<String>) -> Option<Index> {
    let workflow = &a.plan.workflow;
    let local = index::local_path(a.repo, workflow);
    let mut entries = Vec::new();
    match index::read_local(&local) {
        Found::Read(i) => entries.extend(i.entries),
        Found::Missing => {}
        Found::Corrupt(why) => notes.push(format!(
            "the cache index {} cannot be read ({why}): it is left out, and rewritten when the run ends",
            local.display()
        )),
    }
    if let Some(account) = account {
        let container = account.container(&a.plan.staging.storage.container);
        match index::read_remote(&container, workflow).await {
            Ok((Found::Read(i), _)) => entries.extend(i.entries),
            Ok((Found::Missing, _)) => {}
            Ok((Found::Corrupt(why), _)) => notes.push(format!(
                "the cache index `{}` in storage cannot be read ({why}): it is left out, and rewritten when the run ends",
                index::blob_name(workflow)
            )),
            Err(e) => {
                notes.push(format!(
                    "the task cache is off for this run: its index in storage cannot be read ({e}); every task runs"
                ));
                return None;
            }
        }
    }
    Some(Index::merged(entries))
}

/// `ready` without the tasks that come after a task that runs (neither reused nor carried):
/// one their `after` names, or any task of a job their job comes after.
fn with_upstream<'e>(
    keys: &[TaskKey],
    mut ready: HashMap<TaskRef, &'e Entry>,
    carried: &HashSet<TaskRef>,
) -> HashMap<TaskRef, &'e Entry> {
    let taken = |ready: &HashMap<TaskRef, &Entry>, id: &TaskRef| ready.contains_key(id) || carried.contains(id);
    loop {
        // Jobs none of whose tasks runs.
        let mut whole: HashMap<&str, bool> = HashMap::new();
        for k in keys {
            let id = (k.job.clone(), k.task.clone());
            *whole.entry(k.job.as_str()).or_insert(true) &= taken(&ready, &id);
        }
        let drop: Vec<TaskRef> = keys
            .iter()
            .map(|k| ((k.job.clone(), k.task.clone()), k))
            .filter(|(id, _)| ready.contains_key(id))
            .filter(|(_, k)| {
                k.upstream.iter().any(|u| !taken(&ready, u))
                    || k.after_jobs
                        .iter()
                        .any(|j| !whole.get(j.as_str()).copied().unwrap_or(true))
            })
            .map(|(id, _)| id)
            .collect();
        if drop.is_empty() {
            return ready;
        }
        for id in drop {
            ready.remove(&id);
        }
    }
}

/// Where run `run`'s stored outputs are: its run folder's `store/` on this machine, else the
/// workflow's container.
fn store_of(runs: &Path, run: &str, container: Option<&Store>) -> Option<Store> {
    let folder: PathBuf = runs.join(run).join("store");
    if folder.is_dir() {
        return Some(Store::Folder(folder));
    }
    match container {
        Some(Store::Blob(c)) => Some(Store::Blob(c.clone())),
        _ => None,
    }
}

fn off(mut out: Consulted, why: &str) -> Consulted {
    out.notes
        .push(format!("the task cache is off for this run: {why}; every task runs"));
    out.reused.clear();
    out
}
