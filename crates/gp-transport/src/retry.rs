//! Retry timing: exponential backoff with full jitter, `Retry-After` honoured.

use std::time::Duration;

use http::{HeaderMap, StatusCode, header};

/// How often and how long to retry idempotent requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retries). Default 3.
    pub max_retries: u32,
    /// First backoff step. Default 200 ms.
    pub base_delay: Duration,
    /// Longest wait between attempts, also the cap on `Retry-After`. Default 30 s.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Default::default()
        }
    }

    /// The wait before retry `attempt` (0-based): `Retry-After` when the server sent
    /// one, else a random time in `[0, min(max_delay, base_delay · 2^attempt)]`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_delay);
        }
        let cap = self
            .base_delay
            .saturating_mul(1u32.checked_shl(attempt.min(20)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let mut b = [0u8; 8];
        let _ = getrandom::fill(&mut b);
        let frac = (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64;
        cap.mul_f64(frac)
    }
}

/// Statuses worth retrying (for idempotent requests): 429, 502, 503, 504.
pub(crate) fn retryable_status(s: StatusCode) -> bool {
    matches!(s.as_u16(), 429 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by ArcGIS and is ignored).
pub(crate) fn retry_after(h: &HeaderMap) -> Option<Duration> {
    h.get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        for attempt in 0..40 {
            let d = p.delay(attempt, None);
            assert!(d <= p.max_delay);
            assert!(d <= p.base_delay.saturating_mul(1 << attempt.min(20)));
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(p.delay(0, Some(Duration::from_secs(999))), p.max_delay);
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        assert!(retryable_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!retryable_status(StatusCode::INTERNAL_SERVER_ERROR));
    }
}
