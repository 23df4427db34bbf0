//! The native admin API (`/admin/v1`): tokens, the audit log, and a restriction checker that
//! uses the proxy's own normaliser and matcher.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{JsonBody, QueryOf};
use super::Admin;
use crate::audit::Verifier;
use crate::proxy::refusal::Refusal;
use crate::restrict::{normalize, Decision, RequestView};
use crate::state::Shared;
use crate::store::audit::AuditFilter;
use crate::token::{NewToken, Token};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", get(show).delete(revoke))
        .route("/audit", get(audit))
        .route("/audit/verify", get(verify))
        .route("/check", post(check))
        .route("/openapi.json", get(openapi))
        .method_not_allowed_fallback(super::extract::method_not_allowed)
}

fn store_error(e: anyhow::Error) -> Refusal {
    tracing::error!(error = %e, "store error");
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "the store is unavailable; try again shortly",
    )
}

/// A token as the API shows it: the record, its live status and unflushed uses added in (read
/// `t` under `gw.usage`, so a flush can't fall between the two).
pub fn token_view(gw: &Shared, t: &Token) -> Value {
    let (pending, last) = gw.cache.pending(&t.id);
    let mut v = serde_json::to_value(t).unwrap_or_default();
    v["useCount"] = json!(t.use_count + pending);
    if last > t.last_used_at.unwrap_or(0) {
        v["lastUsedAt"] = json!(last);
    }
    v["status"] = json!(match t.usable_at(gw.now_ms()) {
        Ok(()) => "active",
        Err(crate::token::Unusable::Revoked) => "revoked",
        Err(crate::token::Unusable::Expired) => "expired",
    });
    v
}

/// Validates, stores, caches and audits a new token. Shared with the Extender endpoint.
pub async fn create_token(
    gw: &Shared,
    admin: &Admin,
    new: NewToken,
) -> Result<(Token, String), Refusal> {
    let (token, secret) = new
        .build(&admin.label, gw.now_ms())
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "invalid_token_request", e.0))?;
    if token.user.is_none() && !gw.upstream.allows_unbound() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "user_required",
            "this gateway acts upstream as each token's user, so a token needs a bound user (set user/userName)",
        ));
    }
    gw.store.insert_token(&token).await.map_err(store_error)?;
    gw.cache
        .insert(token.clone())
        .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    admin
        .audit(gw, "token.create", "POST", Some(&token.id), 201)
        .await;
    Ok((token, secret))
}

/// A warning when Confluence says it doesn't know the token's user (asked where the identity
/// mode can tell): the token is kept, since the user may be created later, but its requests are
/// refused (`upstream_refused`) until then.
pub async fn unknown_user_warning(gw: &Shared, user: Option<&str>) -> Option<String> {
    let user = user?;
    match gw.upstream.knows_user(&gw.store, user).await {
        Some(false) => Some(format!(
            "Confluence does not know user {user}: requests with this token will be refused (upstream_refused) until that user exists; check the spelling, or revoke the token"
        )),
        _ => None,
    }
}

/// Revokes in the store and the cache (the next request with it is refused) and audits.
pub async fn revoke_token(gw: &Shared, admin: &Admin, id: &str) -> Result<Token, Refusal> {
    let now = gw.now_ms();
    let existing = gw.store.token(id).await.map_err(store_error)?;
    let Some(mut token) = existing else {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "token_not_found",
            format!("no token with id {id}"),
        ));
    };
    if gw.store.revoke_token(id, now).await.map_err(store_error)? {
        token.revoked_at = Some(now);
    }
    gw.cache.revoke(id, token.revoked_at.unwrap_or(now));
    if let Err(e) = gw.store.notify_revoked(id).await {
        // Other replicas still learn of it by polling within seconds.
        tracing::warn!(error = %e, token = %id, "could not notify other replicas of a revocation");
    }
    admin
        .audit(gw, "token.revoke", "DELETE", Some(id), 200)
        .await;
    Ok(token)
}

async fn list(State(gw): State<Shared>) -> Result<Json<Value>, Refusal> {
    let _counts = gw.usage.read().await;
    let tokens = gw.store.tokens().await.map_err(store_error)?;
    Ok(Json(
        json!({"tokens": tokens.iter().map(|t| token_view(&gw, t)).collect::<Vec<_>>()}),
    ))
}

