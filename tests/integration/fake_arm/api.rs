//! The routes of the fake ARM and what each checks. Shapes follow the REST specs' examples
//! (specification/batch/resource-manager/Microsoft.Batch/stable/2024-02-01/examples/):
//! `BatchAccountGet.json` and `BatchAccountListByResourceGroup.json` for accounts,
//! `LocationListVirtualMachineSkus.json` for sizes; subscriptions, gallery image versions,
//! managed images and identities carry the fields batchflow reads, in their ARM shapes.

use super::{pools, prices, Reply, Req, State};
use serde_json::{json, Value};

/// The api-versions each resource type takes here.
const BATCH_APIS: &[&str] = &["2025-06-01", "2024-07-01", "2024-02-01"];
const SUBSCRIPTION_APIS: &[&str] = &["2022-12-01", "2020-01-01"];
const COMPUTE_IMAGE_APIS: &[&str] = &["2024-03-01", "2024-07-01"];
const GALLERY_APIS: &[&str] = &["2023-07-03", "2024-03-03"];
const IDENTITY_APIS: &[&str] = &["2023-01-31", "2024-11-30"];

pub fn handle(state: &State, req: &Req) -> Reply {
    {
        let mut faults = state.faults();
        if faults.throttle_next > 0 {
            faults.throttle_next -= 1;
            state.log().throttled += 1;
            return Reply::error(429, "TooManyRequests", "The request is being throttled.")
                .header("Retry-After", faults.retry_after_secs.to_string());
        }
    }
    let lower: Vec<String> = req.segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let segs: Vec<&str> = lower.iter().map(String::as_str).collect();
    if let ["api", "retail", "prices"] = segs.as_slice() {
        return prices::handle(state, req);
    }
    let bearer = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| !t.trim().is_empty());
    if !bearer {
        return Reply::error(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        );
    }
    let apis = match segs.as_slice() {
        ["subscriptions"] => SUBSCRIPTION_APIS,
        [.., "microsoft.compute", "galleries", _, "images", _, "versions"]
        | [.., "microsoft.compute", "galleries", _, "images", _, "versions", _] => GALLERY_APIS,
        [.., "microsoft.compute", "images", _] => COMPUTE_IMAGE_APIS,
        [.., "microsoft.managedidentity", "userassignedidentities", _] => IDENTITY_APIS,
        _ => BATCH_APIS,
    };
    match req.param("api-version") {
        Some(v) if apis.contains(&v) => {}
        other => {
            return Reply::error(
                400,
                "InvalidApiVersionParameter",
                &format!(
                    "The api-version '{}' is invalid. The supported versions are '{}'.",
                    other.unwrap_or(""),
                    apis.join(",")
                ),
            )
        }
    }
    let batch = segs.contains(&"microsoft.batch");
    let forbidden_path = {
        let faults = state.faults();
        let path = req.path.to_ascii_lowercase();
        faults
            .forbid_paths
            .iter()
            .any(|p| path.contains(&p.to_ascii_lowercase()))
    };
    if (batch && state.faults().forbid) || forbidden_path {
        return Reply::error(
            403,
            "AuthorizationFailed",
            &format!(
                "The client 'batchflow' does not have authorization to perform action 'Microsoft.Batch/batchAccounts/read' over scope '{}' or the scope is invalid.",
                req.path
            ),
        );
    }
    let c = &state.config;
    let ours = |s: &str, rg: &str, a: &str| {
        s.eq_ignore_ascii_case(&c.subscription)
            && rg.eq_ignore_ascii_case(&c.resource_group)
            && a.eq_ignore_ascii_case(&c.account)
    };
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["subscriptions"]) => subscriptions(state),
        ("GET", ["subscriptions", s, "providers", "microsoft.batch", "batchaccounts"]) => accounts(state, req, s),
        ("GET", ["subscriptions", s, "resourcegroups", rg, "providers", "microsoft.batch", "batchaccounts", a])
            if ours(s, rg, a) =>
        {
            Reply::json(200, account(state))
        }
        ("GET", ["subscriptions", s, "providers", "microsoft.batch", "locations", loc, "virtualmachineskus"]) => {
            if !s.eq_ignore_ascii_case(&c.subscription) || !loc.eq_ignore_ascii_case(&c.location) {
                return Reply::json(200, json!({"value": []}));
            }
            page(state, req, &c.skus, "value", "nextLink")
        }
        (
            "GET",
            ["subscriptions", s, "resourcegroups", rg, "providers", "microsoft.batch", "batchaccounts", a, "pools"],
        ) if ours(s, rg, a) => {
            let all = pools::list(state);
            page(state, req, &all, "value", "nextLink")
        }
        (
            method,
            ["subscriptions", s, "resourcegroups", rg, "providers", "microsoft.batch", "batchaccounts", a, "pools", p],
        ) if ours(s, rg, a) => {
            let name = &req.segments[req.segments.len() - 1];
            match method {
                "GET" => pools::get(state, name),
                "PUT" => pools::put(state, req, name),
                "DELETE" => pools::delete(state, name),
                _ => Reply::error(405, "MethodNotAllowed", &format!("{method} is not allowed on pool {p}")),
            }
        }
        ("GET", [.., "microsoft.compute", "galleries", _, "images", _, "versions"]) => {
            let prefix = format!("{}/", req.path.trim_end_matches('/'));
            let versions: Vec<Value> = c
                .gallery_images
                .iter()
                .filter(|g| {
                    g["id"]
                        .as_str()
                        .is_some_and(|id| id.to_ascii_lowercase().starts_with(&prefix.to_ascii_lowercase()))
                })
                .map(gallery_version)
                .collect();
            page(state, req, &versions, "value", "nextLink")
        }
        ("GET", [.., "microsoft.compute", "galleries", _, "images", _, "versions", _]) => {
            match find(&c.gallery_images, &req.path) {
                Some(g) => Reply::json(200, gallery_version(g)),
                None => not_found(req),
            }
        }
        ("GET", [.., "microsoft.compute", "images", _]) => match find(&c.managed_images, &req.path) {
            Some(m) => Reply::json(
                200,
                json!({"id": m["id"], "name": req.segments.last(), "location": m["location"], "type": "Microsoft.Compute/images", "properties": {"provisioningState": "Succeeded"}}),
            ),
            None => not_found(req),
        },
        ("GET", [.., "microsoft.managedidentity", "userassignedidentities", _]) => {
            match c.identities.iter().find(|i| i.eq_ignore_ascii_case(&req.path)) {
                Some(id) => Reply::json(
                    200,
                    json!({
                        "id": id,
                        "name": req.segments.last(),
                        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                        "location": c.location,
                        "properties": {"tenantId": "t", "principalId": "p", "clientId": "c"}
                    }),
                ),
                None => not_found(req),
            }
        }
        _ => not_found(req),
    }
}

