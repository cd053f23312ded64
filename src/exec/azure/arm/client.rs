//! The Azure Resource Manager REST client: reqwest on tokio, a Microsoft Entra token for
//! `https://management.azure.com/.default` from the run's credentials, the retry loop the
//! Batch client uses, and list calls followed through `nextLink` (only to the same endpoint,
//! so a token never goes to a host a reply named).

use crate::exec::azure::config::secure_url;
use crate::exec::cloud::auth::{Credentials, ARM_SCOPE};
use crate::exec::cloud::retry::{parse_retry_after, with_retries, Answer, Failure, RetryPolicy};
use crate::exec::error::{BatchError as Error, RunError};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Azure Resource Manager, unless `BATCHFLOW_ARM_ENDPOINT` names another (a fake on loopback).
pub const DEFAULT_ENDPOINT: &str = "https://management.azure.com";

/// The endpoint to use: `BATCHFLOW_ARM_ENDPOINT`, else [`DEFAULT_ENDPOINT`].
pub fn endpoint(env: &HashMap<String, String>) -> String {
    env.get("BATCHFLOW_ARM_ENDPOINT")
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
}

/// ARM's error body: `{"error": {"code", "message"}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn parse_error(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) if !e.error.code.is_empty() => Error::Service {
            status,
            code: e.error.code,
            message: e.error.message.lines().next().unwrap_or("").to_string(),
        },
        _ => Error::Service {
            status,
            code: format!("HTTP{status}"),
            message: String::from_utf8_lossy(body).chars().take(200).collect(),
        },
    }
}

/// A page of an ARM list.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(default)]
    next_link: Option<String>,
}

/// Cheap to clone: clones share the connection pool and the token cache.
#[derive(Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    base: Url,
    auth: Arc<Credentials>,
    pub policy: RetryPolicy,
}

impl ArmClient {
    pub fn new(endpoint: &str, auth: Arc<Credentials>) -> Result<ArmClient, RunError> {
        let base = secure_url(endpoint, "the Azure Resource Manager endpoint (BATCHFLOW_ARM_ENDPOINT)")?;
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| RunError::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(ArmClient {
            http,
            base,
            auth,
            policy: RetryPolicy::default(),
        })
    }

    /// The same client with another retry policy (the pre-flight gives up sooner than a run).
    pub fn with_policy(mut self, policy: RetryPolicy) -> ArmClient {
        self.policy = policy;
        self
    }

    fn url(&self, path: &str, api_version: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url.query_pairs_mut().append_pair("api-version", api_version);
        url
    }

    /// `GET path`, parsed.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, api_version: &str) -> Result<T, Error> {
        let body = self
            .send(Method::GET, self.url(path, api_version), None, false)
            .await?
            .1;
        serde_json::from_slice(&body).map_err(|e| Error::Transport(format!("{path} does not parse: {e}")))
    }

    /// Every item of a list, following `nextLink`.
    pub async fn list<T: DeserializeOwned>(&self, path: &str, api_version: &str) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        let mut url = self.url(path, api_version);
        loop {
            let body = self.send(Method::GET, url, None, false).await?.1;
            let page: Page<T> = serde_json::from_slice(&body)
                .map_err(|e| Error::Transport(format!("a list reply of {path} does not parse: {e}")))?;
            out.extend(page.value);
            let Some(next) = page.next_link.filter(|n| !n.is_empty()) else {
                return Ok(out);
            };
            url = Url::parse(&next).map_err(|e| Error::Transport(format!("nextLink `{next}` is not a URL: {e}")))?;
        }
    }

    /// `PUT path` with a JSON body; `only_new` sends `If-None-Match: *`, so an existing
    /// resource is refused (412) rather than changed. Returns the status and body.
    pub async fn put(
        &self,
        path: &str,
        api_version: &str,
        body: Vec<u8>,
        only_new: bool,
    ) -> Result<(u16, Vec<u8>), Error> {
        self.send(Method::PUT, self.url(path, api_version), Some(body), only_new)
            .await
    }

    /// `DELETE path`; the status (200, 202 or 204).
    pub async fn delete(&self, path: &str, api_version: &str) -> Result<u16, Error> {
        Ok(self
            .send(Method::DELETE, self.url(path, api_version), None, false)
            .await?
            .0)
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        only_new: bool,
    ) -> Result<(u16, Vec<u8>), Error> {
        if url.origin() != self.base.origin() {
            return Err(Error::Transport(format!(
                "refusing to follow `{url}`: it is not on the Azure Resource Manager endpoint {}",
                self.base
            )));
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let result = with_retries(&self.policy, || async {
            let authorization = match self.auth.as_ref() {
                Credentials::Entra(entra) => entra.authorization_for(ARM_SCOPE).await?,
                Credentials::SharedKey(_) => {
                    return Err(Error::Auth(
                        "Azure Resource Manager takes Microsoft Entra ID tokens, and the target uses a shared key"
                            .into(),
                    ))
                }
            };
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("x-ms-client-request-id", &request_id)
                .header("Accept", "application/json")
                .header("Authorization", authorization);
            if only_new {
                req = req.header("If-None-Match", "*");
            }
            if let Some(b) = &body {
                req = req.header("Content-Type", "application/json").body(b.clone());
            }
            let response = match req.send().await {
                Ok(r) => r,
                Err(e) => return Ok(Answer::Transport(describe(&e))),
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            match response.bytes().await {
                Ok(bytes) => Ok(Answer::Status {
                    status,
                    retry_after,
                    body: bytes.to_vec(),
                }),
                Err(e) => Ok(Answer::Transport(describe(&e))),
            }
        })
        .await;
        match result {
            Ok(ex) => Ok((ex.status, ex.body)),
            Err(Failure::Answered(ex)) => Err(parse_error(ex.status, &ex.body)),
            Err(Failure::Transport { message, attempts }) => {
                Err(Error::Transport(format!("{message} (after {attempts} attempts)")))
            }
            Err(Failure::Other(e, _)) => Err(e),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        format!("cannot connect to Azure Resource Manager: {e}")
    } else {
        format!("the connection failed: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_errors_parse() {
        let body =
            br#"{"error":{"code":"AuthorizationFailed","message":"The client does not have authorization.\nmore"}}"#;
        assert_eq!(
            parse_error(403, body),
            Error::Service {
                status: 403,
                code: "AuthorizationFailed".into(),
                message: "The client does not have authorization.".into()
            }
        );
        assert!(matches!(parse_error(502, b"<html>"), Error::Service { ref code, .. } if code == "HTTP502"));
    }

    #[test]
    fn the_endpoint_is_overridden_by_the_environment() {
        let mut env = HashMap::new();
        assert_eq!(endpoint(&env), DEFAULT_ENDPOINT);
        env.insert(
            "BATCHFLOW_ARM_ENDPOINT".to_string(),
            "http://127.0.0.1:4000/".to_string(),
        );
        assert_eq!(endpoint(&env), "http://127.0.0.1:4000");
    }
}
