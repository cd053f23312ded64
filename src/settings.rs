//! `batchflow.toml` at the repository root: the Batch target (`[target]`), the storage
//! account (`[storage]`), and the local folders pool mounts stand for in a local run
//! (`[mounts]`); the environment overrides the first two where the Azure CLI's names say so.

use crate::graph::Storage;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

use crate::plan::StorageChoice;
pub use crate::plan::DEFAULT_CONTAINER;

/// `batchflow.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub target: TargetSection,
    #[serde(default)]
    pub storage: StorageSection,
    /// A mount's name -> the folder of this machine a local run mounts there.
    #[serde(default)]
    pub mounts: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    /// `https://ACCOUNT.REGION.batch.azure.com`
    pub endpoint: Option<String>,
    pub account: Option<String>,
    /// `entra` (the credential the environment points at), `managed-identity` or `shared-key`.
    pub auth: Option<String>,
    /// The Batch account's Azure subscription, for Azure Resource Manager (`AZURE_SUBSCRIPTION_ID`
    /// overrides it); needed only when the identity sees several.
    pub subscription: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// The storage account's name.
    pub account: Option<String>,
    /// The container staged files go to (default `batchflow`).
    pub container: Option<String>,
}

/// Reads `batchflow.toml` in `root`, if there is one; the error says which file and why.
pub fn read(root: &Path) -> Result<File, String> {
    let path = root.join("batchflow.toml");
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The workflow's storage: its container (the workflow's `storage` block, else
/// `[storage]` in `batchflow.toml`, else `batchflow`), and whether and which account is
/// configured: named by either, or given by the environment (`AZURE_STORAGE_CONNECTION_STRING`,
/// `AZURE_STORAGE_ACCOUNT`).
pub fn storage(workflow: Option<&Storage>, file: &StorageSection, env: &BTreeMap<String, String>) -> StorageChoice {
    let set = |k: &str| env.get(k).is_some_and(|v| !v.trim().is_empty());
    let account = workflow
        .and_then(|s| s.account.clone())
        .or_else(|| file.account.clone());
    StorageChoice {
        container: workflow
            .and_then(|s| s.container.clone())
            .or_else(|| file.container.clone())
            .unwrap_or_else(|| DEFAULT_CONTAINER.to_string()),
        configured: account.is_some() || set("AZURE_STORAGE_CONNECTION_STRING") || set("AZURE_STORAGE_ACCOUNT"),
        account,
    }
}
