//! `/arcgis/tokens[/generateToken]`: token security's front door. Failed attempts are
//! logged (user and address, never the password) and slowed down by [`crate::auth`].

use axum::http::Method;
use axum::response::Response;
use gp_model::{TokenResponse, TokensInfo};

use crate::request::F;
use crate::respond::{ApiError, value_response};
use crate::state::{App, Ctx, eq};

/// `/arcgis/tokens[/…]`.
pub(crate) fn tokens(app: &App, ctx: &Ctx, tail: &[&str]) -> Result<Response, ApiError> {
    match tail {
        [] => {
            let v = TokensInfo {
                generate_token_url: Some(ctx.url("/arcgis/tokens/generateToken")),
                token_security: app.auth.enabled(),
            };
            Ok(value_response(ctx.f, "Tokens", &[], &[], &v))
        }
        [g] if eq(g, "generateToken") => generate(app, ctx),
        _ => Err(ApiError::not_found("Resource not found")),
    }
}

fn refused(detail: impl Into<String>) -> ApiError {
    ApiError::new(400, "Unable to generate token.", vec![detail.into()])
}

fn generate(app: &App, ctx: &Ctx) -> Result<Response, ApiError> {
    if !app.auth.enabled() {
        return Err(refused(
            "Token security is not enabled on this server (start it with --token-auth USER:PASS).",
        ));
    }
    if ctx.method != Method::POST {
        return Err(ApiError::new(
            405,
            "Unable to generate token.",
            vec!["generateToken accepts POST requests only.".into()],
        ));
    }
    let user = ctx.params.get("username").unwrap_or_default();
    let pass = ctx.params.get("password").unwrap_or_default();
    let exp = match ctx.params.get("expiration").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            s.trim()
                .parse::<f64>()
                .map_err(|_| refused(format!("expiration: `{s}` is not a number of minutes")))?,
        ),
    };
    let t = app
        .auth
        .generate(user, pass, exp, ctx.peer.map(|p| p.ip()))?;
    let v = TokenResponse {
        token: t.token,
        expires: Some(t.expires_ms),
        ssl: Some(app.tls),
    };
    Ok(value_response(
        if ctx.f == F::Html { F::Json } else { ctx.f },
        "Token",
        &[],
        &[],
        &v,
    ))
}
