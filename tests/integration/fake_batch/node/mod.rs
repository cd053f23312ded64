//! Nodes that really run their tasks, opt-in per fake (`Config::run_tasks`), so that a wrong
//! URL, SAS or path fails a test as it would fail on Batch. For each task the simulation starts
//! on a node, [`run`] does what a Batch node does, in order:
//!
//! 1. lays out the node's and the task's folders as Batch does and builds the task's
//!    environment (`layout.rs`);
//! 2. downloads every `resourceFiles` entry with the URL it was given (`resources.rs`); a
//!    failing download ends the task with a pre-processing failure, the command never runs;
//! 3. runs `commandLine` without a shell, in the working directory, within
//!    `constraints.maxWallClockTime` (`command.rs`);
//! 4. uploads the `outputFiles` whose `uploadCondition` holds through the container URL and SAS
//!    they name (`outputs.rs`); a refused upload fails the task.
//!
//! Failures carry Batch's `TaskFailureInformationCodes` (the Batch .NET SDK's list,
//! `Microsoft.Azure.Batch.Common.TaskFailureInformationCodes`, learn.microsoft.com/dotnet/api/
//! microsoft.azure.batch.common.taskfailureinformationcodes), all of category `usererror`.
//! Batch's `TaskExecutionInformation.retryCount`: "Task application failures (non-zero exit
//! code) are retried, pre-processing errors (the Task could not be run) and file upload errors
//! are not retried" (BatchService.json), so only a plain non-zero exit is retried.
//!
//! Container tasks (`containerSettings`) run their command the same way, on the host, without
//! the container: the fake has no container runtime. The task folder's `fake-node.txt` says so.
//! Start tasks stay simulated.

mod command;
mod layout;
mod outputs;
mod resources;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

pub use layout::task_dir;

/// The storage REST version the nodes send (any version Azurite and Azure Storage accept).
const STORAGE_VERSION: &str = "2025-01-05";

/// A task the simulation started on a node, handed to [`run`].
pub struct Launch {
    /// Indexes of the job and the task in the simulation, and the run number, so a stale
    /// completion (the task was ended or requeued meanwhile) is ignored.
    pub job: usize,
    pub task: usize,
    pub run: u32,
    pub job_id: String,
    pub task_id: String,
    pub pool_id: String,
    pub node_id: String,
    pub dedicated: bool,
    /// The task as added.
    pub body: Value,
    /// The job's `commonEnvironmentSettings`.
    pub job_env: Value,
    /// Set when the simulation ends the run (terminate, delete, node removed): the command is
    /// killed.
    pub cancel: Arc<AtomicBool>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The command's exit code; None when it never ran.
    pub exit_code: Option<i32>,
    /// Batch's `failureInfo` code and message, beyond a non-zero exit.
    pub failure: Option<(&'static str, String)>,
}

/// A failure that ends a task, with Batch's `failureInfo` code.
#[derive(Debug)]
pub struct TaskFailure {
    pub code: &'static str,
    pub message: String,
}

pub fn failure(code: &'static str, message: impl Into<String>) -> TaskFailure {
    TaskFailure {
        code,
        message: message.into(),
    }
}

/// What the nodes share: their folders and an HTTP client for storage.
pub struct Nodes {
    /// Holds every node's root folder, `{root}/{pool}/{node}`; removed with the fake.
    root: tempfile::TempDir,
    http: reqwest::Client,
    account: String,
    account_url: String,
}

impl Nodes {
    /// `ca_pem`: a certificate to trust besides the system's (an HTTPS Azurite's).
    pub fn new(account: &str, account_url: &str, ca_pem: Option<&str>) -> Nodes {
        let mut http = reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(10));
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("the nodes' CA is a PEM certificate");
            http = http.add_root_certificate(cert);
        }
        Nodes {
            root: tempfile::Builder::new()
                .prefix("fake-batch-nodes")
                .tempdir()
                .expect("a temporary folder for the fake's nodes"),
            http: http.build().expect("the nodes' HTTP client"),
            account: account.to_string(),
            account_url: account_url.to_string(),
        }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }
}

/// Runs one task on its node, start to end.
pub async fn run(nodes: &Nodes, l: &Launch) -> Outcome {
    let started = Instant::now();
    let dirs = match layout::prepare(nodes.root(), l) {
        Ok(d) => d,
        Err(e) => return Outcome::failed(None, e),
    };
    let env = layout::environment(nodes, l, &dirs);
    if let Err(e) = resources::download_all(&nodes.http, &l.body["resourceFiles"], &dirs.wd).await {
        return Outcome::failed(None, e);
    }
    let limit = l.body["constraints"]["maxWallClockTime"]
        .as_str()
        .and_then(command::parse_duration)
        .map(|d| started + d);
    let command_line = l.body["commandLine"].as_str().unwrap_or("");
    let ran = command::run(command_line, &dirs, &env, limit, l.cancel.clone()).await;
    let (exit, ended) = match ran {
        Ok(command::Ran::Exited(code)) => (code, None),
        Ok(command::Ran::TimedOut(code)) => (
            code,
            Some(failure(
                "TaskEnded",
                "The task was ended because it exceeded its maxWallClockTime constraint.",
            )),
        ),
        Ok(command::Ran::Cancelled) => return Outcome::failed(None, failure("TaskEnded", "The task was ended.")),
        Err(e) => return Outcome::failed(None, e),
    };
    let uploaded = outputs::upload_all(&nodes.http, &l.body["outputFiles"], exit, &dirs, &env).await;
    match (ended, uploaded) {
        (Some(e), _) | (None, Err(e)) => Outcome::failed(Some(exit), e),
        (None, Ok(())) => Outcome {
            exit_code: Some(exit),
            failure: None,
        },
    }
}

impl Outcome {
    fn failed(exit_code: Option<i32>, e: TaskFailure) -> Outcome {
        Outcome {
            exit_code,
            failure: Some((e.code, e.message)),
        }
    }
}

/// The URL of blob `name` in the container of `container_url` (which may carry a SAS): the
/// name percent-encoded segment by segment, the container URL's query kept.
pub fn blob_url(container_url: &str, name: &str) -> String {
    let (base, query) = split_query(container_url);
    let path: Vec<String> = name.split('/').map(super::odata::encode).collect();
    let mut url = format!("{}/{}", base.trim_end_matches('/'), path.join("/"));
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// (URL without query, query without `?`).
pub fn split_query(url: &str) -> (&str, &str) {
    url.split_once('?').unwrap_or((url, ""))
}

/// `path` relative to `base` when it contains no `..`, no root and is not empty.
pub fn inside(base: &Path, path: &str) -> Option<PathBuf> {
    use std::path::Component;
    let rel = Path::new(path);
    let plain = rel
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    (plain && !path.is_empty()).then(|| base.join(rel))
}
