//! Pools with user-assigned managed identities, through Azure Resource Manager: created with
//! `If-None-Match: *` (an existing pool of the id is compared, never changed: accepted only if
//! it has the workflow's size, image, node agent and every identity, else its differences are
//! listed), and waited for until ARM has provisioned it; from there the pool is a Batch pool
//! like the others, and its nodes and start tasks are waited for through the Batch API (ARM
//! shows no nodes). The pool is deleted through ARM when the run ends (`release::end_run`).

use super::pools::{stop_if_interrupted, wait_ready};
use super::{Ctx, Done};
use crate::exec::azure::arm::models::ArmPool;
use crate::exec::azure::arm::pools::{ArmAccount, Created};
use crate::exec::azure::warm;
use crate::exec::error::RunError;
use crate::plan::arm_api::ArmPoolBody;

fn account(ctx: &Ctx) -> Result<&ArmAccount, RunError> {
    ctx.arm.as_ref().ok_or_else(|| {
        RunError::Config(
            "pools with managed identities need Azure Resource Manager, which this run cannot reach".into(),
        )
    })
}

/// Step `step` creates `pool` by `PUT path` with `body`.
pub async fn create(ctx: &Ctx, step: &str, pool: &str, path: &str, body: String) -> Result<Done, RunError> {
    let arm = account(ctx)?;
    let wanted: ArmPoolBody = serde_json::from_str(&body).map_err(|e| RunError::Body {
        what: format!("the body of step `{step}`"),
        error: e,
    })?;
    ctx.mark_sending(step);
    match arm.create(path, body.into_bytes()).await {
        Ok(Created::Created) => {
            ctx.note(format!(
                "pool `{pool}` created through Azure Resource Manager, with its identities"
            ));
            Ok(Done::Plain)
        }
        Ok(Created::Exists) => same_pool(ctx, arm, pool, &wanted).await,
        Err(e) => Err(RunError::arm(format!("create pool `{pool}`"), e)),
    }
}

/// How the pool found differs from the one wanted.
fn differences(have: &ArmPool, wanted: &ArmPoolBody) -> Vec<String> {
    let mut out = Vec::new();
    let same = |a: Option<&str>, b: Option<&str>| a.unwrap_or("").eq_ignore_ascii_case(b.unwrap_or(""));
    let w = &wanted.properties;
    if !same(have.properties.vm_size.as_deref(), Some(&w.vm_size)) {
        out.push(format!(
            "vm size {} (the workflow wants {})",
            have.properties.vm_size.as_deref().unwrap_or("?"),
            w.vm_size
        ));
    }
    let vm = have
        .properties
        .deployment_configuration
        .as_ref()
        .map(|d| &d["virtualMachineConfiguration"]);
    let field = |path: &[&str]| {
        let mut v = vm?;
        for p in path {
            v = v.get(*p)?;
        }
        v.as_str()
    };
    let wi = &w.deployment_configuration.virtual_machine_configuration.image_reference;
    let image_same = same(field(&["imageReference", "publisher"]), wi.publisher.as_deref())
        && same(field(&["imageReference", "offer"]), wi.offer.as_deref())
        && same(field(&["imageReference", "sku"]), wi.sku.as_deref())
        && same(field(&["imageReference", "id"]), wi.id.as_deref());
    if !image_same {
        out.push("another image".to_string());
    }
    let agent = &w
        .deployment_configuration
        .virtual_machine_configuration
        .node_agent_sku_id;
    if !same(field(&["nodeAgentSkuId"]), Some(agent)) {
        out.push(format!(
            "node agent `{}` (the workflow wants `{agent}`)",
            field(&["nodeAgentSkuId"]).unwrap_or("?")
        ));
    }
    let carried: Vec<&String> = have
        .identity
        .iter()
        .flat_map(|i| i.user_assigned_identities.keys())
        .collect();
    for id in wanted.identity.user_assigned_identities.keys() {
        if !carried.iter().any(|c| c.eq_ignore_ascii_case(id)) {
            out.push(format!("no user-assigned identity `{id}`"));
        }
    }
    out
}

