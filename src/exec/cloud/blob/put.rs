//! One local file to one blob: a single Put Blob for a small file; for a large one, Put Block
//! in parallel (each with its `Content-MD5`, which storage verifies) then Put Block List. A block's id is its index and a digest of the file's
//! hash, size and modification time and the block size, so a retry after a crash asks Get
//! Block List which blocks are already staged and sends only the others; blocks staged from
//! another version of the file (it changed, even if it later changed back) carry another
//! modification time and never match. The file is hashed again as it is read: if it is not
//! what [`LocalFile`] says, nothing is committed and the error names it.

use super::client::Container;
use super::hash::{hex, LocalFile};
use crate::exec::error::StorageError;
use azure_core::Bytes;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How an upload moves, for a byte progress bar: each part of each file is reported once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Bytes sent to storage.
    Sent(u64),
    /// Bytes storage already had (the same content under the same name, or blocks an
    /// interrupted upload staged), counted without being sent.
    Skipped(u64),
}

/// How files are cut into requests.
#[derive(Clone, Copy, Debug)]
pub struct BlockOptions {
    /// Files up to this size go in one Put Blob.
    pub single_put_max: u64,
    /// The block size of larger files (raised for files over 50,000 blocks, storage's limit).
    pub block_size: u64,
    /// Blocks of one file in flight at once.
    pub parallel: usize,
}

impl Default for BlockOptions {
    fn default() -> BlockOptions {
        BlockOptions {
            single_put_max: 4 << 20,
            block_size: 8 << 20,
            parallel: 8,
        }
    }
}

/// Storage's limits: 50,000 blocks per blob, 4000 MiB per block.
const MAX_BLOCKS: u64 = 50_000;
const MAX_BLOCK: u64 = 4000 << 20;

impl Container {
    /// Uploads `file` to blob `name` with its SHA-256 as the blob's `sha256` metadata, and
    /// returns the bytes sent (less than the size when an interrupted upload of the same
    /// content left blocks staged). `progress` gets each part as it is sent or found staged. Errors: [`StorageError::Changed`] when the file's size or content is no
    /// longer `file`'s, [`StorageError::Io`] when it cannot be read, and the service's errors.
    pub async fn put_file(
        &self,
        file: &LocalFile,
        name: &str,
        options: &BlockOptions,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<u64, StorageError> {
        if file.size <= options.single_put_max {
            let path = file.path.clone();
            let (data, seen) = blocking(move || read_whole(&path)).await?;
            check(file, &seen)?;
            self.put(name, data, Some(&file.sha256)).await?;
            progress(Progress::Sent(file.size));
            return Ok(file.size);
        }
        let block_size = options
            .block_size
            .max(file.size.div_ceil(MAX_BLOCKS).next_multiple_of(1 << 20))
            .min(MAX_BLOCK);
        let generation = generation(file, block_size);
        let staged = self.uncommitted_blocks(name).await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<(usize, Bytes)>(options.parallel.max(1));
        let path = file.path.clone();
        let reader = tokio::task::spawn_blocking(move || read_blocks(&path, block_size, &tx));
        let chunks = futures::stream::unfold(rx, |mut rx| async { rx.recv().await.map(|c| (c, rx)) });
        let sent: Result<Vec<(usize, Vec<u8>, u64)>, StorageError> = chunks
            .map(|(index, data)| {
                let id = format!("{index:06}-{generation}").into_bytes();
                self.put_block(name, id, index, data, &staged, progress)
            })
            .buffer_unordered(options.parallel.max(1))
            .try_collect()
            .await;
        // A failed block first: the reader then stopped early and saw only part of the file.
        let mut blocks = sent?;
        let seen = match reader.await {
            Ok(r) => r?,
            Err(e) => return Err(io_error(&file.path, std::io::Error::other(e.to_string()))),
        };
        check(file, &seen)?;
        blocks.sort_by_key(|(index, _, _)| *index);
        let bytes = blocks.iter().map(|(_, _, sent)| sent).sum();
        let ids: Vec<Vec<u8>> = blocks.into_iter().map(|(_, id, _)| id).collect();
        self.commit_blocks(name, &ids, Some(&file.sha256)).await?;
        Ok(bytes)
    }

    /// Stages one block unless an earlier attempt did: (index, id, bytes sent).
    async fn put_block(
        &self,
        name: &str,
        id: Vec<u8>,
        index: usize,
        data: Bytes,
        staged: &HashMap<Vec<u8>, u64>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<(usize, Vec<u8>, u64), StorageError> {
        let len = data.len() as u64;
        if staged.get(&id) == Some(&len) {
            progress(Progress::Skipped(len));
            return Ok((index, id, 0));
        }
        // MD5 on a worker thread: storage checks each block against it (Content-MD5).
        let (md5, data) = blocking(move || Ok((md5::Md5::digest(&data).to_vec(), data))).await?;
        self.stage_block(name, &id, data, &md5).await?;
        progress(Progress::Sent(len));
        Ok((index, id, len))
    }
}

/// What reading a file found: its size and SHA-256 (hex).
struct Seen {
    size: u64,
    sha256: String,
}

fn check(file: &LocalFile, seen: &Seen) -> Result<(), StorageError> {
    let detail = if seen.size != file.size {
        format!("it had {} bytes when hashed and has {} now", file.size, seen.size)
    } else if seen.sha256 != file.sha256 {
        "its content differs from when it was hashed".to_string()
    } else {
        return Ok(());
    };
    Err(StorageError::Changed {
        path: file.path.clone(),
        detail,
    })
}

/// What this version of the file is, for block ids: 32 hex digits of the SHA-256 of its hash,
/// size, modification time (ns) and the block size. Every id of a blob has the same length
/// (`{index:06}-` and these), as storage requires.
fn generation(file: &LocalFile, block_size: u64) -> String {
    let modified = std::fs::metadata(&file.path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), |d| d.as_nanos().to_string());
    let text = format!("{}:{}:{modified}:{block_size}", file.sha256, file.size);
    hex(&Sha256::digest(text.as_bytes()))[..32].to_string()
}

pub(super) fn io_error(path: &Path, error: std::io::Error) -> StorageError {
    StorageError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Runs `f` on a blocking thread.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(StorageError::Transport(format!("a worker thread failed: {e}"))))
}

fn read_whole(path: &PathBuf) -> Result<(Bytes, Seen), StorageError> {
    let data = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let seen = Seen {
        size: data.len() as u64,
        sha256: hex(&Sha256::digest(&data)),
    };
    Ok((Bytes::from(data), seen))
}

/// Reads `path` in blocks of `block_size`, hashing it whole, and hands each block on; stops
/// early when the receiver is gone (an upload failed).
fn read_blocks(
    path: &Path,
    block_size: u64,
    tx: &tokio::sync::mpsc::Sender<(usize, Bytes)>,
) -> Result<Seen, StorageError> {
    let mut file = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    for index in 0.. {
        let mut buf = Vec::with_capacity(block_size as usize);
        let n = (&mut file)
            .take(block_size)
            .read_to_end(&mut buf)
            .map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf);
        size += n as u64;
        if tx.blocking_send((index, Bytes::from(buf))).is_err() {
            break;
        }
    }
    Ok(Seen {
        size,
        sha256: hex(&hasher.finalize()),
    })
}
