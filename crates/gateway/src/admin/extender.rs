//! Extender for Confluence's token API, so existing scripts keep working:
//! `GET /rest/extender/1.0/tokenTools/get`, `POST …/set`, `DELETE …/delete`, with Extender's field
//! names. One deliberate difference: secrets are never readable back, so `token` in `get` is the
//! token's public id (which `delete` accepts, as well as the secret itself).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::actor::Admin;
use super::extract::{JsonBody, QueryOf};
use super::native::{create_token, revoke_token, store_error};
use super::schema::ErrorBody;
use crate::proxy::refusal::Refusal;
use crate::restrict::rule::split_lines;
use crate::secret::SecretHash;
use crate::state::Shared;
use crate::token::NewToken;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/get", get(list))
        .route("/set", post(set))
        .route("/delete", delete(remove))
        .method_not_allowed_fallback(super::extract::method_not_allowed)
}

#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(super) struct Page {
    /// Tokens to skip (default 0).
    #[param(minimum = 0, maximum = 18446744073709551615usize)]
    start_at: Option<usize>,
    /// Tokens per page, 1 to 1000 (default 50; out of range values are clamped).
    #[param(minimum = 0, maximum = 18446744073709551615usize)]
    max_results: Option<usize>,
}

/// A token as Extender lists it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExtenderToken {
    label: String,
    /// The bound user; empty: any.
    user: String,
    /// The token's public id (secrets are never readable back); `delete` takes it.
    token: String,
    /// The rules, joined by `<br>`.
    limit_to: String,
    /// The allowed addresses, joined by `,`.
    ip: String,
    /// Epoch milliseconds; 0: never expires.
    valid_until: i64,
    date_created: i64,
    counter: i64,
    created_by: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExtenderList {
    tokens: Vec<ExtenderToken>,
    /// Tokens not revoked, on every page.
    total: usize,
    start_at: usize,
    max_results: usize,
    /// Always `ok`.
    status: String,
}

/// Lists the tokens not revoked, a page at a time.
#[utoipa::path(get, path = "/rest/extender/1.0/tokenTools/get", operation_id = "extenderGet",
    params(Page),
    responses(
        (status = 200, description = "a page of tokens", body = ExtenderList),
        (status = 400, description = "`invalid_query`: a parameter is not a whole number", body = ErrorBody),
    ))]
pub(super) async fn list(
    State(gw): State<Shared>,
    QueryOf(page): QueryOf<Page>,
) -> Result<Json<ExtenderList>, Refusal> {
    let _counts = gw.usage.read().await;
    let tokens = gw.store.tokens().await.map_err(store_error)?;
    let start = page.start_at.unwrap_or(0);
    let max = page.max_results.unwrap_or(50).clamp(1, 1000);
    let items = tokens
        .iter()
        .filter(|t| t.revoked_at.is_none())
        .skip(start)
        .take(max)
        .map(|t| {
            let (pending, _) = gw.cache.pending(&t.id);
            ExtenderToken {
                label: t.label.clone(),
                user: t.user.clone().unwrap_or_default(),
                token: t.id.clone(),
                limit_to: t.restrictions.join("<br>"),
                ip: t.ip_allowlist.join(","),
                valid_until: t.expires_at.unwrap_or(0),
                date_created: t.created_at,
                counter: t.use_count + pending,
                created_by: t.created_by.clone(),
            }
        })
        .collect();
    let total = tokens.iter().filter(|t| t.revoked_at.is_none()).count();
    Ok(Json(ExtenderList {
        tokens: items,
        total,
        start_at: start,
        max_results: max,
        status: "ok".into(),
    }))
}

