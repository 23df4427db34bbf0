//! The token endpoint (`POST /oauth/token` on Cloud, `/rest/oauth2/latest/token` on DC) and
//! Cloud's `GET /oauth/token/accessible-resources`.
//!
//! Grants: `authorization_code` (single-use code, same redirect URI, PKCE verifier when a
//! challenge was sent), `refresh_token` (rotates: the presented token stops working), and
//! `client_credentials` (service-account clients only). Bodies may be JSON (Cloud's documented
//! form) or `application/x-www-form-urlencoded` (RFC 6749); client credentials may also come as
//! HTTP Basic.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{client, code_kind, random_secret, split_scopes, Issued};
use crate::auth::primitives::{ct_eq, lock, starts_with_ci};
use crate::config::{Flavor, OAuth2ClientConfig, OAuth2ClientKind};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::secret_hash;
use crate::Shared;

fn oauth_error(status: StatusCode, code: &str, message: &str) -> ApiError {
    ApiError::new(status, ErrorStyle::OAuth2, message).with_code(code)
}

/// Atlassian's auth server answers an unusable code or refresh token with 403 (documented for
/// refresh tokens: `403 {"error": "invalid_grant", ...}`); the DC provider follows RFC 6749 (400).
fn invalid_grant(state: &Shared, message: &str) -> ApiError {
    let status = match state.flavor() {
        Flavor::Cloud => StatusCode::FORBIDDEN,
        Flavor::Dc => StatusCode::BAD_REQUEST,
    };
    oauth_error(status, "invalid_grant", message)
}

pub(super) async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match run(&state, &headers, &body) {
        Ok(v) => (
            StatusCode::OK,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(v),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The request parameters, from a JSON object or a form body.
fn parse_body(headers: &HeaderMap, body: &[u8]) -> ApiResult<HashMap<String, String>> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if is_json {
        let v: Value = serde_json::from_slice(body).map_err(|e| {
            oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("Body is not valid JSON: {e}"),
            )
        })?;
        let Value::Object(map) = v else {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Body must be a JSON object",
            ));
        };
        Ok(map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                _ => None,
            })
            .collect())
    } else {
        Ok(url::form_urlencoded::parse(body).into_owned().collect())
    }
}

fn run(state: &Shared, headers: &HeaderMap, body: &[u8]) -> ApiResult<Value> {
    let p = parse_body(headers, body)?;
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let (client_id, secret) = match (get("client_id"), get("client_secret")) {
        (Some(id), Some(s)) => (id.to_string(), s.to_string()),
        _ => basic_client(headers).unwrap_or_default(),
    };
    let kinds: &[OAuth2ClientKind] = match state.flavor() {
        Flavor::Cloud => &[
            OAuth2ClientKind::Cloud3lo,
            OAuth2ClientKind::CloudClientCredentials,
        ],
        Flavor::Dc => &[OAuth2ClientKind::Dc, OAuth2ClientKind::DcClientCredentials],
    };
    let client = client(state, &client_id, kinds)
        .filter(|c| ct_eq(&c.client_secret, &secret))
        .ok_or_else(|| {
            oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed",
            )
        })?;
    match get("grant_type").unwrap_or("") {
        "authorization_code" => authorization_code(state, client, &get),
        "refresh_token" => refresh(state, client, get("refresh_token").unwrap_or("")),
        "client_credentials" => client_credentials(state, client, get("scope")),
        "" => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        )),
        other => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant_type {other:?}"),
        )),
    }
}

fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if !starts_with_ci(h, "Basic ") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(h[6..].trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, s) = text.split_once(':')?;
    Some((id.to_string(), s.to_string()))
}

fn authorization_code<'a>(
    state: &Shared,
    client: &OAuth2ClientConfig,
    get: &impl Fn(&str) -> Option<&'a str>,
) -> ApiResult<Value> {
    if client.kind != code_kind(state) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "This client may not use the authorization_code grant",
        ));
    }
    let code = get("code").unwrap_or("");
    // Removed on first presentation, whatever happens next: a code is single-use.
    let grant = lock(&state.auth.oauth2.codes)
        .remove(&secret_hash(code))
        .ok_or_else(|| invalid_grant(state, "Invalid or already used authorization code"))?;
    if grant.client_id != client.client_id {
        return Err(invalid_grant(
            state,
            "The code was issued to another client",
        ));
    }
    if grant.expires_at <= state.clock.now_ms() {
        return Err(invalid_grant(state, "The authorization code has expired"));
    }
    if get("redirect_uri").unwrap_or("") != grant.redirect_uri {
        return Err(invalid_grant(
            state,
            "redirect_uri does not match the one of the authorization request",
        ));
    }
    if let Some((method, challenge)) = &grant.challenge {
        let verifier = get("code_verifier")
            .ok_or_else(|| invalid_grant(state, "code_verifier is required (PKCE)"))?;
        let computed = if method == "S256" {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()))
        } else {
            verifier.to_string()
        };
        if !ct_eq(&computed, challenge) {
            return Err(invalid_grant(state, "PKCE verification failed"));
        }
    }
    let with_refresh = refresh_allowed(state, &grant.scopes);
    Ok(issue(
        state,
        &client.client_id,
        &grant.user,
        grant.scopes,
        with_refresh,
    ))
}

