//! Pools through the fake ARM: `PUT` checks the body (shape of the REST specs'
//! `PoolCreate_UserAssignedIdentities.json`, stable/2023-11-01) and creates the pool on the fake
//! Batch service, translated to a Batch `POST /pools` body; `GET` shows it as ARM does, with the
//! identities' `principalId` and `clientId`; `DELETE` deletes it there.

use super::{Reply, Req, State};
use serde_json::{json, Map, Value};

const POOL_FIELDS: &[&str] = &["identity", "properties"];
const PROPERTIES: &[&str] = &[
    "displayName",
    "vmSize",
    "deploymentConfiguration",
    "scaleSettings",
    "interNodeCommunication",
    "taskSlotsPerNode",
    "startTask",
    "mountConfiguration",
    "metadata",
];
const VM_FIELDS: &[&str] = &["imageReference", "nodeAgentSkuId", "containerConfiguration"];
const IMAGE_FIELDS: &[&str] = &["publisher", "offer", "sku", "version", "id"];

fn unknown(v: &Value, allowed: &[&str], what: &str) -> Option<String> {
    let map = v.as_object()?;
    map.keys()
        .find(|k| !allowed.contains(&k.as_str()))
        .map(|k| format!("`{k}` is not a property of {what}"))
}

/// Why the body is not a pool ARM takes, if it is not.
fn invalid(state: &State, body: &Value) -> Option<String> {
    if !body.is_object() {
        return Some("the body is not a JSON object".into());
    }
    let p = &body["properties"];
    let vm = &p["deploymentConfiguration"]["virtualMachineConfiguration"];
    let checks = [
        unknown(body, POOL_FIELDS, "a pool"),
        unknown(p, PROPERTIES, "the pool's properties"),
        unknown(vm, VM_FIELDS, "virtualMachineConfiguration"),
        unknown(&vm["imageReference"], IMAGE_FIELDS, "imageReference"),
        p["vmSize"]
            .as_str()
            .is_none()
            .then(|| "properties.vmSize is required".to_string()),
        vm["nodeAgentSkuId"]
            .as_str()
            .is_none()
            .then(|| "deploymentConfiguration.virtualMachineConfiguration.nodeAgentSkuId is required".to_string()),
        (!vm["imageReference"].is_object())
            .then(|| "virtualMachineConfiguration.imageReference is required".to_string()),
    ];
    if let Some(why) = checks.into_iter().flatten().next() {
        return Some(why);
    }
    let scale = &p["scaleSettings"];
    match (scale.get("fixedScale").is_some(), scale.get("autoScale").is_some()) {
        (true, false) | (false, true) => {}
        _ => return Some("scaleSettings needs exactly one of fixedScale and autoScale".into()),
    }
    let identity = &body["identity"];
    if identity["type"] != "UserAssigned" {
        return Some(format!("identity.type `{}` is not UserAssigned", identity["type"]));
    }
    let Some(ids) = identity["userAssignedIdentities"].as_object().filter(|m| !m.is_empty()) else {
        return Some("identity.userAssignedIdentities must name at least one identity".into());
    };
    for (id, value) in ids {
        if value.as_object().is_none_or(|m| !m.is_empty()) {
            return Some(format!("userAssignedIdentities[`{id}`] must be {{}}"));
        }
        if !state.config.identities.iter().any(|i| i.eq_ignore_ascii_case(id)) {
            return Some(format!("the user-assigned identity `{id}` does not exist"));
        }
    }
    None
}

/// The ARM pool body as a Batch `POST /pools` body.
pub fn as_batch(name: &str, body: &Value) -> Value {
    let p = &body["properties"];
    let vm = &p["deploymentConfiguration"]["virtualMachineConfiguration"];
    let image = &vm["imageReference"];
    let mut image_reference = Map::new();
    for k in ["publisher", "offer", "sku", "version"] {
        if let Some(v) = image.get(k) {
            image_reference.insert(k.into(), v.clone());
        }
    }
    if let Some(id) = image.get("id") {
        image_reference.insert("virtualMachineImageId".into(), id.clone());
    }
    let mut vmc = json!({"imageReference": image_reference, "nodeAgentSKUId": vm["nodeAgentSkuId"]});
    if let Some(c) = vm.get("containerConfiguration") {
        let mut c = c.clone();
        c["type"] = json!("dockerCompatible");
        vmc["containerConfiguration"] = c;
    }
    let mut out = json!({"id": name, "vmSize": p["vmSize"], "virtualMachineConfiguration": vmc});
    let scale = &p["scaleSettings"];
    if let Some(fixed) = scale.get("fixedScale") {
        out["targetDedicatedNodes"] = fixed["targetDedicatedNodes"].clone();
        out["targetLowPriorityNodes"] = fixed["targetLowPriorityNodes"].clone();
        if let Some(t) = fixed.get("resizeTimeout") {
            out["resizeTimeout"] = t.clone();
        }
    } else if let Some(auto) = scale.get("autoScale") {
        out["enableAutoScale"] = json!(true);
        out["autoScaleFormula"] = auto["formula"].clone();
        if let Some(i) = auto.get("evaluationInterval") {
            out["autoScaleEvaluationInterval"] = i.clone();
        }
    }
    if p["interNodeCommunication"] == "Enabled" {
        out["enableInterNodeCommunication"] = json!(true);
    }
    // ARM's `mountConfiguration` has Batch's shape.
    for (arm, batch) in [
        ("taskSlotsPerNode", "taskSlotsPerNode"),
        ("displayName", "displayName"),
        ("mountConfiguration", "mountConfiguration"),
        ("metadata", "metadata"),
    ] {
        if let Some(v) = p.get(arm) {
            out[batch] = v.clone();
        }
    }
    if let Some(start) = p.get("startTask") {
        let mut s = start.clone();
        if let Some(auto) = s.pointer_mut("/userIdentity/autoUser") {
            for k in ["scope", "elevationLevel"] {
                if let Some(v) = auto.get(k).and_then(Value::as_str).map(str::to_ascii_lowercase) {
                    auto[k] = json!(v);
                }
            }
        }
        out["startTask"] = s;
    }
    out
}

