//! The Batch data-plane REST client: reqwest (rustls) on tokio. Every request carries a
//! `client-request-id`, the same across the retries of one request, an `ocp-date`, the
//! api-version, and its authorization; transient failures are retried by [`RetryPolicy`].

use crate::exec::cloud::auth::{Credentials, ToSign};
use crate::exec::cloud::retry::{parse_retry_after, retryable, with_retries, Answer, Failure, RetryPolicy};
pub use crate::exec::error::BatchError as Error;
use crate::exec::error::RunError;
use reqwest::{Method, Url};
use serde::Deserialize;
use std::time::{Duration, SystemTime};

const CONTENT_TYPE: &str = "application/json; odata=minimalmetadata";

/// A reply worth looking at: 2xx, or an error the caller handles (such as `TaskExists`).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// How many attempts it took.
    pub attempts: u32,
}

/// Batch's error body.
#[derive(Deserialize)]
struct BatchError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: Option<ErrorMessage>,
    #[serde(default)]
    values: Vec<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorMessage {
    #[serde(default)]
    value: String,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
}

/// Whether an error body refuses the request's api-version: `UnsupportedRequestVersion`
/// ("The specified request version is not supported", Batch's status and error codes page), or
/// `InvalidQueryParameterValue` naming the `api-version` parameter.
fn refuses_api_version(body: &[u8]) -> bool {
    serde_json::from_slice::<BatchError>(body).is_ok_and(|e| {
        e.code == "UnsupportedRequestVersion"
            || (e.code == "InvalidQueryParameterValue"
                && e.values
                    .iter()
                    .any(|d| d.key == "QueryParameterName" && d.value.eq_ignore_ascii_case("api-version")))
    })
}

pub fn parse_error(status: u16, body: &[u8]) -> Error {
    match serde_json::from_slice::<BatchError>(body) {
        Ok(e) if !e.code.is_empty() => Error::Service {
            status,
            code: e.code,
            message: e
                .message
                .map(|m| m.value.lines().next().unwrap_or("").to_string())
                .unwrap_or_default(),
        },
        _ => Error::Service {
            status,
            code: format!("HTTP{status}"),
            message: String::from_utf8_lossy(body).chars().take(200).collect(),
        },
    }
}

/// Cheap to clone: clones share the connection pool and the token cache.
#[derive(Clone)]
pub struct BatchClient {
    http: reqwest::Client,
    base: Url,
    api_version: String,
    auth: std::sync::Arc<Credentials>,
    pub policy: RetryPolicy,
}

impl BatchClient {
    pub fn new(
        endpoint: &str,
        api_version: &str,
        auth: impl Into<std::sync::Arc<Credentials>>,
    ) -> Result<BatchClient, RunError> {
        let base = Url::parse(endpoint.trim_end_matches('/'))
            .map_err(|e| RunError::Config(format!("the Batch endpoint `{endpoint}` is not a URL: {e}")))?;
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| RunError::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(BatchClient {
            http,
            base,
            api_version: api_version.to_string(),
            auth: auth.into(),
            policy: RetryPolicy::default(),
        })
    }

    pub fn auth(&self) -> &Credentials {
        &self.auth
    }

    /// The credentials, to share with the Azure Resource Manager client.
    pub fn credentials(&self) -> std::sync::Arc<Credentials> {
        std::sync::Arc::clone(&self.auth)
    }

    /// The endpoint, as given.
    pub fn endpoint(&self) -> &Url {
        &self.base
    }

