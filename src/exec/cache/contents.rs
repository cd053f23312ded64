//! What a plan's inputs hold right now, for the task keys: each repository file's SHA-256
//! (read once, however many tasks name it) and each `az://` input's blobs as listed (name,
//! size, ETag), one listing per input.

use super::registry::Login;
use crate::exec::cloud::blob::{hash_file, hash_files, hex, Container, StorageAccount};
use crate::exec::error::StorageError;
use crate::plan::cache_key::{self, BlobInput, Contents};
use crate::plan::task_graph::TaskGraph;
use crate::plan::Plan;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The contents the task keys are made of.
#[derive(Default)]
pub struct Found {
    files: HashMap<String, String>,
    blobs: HashMap<BlobInput, String>,
    images: HashMap<String, String>,
}

impl Contents for Found {
    fn image(&self, name: &str) -> Option<String> {
        self.images.get(name).cloned()
    }

    fn file(&self, path: &str) -> Option<String> {
        self.files.get(path).cloned()
    }

    fn blobs(&self, container: &str, prefix: &str, exact: bool) -> Option<String> {
        self.blobs
            .get(&BlobInput {
                container: container.to_string(),
                prefix: prefix.to_string(),
                exact,
            })
            .cloned()
    }
}

/// Hashes the plan's repository files; a file that cannot be read is left out (its tasks
/// are not reused).
pub async fn files(plan: &Plan, repo: &Path) -> HashMap<String, String> {
    let paths: Vec<PathBuf> = plan.staging.uploads.iter().map(|u| repo.join(&u.path)).collect();
    let hashed = match hash_files(&paths).await {
        Ok(all) => all.into_iter().map(Ok).collect(),
        // One unreadable file stops the fast path: each is tried on its own.
        Err(_) => paths.iter().map(|p| hash_file(p)).collect::<Vec<_>>(),
    };
    plan.staging
        .uploads
        .iter()
        .zip(hashed)
        .filter_map(|(u, h)| h.ok().map(|f| (u.path.clone(), f.sha256)))
        .collect()
}

/// Lists the `az://` inputs no task of the plan writes.
pub async fn blobs(
    plan: &Plan,
    graph: &TaskGraph,
    account: Option<&StorageAccount>,
) -> Result<HashMap<BlobInput, String>, StorageError> {
    let mut out = HashMap::new();
    let inputs = cache_key::blob_inputs(plan, graph);
    let Some(account) = account.filter(|_| !inputs.is_empty()) else {
        return Ok(out);
    };
    let mut containers: HashMap<String, Container> = HashMap::new();
    for input in inputs {
        let c = containers
            .entry(input.container.clone())
            .or_insert_with(|| account.container(&input.container));
        let listed = c.list(&input.prefix).await?;
        let mut h = Sha256::new();
        for b in listed.iter().filter(|b| !input.exact || b.name == input.prefix) {
            h.update(format!(
                "{}\t{}\t{}\t{}\n",
                b.name,
                b.size,
                b.etag.as_deref().unwrap_or(""),
                b.sha256.as_deref().unwrap_or("")
            ));
        }
        let digest = hex(&h.finalize());
        out.insert(input, digest);
    }
    Ok(out)
}

impl Found {
    pub fn new(files: HashMap<String, String>, blobs: HashMap<BlobInput, String>) -> Found {
        Found {
            files,
            blobs,
            images: HashMap::new(),
        }
    }

    /// The registries' digests of the plan's images.
    pub fn with_images(mut self, images: HashMap<String, String>) -> Found {
        self.images = images;
        self
    }
}

/// Set to `off` (air-gapped machines, tests), registries are not asked: images count by name.
pub const REGISTRY_SWITCH: &str = "BATCHFLOW_REGISTRY_DIGESTS";

/// Asks the registries for the digests of the images the keys want, with the plan's registry
/// logins (passwords given as `secret()` read from the environment); notes for the images
/// left out.
pub async fn images(
    plan: &Plan,
    graph: &TaskGraph,
    env: &HashMap<String, String>,
) -> (HashMap<String, String>, Vec<String>) {
    let wanted = cache_key::images(plan, graph);
    if wanted.is_empty() || env.get(REGISTRY_SWITCH).is_some_and(|v| v == "off" || v == "0") {
        return (HashMap::new(), Vec::new());
    }
    let http = match reqwest::Client::builder().build() {
        Ok(c) => c,
        Err(e) => {
            return (
                HashMap::new(),
                vec![format!("cannot ask container registries for digests: {e}")],
            )
        }
    };
    let logins = logins(plan, env);
    super::registry::digests(&wanted, &logins, &http).await
}

/// Every registry login the plan's bodies hold (pools' `containerRegistries`, tasks'
/// `containerSettings.registry`), passwords revealed; a login whose secret is not set is left out.
fn logins(plan: &Plan, env: &HashMap<String, String>) -> Vec<Login> {
    let mut out = Vec::new();
    for step in &plan.steps {
        if let crate::plan::Action::Request { body, .. } = &step.action {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(body.get()) {
                collect_logins(&v, env, &mut out);
            }
        }
    }
    out
}

fn collect_logins(v: &serde_json::Value, env: &HashMap<String, String>, out: &mut Vec<Login>) {
    match v {
        serde_json::Value::Object(o) => {
            let field = |k: &str| o.get(k).and_then(serde_json::Value::as_str);
            if let (Some(server), Some(username), Some(password)) =
                (field("registryServer"), field("username"), field("password"))
            {
                if let Ok(password) = crate::secrets::reveal(password, env, crate::secrets::Escape::Plain) {
                    out.push(Login {
                        server: server.to_string(),
                        username: username.to_string(),
                        password,
                    });
                }
            }
            for child in o.values() {
                collect_logins(child, env, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|c| collect_logins(c, env, out)),
        _ => {}
    }
}
