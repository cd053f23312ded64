//! A unit's `resourceFiles`, downloaded into its working directory before it starts, as the
//! Batch node agent does: each `httpUrl` to its `filePath`, streamed to disk.
//!
//! Repository files and `az://` blobs (placeholders in the plan) are staging's
//! ([`LocalFiles`]). A whole container by URL (`storageContainerUrl`) is refused before a local
//! run starts (see [`container_inputs`]): listing it needs credentials a URL does not carry.

use crate::exec::error::RunError;
use crate::exec::stage::LocalFiles;
use crate::plan::batch_api::ResourceFile;
use std::io::Write;
use std::path::Path;

/// Downloads `files` into `wd`; `reveal` fills in secrets (a SAS token in a URL). Errors name
/// the file and the URL without its query, which may hold a secret.
pub fn fetch(
    files: &[ResourceFile],
    wd: &Path,
    reveal: impl Fn(&str) -> Result<String, RunError>,
    staged: Option<&LocalFiles>,
) -> Result<(), RunError> {
    let mut wanted: Vec<(&ResourceFile, &str)> = Vec::new();
    for f in files {
        // Repository and `az://` inputs (placeholders in the plan) are staging's to bring.
        if let Some(staged) = staged {
            if staged.input(f, wd)? {
                continue;
            }
        }
        if let Some(u) = f.http_url.as_deref() {
            wanted.push((f, u));
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::io("cannot start the downloads", e))?;
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| RunError::Launch(format!("cannot start the downloads: {e}")))?;
    for (file, url) in wanted {
        let shown = without_query(url);
        let what = format!("input `{}` from {shown}", file.file_path);
        let url = reveal(url)?;
        let target = wd.join(&file.file_path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| RunError::io(format!("{what}: cannot create {}", parent.display()), e))?;
        }
        rt.block_on(download(&client, &url, &target))
            .map_err(|e| RunError::Launch(format!("cannot download {what}: {e}")))?;
    }
    Ok(())
}

/// The reason a download failed, without the URL's query (a SAS token).
async fn download(client: &reqwest::Client, url: &str, target: &Path) -> Result<(), Failed> {
    let mut reply = client
        .get(url)
        .send()
        .await
        .map_err(|e| Failed(without_query(&e.to_string())))?;
    let status = reply.status();
    if !status.is_success() {
        return Err(Failed(format!("HTTP {}", status.as_u16())));
    }
    let mut out =
        std::fs::File::create(target).map_err(|e| Failed(format!("cannot create {}: {e}", target.display())))?;
    while let Some(chunk) = reply.chunk().await.map_err(|e| Failed(without_query(&e.to_string())))? {
        out.write_all(&chunk)
            .map_err(|e| Failed(format!("cannot write {}: {e}", target.display())))?;
    }
    Ok(())
}

/// Why a download failed, with no secret in it.
struct Failed(String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The URL up to its `?`: a SAS token is a secret.
fn without_query(text: &str) -> String {
    match text.split_once('?') {
        Some((before, after)) => {
            // Keep what follows the URL in an error message (after the next space).
            let rest = after.split_once(' ').map_or("", |(_, r)| r);
            if rest.is_empty() {
                format!("{before}?…")
            } else {
                format!("{before}?… {rest}")
            }
        }
        None => text.to_string(),
    }
}

/// The resource files that name a whole container by URL: what a local run cannot fetch
/// (an `az://` prefix, which staging lists with the storage account's credentials, can be).
pub fn container_inputs(files: &[ResourceFile]) -> impl Iterator<Item = &ResourceFile> {
    files.iter().filter(|f| {
        f.storage_container_url
            .as_deref()
            .is_some_and(|u| !u.starts_with("<container:"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_hidden_in_messages() {
        assert_eq!(
            without_query("https://a.blob.core.windows.net/c/x.csv?sv=1&sig=SECRET"),
            "https://a.blob.core.windows.net/c/x.csv?…"
        );
        assert_eq!(
            without_query("error sending request for url (http://h/x?sig=S) connection refused"),
            "error sending request for url (http://h/x?… connection refused"
        );
        assert_eq!(without_query("http://h/x"), "http://h/x");
    }

    #[test]
    fn nothing_to_fetch_needs_no_network() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = [ResourceFile {
            http_url: None,
            storage_container_url: Some("https://a.blob.core.windows.net/c".into()),
            blob_prefix: None,
            file_path: "data".into(),
        }];
        assert!(fetch(&files, dir.path(), |s| Ok(s.to_string()), None).is_ok());
        assert_eq!(container_inputs(&files).count(), 1);
    }
}
