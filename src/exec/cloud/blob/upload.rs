//! The content-addressed upload engine: each local file goes to `cas/<sha256>` unless a blob
//! of that name and size is there already, so an unchanged file is sent once, whatever task,
//! run or repository path it comes from. What is there is learnt from one listing of `cas/`
//! when it is small next to the files (one request instead of one per file), else by
//! probing each blob. Files go in parallel, small ones many at a time and
//! large ones (which are parallel inside, block by block) a few at a time, so memory stays
//! bounded: about `files_in_flight × single_put_max + large_files_in_flight × 2 × parallel
//! blocks × block_size` (64 MiB + 128 MiB by default).

use super::client::Container;
use super::hash::LocalFile;
use super::put::{BlockOptions, Progress};
use crate::exec::error::StorageError;
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap};

/// How many transfers run at once, and how files are cut.
#[derive(Clone, Copy, Debug)]
pub struct UploadOptions {
    /// Files up to [`BlockOptions::single_put_max`] in flight at once.
    pub files_in_flight: usize,
    /// Larger files in flight at once (each with `blocks.parallel` blocks in flight).
    pub large_files_in_flight: usize,
    pub blocks: BlockOptions,
}

impl Default for UploadOptions {
    fn default() -> UploadOptions {
        UploadOptions {
            files_in_flight: 16,
            large_files_in_flight: 1,
            blocks: BlockOptions::default(),
        }
    }
}

/// What [`upload_files`] or [`super::upload_paths`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uploaded {
    /// The blob of each file given, in the same order (`cas/<sha256>`).
    pub blobs: Vec<String>,
    /// Files (distinct contents) sent, and their bytes actually sent.
    pub files_sent: usize,
    pub bytes_sent: u64,
    /// Files storage already had, and the bytes not sent (whole files, and blocks an
    /// interrupted upload had staged).
    pub files_skipped: usize,
    pub bytes_skipped: u64,
}

/// One distinct content to upload.
struct Job<'a> {
    file: &'a LocalFile,
    name: String,
}

/// Uploads `files` (hashed by [`super::hash_file`]) into `container` under `cas/<sha256>`,
/// with each blob's SHA-256 in its `sha256` metadata. Files of the same content are sent once;
/// a file whose blob exists with the same size is not sent at all. `progress` gets every byte
/// of every distinct content once, as [`Progress::Sent`] or [`Progress::Skipped`], so a bar
/// whose length is the sum of the distinct files' sizes ends full.
///
/// The container must exist ([`Container::ensure`]). The first failure stops the whole upload
/// (transfers under way are dropped; what was committed stays and is not sent again next
/// time). Errors: [`StorageError::Changed`] naming a file that is not what it was when hashed,
/// [`StorageError::Io`] for one that cannot be read, and the service's errors.
pub async fn upload_files(
    container: &Container,
    files: &[LocalFile],
    options: &UploadOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Uploaded, StorageError> {
    let mut distinct: BTreeMap<&str, &LocalFile> = BTreeMap::new();
    for f in files {
        distinct.entry(f.sha256.as_str()).or_insert(f);
    }
    let (small, large): (Vec<Job<'_>>, Vec<Job<'_>>) = distinct
        .into_values()
        .map(|file| Job {
            file,
            name: file.cas_name(),
        })
        .partition(|j| j.file.size <= options.blocks.single_put_max);
    let known = known_blobs(container, small.len() + large.len()).await?;
    let (a, b) = futures::future::try_join(
        run(
            container,
            small,
            options.files_in_flight,
            &known,
            &options.blocks,
            progress,
        ),
        run(
            container,
            large,
            options.large_files_in_flight,
            &known,
            &options.blocks,
            progress,
        ),
    )
    .await?;
    let mut total = a;
    total.add(&b);
    total.blobs = files.iter().map(LocalFile::cas_name).collect();
    Ok(total)
}

impl Uploaded {
    pub(super) fn add(&mut self, other: &Uploaded) {
        self.files_sent += other.files_sent;
        self.bytes_sent += other.bytes_sent;
        self.files_skipped += other.files_skipped;
        self.bytes_skipped += other.bytes_skipped;
    }
}

/// The sizes of the blobs under `cas/`, when listing them is cheaper than a probe per file.
pub(super) type Known = Option<HashMap<String, u64>>;

/// One listing page holds 5,000 blobs: list when that is at most one page per 100 files.
pub(super) async fn known_blobs(container: &Container, files: usize) -> Result<Known, StorageError> {
    if files < 16 {
        return Ok(None);
    }
    let limit = 5_000 * files.div_ceil(100);
    Ok(container
        .list_up_to("cas/", limit)
        .await?
        .map(|blobs| blobs.into_iter().map(|b| (b.name, b.size)).collect()))
}

/// `jobs`, `in_flight` at a time, summed.
async fn run(
    container: &Container,
    jobs: Vec<Job<'_>>,
    in_flight: usize,
    known: &Known,
    blocks: &BlockOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Uploaded, StorageError> {
    futures::stream::iter(jobs)
        .map(|job| upload_one(container, job, known, blocks, progress))
        .buffer_unordered(in_flight.max(1))
        .try_fold(Uploaded::default(), |mut total, one| async move {
            total.add(&one);
            Ok(total)
        })
        .await
}

/// One content: sent unless storage has it.
async fn upload_one(
    container: &Container,
    job: Job<'_>,
    known: &Known,
    blocks: &BlockOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<Uploaded, StorageError> {
    let size = job.file.size;
    let there = match known {
        Some(sizes) => sizes.get(&job.name).copied(),
        None => container.properties(&job.name).await?.map(|b| b.size),
    };
    if there == Some(size) {
        progress(Progress::Skipped(size));
        return Ok(Uploaded {
            files_skipped: 1,
            bytes_skipped: size,
            ..Uploaded::default()
        });
    }
    let sent = container.put_file(job.file, &job.name, blocks, progress).await?;
    Ok(Uploaded {
        files_sent: 1,
        bytes_sent: sent,
        bytes_skipped: size - sent.min(size),
        ..Uploaded::default()
    })
}
