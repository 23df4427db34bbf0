//! OAuth 2.0 authorization servers: Cloud (`auth.atlassian.com`: `/authorize`, `/oauth/token`,
//! `api.atlassian.com/oauth/token/accessible-resources`) and the DC provider
//! (`/rest/oauth2/latest/authorize|token`).
//!
//! `authorize` approves a request from Basic credentials (tests) or a small HTML login and
//! consent form (browsers); `token` serves the grants. Issued codes and tokens are stored by their
//! SHA-256 only. Bearer tokens are checked by `caller_for_access_token`, called from the auth layer.

mod authorize;
mod clients;
mod store;
mod token;

pub(crate) use authorize::esc;
pub(crate) use clients::random_secret;
use clients::{client, code_kind, is_service_account, split_scopes};
use store::CODE_TTL_MS;
pub use store::{Grant, Issued, Store};

use axum::routing::get;
use axum::Router;

use crate::auth::caller::{ApiBase, AuthMethod, Caller};
use crate::auth::primitives::lock;
use crate::config::Flavor;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::secret_hash;
use crate::Shared;

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
