//! Pools: create (or take the same pool from an earlier run), wait until allocation is
//! steady and the start tasks are done, re-issue a resize that stopped short of its target.

use super::{Ctx, Done};
use crate::exec::azure::list;
use crate::exec::azure::models::{CloudPool, ComputeNode};
use crate::exec::error::RunError;
use crate::plan::batch_api::PoolAddParameter;
use reqwest::Method;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Longest wait for an earlier pool of the same id to be deleted before creating this one.
const DELETE_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);
/// Lines of a start task's or a task's output shown with its failure.
const TAIL_LINES: usize = 5;
/// What `wait_ready` reads of a pool.
const POOL_FIELDS: &str = "id,allocationState,currentDedicatedNodes,currentLowPriorityNodes,targetDedicatedNodes,targetLowPriorityNodes,resizeErrors,enableAutoScale";
/// Node states that are on their way to being usable.
const SETTLING: &[&str] = &[
    "creating",
    "starting",
    "waitingforstarttask",
    "rebooting",
    "reimaging",
    "unknown",
];

/// Step `step` creates the pool of `body`.
pub async fn create(ctx: &Ctx, step: &str, body: String) -> Result<Done, RunError> {
    let wanted: PoolAddParameter = serde_json::from_str(&body).map_err(|e| RunError::Body {
        what: format!("the body of step `{step}`"),
        error: e,
    })?;
    loop {
        match ctx.create(step, "/pools", body.clone()).await {
            Ok(()) => {
                ctx.note(format!("pool `{}` created", wanted.id));
                return Ok(Done::Plain);
            }
            Err(e) if e.code() == Some("PoolExists") => return same_pool(ctx, &wanted).await,
            // An earlier run's pool of this id (`batchflow cancel` a moment ago) is still being
            // deleted: Batch refuses the id until it is gone, which takes minutes.
            Err(e) if e.code() == Some("PoolBeingDeleted") => wait_gone(ctx, &wanted.id).await?,
            Err(e) => return Err(RunError::batch(format!("create pool `{}`", wanted.id), e)),
        }
    }
}

/// Waits until pool `pool`, being deleted, is gone (Batch answers `PoolNotFound`).
async fn wait_gone(ctx: &Ctx, pool: &str) -> Result<(), RunError> {
    let key = format!("pool {pool}");
    let started = Instant::now();
    let path = format!("/pools/{pool}");
    let result = loop {
        stop_if_interrupted(ctx)?;
        match list::get_raw::<CloudPool>(&ctx.client, &path, &[("$select", "id,state")]).await {
            Err(e) if e.code() == Some("PoolNotFound") => break Ok(()),
            Err(e) => {
                break Err(RunError::batch(
                    format!("read pool `{pool}`, which is being deleted"),
                    e,
                ))
            }
            Ok(_) if started.elapsed() > DELETE_WAIT => {
                break Err(RunError::Conflict(format!(
                "pool `{pool}` of an earlier run was still being deleted after {} minutes; run again once it is gone",
                DELETE_WAIT.as_secs() / 60
            )))
            }
            Ok(_) => {
                ctx.waiting(
                    &key,
                    Some(format!(
                        "pool `{pool}`: an earlier pool of this id is being deleted; waiting for it to go"
                    )),
                );
                tokio::time::sleep(ctx.opts.poll).await;
            }
        }
    };
    ctx.waiting(&key, None);
    result
}

