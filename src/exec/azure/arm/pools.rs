//! Pools through Azure Resource Manager (`…/batchAccounts/{account}/pools/{pool}`): created
//! with `If-None-Match: *` (so an existing pool is reported, never changed), read, deleted.

use super::client::ArmClient;
use super::models::{ArmPool, BATCH_API};
use crate::exec::error::BatchError;
use crate::plan::arm_api::ACCOUNT_PLACEHOLDER;

/// The account the ARM pools go to: a client and the account's ARM id.
#[derive(Clone)]
pub struct ArmAccount {
    pub client: ArmClient,
    /// `/subscriptions/…/resourceGroups/…/providers/Microsoft.Batch/batchAccounts/NAME`
    pub id: String,
}

/// How a create ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Created {
    Created,
    /// A pool of that name exists (409, or 412 for `If-None-Match: *`).
    Exists,
}

impl ArmAccount {
    /// A plan step's path with the account's id in place of its placeholder.
    pub fn resolve(&self, path: &str) -> String {
        path.replace(ACCOUNT_PLACEHOLDER, self.id.trim_end_matches('/'))
    }

    fn pool_path(&self, pool: &str) -> String {
        format!("{}/pools/{pool}", self.id.trim_end_matches('/'))
    }

    pub async fn create(&self, path: &str, body: Vec<u8>) -> Result<Created, BatchError> {
        match self.client.put(&self.resolve(path), BATCH_API, body, true).await {
            Ok(_) => Ok(Created::Created),
            Err(e) if matches!(e.status(), Some(409 | 412)) => Ok(Created::Exists),
            Err(e) => Err(e),
        }
    }

    pub async fn get(&self, pool: &str) -> Result<ArmPool, BatchError> {
        self.client.get(&self.pool_path(pool), BATCH_API).await
    }

    /// Deletes the pool; one that is gone already is fine.
    pub async fn delete(&self, pool: &str) -> Result<(), BatchError> {
        match self.client.delete(&self.pool_path(pool), BATCH_API).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
