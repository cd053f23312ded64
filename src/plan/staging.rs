//! Inputs and outputs as Batch takes them, for each form of value: a URL as written; an
//! `az://` path or a repository file as a placeholder the run fills in just before sending
//! (the blob's URL and a SAS: the plan never holds either); outputs that come back into the
//! repository as blobs under the run's prefix, and the deliveries that bring them back.
//!
//! Placeholders (resolved by the run, never sent as they are):
//! - `<repo:PATH>`: the blob holding repository file PATH (uploaded by content);
//! - `<blob:CONTAINER/PATH>`: a blob, with a read SAS;
//! - `<container:CONTAINER>`: a container, with a read and list SAS (a prefix input);
//! - `<outputs:CONTAINER>`: a container, with a create and write SAS (outputs);
//! - `<run>`: the run's id, in output paths.

use super::batch_api::{
    OutputFile, OutputFileBlobContainerDestination, OutputFileDestination, OutputFileUploadOptions, ResourceFile,
    UploadCondition,
};
use crate::graph::{FileMap, Location, UploadWhen};
use crate::repo::{RepoFacts, Shape};
use serde::{Deserialize, Serialize};

/// The storage container when nothing names one.
pub const DEFAULT_CONTAINER: &str = "batchflow";

/// The storage a workflow's staged files go through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageChoice {
    /// The container in the storage account; a local run keeps its repository outputs in its
    /// run folder under the same blob names.
    pub container: String,
    /// Whether a storage account is configured: named by the workflow's `storage` block or
    /// `batchflow.toml`, or given by the environment.
    pub configured: bool,
    /// The account's name when the workflow or `batchflow.toml` names it (the environment's
    /// credentials are used for it); `None`: the environment's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Default for StorageChoice {
    fn default() -> StorageChoice {
        StorageChoice {
            container: DEFAULT_CONTAINER.to_string(),
            configured: false,
            account: None,
        }
    }
}

/// What staging knows while it makes bodies.
#[derive(Clone, Copy)]
pub struct Files<'a> {
    pub repo: &'a RepoFacts,
    pub storage: &'a StorageChoice,
}

/// A repository file the run uploads before anything starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    pub path: String,
    pub size: u64,
}

/// Outputs of one task that come back into the repository when it succeeds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub job: String,
    pub task: String,
    /// The blob (`prefix` false) or virtual folder (`prefix` true) in the workflow's container,
    /// with `<run>` for the run's id.
    pub blob: String,
    pub prefix: bool,
    /// The repository path: a folder (ending in `/`) or a file.
    pub to: String,
    /// When Batch uploads it, and so when it comes back: older plans have none (success).
    #[serde(default = "on_success", skip_serializing_if = "is_on_success")]
    pub when: UploadCondition,
}

fn on_success() -> UploadCondition {
    UploadCondition::TaskSuccess
}

fn is_on_success(c: &UploadCondition) -> bool {
    *c == UploadCondition::TaskSuccess
}

impl Delivery {
    /// Whether a task that ended this way has this output to bring back.
    pub fn after(&self, succeeded: bool) -> bool {
        self.when.applies(succeeded)
    }
}

/// Everything a run moves besides what Batch itself downloads and uploads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staging {
    #[serde(default)]
    pub storage: StorageChoice,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploads: Vec<Upload>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<Delivery>,
}

impl Staging {
    pub fn is_empty(&self) -> bool {
        self.uploads.is_empty() && self.deliveries.is_empty() && self.storage == StorageChoice::default()
    }
}

/// The resource files of `inputs`.
pub fn resource_files(inputs: &[FileMap], files: Files<'_>) -> Vec<ResourceFile> {
    let mut out = Vec::new();
    for f in inputs {
        match &f.location {
            Location::Url => out.push(url_input(f)),
            Location::Blob { container, path } if path.is_empty() || path.ends_with('/') => out.push(ResourceFile {
                http_url: None,
                storage_container_url: Some(format!("<container:{container}>")),
                blob_prefix: (!path.is_empty()).then(|| path.to_string()),
                file_path: f.path.trim_end_matches('/').to_string(),
            }),
            Location::Blob { container, path } => out.push(ResourceFile {
                http_url: Some(format!("<blob:{container}/{path}>")),
                storage_container_url: None,
                blob_prefix: None,
                file_path: into_key(&f.path, path.rsplit('/').next().unwrap_or(path)),
            }),
            Location::Repo => {
                let Some((shape, matched)) = files.repo.files(&f.url) else {
                    continue;
                };
                for m in matched {
                    let file_path = match shape {
                        Shape::File => into_key(&f.path, &m.rel),
                        Shape::Folder | Shape::Glob => format!("{}/{}", f.path.trim_end_matches('/'), m.rel),
                    };
                    out.push(ResourceFile {
                        http_url: Some(format!("<repo:{}>", m.path)),
                        storage_container_url: None,
                        blob_prefix: None,
                        file_path,
                    });
                }
            }
        }
    }
    out
}

/// A key that names a folder (ends in `/`) receives the file under its own name.
fn into_key(key: &str, name: &str) -> String {
    if key.ends_with('/') {
        format!("{key}{name}")
    } else {
        key.to_string()
    }
}

