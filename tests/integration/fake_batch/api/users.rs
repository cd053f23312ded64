//! Logging in to a node: `POST /pools/{p}/nodes/{n}/users` (201; the body a
//! `BatchNodeUserCreateOptions`, `ComputeNodeUser` before 2025), `DELETE
//! /pools/{p}/nodes/{n}/users/{name}` (200) and `GET /pools/{p}/nodes/{n}/remoteloginsettings`
//! (200, `{"remoteLoginIPAddress", "remoteLoginPort"}` as the REST specs'
//! `NodeGetRemoteLoginSettings.json` example has it). Every node answers on 127.0.0.1, each on
//! a port of its own: a test's stand-in `ssh` is never sent anywhere else.

use super::{body, Result};
use crate::fake_batch::state::{fail, Sim};
use crate::fake_batch::{Faults, Reply, Req, Shared};
use crate::schema::Body;
use serde_json::{json, Value};

/// A user as the service saw it: added with `body`, and whether it was deleted since.
#[derive(Clone, Debug)]
pub struct NodeUserSeen {
    pub pool: String,
    pub node: String,
    pub body: Value,
    pub deleted: bool,
}

/// The first remote login port; node `k` of a pool answers on `BASE_PORT + k`.
const BASE_PORT: u16 = 50000;

fn windows(sim: &Sim, i: usize) -> bool {
    sim.pools[i].body["virtualMachineConfiguration"]["nodeAgentSKUId"]
        .as_str()
        .is_some_and(|a| a.to_ascii_lowercase().contains("windows"))
}

pub fn add(shared: &Shared, req: &Req, faults: &Faults, p: &str, n: &str) -> Result<Reply> {
    let user = body(shared, req, Body::CreateNodeUser)?;
    shared.with_sim(faults, |sim, _| -> Result<Reply> {
        let i = sim.pool(p)?;
        let k = sim.find_node(i, n)?;
        let (pool, node) = (sim.pools[i].id.clone(), sim.pools[i].nodes[k].id.clone());
        let name = user["name"].as_str().unwrap_or_default().to_string();
        // The REST reference: `sshPublicKey` "can be specified only for Linux Compute Nodes. If
        // this is specified for a Windows Compute Node, then the Batch service rejects the
        // request"; `password` "is required for Windows Compute Nodes".
        if windows(sim, i) && user.get("sshPublicKey").is_some() {
            return Err(fail(
                400,
                "InvalidPropertyValue",
                "sshPublicKey cannot be specified for a Windows node.",
            )
            .into());
        }
        if windows(sim, i) && user.get("password").is_none() {
            return Err(fail(
                400,
                "MissingRequiredProperty",
                "A password is required for a Windows node.",
            )
            .into());
        }
        let exists = sim
            .users
            .iter()
            .any(|u| !u.deleted && u.pool == pool && u.node == node && u.body["name"] == name.as_str());
        if exists {
            return Err(fail(409, "NodeUserExists", "The specified node user already exists.").into());
        }
        sim.users.push(NodeUserSeen {
            pool: pool.clone(),
            node: node.clone(),
            body: user.clone(),
            deleted: false,
        });
        Ok(Reply::empty(201).header(
            "DataServiceId",
            format!("{}/pools/{pool}/nodes/{node}/users/{name}", shared.base),
        ))
    })
}

pub fn delete(shared: &Shared, faults: &Faults, p: &str, n: &str, name: &str) -> Result<Reply> {
    shared.with_sim(faults, |sim, _| -> Result<Reply> {
        let i = sim.pool(p)?;
        let k = sim.find_node(i, n)?;
        let (pool, node) = (sim.pools[i].id.clone(), sim.pools[i].nodes[k].id.clone());
        let user = sim
            .users
            .iter_mut()
            .find(|u| !u.deleted && u.pool == pool && u.node == node && u.body["name"] == name)
            .ok_or_else(|| fail(404, "NodeUserNotFound", "The specified node user does not exist."))?;
        user.deleted = true;
        Ok(Reply::empty(200))
    })
}

pub fn remote_login(shared: &Shared, faults: &Faults, p: &str, n: &str) -> Result<Reply> {
    shared.with_sim(faults, |sim, _| -> Result<Reply> {
        let i = sim.pool(p)?;
        let k = sim.find_node(i, n)?;
        let port = BASE_PORT.saturating_add(u16::try_from(k).unwrap_or(u16::MAX));
        Ok(Reply::json(
            200,
            &json!({
                "odata.metadata": format!("{}/$metadata#Microsoft.Azure.Batch.Protocol.Entities.ComputeNodeGetRemoteLoginSettingsResult", shared.base),
                "remoteLoginIPAddress": "127.0.0.1",
                "remoteLoginPort": port,
            }),
        ))
    })
}
