//! The upload engine for files not hashed yet: each file is hashed as it is read and sent to
//! `cas/<sha256>` unless storage has it, hashing of some files overlapping the upload of
//! others. A small file is read once: the bytes hashed are the bytes sent, so it cannot change
//! in between; a large one is hashed, then sent block by block and checked again
//! ([`Container::put_file`]).

use super::client::Container;
use super::hash::{hash_file, hex, LocalFile};
use super::put::{blocking, io_error as io, Progress};
use super::upload::{known_blobs, Known, UploadOptions, Uploaded};
use crate::exec::error::StorageError;
use azure_core::Bytes;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Hashes and uploads `paths` into `container` (which must exist) under `cas/<sha256>`, as
/// [`super::upload_files`] does for files hashed beforehand; returns each file as hashed (in
/// the order given) and what was sent. `progress` gets every byte of every file once (a file
/// whose content another one already brought counts as skipped), so a bar whose length is the
/// sum of the files' sizes ends full. At most `options.files_in_flight` files are read at
/// once, large ones `options.large_files_in_flight` at a time. The first failure stops it.
pub async fn upload_paths(
    container: &Container,
    paths: &[PathBuf],
    options: &UploadOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Vec<LocalFile>, Uploaded), StorageError> {
    let known = known_blobs(container, paths.len()).await?;
    let run = Run {
        container,
        options,
        known,
        claimed: Mutex::new(HashSet::new()),
        large: tokio::sync::Semaphore::new(options.large_files_in_flight.max(1)),
        progress,
    };
    let done: Vec<(LocalFile, Uploaded)> = futures::stream::iter(paths)
        .map(|p| run.one(p))
        .buffered(options.files_in_flight.max(1))
        .try_collect()
        .await?;
    let mut total = Uploaded::default();
    let mut files = Vec::with_capacity(done.len());
    for (file, one) in done {
        total.add(&one);
        total.blobs.push(file.cas_name());
        files.push(file);
    }
    Ok((files, total))
}

struct Run<'a> {
    container: &'a Container,
    options: &'a UploadOptions,
    known: Known,
    /// Contents some file already sends or found in storage.
    claimed: Mutex<HashSet<String>>,
    large: tokio::sync::Semaphore,
    progress: &'a (dyn Fn(Progress) + Sync),
}

impl Run<'_> {
    async fn one(&self, path: &PathBuf) -> Result<(LocalFile, Uploaded), StorageError> {
        let size = std::fs::metadata(path).map_err(|e| io(path, e))?.len();
        if size <= self.options.blocks.single_put_max {
            let owned = path.clone();
            let (data, file) = blocking(move || read_and_hash(&owned)).await?;
            if let Some(skipped) = self.skip(&file).await? {
                return Ok((file, skipped));
            }
            self.container.put(&file.cas_name(), data, Some(&file.sha256)).await?;
            (self.progress)(Progress::Sent(file.size));
            let sent = sent(file.size, file.size);
            return Ok((file, sent));
        }
        // A permit per large file in flight bounds the memory its blocks take.
        let _permit = self
            .large
            .acquire()
            .await
            .map_err(|e| StorageError::Transport(e.to_string()))?;
        let owned = path.clone();
        let file = blocking(move || hash_file(&owned)).await?;
        if let Some(skipped) = self.skip(&file).await? {
            return Ok((file, skipped));
        }
        let bytes = self
            .container
            .put_file(&file, &file.cas_name(), &self.options.blocks, self.progress)
            .await?;
        let sent = sent(file.size, bytes);
        Ok((file, sent))
    }

    /// `Some` when storage has this content or another file of this run brings it.
    async fn skip(&self, file: &LocalFile) -> Result<Option<Uploaded>, StorageError> {
        let first = self.claimed.lock().map_or(true, |mut c| c.insert(file.sha256.clone()));
        let there = if !first {
            true
        } else {
            let name = file.cas_name();
            let size = match &self.known {
                Some(sizes) => sizes.get(&name).copied(),
                None => self.container.properties(&name).await?.map(|b| b.size),
            };
            size == Some(file.size)
        };
        if !there {
            return Ok(None);
        }
        (self.progress)(Progress::Skipped(file.size));
        Ok(Some(Uploaded {
            files_skipped: 1,
            bytes_skipped: file.size,
            ..Uploaded::default()
        }))
    }
}

fn sent(size: u64, bytes: u64) -> Uploaded {
    Uploaded {
        files_sent: 1,
        bytes_sent: bytes,
        bytes_skipped: size - bytes.min(size),
        ..Uploaded::default()
    }
}

fn read_and_hash(path: &Path) -> Result<(Bytes, LocalFile), StorageError> {
    let data = std::fs::read(path).map_err(|e| io(path, e))?;
    let file = LocalFile {
        path: path.to_path_buf(),
        size: data.len() as u64,
        sha256: hex(&Sha256::digest(&data)),
    };
    Ok((Bytes::from(data), file))
}