/// A pool of the same name exists: a hard error if it differs in size, image or node agent;
/// else whose it is decides (`reuse.rs`).
async fn same_pool(ctx: &Ctx, wanted: &PoolAddParameter) -> Result<Done, RunError> {
    let path = format!("/pools/{}", wanted.id);
    let have: CloudPool = list::get_raw(
        &ctx.client,
        &path,
        &[(
            "$select",
            "id,vmSize,virtualMachineConfiguration,state,creationTime,metadata",
        )],
    )
    .await
    .map_err(|e| RunError::batch(format!("read pool `{}`, which exists already", wanted.id), e))?;
    let mut differences = Vec::new();
    let same = |a: Option<&str>, b: Option<&str>| a.unwrap_or("").eq_ignore_ascii_case(b.unwrap_or(""));
    if !same(have.vm_size.as_deref(), Some(&wanted.vm_size)) {
        differences.push(format!(
            "vm size {} (the workflow wants {})",
            have.vm_size.unwrap_or_default(),
            wanted.vm_size
        ));
    }
    let vm = have.virtual_machine_configuration.unwrap_or_default();
    let w = &wanted.virtual_machine_configuration;
    let wi = &w.image_reference;
    let hi = &vm.image_reference;
    let image_same = same(hi.publisher.as_deref(), wi.publisher.as_deref())
        && same(hi.offer.as_deref(), wi.offer.as_deref())
        && same(hi.sku.as_deref(), wi.sku.as_deref())
        && same(
            hi.virtual_machine_image_id.as_deref(),
            wi.virtual_machine_image_id.as_deref(),
        );
    if !image_same {
        differences.push("another image".to_string());
    }
    if !vm.node_agent_sku_id.eq_ignore_ascii_case(&w.node_agent_sku_id) {
        differences.push(format!(
            "node agent `{}` (the workflow wants `{}`)",
            vm.node_agent_sku_id, w.node_agent_sku_id
        ));
    }
    if have.state.as_deref() == Some("deleting") {
        return Err(RunError::Conflict(format!(
            "pool `{}` is being deleted; run again once it is gone",
            wanted.id
        )));
    }
    if differences.is_empty() {
        super::reuse::existing(ctx, wanted, &have.metadata).await
    } else {
        Err(RunError::Conflict(format!(
            "pool `{}` already exists with {}: delete it (`az batch pool delete --pool-id {}`) or give the workflow's pool another name",
            wanted.id,
            differences.join(", "),
            wanted.id
        )))
    }
}

/// Waits for a steady allocation (re-issuing short resizes) and for start tasks.
pub async fn wait_ready(ctx: &Ctx, pool: &str) -> Result<(), RunError> {
    let started = Instant::now();
    let key = format!("pool {pool}");
    let result = allocate(ctx, pool, &key).await;
    ctx.waiting(&key, None);
    if result.is_ok() {
        ctx.note(format!(
            "pool `{pool}` is ready ({:.0}s)",
            started.elapsed().as_secs_f64()
        ));
    }
    result
}

async fn allocate(ctx: &Ctx, pool: &str, key: &str) -> Result<(), RunError> {
    let path = format!("/pools/{pool}");
    let mut resizes = 0;
    loop {
        stop_if_interrupted(ctx)?;
        let p: CloudPool = list::get(&ctx.client, &path, &[("$select", POOL_FIELDS)]).await?;
        let (have, want) = (
            p.current_dedicated_nodes + p.current_low_priority_nodes,
            p.target_dedicated_nodes + p.target_low_priority_nodes,
        );
        let allocation = p.allocation_state.as_deref().unwrap_or("unknown");
        ctx.waiting(
            key,
            Some(format!("pool `{pool}`: {allocation}, {have} of {want} nodes")),
        );
        if allocation != "steady" {
            tokio::time::sleep(ctx.opts.poll).await;
            continue;
        }
        if p.enable_auto_scale != Some(true) && have < want {
            let errors: Vec<String> = p
                .resize_errors
                .iter()
                .map(|e| format!("{}: {}", e.code, e.message))
                .collect();
            let why = if errors.is_empty() {
                "no error given".to_string()
            } else {
                errors.join("; ")
            };
            if resizes < ctx.opts.resize_retries {
                resizes += 1;
                ctx.note(format!(
                    "pool `{pool}` stopped at {have} of {want} nodes ({why}); resizing again ({resizes} of {})",
                    ctx.opts.resize_retries
                ));
                let body = serde_json::json!({
                    "targetDedicatedNodes": p.target_dedicated_nodes,
                    "targetLowPriorityNodes": p.target_low_priority_nodes,
                });
                ctx.client
                    .send(
                        Method::POST,
                        &format!("{path}/resize"),
                        &[],
                        Some(body.to_string().into_bytes()),
                    )
                    .await
                    .map_err(|e| RunError::batch(format!("resize pool `{pool}`"), e))?;
                tokio::time::sleep(ctx.opts.poll).await;
                continue;
            }
            if have == 0 {
                return Err(RunError::Pool(format!(
                    "pool `{pool}` has no nodes after {resizes} resizes ({why})"
                )));
            }
            ctx.note(format!("pool `{pool}` goes on with {have} of {want} nodes ({why})"));
        }
        if let Ok(mut ready) = ctx.ready.lock() {
            ready.push(super::PoolReady {
                pool: pool.to_string(),
                at: std::time::Instant::now(),
                dedicated: p.current_dedicated_nodes,
                low_priority: p.current_low_priority_nodes,
            });
        }
        return wait_start_tasks(ctx, pool, key).await;
    }
}

