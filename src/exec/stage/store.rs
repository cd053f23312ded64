//! Where a run's outputs with repository destinations wait to be brought back: the run
//! folder's `store/` for a local run, the storage container for an azure one. Both are named
//! by blob name (`runs/RUN/JOB/TASK/…`), so deliveries read either the same way.

use crate::exec::cloud::blob::Container;
use crate::exec::error::RunError;
use std::path::{Path, PathBuf};

pub enum Store {
    /// Blob `a/b` is the file `FOLDER/a/b`.
    Folder(PathBuf),
    /// Boxed: a container (its account and client options) is much larger than a path.
    Blob(Box<Container>),
}

impl Store {
    /// Keeps `file` as blob `name` (a local run's outputs).
    pub fn keep(&self, file: &Path, name: &str) -> Result<(), RunError> {
        let Store::Folder(root) = self else {
            return Err(RunError::Refused("outputs go to storage through Batch".into()));
        };
        let dest = under(root, name)?;
        copy_atomically(file, &dest)
    }

    /// The blob names that start with `prefix`, in name order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, RunError> {
        match self {
            Store::Folder(root) => {
                let (folder, _) = prefix.rsplit_once('/').unwrap_or(("", prefix));
                let base = under(root, folder)?;
                let mut out = Vec::new();
                for entry in walkdir::WalkDir::new(&base).sort_by_file_name() {
                    let Ok(entry) = entry else { continue };
                    if !entry.file_type().is_file() {
                        continue;
                    }
                    let Some(name) = crate::repo::below(root, entry.path()) else {
                        continue;
                    };
                    if name.starts_with(prefix) {
                        out.push(name);
                    }
                }
                Ok(out)
            }
            Store::Blob(c) => Ok(c
                .list(prefix)
                .await
                .map_err(|e| RunError::storage(format!("list `{prefix}` in container `{}`", c.name()), e))?
                .into_iter()
                .map(|b| b.name)
                .filter(|n| !n.ends_with('/'))
                .collect()),
        }
    }

    /// Blob `name`'s bytes (a task's logs).
    pub async fn read(&self, name: &str) -> Result<Vec<u8>, RunError> {
        match self {
            Store::Folder(root) => {
                let path = under(root, name)?;
                std::fs::read(&path).map_err(|e| RunError::io(format!("cannot read {}", path.display()), e))
            }
            Store::Blob(c) => c
                .read(name)
                .await
                .map_err(|e| RunError::storage(format!("read `{name}` from container `{}`", c.name()), e)),
        }
    }

    /// Blob `name` to `dest`: the file appears whole or not at all.
    pub async fn fetch(&self, name: &str, dest: &Path) -> Result<(), RunError> {
        match self {
            Store::Folder(root) => {
                let from = under(root, name)?;
                let dest = dest.to_path_buf();
                tokio::task::spawn_blocking(move || copy_atomically(&from, &dest))
                    .await
                    .map_err(|e| RunError::Launch(format!("a copy stopped: {e}")))?
            }
            Store::Blob(c) => c
                .download_blob(name, dest, &|_| {})
                .await
                .map(|_| ())
                .map_err(|e| RunError::storage(format!("download `{name}` from container `{}`", c.name()), e)),
        }
    }
}

/// Blob `name` as a path under `root`; a name that climbs out (`..`) is refused.
fn under(root: &Path, name: &str) -> Result<PathBuf, RunError> {
    let mut path = root.to_path_buf();
    for part in name.split('/').filter(|p| !p.is_empty()) {
        if part == ".." || part == "." {
            return Err(RunError::Refused(format!("the blob name `{name}` leaves its folder")));
        }
        path.push(part);
    }
    Ok(path)
}

/// Copies `from` to `to` through a temporary file beside it, so `to` is never half written;
/// parent folders are created.
pub fn copy_atomically(from: &Path, to: &Path) -> Result<(), RunError> {
    let io = |what: String| move |e| RunError::io(what, e);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("cannot create {}", parent.display())))?;
    }
    let name = to
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let partial = to.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let copied = std::fs::copy(from, &partial).map_err(io(format!("cannot copy {}", from.display())));
    let renamed =
        copied.and_then(|_| std::fs::rename(&partial, to).map_err(io(format!("cannot write {}", to.display()))));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_store_keeps_lists_and_fetches_by_blob_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::Folder(dir.path().join("store"));
        let src = dir.path().join("a.txt");
        std::fs::write(&src, "a").expect("file");
        store.keep(&src, "runs/r1/j/t/0/x/a.txt").expect("kept");
        store.keep(&src, "runs/r1/j/t/1/b.txt").expect("kept");
        assert!(store.keep(&src, "runs/../../escape").is_err());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let names = rt.block_on(store.list("runs/r1/j/t/0/")).expect("listed");
        assert_eq!(names, ["runs/r1/j/t/0/x/a.txt"]);
        let dest = dir.path().join("repo/results/a.txt");
        rt.block_on(store.fetch("runs/r1/j/t/1/b.txt", &dest)).expect("fetched");
        assert_eq!(std::fs::read_to_string(&dest).expect("read"), "a");
        assert!(rt.block_on(store.fetch("runs/r1/none", &dest)).is_err());
        assert_eq!(std::fs::read_to_string(&dest).expect("read"), "a", "left as it was");
        let leftovers: Vec<_> = std::fs::read_dir(dest.parent().expect("parent"))
            .expect("listed")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "no partial file: {leftovers:?}");
    }
}
