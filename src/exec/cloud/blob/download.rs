//! Every blob under a prefix into a local folder, keeping the names relative to the prefix
//! (what a task's outputs sent to `runs/RUN/JOB/TASK/` become under their destination folder),
//! or whole (what Batch does with a container resource file, and so a local run's input).
//! Each file is written atomically ([`Container::download_blob`]); names that would land
//! outside the folder are refused before anything is downloaded.

use super::client::{BlobInfo, Container};
use crate::exec::error::StorageError;
use futures::{StreamExt, TryStreamExt};
use std::path::{Path, PathBuf};

/// Blob downloads in flight at once.
const IN_FLIGHT: usize = 16;

impl Container {
    /// Downloads every blob whose name starts with `prefix` into `dest`: blob `PREFIX/a/b.txt`
    /// (or `PREFIXa/b.txt` when the prefix has no trailing `/`) becomes `dest/a/b.txt`; a blob
    /// named exactly `prefix` becomes `dest/<its last segment>`. Returns the files written, in
    /// blob name order; none when nothing matches. `progress` gets the bytes received.
    /// Errors: [`StorageError::UnsafeName`] for a name with a `.` or `..` segment (nothing is
    /// downloaded then); a failed blob stops the rest, and files already complete stay.
    pub async fn download_prefix(
        &self,
        prefix: &str,
        dest: &Path,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<PathBuf>, StorageError> {
        self.download_below(prefix, prefix, dest, progress).await
    }

    /// As Batch downloads a container resource file with a `blobPrefix`: every blob under
    /// `prefix` at its full blob name below `dest`; names as [`Container::download_prefix`]
    /// checks them.
    pub async fn download_full_names(
        &self,
        prefix: &str,
        dest: &Path,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<PathBuf>, StorageError> {
        self.download_below(prefix, "", dest, progress).await
    }

    /// The blobs under `prefix`, each at its name less `strip` below `dest`.
    async fn download_below(
        &self,
        prefix: &str,
        strip: &str,
        dest: &Path,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<PathBuf>, StorageError> {
        let blobs: Vec<BlobInfo> = self
            .list(prefix)
            .await?
            .into_iter()
            .filter(|b| !b.name.ends_with('/'))
            .collect();
        let targets = blobs
            .iter()
            .map(|b| Ok((b.name.as_str(), dest.join(relative(strip, &b.name)?))))
            .collect::<Result<Vec<(&str, PathBuf)>, StorageError>>()?;
        futures::stream::iter(targets)
            .map(|(name, path)| async move {
                self.download_blob(name, &path, progress).await?;
                Ok::<PathBuf, StorageError>(path)
            })
            .buffered(IN_FLIGHT)
            .try_collect()
            .await
    }
}

/// The path of blob `name` below the destination folder.
fn relative(prefix: &str, name: &str) -> Result<PathBuf, StorageError> {
    let rest = name.strip_prefix(prefix).unwrap_or(name).trim_start_matches('/');
    let rest = if rest.is_empty() {
        name.rsplit('/').next().unwrap_or(name)
    } else {
        rest
    };
    let mut path = PathBuf::new();
    for segment in rest.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." || segment.contains('\\') {
            return Err(StorageError::UnsafeName(name.to_string()));
        }
        path.push(segment);
    }
    if path.as_os_str().is_empty() {
        return Err(StorageError::UnsafeName(name.to_string()));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_below_the_prefix_keep_their_relative_paths() {
        let rel = |p, n| relative(p, n).map(|p| p.display().to_string());
        assert_eq!(rel("runs/r/t/", "runs/r/t/a/b.txt").expect("ok"), "a/b.txt");
        assert_eq!(rel("runs/r/t", "runs/r/t/b.txt").expect("ok"), "b.txt");
        assert_eq!(rel("runs/r/t/out.txt", "runs/r/t/out.txt").expect("ok"), "out.txt");
        assert!(rel("runs/", "runs/../../etc/passwd").is_err());
        assert!(rel("runs/", "runs/a/./b").is_err());
        assert_eq!(rel("", "samples/a.fq").expect("ok"), "samples/a.fq", "full names");
        assert!(rel("", "../a.fq").is_err());
    }
}