/// Until no node is settling; start-task failures are reported with the node, the error code
/// and the end of the start task's stderr. A pool where every node failed is an error.
async fn wait_start_tasks(ctx: &Ctx, pool: &str, key: &str) -> Result<(), RunError> {
    let path = format!("/pools/{pool}/nodes");
    loop {
        stop_if_interrupted(ctx)?;
        let nodes: Vec<ComputeNode> = list::all(&ctx.client, &path, &[("$select", "id,state,startTaskInfo")])
            .await
            .map_err(|e| RunError::batch(format!("list the nodes of pool `{pool}`"), e))?;
        ctx.waiting(key, Some(format!("pool `{pool}`: nodes {}", node_states(&nodes))));
        if nodes.iter().any(|n| SETTLING.contains(&n.state.as_str())) {
            tokio::time::sleep(ctx.opts.poll).await;
            continue;
        }
        let failed: Vec<&ComputeNode> = nodes.iter().filter(|n| n.state == "starttaskfailed").collect();
        for node in failed.iter().take(3) {
            let info = node.start_task_info.clone().unwrap_or_default();
            let code = info
                .failure_info
                .as_ref()
                .and_then(|f| f.code.clone())
                .unwrap_or_else(|| "FailureExitCode".into());
            let exit = info.exit_code.map_or_else(String::new, |c| format!(", exit code {c}"));
            let tail = file_tail(ctx, &format!("{path}/{}/files/startup/stderr.txt", node.id))
                .await
                .unwrap_or_else(|why| format!("({why})"));
            ctx.note(format!(
                "the start task failed on node `{}` of pool `{pool}` ({code}{exit}); the end of its stderr:\n{tail}",
                node.id
            ));
        }
        if failed.len() > 3 {
            ctx.note(format!("... and on {} more nodes of pool `{pool}`", failed.len() - 3));
        }
        let usable = nodes
            .iter()
            .filter(|n| matches!(n.state.as_str(), "idle" | "running"))
            .count();
        if usable == 0 && !failed.is_empty() {
            return Err(RunError::Pool(format!(
                "every node of pool `{pool}` failed its start task"
            )));
        }
        return Ok(());
    }
}

/// "3 idle, 1 starting": how many nodes are in each state, most common first.
fn node_states(nodes: &[ComputeNode]) -> String {
    let mut by_state: Vec<(&str, usize)> = Vec::new();
    for n in nodes {
        match by_state.iter_mut().find(|(s, _)| *s == n.state) {
            Some((_, k)) => *k += 1,
            None => by_state.push((&n.state, 1)),
        }
    }
    by_state.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = by_state.iter().map(|(s, k)| format!("{k} {s}")).collect();
    if parts.is_empty() {
        "none yet".into()
    } else {
        parts.join(", ")
    }
}

/// The last lines of a node or task file.
pub async fn file_tail(ctx: &Ctx, path: &str) -> Result<String, RunError> {
    let r = ctx
        .client
        .send(Method::GET, path, &[], None)
        .await
        .map_err(|e| RunError::batch(format!("read {path}"), e))?;
    let text = String::from_utf8_lossy(&r.body);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    Ok(lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n"))
}

pub fn stop_if_interrupted(ctx: &Ctx) -> Result<(), RunError> {
    if ctx.opts.interrupt.load(Ordering::SeqCst) {
        Err(RunError::Interrupted)
    } else {
        Ok(())
    }
}