/// `"data/train.csv" = URL` downloads one blob; a URL that names a whole blob container
/// downloads the container (`storageContainerUrl`) into that directory.
fn url_input(f: &FileMap) -> ResourceFile {
    if is_container_url(&f.url) {
        return ResourceFile {
            http_url: None,
            storage_container_url: Some(f.url.to_string()),
            blob_prefix: None,
            file_path: f.path.trim_end_matches('/').to_string(),
        };
    }
    ResourceFile {
        http_url: Some(f.url.to_string()),
        storage_container_url: None,
        blob_prefix: None,
        file_path: into_key(&f.path, blob_name(&f.url)),
    }
}

/// The last path segment of a URL, without its query.
fn blob_name(url: &str) -> &str {
    let path = url.split('?').next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

/// `https://ACCOUNT.blob.core.windows.net/CONTAINER[?sas]`: a container, not a blob.
pub fn is_container_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else {
        return false;
    };
    let before_query = rest.split('?').next().unwrap_or(rest);
    let mut parts = before_query.trim_end_matches('/').split('/');
    let host = parts.next().unwrap_or("");
    host.ends_with(".blob.core.windows.net") && parts.count() == 1
}

/// Whether a Batch file pattern can match several files.
pub fn has_wildcard(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// Where output `index` of a task goes in the workflow's container.
fn run_blob(job: &str, task: &str, index: usize, pattern: &str) -> (String, bool) {
    let dir = format!("runs/<run>/{job}/{task}/{index}");
    if has_wildcard(pattern) {
        (dir, true)
    } else {
        let name = pattern.rsplit('/').next().unwrap_or(pattern);
        (format!("{dir}/{name}"), false)
    }
}

fn condition(when: UploadWhen) -> UploadCondition {
    match when {
        UploadWhen::Success => UploadCondition::TaskSuccess,
        UploadWhen::Failure => UploadCondition::TaskFailure,
        UploadWhen::Always => UploadCondition::TaskCompletion,
    }
}

/// The output files of a task: its `outputs`, then its `stdout.txt` and `stderr.txt` when
/// storage is configured (so logs outlive the pool). Repository outputs go to the run's
/// prefix in the container whether or not storage is configured: a local run keeps them in
/// its run folder, and an azure run without storage is refused before it starts.
pub fn output_files(outputs: &[FileMap], job: &str, task: &str, files: Files<'_>) -> Vec<OutputFile> {
    let mut out = Vec::new();
    for (i, f) in outputs.iter().enumerate() {
        let (container_url, path) = match &f.location {
            Location::Url => (f.url.to_string(), None),
            Location::Blob { container, path } => {
                let path = if has_wildcard(&f.path) {
                    path.trim_end_matches('/').to_string()
                } else {
                    into_key(path, f.path.rsplit('/').next().unwrap_or(&f.path))
                };
                (format!("<outputs:{container}>"), (!path.is_empty()).then_some(path))
            }
            Location::Repo => (
                format!("<outputs:{}>", files.storage.container),
                Some(run_blob(job, task, i, &f.path).0),
            ),
        };
        out.push(OutputFile {
            file_pattern: f.path.to_string(),
            destination: OutputFileDestination {
                container: OutputFileBlobContainerDestination { path, container_url },
            },
            upload_options: OutputFileUploadOptions {
                upload_condition: condition(f.when),
            },
        });
    }
    if files.storage.configured {
        let container = &files.storage.container;
        for log in ["stdout.txt", "stderr.txt"] {
            out.push(OutputFile {
                file_pattern: format!("../{log}"),
                destination: OutputFileDestination {
                    container: OutputFileBlobContainerDestination {
                        path: Some(format!("runs/<run>/{job}/{task}/{log}")),
                        container_url: format!("<outputs:{container}>"),
                    },
                },
                upload_options: OutputFileUploadOptions {
                    upload_condition: UploadCondition::TaskCompletion,
                },
            });
        }
    }
    out
}

/// The deliveries of a task's outputs that go to the repository.
pub fn deliveries(outputs: &[FileMap], job: &str, task: &str) -> Vec<Delivery> {
    outputs
        .iter()
        .enumerate()
        .filter(|(_, f)| f.location == Location::Repo)
        .map(|(i, f)| {
            let (blob, prefix) = run_blob(job, task, i, &f.path);
            Delivery {
                job: job.to_string(),
                task: task.to_string(),
                blob,
                prefix,
                to: f.url.to_string(),
                when: condition(f.when),
            }
        })
        .collect()
}

/// Every repository file the inputs of the workflow stand for, once each, sorted.
pub fn uploads<'a>(inputs: impl IntoIterator<Item = &'a FileMap>, repo: &RepoFacts) -> Vec<Upload> {
    let mut out: Vec<Upload> = inputs
        .into_iter()
        .filter(|f| f.location == Location::Repo)
        .filter_map(|f| repo.files(&f.url))
        .flat_map(|(_, files)| files.iter())
        .map(|m| Upload {
            path: m.path.clone(),
            size: m.size,
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out.dedup();
    out
}

#[cfg(test)]
#[path = "staging_tests.rs"]
mod tests;
