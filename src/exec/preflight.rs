//! What both backends refuse before a run starts.

use super::error::RunError;
use crate::plan::Plan;
use std::collections::HashMap;

/// Refuses a plan whose secrets are not all in the environment.
pub fn secrets_set(plan: &Plan, env: &HashMap<String, String>) -> Result<(), RunError> {
    let json = serde_json::to_string(plan).unwrap_or_default();
    let missing: Vec<&str> = crate::secrets::names(&json)
        .into_iter()
        .filter(|n| !env.contains_key(*n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(RunError::Refused(format!(
        "the workflow reads secrets that are not set: {}; set them as environment variables before `batchflow run`",
        missing.join(", ")
    )))
}
