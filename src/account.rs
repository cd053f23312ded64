//! What an online check learned about the Batch account, as plain data: gathered by
//! `exec::azure::arm` (the half that talks to Azure), judged by `check::online` (pure), so the
//! rules run on facts a test can write by hand.

use std::collections::BTreeMap;

/// Why an account read was refused with 403: the identity lacks a role on the account.
pub const NEEDS_READER: &str = "needs Reader on the account";
/// Why nothing was read through Azure Resource Manager: it takes Entra ID tokens only.
pub const NEEDS_ENTRA: &str =
    "needs Microsoft Entra ID: the target authenticates with a shared key (AZURE_BATCH_ACCESS_KEY)";

/// One answer read from Azure: what was found, that the thing does not exist, or that it
/// could not be read (and why, in words a person can act on).
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup<T> {
    Found(T),
    Missing,
    NotChecked(String),
}

impl<T> Lookup<T> {
    pub fn found(&self) -> Option<&T> {
        match self {
            Lookup::Found(t) => Some(t),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Lookup<U> {
        match self {
            Lookup::Found(t) => Lookup::Found(f(t)),
            Lookup::Missing => Lookup::Missing,
            Lookup::NotChecked(why) => Lookup::NotChecked(why),
        }
    }
}

impl<T> Default for Lookup<T> {
    fn default() -> Self {
        Lookup::NotChecked("not asked".into())
    }
}

/// What the online rules need of the account; each part read on its own, so one refused
/// read (a 403) leaves the others standing.
#[derive(Clone, Debug, Default)]
pub struct AccountFacts {
    /// The account's Azure Resource Manager record: its id, region and quotas.
    pub account: Lookup<AccountInfo>,
    /// The VM sizes Batch offers in the account's region.
    pub skus: Lookup<Vec<Sku>>,
    /// The account's pools now, for the cores and pools they already use.
    pub pools: Lookup<Vec<ExistingPool>>,
    /// Active jobs and job schedules now.
    pub active_jobs: Lookup<u32>,
    /// The account's supported marketplace images (`GET /supportedimages`).
    pub images: Lookup<Vec<SupportedImage>>,
    /// Custom images by resource id, lowercase.
    pub custom_images: BTreeMap<String, Lookup<CustomImage>>,
    /// User-assigned identities by resource id, lowercase.
    pub identities: BTreeMap<String, Lookup<()>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AccountInfo {
    pub name: String,
    /// `/subscriptions/…/resourceGroups/…/providers/Microsoft.Batch/batchAccounts/NAME`
    pub id: String,
    /// The account's ARM `location`, e.g. `westeurope`.
    pub region: String,
    pub quotas: Quotas,
}

/// The quotas of `BatchAccount_Get` (`properties`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Quotas {
    pub dedicated_cores: Option<u32>,
    pub low_priority_cores: Option<u32>,
    /// `dedicatedCoreQuotaPerVMFamily`: family name and its core quota.
    pub per_family: Vec<(String, u32)>,
    /// `dedicatedCoreQuotaPerVMFamilyEnforced`: the per-family quotas apply (else only the
    /// account's total dedicated quota does).
    pub per_family_enforced: bool,
    pub pools: Option<u32>,
    pub active_jobs: Option<u32>,
    /// Pool allocation mode `UserSubscription`: the subscription's compute quotas apply, not
    /// Batch's core quotas.
    pub user_subscription: bool,
}

/// A VM size as `Location_ListSupportedVirtualMachineSkus` describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sku {
    pub name: String,
    pub family: String,
    pub vcpus: Option<u32>,
    /// `LowPriorityCapable`, when the service says.
    pub low_priority: Option<bool>,
}

/// A pool the account has now.
#[derive(Clone, Debug, PartialEq)]
pub struct ExistingPool {
    pub id: String,
    pub vm_size: String,
    pub dedicated_nodes: u32,
    pub low_priority_nodes: u32,
}

/// One row of `GET /supportedimages`.
#[derive(Clone, Debug, PartialEq)]
pub struct SupportedImage {
    pub publisher: String,
    pub offer: String,
    pub sku: String,
    pub node_agent: String,
    /// `verified` or `unverified`.
    pub verification: String,
    pub capabilities: Vec<String>,
    /// `batchSupportEndOfLife`, as `YYYY-MM-DD`.
    pub end_of_life: Option<String>,
}

/// A managed image or gallery image version: the regions it can be used in.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomImage {
    /// Lowercase, spaces removed (`West Europe` and `westeurope` compare equal).
    pub regions: Vec<String>,
}

/// What the workflows name that must be looked up one by one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wanted {
    pub custom_images: Vec<String>,
    pub identities: Vec<String>,
}

/// A region name as ARM and the compute galleries write it, for comparing: `West Europe`
/// and `westeurope` are one region.
pub fn region_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}
