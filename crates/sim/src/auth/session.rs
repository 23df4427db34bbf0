//! DC HTTP sessions: the `JSESSIONID` cookie a Basic login or `/dologin.action` opens, its idle
//! expiry, and the XSRF rule for writes made with it.
//!
//! Sessions are stored by the SHA-256 of the cookie value, like every other issued secret.

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use rand::RngCore;
use serde::Deserialize;

use super::{check_login, lock, AuthMethod, Caller};
use crate::model::{hex, secret_hash};
use crate::Shared;

pub const SESSION_COOKIE: &str = "JSESSIONID";
/// The header that exempts a cookie-authenticated write from the XSRF check.
pub const XSRF_HEADER: &str = "x-atlassian-token";

pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/dologin.action", post(dologin))
}

/// Opens a session for `user` and returns the `Set-Cookie` value.
pub(super) fn open(state: &Shared, user: &str) -> String {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    let id = hex(&raw).to_ascii_uppercase();
    let now = state.clock.now_ms();
    let ttl = state.config.tokens.session_seconds as i64 * 1000;
    let mut sessions = lock(&state.auth.sessions);
    // Drop expired sessions so a long run of Basic requests doesn't grow the map forever.
    sessions.retain(|_, (_, exp)| *exp > now);
    sessions.insert(secret_hash(&id), (user.to_string(), now + ttl));
    let path = if state.config.context_path.is_empty() {
        "/"
    } else {
        state.config.context_path.as_str()
    };
    format!("{SESSION_COOKIE}={id}; Path={path}; HttpOnly")
}

/// The caller a `JSESSIONID` cookie belongs to, if the session is alive. Each use slides the
/// expiry forward: Tomcat's session timeout is an idle timeout.
pub(super) fn from_cookie(state: &Shared, headers: &HeaderMap) -> Option<Caller> {
    let id = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == SESSION_COOKIE).then(|| v.trim().to_string())
        })?;
    let now = state.clock.now_ms();
    let ttl = state.config.tokens.session_seconds as i64 * 1000;
    let mut sessions = lock(&state.auth.sessions);
    let hash = secret_hash(&id);
    let (user, exp) = sessions.get_mut(&hash)?;
    if *exp <= now {
        sessions.remove(&hash);
        return None;
    }
    *exp = now + ttl;
    let mut caller = Caller::user(
        user,
        AuthMethod::Session,
        format!("session:{}", &hash[..16]),
    );
    caller.session = true;
    Some(caller)
}

pub(super) fn is_write(m: &Method) -> bool {
    matches!(
        *m,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    )
}

pub(super) fn xsrf_ok(headers: &HeaderMap) -> bool {
    headers
        .get(XSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("no-check"))
}

/// Confluence's answer to a cookie write without the XSRF header: a bare text body.
pub(super) fn xsrf_failed() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain;charset=UTF-8")],
        "XSRF check failed",
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    os_username: String,
    #[serde(default)]
    os_password: String,
    #[serde(default)]
    os_destination: Option<String>,
}

/// `POST /dologin.action`: a browser login. Success → 302 to `os_destination` with a session
/// cookie; failure → the login page again (200) with `X-Seraph-LoginReason`, as Seraph does.
/// A browser login is where a person would solve the CAPTCHA, so success clears the failure count.
async fn dologin(State(state): State<Shared>, Form(form): Form<LoginForm>) -> Response {
    let key = form.os_username.to_lowercase();
    match check_login(&state, &form.os_username, &form.os_password) {
        Some(user) => {
            lock(&state.auth.login_failures).remove(&key);
            let cookie = open(&state, &user);
            let dest = safe_destination(&state, form.os_destination.as_deref());
            (
                StatusCode::FOUND,
                [
                    (header::LOCATION, dest),
                    (header::SET_COOKIE, cookie),
                    (
                        header::HeaderName::from_static("x-seraph-loginreason"),
                        "OK".to_string(),
                    ),
                ],
            )
                .into_response()
        }
        None => {
            let exists = state.db().user_by_name(&form.os_username).is_some();
            if exists {
                *lock(&state.auth.login_failures).entry(key).or_insert(0) += 1;
            }
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "text/html;charset=UTF-8"),
                    (
                        header::HeaderName::from_static("x-seraph-loginreason"),
                        "AUTHENTICATED_FAILED",
                    ),
                ],
                "<!DOCTYPE html><html><body><p>Sorry, your username and password are incorrect - \
                 please try again.</p></body></html>",
            )
                .into_response()
        }
    }
}

/// Only same-site relative destinations: `//host` or absolute URLs would be an open redirect.
fn safe_destination(state: &Shared, dest: Option<&str>) -> String {
    let ctx = &state.config.context_path;
    match dest {
        Some(d) if d.starts_with('/') && !d.starts_with("//") && !d.contains('\\') => {
            format!("{ctx}{d}")
        }
        _ => format!("{ctx}/index.action"),
    }
}