fn not_found(req: &Req) -> Reply {
    Reply::error(
        404,
        "ResourceNotFound",
        &format!("The Resource '{}' was not found.", req.path),
    )
}

fn find<'a>(all: &'a [Value], id: &str) -> Option<&'a Value> {
    all.iter()
        .find(|v| v["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
}

fn gallery_version(g: &Value) -> Value {
    let regions: Vec<Value> = g["targetRegions"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| json!({"name": r, "regionalReplicaCount": 1}))
                .collect()
        })
        .unwrap_or_default();
    let id = g["id"].as_str().unwrap_or("");
    json!({
        "id": id,
        "name": id.rsplit('/').next(),
        "type": "Microsoft.Compute/galleries/images/versions",
        "location": g["location"],
        "properties": {
            "publishingProfile": {
                "targetRegions": regions,
                "publishedDate": g.get("publishedDate").cloned().unwrap_or_else(|| json!(format!("2026-01-01T00:00:{:02}Z", id.len() % 60))),
                "excludeFromLatest": false
            },
            "provisioningState": "Succeeded"
        }
    })
}

fn subscriptions(state: &State) -> Reply {
    let sub = |id: &str| json!({"id": format!("/subscriptions/{id}"), "subscriptionId": id, "displayName": id, "state": "Enabled", "tenantId": "t"});
    Reply::json(
        200,
        json!({"value": [sub(super::catalog::OTHER_SUBSCRIPTION), sub(&state.config.subscription)]}),
    )
}

/// The account as `BatchAccount_Get` shows it.
fn account(state: &State) -> Value {
    let c = &state.config;
    let mut properties = c.properties.clone();
    properties["accountEndpoint"] = json!(c.account_endpoint);
    json!({
        "id": c.account_id(),
        "name": c.account,
        "type": "Microsoft.Batch/batchAccounts",
        "location": c.location,
        "properties": properties,
        "identity": {"type": "None"}
    })
}

/// The subscription's accounts: another account first (another endpoint), then ours.
fn accounts(state: &State, req: &Req, subscription: &str) -> Reply {
    let c = &state.config;
    if !subscription.eq_ignore_ascii_case(&c.subscription) {
        return Reply::json(200, json!({"value": []}));
    }
    let other = json!({
        "id": format!("/subscriptions/{}/resourceGroups/other-rg/providers/Microsoft.Batch/batchAccounts/otheracct", c.subscription),
        "name": "otheracct",
        "type": "Microsoft.Batch/batchAccounts",
        "location": "eastus",
        "properties": {"accountEndpoint": "otheracct.eastus.batch.azure.com", "provisioningState": "Succeeded", "poolAllocationMode": "BatchService", "dedicatedCoreQuota": 20, "lowPriorityCoreQuota": 20, "poolQuota": 20, "activeJobAndJobScheduleQuota": 20},
        "identity": {"type": "None"}
    });
    page(state, req, &[other, account(state)], "value", "nextLink")
}

/// One page of `items` (`$skiptoken` is the offset), with the link to the next.
pub fn page(state: &State, req: &Req, items: &[Value], key: &str, link: &str) -> Reply {
    let size = state.config.page_size.max(1);
    let skip: usize = req.param("$skiptoken").and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut body = json!({ key: items.iter().skip(skip).take(size).cloned().collect::<Vec<_>>() });
    if skip + size < items.len() {
        let query: Vec<String> = req
            .query
            .iter()
            .filter(|(k, _)| k != "$skiptoken")
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    crate::fake_batch::odata::encode(k),
                    crate::fake_batch::odata::encode(v)
                )
            })
            .collect();
        body[link] = json!(format!(
            "{}{}?{}&$skiptoken={}",
            state.base,
            req.path,
            query.join("&"),
            skip + size
        ));
    }
    Reply::json(200, body)
}
