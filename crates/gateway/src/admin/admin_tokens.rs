//! `/admin/v1/admin-tokens`: gateway admin tokens with a role (the bootstrap token is `admin`),
//! for scripts that should only read the audit log or only manage tokens. Only `admin` may
//! create or revoke them (`roles.rs`: unlisted routes need `admin`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Extension, Json, Router};

use super::actor::Admin;
use super::extract::{JsonBody, PathOf};
use super::native::store_error;
use super::schema::{CreateAdminTokenRequest, CreatedAdminToken, ErrorBody, RevokedAdminToken};
use crate::proxy::refusal::Refusal;
use crate::secret::{public_id, Secret};
use crate::state::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/admin-tokens", post(create))
        .route("/admin-tokens/{id}", delete(revoke))
        .method_not_allowed_fallback(super::extract::method_not_allowed)
}

/// Creates an admin token with a role; its secret is in this answer only.
#[utoipa::path(post, path = "/admin/v1/admin-tokens", operation_id = "createAdminToken",
    request_body = CreateAdminTokenRequest,
    responses(
        (status = 201, description = "created", body = CreatedAdminToken),
        (status = 400, description = "`invalid_json` (e.g. an unknown role), `invalid_label` (empty)", body = ErrorBody),
        (status = 403, description = "`forbidden_by_role`: only the `admin` role manages admin tokens", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
    ))]
pub(super) async fn create(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    JsonBody(req): JsonBody<CreateAdminTokenRequest>,
) -> Result<Response, Refusal> {
    let label = req.label.trim();
    if label.is_empty() || req.label.chars().count() > 200 {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_label",
            "label must be 1 to 200 characters saying whose or what the admin token is",
        ));
    }
    let id = format!("adm_{}", &public_id()[4..]);
    let secret = Secret::generate();
    gw.store
        .insert_admin_token_with_role(&id, label, &secret.hash().0, req.role.as_str(), gw.now_ms())
        .await
        .map_err(store_error)?;
    admin
        .audit(&gw, "admin_token.create", "POST", Some(&id), 201)
        .await;
    let body = CreatedAdminToken {
        id,
        label: label.to_string(),
        role: req.role,
        secret: secret.expose().to_string(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Revokes an admin token: it stops working at once, on every replica.
#[utoipa::path(delete, path = "/admin/v1/admin-tokens/{id}", operation_id = "revokeAdminToken",
    params(("id" = String, Path, description = "the admin token's id (`adm_…`)")),
    responses(
        (status = 200, description = "revoked", body = RevokedAdminToken),
        (status = 400, description = "`invalid_path`", body = ErrorBody),
        (status = 403, description = "`forbidden_by_role`: only the `admin` role manages admin tokens", body = ErrorBody),
        (status = 404, description = "`admin_token_not_found`: no such admin token, or it was revoked already", body = ErrorBody),
    ))]
pub(super) async fn revoke(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    PathOf(id): PathOf<String>,
) -> Result<Json<RevokedAdminToken>, Refusal> {
    if !gw
        .store
        .revoke_admin_token(&id, gw.now_ms())
        .await
        .map_err(store_error)?
    {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "admin_token_not_found",
            format!("no active admin token with id {id}"),
        ));
    }
    admin
        .audit(&gw, "admin_token.revoke", "DELETE", Some(&id), 200)
        .await;
    Ok(Json(RevokedAdminToken { id, revoked: true }))
}
