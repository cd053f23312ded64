//! When to try a request again: 429, 500, 502, 503, 504 and connection errors, with
//! exponential backoff and full jitter, `Retry-After` honoured, bounded attempts and time.
//! [`with_retries`] is the one loop the Batch, Azure Resource Manager and prices clients share.

use std::future::Future;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub max_delay: Duration,
    /// No retry starts after this much time since the first attempt.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_total: Duration::from_secs(300),
        }
    }
}

/// Statuses Batch answers when the same request may succeed later.
pub fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1` (`attempt` counts from 1): `Retry-After` when the
    /// service gave one (capped at `max_delay`), else a random pause up to
    /// `base * 2^(attempt-1)`, capped. `random` is uniform in [0, 1).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, random: f64) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_delay);
        }
        let exp = self.base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        exp.min(self.max_delay).mul_f64(random.clamp(0.0, 1.0))
    }
}

/// `Retry-After` as seconds (Batch sends seconds; an HTTP date is read too).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// What one attempt came to: an answer, or no answer at all.
pub enum Answer {
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: Vec<u8>,
    },
    /// Connection refused or dropped, a timeout: worth another try.
    Transport(String),
}

/// A final answer and how many attempts it took.
#[derive(Debug)]
pub struct Exchange {
    pub status: u16,
    pub body: Vec<u8>,
    pub attempts: u32,
}

/// Why [`with_retries`] gave up.
#[derive(Debug)]
pub enum Failure<E> {
    /// An answer that is not 2xx: one not worth retrying, or the last of the retries.
    Answered(Exchange),
    /// No answer, after `attempts` tries.
    Transport { message: String, attempts: u32 },
    /// The attempt itself failed for good (no credentials, say).
    Other(E, u32),
}

/// Calls `attempt` until it gives a 2xx answer, an answer not worth retrying, or `policy`
/// says stop.
pub async fn with_retries<F, Fut, E>(policy: &RetryPolicy, mut attempt: F) -> Result<Exchange, Failure<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Answer, E>>,
{
    let mut jitter = Jitter::new(u64::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([7; 8]),
    ));
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (retry_after, failure) = match attempt().await {
            Ok(Answer::Status { status, body, .. }) if (200..300).contains(&status) => {
                return Ok(Exchange { status, body, attempts })
            }
            Ok(Answer::Status {
                status,
                retry_after,
                body,
            }) if retryable(status) => (retry_after, Failure::Answered(Exchange { status, body, attempts })),
            Ok(Answer::Status { status, body, .. }) => {
                return Err(Failure::Answered(Exchange { status, body, attempts }))
            }
            Ok(Answer::Transport(message)) => (None, Failure::Transport { message, attempts }),
            Err(e) => return Err(Failure::Other(e, attempts)),
        };
        let pause = policy.delay(attempts, retry_after, jitter.sample());
        if attempts >= policy.max_attempts || started.elapsed() + pause > policy.max_total {
            return Err(failure);
        }
        tokio::time::sleep(pause).await;
    }
}

/// A small xorshift for jitter: no need for cryptographic randomness.
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: u64) -> Jitter {
        Jitter(seed | 1)
    }

    pub fn sample(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, None, 0.999_999),
            Duration::from_millis(250).mul_f64(0.999_999)
        );
        assert!(p.delay(3, None, 0.999) > p.delay(2, None, 0.999));
        assert_eq!(p.delay(30, None, 1.0), p.max_delay);
        assert_eq!(p.delay(1, Some(Duration::from_secs(3)), 0.5), Duration::from_secs(3));
        assert_eq!(p.delay(1, Some(Duration::from_secs(3600)), 0.5), p.max_delay);
    }

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn jitter_stays_in_range() {
        let mut j = Jitter::new(42);
        for _ in 0..1000 {
            let x = j.sample();
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn only_transient_statuses_retry() {
        for s in [429, 500, 502, 503, 504] {
            assert!(retryable(s));
        }
        for s in [400, 401, 403, 404, 409, 412, 413] {
            assert!(!retryable(s));
        }
    }
}
