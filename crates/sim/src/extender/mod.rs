//! A Confluence with Extender for Confluence's "REST API Tokens" add-on installed (`[extender]`
//! in the config; off when absent), so a script can be shown working against the add-on and then,
//! unchanged but for the base URL, against `cfl serve` after `cfl token import-extender`.
//!
//! - `GET /rest/extender/1.0/tokenTools/get?startAt=&maxResults=`: the tokens *with their
//!   secrets*, as the add-on answers; Confluence admins only, with their password (Basic).
//! - The tokens authenticate REST requests as their user ([`identify`]): Basic `USER:TOKEN`, USER
//!   being the bound user's name or email (any existing user for an unbound token), and
//!   `Bearer TOKEN` when `allow_bearer` is set (bound tokens only). Expired tokens, another
//!   client address than `ip`, and requests no rule allows are refused.
//!
//! `config.rs` the `[extender]` table, `rules.rs` the add-on's rule matching.

pub mod config;
pub mod rules;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

pub use config::{ExtenderConfig, ExtenderTokenConfig};

use crate::auth::{ct_eq, AuthMethod, Caller};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::Shared;

/// The add-on's REST resources; none when `[extender]` is absent (its paths then answer 404).
pub fn routes(state: &Shared) -> Router<Shared> {
    match state.config.extender {
        Some(_) => Router::new().route("/rest/extender/1.0/tokenTools/get", get(list)),
        None => Router::new(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    start_at: Option<usize>,
    max_results: Option<usize>,
}

/// `tokenTools/get`: a page of tokens, secrets included.
async fn list(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    let is_admin = caller.method == AuthMethod::Password
        && caller
            .user
            .as_deref()
            .and_then(|u| state.db().user_by_name(u).map(|u| u.admin))
            .unwrap_or(false);
    if !is_admin {
        return Err(ApiError::forbidden(
            ErrorStyle::V1,
            "Only Confluence administrators may manage REST API tokens",
        ));
    }
    let Some(ext) = &state.config.extender else {
        return Err(ApiError::not_found(ErrorStyle::V1, "no such resource"));
    };
    let start = page.start_at.unwrap_or(0);
    let max = page.max_results.unwrap_or(ext.page_size).max(1);
    let tokens: Vec<Value> = ext
        .tokens
        .iter()
        .skip(start)
        .take(max)
        .map(|t| {
            json!({
                "label": t.label,
                "user": t.user,
                "token": t.token,
                "limitTo": t.limit_to.join("<br>"),
                "ip": t.ip,
                "validUntil": t.valid_until,
                "dateCreated": t.date_created,
                "counter": t.counter,
            })
        })
        .collect();
    Ok(Json(json!({
        "tokens": tokens,
        "total": ext.tokens.len(),
        "startAt": start,
        "maxResults": max,
        "status": "ok",
    })))
}

/// What the auth layer knows of a request, for [`identify`].
pub struct Seen<'r> {
    pub authorization: Option<&'r str>,
    pub method: &'r str,
    /// The raw path, context path included.
    pub path: &'r str,
    pub query: Option<&'r str>,
    pub peer: &'r str,
}

/// The caller an add-on token makes, `Ok(None)` when the request carries none (or the add-on is
/// not installed): the other credentials are then tried.
pub fn identify(state: &Shared, seen: &Seen<'_>, style: ErrorStyle) -> ApiResult<Option<Caller>> {
    let (Some(ext), Some(authz)) = (&state.config.extender, seen.authorization) else {
        return Ok(None);
    };
    let (scheme, rest) = authz.split_once(' ').unwrap_or((authz, ""));
    let (login, secret) = if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|d| d.split_once(':')) {
            Some((l, s)) => (Some(l.to_string()), s.to_string()),
            None => return Ok(None),
        }
    } else if scheme.eq_ignore_ascii_case("bearer") && ext.allow_bearer {
        (None, rest.trim().to_string())
    } else {
        return Ok(None);
    };
    let Some(token) = ext.tokens.iter().find(|t| ct_eq(&t.token, &secret)) else {
        return Ok(None);
    };
    let refused = |m: &str| Err(ApiError::unauthorized(style, m));
    let user = {
        let db = state.db();
        let named = login
            .as_deref()
            .and_then(|l| db.user_by_name(l).or_else(|| db.user_by_email(l)))
            .map(|u| u.name.clone());
        match (token.user.as_str(), named) {
            ("", Some(named)) => named,
            ("", None) => return refused("This token needs the user it acts as: Basic USER:TOKEN"),
            (bound, None) if login.is_none() => bound.to_string(),
            (bound, Some(named)) if named.eq_ignore_ascii_case(bound) => named,
            _ => return refused("This token belongs to another user"),
        }
    };
    if token.valid_until > 0 && state.clock.now_ms() >= token.valid_until {
        return refused("This token has expired");
    }
    if !token.ip.is_empty() && token.ip != seen.peer {
        return Err(ApiError::forbidden(
            style,
            "This token may not be used from your address",
        ));
    }
    if !token.limit_to.is_empty()
        && !token.limit_to.iter().any(|line| {
            rules::Rule::parse(line).is_ok_and(|r| r.allows(seen.method, seen.path, seen.query))
        })
    {
        return Err(ApiError::forbidden(
            style,
            "This token is not allowed to make this request",
        ));
    }
    Ok(Some(Caller::user(
        &user,
        AuthMethod::ExtenderToken,
        format!("extender:{}", token.label),
    )))
}
