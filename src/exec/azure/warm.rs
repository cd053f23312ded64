//! Kept ("warm") pools on Batch: what a pool is wanted as (from the plan), the metadata that
//! says who holds it and since when it is idle, and the requests that keep it (autoscaling with
//! the idle formula of `plan::keep`) or take it back to its own size for a new run.

use super::client::BatchClient;
use super::list;
use super::models::CloudPool;
use crate::exec::error::BatchError as Error;
use crate::plan::arm_api::ArmPoolBody;
use crate::plan::batch_api::{MetadataItem, PoolAddParameter};
use crate::plan::identity::{self, meta};
use crate::plan::keep::{self, EnableAutoScale};
use crate::plan::{Action, Plan, StepKind};
use reqwest::Method;
use std::time::Duration;

/// How long to wait between two tries when Batch refuses to enable autoscaling because the
/// pool is resizing or was enabled less than 30 seconds ago.
const RETRY: Duration = Duration::from_secs(5);
/// Tries before giving up (a little over Batch's 30 seconds between enables).
const TRIES: u32 = 8;

/// The pool `pool` as the plan creates it: its Batch body, or for a pool created through Azure
/// Resource Manager, the same in Batch's shape as far as sizing goes.
pub fn wanted(plan: &Plan, pool: &str) -> Option<PoolAddParameter> {
    plan.steps.iter().find_map(|s| {
        let Action::Request { body, .. } = &s.action else {
            return None;
        };
        match &s.kind {
            StepKind::CreatePool { pool: p } if p == pool => serde_json::from_str(body.get()).ok(),
            StepKind::CreateArmPool { pool: p } if p == pool => {
                let arm: ArmPoolBody = serde_json::from_str(body.get()).ok()?;
                Some(from_arm(pool, &arm))
            }
            _ => None,
        }
    })
}

pub fn from_arm(pool: &str, arm: &ArmPoolBody) -> PoolAddParameter {
    let p = &arm.properties;
    let fixed = p.scale_settings.fixed_scale.as_ref();
    let auto = p.scale_settings.auto_scale.as_ref();
    PoolAddParameter {
        id: pool.to_string(),
        vm_size: p.vm_size.clone(),
        target_dedicated_nodes: fixed.map(|f| f.target_dedicated_nodes),
        target_low_priority_nodes: fixed.map(|f| f.target_low_priority_nodes),
        resize_timeout: fixed.and_then(|f| f.resize_timeout.clone()),
        enable_auto_scale: auto.map(|_| true),
        auto_scale_formula: auto.map(|a| a.formula.clone()),
        auto_scale_evaluation_interval: auto.and_then(|a| a.evaluation_interval.clone()),
        metadata: p.metadata.clone(),
        ..PoolAddParameter::default()
    }
}

/// How long a pool may stay idle, from its metadata (`batchflow-keep`), in seconds.
pub fn kept_for(metadata: &[MetadataItem]) -> Option<u64> {
    identity::value(metadata, meta::KEEP)
        .and_then(crate::value::parse_iso8601)
        .map(|d| d.as_secs())
}

/// The run that holds the pool now when that is not `run`: a run that took it (`taken_metadata`)
/// and has not left it (no `batchflow-idle-since`). That run leaves it when it ends.
pub fn held_by_other<'m>(metadata: &'m [MetadataItem], run: &str) -> Option<&'m str> {
    let holder = identity::value(metadata, meta::RUN)?;
    (holder != run && identity::value(metadata, meta::IDLE_SINCE).is_none()).then_some(holder)
}

/// The metadata of a pool another run holds, asked to be kept `secs` after that run (the
/// longer keep wins, so the holder's own wish stands).
pub fn kept_longer(have: &[MetadataItem], secs: u64) -> Vec<MetadataItem> {
    let secs = kept_for(have).map_or(secs, |had| had.max(secs));
    let mut out: Vec<MetadataItem> = have.iter().filter(|m| m.name != meta::KEEP).cloned().collect();
    out.push(identity::item(meta::KEEP, &crate::value::iso8601(secs)));
    out
}

/// The metadata of a pool being left by run `run`: kept for `keep` seconds (or only left to the
/// runs still using it, `None`), idle since `now`, and its size while busy.
pub fn left_metadata(
    have: &[MetadataItem],
    run: &str,
    keep: Option<u64>,
    now: &str,
    wanted: &PoolAddParameter,
) -> Vec<MetadataItem> {
    let mut out = retagged(have, run);
    out.retain(|m| ![meta::KEEP, meta::IDLE_SINCE, meta::NODES].contains(&m.name.as_str()));
    if let Some(secs) = keep {
        out.push(identity::item(meta::KEEP, &crate::value::iso8601(secs)));
    }
    out.push(identity::item(meta::IDLE_SINCE, now));
    if wanted.enable_auto_scale != Some(true) {
        let nodes = format!(
            "{},{}",
            wanted.target_dedicated_nodes.unwrap_or(0),
            wanted.target_low_priority_nodes.unwrap_or(0)
        );
        out.push(identity::item(meta::NODES, &nodes));
    }
    out
}

