//! A container of the account, with the blob operations staging needs, on the official
//! `azure_storage_blob` clients. Every operation is retried by [`with_retry`] (the crates' own
//! retry is off, so one policy and one error type serve the Batch and the storage clients).

use super::account::StorageAccount;
use super::fault::{with_retry, Fault};
use super::policy::AuthPolicy;
use crate::exec::error::StorageError;
use azure_core::http::{ClientOptions, RequestContent, Response, RetryOptions, StatusCode, Transport, XmlFormat};
use azure_core::Bytes;
use azure_storage_blob::models::{
    BlobClientDownloadOptions, BlobContainerClientListBlobsOptions, BlockBlobClientCommitBlockListOptions,
    BlockBlobClientStageBlockOptions, BlockBlobClientUploadOptions, BlockListType, BlockLookupList,
    ListBlobsIncludeItem,
};
use azure_storage_blob::{BlobClient, BlobClientOptions, BlobContainerClient, BlobContainerClientOptions};
use futures::StreamExt;
use reqwest::Url;
use std::collections::HashMap;
use std::num::NonZero;
use std::sync::Arc;

/// The metadata entry holding a blob's SHA-256 (hex), set on content-addressed uploads.
pub const SHA256_METADATA: &str = "sha256";

/// A blob as listed or probed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    /// The full blob name in the container.
    pub name: String,
    pub size: u64,
    /// The `sha256` metadata, when the blob has one.
    pub sha256: Option<String>,
    /// The blob's ETag as listed: it changes whenever the blob is written.
    pub etag: Option<String>,
}

/// One container of a [`StorageAccount`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Container {
    account: StorageAccount,
    name: String,
    options: ClientOptions,
}

impl StorageAccount {
    /// The container `name` (not created: see [`Container::ensure`]).
    pub fn container(&self, name: &str) -> Container {
        Container {
            account: self.clone(),
            name: name.to_string(),
            options: self.client_options(),
        }
    }

    /// The storage crates' pipeline: our authorization step, our HTTP client, no crate retry.
    pub(super) fn client_options(&self) -> ClientOptions {
        let policy = AuthPolicy {
            account: self.name.clone(),
            auth: self.auth.clone(),
        };
        ClientOptions {
            per_try_policies: vec![Arc::new(policy)],
            retry: RetryOptions::none(),
            transport: Some(Transport::new(Arc::new(self.http.clone()))),
            ..Default::default()
        }
    }
}

impl Container {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn account(&self) -> &StorageAccount {
        &self.account
    }

    /// The container's URL (no SAS).
    pub fn url(&self) -> Url {
        self.account.container_url(&self.name)
    }

    /// Blob `name`'s URL (no SAS).
    pub fn blob_url(&self, name: &str) -> Url {
        self.account.blob_url(&self.name, name)
    }

    pub(super) fn fault(&self, e: azure_core::Error) -> Fault {
        Fault::of(e, &self.account.name, self.account.via())
    }

    fn blob(&self, name: &str) -> Result<BlobClient, Fault> {
        let options = BlobClientOptions {
            client_options: self.options.clone(),
            ..Default::default()
        };
        BlobClient::new(self.blob_url(name), None, Some(options)).map_err(|e| self.fault(e))
    }

    fn client(&self) -> Result<BlobContainerClient, Fault> {
        let options = BlobContainerClientOptions {
            client_options: self.options.clone(),
            ..Default::default()
        };
        BlobContainerClient::new(self.url(), None, Some(options)).map_err(|e| self.fault(e))
    }

    /// Creates the container unless it exists.
    pub async fn ensure(&self) -> Result<(), StorageError> {
        with_retry(&self.account.retry, || async {
            match self.client()?.create(None).await {
                Ok(_) => Ok(()),
                Err(e) if e.http_status() == Some(StatusCode::Conflict) => Ok(()),
                Err(e) => Err(self.fault(e)),
            }
        })
        .await
    }

