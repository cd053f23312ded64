//! The Azure Resource Manager replies batchflow reads, with the wire's names: Batch accounts
//! (`BatchAccount_Get`, `BatchAccount_List`), the region's VM sizes
//! (`Location_ListSupportedVirtualMachineSkus`), pools (`Pool_Get`, `Pool_ListByBatchAccount`),
//! subscriptions, images and identities. Fields batchflow does not use are left out.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The Microsoft.Batch management api-version (the azure-mgmt-batch 19.0.0 SDK's default).
pub const BATCH_API: &str = "2025-06-01";
/// `GET /subscriptions`.
pub const SUBSCRIPTIONS_API: &str = "2022-12-01";
/// `Microsoft.Compute/images`.
pub const IMAGES_API: &str = "2024-03-01";
/// `Microsoft.Compute/galleries/.../images/.../versions`.
pub const GALLERY_API: &str = "2023-07-03";
/// `Microsoft.ManagedIdentity/userAssignedIdentities`.
pub const IDENTITY_API: &str = "2023-01-31";

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub subscription_id: String,
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Deserialize, Debug, Clone)]
pub struct BatchAccount {
    pub id: String,
    pub name: String,
    pub location: String,
    #[serde(default)]
    pub properties: AccountProperties,
}

#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccountProperties {
    #[serde(default)]
    pub account_endpoint: Option<String>,
    #[serde(default)]
    pub pool_allocation_mode: Option<String>,
    #[serde(default)]
    pub dedicated_core_quota: Option<u32>,
    #[serde(default)]
    pub low_priority_core_quota: Option<u32>,
    #[serde(default, rename = "dedicatedCoreQuotaPerVMFamily")]
    pub dedicated_core_quota_per_vm_family: Vec<FamilyQuota>,
    #[serde(default, rename = "dedicatedCoreQuotaPerVMFamilyEnforced")]
    pub dedicated_core_quota_per_vm_family_enforced: Option<bool>,
    #[serde(default)]
    pub pool_quota: Option<u32>,
    #[serde(default)]
    pub active_job_and_job_schedule_quota: Option<u32>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct FamilyQuota {
    pub name: String,
    #[serde(default)]
    pub core_quota: u32,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SupportedSku {
    pub name: String,
    #[serde(default)]
    pub family_name: String,
    #[serde(default)]
    pub capabilities: Vec<SkuCapability>,
}

#[derive(Deserialize, Debug)]
pub struct SkuCapability {
    pub name: String,
    pub value: String,
}

impl SupportedSku {
    pub fn capability(&self, name: &str) -> Option<&str> {
        self.capabilities
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .map(|c| c.value.as_str())
    }
}

/// A pool as Azure Resource Manager shows it.
#[derive(Deserialize, Debug, Default)]
pub struct ArmPool {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub properties: ArmPoolProperties,
    #[serde(default)]
    pub identity: Option<PoolIdentity>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ArmPoolProperties {
    #[serde(default)]
    pub vm_size: Option<String>,
    #[serde(default)]
    pub provisioning_state: Option<String>,
    #[serde(default)]
    pub allocation_state: Option<String>,
    #[serde(default)]
    pub current_dedicated_nodes: u32,
    #[serde(default)]
    pub current_low_priority_nodes: u32,
    #[serde(default)]
    pub creation_time: Option<String>,
    #[serde(default)]
    pub deployment_configuration: Option<serde_json::Value>,
    /// Who made the pool (see `plan::identity`).
    #[serde(default)]
    pub metadata: Vec<crate::plan::batch_api::MetadataItem>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct PoolIdentity {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub user_assigned_identities: BTreeMap<String, serde_json::Value>,
}

/// A managed image (`location`) or a gallery image version (`publishingProfile.targetRegions`).
#[derive(Deserialize, Debug)]
pub struct ImageResource {
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub properties: ImageProperties,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct ImageProperties {
    #[serde(default)]
    pub publishing_profile: Option<PublishingProfile>,
}

#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct PublishingProfile {
    #[serde(default)]
    pub target_regions: Vec<TargetRegion>,
    #[serde(default)]
    pub published_date: Option<String>,
    #[serde(default)]
    pub exclude_from_latest: Option<bool>,
}

#[derive(Deserialize, Debug)]
pub struct TargetRegion {
    pub name: String,
}

/// One row of the Batch data plane's `GET /supportedimages`.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct SupportedImageRow {
    #[serde(rename = "nodeAgentSKUId")]
    pub node_agent_sku_id: String,
    pub image_reference: ImageReferenceRow,
    #[serde(default)]
    pub verification_type: String,
    #[serde(default)]
    pub capabilities: Vec<String>,
    #[serde(default)]
    pub batch_support_end_of_life: Option<String>,
}

#[derive(Deserialize, Debug)]
pub struct ImageReferenceRow {
    #[serde(default)]
    pub publisher: String,
    #[serde(default)]
    pub offer: String,
    #[serde(default)]
    pub sku: String,
}

/// A list item of which only the id is read.
#[derive(Deserialize, Debug)]
pub struct IdOnly {
    #[serde(default)]
    pub id: String,
}
