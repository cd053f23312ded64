//! The cache index: which task key succeeded in which run, and the repository files that run
//! brought back for it. One JSON document per workflow, kept in the storage account
//! (`cache/WORKFLOW.json` in the workflow's container, so every machine sees it) and copied
//! under `.batchflow/cache/`. A copy that cannot be read is left out, never guessed at.

use crate::exec::cloud::blob::Container;
use crate::exec::error::{RunError, StorageError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The newest entries kept for each task: older ones stop mattering once the workflow moved on.
const KEPT_PER_TASK: usize = 4;
/// Bumped when entries change meaning; another version is read as no index.
const FORMAT: u32 = 1;

/// One task that succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub job: String,
    pub task: String,
    /// The run whose outputs these are.
    pub run: String,
    /// When it was recorded, in milliseconds since the epoch.
    pub at: u64,
    /// Repository files (relative, `/`-separated) that run brought back for the task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Index {
    format: u32,
    pub entries: Vec<Entry>,
}

/// A copy of the index as found.
#[derive(Debug)]
pub enum Found {
    Missing,
    Read(Index),
    /// Unreadable (not JSON, another format): left out, with why.
    Corrupt(String),
}

impl Index {
    pub fn new(entries: Vec<Entry>) -> Index {
        Index {
            format: FORMAT,
            entries,
        }
    }

    /// The newest entry for each key.
    pub fn by_key(&self) -> HashMap<&str, &Entry> {
        let mut out: HashMap<&str, &Entry> = HashMap::new();
        for e in &self.entries {
            match out.get(e.key.as_str()) {
                Some(old) if old.at >= e.at => {}
                _ => {
                    out.insert(e.key.as_str(), e);
                }
            }
        }
        out
    }

    /// Both copies' entries, and `more`, without duplicates, at most [`KEPT_PER_TASK`] per task.
    pub fn merged(copies: impl IntoIterator<Item = Entry>) -> Index {
        let mut all: Vec<Entry> = copies.into_iter().collect();
        all.sort_by_key(|e| std::cmp::Reverse(e.at));
        let mut seen: HashMap<(String, String), Vec<String>> = HashMap::new();
        let mut kept = Vec::new();
        for e in all {
            let keys = seen.entry((e.job.clone(), e.task.clone())).or_default();
            if keys.contains(&e.key) || keys.len() >= KEPT_PER_TASK {
                continue;
            }
            keys.push(e.key.clone());
            kept.push(e);
        }
        kept.sort_by(|a, b| (&a.job, &a.task, a.at).cmp(&(&b.job, &b.task, b.at)));
        Index::new(kept)
    }

    fn parse(bytes: &[u8]) -> Found {
        match serde_json::from_slice::<Index>(bytes) {
            Ok(i) if i.format == FORMAT => Found::Read(i),
            Ok(i) => Found::Corrupt(format!("format {} is not {FORMAT}", i.format)),
            Err(e) => Found::Corrupt(e.to_string()),
        }
    }
}

/// The index's name for a workflow: its name, with anything a file or blob name might
/// mind replaced.
pub fn name_of(workflow: &str) -> String {
    let safe: String = workflow
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.json")
}

/// `REPO/.batchflow/cache/WORKFLOW.json`.
pub fn local_path(repo: &Path, workflow: &str) -> PathBuf {
    repo.join(".batchflow").join("cache").join(name_of(workflow))
}

/// The blob holding a workflow's index.
pub fn blob_name(workflow: &str) -> String {
    format!("cache/{}", name_of(workflow))
}

pub fn read_local(path: &Path) -> Found {
    match std::fs::read(path) {
        Ok(bytes) => Index::parse(&bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Found::Missing,
        Err(e) => Found::Corrupt(e.to_string()),
    }
}

/// The copy in storage, and its ETag (to write it back only if unchanged); an error is
/// storage being unreachable, not a bad index.
pub async fn read_remote(container: &Container, workflow: &str) -> Result<(Found, Option<String>), StorageError> {
    let name = blob_name(workflow);
    let Some(info) = container.properties(&name).await? else {
        return Ok((Found::Missing, None));
    };
    Ok((Index::parse(&container.read(&name).await?), info.etag))
}

/// Writes the local copy whole (a temporary file renamed over it).
pub fn write_local(path: &Path, index: &Index) -> Result<(), RunError> {
    let io = |e| RunError::io(format!("cannot write the cache index {}", path.display()), e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let text =
        serde_json::to_vec(index).map_err(|e| RunError::Refused(format!("cannot encode the cache index: {e}")))?;
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes the copy in storage if nobody did since it was read (`etag`; `None`: there was
/// none); `Ok(false)` if somebody did.
pub async fn write_remote(
    container: &Container,
    workflow: &str,
    index: &Index,
    etag: Option<&str>,
) -> Result<bool, StorageError> {
    let text = serde_json::to_vec(index)
        .map_err(|e| StorageError::Transport(format!("cannot encode the cache index: {e}")))?;
    container.ensure().await?;
    container
        .put_if_unchanged(&blob_name(workflow), text.into(), etag)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, task: &str, at: u64) -> Entry {
        Entry {
            key: key.into(),
            job: "j".into(),
            task: task.into(),
            run: format!("r{at}"),
            at,
            files: Vec::new(),
        }
    }

    #[test]
    fn merging_keeps_the_newest_entries_of_each_task() {
        let all = (0..10)
            .map(|i| entry(&format!("k{i}"), "a", i))
            .chain([entry("k9", "a", 3), entry("x", "b", 1)]);
        let merged = Index::merged(all);
        let a: Vec<&str> = merged
            .entries
            .iter()
            .filter(|e| e.task == "a")
            .map(|e| e.key.as_str())
            .collect();
        assert_eq!(a, ["k6", "k7", "k8", "k9"]);
        assert_eq!(merged.by_key()["k9"].at, 9, "the newest of one key");
        assert!(merged.by_key().contains_key("x"));
    }

    #[test]
    fn an_unreadable_copy_is_corrupt_not_empty() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = local_path(dir.path(), "my flow/1");
        assert!(path.ends_with(".batchflow/cache/my_flow_1.json"), "{}", path.display());
        assert!(matches!(read_local(&path), Found::Missing));
        write_local(&path, &Index::new(vec![entry("k", "a", 1)])).expect("written");
        assert!(matches!(read_local(&path), Found::Read(i) if i.entries.len() == 1));
        std::fs::write(&path, b"{\"format\": 1, \"entries\": [{\"key\"").expect("write");
        assert!(matches!(read_local(&path), Found::Corrupt(_)));
        std::fs::write(&path, b"{\"format\": 9, \"entries\": []}").expect("write");
        assert!(matches!(read_local(&path), Found::Corrupt(why) if why.contains("format 9")));
    }
}