    /// Blob `name`'s size and hash metadata; `None` when there is no such blob (or container).
    pub async fn properties(&self, name: &str) -> Result<Option<BlobInfo>, StorageError> {
        use azure_storage_blob::models::BlobClientGetPropertiesResultHeaders;
        with_retry(&self.account.retry, || async {
            match self.blob(name)?.get_properties(None).await {
                Ok(r) => Ok(Some(BlobInfo {
                    name: name.to_string(),
                    size: r.content_length().ok().flatten().unwrap_or(0),
                    sha256: r.metadata().ok().and_then(|mut m| m.remove(SHA256_METADATA)),
                    etag: r.etag().ok().flatten().map(|e| e.to_string()),
                })),
                Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(None),
                Err(e) => Err(self.fault(e)),
            }
        })
        .await
    }

    /// Every blob whose name starts with `prefix`, in name order, with sizes and hashes.
    pub async fn list(&self, prefix: &str) -> Result<Vec<BlobInfo>, StorageError> {
        Ok(self.list_up_to(prefix, usize::MAX).await?.unwrap_or_default())
    }

    /// As [`Container::list`], or `None` as soon as more than `limit` blobs are seen.
    pub(super) async fn list_up_to(&self, prefix: &str, limit: usize) -> Result<Option<Vec<BlobInfo>>, StorageError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = with_retry(&self.account.retry, || {
                let marker = marker.clone();
                async move {
                    let options = BlobContainerClientListBlobsOptions {
                        prefix: Some(prefix.to_string()),
                        marker,
                        include: Some(vec![ListBlobsIncludeItem::Metadata]),
                        ..Default::default()
                    };
                    let pager = self.client()?.list_blobs(Some(options)).map_err(|e| self.fault(e))?;
                    match pager.into_pages().next().await {
                        Some(Ok(page)) => page.into_model().map(Some).map_err(|e| self.fault(e)),
                        Some(Err(e)) => Err(self.fault(e)),
                        None => Ok(None),
                    }
                }
            })
            .await?;
            let Some(page) = page else { break };
            for item in page.blob_items {
                let Some(name) = item.name else { continue };
                let (size, etag) = item.properties.map_or((0, None), |p| {
                    (p.content_length.unwrap_or(0), p.etag.map(|e| e.to_string()))
                });
                out.push(BlobInfo {
                    name,
                    size,
                    etag,
                    sha256: item
                        .metadata
                        .and_then(|m| m.values)
                        .and_then(|mut v| v.remove(SHA256_METADATA)),
                });
            }
            if out.len() > limit {
                return Ok(None);
            }
            marker = page.next_marker.filter(|m| !m.is_empty());
            if marker.is_none() {
                break;
            }
        }
        Ok(Some(out))
    }

    /// Writes blob `name` in one request (Put Blob), replacing any blob of that name.
    pub async fn put(&self, name: &str, data: Bytes, sha256: Option<&str>) -> Result<(), StorageError> {
        self.put_with(name, data, sha256, None).await
    }

    /// Writes blob `name` (Put Blob) only if it is as the caller last read it: `etag` its
    /// ETag then, `None` when there was no such blob. `Ok(false)`: someone wrote it since
    /// (storage answered 412, or 409 for a blob that appeared): read again and retry.
    pub async fn put_if_unchanged(&self, name: &str, data: Bytes, etag: Option<&str>) -> Result<bool, StorageError> {
        match self.put_with(name, data, None, Some(etag)).await {
            Ok(()) => Ok(true),
            Err(e) if matches!(e.status(), Some(409 | 412)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Put Blob, with its hash in the metadata, and conditional on the blob's ETag when
    /// `expected` is given (`Some(None)`: only if there is no such blob).
    async fn put_with(
        &self,
        name: &str,
        data: Bytes,
        sha256: Option<&str>,
        expected: Option<Option<&str>>,
    ) -> Result<(), StorageError> {
        with_retry(&self.account.retry, || async {
            let (if_match, if_none_match) = match expected {
                None => (None, None),
                Some(Some(etag)) => (Some(etag.into()), None),
                Some(None) => (None, Some("*".into())),
            };
            let options = BlockBlobClientUploadOptions {
                metadata: metadata(sha256),
                partition_size: NonZero::new((data.len() as u64).max(1)),
                parallel: NonZero::new(1),
                if_match,
                if_none_match,
                ..Default::default()
            };
            self.blob(name)?
                .upload(data.clone().into(), Some(options))
                .await
                .map(drop)
                .map_err(|e| self.fault(e))
        })
        .await
    }

    /// Put Block: stages `data` under `id` (uncommitted until [`Container::commit_blocks`]).
    /// `md5` is the block's MD5 (`Content-MD5`): storage checks the block arrived intact.
    pub(super) async fn stage_block(&self, name: &str, id: &[u8], data: Bytes, md5: &[u8]) -> Result<(), StorageError> {
        with_retry(&self.account.retry, || async {
            let options = BlockBlobClientStageBlockOptions {
                transactional_content_md5: Some(md5.to_vec()),
                ..Default::default()
            };
            self.blob(name)?
                .block_blob_client()
                .stage_block(id, data.len() as u64, data.clone().into(), Some(options))
                .await
                .map(drop)
                .map_err(|e| self.fault(e))
        })
        .await
    }

    /// Get Block List (uncommitted): the blocks an earlier, interrupted upload left, by id,
    /// with their sizes. Empty when the blob has none (or does not exist).
    pub(super) async fn uncommitted_blocks(&self, name: &str) -> Result<HashMap<Vec<u8>, u64>, StorageError> {
        with_retry(&self.account.retry, || async {
            match self
                .blob(name)?
                .block_blob_client()
                .get_block_list(BlockListType::Uncommitted, None)
                .await
            {
                Ok(r) => {
                    let list = r.into_model().map_err(|e| self.fault(e))?;
                    Ok(list
                        .uncommitted_blocks
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|b| Some((b.name?, u64::try_from(b.size?).ok()?)))
                        .collect())
                }
                Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(HashMap::new()),
                Err(e) => Err(self.fault(e)),
            }
        })
        .await
    }

    /// Put Block List: the blob becomes these staged blocks, in order.
    pub(super) async fn commit_blocks(
        &self,
        name: &str,
        ids: &[Vec<u8>],
        sha256: Option<&str>,
    ) -> Result<(), StorageError> {
        with_retry(&self.account.retry, || async {
            let list = BlockLookupList {
                latest: Some(ids.to_vec()),
                ..Default::default()
            };
            let body: RequestContent<BlockLookupList, XmlFormat> = list.try_into().map_err(|e| self.fault(e))?;
            let options = BlockBlobClientCommitBlockListOptions {
                metadata: metadata(sha256),
                ..Default::default()
            };
            self.blob(name)?
                .block_blob_client()
                .commit_block_list(body, Some(options))
                .await
                .map(|_: Response<_, _>| ())
                .map_err(|e| self.fault(e))
        })
        .await
    }

    /// Starts reading blob `name`: its body (ranges fetched in parallel by the crate) and its
    /// total size. One attempt: the caller retries the whole transfer.
    pub(super) async fn open(&self, name: &str) -> Result<(azure_core::http::AsyncResponseBody, Option<u64>), Fault> {
        let options = BlobClientDownloadOptions {
            parallel: NonZero::new(4),
            partition_size: NonZero::new(4 << 20),
            ..Default::default()
        };
        let r = self
            .blob(name)?
            .download(Some(options))
            .await
            .map_err(|e| self.fault(e))?;
        let total = r
            .headers
            .get_optional_str(&azure_core::http::headers::HeaderName::from_static("content-range"))
            .and_then(|cr| cr.rsplit('/').next())
            .and_then(|t| t.trim().parse::<u64>().ok())
            .or(r.properties.content_length);
        Ok((r.body, total))
    }

    pub(super) fn retry_policy(&self) -> &crate::exec::cloud::retry::RetryPolicy {
        &self.account.retry
    }
}

fn metadata(sha256: Option<&str>) -> Option<HashMap<String, String>> {
    sha256.map(|h| HashMap::from([(SHA256_METADATA.to_string(), h.to_string())]))
}