/// A Batch pool (from the fake Batch service) as ARM shows it, with the ARM body it was
/// created with (its deployment configuration and identities), if any.
fn as_arm(state: &State, batch: &Value, created: Option<&Value>) -> Value {
    let capital = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
    };
    let name = batch["id"].as_str().unwrap_or("");
    let mut properties = json!({
        "lastModified": batch["lastModified"],
        "creationTime": batch["creationTime"],
        "provisioningState": "Succeeded",
        "provisioningStateTransitionTime": batch["creationTime"],
        "allocationState": capital(batch["allocationState"].as_str().unwrap_or("steady")),
        "allocationStateTransitionTime": batch["allocationStateTransitionTime"],
        "vmSize": batch["vmSize"],
        "interNodeCommunication": if batch["enableInterNodeCommunication"] == true { "Enabled" } else { "Disabled" },
        "taskSlotsPerNode": batch["taskSlotsPerNode"],
        "currentDedicatedNodes": batch["currentDedicatedNodes"],
        "currentLowPriorityNodes": batch["currentLowPriorityNodes"],
        "metadata": batch.get("metadata").cloned().unwrap_or_else(|| json!([])),
    });
    match created {
        Some(body) => {
            properties["deploymentConfiguration"] = body["properties"]["deploymentConfiguration"].clone();
            properties["scaleSettings"] = body["properties"]["scaleSettings"].clone();
        }
        None => {
            let vm = &batch["virtualMachineConfiguration"];
            let mut image = vm["imageReference"].clone();
            if let Some(id) = image.get("virtualMachineImageId").cloned() {
                image["id"] = id;
            }
            properties["deploymentConfiguration"] = json!({"virtualMachineConfiguration": {"imageReference": image, "nodeAgentSkuId": vm["nodeAgentSKUId"]}});
        }
    }
    let mut pool = json!({
        "id": format!("{}/pools/{name}", state.config.account_id()),
        "name": name,
        "type": "Microsoft.Batch/batchAccounts/pools",
        "etag": batch["eTag"],
        "properties": properties,
    });
    if let Some(ids) = created.and_then(|b| b["identity"]["userAssignedIdentities"].as_object()) {
        let filled: Map<String, Value> = ids
            .keys()
            .enumerate()
            .map(|(i, k)| {
                (
                    k.clone(),
                    json!({"principalId": format!("principal-{i}"), "clientId": format!("client-{i}")}),
                )
            })
            .collect();
        pool["identity"] = json!({"type": "UserAssigned", "userAssignedIdentities": filled});
    }
    pool
}

fn created(state: &State, name: &str) -> Option<Value> {
    state
        .log()
        .pool_bodies
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

pub fn list(state: &State) -> Vec<Value> {
    let mut out = state.config.existing_pools.clone();
    for p in state.batch.pools() {
        let name = p["id"].as_str().unwrap_or("").to_string();
        out.push(as_arm(state, &p, created(state, &name).as_ref()));
    }
    out
}

pub fn get(state: &State, name: &str) -> Reply {
    match state.batch.pool(name) {
        Some(p) => Reply::json(200, as_arm(state, &p, created(state, name).as_ref())),
        None => Reply::error(
            404,
            "PoolNotFound",
            &format!("The specified pool `{name}` does not exist."),
        ),
    }
}

pub fn put(state: &State, req: &Req, name: &str) -> Reply {
    let only_new = req
        .headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() == "*");
    state.log().if_none_match.push(only_new);
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return Reply::error(400, "InvalidRequestContent", &format!("the body is not JSON: {e}")),
    };
    if let Some(why) = invalid(state, &body) {
        return Reply::error(400, "InvalidRequestBody", &why);
    }
    if state.batch.pool(name).is_some() {
        return if only_new {
            Reply::error(
                412,
                "PreconditionFailed",
                &format!("The pool `{name}` exists and If-None-Match is `*`."),
            )
        } else {
            Reply::error(409, "PoolExists", "The fake ARM does not update pools.")
        };
    }
    if let Err((status, code, message)) = state.batch.add_pool(as_batch(name, &body)) {
        return Reply::error(status, code, &message);
    }
    state.log().pool_bodies.insert(name.to_string(), body);
    get(state, name)
}

pub fn delete(state: &State, name: &str) -> Reply {
    match state.batch.delete_pool(name) {
        Ok(()) => Reply::json(202, Value::Null).header(
            "Location",
            format!(
                "{}{}/pools/{name}/operationResults/delete",
                state.base,
                state.config.account_id()
            ),
        ),
        Err((404, ..)) => Reply::json(204, Value::Null),
        Err((status, code, message)) => Reply::error(status, code, &message),
    }
}
