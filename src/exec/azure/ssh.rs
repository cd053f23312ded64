//! `batchflow ssh`: a login on a node of an azure run. It finds the node (the one a task ran
//! on, one named by its id, or the first node of the run's first pool that has one), adds a
//! node user that expires in an hour (`POST /pools/{pool}/nodes/{node}/users`, with the user's
//! SSH public key on Linux, a generated password on Windows), reads the node's remote login
//! settings (`GET .../remoteloginsettings`: an address and a port), and after an interactive
//! session deletes the user (`DELETE .../users/{name}`). The `ssh` process itself is the CLI's.

use super::client::BatchClient;
use super::list;
use super::models::{CloudPool, ComputeNode};
use crate::exec::error::RunError;
use crate::exec::inspect;
use crate::exec::state::RunState;
use crate::plan::Plan;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How long the node user lives: long enough for a session, short enough to clean up after
/// itself when batchflow cannot.
pub const USER_HOURS: u64 = 1;

/// The program `batchflow ssh` runs, unless `BATCHFLOW_SSH` names another.
pub const SSH_PROGRAM: &str = "ssh";

/// A node of a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub pool: String,
    pub id: String,
    /// Windows nodes take RDP and a password, not SSH and a key.
    pub windows: bool,
}

/// Where a node takes remote logins (`ComputeNodeGetRemoteLoginSettingsResult`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    #[serde(rename = "remoteLoginIPAddress")]
    pub address: String,
    #[serde(rename = "remoteLoginPort")]
    pub port: u16,
}

