//! Extender for Confluence's token API, so existing scripts keep working:
//! `GET /rest/extender/1.0/tokenTools/get`, `POST …/set`, `DELETE …/delete`, with Extender's field
//! names. One deliberate difference: secrets are never readable back, so `token` in `get` is the
//! token's public id (which `delete` accepts, as well as the secret itself).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{JsonBody, QueryOf};
use super::native::{create_token, revoke_token};
use super::Admin;
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    start_at: Option<usize>,
    max_results: Option<usize>,
}

async fn list(
    State(gw): State<Shared>,
    QueryOf(page): QueryOf<Page>,
) -> Result<Json<Value>, Refusal> {
    let _counts = gw.usage.read().await;
    let tokens = gw.store.tokens().await.map_err(|e| {
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            e.to_string(),
        )
    })?;
    let start = page.start_at.unwrap_or(0);
    let max = page.max_results.unwrap_or(50).clamp(1, 1000);
    let items: Vec<Value> = tokens
        .iter()
        .filter(|t| t.revoked_at.is_none())
        .skip(start)
        .take(max)
        .map(|t| {
            let (pending, _) = gw.cache.pending(&t.id);
            json!({
                "label": t.label,
                "user": t.user.clone().unwrap_or_default(),
                "token": t.id,
                "limitTo": t.restrictions.join("<br>"),
                "ip": t.ip_allowlist.join(","),
                "validUntil": t.expires_at.unwrap_or(0),
                "dateCreated": t.created_at,
                "counter": t.use_count + pending,
                "createdBy": t.created_by,
            })
        })
        .collect();
    let total = tokens.iter().filter(|t| t.revoked_at.is_none()).count();
    Ok(Json(
        json!({"tokens": items, "total": total, "startAt": start, "maxResults": max, "status": "ok"}),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetRequest {
    label: Option<String>,
    days_until_expiry: Option<Value>,
    user_name: Option<String>,
    limit_to: Option<String>,
    token: Option<String>,
    ip: Option<String>,
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
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

async fn set(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    JsonBody(req): JsonBody<SetRequest>,
) -> Result<Json<Value>, Refusal> {
    let label = req.label.filter(|l| !l.trim().is_empty()).ok_or_else(|| {
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
    let mut body = json!({
        "status": "ok",
        "token": secret,
        "id": token.id,
        "label": token.label,
        "user": token.user.unwrap_or_default(),
        "validUntil": token.expires_at.unwrap_or(0),
        "dateCreated": token.created_at,
    });
    if let Some(warning) = warning {
        body["warning"] = warning.into();
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
struct DeleteRequest {
    token: String,
}

async fn remove(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    JsonBody(req): JsonBody<DeleteRequest>,
) -> Result<Json<Value>, Refusal> {
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
            Err(e) => {
                return Err(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    e.to_string(),
                ))
            }
        }
    };
    revoke_token(&gw, &admin, &id).await?;
    Ok(Json(json!({"status": "ok"})))
}
