//! The pre-flight's reads, all at once: the account (quotas, region) and the region's VM sizes
//! and the account's pools through Azure Resource Manager, the supported images and active jobs
//! through the Batch data plane, and each custom image and identity the workflows name. Every
//! read is on its own: one refused (a 403, a shared key) is reported as not checked and the
//! others stand. Nothing is created or changed.

use super::account::{self, Wanted as Who};
use super::client::ArmClient;
use super::join::join_all;
use super::models::{
    ArmPool, IdOnly, ImageResource, SupportedImageRow, SupportedSku, BATCH_API, GALLERY_API, IDENTITY_API, IMAGES_API,
};
use crate::account::{
    region_key, AccountFacts, AccountInfo, CustomImage, ExistingPool, Lookup, Sku, SupportedImage, Wanted, NEEDS_READER,
};
use crate::exec::azure::client::BatchClient;
use crate::exec::azure::list;
use crate::exec::error::{BatchError, RunError};
use std::collections::BTreeMap;

/// What a failed read is reported as.
fn reason(e: &RunError) -> String {
    match e {
        RunError::Arm { error, .. } if error.status() == Some(403) => NEEDS_READER.to_string(),
        other => other.to_string(),
    }
}

fn lookup_of<T>(result: Result<T, BatchError>, on_403: &str) -> Lookup<T> {
    match result {
        Ok(t) => Lookup::Found(t),
        Err(e) if e.status() == Some(404) => Lookup::Missing,
        Err(e) if e.status() == Some(403) => Lookup::NotChecked(on_403.to_string()),
        Err(e) => Lookup::NotChecked(e.to_string()),
    }
}

fn not_checked<T>(why: &str) -> Lookup<T> {
    Lookup::NotChecked(why.to_string())
}

/// Reads what the online rules need. `arm` is `Err(why)` when Azure Resource Manager cannot
/// be used (a shared key): its parts come back not checked, with that reason.
pub async fn gather(batch: &BatchClient, arm: Result<&ArmClient, &str>, who: &Who, wanted: &Wanted) -> AccountFacts {
    let data_plane = async { tokio::join!(supported_images(batch), active_jobs(batch)) };
    let arm_side = async {
        match arm {
            Ok(arm) => {
                let (account, (images, identities)) = tokio::join!(account_part(arm, who), by_id(arm, wanted));
                (account, images, identities)
            }
            Err(why) => {
                let account = (not_checked(why), not_checked(why), not_checked(why));
                let images = wanted
                    .custom_images
                    .iter()
                    .map(|i| (i.to_ascii_lowercase(), not_checked(why)))
                    .collect();
                let identities = wanted
                    .identities
                    .iter()
                    .map(|i| (i.to_ascii_lowercase(), not_checked(why)))
                    .collect();
                (account, images, identities)
            }
        }
    };
    let ((images, active_jobs), ((account, skus, pools), custom_images, identities)) =
        tokio::join!(data_plane, arm_side);
    AccountFacts {
        account,
        skus,
        pools,
        active_jobs,
        images,
        custom_images,
        identities,
    }
}

type AccountPart = (Lookup<AccountInfo>, Lookup<Vec<Sku>>, Lookup<Vec<ExistingPool>>);

/// The account, then its quotas, its region's sizes and its pools together.
async fn account_part(arm: &ArmClient, who: &Who) -> AccountPart {
    let found = match account::find(arm, who).await {
        Ok(a) => a,
        Err(e) => {
            let why = reason(&e);
            return (
                Lookup::NotChecked(why.clone()),
                Lookup::NotChecked(why.clone()),
                Lookup::NotChecked(why),
            );
        }
    };
    let subscription = found.id.split('/').nth(2).unwrap_or_default().to_string();
    let (full, skus, pools) = tokio::join!(
        account::get(arm, &found.id),
        region_skus(arm, &subscription, &found.region),
        pools(arm, &found.id)
    );
    let account = match full {
        Ok(a) => Lookup::Found(a),
        // The list already held the account: its quotas stand if the full read is refused.
        Err(_) => Lookup::Found(found),
    };
    (account, skus, pools)
}

async fn region_skus(arm: &ArmClient, subscription: &str, region: &str) -> Lookup<Vec<Sku>> {
    let path = format!("/subscriptions/{subscription}/providers/Microsoft.Batch/locations/{region}/virtualMachineSkus");
    let rows: Result<Vec<SupportedSku>, BatchError> = arm.list(&path, BATCH_API).await;
    lookup_of(rows, NEEDS_READER).map(|rows| {
        rows.into_iter()
            .map(|s| Sku {
                vcpus: s.capability("vCPUs").and_then(|v| v.parse().ok()),
                low_priority: s
                    .capability("LowPriorityCapable")
                    .map(|v| v.eq_ignore_ascii_case("true")),
                name: s.name,
                family: s.family_name,
            })
            .collect()
    })
}

