//! What a local run refuses before anything starts: Windows pools, pools without nodes,
//! whole-container inputs, mounts without a local folder, unset secrets, container tasks
//! without a container CLI; and the notes on how it simulates the pools.

use super::Model;
use crate::exec::error::RunError;
use crate::plan::Plan;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// Refuses what cannot run here before anything starts.
pub fn preflight(
    model: &Model,
    plan: &Plan,
    env: &HashMap<String, String>,
    mounts: &BTreeMap<String, PathBuf>,
) -> Result<(), RunError> {
    let windows: Vec<&str> = model
        .pools
        .iter()
        .filter(|p| p.windows)
        .map(|p| p.id.as_str())
        .collect();
    if !windows.is_empty() {
        return Err(RunError::Refused(format!(
            "pool(s) {} run Windows: the local runner runs Linux commands only; check the workflow with `batchflow check` and run it on Azure Batch",
            windows.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some(why) = pool_without_nodes(model) {
        return Err(RunError::Refused(why));
    }
    let whole = container_input_users(model);
    if !whole.is_empty() {
        return Err(RunError::Refused(format!(
            "{} take a whole blob container as input (`storageContainerUrl`), which a local run cannot list: name the files one by one in `inputs`, or run on Azure Batch",
            whole.join(", ")
        )));
    }
    if let Some(why) = super::mounts::unmapped(model, mounts) {
        return Err(RunError::Refused(why));
    }
    crate::exec::preflight::secrets_set(plan, env)
}

/// A fixed-size pool with no nodes that a job runs on: on Batch its tasks would wait forever.
fn pool_without_nodes(model: &Model) -> Option<String> {
    model.jobs.iter().find_map(|j| {
        let pool = model.pools.get(j.pool)?;
        (pool.dedicated == 0 && pool.low_priority == 0).then(|| {
            format!(
                "pool `{}` has no nodes (`dedicated` and `low_priority` are 0), so the tasks of job `{}` would never run, on Batch as here; give it nodes",
                pool.id, j.id
            )
        })
    })
}

/// Notes on how a run simulates its pools: a pool larger than the local runner simulates, an
/// autoscale pool.
pub fn node_notes(model: &Model) -> Vec<String> {
    use super::layout::MAX_NODES;
    let mut out = Vec::new();
    for p in &model.pools {
        let nodes = u64::from(p.dedicated) + u64::from(p.low_priority);
        if p.autoscale {
            out.push(format!(
                "pool `{}` scales automatically: a local run cannot evaluate its formula and gives it 1 node",
                p.id
            ));
        } else if nodes > u64::from(MAX_NODES) {
            out.push(format!(
                "pool `{}` has {nodes} nodes; a local run simulates {MAX_NODES} of them, its most per pool, and spreads the tasks over those",
                p.id
            ));
        }
    }
    out
}

/// The units whose inputs name a whole container.
fn container_input_users(model: &Model) -> Vec<String> {
    use super::inputs::container_inputs;
    let mut out: Vec<String> = Vec::new();
    for p in &model.pools {
        if p.start_task
            .as_ref()
            .is_some_and(|st| container_inputs(&st.resource_files).next().is_some())
        {
            out.push(format!("the start task of pool `{}`", p.id));
        }
    }
    for j in &model.jobs {
        if j.prep()
            .is_some_and(|t| container_inputs(&t.resource_files).next().is_some())
        {
            out.push(format!("the preparation task of job `{}`", j.id));
        }
        if j.release()
            .is_some_and(|t| container_inputs(&t.resource_files).next().is_some())
        {
            out.push(format!("the release task of job `{}`", j.id));
        }
    }
    let tasks = model
        .tasks
        .iter()
        .filter(|t| container_inputs(&t.body.resource_files).next().is_some());
    out.extend(tasks.map(|t| format!("task `{}`", t.body.id)));
    if out.len() > 5 {
        let more = out.len() - 5;
        out.truncate(5);
        out.push(format!("{more} more"));
    }
    out
}

pub fn no_runtime(model: &Model) -> String {
    let mut names: Vec<String> = model
        .tasks
        .iter()
        .filter(|t| t.body.container_settings.is_some())
        .take(5)
        .map(|t| format!("`{}`", t.body.id))
        .collect();
    let more = model
        .tasks
        .iter()
        .filter(|t| t.body.container_settings.is_some())
        .count()
        .saturating_sub(names.len());
    if more > 0 {
        names.push(format!("and {more} more"));
    }
    format!(
        "container tasks ({}) need a docker-compatible CLI, and neither `docker` nor `podman` is on the PATH; install one, or name one with `--container-cli PATH` or BATCHFLOW_CONTAINER_CLI",
        names.join(", ")
    )
}