/// A pool of the id exists: another shape is an error listing the differences; else whose it
/// is decides (`reuse.rs`).
async fn same_pool(ctx: &Ctx, arm: &ArmAccount, pool: &str, wanted: &ArmPoolBody) -> Result<Done, RunError> {
    let have = arm
        .get(pool)
        .await
        .map_err(|e| RunError::arm(format!("read pool `{pool}`, which exists already"), e))?;
    if have
        .properties
        .provisioning_state
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("Deleting"))
    {
        return Err(RunError::Conflict(format!(
            "pool `{pool}` is being deleted; run again once it is gone"
        )));
    }
    let differences = differences(&have, wanted);
    if !differences.is_empty() {
        return Err(RunError::Conflict(format!(
            "pool `{pool}` already exists with {}: delete it (`az batch pool delete --pool-id {pool}`) or give the workflow's pool another name",
            differences.join(", ")
        )));
    }
    super::reuse::existing(ctx, &warm::from_arm(pool, wanted), &have.properties.metadata).await
}

/// Until Azure Resource Manager has provisioned the pool, then as any pool: nodes allocated
/// and start tasks done.
pub async fn wait(ctx: &Ctx, pool: &str) -> Result<(), RunError> {
    let arm = account(ctx)?;
    let key = format!("pool {pool}");
    loop {
        stop_if_interrupted(ctx)?;
        let have = arm
            .get(pool)
            .await
            .map_err(|e| RunError::arm(format!("read pool `{pool}`"), e))?;
        let state = have.properties.provisioning_state.unwrap_or_default();
        if state.eq_ignore_ascii_case("Succeeded") {
            break;
        }
        if state.eq_ignore_ascii_case("Deleting") {
            return Err(RunError::Pool(format!("pool `{pool}` is being deleted")));
        }
        ctx.waiting(&key, Some(format!("pool `{pool}`: provisioning ({state})")));
        tokio::time::sleep(ctx.opts.poll).await;
    }
    wait_ready(ctx, pool).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_without_the_identity_differs() {
        let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pull";
        let wanted: ArmPoolBody = serde_json::from_value(serde_json::json!({
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {id: {}}},
            "properties": {
                "vmSize": "Standard_D8s_v5",
                "deploymentConfiguration": {"virtualMachineConfiguration": {
                    "imageReference": {"publisher": "microsoft-dsvm", "offer": "ubuntu-hpc", "sku": "2404", "version": "latest"},
                    "nodeAgentSkuId": "batch.node.ubuntu 24.04"}},
                "scaleSettings": {"fixedScale": {"targetDedicatedNodes": 1, "targetLowPriorityNodes": 0}}
            }
        }))
        .expect("a body");
        let mut have: ArmPool = serde_json::from_value(serde_json::json!({
            "name": "p",
            "properties": {
                "vmSize": "STANDARD_D8S_V5",
                "provisioningState": "Succeeded",
                "deploymentConfiguration": {"virtualMachineConfiguration": {
                    "imageReference": {"publisher": "Microsoft-DSVM", "offer": "ubuntu-hpc", "sku": "2404", "version": "latest"},
                    "nodeAgentSkuId": "batch.node.ubuntu 24.04"}}
            }
        }))
        .expect("a pool");
        assert_eq!(
            differences(&have, &wanted),
            [format!("no user-assigned identity `{id}`")]
        );
        have.identity = serde_json::from_value(serde_json::json!({
            "type": "UserAssigned",
            "userAssignedIdentities": {id.to_ascii_lowercase(): {"principalId": "p", "clientId": "c"}}
        }))
        .expect("an identity");
        assert!(differences(&have, &wanted).is_empty());
    }
}
