//! `GET /api/retail/prices`: the configured rows that match the `$filter` (`field eq 'value'`
//! clauses joined by `and`, compared without case as the API's older versions do), in pages
//! linked by `NextPageLink` (`$skip`), in the shape of the Retail Prices overview's sample
//! response (learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices).
//! A request without `serviceName eq 'Virtual Machines'` or without `currencyCode` is refused:
//! batchflow always narrows its query.

use super::{Reply, Req, State};
use serde_json::{json, Value};

/// `a eq 'x' and b eq 'y'` as (field, value) pairs; `None` when it is not that.
fn clauses(filter: &str) -> Option<Vec<(String, String)>> {
    filter
        .split(" and ")
        .map(|c| {
            let (field, value) = c.trim().split_once(" eq ")?;
            let value = value.trim().strip_prefix('\'')?.strip_suffix('\'')?;
            Some((field.trim().to_string(), value.to_string()))
        })
        .collect()
}

pub fn handle(state: &State, req: &Req) -> Reply {
    let Some(filter) = req.param("$filter").and_then(clauses) else {
        return Reply::json(
            400,
            json!({"Error": {"Code": "InvalidFilter", "Message": "a $filter of `field eq 'value'` clauses is required"}}),
        );
    };
    let vm = filter
        .iter()
        .any(|(f, v)| f == "serviceName" && v == "Virtual Machines");
    if !vm || req.param("currencyCode").is_none() {
        return Reply::json(
            400,
            json!({"Error": {"Code": "InvalidQuery", "Message": "the fake wants serviceName eq 'Virtual Machines' and a currencyCode"}}),
        );
    }
    let currency = req
        .param("currencyCode")
        .unwrap_or("'USD'")
        .trim_matches('\'')
        .to_string();
    let rows: Vec<Value> = state
        .config
        .prices
        .iter()
        .filter(|row| {
            filter.iter().all(|(f, v)| {
                row[f.as_str()]
                    .as_str()
                    .is_some_and(|have| have.eq_ignore_ascii_case(v))
            })
        })
        .map(|row| {
            let mut r = row.clone();
            r["currencyCode"] = json!(currency);
            r
        })
        .collect();
    let size = state.config.page_size.max(1);
    let skip: usize = req.param("$skip").and_then(|s| s.parse().ok()).unwrap_or(0);
    let items: Vec<Value> = rows.iter().skip(skip).take(size).cloned().collect();
    let next = (skip + size < rows.len()).then(|| {
        let query: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k != "$skip")
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    crate::fake_batch::odata::encode(k),
                    crate::fake_batch::odata::encode(v)
                )
            })
            .collect();
        format!(
            "{}/api/retail/prices?{}&$skip={}",
            state.base,
            query.join("&"),
            skip + size
        )
    });
    Reply::json(
        200,
        json!({
            "BillingCurrency": currency,
            "CustomerEntityId": "Default",
            "CustomerEntityType": "Retail",
            "Items": items,
            "NextPageLink": next,
            "Count": items.len(),
        }),
    )
}