/// Extender's token request. `daysUntilExpiry` is a number or a string of digits (empty: never).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SetRequest {
    /// 1 to 100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    label: String,
    /// Whole days, 1 to 3650, as a number or a string of digits; empty or null: never expires.
    /// (Its schema is completed in `openapi.rs`.)
    #[schema(value_type = Option<Object>)]
    days_until_expiry: Option<Value>,
    /// The Confluence user the token acts as (no `:` or control characters).
    #[schema(pattern = r"^[^:\x00-\x1F\x7F-\x9F]*$")]
    user_name: Option<String>,
    /// Rule lines, separated by newlines or `<br>`.
    limit_to: Option<String>,
    /// An admin-chosen secret: at least 20 characters, no `:` or white space; empty or absent:
    /// a generated one.
    #[schema(pattern = r"^([^:\s]{20,})?$")]
    token: Option<String>,
    /// Addresses or CIDR blocks, separated by `,`.
    ip: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SetAnswer {
    /// Always `ok`.
    status: String,
    /// The token's secret: shown this once, never again.
    token: String,
    id: String,
    label: String,
    /// The bound user; empty: any.
    user: String,
    /// Epoch milliseconds; 0: never expires.
    valid_until: i64,
    date_created: i64,
    /// Present when Confluence says it does not know the token's user.
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(super) struct StatusAnswer {
    /// Always `ok`.
    status: String,
}

/// Extender clients send numbers as numbers or strings; empty means "no expiry".
fn days(v: Option<Value>) -> Result<Option<i64>, Refusal> {
    let bad = || {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_token_request",
            "daysUntilExpiry must be a whole number of days",
        )
    };
    match v {
        None | Some(Value::Null) => Ok(None),
        // JSON has one number type: `30.0` is 30 days as much as `30` is.
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(d), _) => Ok(Some(d)),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() <= 1e15 => Ok(Some(f as i64)),
            _ => Err(bad()),
        },
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// Creates a token, Extender's way.
#[utoipa::path(post, path = "/rest/extender/1.0/tokenTools/set", operation_id = "extenderSet",
    request_body = SetRequest,
    responses(
        (status = 200, description = "created; `token` is the secret, shown once", body = SetAnswer),
        (status = 400, description = "`invalid_json`, `invalid_token_request` (no label, a bad `daysUntilExpiry`, a rule or address that doesn't parse), `user_required`, `policy_max_lifetime`, `policy_ip_allowlist_required`, `policy_bound_user_required` (the gateway's `[policy]`; the message names the setting)", body = ErrorBody),
        (status = 409, description = "`token_exists`: another token already has the chosen secret (`token`)", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 500, description = "`internal`: the token could not be cached", body = ErrorBody),
    ))]
pub(super) async fn set(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    JsonBody(req): JsonBody<SetRequest>,
) -> Result<Json<SetAnswer>, Refusal> {
    let label = Some(req.label)
        .filter(|l| !l.trim().is_empty())
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "invalid_token_request",
                "label is required",
            )
        })?;
    let new = NewToken {
        label,
        user: req.user_name,
        days_until_expiry: days(req.days_until_expiry)?,
        restrictions: req.limit_to.map(|l| split_lines(&l)).unwrap_or_default(),
        ip_allowlist: req
            .ip
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
        token: req.token.filter(|t| !t.is_empty()),
        ..NewToken::default()
    };
    let (token, secret) = create_token(&gw, &admin, new).await?;
    let warning = super::native::unknown_user_warning(&gw, token.user.as_deref()).await;
    Ok(Json(SetAnswer {
        status: "ok".into(),
        token: secret,
        id: token.id,
        label: token.label,
        user: token.user.unwrap_or_default(),
        valid_until: token.expires_at.unwrap_or(0),
        date_created: token.created_at,
        warning,
    }))
}

#[derive(Deserialize, ToSchema)]
pub(super) struct DeleteRequest {
    /// The token's public id (`tok_…`) or its secret.
    token: String,
}

/// Revokes a token. Like the native API's, a revoked token stays readable (by id) by design.
#[utoipa::path(delete, path = "/rest/extender/1.0/tokenTools/delete", operation_id = "extenderDelete",
    request_body = DeleteRequest,
    responses(
        (status = 200, description = "revoked", body = StatusAnswer),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 404, description = "`token_not_found`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
    ))]
pub(super) async fn remove(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    JsonBody(req): JsonBody<DeleteRequest>,
) -> Result<Json<StatusAnswer>, Refusal> {
    let id = if req.token.starts_with("tok_") {
        req.token.clone()
    } else {
        match gw.store.token_by_hash(&SecretHash::of(&req.token).0).await {
            Ok(Some(t)) => t.id,
            Ok(None) => {
                return Err(Refusal::new(
                    StatusCode::NOT_FOUND,
                    "token_not_found",
                    "no such token",
                ))
            }
            Err(e) => return Err(store_error(e)),
        }
    };
    revoke_token(&gw, &admin, &id).await?;
    Ok(Json(StatusAnswer {
        status: "ok".into(),
    }))
}
