//! Optional token security: `generateToken` with fixed users, tokens that expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;

use crate::jobs::new_id;
use crate::request::Params;
use crate::respond::ApiError;

/// Users and issued tokens.
#[derive(Debug)]
pub(crate) struct Auth {
    users: Vec<(String, String)>,
    max_ttl: Duration,
    tokens: Mutex<HashMap<String, (String, SystemTime)>>,
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
        }
    }

    /// True when token security is on.
    pub(crate) fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Issues a token for valid credentials; `expiration` in minutes (capped).
    pub(crate) fn generate(
        &self,
        user: &str,
        password: &str,
        expiration_minutes: Option<f64>,
    ) -> Result<Issued, ApiError> {
        let ok = self
            .users
            .iter()
            .any(|(u, p)| u == user && constant_time_eq(p.as_bytes(), password.as_bytes()));
        if !ok {
            return Err(ApiError::new(
                400,
                "Unable to generate token.",
                vec!["Invalid username or password.".into()],
            ));
        }
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
        let token = params
            .get("token")
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .or_else(|| bearer("x-esri-authorization"))
            .or_else(|| bearer("authorization"));
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
