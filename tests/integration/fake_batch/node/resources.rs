//! Resource files, fetched as a Batch node fetches them (`ResourceFile`, BatchService.json):
//! - `httpUrl`: "the filePath is required and describes the path which the file will be
//!   downloaded to, including the filename";
//! - `storageContainerUrl` (+ `blobPrefix`): the container is listed with the URL's SAS ("This
//!   URL must be readable and listable from compute nodes") and every blob whose name starts
//!   with the prefix is downloaded to `filePath/` + its full name: "any directory structure
//!   already associated with the input data will be retained in full and appended to the
//!   specified filePath directory";
//! - `filePath` "cannot break out of the Task's working directory (for example by using '..')";
//! - `fileMode` (octal, Linux) defaults to 0770.
//!
//! Failure codes (`TaskFailureInformationCodes`): `BlobAccessDenied` ("Access was denied when
//! trying to download a resource file"), `BlobNotFound` ("A resource file required for the task
//! does not exist"), `BlobDownloadMiscError`, `ResourceContainerAccessDenied` ("Access to the
//! Azure Storage resource file Container was denied"), `ResourceContainerListMiscError`,
//! `ResourceDirectoryCreateFailed`, `ResourceFileCreateFailed`, `ResourceFileWriteFailed`.
//! Messages name URLs without their query, so no SAS reaches a task's `failureInfo`.

use super::{blob_url, failure, inside, split_query, TaskFailure, STORAGE_VERSION};
use serde_json::Value;
use std::path::Path;

pub async fn download_all(http: &reqwest::Client, files: &Value, wd: &Path) -> Result<(), TaskFailure> {
    for f in files.as_array().into_iter().flatten() {
        download(http, f, wd).await?;
    }
    Ok(())
}

async fn download(http: &reqwest::Client, f: &Value, wd: &Path) -> Result<(), TaskFailure> {
    let mode = file_mode(f)?;
    let outside = |p: &str| {
        failure(
            "ResourceFileCreateFailed",
            format!("The resource file path `{p}` is not a relative path inside the task's working directory."),
        )
    };
    if let Some(url) = f["httpUrl"].as_str() {
        let path = f["filePath"].as_str().unwrap_or("");
        let dest = inside(wd, path).ok_or_else(|| outside(path))?;
        return fetch(http, url, &dest, mode).await;
    }
    if let Some(container) = f["storageContainerUrl"].as_str() {
        let dir = match f["filePath"].as_str() {
            None | Some("") => wd.to_path_buf(),
            Some(p) => inside(wd, p).ok_or_else(|| outside(p))?,
        };
        let prefix = f["blobPrefix"].as_str().unwrap_or("");
        for name in list(http, container, prefix).await? {
            let dest = inside(&dir, &name).ok_or_else(|| outside(&name))?;
            fetch(http, &blob_url(container, &name), &dest, mode).await?;
        }
        return Ok(());
    }
    Err(failure(
        "ResourceContainerListMiscError",
        "autoStorageContainerName needs the Batch account's auto-storage account, which the fake Batch service does not have.",
    ))
}

fn file_mode(f: &Value) -> Result<u32, TaskFailure> {
    match f["fileMode"].as_str() {
        None => Ok(0o770),
        Some(m) => u32::from_str_radix(m, 8).map_err(|_| {
            failure(
                "ResourceFileCreateFailed",
                format!("The fileMode `{m}` is not an octal file mode."),
            )
        }),
    }
}

/// GETs `url` into `dest` (parents made, mode set).
async fn fetch(http: &reqwest::Client, url: &str, dest: &Path, mode: u32) -> Result<(), TaskFailure> {
    let shown = split_query(url).0;
    let resp = http
        .get(url)
        .header("x-ms-version", STORAGE_VERSION)
        .send()
        .await
        .map_err(|e| failure("BlobDownloadMiscError", format!("GET {shown}: {}", without_query(e))))?;
    let status = resp.status().as_u16();
    if status != 200 {
        let code = match status {
            403 => "BlobAccessDenied",
            404 => "BlobNotFound",
            _ => "BlobDownloadMiscError",
        };
        return Err(failure(code, format!("GET {shown}: {}", storage_error(&resp))));
    }
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| failure("BlobDownloadMiscError", format!("GET {shown}: {}", without_query(e))))?;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| failure("ResourceDirectoryCreateFailed", format!("{}: {e}", parent.display())))?;
    }
    std::fs::write(dest, &bytes).map_err(|e| failure("ResourceFileWriteFailed", format!("{}: {e}", dest.display())))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dest, std::fs::Permissions::from_mode(mode))
        .map_err(|e| failure("ResourceFileCreateFailed", format!("{}: {e}", dest.display())))
}

/// The names of the container's blobs that start with `prefix` (List Blobs, every page),
/// folder placeholders (names ending in `/`) left out.
async fn list(http: &reqwest::Client, container: &str, prefix: &str) -> Result<Vec<String>, TaskFailure> {
    let (base, query) = split_query(container);
    let mut names = Vec::new();
    let mut marker = String::new();
    loop {
        let mut url = format!("{base}?");
        if !query.is_empty() {
            url.push_str(query);
            url.push('&');
        }
        url.push_str("restype=container&comp=list&prefix=");
        url.push_str(&super::super::odata::encode(prefix));
        if !marker.is_empty() {
            url.push_str("&marker=");
            url.push_str(&super::super::odata::encode(&marker));
        }
        let listing = |e: String| failure("ResourceContainerListMiscError", format!("list {base}: {e}"));
        let resp = http
            .get(&url)
            .header("x-ms-version", STORAGE_VERSION)
            .send()
            .await
            .map_err(|e| listing(without_query(e)))?;
        let status = resp.status().as_u16();
        if status != 200 {
            let text = storage_error(&resp);
            return Err(if status == 403 {
                failure("ResourceContainerAccessDenied", format!("list {base}: {text}"))
            } else {
                listing(text)
            });
        }
        let xml = resp.text().await.map_err(|e| listing(without_query(e)))?;
        names.extend(elements(&xml, "Name").into_iter().filter(|n| !n.ends_with('/')));
        marker = elements(&xml, "NextMarker").into_iter().next().unwrap_or_default();
        if marker.is_empty() {
            return Ok(names);
        }
    }
}

/// The texts of every `<tag>…</tag>` of `xml`, entities decoded (`<tag />` has none).
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        let Some(end) = after.find(&close) else {
            break;
        };
        out.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `403 AuthorizationFailure` and the like: the status and storage's `x-ms-error-code`.
pub fn storage_error(resp: &reqwest::Response) -> String {
    let code = resp
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    format!("{} {code}", resp.status().as_u16()).trim_end().to_string()
}

/// A transport error's text without the URL (it would carry the SAS).
pub fn without_query(e: reqwest::Error) -> String {
    e.without_url().to_string()
}
