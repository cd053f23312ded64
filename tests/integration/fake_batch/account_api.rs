//! Account-level reads of the pre-flight: `GET /supportedimages` (the configured list, in pages
//! of `Config::supported_images_page`, so every reader follows `odata.nextLink`), and the lists
//! of jobs and job schedules (`$filter=state eq 'active'`), with `Config::extra_active_jobs`
//! jobs of other runs among them.
//!
//! Shapes: the REST specs' `Account_ListSupportedImages` example
//! (specification/batch/data-plane/Microsoft.Batch/stable/2024-02-01.19.0/examples/AccountListSupportedImages.json).

use super::api::{next_link, paging, Result};
use super::odata;
use super::{Faults, Reply, Req, Shared};
use serde_json::{json, Value};

/// One page of `items` from `skip`, at most `max`, with the next page's link.
fn page(shared: &Shared, req: &Req, kind: &str, items: Vec<Value>, skip: usize, max: usize) -> Reply {
    let mut body = json!({
        "odata.metadata": format!("{}/$metadata#{kind}", shared.base),
        "value": items.iter().skip(skip).take(max).cloned().collect::<Vec<_>>(),
    });
    if skip + max < items.len() {
        body["odata.nextLink"] = json!(next_link(shared, req, skip + max));
    }
    Reply::json(200, &body)
}

pub fn supported_images(shared: &Shared, req: &Req) -> Result<Reply> {
    let paging = paging(shared, req)?;
    let max = paging.max.min(shared.config.supported_images_page.max(1));
    let items: Vec<Value> = shared
        .config
        .supported_images
        .iter()
        .filter(|v| {
            paging
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&mut |path| odata::lookup(v, path)))
        })
        .cloned()
        .collect();
    Ok(page(shared, req, "supportedimages", items, paging.skip, max))
}

pub fn list_jobs(shared: &Shared, req: &Req, faults: &Faults) -> Result<Reply> {
    let paging = paging(shared, req)?;
    let mut all: Vec<Value> = shared.with_sim(faults, |sim, _| (0..sim.jobs.len()).map(|j| sim.job_json(j)).collect());
    all.extend(
        (0..shared.config.extra_active_jobs).map(|i| json!({"id": format!("other-run-{i}"), "state": "active"})),
    );
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
    Ok(page(shared, req, "jobs", items, paging.skip, paging.max))
}

/// The fake has no job schedules.
pub fn list_job_schedules(shared: &Shared, req: &Req) -> Result<Reply> {
    let paging = paging(shared, req)?;
    Ok(page(shared, req, "jobschedules", Vec::new(), paging.skip, paging.max))
}
