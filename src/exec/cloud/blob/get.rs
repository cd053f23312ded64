//! One blob to one local file, atomically: the bytes go to a temporary file beside the
//! destination, which is renamed over it only when the blob is complete. A failed, cut or
//! cancelled download removes the temporary file and leaves the destination as it was.

use super::client::Container;
use super::fault::{with_retry, Fault};
use crate::exec::error::StorageError;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// A temporary file removed on drop unless it was renamed into place.
struct Partial {
    path: PathBuf,
    kept: bool,
}

impl Partial {
    fn beside(dest: &Path) -> Partial {
        let name = dest
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let path = dest.with_file_name(format!(".{name}.partial-{}", uuid::Uuid::new_v4().simple()));
        Partial { path, kept: false }
    }

    fn rename_to(mut self, dest: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, dest)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn io(path: &Path, error: std::io::Error) -> StorageError {
    StorageError::Io {
        path: path.to_path_buf(),
        error,
    }
}

impl Container {
    /// Downloads blob `name` to `dest` (parent folders created) and returns its size.
    /// Atomic: `dest` is replaced only by the complete blob; on any failure it is left as it
    /// was and no partial file remains. Cut transfers are retried from the start.
    /// `progress` is called with the bytes received, each byte counted once across retries.
    pub async fn download_blob(
        &self,
        name: &str,
        dest: &Path,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64, StorageError> {
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await.map_err(|e| io(parent, e))?;
        }
        let partial = Partial::beside(dest);
        let reported = std::sync::atomic::AtomicU64::new(0);
        let size = with_retry(self.retry_policy(), || async {
            let fatal = |e| Fault::fatal(io(dest, e));
            let mut file = tokio::fs::File::create(&partial.path).await.map_err(fatal)?;
            let (mut body, total) = self.open(name).await?;
            let mut n = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| self.fault(e))?;
                file.write_all(&chunk).await.map_err(fatal)?;
                n += chunk.len() as u64;
                let before = reported.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
                if n > before {
                    progress(n - before);
                }
            }
            file.flush().await.map_err(fatal)?;
            match total {
                Some(t) if t != n => Err(Fault::transient(format!(
                    "the download of blob `{name}` ended after {n} of {t} bytes"
                ))),
                _ => Ok(n),
            }
        })
        .await?;
        partial.rename_to(dest).map_err(|e| io(dest, e))?;
        Ok(size)
    }

    /// Blob `name`'s bytes, for small blobs such as a task's logs; a cut transfer is retried
    /// from the start.
    pub async fn read(&self, name: &str) -> Result<Vec<u8>, StorageError> {
        with_retry(self.retry_policy(), || async {
            let (mut body, total) = self.open(name).await?;
            let mut out = Vec::new();
            while let Some(chunk) = body.next().await {
                out.extend_from_slice(&chunk.map_err(|e| self.fault(e))?);
            }
            match total {
                Some(t) if t != out.len() as u64 => Err(Fault::transient(format!(
                    "the read of blob `{name}` ended after {} of {t} bytes",
                    out.len()
                ))),
                _ => Ok(out),
            }
        })
        .await
    }
}
