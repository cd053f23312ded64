//! Ending a run (when it is done, or `batchflow cancel` ends it): its jobs are terminated, and
//! of its pools:
//! - a pool it found that batchflow did not make is left as it was;
//! - a pool with `keep` (or every pool, with `--keep-pools`), or one another run kept, is
//!   kept: autoscaling with the idle formula, its metadata saying who held it last and since
//!   when it is idle (`batchflow pools` lists it);
//! - a pool another run took since (its metadata names that run, not idle) is that run's to
//!   leave; a pool another run's job still uses is left to that run, shrinking once idle;
//! - any other pool is deleted (through Azure Resource Manager when it was created there).

use super::arm::pools::ArmAccount;
use super::client::BatchClient;
use super::control::{adopted_mark, created, job_id, terminate_job, JobIds};
use super::list;
use super::models::CloudPool;
use super::warm;
use crate::exec::azure::models::PoolInfo;
use crate::plan::identity::{self, meta};
use crate::plan::keep::DEFAULT_IDLE_SECS;
use crate::plan::{Plan, StepKind};
use reqwest::Method;
use std::collections::{HashMap, HashSet};

/// How long a pool left to another run may stay idle once that run is done with it.
const HANDED_OVER_IDLE_SECS: u64 = 10 * 60;

/// A run at its end.
pub struct RunEnd<'a> {
    pub client: &'a BatchClient,
    pub plan: &'a Plan,
    pub run_id: &'a str,
    /// The run's Batch job ids, by the workflow's job names.
    pub job_ids: &'a JobIds,
    /// The plan steps done (`steps.log`): pools not created (or found) are not the run's.
    pub done: &'a HashSet<String>,
    /// `--keep-pools`: keep every pool, for `DEFAULT_IDLE_SECS` when it says no `keep`.
    pub keep_pools: bool,
    /// For pools created through Azure Resource Manager, deleted there.
    pub arm: Option<&'a ArmAccount>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ActiveJob {
    id: String,
    pool_info: PoolInfo,
}

/// Terminates the run's jobs (those it created: `end.done` holds the finished steps), then
/// leaves its pools ([`pools`]). Returns one line per action.
pub async fn end_run(end: &RunEnd<'_>) -> Vec<String> {
    let (_, jobs) = created(end.plan);
    let mut lines = Vec::new();
    for job in jobs
        .iter()
        .filter(|j| end.done.contains(&StepKind::CreateJob { job: j.to_string() }.id()))
    {
        let id = job_id(end.job_ids, job);
        match terminate_job(end.client, id, "RunEnded").await {
            Ok(true) => lines.push(format!("job `{job}` (`{id}`) terminated")),
            Ok(false) => {}
            Err(e) => lines.push(format!("cannot terminate job `{job}` (`{id}`): {e}")),
        }
    }
    lines.extend(pools(end).await);
    lines
}

/// Leaves each pool the run created or found; one line per pool.
pub async fn pools(end: &RunEnd<'_>) -> Vec<String> {
    let (pools, _) = created(end.plan);
    let pools: Vec<String> = pools
        .into_iter()
        .filter(|p| end.done.contains(&StepKind::CreatePool { pool: p.clone() }.id()))
        .collect();
    if pools.is_empty() {
        return Vec::new();
    }
    let users = other_users(end).await;
    let mut lines = Vec::new();
    for pool in &pools {
        let others = match &users {
            Ok(by_pool) => by_pool.get(&pool.to_ascii_lowercase()).cloned().unwrap_or_default(),
            Err(why) => vec![why.clone()],
        };
        lines.extend(leave(end, pool, &others).await);
    }
    lines
}

/// The active jobs of other runs, by pool (lowercase); an error says why they are unknown.
async fn other_users(end: &RunEnd<'_>) -> Result<HashMap<String, Vec<String>>, String> {
    let mine: HashSet<String> = end.job_ids.values().map(|j| j.to_ascii_lowercase()).collect();
    let jobs: Vec<ActiveJob> = list::all(
        end.client,
        "/jobs",
        &[("$filter", "state eq 'active'"), ("$select", "id,poolInfo")],
    )
    .await
    .map_err(|e| format!("jobs unknown: {e}"))?;
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for j in jobs.into_iter().filter(|j| !mine.contains(&j.id.to_ascii_lowercase())) {
        out.entry(j.pool_info.pool_id.to_ascii_lowercase())
            .or_default()
            .push(j.id);
    }
    Ok(out)
}

