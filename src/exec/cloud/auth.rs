//! How requests are authorized: Batch's SharedKey signature over the request, or a Microsoft
//! Entra bearer token from azure_identity, one per audience (Batch
//! `https://batch.core.windows.net/.default`, Azure Resource Manager
//! `https://management.azure.com/.default`, storage `https://storage.azure.com/.default`): a
//! client secret from `AZURE_CLIENT_ID`/`AZURE_TENANT_ID`/`AZURE_CLIENT_SECRET`, a managed
//! identity inside Azure, else the developer tools (Azure CLI). `BATCHFLOW_ACCESS_TOKEN` is used
//! as is for every audience.

use crate::exec::error::{BatchError, RunError};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::time::OffsetDateTime;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::Mutex;

pub const SCOPE: &str = "https://batch.core.windows.net/.default";
/// The audience of Azure Resource Manager tokens.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// Batch's SharedKey scheme: HMAC-SHA256 of a canonical form of the request.
#[derive(Clone)]
pub struct SharedKey {
    account: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedKey")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// The parts of a request the signature covers.
pub struct ToSign<'a> {
    pub method: &'a str,
    /// The URL path, not encoded (`/jobs/j1/addtaskcollection`).
    pub path: &'a str,
    /// Query parameters, decoded.
    pub query: &'a [(String, String)],
    pub content_length: usize,
    pub content_type: Option<&'a str>,
    /// Every `ocp-*` header (lowercase names).
    pub ocp_headers: &'a [(&'a str, &'a str)],
}

impl SharedKey {
    /// `key` is the account key as the portal shows it (base64).
    pub fn new(account: &str, key: &str) -> Result<SharedKey, RunError> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map_err(|_| RunError::Config("AZURE_BATCH_ACCESS_KEY is not a base64 account key".into()))?;
        Ok(SharedKey {
            account: account.to_string(),
            key,
        })
    }

    /// The string Batch recomputes and compares: the verb, twelve standard headers (empty when
    /// absent; a zero length counts as absent), the `ocp-*` headers sorted, and the resource:
    /// `/account/path` then each query parameter, sorted, as `\nname:value`.
    pub fn string_to_sign(&self, r: &ToSign<'_>) -> String {
        let length = if r.content_length == 0 {
            String::new()
        } else {
            r.content_length.to_string()
        };
        let mut out = format!(
            "{}\n\n\n{length}\n\n{}\n\n\n\n\n\n\n",
            r.method,
            r.content_type.unwrap_or("")
        );
        let headers: BTreeMap<String, &str> = r
            .ocp_headers
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_ascii_lowercase(), *v))
            .collect();
        for (k, v) in headers {
            out.push_str(&format!("{k}:{v}\n"));
        }
        out.push('/');
        out.push_str(&self.account);
        out.push_str(r.path);
        let query: BTreeMap<String, &str> = r
            .query
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
            .collect();
        for (k, v) in query {
            out.push_str(&format!("\n{k}:{v}"));
        }
        out
    }

    /// The `Authorization` header value: `SharedKey account:signature`.
    pub fn authorization(&self, r: &ToSign<'_>) -> String {
        let sts = self.string_to_sign(r);
        // HMAC accepts keys of any length; this cannot fail.
        let sig = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(sts.as_bytes());
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        };
        format!("SharedKey {}:{sig}", self.account)
    }
}

/// Entra tokens, fetched per audience when needed and reused until five minutes before they
/// expire.
pub struct Entra {
    /// None with a token given as is (BATCHFLOW_ACCESS_TOKEN), used for every audience.
    credential: Option<Arc<dyn TokenCredential>>,
    fixed: Option<Secret>,
    cached: Mutex<HashMap<&'static str, (Secret, OffsetDateTime)>>,
    /// The audience [`Entra::authorization`] asks for.
    scope: &'static str,
    /// Which credential, for messages.
    pub source: &'static str,
}

impl std::fmt::Debug for Entra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entra")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Which Entra credential to use: found from the environment, or a managed identity because
/// batchflow.toml says so (on a VM the environment does not reveal one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntraSource {
    FromEnvironment,
    ManagedIdentity,
}

