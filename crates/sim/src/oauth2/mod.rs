//! OAuth 2.0 authorization servers: Cloud (`auth.atlassian.com`: `/authorize`, `/oauth/token`,
//! `api.atlassian.com/oauth/token/accessible-resources`) and the DC provider
//! (`/rest/oauth2/latest/authorize|token`).
//!
//! `authorize` approves a request from Basic credentials (tests) or a small HTML login and
//! consent form (browsers); `token` serves the grants. Issued codes and tokens are stored by their
//! SHA-256 only. Bearer tokens are checked by `caller_for_access_token`, called from the auth layer.

mod authorize;
pub(crate) use authorize::esc;
mod token;

use std::collections::HashMap;
use std::sync::Mutex;

use axum::routing::get;
use axum::Router;
use base64::Engine;
use rand::RngCore;

use crate::auth::caller::{ApiBase, AuthMethod, Caller};
use crate::auth::primitives::lock;
use crate::config::{Flavor, OAuth2ClientConfig, OAuth2ClientKind};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::secret_hash;
use crate::Shared;

/// Authorization codes live ten minutes, as RFC 6749 recommends at most.
const CODE_TTL_MS: i64 = 10 * 60 * 1000;

/// An approved authorization request waiting to be exchanged for tokens.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub user: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    /// PKCE: (method `S256` or `plain`, challenge).
    pub challenge: Option<(String, String)>,
    pub expires_at: i64,
}

/// An issued access or refresh token (stored under the hash of its value).
#[derive(Debug, Clone)]
pub struct Issued {
    pub client_id: String,
    pub user: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
}

#[derive(Default)]
pub struct Store {
    pub codes: Mutex<HashMap<String, Grant>>,
    pub access: Mutex<HashMap<String, Issued>>,
    pub refresh: Mutex<HashMap<String, Issued>>,
}

/// `/authorize`, `/oauth/token`, `/oauth/token/accessible-resources`.
pub fn cloud_routes() -> Router<Shared> {
    Router::new()
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/oauth/token", axum::routing::post(token::token))
        .route(
            "/oauth/token/accessible-resources",
            get(token::accessible_resources),
        )
}

/// `/rest/oauth2/latest/authorize` and `/rest/oauth2/latest/token`.
pub fn dc_routes() -> Router<Shared> {
    Router::new()
        .route(
            "/rest/oauth2/latest/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/rest/oauth2/latest/token",
            axum::routing::post(token::token),
        )
}

/// The caller an OAuth 2.0 access token stands for. `Ok(None)`: not an OAuth token (the auth
/// layer then tries a PAT on DC). Cloud accepts bearers only on `/ex/confluence/{cloudId}`.
pub fn caller_for_access_token(
    state: &Shared,
    base: ApiBase,
    token: &str,
    style: ErrorStyle,
) -> ApiResult<Option<Caller>> {
    let issued = lock(&state.auth.oauth2.access)
        .get(&secret_hash(token))
        .cloned();
    let Some(issued) = issued else {
        return Ok(None);
    };
    if issued.expires_at <= state.clock.now_ms() {
        return Err(
            ApiError::unauthorized(style, "The access token has expired")
                .with_header("www-authenticate", "Bearer error=\"invalid_token\""),
        );
    }
    if state.flavor() == Flavor::Cloud && base == ApiBase::Site {
        return Err(ApiError::unauthorized(
            style,
            "OAuth 2.0 access tokens are only accepted at https://api.atlassian.com/ex/confluence/{cloudId}",
        ));
    }
    let mut caller = Caller::user(
        &issued.user,
        AuthMethod::OAuth2,
        format!("oauth2:{}:{}", issued.client_id, issued.user),
    );
    caller.scopes = Some(issued.scopes);
    Ok(Some(caller))
}

/// A fresh 256-bit URL-safe secret.
pub(crate) fn random_secret() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The configured client `client_id` if it belongs to this flavour and is one of `kinds`.
fn client<'a>(
    state: &'a Shared,
    client_id: &str,
    kinds: &[OAuth2ClientKind],
) -> Option<&'a OAuth2ClientConfig> {
    state
        .config
        .oauth2_clients
        .iter()
        .find(|c| c.client_id == client_id && kinds.contains(&c.kind))
}

/// The authorization-code client kind of the running flavour.
fn code_kind(state: &Shared) -> OAuth2ClientKind {
    match state.flavor() {
        Flavor::Cloud => OAuth2ClientKind::Cloud3lo,
        Flavor::Dc => OAuth2ClientKind::Dc,
    }
}

/// Cloud service accounts can't take part in a 3LO consent.
fn is_service_account(state: &Shared, user: &str) -> bool {
    state.db().user_by_name(user).is_some_and(|u| {
        u.email
            .to_ascii_lowercase()
            .ends_with("@serviceaccount.atlassian.com")
    })
}

fn split_scopes(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