/// Cloud hands out refresh tokens only for `offline_access`; the DC provider always does.
fn refresh_allowed(state: &Shared, scopes: &[String]) -> bool {
    state.flavor() == Flavor::Dc || scopes.iter().any(|s| s == "offline_access")
}

fn refresh(state: &Shared, client: &OAuth2ClientConfig, token: &str) -> ApiResult<Value> {
    let hash = secret_hash(token);
    let issued = {
        let mut store = lock(&state.auth.oauth2.refresh);
        match store.get(&hash) {
            Some(i) if i.client_id == client.client_id => store.remove(&hash),
            _ => None,
        }
    };
    let issued = issued.ok_or_else(|| invalid_grant(state, "Unknown or invalid refresh token."))?;
    if issued.expires_at <= state.clock.now_ms() {
        return Err(invalid_grant(state, "The refresh token has expired"));
    }
    Ok(issue(
        state,
        &client.client_id,
        &issued.user,
        issued.scopes,
        true,
    ))
}

fn client_credentials(
    state: &Shared,
    client: &OAuth2ClientConfig,
    scope: Option<&str>,
) -> ApiResult<Value> {
    let allowed = matches!(
        client.kind,
        OAuth2ClientKind::CloudClientCredentials | OAuth2ClientKind::DcClientCredentials
    );
    let Some(account) = client.service_account.as_deref().filter(|_| allowed) else {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "This client may not use the client_credentials grant",
        ));
    };
    let mut scopes = split_scopes(scope);
    if scopes.is_empty() {
        scopes = client.scopes.clone();
    }
    if let Some(bad) = scopes.iter().find(|s| !client.scopes.contains(s)) {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("scope {bad} is not granted to this client"),
        ));
    }
    let user = state
        .db()
        .user_by_name(account)
        .map(|u| u.name.clone())
        .unwrap_or_else(|| account.to_string());
    Ok(issue(state, &client.client_id, &user, scopes, false))
}

/// Mints an access token (and a refresh token) and returns the token response.
fn issue(
    state: &Shared,
    client_id: &str,
    user: &str,
    scopes: Vec<String>,
    with_refresh: bool,
) -> Value {
    let now = state.clock.now_ms();
    let ttl = state.config.tokens.access_token_seconds;
    let access = random_secret();
    let record = |expires_at: i64| Issued {
        client_id: client_id.to_string(),
        user: user.to_string(),
        scopes: scopes.clone(),
        expires_at,
    };
    lock(&state.auth.oauth2.access).retain(|_, i| i.expires_at > now);
    lock(&state.auth.oauth2.access).insert(secret_hash(&access), record(now + ttl as i64 * 1000));
    let mut out = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scopes.join(" "),
    });
    if with_refresh {
        let refresh = random_secret();
        let refresh_ms = state.config.tokens.refresh_token_seconds as i64 * 1000;
        lock(&state.auth.oauth2.refresh).insert(secret_hash(&refresh), record(now + refresh_ms));
        out["refresh_token"] = refresh.into();
    }
    out
}

/// `GET /oauth/token/accessible-resources`: the sites a Cloud bearer token may reach.
pub(super) async fn accessible_resources(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Response {
    let unauthorized = || {
        (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"code":401,"message":"Unauthorized"}"#,
        )
            .into_response()
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|h| starts_with_ci(h, "Bearer "))
        .map(|h| h[7..].trim().to_string());
    let Some(token) = token else {
        return unauthorized();
    };
    let issued = lock(&state.auth.oauth2.access)
        .get(&secret_hash(&token))
        .cloned();
    let Some(issued) = issued.filter(|i| i.expires_at > state.clock.now_ms()) else {
        return unauthorized();
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let url = format!("http://{host}");
    let scopes: Vec<&String> = issued
        .scopes
        .iter()
        .filter(|s| *s != "offline_access")
        .collect();
    Json(json!([{
        "id": state.config.cloud_id,
        "url": url,
        "name": "cfl-sim",
        "scopes": scopes,
        "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png",
    }]))
    .into_response()
}
