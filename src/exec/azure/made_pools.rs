//! The pools batchflow made in an account (`batchflow pools`): found by their metadata, with
//! the run that holds them, whether they are idle (kept, or left by their last run) and since
//! when, their nodes, and what they cost per hour while they have their nodes; and deleting
//! them (`batchflow pools delete`), never under a job that still runs.

use super::client::BatchClient;
use super::list;
use super::models::CloudPool;
use crate::exec::azure::models::PoolInfo;
use crate::exec::error::BatchError as Error;
use crate::plan::estimate::Prices;
use crate::plan::identity::{self, meta};
use reqwest::Method;
use serde::Serialize;
use std::collections::BTreeMap;

/// What `GET /pools` reads.
const FIELDS: &str = "id,vmSize,state,allocationState,currentDedicatedNodes,currentLowPriorityNodes,targetDedicatedNodes,targetLowPriorityNodes,enableAutoScale,virtualMachineConfiguration,metadata";

/// One pool batchflow made, as `batchflow pools --format json` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct MadePool {
    pub id: String,
    pub workflow: String,
    /// The run that made it, or last took or left it.
    pub run: String,
    /// `in use`, `idle` (a run left it: kept, or shrinking once idle), `deleting`.
    pub state: String,
    /// When its last run left it (RFC 3339).
    pub idle_since: Option<String>,
    /// How long it may stay idle before it has no nodes (ISO 8601), when kept on purpose.
    pub keep: Option<String>,
    pub vm_size: String,
    /// Nodes it has now, and is heading for.
    pub nodes: u32,
    pub target: u32,
    /// Its dedicated and low-priority nodes while it has tasks (a fixed-size pool).
    pub size: Option<[u32; 2]>,
    /// What it costs per hour with those nodes, at the account region's prices.
    pub cost_per_hour: Option<f64>,
    pub currency: Option<String>,
    /// Active jobs on it now.
    pub active_jobs: Vec<String>,
    #[serde(skip)]
    pub windows: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Job {
    id: String,
    pool_info: PoolInfo,
}

/// Every pool of the account batchflow made, by id.
pub async fn list(client: &BatchClient) -> Result<Vec<MadePool>, Error> {
    let pools: Vec<CloudPool> = list::all(client, "/pools", &[("$select", FIELDS)]).await?;
    let jobs: Vec<Job> = list::all(
        client,
        "/jobs",
        &[("$filter", "state eq 'active'"), ("$select", "id,poolInfo")],
    )
    .await?;
    let mut active: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for j in jobs {
        active
            .entry(j.pool_info.pool_id.to_ascii_lowercase())
            .or_default()
            .push(j.id);
    }
    let mut out: Vec<MadePool> = pools.into_iter().filter_map(|p| made(p, &active)).collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

fn made(p: CloudPool, active: &BTreeMap<String, Vec<String>>) -> Option<MadePool> {
    let m = &p.metadata;
    let workflow = identity::value(m, meta::WORKFLOW)?.to_string();
    let idle_since = identity::value(m, meta::IDLE_SINCE).map(str::to_string);
    let state = if p.state.as_deref() == Some("deleting") {
        "deleting"
    } else if idle_since.is_some() {
        "idle"
    } else {
        "in use"
    };
    let size = identity::value(m, meta::NODES).and_then(|n| {
        let (d, l) = n.split_once(',')?;
        Some([d.trim().parse().ok()?, l.trim().parse().ok()?])
    });
    let agent = p
        .virtual_machine_configuration
        .as_ref()
        .map(|v| v.node_agent_sku_id.to_ascii_lowercase())
        .unwrap_or_default();
    Some(MadePool {
        active_jobs: active.get(&p.id.to_ascii_lowercase()).cloned().unwrap_or_default(),
        workflow,
        run: identity::value(m, meta::RUN).unwrap_or("").to_string(),
        state: state.into(),
        idle_since,
        keep: identity::value(m, meta::KEEP).map(str::to_string),
        vm_size: p.vm_size.clone().unwrap_or_default(),
        nodes: p.current_dedicated_nodes + p.current_low_priority_nodes,
        target: p.target_dedicated_nodes + p.target_low_priority_nodes,
        size: size.or_else(|| {
            (p.enable_auto_scale != Some(true)).then_some([p.target_dedicated_nodes, p.target_low_priority_nodes])
        }),
        cost_per_hour: None,
        currency: None,
        windows: agent.starts_with("batch.node.windows"),
        id: p.id,
    })
}

/// The sizes to price: (VM size, Windows).
pub fn sizes(pools: &[MadePool]) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = pools.iter().map(|p| (p.vm_size.clone(), p.windows)).collect();
    out.sort();
    out.dedup();
    out
}

/// Fills in what each pool costs per hour with its nodes, where the prices say.
pub fn price(pools: &mut [MadePool], prices: &Prices) {
    for p in pools {
        let Some([dedicated, low]) = p.size else { continue };
        let h = prices.get(&p.vm_size, p.windows);
        let cost = match (dedicated, low) {
            (0, 0) => Some(0.0),
            (d, 0) => h.dedicated.map(|r| r * f64::from(d)),
            (0, l) => h.low_priority.map(|r| r * f64::from(l)),
            (d, l) => h
                .dedicated
                .zip(h.low_priority)
                .map(|(a, b)| a * f64::from(d) + b * f64::from(l)),
        };
        p.cost_per_hour = cost;
        p.currency = cost.map(|_| prices.currency.clone());
    }
}

/// Deletes pool `id`: only one batchflow made, and only when no job runs on it.
pub async fn delete(client: &BatchClient, pool: &MadePool) -> Result<String, String> {
    let id = &pool.id;
    if !pool.active_jobs.is_empty() {
        return Err(format!(
            "pool `{id}` is in use by job{} {}: end the run first (`batchflow cancel RUN`)",
            if pool.active_jobs.len() == 1 { "" } else { "s" },
            pool.active_jobs
                .iter()
                .map(|j| format!("`{j}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match client.send(Method::DELETE, &format!("/pools/{id}"), &[], None).await {
        Ok(_) => Ok(format!("pool `{id}` is being deleted")),
        Err(e) if matches!(e.code(), Some("PoolNotFound") | Some("PoolBeingDeleted")) => {
            Ok(format!("pool `{id}` is being deleted already"))
        }
        Err(e) => Err(format!("cannot delete pool `{id}`: {e}")),
    }
}
