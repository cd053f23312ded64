//! What the online parts reach for one Azure target: its Batch data plane, Azure Resource
//! Manager (when the target signs in with Microsoft Entra ID), and the Retail Prices API, on one
//! async runtime the azure backend shares. Everything here reads; the pools the backend creates
//! through ARM go through [`Reach::arm_account`].

use super::arm::account::{self, Wanted as Who};
use super::arm::pools::ArmAccount;
use super::arm::{client, facts, ArmClient};
use super::cache;
use super::client::BatchClient;
use super::config::{File, Target};
use super::prices::{self, PriceClient};
use crate::account::{AccountFacts, AccountInfo, Wanted, NEEDS_ENTRA};
use crate::exec::cloud::auth::Credentials;
use crate::exec::cloud::retry::RetryPolicy;
use crate::exec::error::RunError;
use crate::plan::estimate::Prices;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Reads before a run give up sooner than a run's requests (in half a minute, not five): a
/// pre-flight that cannot reach Azure says so and lets the run decide. As many attempts as a
/// run's, so a busy service (500s, 429s) is waited out.
fn preflight_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 10,
        base: Duration::from_millis(250),
        max_delay: Duration::from_secs(10),
        max_total: Duration::from_secs(30),
    }
}

pub struct Reach {
    pub endpoint: String,
    runtime: Arc<tokio::runtime::Runtime>,
    batch: BatchClient,
    arm: Result<ArmClient, &'static str>,
    arm_endpoint: String,
    who: Who,
    prices: Result<PriceClient, String>,
    cache: Option<PathBuf>,
}

impl Reach {
    pub fn new(target: Target, file: &File, env: &HashMap<String, String>) -> Result<Reach, RunError> {
        let get = |k: &str| env.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| RunError::io("cannot start the async runtime", e))?;
        let credentials: Arc<Credentials> = Arc::new(target.auth);
        let mut batch = BatchClient::new(
            &target.endpoint,
            crate::plan::DEFAULT_API_VERSION,
            Arc::clone(&credentials),
        )?;
        batch.policy = preflight_policy();
        let arm_endpoint = client::endpoint(env);
        let arm = match credentials.as_ref() {
            Credentials::SharedKey(_) => Err(NEEDS_ENTRA),
            Credentials::Entra(_) => Ok(ArmClient::new(&arm_endpoint, Arc::clone(&credentials))?),
        };
        let cache = cache::dir(env);
        let prices = PriceClient::new(&prices::endpoint(env), cache.clone()).map_err(|e| e.to_string());
        Ok(Reach {
            who: Who {
                endpoint: target.endpoint.clone(),
                name: get("AZURE_BATCH_ACCOUNT").or_else(|| file.target.account.clone()),
                subscription: get("AZURE_SUBSCRIPTION_ID").or_else(|| file.target.subscription.clone()),
            },
            endpoint: target.endpoint,
            runtime: Arc::new(runtime),
            batch,
            arm,
            arm_endpoint,
            prices,
            cache,
        })
    }

    /// Reads the Batch data plane with `api_version` (the run's) from now on.
    pub fn use_api_version(&mut self, api_version: &str) -> Result<(), RunError> {
        let mut batch = BatchClient::new(&self.endpoint, api_version, self.batch.credentials())?;
        batch.policy = preflight_policy();
        self.batch = batch;
        Ok(())
    }

    /// The runtime the online reads run on; the azure backend runs on it too.
    pub fn runtime(&self) -> Arc<tokio::runtime::Runtime> {
        Arc::clone(&self.runtime)
    }

    /// The target's credentials, for the backend's Batch client.
    pub fn credentials(&self) -> Arc<Credentials> {
        self.batch.credentials()
    }

    /// Reads what the online rules need (see `arm::facts`).
    pub fn facts(&self, wanted: &Wanted) -> AccountFacts {
        let arm = self
            .arm
            .as_ref()
            .map(|c| c.clone().with_policy(preflight_policy()))
            .map_err(|why| *why);
        let facts = self.runtime.block_on(facts::gather(
            &self.batch,
            arm.as_ref().map_err(|w| *w),
            &self.who,
            wanted,
        ));
        if let (Some(dir), Some(a)) = (&self.cache, facts.account.found()) {
            cache::write(dir, "accounts", &self.account_key(), &a.region);
        }
        facts
    }

    fn account_key(&self) -> String {
        cache::key(&[&self.arm_endpoint, &account::endpoint_key(&self.endpoint)])
    }

    /// The account, found through Azure Resource Manager.
    pub fn account(&self) -> Result<AccountInfo, RunError> {
        let arm = self.arm.as_ref().map_err(|why| RunError::Config(why.to_string()))?;
        self.runtime.block_on(account::find(arm, &self.who))
    }

    /// The account for creating pools with identities.
    pub fn arm_account(&self) -> Result<ArmAccount, RunError> {
        let client = self.arm.clone().map_err(|why| {
            RunError::Config(format!(
                "pools with managed identities are created through Azure Resource Manager, which {why}"
            ))
        })?;
        let id = self.account()?.id;
        Ok(ArmAccount { client, id })
    }

    /// The account's region: from what was read, the cache, or (unless `offline`) Azure
    /// Resource Manager. `Err` says why it is not known.
    pub fn region(&self, known: Option<&AccountFacts>, offline: bool) -> Result<String, String> {
        if let Some(a) = known.and_then(|f| f.account.found()) {
            return Ok(a.region.clone());
        }
        if let Some(region) = self
            .cache
            .as_ref()
            .and_then(|dir| cache::read::<String>(dir, "accounts", &self.account_key(), cache::DAY))
        {
            return Ok(region);
        }
        if offline {
            return Err("the account's region is not cached and --offline reads nothing".into());
        }
        let arm = self.arm.as_ref().map_err(|why| why.to_string())?;
        let arm = arm.clone().with_policy(preflight_policy());
        let found = self
            .runtime
            .block_on(account::find(&arm, &self.who))
            .map_err(|e| e.to_string())?;
        if let Some(dir) = &self.cache {
            cache::write(dir, "accounts", &self.account_key(), &found.region);
        }
        Ok(found.region)
    }

    /// Hourly prices of `sizes` in `region`, with notes on what has none.
    pub fn prices(&self, region: &str, sizes: &[(String, bool)], offline: bool) -> (Prices, Vec<String>) {
        match &self.prices {
            Ok(client) => self.runtime.block_on(client.table(region, sizes, offline)),
            Err(why) => (Prices::new(prices::CURRENCY), vec![why.clone()]),
        }
    }
}
