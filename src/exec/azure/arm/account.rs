//! Which Batch account the endpoint is, in Azure Resource Manager terms: the subscription's
//! Batch accounts listed and the one whose `properties.accountEndpoint` is the endpoint's
//! host[:port] (scheme and case ignored) taken, or the one named by `AZURE_BATCH_ACCOUNT` when
//! no endpoint matches and the name is unambiguous. The region is the account's `location`,
//! never read from the endpoint's host. The subscription is `AZURE_SUBSCRIPTION_ID`, `[target]
//! subscription` in `batchflow.toml`, or found: the only one visible, or the only one of those
//! visible that holds the account.

use super::client::ArmClient;
use super::join::join_all;
use super::models::{BatchAccount, Subscription, BATCH_API, SUBSCRIPTIONS_API};
use crate::account::{AccountInfo, Quotas};
use crate::exec::error::RunError;

/// What identifies the account.
#[derive(Clone, Debug, Default)]
pub struct Wanted {
    /// The Batch endpoint as configured (`https://NAME.REGION.batch.azure.com`).
    pub endpoint: String,
    /// `AZURE_BATCH_ACCOUNT` (or `[target] account`), when set.
    pub name: Option<String>,
    /// `AZURE_SUBSCRIPTION_ID` (or `[target] subscription`), when set.
    pub subscription: Option<String>,
}

/// `host[:port]` of an endpoint or an `accountEndpoint`, lowercase, without scheme or path.
pub fn endpoint_key(text: &str) -> String {
    let rest = text.split_once("://").map_or(text, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_ascii_lowercase()
}

/// The account, with its quotas.
pub async fn find(client: &ArmClient, wanted: &Wanted) -> Result<AccountInfo, RunError> {
    let subscriptions = match &wanted.subscription {
        Some(s) => vec![s.clone()],
        None => visible_subscriptions(client).await?,
    };
    let searches = subscriptions.iter().map(|s| in_subscription(client, s, wanted));
    let mut found = Vec::new();
    for result in join_all(searches).await {
        if let Some(account) = result? {
            found.push(account);
        }
    }
    match found.len() {
        1 => Ok(info(found.remove(0))),
        0 => Err(RunError::Config(format!(
            "no Batch account with the endpoint `{}` in {}: set AZURE_SUBSCRIPTION_ID to the account's subscription, or AZURE_BATCH_ACCOUNT to its name",
            endpoint_key(&wanted.endpoint),
            match subscriptions.as_slice() {
                [one] => format!("subscription `{one}`"),
                all => format!("the {} subscriptions this identity sees", all.len()),
            }
        ))),
        n => Err(RunError::Config(format!(
            "{n} subscriptions hold a Batch account for `{}`: set AZURE_SUBSCRIPTION_ID (or `subscription` under [target] in batchflow.toml)",
            endpoint_key(&wanted.endpoint)
        ))),
    }
}

async fn visible_subscriptions(client: &ArmClient) -> Result<Vec<String>, RunError> {
    let subs: Vec<Subscription> = client
        .list("/subscriptions", SUBSCRIPTIONS_API)
        .await
        .map_err(|e| RunError::arm("list the subscriptions", e))?;
    let enabled: Vec<String> = subs
        .into_iter()
        .filter(|s| s.state.as_deref().is_none_or(|st| st.eq_ignore_ascii_case("enabled")))
        .map(|s| s.subscription_id)
        .collect();
    if enabled.is_empty() {
        return Err(RunError::Config(
            "this identity sees no subscription: set AZURE_SUBSCRIPTION_ID to the Batch account's".into(),
        ));
    }
    Ok(enabled)
}

/// The account of one subscription that the endpoint (or the name) names.
async fn in_subscription(
    client: &ArmClient,
    subscription: &str,
    wanted: &Wanted,
) -> Result<Option<BatchAccount>, RunError> {
    let path = format!("/subscriptions/{subscription}/providers/Microsoft.Batch/batchAccounts");
    let accounts: Vec<BatchAccount> = client
        .list(&path, BATCH_API)
        .await
        .map_err(|e| RunError::arm(format!("list the Batch accounts of subscription `{subscription}`"), e))?;
    let key = endpoint_key(&wanted.endpoint);
    let by_endpoint: Vec<&BatchAccount> = accounts
        .iter()
        .filter(|a| a.properties.account_endpoint.as_deref().map(endpoint_key).as_deref() == Some(key.as_str()))
        .collect();
    if let [one] = by_endpoint.as_slice() {
        return Ok(Some((*one).clone()));
    }
    let Some(name) = &wanted.name else {
        return Ok(None);
    };
    let by_name: Vec<&BatchAccount> = accounts.iter().filter(|a| a.name.eq_ignore_ascii_case(name)).collect();
    Ok(match by_name.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    })
}

/// The account's id, region and quotas.
pub fn info(a: BatchAccount) -> AccountInfo {
    let p = a.properties;
    AccountInfo {
        name: a.name,
        id: a.id,
        region: a.location,
        quotas: Quotas {
            dedicated_cores: p.dedicated_core_quota,
            low_priority_cores: p.low_priority_core_quota,
            per_family: p
                .dedicated_core_quota_per_vm_family
                .into_iter()
                .map(|f| (f.name, f.core_quota))
                .collect(),
            per_family_enforced: p.dedicated_core_quota_per_vm_family_enforced.unwrap_or(false),
            pools: p.pool_quota,
            active_jobs: p.active_job_and_job_schedule_quota,
            user_subscription: p
                .pool_allocation_mode
                .is_some_and(|m| m.eq_ignore_ascii_case("UserSubscription")),
        },
    }
}

/// The account again, by its id: `BatchAccount_Get` has the quotas in full.
pub async fn get(client: &ArmClient, id: &str) -> Result<AccountInfo, RunError> {
    let a: BatchAccount = client
        .get(id, BATCH_API)
        .await
        .map_err(|e| RunError::arm("read the Batch account", e))?;
    Ok(info(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_compare_by_host_and_port() {
        assert_eq!(
            endpoint_key("https://SampleAcct.JapanEast.batch.azure.com/"),
            "sampleacct.japaneast.batch.azure.com"
        );
        assert_eq!(
            endpoint_key("sampleacct.japaneast.batch.azure.com"),
            "sampleacct.japaneast.batch.azure.com"
        );
        assert_eq!(endpoint_key("http://127.0.0.1:8443"), "127.0.0.1:8443");
    }

    #[test]
    fn the_account_example_reads() {
        // BatchAccount_Get, specification/batch/resource-manager/Microsoft.Batch/stable/2024-02-01/examples/BatchAccountGet.json
        let body = r#"{"name":"sampleacct","location":"japaneast","properties":{"accountEndpoint":"sampleacct.japaneast.batch.azure.com","provisioningState":"Succeeded","poolAllocationMode":"BatchService","dedicatedCoreQuota":20,"lowPriorityCoreQuota":20,"poolQuota":20,"activeJobAndJobScheduleQuota":20,"publicNetworkAccess":"Enabled"},"identity":{"type":"None"},"id":"/subscriptions/subid/resourceGroups/default-azurebatch-japaneast/providers/Microsoft.Batch/batchAccounts/sampleacct","type":"Microsoft.Batch/batchAccounts"}"#;
        let a: BatchAccount = serde_json::from_str(body).expect("parses");
        let i = info(a);
        assert_eq!(i.region, "japaneast");
        assert_eq!(i.quotas.pools, Some(20));
        assert!(!i.quotas.per_family_enforced);
    }
}
