//! A storage account: its blob endpoint and how requests to it are authorized, read from the
//! Azure CLI's environment variables (`AZURE_STORAGE_CONNECTION_STRING`, else
//! `AZURE_STORAGE_ACCOUNT` with `AZURE_STORAGE_KEY`, else with Microsoft Entra ID;
//! `AZURE_STORAGE_SERVICE_ENDPOINT` for an endpoint other than `https://NAME.blob.core.windows.net`).

use super::shared_key::AccountKey;
use crate::exec::cloud::auth::{Entra, EntraSource};
use crate::exec::cloud::retry::RetryPolicy;
use crate::exec::error::{RunError, StorageError, Via};
use reqwest::Url;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The audience of storage tokens.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Azurite's (and the old storage emulator's) well-known account, for
/// `UseDevelopmentStorage=true`.
const DEV_ACCOUNT: &str = "devstoreaccount1";
const DEV_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// How requests are authorized.
#[derive(Clone, Debug)]
pub(super) enum Auth {
    Key(AccountKey),
    Entra(Arc<Entra>),
}

/// A storage account the run may use. Cheap to clone; clones share connections and tokens.
/// Its `Debug` output never shows the key.
#[derive(Clone, Debug)]
pub struct StorageAccount {
    pub(super) name: String,
    /// The blob endpoint without a trailing slash: `https://NAME.blob.core.windows.net`, or
    /// an emulator's path-style `http://127.0.0.1:10000/devstoreaccount1`.
    pub(super) endpoint: Url,
    pub(super) auth: Auth,
    pub(super) http: reqwest::Client,
    pub(super) retry: RetryPolicy,
}

fn config(why: impl Into<String>) -> RunError {
    RunError::storage("set up storage", StorageError::Config(why.into()))
}

