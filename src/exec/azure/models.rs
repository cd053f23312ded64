//! The parts of Batch's replies the backend reads (serde, wire names). Fields it does not
//! need are left out; serde ignores them.

use crate::plan::batch_api::{ImageReference, MetadataItem};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudPool {
    pub id: String,
    /// RFC 3339.
    pub creation_time: Option<String>,
    pub vm_size: Option<String>,
    pub virtual_machine_configuration: Option<VmConfiguration>,
    pub allocation_state: Option<String>,
    pub state: Option<String>,
    pub current_dedicated_nodes: u32,
    pub current_low_priority_nodes: u32,
    pub target_dedicated_nodes: u32,
    pub target_low_priority_nodes: u32,
    pub enable_auto_scale: Option<bool>,
    pub auto_scale_formula: Option<String>,
    pub resize_errors: Vec<ResizeError>,
    /// Who made the pool (see `plan::identity`).
    pub metadata: Vec<MetadataItem>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct VmConfiguration {
    pub image_reference: ImageReference,
    #[serde(rename = "nodeAgentSKUId")]
    pub node_agent_sku_id: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ResizeError {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ComputeNode {
    pub id: String,
    pub state: String,
    pub start_task_info: Option<StartTaskInfo>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct StartTaskInfo {
    pub state: Option<String>,
    pub exit_code: Option<i32>,
    pub result: Option<String>,
    pub failure_info: Option<FailureInfo>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct FailureInfo {
    pub category: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudJob {
    pub id: String,
    pub state: String,
    /// RFC 3339.
    pub creation_time: Option<String>,
    pub execution_info: Option<JobExecutionInfo>,
    /// Which run made the job (see `plan::identity`).
    pub metadata: Vec<MetadataItem>,
    pub pool_info: PoolInfo,
}

/// The pool a job runs on (empty when not asked for).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct PoolInfo {
    pub pool_id: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct JobExecutionInfo {
    pub terminate_reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudTask {
    pub id: String,
    pub state: String,
    pub execution_info: Option<TaskExecutionInfo>,
    pub depends_on: Option<crate::plan::batch_api::TaskDependencies>,
}

impl CloudTask {
    /// The ids this task waits on, ranges spelled out.
    pub fn dependency_ids(&self) -> Vec<String> {
        let Some(d) = &self.depends_on else { return Vec::new() };
        let mut ids = d.task_ids.clone();
        for r in &d.task_id_ranges {
            // Bounded: a range comes from the service, not from us (the plan never writes one).
            ids.extend((r.start..=r.end.min(r.start.saturating_add(100_000))).map(|n| n.to_string()));
        }
        ids
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskExecutionInfo {
    pub exit_code: Option<i32>,
    pub result: Option<String>,
    pub retry_count: u32,
    pub failure_info: Option<FailureInfo>,
    /// RFC 3339; of the latest attempt.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

impl TaskExecutionInfo {
    /// How long the latest attempt ran, once it has ended.
    pub fn duration(&self) -> Option<std::time::Duration> {
        let parse = |t: &Option<String>| azure_core::time::parse_rfc3339(t.as_deref()?).ok();
        let took = parse(&self.end_time)? - parse(&self.start_time)?;
        std::time::Duration::try_from(took).ok()
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskCountsResult {
    pub task_counts: TaskCounts,
}

#[derive(Debug, Clone, Copy, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskCounts {
    pub active: u64,
    pub running: u64,
    pub completed: u64,
    pub succeeded: u64,
    pub failed: u64,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct TaskAddCollectionResult {
    pub value: Vec<TaskAddResult>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskAddResult {
    pub status: String,
    pub task_id: String,
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ErrorBody {
    pub code: String,
    pub message: Option<ErrorText>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ErrorText {
    pub value: String,
}

impl ErrorBody {
    pub fn text(&self) -> String {
        let msg = self
            .message
            .as_ref()
            .map(|m| m.value.lines().next().unwrap_or(""))
            .unwrap_or("");
        format!("{}: {msg}", self.code)
    }
}

/// A page of a list: `value` and maybe `odata.nextLink`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    #[serde(rename = "odata.nextLink", default)]
    pub next_link: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tasks_duration_is_from_its_start_to_its_end() {
        let info: TaskExecutionInfo = serde_json::from_str(
            r#"{"startTime":"2026-11-23T10:00:00.5Z","endTime":"2026-11-23T10:01:02.75Z","retryCount":1,"exitCode":0}"#,
        )
        .expect("executionInfo");
        assert_eq!(info.duration(), Some(std::time::Duration::from_millis(62_250)));
        let running: TaskExecutionInfo =
            serde_json::from_str(r#"{"startTime":"2026-11-23T10:00:00Z","retryCount":0}"#).expect("executionInfo");
        assert_eq!(running.duration(), None);
        let garbled: TaskExecutionInfo =
            serde_json::from_str(r#"{"startTime":"yesterday","endTime":"2026-11-23T10:00:00Z"}"#)
                .expect("executionInfo");
        assert_eq!(garbled.duration(), None);
    }
}
