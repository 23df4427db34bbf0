//! The native admin API (`/admin/v1`): tokens, the audit log, and a restriction checker that
//! uses the proxy's own normaliser and matcher. Each handler's `#[utoipa::path]` and the types
//! in `schema.rs` are `/admin/v1/openapi.json` (see `openapi.rs`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};

use super::actor::Admin;
use super::extract::{JsonBody, PathOf, QueryOf};
use super::schema::{
    AuditFormat, AuditPage, AuditQuery, AuditRecordView, CheckAnswer, CheckRequest,
    CreateTokenRequest, CreatedToken, ErrorBody, TokenList, TokenView, Verdict, VerifyReport,
};
use crate::audit::Verifier;
use crate::proxy::refusal::Refusal;
use crate::restrict::{normalize, Decision, RequestView};
use crate::state::Shared;
use crate::token::{NewToken, Token, Unusable};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", get(show).delete(revoke))
        .route("/audit", get(audit))
        .route("/audit/verify", get(verify))
        .route("/check", post(check))
        .method_not_allowed_fallback(super::extract::method_not_allowed)
}

pub(super) fn store_error(e: anyhow::Error) -> Refusal {
    tracing::error!(error = %e, "store error");
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "the store is unavailable; try again shortly",
    )
}

fn token_not_found(id: &str) -> Refusal {
    Refusal::new(
        StatusCode::NOT_FOUND,
        "token_not_found",
        format!("no token with id {id}"),
    )
}

/// A token as the API shows it: the record, its live status and unflushed uses added in (read
/// `t` under `gw.usage`, so a flush can't fall between the two).
pub fn token_view(gw: &Shared, t: &Token) -> TokenView {
    TokenView::new(t, gw.cache.pending(&t.id), gw.now_ms())
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
    admin.may_manage_user(gw, token.user.as_deref())?;
    if token.user.is_none() && !gw.upstream.allows_unbound() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "user_required",
            "this gateway acts upstream as each token's user, so a token needs a bound user (set user/userName)",
        ));
    }
    // Only an admin-chosen secret can be a second token's: refused by name, not as a failed insert.
    if gw
        .store
        .token_by_hash(&token.secret_hash)
        .await
        .map_err(store_error)?
        .is_some()
    {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "token_exists",
            "another token already has this secret; choose a different one (or omit `token` for a generated one)",
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
        return Err(token_not_found(id));
    };
    admin.may_manage_user(gw, token.user.as_deref())?;
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

/// Lists every token, revoked and expired ones included.
#[utoipa::path(get, path = "/admin/v1/tokens", operation_id = "listTokens",
    responses((status = 200, description = "every token, newest first", body = TokenList)))]
pub(super) async fn list(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
) -> Result<Json<TokenList>, Refusal> {
    let _counts = gw.usage.read().await;
    let tokens = gw.store.tokens().await.map_err(store_error)?;
    Ok(Json(TokenList {
        tokens: tokens
            .iter()
            // A token-manager limited to some users sees only their tokens.
            .filter(|t| admin.may_manage_user(&gw, t.user.as_deref()).is_ok())
            .map(|t| token_view(&gw, t))
            .collect(),
    }))
}

/// Creates a token; its secret is in this answer only.
#[utoipa::path(post, path = "/admin/v1/tokens", operation_id = "createToken",
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "created; `warning` when Confluence does not know the user", body = CreatedToken),
        (status = 400, description = "`invalid_json` (not a NewToken), `invalid_token_request` (e.g. `expiresAt` in the past, a rule or address that doesn't parse, both `expiresAt` and `daysUntilExpiry`), `user_required` (this identity mode acts as each token's user)", body = ErrorBody),
        (status = 409, description = "`token_exists`: another token already has the chosen secret (`token`)", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
        (status = 500, description = "`internal`: the token could not be cached", body = ErrorBody),
    ))]
pub(super) async fn create(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    JsonBody(new): JsonBody<CreateTokenRequest>,
) -> Result<Response, Refusal> {
    let (token, secret) = create_token(&gw, &admin, NewToken::from(new)).await?;
    let body = CreatedToken {
        token: token_view(&gw, &token),
        secret,
        note: "the secret is shown once; store it now".into(),
        warning: unknown_user_warning(&gw, token.user.as_deref()).await,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// One token, revoked and expired ones included.
#[utoipa::path(get, path = "/admin/v1/tokens/{id}", operation_id = "getToken",
    params(("id" = String, Path, description = "the token's public id (`tok_…`)")),
    responses(
        (status = 200, description = "the token", body = TokenView),
        (status = 400, description = "`invalid_path`: the id is not valid UTF-8 once percent-decoded", body = ErrorBody),
        (status = 404, description = "`token_not_found`", body = ErrorBody),
    ))]
pub(super) async fn show(
    State(gw): State<Shared>,
    PathOf(id): PathOf<String>,
) -> Result<Json<TokenView>, Refusal> {
    let _counts = gw.usage.read().await;
    match gw.store.token(&id).await.map_err(store_error)? {
        Some(t) => Ok(Json(token_view(&gw, &t))),
        None => Err(token_not_found(&id)),
    }
}

