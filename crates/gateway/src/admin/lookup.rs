//! `POST /admin/v1/tokens/lookup`: the token a secret belongs to, so `cfl token import-extender`
//! can tell an already imported token from a new one without creating anything (its dry run
//! writes nothing). The secret travels in the body, never in a URL that could be logged.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::JsonBody;
use super::native::{store_error, token_view};
use super::schema::{ErrorBody, TokenView};
use crate::proxy::refusal::Refusal;
use crate::secret::SecretHash;
use crate::state::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/tokens/lookup", post(lookup))
        .method_not_allowed_fallback(super::extract::method_not_allowed)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// A token's secret.
    pub token: String,
}

/// The token with this secret, revoked and expired ones included.
#[utoipa::path(post, path = "/admin/v1/tokens/lookup", operation_id = "lookupToken",
    request_body = LookupRequest,
    responses(
        (status = 200, description = "the token the secret belongs to", body = TokenView),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 404, description = "`token_not_found`: no token has this secret", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
    ))]
pub(super) async fn lookup(
    State(gw): State<Shared>,
    JsonBody(req): JsonBody<LookupRequest>,
) -> Result<Json<TokenView>, Refusal> {
    let _counts = gw.usage.read().await;
    match gw
        .store
        .token_by_hash(&SecretHash::of(&req.token).0)
        .await
        .map_err(store_error)?
    {
        Some(t) => Ok(Json(token_view(&gw, &t))),
        None => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "token_not_found",
            "no token has this secret",
        )),
    }
}