/// The metadata of a kept pool that run `run` takes: it holds it now, and it is not idle.
pub fn taken_metadata(have: &[MetadataItem], run: &str) -> Vec<MetadataItem> {
    let mut out = retagged(have, run);
    out.retain(|m| m.name != meta::IDLE_SINCE);
    out
}

fn retagged(have: &[MetadataItem], run: &str) -> Vec<MetadataItem> {
    let mut out: Vec<MetadataItem> = have.iter().filter(|m| m.name != meta::RUN).cloned().collect();
    out.insert(0, identity::item(meta::RUN, run));
    out
}

/// `PATCH /pools/{pool}` with `metadata`, which replaces the pool's.
pub async fn set_metadata(client: &BatchClient, pool: &str, metadata: &[MetadataItem]) -> Result<(), Error> {
    let body = serde_json::json!({ "metadata": metadata }).to_string();
    client
        .send(Method::PATCH, &format!("/pools/{pool}"), &[], Some(body.into_bytes()))
        .await
        .map(|_| ())
}

/// Keeps `pool`: autoscaling with the idle formula of `wanted`, for `idle` seconds.
pub async fn keep(client: &BatchClient, pool: &str, wanted: &PoolAddParameter, idle: u64) -> Result<(), Error> {
    enable(client, pool, &keep::enable_body(wanted, idle)).await
}

/// `POST /pools/{pool}/enableautoscale`, waiting out a resize in progress and Batch's 30
/// seconds between two enables.
pub async fn enable(client: &BatchClient, pool: &str, body: &EnableAutoScale) -> Result<(), Error> {
    let text = serde_json::to_string(body).unwrap_or_default();
    let path = format!("/pools/{pool}/enableautoscale");
    let mut tries = 0;
    loop {
        tries += 1;
        match client
            .send(Method::POST, &path, &[], Some(text.clone().into_bytes()))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e)
                if tries < TRIES
                    && matches!(
                        e.code(),
                        Some("TooManyEnableAutoScaleRequests" | "PoolBeingResized" | "OperationInvalidForCurrentState")
                    ) =>
            {
                tokio::time::sleep(RETRY).await
            }
            Err(e) => return Err(e),
        }
    }
}

/// Takes a kept pool back to the size `wanted` gives it: autoscaling off and a resize to its
/// node counts (none when it has them already), or its own formula again. Returns whether it
/// had to change size.
pub async fn restore(client: &BatchClient, have: &CloudPool, wanted: &PoolAddParameter) -> Result<bool, Error> {
    let pool = &have.id;
    if wanted.enable_auto_scale == Some(true) {
        let formula = wanted.auto_scale_formula.clone().unwrap_or_default();
        if have.enable_auto_scale == Some(true) && have.auto_scale_formula.as_deref() == Some(formula.as_str()) {
            return Ok(false);
        }
        let body = EnableAutoScale {
            auto_scale_formula: formula,
            auto_scale_evaluation_interval: wanted
                .auto_scale_evaluation_interval
                .clone()
                .unwrap_or_else(|| crate::value::iso8601(15 * 60)),
        };
        enable(client, pool, &body).await?;
        return Ok(true);
    }
    if have.enable_auto_scale == Some(true) {
        client
            .send(Method::POST, &format!("/pools/{pool}/disableautoscale"), &[], None)
            .await?;
    }
    let (dedicated, low) = (
        wanted.target_dedicated_nodes.unwrap_or(0),
        wanted.target_low_priority_nodes.unwrap_or(0),
    );
    let now: CloudPool = list::get_raw(
        client,
        &format!("/pools/{pool}"),
        &[(
            "$select",
            "id,allocationState,targetDedicatedNodes,targetLowPriorityNodes",
        )],
    )
    .await?;
    if (now.target_dedicated_nodes, now.target_low_priority_nodes) == (dedicated, low) {
        return Ok(false);
    }
    let mut body = serde_json::json!({
        "targetDedicatedNodes": dedicated,
        "targetLowPriorityNodes": low,
    });
    if let Some(t) = &wanted.resize_timeout {
        body["resizeTimeout"] = serde_json::json!(t);
    }
    let path = format!("/pools/{pool}/resize");
    let mut tries = 0;
    loop {
        tries += 1;
        match client
            .send(Method::POST, &path, &[], Some(body.to_string().into_bytes()))
            .await
        {
            Ok(_) => return Ok(true),
            // The idle formula's last evaluation may still be resizing it.
            Err(e) if tries < TRIES && e.code() == Some("PoolBeingResized") => tokio::time::sleep(RETRY).await,
            Err(e) => return Err(e),
        }
    }
}