async fn pools(arm: &ArmClient, account_id: &str) -> Lookup<Vec<ExistingPool>> {
    let rows: Result<Vec<ArmPool>, BatchError> = arm.list(&format!("{account_id}/pools"), BATCH_API).await;
    lookup_of(rows, NEEDS_READER).map(|rows| {
        rows.into_iter()
            .map(|p| ExistingPool {
                id: p.name,
                vm_size: p.properties.vm_size.unwrap_or_default(),
                dedicated_nodes: p.properties.current_dedicated_nodes,
                low_priority_nodes: p.properties.current_low_priority_nodes,
            })
            .collect()
    })
}

async fn supported_images(batch: &BatchClient) -> Lookup<Vec<SupportedImage>> {
    let rows: Result<Vec<SupportedImageRow>, BatchError> = list::all(batch, "/supportedimages", &[]).await;
    match rows {
        Ok(rows) => Lookup::Found(
            rows.into_iter()
                .map(|r| SupportedImage {
                    publisher: r.image_reference.publisher,
                    offer: r.image_reference.offer,
                    sku: r.image_reference.sku,
                    node_agent: r.node_agent_sku_id,
                    verification: r.verification_type,
                    capabilities: r.capabilities,
                    end_of_life: r.batch_support_end_of_life.map(|d| d.chars().take(10).collect()),
                })
                .collect(),
        ),
        Err(e) => Lookup::NotChecked(format!("the Batch account did not list its supported images: {e}")),
    }
}

async fn active_jobs(batch: &BatchClient) -> Lookup<u32> {
    let query = [("$filter", "state eq 'active'"), ("$select", "id")];
    let (jobs, schedules) = tokio::join!(
        list::all::<IdOnly>(batch, "/jobs", &query),
        list::all::<IdOnly>(batch, "/jobschedules", &query)
    );
    match (jobs, schedules) {
        (Ok(j), Ok(s)) => Lookup::Found(u32::try_from(j.len() + s.len()).unwrap_or(u32::MAX)),
        (Err(e), _) | (_, Err(e)) => Lookup::NotChecked(format!("the Batch account did not list its jobs: {e}")),
    }
}

type ById = (BTreeMap<String, Lookup<CustomImage>>, BTreeMap<String, Lookup<()>>);

/// Each custom image and identity, all at once.
async fn by_id(arm: &ArmClient, wanted: &Wanted) -> ById {
    let images = join_all(
        wanted
            .custom_images
            .iter()
            .map(|id| async move { (id.to_ascii_lowercase(), custom_image(arm, id).await) }),
    );
    let identities = join_all(wanted.identities.iter().map(|id| async move {
        let read: Result<serde_json::Value, BatchError> = arm.get(id, IDENTITY_API).await;
        (
            id.to_ascii_lowercase(),
            lookup_of(read, "needs Reader on the identity").map(|_| ()),
        )
    }));
    let (images, identities) = tokio::join!(images, identities);
    (images.into_iter().collect(), identities.into_iter().collect())
}

/// A managed image (its location), a gallery image version (its target regions), or a gallery
/// image definition (its latest version's target regions: Batch uses the latest).
async fn custom_image(arm: &ArmClient, id: &str) -> Lookup<CustomImage> {
    let lower = id.to_ascii_lowercase();
    let on_403 = "needs Reader on the image";
    if !lower.contains("/galleries/") {
        let read: Result<ImageResource, BatchError> = arm.get(id, IMAGES_API).await;
        return lookup_of(read, on_403).map(|img| CustomImage {
            regions: img.location.iter().map(|l| region_key(l)).collect(),
        });
    }
    let version = if lower.contains("/versions/") {
        lookup_of(arm.get::<ImageResource>(id, GALLERY_API).await, on_403)
    } else {
        let versions: Result<Vec<ImageResource>, BatchError> = arm
            .list(&format!("{}/versions", id.trim_end_matches('/')), GALLERY_API)
            .await;
        match lookup_of(versions, on_403) {
            Lookup::Found(all) => latest(all).map_or(Lookup::Missing, Lookup::Found),
            Lookup::Missing => Lookup::Missing,
            Lookup::NotChecked(why) => Lookup::NotChecked(why),
        }
    };
    version.map(|v| {
        let profile = v.properties.publishing_profile.unwrap_or_default();
        let mut regions: Vec<String> = profile.target_regions.iter().map(|r| region_key(&r.name)).collect();
        regions.extend(v.location.iter().map(|l| region_key(l)));
        CustomImage { regions }
    })
}

/// The version Batch takes for "latest": the newest published one not excluded from latest.
fn latest(versions: Vec<ImageResource>) -> Option<ImageResource> {
    versions
        .into_iter()
        .filter(|v| {
            v.properties
                .publishing_profile
                .as_ref()
                .and_then(|p| p.exclude_from_latest)
                != Some(true)
        })
        .max_by(|a, b| published(a).cmp(&published(b)))
}

fn published(v: &ImageResource) -> String {
    v.properties
        .publishing_profile
        .as_ref()
        .and_then(|p| p.published_date.clone())
        .unwrap_or_default()
}
