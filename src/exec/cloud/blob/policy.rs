//! The step of the storage crates' request pipeline that authorizes each attempt: SharedKey
//! (with a fresh `x-ms-date`) or an Entra bearer token. It runs last before the transport, so
//! the signature covers every header the crate set.

use super::account::Auth;
use super::shared_key::{string_to_sign, Signed};
use azure_core::error::ErrorKind;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{Context, Request};
use std::sync::Arc;
use std::time::SystemTime;

#[derive(Debug)]
pub(super) struct AuthPolicy {
    pub account: String,
    pub auth: Auth,
}

#[async_trait::async_trait]
impl Policy for AuthPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        match &self.auth {
            Auth::Key(key) => {
                request.insert_header("x-ms-date", httpdate::fmt_http_date(SystemTime::now()));
                let headers: Vec<(String, String)> = request
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
                    .collect();
                let method = request.method();
                let signed = Signed {
                    method: method.as_ref(),
                    url: request.url(),
                    headers: &headers,
                    content_length: request.body().len().unwrap_or(0),
                };
                let signature = key.sign(&string_to_sign(&self.account, &signed));
                request.insert_header("authorization", format!("SharedKey {}:{signature}", self.account));
            }
            Auth::Entra(entra) => {
                let bearer = entra
                    .authorization()
                    .await
                    .map_err(|e| azure_core::Error::with_message(ErrorKind::Credential, e.to_string()))?;
                request.insert_header("authorization", bearer);
            }
        }
        match next.split_first() {
            Some((first, rest)) => first.send(ctx, request, rest).await,
            None => Err(azure_core::Error::with_message(
                ErrorKind::Other,
                "the storage pipeline has no transport",
            )),
        }
    }
}
