//! `batchflow pools` and `batchflow pools delete`: the pools batchflow made in the account of
//! `batchflow.toml` or `AZURE_BATCH_ENDPOINT` (kept ones, and those runs still use), and
//! removing them.

use super::{eprint_line, print_out, usage_error, FOUND_ERRORS, OK};
use batchflow::exec::azure::client::BatchClient;
use batchflow::exec::azure::config;
use batchflow::exec::azure::made_pools::{self, MadePool};
use batchflow::exec::azure::reach::Reach;
use batchflow::exec::state;
use std::collections::HashMap;

/// The account, and a client of it.
struct Account {
    reach: Reach,
    client: BatchClient,
}

fn connect() -> Result<Account, u8> {
    let cwd = std::env::current_dir().map_err(|e| usage_error(&format!("cannot read the current directory: {e}")))?;
    let env: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let file = config::read_file(&state::repo_root(&cwd)).map_err(|e| usage_error(&e.to_string()))?;
    let target = config::resolve(&file, &env).map_err(|e| usage_error(&e.to_string()))?;
    let reach = Reach::new(target, &file, &env).map_err(|e| usage_error(&e.to_string()))?;
    let client = BatchClient::new(
        &reach.endpoint,
        batchflow::plan::DEFAULT_API_VERSION,
        reach.credentials(),
    )
    .map_err(|e| usage_error(&e.to_string()))?;
    Ok(Account { reach, client })
}

fn list(account: &Account) -> Result<Vec<MadePool>, u8> {
    account
        .reach
        .runtime()
        .block_on(made_pools::list(&account.client))
        .map_err(|e| usage_error(&format!("cannot list the account's pools: {e}")))
}

/// `batchflow pools`: a table, or JSON; what a pool costs per hour comes from the account
/// region's prices, when they can be read.
pub fn pools(json: bool) -> u8 {
    let account = match connect() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let mut pools = match list(&account) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if !pools.is_empty() {
        match account.reach.region(None, false) {
            Ok(region) => {
                let (prices, notes) = account.reach.prices(&region, &made_pools::sizes(&pools), false);
                made_pools::price(&mut pools, &prices);
                for n in notes {
                    eprint_line(&format!("note: {n}"));
                }
            }
            Err(why) => eprint_line(&format!("note: no prices: {why}")),
        }
    }
    if json {
        let text =
            serde_json::to_string_pretty(&pools).map_or_else(|e| format!("{{\"error\": \"{e}\"}}"), |t| t + "\n");
        return print_out(&text).err().unwrap_or(OK);
    }
    if pools.is_empty() {
        eprint_line(&format!("no pools made by batchflow in {}", account.reach.endpoint));
        return OK;
    }
    let head = [
        "pool",
        "workflow",
        "run",
        "state",
        "idle since",
        "keep",
        "nodes",
        "cost/h when up",
    ];
    let rows: Vec<Vec<String>> = pools
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                p.workflow.clone(),
                p.run.clone(),
                p.state.clone(),
                p.idle_since.clone().unwrap_or_else(|| "-".into()),
                p.keep.clone().unwrap_or_else(|| "-".into()),
                format!("{}/{}", p.nodes, p.target),
                match (p.cost_per_hour, &p.currency) {
                    (Some(c), Some(cur)) => format!("{c:.2} {cur}"),
                    _ => "?".into(),
                },
            ]
        })
        .collect();
    print_out(&super::progress::columns(&head, &rows)).err().unwrap_or(OK)
}

/// `batchflow pools delete [ID...] [--idle]`: the pools named (batchflow's only), or every
/// idle one; a pool a job still runs on is refused.
pub fn delete(ids: &[String], idle: bool) -> u8 {
    if ids.is_empty() && !idle {
        return usage_error("name the pools to delete, or give --idle to delete every idle pool batchflow made");
    }
    let account = match connect() {
        Ok(a) => a,
        Err(code) => return code,
    };
    let pools = match list(&account) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut chosen: Vec<&MadePool> = Vec::new();
    let mut failed = false;
    for id in ids {
        match pools.iter().find(|p| p.id.eq_ignore_ascii_case(id)) {
            Some(p) => chosen.push(p),
            None => {
                eprint_line(&format!(
                    "error: pool `{id}` was not made by batchflow (or does not exist): `az batch pool delete --pool-id {id}` deletes any pool"
                ));
                failed = true;
            }
        }
    }
    if idle {
        let named: Vec<String> = chosen.iter().map(|c| c.id.clone()).collect();
        chosen.extend(
            pools
                .iter()
                .filter(|p| p.state == "idle" && p.active_jobs.is_empty() && !named.contains(&p.id)),
        );
        if chosen.is_empty() {
            eprint_line("no idle pools made by batchflow");
        }
    }
    for p in chosen {
        match account.reach.runtime().block_on(made_pools::delete(&account.client, p)) {
            Ok(line) => eprint_line(&line),
            Err(why) => {
                eprint_line(&format!("error: {why}"));
                failed = true;
            }
        }
    }
    if failed {
        FOUND_ERRORS
    } else {
        OK
    }
}
