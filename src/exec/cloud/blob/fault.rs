//! What a failed storage request means and whether to try it again: 408, 429, 500, 502, 503
//! (`ServerBusy`), 504, timeouts and dropped connections are retried with the Batch client's
//! backoff ([`RetryPolicy`]); a 403 becomes [`StorageError::Denied`]. Messages are cut free of
//! URL queries, where a SAS would sit.

use crate::exec::cloud::retry::{parse_retry_after, retryable, Jitter, RetryPolicy};
use crate::exec::error::{StorageError, Via};
use azure_core::error::ErrorKind;
use azure_core::http::headers::HeaderName;
use std::future::Future;
use std::time::{Duration, Instant};

/// One failed attempt.
#[derive(Debug)]
pub(super) struct Fault {
    pub error: StorageError,
    pub retry: bool,
    pub after: Option<Duration>,
}

impl Fault {
    /// A failure that another attempt cannot fix (a local file, a refused name).
    pub fn fatal(error: StorageError) -> Fault {
        Fault {
            error,
            retry: false,
            after: None,
        }
    }

    /// A failure of the transfer itself (a body cut short), worth another attempt.
    pub fn transient(why: String) -> Fault {
        Fault {
            error: StorageError::Transport(redact(&why)),
            retry: true,
            after: None,
        }
    }

    /// Reads an error of the storage crates' pipeline.
    pub fn of(e: azure_core::Error, account: &str, via: Via) -> Fault {
        let status = e.http_status().map(u16::from);
        let after = match e.kind() {
            ErrorKind::HttpResponse {
                raw_response: Some(raw),
                ..
            } => {
                let h = raw.headers();
                h.get_optional_str(&HeaderName::from_static("x-ms-retry-after-ms"))
                    .and_then(|ms| ms.trim().parse::<u64>().ok())
                    .map(Duration::from_millis)
                    .or_else(|| {
                        h.get_optional_str(&HeaderName::from_static("retry-after"))
                            .and_then(parse_retry_after)
                    })
            }
            _ => None,
        };
        match (e.kind(), status) {
            (ErrorKind::Credential, _) => Fault::fatal(StorageError::Credential(redact(&describe(&e)))),
            (ErrorKind::Io | ErrorKind::Connection, _) => Fault::transient(describe(&e)),
            (_, Some(status)) => {
                let (code, message) = match azure_storage_blob::StorageError::try_from(e) {
                    Ok(se) => (
                        se.error_code.map(|c| c.as_ref().to_string()),
                        se.message.unwrap_or_default(),
                    ),
                    Err(_) => (None, String::new()),
                };
                let code = code.unwrap_or_else(|| format!("HTTP{status}"));
                let error = if status == 403 {
                    StorageError::Denied {
                        account: account.to_string(),
                        via,
                        code,
                    }
                } else {
                    let first = message.lines().next().unwrap_or("").trim().to_string();
                    StorageError::Service {
                        status,
                        code,
                        message: redact(&first),
                    }
                };
                Fault {
                    error,
                    retry: retryable(status) || status == 408,
                    after,
                }
            }
            _ => Fault::fatal(StorageError::Transport(redact(&describe(&e)))),
        }
    }
}

/// Runs `op` until it succeeds, fails for good, or the policy's attempts or time run out.
pub(super) async fn with_retry<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> Result<T, StorageError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Fault>>,
{
    let start = Instant::now();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut jitter = Jitter::new(seed);
    let mut attempt = 1u32;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(f) if !f.retry || attempt >= policy.max_attempts || start.elapsed() >= policy.max_total => {
                return Err(match f.error {
                    StorageError::Transport(why) if attempt > 1 => {
                        StorageError::Transport(format!("{why} (after {attempt} attempts)"))
                    }
                    other => other,
                });
            }
            Err(f) => {
                tokio::time::sleep(policy.delay(attempt, f.after, jitter.sample())).await;
                attempt += 1;
            }
        }
    }
}

/// An error and its causes, as one line.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last().is_none_or(|p| !p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// `text` with the query of every URL in it replaced by `?…`: a SAS never reaches a message.
pub(super) fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in text.split_inclusive(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '"' | '\'' | '<' | '>')) {
        let (body, end) = match piece.char_indices().last() {
            Some((i, c)) if c.is_whitespace() || matches!(c, '(' | ')' | '"' | '\'' | '<' | '>') => piece.split_at(i),
            _ => (piece, ""),
        };
        match body.find('?') {
            Some(q) if body.contains("://") || body.contains("sig=") => {
                out.push_str(&body[..q]);
                out.push_str("?…");
            }
            _ => out.push_str(body),
        }
        out.push_str(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_queries_of_urls() {
        assert_eq!(
            redact("error sending request for url (https://a.blob.core.windows.net/c/b?sv=1&sig=SECRET): timed out"),
            "error sending request for url (https://a.blob.core.windows.net/c/b?…): timed out"
        );
        assert_eq!(redact("no url here? fine"), "no url here? fine");
    }

    #[tokio::test]
    async fn retries_transient_faults_then_gives_up() {
        let policy = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            max_total: Duration::from_secs(5),
        };
        let mut calls = 0;
        let r: Result<(), StorageError> = with_retry(&policy, || {
            calls += 1;
            async { Err(Fault::transient("connection reset".into())) }
        })
        .await;
        assert_eq!(calls, 3);
        assert!(r.expect_err("gives up").to_string().contains("after 3 attempts"));
        let mut calls = 0;
        let r: Result<(), StorageError> = with_retry(&policy, || {
            calls += 1;
            async { Err(Fault::fatal(StorageError::UnsafeName("../x".into()))) }
        })
        .await;
        assert_eq!(calls, 1);
        assert!(r.is_err());
    }
}
