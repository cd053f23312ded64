//! The Batch data-plane REST request bodies the planner emits, with the wire's own names.
//! They are valid for api-version 2025-06-01 (the azure-batch SDK 15.1.0 models, where they are
//! `BatchPoolCreateOptions`, `BatchJobCreateOptions`, `BatchTaskGroup`, ...) and for
//! 2024-02-01.19.0 (the swagger's `PoolAddParameter`, ...), whose names these types keep: no
//! field here was renamed or removed between the two (see `api_version.rs`). Optional fields
//! are left out rather than sent as null.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct PoolAddParameter {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub vm_size: String,
    pub virtual_machine_configuration: VirtualMachineConfiguration,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resize_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_dedicated_nodes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_low_priority_nodes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_auto_scale: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scale_formula: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scale_evaluation_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_inter_node_communication: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_task: Option<StartTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_slots_per_node: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_configuration: Vec<MountConfiguration>,
    /// Who made the pool (see [`super::identity`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<MetadataItem>,
}

/// One file system to mount on every node; exactly one field is set.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct MountConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure_blob_file_system_configuration: Option<AzureBlobFileSystemConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfs_mount_configuration: Option<NfsMountConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cifs_mount_configuration: Option<CifsMountConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure_file_share_configuration: Option<AzureFileShareConfiguration>,
}

impl MountConfiguration {
    /// The mount's path below `AZ_BATCH_NODE_MOUNTS_DIR`.
    pub fn relative_mount_path(&self) -> Option<&str> {
        let paths = [
            self.azure_blob_file_system_configuration
                .as_ref()
                .map(|c| &c.relative_mount_path),
            self.nfs_mount_configuration.as_ref().map(|c| &c.relative_mount_path),
            self.cifs_mount_configuration.as_ref().map(|c| &c.relative_mount_path),
            self.azure_file_share_configuration
                .as_ref()
                .map(|c| &c.relative_mount_path),
        ];
        paths.into_iter().flatten().next().map(String::as_str)
    }
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AzureBlobFileSystemConfiguration {
    pub account_name: String,
    pub container_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sas_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blobfuse_options: Option<String>,
    pub relative_mount_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_reference: Option<IdentityReference>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct NfsMountConfiguration {
    pub source: String,
    pub relative_mount_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct CifsMountConfiguration {
    pub username: String,
    pub source: String,
    pub relative_mount_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<String>,
    pub password: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AzureFileShareConfiguration {
    pub account_name: String,
    pub azure_file_url: String,
    pub account_key: String,
    pub relative_mount_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<String>,
}

/// A name-value pair Batch keeps on a pool or job and never interprets.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MetadataItem {
    pub name: String,
    pub value: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineConfiguration {
    pub image_reference: ImageReference,
    /// Capital `SKU` on the wire.
    #[serde(rename = "nodeAgentSKUId")]
    pub node_agent_sku_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_configuration: Option<ContainerConfiguration>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_machine_image_id: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ContainerConfiguration {
    #[serde(rename = "type")]
    pub kind: ContainerType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_image_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_registries: Vec<ContainerRegistry>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRegistry {
    /// Lowercase `username` on the wire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub registry_server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_reference: Option<IdentityReference>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct IdentityReference {
    pub resource_id: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct StartTask {
    pub command_line: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_settings: Option<TaskContainerSettings>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_files: Vec<ResourceFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_settings: Vec<EnvironmentSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<UserIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_task_retry_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for_success: Option<bool>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct TaskContainerSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_run_options: Option<String>,
    pub image_name: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    pub auto_user: AutoUserSpecification,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AutoUserSpecification {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<AutoUserScope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elevation_level: Option<ElevationLevel>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct EnvironmentSetting {
    pub name: String,
    pub value: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_container_url: Option<String>,
    /// With a container: only the blobs whose names start with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_prefix: Option<String>,
    pub file_path: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct OutputFile {
    pub file_pattern: String,
    pub destination: OutputFileDestination,
    pub upload_options: OutputFileUploadOptions,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct OutputFileDestination {
    pub container: OutputFileBlobContainerDestination,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct OutputFileBlobContainerDestination {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub container_url: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct OutputFileUploadOptions {
    pub upload_condition: UploadCondition,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct JobAddParameter {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<JobConstraints>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_preparation_task: Option<JobPreparationTask>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_release_task: Option<JobReleaseTask>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub common_environment_settings: Vec<EnvironmentSetting>,
    pub pool_info: PoolInformation,
    /// `noaction` at creation; the plan patches it to `terminatejob` after the last task.
    pub on_all_tasks_complete: OnAllTasksComplete,
    pub uses_task_dependencies: bool,
    /// Which run made the job (see [`super::identity`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<MetadataItem>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct JobConstraints {
    pub max_wall_clock_time: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct PoolInformation {
    pub pool_id: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct JobPreparationTask {
    pub command_line: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_settings: Option<TaskContainerSettings>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_files: Vec<ResourceFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_settings: Vec<EnvironmentSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<TaskConstraints>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for_success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<UserIdentity>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct JobReleaseTask {
    pub command_line: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_settings: Option<TaskContainerSettings>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_files: Vec<ResourceFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_settings: Vec<EnvironmentSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wall_clock_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<UserIdentity>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskConstraints {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wall_clock_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_task_retry_count: Option<i64>,
}

impl TaskConstraints {
    pub fn is_empty(&self) -> bool {
        self.max_wall_clock_time.is_none() && self.max_task_retry_count.is_none()
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct TaskAddParameter {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub command_line: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_settings: Option<TaskContainerSettings>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_files: Vec<ResourceFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_files: Vec<OutputFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_settings: Vec<EnvironmentSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<TaskConstraints>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_slots: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<UserIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_instance_settings: Option<MultiInstanceSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<TaskDependencies>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct MultiInstanceSettings {
    pub number_of_instances: u32,
    pub coordination_command_line: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskDependencies {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_id_ranges: Vec<TaskIdRange>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskIdRange {
    pub start: u64,
    pub end: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct JobPatchParameter {
    pub on_all_tasks_complete: OnAllTasksComplete,
}

/// The wire's enumerations, lowercase (or camelCase) as Batch spells them.
macro_rules! wire_enum {
    ($name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        #[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)*
        }
    };
}

wire_enum!(ContainerType { DockerCompatible = "dockerCompatible", CriCompatible = "criCompatible" });
wire_enum!(AutoUserScope { Pool = "pool", Task = "task" });
wire_enum!(ElevationLevel { Admin = "admin", NonAdmin = "nonadmin" });
wire_enum!(UploadCondition { TaskSuccess = "tasksuccess", TaskFailure = "taskfailure", TaskCompletion = "taskcompletion" });

impl UploadCondition {
    /// Whether a task that ended this way uploads (and so brings back) what has this condition.
    pub fn applies(self, succeeded: bool) -> bool {
        match self {
            UploadCondition::TaskSuccess => succeeded,
            UploadCondition::TaskFailure => !succeeded,
            UploadCondition::TaskCompletion => true,
        }
    }
}
wire_enum!(OnAllTasksComplete { NoAction = "noaction", TerminateJob = "terminatejob" });

/// `POST /jobs/{job}/addtaskcollection`. The planner writes these bodies by joining
/// serialized tasks; backends read them back with this type.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct TaskAddCollectionParameter {
    pub value: Vec<TaskAddParameter>,
}
