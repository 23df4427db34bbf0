//! Who is calling: turns the request's credentials into a [`Caller`], the way Confluence does.
//!
//! The `authenticate` layer runs in front of every REST route. Handlers never look at headers;
//! they read the `Caller` from the request extensions. Quirks kept on purpose:
//! - Cloud with anonymous access on answers a request without credentials anonymously, no 401.
//! - DC answers an *invalid PAT* as anonymous when anonymous access is on (CONFSERVER-98199).
//! - Scoped Cloud tokens work only on the `/ex/confluence/{cloudId}` base, where scopes apply.
//! - DC cookie sessions must send `X-Atlassian-Token: no-check` on writes (XSRF protection).
//!
//! Submodules: `basic` (Basic credentials, CAPTCHA counter), `session` (JSESSIONID cookies,
//! `/dologin.action`, XSRF), `scopes` (which scopes a route needs).

mod basic;
pub mod caller;
pub mod login;
pub(crate) mod primitives;
mod scopes;
mod session;
mod store;

use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use crate::config::Flavor;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::Shared;

pub use caller::{ApiBase, AuthMethod, Caller};
pub use login::check_login;
pub(crate) use primitives::{ct_eq, lock, starts_with_ci};
pub use scopes::{cloud_required_scopes, dc_required_scope, scope_mismatch};
pub use session::{SESSION_COOKIE, XSRF_HEADER};
pub use store::AuthStore;

/// The error body family for a request path.
pub fn error_style(path: &str) -> ErrorStyle {
    if path.contains("/api/v2/") {
        ErrorStyle::V2
    } else if path.contains("/rest/pat/") {
        ErrorStyle::Pat
    } else {
        ErrorStyle::V1
    }
}

/// The auth layer: identifies the caller, applies the XSRF and scope checks that depend on how
/// it authenticated, and stores it in the request extensions.
pub async fn authenticate(
    State((state, base)): State<(Shared, ApiBase)>,
    mut req: Request,
    next: Next,
) -> Response {
    let (caller, set_cookie) = match identify(&state, base, &mut req).await {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    if caller.session && session::is_write(req.method()) && !session::xsrf_ok(req.headers()) {
        return session::xsrf_failed();
    }
    if let Some(denied) = scopes::enforce(&state, base, &caller, req.method(), req.uri().path()) {
        return denied;
    }
    req.extensions_mut().insert(caller);
    let mut resp = next.run(req).await;
    if let Some(cookie) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        resp.headers_mut().append(header::SET_COOKIE, cookie);
    }
    resp
}

/// The caller, and a `Set-Cookie` value when the request opened a DC session (Basic login).
async fn identify(
    state: &Shared,
    base: ApiBase,
    req: &mut Request,
) -> ApiResult<(Caller, Option<String>)> {
    // Nested routers see a stripped path; the cloud id lives in the original one.
    let full_path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|u| u.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let style = error_style(&full_path);
    if base == ApiBase::ApiGateway {
        check_cloud_id(state, &full_path, style)?;
    }
    let peer = client_ip(req);
    let authz = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);

    let caller = match authz.as_deref() {
        Some(h) if starts_with_ci(h, "Basic ") => {
            let caller = basic::basic(state, base, &h[6..], style)?;
            // Confluence opens an HTTP session for every successful Basic login.
            let cookie = (caller.method == AuthMethod::Password)
                .then(|| session::open(state, caller.user.as_deref().unwrap_or_default()));
            return Ok((caller, cookie));
        }
        Some(h) if starts_with_ci(h, "Bearer ") => {
            bearer(state, base, h[7..].trim(), &peer, style)?
        }
        Some(h) if starts_with_ci(h, "OAuth ") => {
            crate::oauth1::authenticate_request(state, req).await?
        }
        Some(_) => {
            return Err(ApiError::unauthorized(
                style,
                "Unsupported authorization scheme",
            ))
        }
        None => match trusted_header(state, req.headers(), style)? {
            Some(caller) => caller,
            None => match session::from_cookie(state, req.headers()) {
                Some(caller) => caller,
                None => anonymous(state, &peer, style)?,
            },
        },
    };
    Ok((caller, None))
}

/// An SSO proxy's header login: only with the shared secret, and only for existing users. A
/// user header without the right secret is refused rather than ignored, so a misconfigured
/// proxy is noticed.
fn trusted_header(
    state: &Shared,
    headers: &axum::http::HeaderMap,
    style: ErrorStyle,
) -> ApiResult<Option<Caller>> {
    let Some(t) = &state.config.trusted_header else {
        return Ok(None);
    };
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(user) = value(&t.user_header) else {
        return Ok(None);
    };
    if !value(&t.secret_header).is_some_and(|s| ct_eq(s, &t.secret)) {
        return Err(ApiError::unauthorized(
            style,
            "trusted user header without a valid shared secret",
        ));
    }
    let db = state.db();
    let u = db.user_by_name(user).ok_or_else(|| {
        ApiError::unauthorized(
            style,
            format!("trusted header names an unknown user {user}"),
        )
    })?;
    Ok(Some(Caller::user(
        &u.name,
        AuthMethod::TrustedHeader,
        format!("header:{}", u.name),
    )))
}

fn client_ip(req: &Request) -> String {
    req.extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn check_cloud_id(state: &Shared, path: &str, style: ErrorStyle) -> ApiResult<()> {
    let id = path
        .strip_prefix("/ex/confluence/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    if id != state.config.cloud_id {
        return Err(ApiError::not_found(
            style,
            format!("Cloud id {id} not found"),
        ));
    }
    Ok(())
}

fn anonymous(state: &Shared, peer: &str, style: ErrorStyle) -> ApiResult<Caller> {
    if state.config.anonymous_access {
        Ok(Caller::anonymous(format!("anon:{peer}")))
    } else {
        let mut e = ApiError::unauthorized(
            style,
            "This request requires authentication. Please log in and try again.",
        );
        if state.flavor() == Flavor::Dc {
            e = e.with_header("www-authenticate", "Basic realm=\"Confluence\"");
        }
        Err(e)
    }
}

/// Bearer: a DC PAT or an OAuth 2.0 access token.
fn bearer(
    state: &Shared,
    base: ApiBase,
    token: &str,
    peer: &str,
    style: ErrorStyle,
) -> ApiResult<Caller> {
    if let Some(caller) = crate::oauth2::caller_for_access_token(state, base, token, style)? {
        return Ok(caller);
    }
    if state.flavor() == Flavor::Dc {
        if let Some(caller) = crate::pat::caller_for_pat(state, token) {
            return Ok(caller);
        }
        // CONFSERVER-98199: an invalid PAT runs as anonymous when anonymous access is on.
        return anonymous(state, peer, style);
    }
    Err(ApiError::unauthorized(
        style,
        "Client must be authenticated to access this resource.",
    ))
}

/// `GET /_edge/tenant_info` → `{"cloudId": ...}`.
pub async fn tenant_info(State(state): State<Shared>) -> Json<serde_json::Value> {
    Json(serde_json::json!({"cloudId": state.config.cloud_id}))
}

/// DC form login that issues a `JSESSIONID` cookie.
pub fn dc_login_routes() -> Router<Shared> {
    session::routes()
}
