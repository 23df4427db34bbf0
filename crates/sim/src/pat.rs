//! DC personal access tokens: the `/rest/pat/latest` API and bearer authentication.
//!
//! Matches Confluence 7.9+: a token is always created for the caller (no field names another
//! user); `rawToken` appears only in the create response; tokens are stored hashed; the
//! `atlassian.pats.*` limits come from `[pats]` in the config. The admin search's filter and
//! response field names are not documented publicly and are the simulator's best guess.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use bytes::Bytes;
use rand::{Rng, RngCore};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::caller::{AuthMethod, Caller};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{secret_hash, Pat};
use crate::{iso8601, Shared};

const STYLE: ErrorStyle = ErrorStyle::Pat;
const UNAUTHORIZED: &str = "Requesting user is unauthorized to perform this operation";
/// `lastAccessedAt` is written at most once a minute, like Confluence.
const LAST_ACCESS_GRANULARITY_MS: i64 = 60_000;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/search", post(search))
        .route("/tokens/{id}", get(get_one).delete(revoke))
        .route("/admin/tokens", delete(bulk_revoke))
}

/// The caller a raw PAT authenticates as, if it is valid and unexpired.
pub fn caller_for_pat(state: &Shared, raw: &str) -> Option<Caller> {
    if !state.config.pats.enabled {
        return None;
    }
    let hash = secret_hash(raw);
    let now = state.clock.now_ms();
    let mut db = state.db();
    let pat = db.pats.iter_mut().find(|p| {
        crate::auth::primitives::ct_eq(&p.token_hash, &hash)
            && p.expiring_at.is_none_or(|e| e > now)
    })?;
    if pat
        .last_accessed_at
        .is_none_or(|t| now - t >= LAST_ACCESS_GRANULARITY_MS)
    {
        pat.last_accessed_at = Some(now);
    }
    let owner = pat.owner.clone();
    Some(Caller::user(
        &owner,
        AuthMethod::Pat,
        format!("pat:{}", pat.id),
    ))
}

fn unauthorized() -> ApiError {
    ApiError::unauthorized(STYLE, UNAUTHORIZED)
        .with_code("com.atlassian.pats.api.exception.UnauthorizedException")
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(STYLE, message)
        .with_code("com.atlassian.pats.api.exception.InvalidRequestException")
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::forbidden(STYLE, message)
        .with_code("com.atlassian.pats.api.exception.ForbiddenException")
}

/// The authenticated caller's username and whether they are an admin; 401 for anonymous, 403
/// when PATs are switched off.
fn who(state: &Shared, caller: &Caller) -> ApiResult<(String, bool)> {
    if !state.config.pats.enabled {
        return Err(forbidden("Personal access tokens are disabled"));
    }
    let name = caller.user.as_deref().ok_or_else(unauthorized)?;
    let db = state.db();
    let user = db.user_by_name(name).ok_or_else(unauthorized)?;
    Ok((user.name.clone(), user.admin))
}

/// A token as the API shows it: no secret, `null` fields left out as Confluence's Jackson does.
fn pat_json(p: &Pat, user_key: Option<&str>) -> Value {
    let mut v = json!({
        "id": p.id,
        "name": p.name,
        "createdAt": iso8601(p.created_at),
    });
    if let Some(e) = p.expiring_at {
        v["expiringAt"] = iso8601(e).into();
    }
    if let Some(t) = p.last_accessed_at {
        v["lastAccessedAt"] = iso8601(t).into();
    }
    if let Some(k) = user_key {
        v["userKey"] = k.into();
    }
    v
}

fn alive(p: &Pat, now: i64) -> bool {
    p.expiring_at.is_none_or(|e| e > now)
}