    /// A request to `path` (`/pools`, `/jobs/j/tasks`) with extra query parameters.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, Error> {
        let mut url = self.base.clone();
        url.set_path(path);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", &self.api_version);
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        self.send_url(method, url, body).await
    }

    /// A request to a full URL, such as an `odata.nextLink`; only to the account's own
    /// endpoint, so credentials never go to a host a reply named.
    pub async fn send_url(&self, method: Method, url: Url, body: Option<Vec<u8>>) -> Result<Reply, Error> {
        self.send_url_counting(method, url, body).await.map_err(|(e, _)| e)
    }

    async fn send_url_counting(&self, method: Method, url: Url, body: Option<Vec<u8>>) -> Result<Reply, (Error, u32)> {
        if url.origin() != self.base.origin() {
            return Err((
                Error::Transport(format!(
                    "refusing to follow `{url}`: it is not on the Batch endpoint {}",
                    self.base
                )),
                0,
            ));
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let result = with_retries(&self.policy, || async {
            match self.attempt(&method, &url, body.as_deref(), &request_id).await {
                Ok((status, retry_after, body)) => Ok(Answer::Status {
                    status,
                    retry_after,
                    body,
                }),
                Err(Error::Transport(m)) => Ok(Answer::Transport(m)),
                Err(other) => Err(other),
            }
        })
        .await;
        match result {
            Ok(ex) => Ok(Reply {
                status: ex.status,
                body: ex.body,
                attempts: ex.attempts,
            }),
            Err(Failure::Answered(ex)) if retryable(ex.status) => Err((parse_error(ex.status, &ex.body), ex.attempts)),
            Err(Failure::Answered(ex)) => Err((self.error(ex.status, &ex.body), ex.attempts)),
            Err(Failure::Transport { message, attempts }) => Err((
                Error::Transport(format!("{message} (after {attempts} attempts)")),
                attempts,
            )),
            Err(Failure::Other(e, attempts)) => Err((e, attempts)),
        }
    }

    /// A final error reply; one that refuses the api-version says which and what to do.
    fn error(&self, status: u16, body: &[u8]) -> Error {
        match parse_error(status, body) {
            Error::Service { status, code, message } if refuses_api_version(body) => Error::Service {
                status,
                code,
                message: format!(
                    "{message} This Batch account does not take api-version `{}`, which the run's plan names: start a new run with `--api-version {}` (the default)",
                    self.api_version,
                    crate::plan::DEFAULT_API_VERSION
                ),
            },
            other => other,
        }
    }

    /// One try: status, `Retry-After`, body; or a transport error.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        request_id: &str,
    ) -> Result<(u16, Option<Duration>, Vec<u8>), Error> {
        let date = httpdate::fmt_http_date(SystemTime::now());
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .header("client-request-id", request_id)
            .header("ocp-date", &date)
            .header("Accept", "application/json");
        let length = body.map_or(0, <[u8]>::len);
        if let Some(b) = body {
            req = req.header("Content-Type", CONTENT_TYPE).body(b.to_vec());
        } else if method == Method::POST || method == Method::PATCH {
            req = req.header("Content-Length", "0");
        }
        let authorization = match self.auth.as_ref() {
            Credentials::SharedKey(key) => {
                let query: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let path = percent_decode(url.path());
                key.authorization(&ToSign {
                    method: method.as_str(),
                    path: &path,
                    query: &query,
                    content_length: length,
                    content_type: body.map(|_| CONTENT_TYPE),
                    ocp_headers: &[("ocp-date", &date)],
                })
            }
            Credentials::Entra(entra) => entra.authorization().await?,
        };
        let response = req
            .header("Authorization", authorization)
            .send()
            .await
            .map_err(|e| Error::Transport(describe(&e)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = response.bytes().await.map_err(|e| Error::Transport(describe(&e)))?;
        Ok((status.as_u16(), retry_after, bytes.to_vec()))
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        format!("cannot connect to the Batch endpoint: {e}")
    } else {
        format!("the connection failed: {e}")
    }
}

/// `%20` and friends back to text, as the SharedKey signature wants the path.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&path[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_errors_parse() {
        let body = br#"{"odata.metadata":"x","code":"PoolExists","message":{"lang":"en-US","value":"The specified pool already exists.\nRequestId:1"}}"#;
        assert_eq!(
            parse_error(409, body),
            Error::Service {
                status: 409,
                code: "PoolExists".into(),
                message: "The specified pool already exists.".into()
            }
        );
        assert!(matches!(parse_error(502, b"<html>"), Error::Service { ref code, .. } if code == "HTTP502"));
    }

    #[test]
    fn a_refused_api_version_is_recognised() {
        let unsupported = br#"{"code":"UnsupportedRequestVersion","message":{"lang":"en-US","value":"The specified request version is not supported."}}"#;
        assert!(refuses_api_version(unsupported));
        let invalid = br#"{"code":"InvalidQueryParameterValue","message":{"value":"x"},"values":[{"key":"QueryParameterName","value":"api-version"},{"key":"QueryParameterValue","value":"2021-01-01"}]}"#;
        assert!(refuses_api_version(invalid));
        let other_parameter =
            br#"{"code":"InvalidQueryParameterValue","values":[{"key":"QueryParameterName","value":"maxresults"}]}"#;
        assert!(!refuses_api_version(other_parameter));
        assert!(!refuses_api_version(br#"{"code":"PoolExists"}"#));
        assert!(!refuses_api_version(b"not json"));
    }

    #[test]
    fn paths_decode() {
        assert_eq!(percent_decode("/jobs/a%20b/tasks"), "/jobs/a b/tasks");
        assert_eq!(percent_decode("/jobs/x%2"), "/jobs/x%2");
    }
}