/// Revokes a token: the next request with it is refused, on every replica within seconds.
/// Revoking twice is not an error (the first `revokedAt` stays).
///
/// A revoked token stays readable by design: `GET /admin/v1/tokens/{id}` still answers it, with
/// `status: revoked` and `revokedAt`, so the audit trail can always name it. (This is why
/// schemathesis's `use_after_free` check is left out in CI: `scripts/schemathesis.sh`.)
#[utoipa::path(delete, path = "/admin/v1/tokens/{id}", operation_id = "revokeToken",
    params(("id" = String, Path, description = "the token's public id (`tok_…`)")),
    responses(
        (status = 200, description = "the token, revoked", body = TokenView),
        (status = 400, description = "`invalid_path`: the id is not valid UTF-8 once percent-decoded", body = ErrorBody),
        (status = 404, description = "`token_not_found`", body = ErrorBody),
    ))]
pub(super) async fn revoke(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    PathOf(id): PathOf<String>,
) -> Result<Json<TokenView>, Refusal> {
    let t = revoke_token(&gw, &admin, &id).await?;
    Ok(Json(token_view(&gw, &t)))
}

/// Audit records, newest first, a page at a time.
#[utoipa::path(get, path = "/admin/v1/audit", operation_id = "queryAudit",
    params(AuditQuery),
    responses(
        (status = 200, description = "a page of records (`format=jsonl`: one record per line)",
            content((AuditPage = "application/json"), (String = "application/x-ndjson"))),
        (status = 400, description = "`invalid_query`: a parameter is not what it should be (e.g. `limit=many`)", body = ErrorBody),
    ))]
pub(super) async fn audit(
    State(gw): State<Shared>,
    QueryOf(query): QueryOf<AuditQuery>,
) -> Result<Response, Refusal> {
    gw.audit.sync().await.map_err(store_error)?;
    let filter = query.filter();
    let records = gw.store.audit_query(&filter).await.map_err(store_error)?;
    if query.format == Some(AuditFormat::Jsonl) {
        let mut body = String::new();
        for r in records {
            body.push_str(&serde_json::to_string(&AuditRecordView::from(r)).unwrap_or_default());
            body.push('\n');
        }
        return Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response());
    }
    let limit = filter.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let next_before = (records.len() == limit)
        .then(|| records.last().map(|r| r.seq))
        .flatten();
    Ok(Json(AuditPage {
        records: records.into_iter().map(AuditRecordView::from).collect(),
        next_before,
    })
    .into_response())
}

/// Checks the audit chain from its first record: every hash, every link.
#[utoipa::path(get, path = "/admin/v1/audit/verify", operation_id = "verifyAudit",
    responses((status = 200, description = "the verdict (`ok: false` names the first problem)", body = VerifyReport)))]
pub(super) async fn verify(State(gw): State<Shared>) -> Result<Json<VerifyReport>, Refusal> {
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
                return Ok(Json(VerifyReport {
                    ok: false,
                    checked: v.checked,
                    problem: Some(problem.to_string()),
                }));
            }
        }
        after = page.last().map(|r| r.seq).unwrap_or(after);
    }
    Ok(Json(VerifyReport {
        ok: true,
        checked: v.checked,
        problem: None,
    }))
}

/// Would the proxy let this request through? With `tokenId`, as that token now: a revoked or
/// expired token is denied whatever its rules say.
#[utoipa::path(post, path = "/admin/v1/check", operation_id = "checkRequest",
    request_body = CheckRequest,
    responses(
        (status = 200, description = "the decision, with the rule that allows it or why not", body = CheckAnswer),
        (status = 400, description = "`invalid_json`, `invalid_check` (neither `tokenId` nor `restrictions`), `invalid_restrictions` (a rule that doesn't parse; the message names the line)", body = ErrorBody),
        (status = 404, description = "`token_not_found`: no token with that `tokenId`", body = ErrorBody),
        (status = 413, description = "`body_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`: send `Content-Type: application/json`", body = ErrorBody),
    ))]
pub(super) async fn check(
    State(gw): State<Shared>,
    JsonBody(req): JsonBody<CheckRequest>,
) -> Result<Json<CheckAnswer>, Refusal> {
    let deny = |reason: String, normalized_path: Option<String>| CheckAnswer {
        decision: Verdict::Deny,
        rule: None,
        reason: Some(reason),
        normalized_path,
    };
    let mut unusable = None;
    let rules_text = match (&req.token_id, &req.restrictions) {
        (Some(id), _) => match gw.store.token(id).await.map_err(store_error)? {
            Some(t) => {
                unusable = t.usable_at(gw.now_ms()).err();
                t.restrictions.join("\n")
            }
            None => return Err(token_not_found(id)),
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
        Err(e) => return Ok(Json(deny(format!("path refused: {e}"), None))),
    };
    match unusable {
        Some(Unusable::Revoked) => {
            return Ok(Json(deny(
                "the token is revoked (token_revoked)".into(),
                Some(target.path),
            )))
        }
        Some(Unusable::Expired) => {
            return Ok(Json(deny(
                "the token has expired (token_expired)".into(),
                Some(target.path),
            )))
        }
        None => {}
    }
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
        Decision::Allow { rule } => CheckAnswer {
            decision: Verdict::Allow,
            rule,
            reason: None,
            normalized_path: Some(target.path),
        },
        _ => deny("no rule matches".into(), Some(target.path)),
    }))
}