/// What becomes of one pool; `others` are the active jobs of other runs on it.
async fn leave(end: &RunEnd<'_>, pool: &str, others: &[String]) -> Vec<String> {
    let fields = "id,state,metadata,enableAutoScale,autoScaleFormula";
    let have: CloudPool = match list::get_raw(end.client, &format!("/pools/{pool}"), &[("$select", fields)]).await {
        Ok(p) => p,
        Err(e) if e.code() == Some("PoolNotFound") => return Vec::new(),
        Err(e) => return vec![format!("cannot read pool `{pool}` to leave it: {e}")],
    };
    if have.state.as_deref() == Some("deleting") {
        return Vec::new();
    }
    let batchflows = identity::value(&have.metadata, meta::WORKFLOW).is_some();
    if end.done.contains(&adopted_mark(pool)) && !batchflows {
        return vec![format!(
            "pool `{pool}` was there before this run: left as it was (`az batch pool delete --pool-id {pool}` deletes it)"
        )];
    }
    let keep = end
        .plan
        .keep
        .iter()
        .find(|k| k.pool == pool)
        .and_then(|k| crate::value::parse_iso8601(&k.idle).map(|d| d.as_secs()))
        .or(end.keep_pools.then_some(DEFAULT_IDLE_SECS))
        // A keep another run asked for stands, whoever ends last: also for this run's own pool
        // (a resumed run that took a kept pool finds it as its own).
        .or_else(|| warm::kept_for(&have.metadata));
    // A run that took the pool after this one made or took it (before its first job is even
    // on it, so `others` may not show it yet) is the one to leave it.
    if let Some(holder) = warm::held_by_other(&have.metadata, end.run_id) {
        let Some(idle) = keep else {
            return vec![format!("pool `{pool}` is held by run `{holder}` now: left to it")];
        };
        let asked = match warm::set_metadata(end.client, pool, &warm::kept_longer(&have.metadata, idle)).await {
            Ok(()) => "kept when it ends".to_string(),
            Err(e) => format!("could not ask that it be kept ({e})"),
        };
        return vec![format!(
            "pool `{pool}` is held by run `{holder}` now: left to it, {asked}"
        )];
    }
    let Some(wanted) = warm::wanted(end.plan, pool) else {
        return delete(end, pool).await;
    };
    let (idle, line) = match (keep, others) {
        (Some(idle), _) => (
            idle,
            format!(
                "pool `{pool}` is kept: no nodes once it has had no tasks for {} (`batchflow pools` lists it, `batchflow pools delete {pool}` removes it)",
                crate::value::format_duration(idle)
            ),
        ),
        (None, []) => return delete(end, pool).await,
        (None, others) => (
            HANDED_OVER_IDLE_SECS,
            format!(
                "pool `{pool}` is left to the runs still using it ({}): no nodes once it has had no tasks for {}",
                others.join(", "),
                crate::value::format_duration(HANDED_OVER_IDLE_SECS)
            ),
        ),
    };
    if let Err(e) = warm::keep(end.client, pool, &wanted, idle).await {
        return vec![format!(
            "cannot keep pool `{pool}` ({e}): it stays at its size; `batchflow pools delete {pool}` removes it"
        )];
    }
    let now = crate::exec::inspect::utc(crate::exec::runs::now_ms() / 1000);
    let metadata = warm::left_metadata(&have.metadata, end.run_id, keep, &now, &wanted);
    if let Err(e) = warm::set_metadata(end.client, pool, &metadata).await {
        return vec![line, format!("cannot record on pool `{pool}` that it is kept: {e}")];
    }
    vec![line]
}

async fn delete(end: &RunEnd<'_>, pool: &str) -> Vec<String> {
    let through_arm = end
        .plan
        .steps
        .iter()
        .any(|s| s.kind == StepKind::CreateArmPool { pool: pool.to_string() });
    if let (true, Some(arm)) = (through_arm, end.arm) {
        return vec![match arm.delete(pool).await {
            Ok(()) => format!("pool `{pool}` is being deleted (through Azure Resource Manager)"),
            Err(e) => format!(
                "cannot delete pool `{pool}` through Azure Resource Manager: {e} (delete it with `az batch pool delete --pool-id {pool}`)"
            ),
        }];
    }
    match end
        .client
        .send(Method::DELETE, &format!("/pools/{pool}"), &[], None)
        .await
    {
        Ok(_) => vec![format!("pool `{pool}` is being deleted")],
        Err(e) if matches!(e.code(), Some("PoolNotFound") | Some("PoolBeingDeleted")) => Vec::new(),
        Err(e) => vec![format!(
            "cannot delete pool `{pool}`: {e} (delete it with `az batch pool delete --pool-id {pool}`)"
        )],
    }
}
