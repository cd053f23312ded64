//! What a run leaves to the task cache: the keys it started with (in its run folder, for a
//! resumed run), and, when it ends, its succeeded tasks added to both copies of the index.
//! The copy in storage is written only if nobody wrote it since it was read (its ETag), so
//! two machines ending runs at once both keep their entries.

use super::index::{self, Entry, Found, Index};
use crate::exec::cloud::blob::Container;
use crate::exec::stage;
use crate::plan::task_graph::TaskRef;
use crate::plan::Plan;
use std::collections::HashMap;
use std::path::Path;

/// Reads of the copy in storage before giving up on writing it.
const ATTEMPTS: usize = 5;

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
                files: files.iter().filter_map(|f| crate::repo::below(e.repo, f)).collect(),
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
    let fresh = !new.is_empty();
    entries.extend(new);
    let account = stage::account(e.plan, e.env).ok().flatten();
    let remote = account.map(|acc| acc.container(&e.plan.staging.storage.container));
    let merged = match (
        remote,
        tokio::runtime::Builder::new_current_thread().enable_all().build(),
    ) {
        (Some(container), Ok(rt)) => match rt.block_on(sync(&container, workflow, entries.clone(), fresh)) {
            Ok(merged) => merged,
            Err(why) => {
                notes.push(format!("{why}: only this machine's copy has this run's tasks"));
                Index::merged(entries)
            }
        },
        _ => Index::merged(entries),
    };
    if let Err(err) = index::write_local(&local, &merged) {
        notes.push(format!("{err}"));
    }
    notes
}

/// The copy in storage with `entries` added, written back if `write` and nobody wrote it
/// in between (else read and merged again). A copy that cannot be read is not overwritten:
/// its entries would be lost.
async fn sync(container: &Container, workflow: &str, entries: Vec<Entry>, write: bool) -> Result<Index, String> {
    for _ in 0..ATTEMPTS {
        let (found, etag) = index::read_remote(container, workflow)
            .await
            .map_err(|e| format!("the cache index in storage cannot be read ({e})"))?;
        let mut all = entries.clone();
        if let Found::Read(i) = found {
            all.extend(i.entries);
        }
        let merged = Index::merged(all);
        if !write {
            return Ok(merged);
        }
        match index::write_remote(container, workflow, &merged, etag.as_deref()).await {
            Ok(true) => return Ok(merged),
            Ok(false) => continue,
            Err(e) => return Err(format!("the cache index cannot be written to storage ({e})")),
        }
    }
    Err(format!(
        "the cache index in storage changed under this run {ATTEMPTS} times in a row"
    ))
}
