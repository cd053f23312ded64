//! The pool operations a kept pool needs: `GET /pools` (`batchflow pools`), `PATCH
//! /pools/{id}` (its metadata), `POST /pools/{id}/enableautoscale` and `disableautoscale`.
//!
//! Shapes: the REST specs' examples `PoolList_Basic.json` (a `value` list of pools as
//! `PoolGet_Basic.json` shows one) and `PoolEnableAutoscale.json` (body `autoScaleFormula`,
//! `autoScaleEvaluationInterval`; answer 200 with no body)
//! (specification/batch/data-plane/Microsoft.Batch/stable/2024-02-01.19.0/examples/).

use super::api::{next_link, paging, Result};
use super::odata;
use super::{Faults, Reply, Req, Shared};
use serde_json::{json, Value};

pub fn list_pools(shared: &Shared, req: &Req, faults: &Faults) -> Result<Reply> {
    let paging = paging(shared, req)?;
    let all = shared.with_sim(faults, |sim, _| sim.pools_json());
    let items: Vec<Value> = all
        .into_iter()
        .filter(|v| {
            paging
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&mut |path| odata::lookup(v, path)))
        })
        .map(|v| odata::select(v, paging.select.as_deref()))
        .collect();
    let mut body = json!({
        "odata.metadata": format!("{}/$metadata#pools", shared.base),
        "value": items.iter().skip(paging.skip).take(paging.max).cloned().collect::<Vec<_>>(),
    });
    if paging.skip + paging.max < items.len() {
        body["odata.nextLink"] = json!(next_link(shared, req, paging.skip + paging.max));
    }
    Ok(Reply::json(200, &body))
}

/// Headers of a changed pool.
fn changed(shared: &Shared, sim: &super::state::Sim, p: &str, status: u16) -> Result<Reply> {
    let i = sim.pool(p)?;
    let (etag, modified) = sim.pool_etag(i);
    Ok(Reply::empty(status)
        .header("DataServiceId", format!("{}/pools/{}", shared.base, sim.pools[i].id))
        .header("ETag", etag)
        .header("Last-Modified", modified))
}

pub fn patch_pool(shared: &Shared, faults: &Faults, p: &str, body: &Value) -> Result<Reply> {
    shared.with_sim(faults, |sim, now| -> Result<Reply> {
        sim.patch_pool(p, body, now)?;
        changed(shared, sim, p, 200)
    })
}

pub fn enable_autoscale(shared: &Shared, faults: &Faults, p: &str, body: &Value) -> Result<Reply> {
    let spacing = shared.config.enable_autoscale_spacing;
    shared.with_sim(faults, |sim, now| -> Result<Reply> {
        sim.enable_autoscale(p, body, now, spacing, faults)?;
        changed(shared, sim, p, 200)
    })
}

pub fn disable_autoscale(shared: &Shared, faults: &Faults, p: &str) -> Result<Reply> {
    shared.with_sim(faults, |sim, now| -> Result<Reply> {
        sim.disable_autoscale(p, now)?;
        changed(shared, sim, p, 200)
    })
}