async fn list(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Value>> {
    let (me, _) = who(&state, &caller)?;
    let now = state.clock.now_ms();
    let db = state.db();
    let tokens: Vec<Value> = db
        .pats
        .iter()
        .filter(|p| p.owner.eq_ignore_ascii_case(&me) && alive(p, now))
        .map(|p| pat_json(p, None))
        .collect();
    Ok(Json(Value::Array(tokens)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    name: Option<String>,
    expiration_duration: Option<i64>,
}

async fn create(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Response> {
    let (me, _) = who(&state, &caller)?;
    if caller.method == AuthMethod::Pat && !state.config.pats.allow_pat_auth_to_create {
        return Err(forbidden(
            "A personal access token cannot be used to create another one",
        ));
    }
    let body: CreateBody = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("Invalid request body: {e}")))?;
    let policy = &state.config.pats;
    let name = body.name.as_deref().map(str::trim).unwrap_or("");
    if name.is_empty() {
        return Err(bad_request("Token name must not be empty"));
    }
    if name.chars().count() > policy.name_length {
        return Err(bad_request(format!(
            "Token name must not be longer than {} characters",
            policy.name_length
        )));
    }
    let days = match body.expiration_duration {
        None if policy.eternal_tokens_enabled => None,
        None => {
            return Err(bad_request(
                "expirationDuration is required: tokens that never expire are disabled",
            ))
        }
        Some(d) if d < 1 || d > policy.max_expiry_days => {
            return Err(bad_request(format!(
                "expirationDuration must be between 1 and {} days",
                policy.max_expiry_days
            )))
        }
        Some(d) => Some(d),
    };
    let now = state.clock.now_ms();
    let mut db = state.db();
    let owned = db
        .pats
        .iter()
        .filter(|p| p.owner.eq_ignore_ascii_case(&me) && alive(p, now))
        .count();
    if owned >= policy.max_tokens_per_user {
        return Err(forbidden(format!(
            "You have reached the limit of {} personal access tokens",
            policy.max_tokens_per_user
        )));
    }
    let raw = new_raw_token();
    let id = db.next_pat_id;
    db.next_pat_id += 1;
    let pat = Pat {
        id,
        owner: me,
        name: name.to_string(),
        token_hash: secret_hash(&raw),
        created_at: now,
        expiring_at: days.map(|d| now + d * 86_400_000),
        last_accessed_at: None,
    };
    let mut out = pat_json(&pat, None);
    out["rawToken"] = raw.into();
    db.pats.push(pat);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Base64 of a 12-digit id, `:`, and 20 random bytes: 44 characters, like Confluence's.
fn new_raw_token() -> String {
    let mut rng = rand::thread_rng();
    let id: u64 = rng.gen_range(100_000_000_000..1_000_000_000_000);
    let mut secret = [0u8; 20];
    rng.fill_bytes(&mut secret);
    let mut bytes = format!("{id}:").into_bytes();
    bytes.extend_from_slice(&secret);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn parse_id(id: &str) -> ApiResult<u64> {
    id.parse()
        .map_err(|_| bad_request(format!("Invalid token id {id:?}")))
}

/// Looks up a token the caller may see: the owner's or, for an admin, anyone's.
fn visible(state: &Shared, caller: &Caller, id: &str) -> ApiResult<(u64, bool)> {
    let (me, admin) = who(state, caller)?;
    let id = parse_id(id)?;
    let now = state.clock.now_ms();
    let db = state.db();
    let pat = db
        .pats
        .iter()
        .find(|p| p.id == id && alive(p, now))
        .ok_or_else(|| {
            ApiError::not_found(STYLE, format!("Token {id} not found"))
                .with_code("com.atlassian.pats.api.exception.TokenNotFoundException")
        })?;
    if !admin && !pat.owner.eq_ignore_ascii_case(&me) {
        return Err(unauthorized());
    }
    Ok((id, admin))
}

async fn get_one(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (id, _) = visible(&state, &caller, &id)?;
    let db = state.db();
    let pat = db
        .pats
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(unauthorized)?;
    Ok(Json(pat_json(pat, None)))
}

async fn revoke(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let (id, _) = visible(&state, &caller, &id)?;
    state.db().pats.retain(|p| p.id != id);
    Ok(StatusCode::NO_CONTENT)
}

fn require_admin(state: &Shared, caller: &Caller) -> ApiResult<()> {
    let (_, admin) = who(state, caller)?;
    if admin {
        Ok(())
    } else {
        Err(forbidden("Only administrators can do this"))
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SearchBody {
    user_keys: Vec<String>,
    token_name_filter_expression: Option<String>,
    created_after: Option<String>,
    created_before: Option<String>,
    expiring_after: Option<String>,
    expiring_before: Option<String>,
    last_authenticated_after: Option<String>,
    last_authenticated_before: Option<String>,
    is_used: Option<bool>,
    sort_by: Option<String>,
    order_by: Option<String>,
    page: Option<usize>,
    limit: Option<usize>,
}

fn parse_date(field: &str, v: &Option<String>) -> ApiResult<Option<i64>> {
    let Some(s) = v else { return Ok(None) };
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|_| bad_request(format!("{field} must be an ISO-8601 date-time")))?;
    Ok(Some((t.unix_timestamp_nanos() / 1_000_000) as i64))
}

/// In `[after, before]`, where a missing value never matches a set bound.
fn in_range(v: Option<i64>, after: Option<i64>, before: Option<i64>) -> bool {
    if after.is_none() && before.is_none() {
        return true;
    }
    v.is_some_and(|v| after.is_none_or(|a| v >= a) && before.is_none_or(|b| v <= b))
}

/// `POST /tokens/search` (admin): every user's tokens, filtered, sorted and paged.
async fn search(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    require_admin(&state, &caller)?;
    let q: SearchBody = if body.is_empty() {
        SearchBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| bad_request(format!("Invalid request body: {e}")))?
    };
    let limit = q.limit.unwrap_or(25);
    if limit == 0 || limit > 100 {
        return Err(bad_request("limit must be between 1 and 100"));
    }
    let page = q.page.unwrap_or(0);
    let created = (
        parse_date("createdAfter", &q.created_after)?,
        parse_date("createdBefore", &q.created_before)?,
    );
    let expiring = (
        parse_date("expiringAfter", &q.expiring_after)?,
        parse_date("expiringBefore", &q.expiring_before)?,
    );
    let used = (
        parse_date("lastAuthenticatedAfter", &q.last_authenticated_after)?,
        parse_date("lastAuthenticatedBefore", &q.last_authenticated_before)?,
    );
    let name_filter = q
        .token_name_filter_expression
        .as_deref()
        .map(str::to_lowercase);
    let now = state.clock.now_ms();
    let db = state.db();
    let key_of = |owner: &str| db.user_by_name(owner).map(|u| u.key.clone());
    let mut hits: Vec<(&Pat, Option<String>)> = db
        .pats
        .iter()
        .filter(|p| alive(p, now))
        .map(|p| (p, key_of(&p.owner)))
        .filter(|(p, key)| {
            (q.user_keys.is_empty() || key.as_ref().is_some_and(|k| q.user_keys.contains(k)))
                && name_filter
                    .as_ref()
                    .is_none_or(|f| p.name.to_lowercase().contains(f))
                && q.is_used.is_none_or(|u| p.last_accessed_at.is_some() == u)
                && in_range(Some(p.created_at), created.0, created.1)
                && in_range(p.expiring_at, expiring.0, expiring.1)
                && in_range(p.last_accessed_at, used.0, used.1)
        })
        .collect();
    let sort_by = q.sort_by.as_deref().unwrap_or("createdAt");
    match sort_by {
        "name" => hits.sort_by(|a, b| a.0.name.cmp(&b.0.name)),
        "expiringAt" => hits.sort_by_key(|h| h.0.expiring_at.unwrap_or(i64::MAX)),
        "lastAccessedAt" | "lastAuthenticated" => {
            hits.sort_by_key(|h| h.0.last_accessed_at.unwrap_or(0))
        }
        "createdAt" | "id" => hits.sort_by_key(|h| (h.0.created_at, h.0.id)),
        other => return Err(bad_request(format!("Unknown sortBy {other:?}"))),
    }
    match q
        .order_by
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("ASC") => {}
        Some("DESC") => hits.reverse(),
        Some(other) => {
            return Err(bad_request(format!(
                "orderBy must be ASC or DESC, not {other}"
            )))
        }
    }
    let total = hits.len();
    let values: Vec<Value> = hits
        .iter()
        .skip(page.saturating_mul(limit))
        .take(limit)
        .map(|(p, key)| pat_json(p, key.as_deref()))
        .collect();
    Ok(Json(json!({
        "page": page,
        "limit": limit,
        "size": values.len(),
        "total": total,
        "isLastPage": (page + 1).saturating_mul(limit) >= total,
        "values": values,
    })))
}

/// `DELETE /admin/tokens` (admin) with a body of ids: `[1, 2]` or `{"ids": [1, 2]}`.
async fn bulk_revoke(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    require_admin(&state, &caller)?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("Invalid request body: {e}")))?;
    let list = match &v {
        Value::Array(a) => a.clone(),
        Value::Object(o) => o
            .get("ids")
            .or_else(|| o.get("tokenIds"))
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| bad_request("Body must be a list of token ids"))?,
        _ => return Err(bad_request("Body must be a list of token ids")),
    };
    let ids: Vec<u64> = list
        .iter()
        .map(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| bad_request(format!("Invalid token id {v}")))
        })
        .collect::<ApiResult<_>>()?;
    state.db().pats.retain(|p| !ids.contains(&p.id));
    Ok(StatusCode::NO_CONTENT)
}
