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

use crate::exec::cloud::blob::StorageAccount;
use crate::exec::stage::{self, Store};
use crate::plan::cache_key::{self, TaskKey};
use crate::plan::task_graph::TaskRef;
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
        Ok(acc) => acc,
        Err(e) => return off(out, &format!("the storage account cannot be used ({e})")),
    };
    let files = contents::files(a.plan, a.repo).await;
    let blobs = match contents::blobs(a.plan, account.as_ref()).await {
        Ok(b) => b,
        Err(e) => return off(out, &format!("the `az://` inputs cannot be listed ({e})")),
    };
    let keys = cache_key::keys(a.plan, &contents::Found::new(files, blobs));
    out.keys = keys
        .iter()
        .filter(|k| k.cacheable.is_ok())
        .map(|k| ((k.job.clone(), k.task.clone()), k.key.clone()))
        .collect();
    if !a.reuse {
        return out;
    }
    let index = match read(a, account.as_ref(), &mut out.notes).await {
        Some(i) => i,
        None => return out,
    };
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
            Ok(Found::Read(i)) => entries.extend(i.entries),
            Ok(Found::Missing) => {}
            Ok(Found::Corrupt(why)) => notes.push(format!(
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

/// `ready` without the tasks that come after a task that runs (neither reused nor carried).
fn with_upstream<'e>(
    keys: &[TaskKey],
    mut ready: HashMap<TaskRef, &'e Entry>,
    carried: &HashSet<TaskRef>,
) -> HashMap<TaskRef, &'e Entry> {
    loop {
        let drop: Vec<TaskRef> = keys
            .iter()
            .map(|k| (k.job.clone(), k.task.clone()))
            .zip(keys)
            .filter(|(id, _)| ready.contains_key(id))
            .filter(|(_, k)| {
                k.upstream
                    .iter()
                    .any(|u| !ready.contains_key(u) && !carried.contains(u))
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

/// The run folder's copy of the keys a run started with (a resumed run records with them).
const KEYS_FILE: &str = "cache-keys.json";

/// Keeps `keys` in the run folder.
pub fn save_keys(run_dir: &Path, keys: &HashMap<TaskRef, String>) -> Result<(), crate::exec::error::RunError> {
    let mut list: Vec<(&str, &str, &str)> = keys
        .iter()
        .map(|((j, t), k)| (j.as_str(), t.as_str(), k.as_str()))
        .collect();
    list.sort_unstable();
    let text = serde_json::to_vec(&list).unwrap_or_default();
    std::fs::write(run_dir.join(KEYS_FILE), text)
        .map_err(|e| crate::exec::error::RunError::io("cannot write the task keys into the run folder", e))
}

/// The keys a run started with; none when it kept none (an older run, or `--no-cache`).
pub fn load_keys(run_dir: &Path) -> HashMap<TaskRef, String> {
    let list: Vec<(String, String, String)> = std::fs::read(run_dir.join(KEYS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    list.into_iter().map(|(j, t, k)| ((j, t), k)).collect()
}

/// What a run that ended tells the cache.
pub struct Ended<'a> {
    pub plan: &'a Plan,
    pub repo: &'a Path,
    pub env: &'a HashMap<String, String>,
    pub run_id: &'a str,
    pub tasks: &'a [crate::exec::state::TaskRecord],
    /// The keys the run started with (its run folder's copy).
    pub keys: &'a HashMap<TaskRef, String>,
    /// The repository files brought back for each task this run ran; a task whose outputs
    /// could not be brought back is never recorded.
    pub brought_back: &'a stage::BroughtBack,
}

/// Adds the tasks the run ran and that succeeded (their outputs brought back without error)
/// to both copies of the index; returns notes for what could not be written.
pub fn remember(e: &Ended<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    let now = crate::exec::runs::now_ms();
    let new: Vec<Entry> = e
        .tasks
        .iter()
        .filter(|t| t.state == crate::exec::TaskState::Succeeded && t.from.is_none())
        .filter_map(|t| {
            let id = (t.job.clone(), t.task.clone());
            let key = e.keys.get(&id)?;
            if e.brought_back.failed.contains(&id) {
                return None;
            }
            let files = e.brought_back.files.get(&id).cloned().unwrap_or_default();
            Some(Entry {
                key: key.clone(),
                job: t.job.clone(),
                task: t.task.clone(),
                run: e.run_id.to_string(),
                at: now,
                files: files
                    .iter()
                    .filter_map(|f| f.strip_prefix(e.repo).ok())
                    .map(|f| {
                        f.components()
                            .map(|c| c.as_os_str().to_string_lossy())
                            .collect::<Vec<_>>()
                            .join("/")
                    })
                    .collect(),
            })
        })
        .collect();
    let workflow = &e.plan.workflow;
    let local = index::local_path(e.repo, workflow);
    let (mut entries, local_ok) = match index::read_local(&local) {
        Found::Read(i) => (i.entries, true),
        _ => (Vec::new(), false),
    };
    // Nothing new, and a copy here: nothing to write. Without one, this machine's copy is
    // made from the one in storage.
    if new.is_empty() && local_ok {
        return notes;
    }
    let account = stage::account(e.plan, e.env).ok().flatten();
    let remote = account.map(|acc| acc.container(&e.plan.staging.storage.container));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
    // A copy in storage that cannot be read is not overwritten: its entries would be lost.
    let mut write_remote = false;
    if let (Some(container), Ok(rt)) = (&remote, &rt) {
        match rt.block_on(index::read_remote(container, workflow)) {
            Ok(found) => {
                write_remote = !new.is_empty();
                if let Found::Read(i) = found {
                    entries.extend(i.entries);
                }
            }
            Err(err) => notes.push(format!(
                "the cache index in storage cannot be read ({err}): only this machine's copy has this run's tasks"
            )),
        }
    }
    entries.extend(new);
    let merged = Index::merged(entries);
    if let Err(err) = index::write_local(&local, &merged) {
        notes.push(format!("{err}"));
    }
    if let (Some(container), Ok(rt), true) = (&remote, &rt, write_remote) {
        {
            if let Err(err) = rt.block_on(index::write_remote(container, workflow, &merged)) {
                notes.push(format!("the cache index cannot be written to storage ({err}): only this machine's copy has this run's tasks"));
            }
        }
    }
    notes
}
