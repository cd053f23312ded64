//! A local run's staged files, done as a Batch node would do them but without a detour
//! through storage: repository inputs are copied from the repository, `az://` inputs are
//! downloaded from the storage account, and outputs are kept in the run folder's store
//! (repository destinations), uploaded to the storage account (`az://`) or put to the
//! container URL a workflow names.
//!
//! Repository inputs are copied rather than hard-linked: a task that writes to its input file
//! would otherwise write into the repository.

use super::patterns;
use super::store::{copy_atomically, Store};
use crate::exec::cloud::blob::{hash_file, BlockOptions, StorageAccount};
use crate::exec::error::RunError;
use crate::plan::batch_api::{OutputFile, ResourceFile};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct LocalFiles {
    pub(super) repo: PathBuf,
    pub(super) store: Arc<Store>,
    /// The workflow's container: `<outputs:C>` of this container under `runs/RUN/` is the
    /// run's own, kept in `store`.
    pub(super) container: String,
    pub(super) account: Option<StorageAccount>,
    pub(super) run_id: String,
    pub(super) rt: tokio::runtime::Handle,
}

/// Reveals `<secret:NAME>` in a URL.
pub type Reveal<'a> = &'a dyn Fn(&str) -> Result<String, RunError>;

impl LocalFiles {
    /// Brings input `f` into `wd` when the plan names it by placeholder; `false` for a plain
    /// URL, which the caller downloads.
    pub fn input(&self, f: &ResourceFile, wd: &Path) -> Result<bool, RunError> {
        let dest = wd.join(&f.file_path);
        if let Some(path) = f.http_url.as_deref().and_then(|u| inner(u, "<repo:")) {
            copy_atomically(&self.repo.join(path), &dest)?;
            return Ok(true);
        }
        if let Some(blob) = f.http_url.as_deref().and_then(|u| inner(u, "<blob:")) {
            let (container, name) = blob.split_once('/').unwrap_or((blob, ""));
            let c = self.account()?.container(container);
            self.rt
                .block_on(c.download_blob(name, &dest, &|_| {}))
                .map_err(|e| RunError::storage(format!("download input `{}`", f.file_path), e))?;
            return Ok(true);
        }
        if let Some(container) = f.storage_container_url.as_deref().and_then(|u| inner(u, "<container:")) {
            // As Batch does: every blob under the prefix, at its full blob name under filePath.
            let c = self.account()?.container(container);
            let prefix = f.blob_prefix.as_deref().unwrap_or("");
            let doing = || format!("download input `{}` from `az://{container}/{prefix}`", f.file_path);
            self.rt
                .block_on(c.download_full_names(prefix, &dest, &|_| {}))
                .map_err(|e| RunError::storage(doing(), e))?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Keeps or uploads the outputs of a task that ran in `task_dir` and exited with `exit`
    /// (`None`: it was killed), as a node uploads them when a task ends; returns the files
    /// taken, or why an upload failed.
    pub fn outputs(
        &self,
        outputs: &[OutputFile],
        task_dir: &Path,
        env: &[(String, String)],
        exit: Option<i32>,
        reveal: Reveal<'_>,
    ) -> Result<usize, String> {
        let mut taken = 0;
        let wd = task_dir.join("wd");
        for o in outputs {
            if !o.upload_options.upload_condition.applies(exit == Some(0)) {
                continue;
            }
            let dest = &o.destination.container;
            let path = dest.path.as_deref().map(|p| p.replace("<run>", &self.run_id));
            let pattern = patterns::expand(&o.file_pattern, env);
            let found = patterns::matches(&wd, &pattern, path.as_deref())?;
            taken += found.len();
            self.put(&dest.container_url, &found, reveal)
                .map_err(|e| e.to_string())?;
        }
        Ok(taken)
    }

    /// Sends matched files to one destination.
    fn put(&self, container_url: &str, found: &[patterns::Match], reveal: Reveal<'_>) -> Result<(), RunError> {
        let own = format!("runs/{}/", self.run_id);
        match inner(container_url, "<outputs:") {
            Some(c) if c == self.container && found.iter().all(|m| m.blob.starts_with(&own)) => {
                found.iter().try_for_each(|m| self.store.keep(&m.file, &m.blob))
            }
            Some(c) => {
                let container = self.account()?.container(c);
                self.rt.block_on(async {
                    for m in found {
                        let doing = || format!("upload `{}` to `az://{c}/{}`", m.file.display(), m.blob);
                        let file = hash_file(&m.file).map_err(|e| RunError::storage(doing(), e))?;
                        container
                            .put_file(&file, &m.blob, &BlockOptions::default(), &|_| {})
                            .await
                            .map_err(|e| RunError::storage(doing(), e))?;
                    }
                    Ok(())
                })
            }
            None => {
                let url = reveal(container_url)?;
                self.rt.block_on(put_to_url(&url, found))
            }
        }
    }

    fn account(&self) -> Result<&StorageAccount, RunError> {
        self.account.as_ref().ok_or_else(|| {
            RunError::Refused("an `az://` input or output needs a storage account and none is configured".into())
        })
    }
}

/// `PLACEHOLDER>`'s inside, when `text` is that placeholder.
fn inner<'t>(text: &'t str, opening: &str) -> Option<&'t str> {
    text.strip_prefix(opening)?.strip_suffix('>')
}

/// Put Blob of each file into the container of `url` (with its SAS), as a node does.
async fn put_to_url(url: &str, found: &[patterns::Match]) -> Result<(), RunError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let client = reqwest::Client::new();
    for m in found {
        let shown = format!("{}/{}", base.trim_end_matches('/'), m.blob);
        let fail = |why: String| RunError::Launch(format!("cannot upload {} to {shown}: {why}", m.file.display()));
        let body = tokio::fs::read(&m.file).await.map_err(|e| fail(e.to_string()))?;
        let target = if query.is_empty() {
            shown.clone()
        } else {
            format!("{shown}?{query}")
        };
        let reply = client
            .put(target)
            .header("x-ms-blob-type", "BlockBlob")
            .header("x-ms-version", "2022-11-02")
            // An empty body goes out without a length unless told; Storage refuses that (400).
            .header("content-length", body.len())
            .body(body)
            .send()
            .await
            .map_err(|e| fail(e.without_url().to_string()))?;
        if !reply.status().is_success() {
            return Err(fail(format!("HTTP {}", reply.status().as_u16())));
        }
    }
    Ok(())
}
