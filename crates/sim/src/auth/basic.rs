//! HTTP Basic credentials: DC `user:password` (with Seraph's failed-login counter and CAPTCHA
//! lock-out), Cloud `email:api_token` (classic tokens on the site, scoped tokens on the gateway).

use base64::Engine;

use super::{ct_eq, lock, ApiBase, AuthMethod, Caller};
use crate::config::Flavor;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::Shared;

/// Basic `name:secret`: DC checks a password, Cloud an API token for the email.
pub(super) fn basic(
    state: &Shared,
    base: ApiBase,
    encoded: &str,
    style: ErrorStyle,
) -> ApiResult<Caller> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    let Some((login, secret)) = decoded.as_deref().and_then(|s| s.split_once(':')) else {
        return Err(ApiError::unauthorized(
            style,
            "Malformed Basic authorization header",
        ));
    };
    match state.flavor() {
        Flavor::Dc => dc_password(state, login, secret, style),
        Flavor::Cloud => cloud_token(state, base, login, secret, style),
    }
}

/// Seraph: a wrong password counts a failure for an existing user; once `captcha_after_failures`
/// failures are reached, Confluence wants a CAPTCHA, which a REST client can't solve, so every
/// Basic request for the user is denied (even with the right password) until a browser login
/// succeeds. A success before that resets the count.
fn dc_password(state: &Shared, login: &str, secret: &str, style: ErrorStyle) -> ApiResult<Caller> {
    let user = {
        let db = state.db();
        db.user_by_name(login)
            .map(|u| (u.name.clone(), u.password.clone()))
    };
    let failed = |reason: &str| {
        ApiError::unauthorized(style, "Basic authentication failed")
            .with_header("x-seraph-loginreason", reason)
            .with_header("www-authenticate", "Basic realm=\"Confluence\"")
    };
    let Some((name, password)) = user else {
        return Err(failed("AUTHENTICATED_FAILED"));
    };
    let key = name.to_lowercase();
    let limit = state.config.captcha_after_failures;
    let mut failures = lock(&state.auth.login_failures);
    let count = failures.get(&key).copied().unwrap_or(0);
    if limit > 0 && count >= limit {
        return Err(failed("AUTHENTICATION_DENIED"));
    }
    // A passwordless account (synced from an identity provider) can never pass.
    if password.as_deref().is_some_and(|p| ct_eq(p, secret)) {
        failures.remove(&key);
        Ok(Caller::user(
            &name,
            AuthMethod::Password,
            format!("user:{name}"),
        ))
    } else {
        failures.insert(key, count + 1);
        Err(failed("AUTHENTICATED_FAILED"))
    }
}

fn cloud_token(
    state: &Shared,
    base: ApiBase,
    email: &str,
    secret: &str,
    style: ErrorStyle,
) -> ApiResult<Caller> {
    let db = state.db();
    let user = db.user_by_email(email);
    let classic = user.filter(|u| u.api_tokens.iter().any(|t| ct_eq(t, secret)));
    let scoped = user.and_then(|u| {
        u.scoped_tokens
            .iter()
            .find(|(t, _)| ct_eq(t, secret))
            .map(|(_, s)| (u, s.clone()))
    });
    match (classic, scoped, base) {
        // api.atlassian.com takes scoped tokens only; a classic (unscoped) token gets 401 there.
        (Some(_), _, ApiBase::ApiGateway) => Err(ApiError::unauthorized(
            style,
            "Classic (unscoped) API tokens are not accepted at https://api.atlassian.com/ex/confluence/{cloudId}: use the site URL, or create an API token with scopes",
        )),
        (Some(u), _, ApiBase::Site) => Ok(Caller::user(
            &u.name,
            AuthMethod::ApiToken,
            format!("token:{}", u.name),
        )),
        (None, Some((u, scopes)), ApiBase::ApiGateway) => {
            let mut c = Caller::user(
                &u.name,
                AuthMethod::ScopedToken,
                format!("scoped:{}", u.name),
            );
            c.scopes = Some(scopes);
            Ok(c)
        }
        // A scoped token on the site URL: rejected, as the real Cloud does.
        (None, Some(_), ApiBase::Site) => Err(ApiError::unauthorized(
            style,
            "Scoped API tokens are only accepted at https://api.atlassian.com/ex/confluence/{cloudId}",
        )),
        _ => Err(ApiError::unauthorized(
            style,
            "Client must be authenticated to access this resource.",
        )),
    }
}