impl StorageAccount {
    /// The account the environment names, as the Azure CLI reads it:
    /// `AZURE_STORAGE_CONNECTION_STRING` (`AccountName` + `AccountKey`, with `BlobEndpoint=`
    /// for an emulator or a sovereign cloud, or `EndpointSuffix=`; `UseDevelopmentStorage=true`
    /// for Azurite on its default port), else `AZURE_STORAGE_ACCOUNT` with `AZURE_STORAGE_KEY`,
    /// else `AZURE_STORAGE_ACCOUNT` alone with Microsoft Entra ID (the Batch client's credential
    /// chain; `BATCHFLOW_ACCESS_TOKEN` is used as is); with `AZURE_STORAGE_ACCOUNT`, the
    /// endpoint is `AZURE_STORAGE_SERVICE_ENDPOINT` when set (the Azure CLI's name, for a
    /// sovereign cloud, a private endpoint or an emulator). `Ok(None)` when none of these is set.
    ///
    /// Errors (a [`RunError::Storage`] with [`StorageError::Config`]): a malformed connection
    /// string, one with only a SAS (batchflow mints per-blob SAS itself and needs a key or
    /// Entra ID to do so), an `http` endpoint that is not this machine, a key that is not base64.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Option<StorageAccount>, RunError> {
        let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        if let Some(cs) = get("AZURE_STORAGE_CONNECTION_STRING") {
            return StorageAccount::from_connection_string(cs).map(Some);
        }
        if get("AZURE_STORAGE_SAS_TOKEN").is_some() && get("AZURE_STORAGE_KEY").is_none() {
            return Err(config(
                "AZURE_STORAGE_SAS_TOKEN cannot sign the per-blob SAS a run gives Batch: set AZURE_STORAGE_KEY, or sign in with Microsoft Entra ID and unset the token",
            ));
        }
        match get("AZURE_STORAGE_ACCOUNT") {
            Some(name) => StorageAccount::named(name, env).map(Some),
            None => Ok(None),
        }
    }

    /// The account `name` (from the workflow's `storage {}` or `batchflow.toml`) with the
    /// environment's credentials for it: the key of a connection string or of
    /// `AZURE_STORAGE_KEY` when they name this account, else Microsoft Entra ID.
    pub fn named(name: &str, env: &HashMap<String, String>) -> Result<StorageAccount, RunError> {
        let get = |k: &str| env.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        if let Some(cs) = get("AZURE_STORAGE_CONNECTION_STRING") {
            let account = StorageAccount::from_connection_string(cs)?;
            if account.name == name {
                return Ok(account);
            }
        }
        check_name(name)?;
        let same = get("AZURE_STORAGE_ACCOUNT").is_none_or(|a| a == name);
        let endpoint = match get("AZURE_STORAGE_SERVICE_ENDPOINT").filter(|_| same) {
            Some(e) => parse_endpoint(e)?,
            None => parse_endpoint(&format!("https://{name}.blob.core.windows.net"))?,
        };
        let auth = match get("AZURE_STORAGE_KEY").filter(|_| same) {
            Some(key) => Auth::Key(AccountKey::new(key).map_err(config)?),
            None => Auth::Entra(Arc::new(Entra::for_scope(
                env,
                EntraSource::FromEnvironment,
                STORAGE_SCOPE,
            )?)),
        };
        StorageAccount::new(name, endpoint, auth)
    }

    /// From a connection string (`Key=Value;...`, keys in any case).
    pub fn from_connection_string(cs: &str) -> Result<StorageAccount, RunError> {
        let parts: HashMap<String, &str> = cs
            .split(';')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()))
            .collect();
        let get = |k: &str| parts.get(k).copied().filter(|v| !v.is_empty());
        if get("usedevelopmentstorage").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            let endpoint = parse_endpoint(&format!("http://127.0.0.1:10000/{DEV_ACCOUNT}"))?;
            let key = AccountKey::new(DEV_KEY).map_err(config)?;
            return StorageAccount::new(DEV_ACCOUNT, endpoint, Auth::Key(key));
        }
        let Some(name) = get("accountname") else {
            return Err(config("AZURE_STORAGE_CONNECTION_STRING has no AccountName"));
        };
        let Some(key) = get("accountkey") else {
            return Err(config(
                "AZURE_STORAGE_CONNECTION_STRING has no AccountKey: batchflow signs each blob's SAS itself, so it needs the key (or set only AZURE_STORAGE_ACCOUNT and sign in with Microsoft Entra ID)",
            ));
        };
        let endpoint = match get("blobendpoint") {
            Some(e) => e.to_string(),
            None => {
                let protocol = get("defaultendpointsprotocol").unwrap_or("https");
                let suffix = get("endpointsuffix").unwrap_or("core.windows.net");
                format!("{protocol}://{name}.blob.{suffix}")
            }
        };
        let endpoint = parse_endpoint(&endpoint)?;
        let key = AccountKey::new(key).map_err(config)?;
        StorageAccount::new(name, endpoint, Auth::Key(key))
    }

    pub(super) fn new(name: &str, endpoint: Url, auth: Auth) -> Result<StorageAccount, RunError> {
        Ok(StorageAccount {
            name: name.to_string(),
            endpoint,
            auth,
            http: http_client(None).map_err(config)?,
            retry: RetryPolicy::default(),
        })
    }

    /// Also trusts this PEM certificate (an emulator's self-signed one) for HTTPS. A child
    /// process can be given the same trust with `SSL_CERT_FILE`.
    pub fn with_root_certificate(mut self, pem: &[u8]) -> Result<StorageAccount, RunError> {
        let cert = reqwest::Certificate::from_pem(pem).map_err(|e| config(format!("not a PEM certificate: {e}")))?;
        self.http = http_client(Some(cert)).map_err(config)?;
        Ok(self)
    }

    /// Retries with this policy instead of the default (10 attempts, up to 5 minutes).
    pub fn with_retry(mut self, policy: RetryPolicy) -> StorageAccount {
        self.retry = policy;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The blob endpoint, without a trailing slash.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// How requests are authorized, and so which kind of SAS [`crate::exec::cloud::blob::SasSigner`]
    /// makes: a service SAS with the key, a user delegation SAS with Entra ID.
    pub fn via(&self) -> Via {
        match self.auth {
            Auth::Key(_) => Via::AccountKey,
            Auth::Entra(_) => Via::Entra,
        }
    }

    /// Whether the endpoint is this machine (an emulator): the only place plain `http` and
    /// SAS without `spr=https` are allowed.
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.endpoint)
    }

    /// The URL of `container` (no SAS).
    pub fn container_url(&self, container: &str) -> Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(container);
        }
        url
    }

    /// The URL of blob `name` in `container` (no SAS); each `/`-separated part of the name is
    /// percent-encoded.
    pub fn blob_url(&self, container: &str, name: &str) -> Url {
        let mut url = self.container_url(container);
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.extend(name.split('/'));
        }
        url
    }
}

/// Storage account names: 3 to 24 lowercase letters and digits.
fn check_name(name: &str) -> Result<(), RunError> {
    let ok = (3..=24).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(config(format!(
            "`{name}` is not a storage account name (3 to 24 lowercase letters and digits)"
        )))
    }
}