impl Entra {
    /// `BATCHFLOW_ACCESS_TOKEN` as is; else, with [`EntraSource::ManagedIdentity`], the managed
    /// identity (user-assigned when `AZURE_CLIENT_ID` is set); else the credential the
    /// environment points at: a service principal's secret, workload identity (a federated
    /// token file), a managed identity (when App Service says one is there), else the developer
    /// tools (`az login`, `azd auth login`).
    pub fn from_env(env: &std::collections::HashMap<String, String>, wanted: EntraSource) -> Result<Entra, RunError> {
        Entra::for_scope(env, wanted, SCOPE)
    }

    /// As [`Entra::from_env`], for tokens of another audience (`scope`).
    pub fn for_scope(
        env: &std::collections::HashMap<String, String>,
        wanted: EntraSource,
        scope: &'static str,
    ) -> Result<Entra, RunError> {
        let get = |k: &str| env.get(k).filter(|v| !v.trim().is_empty()).cloned();
        let fail = |what: &str, e: azure_core::Error| RunError::Config(format!("cannot set up {what}: {e}"));
        if let Some(token) = get("BATCHFLOW_ACCESS_TOKEN") {
            // Used until the run ends: `az account get-access-token` gives about an hour.
            return Ok(Entra {
                credential: None,
                fixed: Some(Secret::new(token.trim().to_string())),
                cached: Mutex::new(HashMap::new()),
                scope,
                source: "BATCHFLOW_ACCESS_TOKEN",
            });
        }
        let managed = |client: Option<String>| {
            let options = azure_identity::ManagedIdentityCredentialOptions {
                user_assigned_id: client.map(azure_identity::UserAssignedId::ClientId),
                ..Default::default()
            };
            azure_identity::ManagedIdentityCredential::new(Some(options))
                .map(|c| c as Arc<dyn TokenCredential>)
                .map_err(|e| fail("the managed identity credential", e))
        };
        let (tenant, client) = (get("AZURE_TENANT_ID"), get("AZURE_CLIENT_ID"));
        let (credential, source): (Arc<dyn TokenCredential>, &'static str) = if wanted == EntraSource::ManagedIdentity {
            (managed(client)?, "managed identity (batchflow.toml)")
        } else if let (Some(tenant), Some(client), Some(secret)) = (&tenant, &client, get("AZURE_CLIENT_SECRET")) {
            (
                azure_identity::ClientSecretCredential::new(tenant, client.clone(), Secret::new(secret), None)
                    .map_err(|e| fail("the client secret credential", e))?,
                "client secret (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)",
            )
        } else if let (Some(tenant), Some(client), Some(file)) = (&tenant, &client, get("AZURE_FEDERATED_TOKEN_FILE")) {
            let options = azure_identity::WorkloadIdentityCredentialOptions {
                tenant_id: Some(tenant.clone()),
                client_id: Some(client.clone()),
                token_file_path: Some(file.into()),
                ..Default::default()
            };
            (
                azure_identity::WorkloadIdentityCredential::new(Some(options))
                    .map_err(|e| fail("the workload identity credential", e))?,
                "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            )
        } else if get("IDENTITY_ENDPOINT").is_some() || get("MSI_ENDPOINT").is_some() {
            (managed(client)?, "managed identity")
        } else {
            (
                azure_identity::DeveloperToolsCredential::new(None)
                    .map_err(|e| fail("the developer tools credential", e))?,
                "developer tools (az login)",
            )
        };
        Ok(Entra {
            credential: Some(credential),
            fixed: None,
            cached: Mutex::new(HashMap::new()),
            scope,
            source,
        })
    }

    /// `Bearer TOKEN` for the audience this credential was made for (Batch, unless
    /// [`Entra::for_scope`] said otherwise).
    pub async fn authorization(&self) -> Result<String, BatchError> {
        self.authorization_for(self.scope).await
    }

    /// `Bearer TOKEN` for the audience `scope` (such as [`ARM_SCOPE`]).
    pub async fn authorization_for(&self, scope: &'static str) -> Result<String, BatchError> {
        if let Some(token) = &self.fixed {
            return Ok(format!("Bearer {}", token.secret()));
        }
        let mut cached = self.cached.lock().await;
        let fresh = cached
            .get(scope)
            .is_some_and(|(_, expires)| *expires - azure_core::time::Duration::minutes(5) > OffsetDateTime::now_utc());
        if let (false, Some(credential)) = (fresh, &self.credential) {
            let token = credential
                .get_token(&[scope], None)
                .await
                .map_err(|e| BatchError::Auth(format!("cannot get a Microsoft Entra token ({}): {e}", self.source)))?;
            cached.insert(scope, (token.token, token.expires_on));
        }
        Ok(cached
            .get(scope)
            .map_or_else(String::new, |(t, _)| format!("Bearer {}", t.secret())))
    }
}

/// How this run authenticates.
#[derive(Debug)]
pub enum Credentials {
    SharedKey(SharedKey),
    Entra(Entra),
}

impl Credentials {
    pub fn mode(&self) -> crate::auth_mode::AuthMode {
        match self {
            Credentials::SharedKey(_) => crate::auth_mode::AuthMode::SharedKey,
            Credentials::Entra(_) => crate::auth_mode::AuthMode::EntraId,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signatures computed independently (Python's hmac/hashlib/base64 over the same string).
    /// The first two sign requests of api-version 2024-02-01.19.0 (the first is the example of
    /// batch-api-notes §9), which runs planned with that version still send.
    const KEY: &str = "YmF0Y2hmbG93LXRlc3Qta2V5LTAxMjM0NTY3ODk=";

    #[test]
    fn signs_a_post_as_batch_expects() {
        let key = SharedKey::new("myacct", KEY).expect("key");
        let query = vec![
            ("timeout".to_string(), "30".to_string()),
            ("api-version".to_string(), "2024-02-01.19.0".to_string()),
        ];
        let r = ToSign {
            method: "POST",
            path: "/jobs/j1/addtaskcollection",
            query: &query,
            content_length: 123,
            content_type: Some("application/json; odata=minimalmetadata"),
            ocp_headers: &[("ocp-date", "Fri, 17 Feb 2017 00:00:00 GMT")],
        };
        assert_eq!(
            key.string_to_sign(&r),
            "POST\n\n\n123\n\napplication/json; odata=minimalmetadata\n\n\n\n\n\n\nocp-date:Fri, 17 Feb 2017 00:00:00 GMT\n/myacct/jobs/j1/addtaskcollection\napi-version:2024-02-01.19.0\ntimeout:30"
        );
        assert_eq!(
            key.authorization(&r),
            "SharedKey myacct:DuqfymmoXTpW0/dQQc8z361GEwO8ejSvYnk71AXQpyI="
        );
    }

    #[test]
    fn signs_a_get_with_odata_query() {
        let key = SharedKey::new("myacct", KEY).expect("key");
        let query = vec![
            ("api-version".to_string(), "2024-02-01.19.0".to_string()),
            ("$select".to_string(), "id,state".to_string()),
            ("$filter".to_string(), "state eq 'completed'".to_string()),
        ];
        let r = ToSign {
            method: "GET",
            path: "/jobs/j1/tasks",
            query: &query,
            content_length: 0,
            content_type: None,
            ocp_headers: &[("ocp-date", "Mon, 23 Nov 2026 12:00:00 GMT")],
        };
        assert_eq!(
            key.authorization(&r),
            "SharedKey myacct:LwAfXVSG7gTc8jfj0RO/OkFrLyABjAyT4CtlCBdbOnY="
        );
    }

    /// The default api-version has no service suffix; it is signed as any query value. The
    /// expected string follows the azure-batch 15.1.0 SDK's `BatchSharedKeyAuthPolicy`
    /// (`azure/batch/_patch.py`), which speaks 2025-06-01.
    #[test]
    fn signs_a_patch_for_api_version_2025_06_01() {
        let key = SharedKey::new("myacct", KEY).expect("key");
        let query = vec![("api-version".to_string(), crate::plan::DEFAULT_API_VERSION.to_string())];
        let r = ToSign {
            method: "PATCH",
            path: "/jobs/j1",
            query: &query,
            content_length: r#"{"onAllTasksComplete":"terminatejob"}"#.len(),
            content_type: Some("application/json; odata=minimalmetadata"),
            ocp_headers: &[("ocp-date", "Mon, 23 Nov 2026 12:00:00 GMT")],
        };
        assert_eq!(
            key.string_to_sign(&r),
            "PATCH\n\n\n37\n\napplication/json; odata=minimalmetadata\n\n\n\n\n\n\nocp-date:Mon, 23 Nov 2026 12:00:00 GMT\n/myacct/jobs/j1\napi-version:2025-06-01"
        );
        assert_eq!(
            key.authorization(&r),
            "SharedKey myacct:Dq5iX/3sBRxk0bxaF1AXv4RLjgH9xTcZBupGub+JSj8="
        );
    }

    #[test]
    fn rejects_keys_that_are_not_base64() {
        assert!(SharedKey::new("a", "not base64!").is_err());
    }
}
