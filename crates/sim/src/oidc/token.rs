//! `POST /{tenant}/oauth2/v2.0/token` (the `authorization_code` grant, issuing an RS256 ID token)
//! and `GET /oidc/userinfo`.
//!
//! Client authentication: `client_secret_post` or `client_secret_basic` (RFC 6749 §2.3.1: id and
//! secret form-urlencoded before base64). A code is single-use (removed on the first attempt,
//! right or wrong), expires after `code_ttl_seconds`, and needs the PKCE verifier (S256).

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::faults::TokenFault;
use super::{
    now_ms, object_id, provider, subject, AccessGrant, OidcClient, OidcConfig, OidcUser,
    PendingCode, Provider,
};
use crate::auth::primitives::{ct_eq, lock, starts_with_ci};
use crate::model::secret_hash;
use crate::oauth2::random_secret;
use crate::Shared;

/// An OAuth error response (RFC 6749 §5.2), with Entra ID's `error_codes` left out.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut resp = (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"token\""),
        );
    }
    resp
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub(super) async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((provider, config)) = provider(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let form = Form(url::form_urlencoded::parse(&body).into_owned().collect());
    let client = match authenticate_client(config, &headers, &form) {
        Ok(client) => client,
        Err(resp) => return *resp,
    };
    if let Err(resp) = check_grant_type(form.get("grant_type")) {
        return *resp;
    }
    let pending = match redeem_code(&state, provider, client, &form) {
        Ok(pending) => pending,
        Err(resp) => return *resp,
    };
    let Some(user) = config.user(&pending.username) else {
        return invalid_grant("The user no longer exists.");
    };
    issue_tokens(&state, provider, config, client, user, &pending)
}

/// The form-urlencoded request body.
struct Form(HashMap<String, String>);

impl Form {
    /// The parameter `k`; an empty value counts as absent.
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// The client, by `client_secret_post` or `client_secret_basic` (one of them, not both).
fn authenticate_client<'c>(
    config: &'c OidcConfig,
    headers: &HeaderMap,
    form: &Form,
) -> Result<&'c OidcClient, Box<Response>> {
    let (client_id, secret) =
        match (basic_client(headers), form.get("client_secret")) {
            (Some(_), Some(_)) => {
                return Err(Box::new(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "Use one client authentication method, not both Basic and client_secret.",
                )))
            }
            (Some(basic), None) => basic,
            (None, Some(s)) => (
                form.get("client_id").unwrap_or("").to_string(),
                s.to_string(),
            ),
            (None, None) => return Err(Box::new(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication is required (client_secret_post or client_secret_basic).",
            ))),
        };
    config
        .client(&client_id)
        .filter(|c| ct_eq(&c.client_secret, &secret))
        .ok_or_else(|| {
            Box::new(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed: unknown client_id or wrong client_secret.",
            ))
        })
}

/// Only the `authorization_code` grant is served.
fn check_grant_type(grant_type: Option<&str>) -> Result<(), Box<Response>> {
    match grant_type {
        Some("authorization_code") => Ok(()),
        None => Err(Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required.",
        ))),
        Some(other) => Err(Box::new(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Unsupported grant_type {other:?}; only authorization_code is served."),
        ))),
    }
}

/// Spends the code and checks it: unexpired, this client's, same redirect_uri, PKCE verifier.
fn redeem_code(
    state: &Shared,
    provider: &Provider,
    client: &OidcClient,
    form: &Form,
) -> Result<PendingCode, Box<Response>> {
    // Removed before any check: a code is spent by its first use, right or wrong.
    let Some(pending) = lock(&provider.codes).remove(&secret_hash(form.get("code").unwrap_or("")))
    else {
        return Err(Box::new(invalid_grant(
            "The authorization code is unknown or was already redeemed.",
        )));
    };
    if pending.expires_at_ms <= now_ms(state) {
        return Err(Box::new(invalid_grant(
            "The authorization code has expired.",
        )));
    }
    if pending.client_id != client.client_id {
        return Err(Box::new(invalid_grant(
            "The authorization code was issued to another client.",
        )));
    }
    if form.get("redirect_uri") != Some(pending.redirect_uri.as_str()) {
        return Err(Box::new(invalid_grant(
            "redirect_uri does not match the one of the authorization request.",
        )));
    }
    let Some(verifier) = form.get("code_verifier") else {
        return Err(Box::new(invalid_grant("code_verifier is required (PKCE).")));
    };
    let computed = B64.encode(Sha256::digest(verifier.as_bytes()));
    if !ct_eq(&computed, &pending.code_challenge) {
        return Err(Box::new(invalid_grant(
            "The code_verifier does not match the code_challenge.",
        )));
    }
    Ok(pending)
}

