//! The Azure Resource Manager pool body (`PUT …/batchAccounts/{account}/pools/{pool}`,
//! Microsoft.Batch api-version 2025-06-01), for pools with user-assigned managed identities:
//! Batch sets a pool's identities only when the pool is created through ARM. The body says
//! what the Batch one says, in ARM's shape (`properties.deploymentConfiguration`,
//! `scaleSettings`, `imageReference.id`, PascalCase enumerations); shapes follow the REST
//! specs' `PoolCreate_UserAssignedIdentities.json` example and the azure-mgmt-batch 19.0.0
//! models. Sub-objects whose wire form is the same in both APIs are the Batch types.

use super::batch_api::{
    AutoUserScope, ContainerRegistry, ElevationLevel, EnvironmentSetting, MountConfiguration, PoolAddParameter,
    ResourceFile, StartTask, TaskContainerSettings,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The Microsoft.Batch management api-version the ARM steps are written for.
pub const ARM_BATCH_API_VERSION: &str = "2025-06-01";
/// Stands for the Batch account's ARM id in an ARM step's path; the run puts the account's id
/// (`/subscriptions/…/resourceGroups/…/providers/Microsoft.Batch/batchAccounts/NAME`) there.
pub const ACCOUNT_PLACEHOLDER: &str = "{batchAccount}";

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ArmPoolBody {
    pub identity: PoolIdentity,
    pub properties: ArmPoolProperties,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PoolIdentity {
    /// `UserAssigned`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Resource id → `{}` (ARM fills in `principalId` and `clientId` in its replies).
    pub user_assigned_identities: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ArmPoolProperties {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub vm_size: String,
    pub deployment_configuration: DeploymentConfiguration,
    pub scale_settings: ScaleSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inter_node_communication: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_slots_per_node: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_task: Option<ArmStartTask>,
    /// The same shape as Batch's `mountConfiguration`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_configuration: Vec<MountConfiguration>,
    /// As the Batch body's: who made the pool.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<super::batch_api::MetadataItem>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    pub virtual_machine_configuration: ArmVirtualMachineConfiguration,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ArmVirtualMachineConfiguration {
    pub image_reference: ArmImageReference,
    /// `nodeAgentSkuId`: lowercase `ku`, unlike Batch's `nodeAgentSKUId`.
    pub node_agent_sku_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_configuration: Option<ArmContainerConfiguration>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct ArmImageReference {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A managed image or gallery image (version) resource id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ArmContainerConfiguration {
    /// `DockerCompatible`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_image_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_registries: Vec<ContainerRegistry>,
}

/// Exactly one of the two.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ScaleSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_scale: Option<FixedScale>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scale: Option<AutoScale>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct FixedScale {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resize_timeout: Option<String>,
    pub target_dedicated_nodes: u32,
    pub target_low_priority_nodes: u32,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AutoScale {
    pub formula: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_interval: Option<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ArmStartTask {
    pub command_line: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_files: Vec<ResourceFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_settings: Vec<EnvironmentSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_identity: Option<ArmUserIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_task_retry_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_for_success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_settings: Option<TaskContainerSettings>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ArmUserIdentity {
    pub auto_user: ArmAutoUser,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct ArmAutoUser {
    /// `Pool` or `Task`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `Admin` or `NonAdmin`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elevation_level: Option<String>,
}

/// The ARM form of a Batch pool body, with `identities` assigned to the pool.
pub fn pool(b: &PoolAddParameter, identities: &[String]) -> ArmPoolBody {
    let vm = &b.virtual_machine_configuration;
    let image = &vm.image_reference;
    let scale_settings = if b.enable_auto_scale == Some(true) {
        ScaleSettings {
            fixed_scale: None,
            auto_scale: Some(AutoScale {
                formula: b.auto_scale_formula.clone().unwrap_or_default(),
                evaluation_interval: b.auto_scale_evaluation_interval.clone(),
            }),
        }
    } else {
        ScaleSettings {
            fixed_scale: Some(FixedScale {
                resize_timeout: b.resize_timeout.clone(),
                target_dedicated_nodes: b.target_dedicated_nodes.unwrap_or(0),
                target_low_priority_nodes: b.target_low_priority_nodes.unwrap_or(0),
            }),
            auto_scale: None,
        }
    };
    ArmPoolBody {
        identity: PoolIdentity {
            kind: "UserAssigned".into(),
            user_assigned_identities: identities.iter().map(|i| (i.clone(), serde_json::Map::new())).collect(),
        },
        properties: ArmPoolProperties {
            display_name: b.display_name.clone(),
            vm_size: b.vm_size.clone(),
            deployment_configuration: DeploymentConfiguration {
                virtual_machine_configuration: ArmVirtualMachineConfiguration {
                    image_reference: ArmImageReference {
                        publisher: image.publisher.clone(),
                        offer: image.offer.clone(),
                        sku: image.sku.clone(),
                        version: image.version.clone(),
                        id: image.virtual_machine_image_id.clone(),
                    },
                    node_agent_sku_id: vm.node_agent_sku_id.clone(),
                    container_configuration: vm.container_configuration.as_ref().map(|c| ArmContainerConfiguration {
                        kind: "DockerCompatible".into(),
                        container_image_names: c.container_image_names.clone(),
                        container_registries: c.container_registries.clone(),
                    }),
                },
            },
            scale_settings,
            inter_node_communication: b
                .enable_inter_node_communication
                .filter(|e| *e)
                .map(|_| "Enabled".into()),
            task_slots_per_node: b.task_slots_per_node,
            start_task: b.start_task.as_ref().map(start_task),
            mount_configuration: b.mount_configuration.clone(),
            metadata: b.metadata.clone(),
        },
    }
}

fn start_task(s: &StartTask) -> ArmStartTask {
    ArmStartTask {
        command_line: s.command_line.clone(),
        resource_files: s.resource_files.clone(),
        environment_settings: s.environment_settings.clone(),
        user_identity: s.user_identity.as_ref().map(|u| ArmUserIdentity {
            auto_user: ArmAutoUser {
                scope: u.auto_user.scope.map(|sc| {
                    match sc {
                        AutoUserScope::Pool => "Pool",
                        AutoUserScope::Task => "Task",
                    }
                    .to_string()
                }),
                elevation_level: u.auto_user.elevation_level.map(|e| {
                    match e {
                        ElevationLevel::Admin => "Admin",
                        ElevationLevel::NonAdmin => "NonAdmin",
                    }
                    .to_string()
                }),
            },
        }),
        max_task_retry_count: s.max_task_retry_count,
        wait_for_success: s.wait_for_success,
        container_settings: s.container_settings.clone(),
    }
}
