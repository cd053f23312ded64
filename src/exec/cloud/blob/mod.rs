//! Azure Blob Storage for data staging, on the official `azure_storage_blob` and
//! `azure_storage_sas` crates; written here is only what they lack: SharedKey request signing
//! (`shared_key.rs`) and service SAS (`sas.rs`).
//!
//! ```text
//! let account = StorageAccount::from_env(&env)?          // Option: None when nothing is set
//! let container = account.container("batchflow");
//! container.ensure().await?;                             // created when missing
//! let files = hash_files(&paths).await?;                 // size + SHA-256, on blocking threads
//! let up = upload_files(&container, &files, &UploadOptions::default(), &|p| bar.inc(…)).await?;
//! // up.blobs[i] == "cas/<sha256 of files[i]>"; unchanged files are never sent twice
//! let (files, up) = upload_paths(&container, &paths, &UploadOptions::default(), &|p| …).await?;
//! // the same, hashing as it goes (each small file read once)
//! let signer = account.sas_signer(expiry).await?;        // key: service SAS; Entra: delegation
//! let url = signer.blob_sas("batchflow", "cas/…", expiry)?.on(&container.blob_url("cas/…"));
//! container.download_blob("runs/…/out.txt", dest, &|_| {}).await?;   // atomic
//! container.download_prefix("runs/RUN/JOB/TASK/", dest_dir, &|_| {}).await?;
//! ```
//!
//! Every request is retried on 408, 429, 5xx (`ServerBusy`), timeouts and dropped
//! connections with the Batch client's [`RetryPolicy`](crate::exec::cloud::retry::RetryPolicy);
//! errors are [`StorageError`](crate::exec::error::StorageError) (a 403 names the missing role
//! or credential); no key, token or SAS ever appears in a message or in `Debug` output.

mod account;
mod client;
mod download;
mod fault;
mod get;
mod hash;
mod policy;
mod put;
mod sas;
mod shared_key;
mod upload;
mod upload_paths;

pub use account::{StorageAccount, STORAGE_SCOPE};
pub use client::{BlobInfo, Container, SHA256_METADATA};
pub use hash::{hash_file, hash_files, hex, LocalFile};
pub use put::{BlockOptions, Progress};
pub use sas::{Sas, SasSigner, MAX_DELEGATION};
pub use upload::{upload_files, UploadOptions, Uploaded};
pub use upload_paths::upload_paths;