/// `BatchNodeUserCreateOptions` (`ComputeNodeUser` before 2025-06-01).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewUser {
    pub name: String,
    pub is_admin: bool,
    /// RFC 3339.
    pub expiry_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_public_key: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TaskNode {
    node_info: Option<NodeInfo>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct NodeInfo {
    pool_id: Option<String>,
    node_id: Option<String>,
}

/// The node `which` names in the run: a task of the run (its node, from Batch), a node id of
/// one of the run's pools, or, with no name, the first node of the run's first pool that has
/// one.
pub async fn find(client: &BatchClient, plan: &Plan, run: &RunState, which: Option<&str>) -> Result<Node, RunError> {
    let (pools, _) = super::control::created(plan);
    let Some(name) = which else {
        for pool in &pools {
            if let Some(node) = first_node(client, pool).await? {
                return node_of(client, pool, &node.id).await;
            }
        }
        return Err(RunError::Refused(format!(
            "no pool of run `{}` has a node now ({}); a pool is deleted when its run ends, unless kept (`keep`, --keep-pools)",
            run.run_id,
            pools.join(", ")
        )));
    };
    if let Ok(task) = inspect::find_task(run, name) {
        // The job's Batch id is the run's own (`JOB-<run-suffix>`), recorded when the run began.
        let job = crate::exec::identity::batch_job(run, &task.job);
        let path = format!("/jobs/{job}/tasks/{}", task.task);
        let t: TaskNode = list::get(client, &path, &[("$select", "id,nodeInfo")]).await?;
        let info = t.node_info.unwrap_or_default();
        return match (info.pool_id, info.node_id) {
            (Some(pool), Some(node)) => node_of(client, &pool, &node).await,
            _ => Err(RunError::Refused(format!(
                "task `{}/{}` has not run on a node ({}); name a node, or give no name for the first node of the pool",
                task.job,
                task.task,
                task.state.as_str()
            ))),
        };
    }
    for pool in &pools {
        let path = format!("/pools/{pool}/nodes/{name}");
        if list::get_raw::<ComputeNode>(client, &path, &[("$select", "id,state")])
            .await
            .is_ok()
        {
            return node_of(client, pool, name).await;
        }
    }
    Err(RunError::Refused(format!(
        "`{name}` is neither a task of run `{}` nor a node of its pools ({})",
        run.run_id,
        pools.join(", ")
    )))
}

/// The first node of a pool that can take a login, if the pool (still) has one.
async fn first_node(client: &BatchClient, pool: &str) -> Result<Option<ComputeNode>, RunError> {
    let path = format!("/pools/{pool}/nodes");
    match list::all::<ComputeNode>(client, &path, &[("$select", "id,state")]).await {
        Ok(nodes) => Ok(nodes
            .into_iter()
            .find(|n| !matches!(n.state.as_str(), "creating" | "starting"))),
        Err(e) if e.code() == Some("PoolNotFound") => Ok(None),
        Err(e) => Err(RunError::batch(format!("list the nodes of pool `{pool}`"), e)),
    }
}

/// A node of `pool`, with the pool's OS from its node agent.
async fn node_of(client: &BatchClient, pool: &str, node: &str) -> Result<Node, RunError> {
    let p: CloudPool = list::get(
        client,
        &format!("/pools/{pool}"),
        &[("$select", "id,virtualMachineConfiguration")],
    )
    .await?;
    let windows = p
        .virtual_machine_configuration
        .is_some_and(|vm| vm.node_agent_sku_id.to_ascii_lowercase().contains("windows"));
    Ok(Node {
        pool: pool.to_string(),
        id: node.to_string(),
        windows,
    })
}

pub async fn add_user(client: &BatchClient, node: &Node, user: &NewUser) -> Result<(), RunError> {
    let path = format!("/pools/{}/nodes/{}/users", node.pool, node.id);
    let body = serde_json::to_vec(user).map_err(|error| RunError::Body {
        what: "the node user".into(),
        error,
    })?;
    client
        .send(Method::POST, &path, &[], Some(body))
        .await
        .map(|_| ())
        .map_err(|e| RunError::batch(format!("add user `{}` to node `{}`", user.name, node.id), e))
}

pub async fn remote_login(client: &BatchClient, node: &Node) -> Result<Login, RunError> {
    let path = format!("/pools/{}/nodes/{}/remoteloginsettings", node.pool, node.id);
    list::get(client, &path, &[]).await
}

pub async fn delete_user(client: &BatchClient, node: &Node, name: &str) -> Result<(), RunError> {
    let path = format!("/pools/{}/nodes/{}/users/{name}", node.pool, node.id);
    client
        .send(Method::DELETE, &path, &[], None)
        .await
        .map(|_| ())
        .map_err(|e| RunError::batch(format!("delete user `{name}` from node `{}`", node.id), e))
}

/// A user name of this login: `bf-` and 10 random hex digits.
pub fn user_name() -> String {
    format!("bf-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}

/// A password for a Windows login: 24 random characters with a letter of each case, a digit
/// and a symbol, as Windows' complexity rules ask.
pub fn password() -> String {
    format!("Bf-{}9x", &uuid::Uuid::new_v4().simple().to_string()[..20])
}

/// The expiry time `USER_HOURS` after `now_secs` (Unix seconds), in RFC 3339.
pub fn expiry(now_secs: u64) -> String {
    inspect::utc(now_secs + USER_HOURS * 3600)
}

/// The arguments of `ssh` to `user` at `login`: the port, a known-hosts file of the run's own
/// (node addresses and ports are reused by later pools), and the private key beside `key`
/// (`KEY.pub`) when there is one.
pub fn ssh_args(login: &Login, user: &str, key: &Path, known_hosts: &Path) -> Vec<String> {
    let mut args = vec![
        "-p".to_string(),
        login.port.to_string(),
        "-o".into(),
        format!("UserKnownHostsFile={}", known_hosts.display()),
        "-o".into(),
        "StrictHostKeyChecking=accept-new".into(),
    ];
    let private = key.with_extension("");
    if key.extension().is_some_and(|e| e == "pub") && private.is_file() {
        args.extend(["-i".into(), private.display().to_string()]);
    }
    args.push(format!("{user}@{}", login.address));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_body_is_what_batch_takes() {
        let user = NewUser {
            name: "bf-0123456789".into(),
            is_admin: true,
            expiry_time: expiry(0),
            password: None,
            ssh_public_key: Some("ssh-ed25519 AAAA me@laptop".into()),
        };
        assert_eq!(
            serde_json::to_value(&user).expect("JSON"),
            serde_json::json!({
                "name": "bf-0123456789",
                "isAdmin": true,
                "expiryTime": "1970-01-01T01:00:00Z",
                "sshPublicKey": "ssh-ed25519 AAAA me@laptop"
            })
        );
        assert!(user_name().starts_with("bf-") && user_name().len() == 13);
        let p = password();
        assert!(p.chars().any(|c| c.is_ascii_uppercase()) && p.contains('-') && p.contains('9'));
    }

    #[test]
    fn ssh_takes_the_port_the_run_s_known_hosts_and_the_private_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = dir.path().join("id_ed25519.pub");
        std::fs::write(&key, "ssh-ed25519 AAAA").expect("write");
        let login = Login {
            address: "127.0.0.1".into(),
            port: 50000,
        };
        let known = dir.path().join("known_hosts");
        let without = ssh_args(&login, "bf-1", &key, &known);
        assert_eq!(without.first().map(String::as_str), Some("-p"));
        assert!(!without.contains(&"-i".to_string()));
        assert_eq!(without.last().map(String::as_str), Some("bf-1@127.0.0.1"));
        std::fs::write(dir.path().join("id_ed25519"), "private").expect("write");
        let with = ssh_args(&login, "bf-1", &key, &known);
        assert!(
            with.windows(2).any(|w| w[0] == "-i" && w[1].ends_with("id_ed25519")),
            "{with:?}"
        );
    }
}