async fn create(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let new = match body {
        Ok(Json(n)) => n,
        Err(e) => return super::extract::json_refusal(e).into_response(),
    };
    match create_token(&gw, &admin, new).await {
        Ok((token, secret)) => {
            let mut body = json!({"token": token_view(&gw, &token), "secret": secret, "note": "the secret is shown once; store it now"});
            if let Some(warning) = unknown_user_warning(&gw, token.user.as_deref()).await {
                body["warning"] = warning.into();
            }
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(r) => r.into_response(),
    }
}

async fn show(State(gw): State<Shared>, Path(id): Path<String>) -> Result<Json<Value>, Refusal> {
    let _counts = gw.usage.read().await;
    match gw.store.token(&id).await.map_err(store_error)? {
        Some(t) => Ok(Json(token_view(&gw, &t))),
        None => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "token_not_found",
            format!("no token with id {id}"),
        )),
    }
}

async fn revoke(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Refusal> {
    let t = revoke_token(&gw, &admin, &id).await?;
    Ok(Json(token_view(&gw, &t)))
}

/// `?format=jsonl`; read separately because `serde(flatten)` breaks numeric query fields.
#[derive(Deserialize)]
struct Format {
    format: Option<String>,
}

async fn audit(
    State(gw): State<Shared>,
    QueryOf(filter): QueryOf<AuditFilter>,
    QueryOf(f): QueryOf<Format>,
) -> Result<Response, Refusal> {
    gw.audit.sync().await.map_err(store_error)?;
    let records = gw.store.audit_query(&filter).await.map_err(store_error)?;
    if f.format.as_deref() == Some("jsonl") {
        let mut body = String::new();
        for r in &records {
            body.push_str(&serde_json::to_string(r).unwrap_or_default());
            body.push('\n');
        }
        return Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response());
    }
    let limit = filter.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let next = (records.len() == limit)
        .then(|| records.last().map(|r| r.seq))
        .flatten();
    Ok(Json(json!({"records": records, "nextBefore": next})).into_response())
}

async fn verify(State(gw): State<Shared>) -> Result<Json<Value>, Refusal> {
    gw.audit.sync().await.map_err(store_error)?;
    let mut v = Verifier::default();
    let mut after = 0;
    loop {
        let page = gw
            .store
            .audit_after(after, 1000)
            .await
            .map_err(store_error)?;
        if page.is_empty() {
            break;
        }
        for r in &page {
            if let Err(problem) = v.push(r) {
                return Ok(Json(
                    json!({"ok": false, "checked": v.checked, "problem": problem.to_string()}),
                ));
            }
        }
        after = page.last().map(|r| r.seq).unwrap_or(after);
    }
    Ok(Json(json!({"ok": true, "checked": v.checked})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckRequest {
    token_id: Option<String>,
    /// Rules to try without a token (the admin page's tester).
    restrictions: Option<Vec<String>>,
    method: String,
    path: String,
    body: Option<Value>,
}

async fn check(
    State(gw): State<Shared>,
    JsonBody(req): JsonBody<CheckRequest>,
) -> Result<Json<Value>, Refusal> {
    let rules_text = match (&req.token_id, &req.restrictions) {
        (Some(id), _) => match gw.store.token(id).await.map_err(store_error)? {
            Some(t) => t.restrictions.join("\n"),
            None => {
                return Err(Refusal::new(
                    StatusCode::NOT_FOUND,
                    "token_not_found",
                    format!("no token with id {id}"),
                ))
            }
        },
        (None, Some(lines)) => lines.join("\n"),
        (None, None) => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "invalid_check",
                "give tokenId or restrictions",
            ))
        }
    };
    let rules = crate::restrict::RuleSet::parse(&rules_text).map_err(|e| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "invalid_restrictions",
            e.to_string(),
        )
    })?;
    let target = match normalize(&req.path) {
        Ok(t) => t,
        Err(e) => {
            return Ok(Json(
                json!({"decision": "deny", "reason": format!("path refused: {e}")}),
            ))
        }
    };
    let view = RequestView {
        method: &req.method,
        path: &target.path,
        query: target.query.as_deref(),
    };
    let decision = match rules.check(&view) {
        Decision::NeedsBody => rules.check_with_body(&view, req.body.as_ref()),
        d => d,
    };
    Ok(Json(match decision {
        Decision::Allow { rule } => {
            json!({"decision": "allow", "rule": rule, "normalizedPath": target.path})
        }
        _ => {
            json!({"decision": "deny", "reason": "no rule matches", "normalizedPath": target.path})
        }
    }))
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}