/// A fresh access token (recorded for userinfo) and a signed ID token for `user`.
fn issue_tokens(
    state: &Shared,
    provider: &Provider,
    config: &OidcConfig,
    client: &OidcClient,
    user: &OidcUser,
    pending: &PendingCode,
) -> Response {
    let now = now_ms(state);
    let ttl = config.token_ttl_seconds as i64;
    let access_token = random_secret();
    lock(&provider.access).insert(
        secret_hash(&access_token),
        AccessGrant {
            username: user.username.clone(),
            client_id: client.client_id.clone(),
            expires_at_ms: now + ttl * 1000,
        },
    );
    let claims = id_token_claims(
        state,
        config,
        user,
        &client.client_id,
        pending.nonce.as_deref(),
    );
    let id_token = sign(provider, claims, lock(&provider.faults).take());
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({
            "token_type": "Bearer",
            "scope": pending.scopes.join(" "),
            "expires_in": ttl,
            "ext_expires_in": ttl,
            "access_token": access_token,
            "id_token": id_token,
        })),
    )
        .into_response()
}

fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if !starts_with_ci(h, "Basic ") {
        return None;
    }
    let raw = STANDARD.decode(h[6..].trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), decode(secret)))
}

/// The ID token's claims, Entra ID v2.0-shaped.
fn id_token_claims(
    state: &Shared,
    config: &OidcConfig,
    user: &OidcUser,
    client_id: &str,
    nonce: Option<&str>,
) -> Value {
    let now = now_ms(state) / 1000;
    let mut claims = json!({
        "ver": "2.0",
        "iss": super::issuer(state).unwrap_or_default(),
        "sub": subject(config, user, client_id),
        "aud": client_id,
        "exp": now + config.token_ttl_seconds as i64,
        "iat": now,
        "nbf": now,
        "name": user.name,
        "email": user.email,
        "preferred_username": user.username,
        "oid": object_id(config, user),
        "tid": config.tenant,
        "groups": groups_claim(config, user),
    });
    if let Some(n) = nonce {
        claims["nonce"] = n.into();
    }
    claims
}

fn groups_claim(config: &OidcConfig, user: &OidcUser) -> Vec<String> {
    user.groups
        .iter()
        .filter_map(|name| config.groups.iter().find(|g| &g.name == name))
        .map(|g| match config.groups_claim {
            super::GroupsClaim::Ids => g.id.clone(),
            super::GroupsClaim::Names => g.name.clone(),
        })
        .collect()
}

/// `header.payload.signature`, signed by the current key, spoiled on purpose if a fault is armed.
fn sign(provider: &Provider, mut claims: Value, fault: Option<TokenFault>) -> String {
    let keys = lock(&provider.keys);
    let key = keys.current();
    let mut kid = key.kid.clone();
    match fault {
        Some(TokenFault::UnknownKid) => kid = format!("unknown-{}", &random_secret()[..12]),
        Some(TokenFault::WrongIss) => {
            claims["iss"] = format!(
                "{}/00000000-0000-0000-0000-000000000000/v2.0",
                provider.base_url()
            )
            .into()
        }
        Some(TokenFault::WrongAud) => claims["aud"] = "00000000-0000-0000-0000-00000000a0d0".into(),
        Some(TokenFault::Expired) => {
            let iat = claims["iat"].as_i64().unwrap_or(0) - 7200;
            claims["iat"] = iat.into();
            claims["nbf"] = iat.into();
            claims["exp"] = (iat + 3600).into();
        }
        Some(TokenFault::WrongNonce) => {
            claims["nonce"] = format!("not-{}", &random_secret()[..12]).into()
        }
        Some(TokenFault::BadSignature) | None => {}
    }
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": kid});
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let mut signature = key.sign(&input);
    if fault == Some(TokenFault::BadSignature) {
        // A well-formed signature by the right key over different content.
        signature = key.sign(&format!("{input}x"));
    }
    format!("{input}.{signature}")
}

pub(super) async fn userinfo(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let Some((provider, config)) = provider(&state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .filter(|h| starts_with_ci(h, "Bearer "))
        .map(|h| h[7..].trim());
    let grant = token.and_then(|t| lock(&provider.access).get(&secret_hash(t)).cloned());
    let user = grant
        .as_ref()
        .filter(|g| g.expires_at_ms > now_ms(&state))
        .and_then(|g| config.user(&g.username).map(|u| (u, g)));
    let Some((user, grant)) = user else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    Json(json!({
        "sub": subject(config, user, &grant.client_id),
        "name": user.name,
        "email": user.email,
        "preferred_username": user.username,
        "oid": object_id(config, user),
    }))
    .into_response()
}