fn is_loopback(url: &Url) -> bool {
    url.host_str().is_some_and(|h| {
        let h = h.trim_start_matches('[').trim_end_matches(']');
        h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}

/// A blob endpoint: `https`, or `http` to this machine only (keys and SAS must not cross a
/// network in clear).
fn parse_endpoint(text: &str) -> Result<Url, RunError> {
    let url = Url::parse(text.trim_end_matches('/'))
        .map_err(|e| config(format!("the blob endpoint `{text}` is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(config(format!(
                "the blob endpoint `{text}` uses http to another machine: use https (http is for an emulator on 127.0.0.1 only)"
            )))
        }
        other => return Err(config(format!("the blob endpoint `{text}` has scheme `{other}`, not https"))),
    }
    if url.cannot_be_a_base() || url.query().is_some() {
        return Err(config(format!(
            "the blob endpoint `{text}` must be a plain URL without a query"
        )));
    }
    Ok(url)
}

/// One HTTP client per account: rustls, no decompression (blobs are stored as sent), connect
/// and read timeouts (a stalled transfer fails and is retried; a long one is not cut short).
fn http_client(extra_root: Option<reqwest::Certificate>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(64);
    if let Some(cert) = extra_root {
        builder = builder.add_root_certificate(cert);
    }
    builder
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn nothing_set_means_no_storage() {
        assert!(StorageAccount::from_env(&env(&[])).expect("no error").is_none());
    }

    #[test]
    fn a_connection_string_with_a_blob_endpoint_names_an_emulator() {
        let cs = format!("DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};BlobEndpoint=http://127.0.0.1:10000/{DEV_ACCOUNT};");
        let a = StorageAccount::from_env(&env(&[("AZURE_STORAGE_CONNECTION_STRING", &cs)]))
            .expect("parses")
            .expect("an account");
        assert_eq!(a.name(), DEV_ACCOUNT);
        assert!(a.is_loopback());
        assert_eq!(a.via(), Via::AccountKey);
        assert_eq!(
            a.blob_url("c", "runs/a b/x.txt").as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/c/runs/a%20b/x.txt"
        );
        assert!(!format!("{a:?}").contains(DEV_KEY), "Debug never shows the key");
    }

    #[test]
    fn a_sovereign_cloud_suffix_and_the_account_alone() {
        let cs = format!("AccountName=acct;AccountKey={DEV_KEY};EndpointSuffix=core.chinacloudapi.cn");
        let a = StorageAccount::from_connection_string(&cs).expect("parses");
        assert_eq!(a.endpoint().as_str(), "https://acct.blob.core.chinacloudapi.cn/");
        let k = StorageAccount::from_env(&env(&[
            ("AZURE_STORAGE_ACCOUNT", "acct"),
            ("AZURE_STORAGE_KEY", DEV_KEY),
        ]))
        .expect("parses")
        .expect("an account");
        assert_eq!(
            k.container_url("batchflow").as_str(),
            "https://acct.blob.core.windows.net/batchflow"
        );
        let e = StorageAccount::from_env(&env(&[
            ("AZURE_STORAGE_ACCOUNT", "acct"),
            ("BATCHFLOW_ACCESS_TOKEN", "t"),
        ]))
        .expect("parses")
        .expect("an account");
        assert_eq!(e.via(), Via::Entra);
        let emulator = StorageAccount::from_env(&env(&[
            ("AZURE_STORAGE_ACCOUNT", DEV_ACCOUNT),
            (
                "AZURE_STORAGE_SERVICE_ENDPOINT",
                "https://127.0.0.1:10000/devstoreaccount1/",
            ),
            ("BATCHFLOW_ACCESS_TOKEN", "t"),
        ]))
        .expect("parses")
        .expect("an account");
        assert_eq!(emulator.endpoint().as_str(), "https://127.0.0.1:10000/devstoreaccount1");
    }

    #[test]
    fn http_only_to_this_machine_and_no_sas_only_strings() {
        let cs = format!("AccountName=acct;AccountKey={DEV_KEY};BlobEndpoint=http://10.0.0.5:10000/acct");
        let err = StorageAccount::from_connection_string(&cs).expect_err("http to another host");
        assert!(err.to_string().contains("use https"), "{err}");
        let sas =
            "AccountName=acct;BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=x&sig=secret";
        let err = StorageAccount::from_connection_string(sas).expect_err("no key");
        assert!(err.to_string().contains("AccountKey"), "{err}");
        assert!(!err.to_string().contains("secret"));
        assert!(StorageAccount::named("Bad_Name", &env(&[])).is_err());
    }
}
