//! Token authentication: normalises the request target, reads the gateway token from Basic
//! `USER:TOKEN` or `Bearer TOKEN`, and refuses unknown, revoked, expired and wrong-user tokens.
//! USER is the bound user's name or, as with Extender, its email (`user_email`).
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
use crate::state::Shared;
use crate::token::{Active, Token, Unusable};

/// Who this request runs as.
#[derive(Clone)]
pub struct Authenticated {
    pub token: Arc<Active>,
    /// The Basic user of an unbound token (a bound token acts as its own user).
    unbound_user: Option<String>,
    /// Sent with the secret a rotation replaced (within its overlap).
    pub previous_secret: bool,
}

impl Authenticated {
    /// The Confluence user to act as: the bound user, or the Basic user for an unbound token.
    pub fn user(&self) -> Option<&str> {
        self.token
            .token
            .user
            .as_deref()
            .or(self.unbound_user.as_deref())
    }
}

/// The credentials a request carries, borrowed from it where they can be.
pub enum Presented<'r> {
    /// `USER:TOKEN`, decoded once: the user is before `colon`, the token after it.
    Basic {
        decoded: String,
        colon: usize,
    },
    Bearer(&'r str),
}

impl Presented<'_> {
    pub fn secret(&self) -> &str {
        match self {
            Presented::Basic { decoded, colon } => &decoded[colon + 1..],
            Presented::Bearer(secret) => secret,
        }
    }

    pub fn basic_user(&self) -> Option<&str> {
        match self {
            Presented::Basic { decoded, colon } => Some(&decoded[..*colon]),
            Presented::Bearer(_) => None,
        }
    }
}

fn presented(req: &Request) -> Result<Presented<'_>, Refusal> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(Refusal::unauthorized(
            "missing_token",
            "send the gateway token as Basic USER:TOKEN or as Authorization: Bearer TOKEN",
        ));
    };
    parse_authorization(value.to_str().unwrap_or(""))
}

/// Reads an `Authorization` value: Basic `USER:TOKEN` (base64) or `Bearer TOKEN`.
pub fn parse_authorization(value: &str) -> Result<Presented<'_>, Refusal> {
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        match decoded.and_then(|d| d.find(':').map(|colon| (d, colon))) {
            Some((decoded, colon)) if colon + 1 < decoded.len() => {
                Ok(Presented::Basic { decoded, colon })
            }
            _ => Err(Refusal::unauthorized(
                "malformed_credentials",
                "the Basic credentials are not base64 of USER:TOKEN",
            )),
        }
    } else if scheme.eq_ignore_ascii_case("bearer") && !rest.trim().is_empty() {
        Ok(Presented::Bearer(rest.trim()))
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
    normalize_target(req, record)?;

    let presented = presented(req)?;
    if matches!(presented, Presented::Bearer(_)) && !gw.config.proxy.allow_bearer {
        return Err(Refusal::unauthorized(
            "bearer_disabled",
            "this gateway accepts tokens only as Basic USER:TOKEN",
        ));
    }
    let (secret, basic_user) = (presented.secret(), presented.basic_user());
    let unknown =
        || Refusal::unauthorized("unknown_token", "the token is not known to this gateway");
    if shape(secret) == Shape::Corrupt {
        return Err(unknown());
    }
    let found = gw
        .cache
        .lookup(&gw.store, secret)
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
    let (active, previous_secret) = (found.active, found.previous);
    let t = &active.token;
    record.token_id = Some(t.id.clone());
    record.bound_user = t.user.clone();
    record.actor = match (&t.user, basic_user) {
        (Some(bound), _) => bound.clone().into(),
        (None, Some(given)) => given.to_string().into(),
        (None, None) => "-".into(),
    };
    usable(t, record.at)?;
    if previous_secret {
        previous_secret_usable(t, record.at)?;
    }
    // Extender's habit: the bound user's email in place of its name. Looked up only when the
    // name differs, so the common path costs one comparison.
    let basic_user = match (&t.user, basic_user) {
        (Some(bound), Some(given))
            if !bound.eq_ignore_ascii_case(given)
                && Box::pin(super::user_email::is_email_of(gw, bound, given)).await =>
        {
            None
        }
        _ => basic_user,
    };
    let unbound_user = unbound_user(gw, t, basic_user)?;
    Ok(Authenticated {
        token: active,
        unbound_user,
        previous_secret,
    })
}

/// Makes the URI of `req` the normalised one (most targets already are, and keep theirs), and
/// the record's path the normalised path.
fn normalize_target(req: &mut Request, record: &mut AuditRecord) -> Result<(), Refusal> {
    let raw_target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let target = match normalize(raw_target) {
        Ok(target) => target,
        Err(e) => {
            // The record keeps the path as it came, since it has no other.
            record.path = req.uri().path().to_string();
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "path_refused",
                format!("request path refused: {e}"),
            ));
        }
    };
    // Most targets are already normal: those keep the URI they came with.
    let unchanged = target.path == req.uri().path() && target.query.as_deref() == req.uri().query();
    if !unchanged {
        let forwarded = match &target.query {
            Some(q) => format!("{}?{q}", target.path),
            None => target.path.clone(),
        };
        *req.uri_mut() = forwarded.parse::<Uri>().map_err(|_| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "path_refused",
                "request path refused: not a valid URI",
            )
        })?;
    }
    record.path = target.path;
    Ok(())
}

/// Refuses a revoked or expired token.
fn usable(t: &Token, at: i64) -> Result<(), Refusal> {
    match t.usable_at(at) {
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
    Ok(())
}

/// Refuses the secret a rotation replaced once its overlap has ended (rare: kept out of line).
#[cold]
fn previous_secret_usable(t: &Token, at: i64) -> Result<(), Refusal> {
    match t.previous_valid_until {
        Some(until) if at < until => Ok(()),
        until => Err(Refusal::unauthorized(
            "token_rotated",
            format!(
                "this secret of token {} was replaced by a rotation and stopped working at {}; use the new secret (an admin can rotate again to issue another)",
                t.id,
                crate::token::utc(until.unwrap_or(at))
            ),
        )),
    }
}

/// The user an unbound token acts as (the Basic user it came with), `None` for a bound token;
/// refuses a bound token sent for another user and an unbound one the identity can't serve.
fn unbound_user(
    gw: &Shared,
    t: &Token,
    basic_user: Option<&str>,
) -> Result<Option<String>, Refusal> {
    Ok(match (&t.user, basic_user) {
        (Some(bound), Some(given)) if !bound.eq_ignore_ascii_case(given) => {
            return Err(Refusal::unauthorized(
                "wrong_user",
                "this token is bound to another user: send it as Basic BOUND_USER:TOKEN (the user's name or email)",
            ))
        }
        (Some(_), _) => None,
        (None, Some(given)) if gw.upstream.allows_unbound() => Some(given.to_string()),
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
    })
}
