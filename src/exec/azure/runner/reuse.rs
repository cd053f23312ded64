//! A pool of the workflow's id exists with the size, image and node agent it wants. Whose it
//! is decides what the run does with it, read from the pool's metadata:
//! - this run's (an attempt whose answer was lost): the run's own pool;
//! - another batchflow run's, of the same specification (a kept pool, or one a run still
//!   uses): taken as it is, brought back to the workflow's size (no wait for allocation when
//!   its nodes are still up), and left by this run as by its own (`exec/azure/release.rs`);
//! - batchflow's with another specification (start task, containers, task slots,
//!   inter-node communication): an error, as for another size;
//! - a pool batchflow did not make: used as it is, and left as it was.

use super::{Ctx, Done};
use crate::exec::azure::list;
use crate::exec::azure::models::CloudPool;
use crate::exec::azure::warm;
use crate::exec::error::RunError;
use crate::plan::batch_api::{MetadataItem, PoolAddParameter};
use crate::plan::identity::{self, meta};

/// What `take` reads of the pool.
const FIELDS: &str = "id,enableAutoScale,autoScaleFormula,targetDedicatedNodes,targetLowPriorityNodes,currentDedicatedNodes,currentLowPriorityNodes,metadata";

/// Pool `wanted.id` exists, alike in size, image and node agent, carrying `metadata`.
pub async fn existing(ctx: &Ctx, wanted: &PoolAddParameter, metadata: &[MetadataItem]) -> Result<Done, RunError> {
    let pool = &wanted.id;
    if ctx.is_mine(metadata) {
        return Ok(Done::Plain);
    }
    let Some(workflow) = identity::value(metadata, meta::WORKFLOW) else {
        ctx.note(format!(
            "pool `{pool}` exists (not made by batchflow) with the same size, image and node agent: using it, and leaving it as it was when this run ends"
        ));
        return Ok(Done::PoolAdopted(pool.clone()));
    };
    let by = identity::value(metadata, meta::RUN).unwrap_or("an earlier run");
    if !same_spec(metadata, &wanted.metadata) {
        return Err(RunError::Conflict(format!(
            "pool `{pool}` already exists, made by run `{by}` of workflow `{workflow}` with another start task, containers, task slots or inter-node communication: delete it (`batchflow pools delete {pool}`) or give the workflow's pool another name"
        )));
    }
    let have: CloudPool = list::get(&ctx.client, &format!("/pools/{pool}"), &[("$select", FIELDS)]).await?;
    let resized = warm::restore(&ctx.client, &have, wanted)
        .await
        .map_err(|e| RunError::batch(format!("bring pool `{pool}` back to its size"), e))?;
    warm::set_metadata(
        &ctx.client,
        pool,
        &warm::taken_metadata(&have.metadata, &ctx.opts.ids.run_id),
    )
    .await
    .map_err(|e| RunError::batch(format!("record on pool `{pool}` that this run uses it"), e))?;
    let up = have.current_dedicated_nodes + have.current_low_priority_nodes;
    let idle = identity::value(metadata, meta::IDLE_SINCE).map_or_else(String::new, |t| format!(", idle since {t}"));
    ctx.note(format!(
        "pool `{pool}` of run `{by}`{idle} has the same specification: taking it, {up} node{} up{}",
        if up == 1 { "" } else { "s" },
        if resized {
            ", resizing it to the workflow's size"
        } else {
            ""
        }
    ));
    Ok(Done::PoolAdopted(pool.clone()))
}

/// Whether two pools' specification hashes agree; pools made by another batchflow version (or
/// without a hash) are taken on their size, image and node agent alone.
fn same_spec(have: &[MetadataItem], wanted: &[MetadataItem]) -> bool {
    let hash = |m: &[MetadataItem]| identity::value(m, meta::SPEC).map(str::to_string);
    let version = |m: &[MetadataItem]| identity::value(m, meta::VERSION).map(str::to_string);
    match (hash(have), hash(wanted)) {
        (Some(a), Some(b)) if version(have) == version(wanted) => a == b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specifications_are_compared_within_one_version() {
        let m =
            |spec: &str, version: &str| vec![identity::item(meta::SPEC, spec), identity::item(meta::VERSION, version)];
        assert!(same_spec(&m("a", "1"), &m("a", "1")));
        assert!(!same_spec(&m("a", "1"), &m("b", "1")));
        assert!(same_spec(&m("a", "1"), &m("b", "2")));
        assert!(same_spec(&[], &m("b", "1")));
    }
}
