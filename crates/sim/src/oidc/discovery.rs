//! The discovery document and the JWKS, in Entra ID's v2.0 shapes.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{issuer, provider};
use crate::auth::primitives::lock;
use crate::Shared;

pub(super) async fn openid_configuration(State(state): State<Shared>) -> Response {
    let (Some((p, c)), Some(iss)) = (provider(&state), issuer(&state)) else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let base = p.base_url();
    let t = &c.tenant;
    Json(json!({
        "issuer": iss,
        "authorization_endpoint": format!("{base}/{t}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{t}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/{t}/discovery/v2.0/keys"),
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "name", "email",
            "preferred_username", "oid", "tid", "groups", "ver"
        ],
        "tenant_region_scope": "EU",
    }))
    .into_response()
}

pub(super) async fn jwks(State(state): State<Shared>) -> Response {
    let Some((p, _)) = provider(&state) else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let body = lock(&p.keys).jwks();
    // No caching: a test rotates keys and expects the next fetch to see it.
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}
