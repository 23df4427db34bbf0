//! Token authentication: normalises the request target, reads the gateway token from Basic
//! `USER:TOKEN` or `Bearer TOKEN`, and refuses unknown, revoked, expired and wrong-user tokens.
//! On success the request's URI is the normalised one, so the path that later steps check is the
//! path that is forwarded.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, StatusCode, Uri};
use base64::Engine;

use super::refusal::Refusal;
use crate::audit::AuditRecord;
use crate::restrict::normalize;
use crate::secret::{shape, Shape};
use crate::server::Shared;
use crate::token::{Active, Unusable};

/// Who this request runs as.
#[derive(Clone)]
pub struct Authenticated {
    pub token: Arc<Active>,
    /// The Confluence user to act as: the bound user, or the Basic user for an unbound token.
    pub user: Option<String>,
}

enum Presented {
    Basic { user: String, secret: String },
    Bearer(String),
}

fn presented(req: &Request) -> Result<Presented, Refusal> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(Refusal::unauthorized(
            "missing_token",
            "send the gateway token as Basic USER:TOKEN or as Authorization: Bearer TOKEN",
        ));
    };
    let value = value.to_str().unwrap_or("");
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded.as_deref().and_then(|s| s.split_once(':')) {
            Some((user, secret)) if !secret.is_empty() => Ok(Presented::Basic {
                user: user.to_string(),
                secret: secret.to_string(),
            }),
            _ => Err(Refusal::unauthorized(
                "malformed_credentials",
                "the Basic credentials are not base64 of USER:TOKEN",
            )),
        }
    } else if scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty() {
        Ok(Presented::Bearer(rest.trim().to_string()))
    } else {
        Err(Refusal::unauthorized(
            "malformed_credentials",
            "use Authorization: Basic (USER:TOKEN) or Bearer TOKEN",
        ))
    }
}

/// Checks the token of `req` and makes its URI the normalised one, so the path that later steps
/// check is the path that is forwarded.
pub async fn authenticate(
    gw: &Shared,
    req: &mut Request,
    record: &mut AuditRecord,
) -> Result<Authenticated, Refusal> {
    let raw_target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let target = normalize(raw_target).map_err(|e| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "path_refused",
            format!("request path refused: {e}"),
        )
    })?;
    let forwarded = match &target.query {
        Some(q) => format!("{}?{q}", target.path),
        None => target.path.clone(),
    };
    record.path = target.path;
    *req.uri_mut() = forwarded.parse::<Uri>().map_err(|_| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "path_refused",
            "request path refused: not a valid URI",
        )
    })?;

    let presented = presented(req)?;
    let (secret, basic_user) = match presented {
        Presented::Basic { user, secret } => (secret, Some(user)),
        Presented::Bearer(_) if !gw.config.proxy.allow_bearer => {
            return Err(Refusal::unauthorized(
                "bearer_disabled",
                "this gateway accepts tokens only as Basic USER:TOKEN",
            ))
        }
        Presented::Bearer(secret) => (secret, None),
    };
    let unknown =
        || Refusal::unauthorized("unknown_token", "the token is not known to this gateway");
    if shape(&secret) == Shape::Corrupt {
        return Err(unknown());
    }
    let active = gw
        .cache
        .lookup(&gw.store, &secret)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "token lookup failed");
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the token store is unavailable; try again shortly",
            )
        })?
        .ok_or_else(unknown)?;
    let t = &active.token;
    record.token_id = Some(t.id.clone());
    record.bound_user = t.user.clone();
    record.actor = t
        .user
        .clone()
        .or_else(|| basic_user.clone())
        .unwrap_or_else(|| "-".into());
    match t.usable_at(gw.now_ms()) {
        Err(Unusable::Revoked) => {
            return Err(Refusal::unauthorized(
                "token_revoked",
                "this token was revoked",
            ))
        }
        Err(Unusable::Expired) => {
            return Err(Refusal::unauthorized(
                "token_expired",
                "this token has expired; ask an admin for a new one",
            ))
        }
        Ok(()) => {}
    }
    let user = match (&t.user, basic_user) {
        (Some(bound), Some(given)) if !bound.eq_ignore_ascii_case(&given) => {
            return Err(Refusal::unauthorized(
                "wrong_user",
                "this token is bound to another user: send it as Basic BOUND_USER:TOKEN",
            ))
        }
        (Some(bound), _) => Some(bound.clone()),
        (None, Some(given)) if gw.upstream.allows_unbound() => Some(given),
        (None, Some(_)) => {
            return Err(Refusal::forbidden(
                "unbound_token_not_supported",
                "tokens without a bound user only work with a static upstream identity",
            ))
        }
        (None, None) => {
            return Err(Refusal::unauthorized(
                "user_required",
                "this token is not bound to a user: send it as Basic USER:TOKEN",
            ))
        }
    };
    Ok(Authenticated {
        token: active,
        user,
    })
}
