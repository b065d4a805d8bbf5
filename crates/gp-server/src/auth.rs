//! Optional token security: `generateToken` with fixed users, tokens that expire,
//! and failed attempts slowed down per user and per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;

use crate::ids::new_id;
use crate::request::Params;
use crate::respond::ApiError;

/// Users and issued tokens.
#[derive(Debug)]
pub(crate) struct Auth {
    users: Vec<(String, String)>,
    max_ttl: Duration,
    tokens: Mutex<HashMap<String, (String, SystemTime)>>,
    failures: Mutex<HashMap<String, Failures>>,
}

/// Failed attempts of one user or address.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

/// Failed attempts allowed before each further one must wait.
const FREE_FAILURES: u32 = 5;
/// The longest wait.
const MAX_LOCK: Duration = Duration::from_secs(300);

/// How long a key is locked after `count` failures: 1 s after the sixth, doubling.
fn lock_for(count: u32) -> Option<Duration> {
    let over = count.checked_sub(FREE_FAILURES + 1)?;
    Some(Duration::from_secs(1u64 << over.min(9)).min(MAX_LOCK))
}

/// A token handed out by `generateToken`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Issued {
    pub(crate) token: String,
    pub(crate) expires_ms: i64,
}

impl Auth {
    /// Token security for `users` (user, password); tokens live at most `max_ttl`.
    pub(crate) fn new(users: Vec<(String, String)>, max_ttl: Duration) -> Self {
        Auth {
            users,
            max_ttl,
            tokens: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// True when token security is on.
    pub(crate) fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Issues a token for valid credentials; `expiration` in minutes (capped). After
    /// [`FREE_FAILURES`] failures for the user or the client address, further attempts
    /// are refused (429) for a time that doubles with each failure, without the
    /// password being looked at.
    pub(crate) fn generate(
        &self,
        user: &str,
        password: &str,
        expiration_minutes: Option<f64>,
        client: Option<IpAddr>,
    ) -> Result<Issued, ApiError> {
        let keys = [
            format!("user:{user}"),
            format!("addr:{}", client.map(|c| c.to_string()).unwrap_or_default()),
        ];
        let now = Instant::now();
        {
            let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            let wait = keys
                .iter()
                .filter_map(|k| f.get(k).and_then(|x| x.locked_until))
                .filter(|until| *until > now)
                .max();
            if let Some(until) = wait {
                let secs = (until - now).as_secs_f64().ceil();
                tracing::warn!(user = %user, client = ?client, "generateToken refused: too many failed attempts");
                return Err(ApiError::too_many(format!(
                    "Too many failed attempts for this user or address; try again in {secs} s."
                )));
            }
        }
        let ok = self
            .users
            .iter()
            .any(|(u, p)| u == user && constant_time_eq(p.as_bytes(), password.as_bytes()));
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if !ok {
            tracing::warn!(user = %user, client = ?client, "generateToken: invalid username or password");
            if f.len() > 10_000 {
                f.retain(|_, x| now.duration_since(x.last) < Duration::from_secs(3600));
            }
            for k in &keys {
                let e = f.entry(k.clone()).or_insert(Failures {
                    count: 0,
                    last: now,
                    locked_until: None,
                });
                e.count = e.count.saturating_add(1);
                e.last = now;
                e.locked_until = lock_for(e.count).map(|d| now + d);
            }
            return Err(ApiError::new(
                400,
                "Unable to generate token.",
                vec!["Invalid username or password.".into()],
            ));
        }
        for k in &keys {
            f.remove(k);
        }
        drop(f);
        let ttl = match expiration_minutes {
            Some(m) if m.is_finite() && m > 0.0 => {
                Duration::from_secs_f64(m * 60.0).min(self.max_ttl)
            }
            _ => self.max_ttl.min(Duration::from_secs(3600)),
        };
        let token = new_id("");
        let expires = SystemTime::now() + ttl;
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let now = SystemTime::now();
        t.retain(|_, (_, exp)| *exp > now);
        t.insert(token.clone(), (user.to_string(), expires));
        let expires_ms = expires
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Ok(Issued { token, expires_ms })
    }

    /// Expires `token` now (fault injection: a token that expires mid-job). False
    /// when it was not issued here.
    pub(crate) fn expire(&self, token: &str) -> bool {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        t.remove(token).is_some()
    }

    /// The user of the request: `Ok(None)` when security is off; 499 without a
    /// token; 498 for an unknown or expired one.
    pub(crate) fn check(
        &self,
        params: &Params,
        headers: &HeaderMap,
    ) -> Result<Option<String>, ApiError> {
        if !self.enabled() {
            return Ok(None);
        }
        let token = request_token(params.get("token"), headers);
        let Some(token) = token else {
            return Err(ApiError::token_required());
        };
        let t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        match t.get(&token) {
            Some((user, exp)) if *exp > SystemTime::now() => Ok(Some(user.clone())),
            _ => Err(ApiError::invalid_token()),
        }
    }
}

/// The token a request carries: the `token` parameter (query or form) first, then
/// `X-Esri-Authorization: Bearer`, then `Authorization: Bearer`; empty is none.
pub(crate) fn request_token(param: Option<&str>, headers: &HeaderMap) -> Option<String> {
    let bearer = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let v = v.trim();
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|s| s.trim().to_string())
    };
    param
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .or_else(|| bearer("x-esri-authorization"))
        .or_else(|| bearer("authorization"))
        .filter(|t| !t.is_empty())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_the_user_and_the_address_then_success_unlocks() {
        let a = Auth::new(vec![("ann".into(), "pw".into())], Duration::from_secs(60));
        let ip: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..FREE_FAILURES {
            let e = a.generate("ann", "bad", None, Some(ip)).unwrap_err();
            assert_eq!(e.code, 400);
        }
        // The sixth failure locks for a second: the next attempt is refused unread,
        // even with the right password, and from another address (the user is locked).
        assert_eq!(
            a.generate("ann", "bad", None, Some(ip)).unwrap_err().code,
            400
        );
        let e = a
            .generate("ann", "pw", None, Some([10, 0, 0, 2].into()))
            .unwrap_err();
        assert_eq!(e.code, 429, "{e:?}");
        assert!(e.details[0].contains("try again in"), "{e:?}");
        // Another user from the locked address is refused too.
        assert_eq!(
            a.generate("bob", "x", None, Some(ip)).unwrap_err().code,
            429
        );
        assert_eq!(lock_for(FREE_FAILURES), None);
        assert_eq!(lock_for(FREE_FAILURES + 1), Some(Duration::from_secs(1)));
        assert_eq!(lock_for(FREE_FAILURES + 2), Some(Duration::from_secs(2)));
        assert_eq!(lock_for(100), Some(MAX_LOCK));
    }
}
