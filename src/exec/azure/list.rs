//! Reads: single resources, and list calls with `$select` and `$filter`, following
//! `odata.nextLink` to the end.

use super::client::BatchClient;
use super::models::Page;
use crate::exec::error::{BatchError as Error, RunError};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

/// Every item of a list, page after page.
pub async fn all<T: DeserializeOwned>(
    client: &BatchClient,
    path: &str,
    query: &[(&str, &str)],
) -> Result<Vec<T>, Error> {
    let mut out = Vec::new();
    let mut reply = client.send(Method::GET, path, query, None).await?;
    loop {
        let page: Page<T> = serde_json::from_slice(&reply.body)
            .map_err(|e| Error::Transport(format!("a list reply of {path} does not parse: {e}")))?;
        out.extend(page.value);
        let Some(next) = page.next_link else { break };
        let url =
            Url::parse(&next).map_err(|e| Error::Transport(format!("odata.nextLink `{next}` is not a URL: {e}")))?;
        reply = client.send_url(Method::GET, url, None).await?;
    }
    Ok(out)
}

/// One resource, parsed.
pub async fn get_raw<T: DeserializeOwned>(
    client: &BatchClient,
    path: &str,
    query: &[(&str, &str)],
) -> Result<T, Error> {
    let reply = client.send(Method::GET, path, query, None).await?;
    serde_json::from_slice(&reply.body).map_err(|e| Error::Transport(format!("{path} does not parse: {e}")))
}

/// One resource, parsed; the error says what was read.
pub async fn get<T: DeserializeOwned>(client: &BatchClient, path: &str, query: &[(&str, &str)]) -> Result<T, RunError> {
    get_raw(client, path, query)
        .await
        .map_err(|e| RunError::batch(format!("read {path}"), e))
}
