//! The three-legged flow at `/plugins/servlet/oauth/*`: request token, user approval (Basic on
//! the GET, or the HTML login/approve form), access token. Responses are form-encoded, as
//! Confluence answers them. Request tokens live 10 minutes and are single-use.

use axum::body::Bytes;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use cfl_auth::oauth1::Problem;
use cfl_auth::percent;

use super::{check_signed, hash, problem, random_token, AccessToken, RequestToken};
use crate::auth::primitives::ct_eq;
use crate::error::ApiResult;
use crate::Shared;

/// Request tokens expire after 10 minutes, as on Confluence.
const REQUEST_TOKEN_TTL_MS: i64 = 10 * 60 * 1000;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/plugins/servlet/oauth/request-token", post(request_token))
        .route(
            "/plugins/servlet/oauth/authorize",
            get(authorize_page).post(authorize_form),
        )
        .route("/plugins/servlet/oauth/access-token", post(access_token))
}

fn form_response(pairs: &[(&str, &str)]) -> Response {
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent::encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        body,
    )
        .into_response()
}

fn path_and_query(uri: &OriginalUri) -> String {
    uri.0
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

fn form_body<'b>(headers: &HeaderMap, body: &'b Bytes) -> Option<std::borrow::Cow<'b, str>> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(cfl_auth::oauth1::is_form_content_type);
    is_form.then(|| String::from_utf8_lossy(body))
}

/// `POST /plugins/servlet/oauth/request-token`: signed by the consumer, with `oauth_callback`.
async fn request_token(
    State(state): State<Shared>,
    uri: OriginalUri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form = form_body(&headers, &body);
    let checked = check_signed(
        &state,
        method.as_str(),
        &path_and_query(&uri),
        &headers,
        form.as_deref(),
    )?;
    let Some(callback) = checked.params.callback.clone().filter(|c| !c.is_empty()) else {
        return Err(problem(
            &state,
            &headers,
            Problem::ParameterAbsent,
            "oauth_callback is required (use \"oob\" without a callback)",
        ));
    };
    let token = random_token();
    let secret = random_token();
    state.auth.oauth1.lock().request_tokens.insert(
        hash(&token),
        RequestToken {
            consumer: checked.consumer.key.clone(),
            callback,
            issued_ms: state.clock.now_ms(),
            approval: None,
        },
    );
    Ok(form_response(&[
        ("oauth_token", &token),
        ("oauth_token_secret", &secret),
        ("oauth_callback_confirmed", "true"),
    ]))
}

/// The pending request token's consumer, or None when unknown, expired or already approved.
fn pending_consumer(state: &Shared, token: &str) -> Option<String> {
    let now = state.clock.now_ms();
    let mut inner = state.auth.oauth1.lock();
    inner
        .request_tokens
        .retain(|_, t| now - t.issued_ms <= REQUEST_TOKEN_TTL_MS);
    inner
        .request_tokens
        .get(&hash(token))
        .filter(|t| t.approval.is_none())
        .map(|t| t.consumer.clone())
}

/// Checks `user:password` the way DC Basic auth does (passwordless users cannot log in).
fn login(state: &Shared, user: &str, password: &str) -> Option<String> {
    state
        .db()
        .user_by_name(user)
        .filter(|u| u.password.as_deref().is_some_and(|p| ct_eq(p, password)))
        .map(|u| u.name.clone())
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    h.get(..6).filter(|s| s.eq_ignore_ascii_case("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(h[6..].trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn unknown_token(state: &Shared, headers: &HeaderMap) -> Response {
    problem(
        state,
        headers,
        Problem::TokenRejected,
        "the request token is unknown, expired or already used",
    )
    .into_response()
}

/// `GET /plugins/servlet/oauth/authorize?oauth_token=...`: with Basic credentials the user
/// approves at once (302 to the callback); otherwise the login/approve page.
async fn authorize_page(
    State(state): State<Shared>,
    uri: OriginalUri,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let token = query
        .iter()
        .find(|(k, _)| k == "oauth_token")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let Some(consumer) = pending_consumer(&state, &token) else {
        return unknown_token(&state, &headers);
    };
    match basic_credentials(&headers) {
        Some((user, password)) => match login(&state, &user, &password) {
            Some(name) => approve(&state, &token, &name),
            None => page(
                &uri,
                &token,
                &consumer,
                Some("Login failed: wrong username or password."),
            ),
        },
        None => page(&uri, &token, &consumer, None),
    }
}

/// `POST /plugins/servlet/oauth/authorize` from the page: `os_username`, `os_password`,
/// `oauth_token`, and `approve` or `deny`.
async fn authorize_form(
    State(state): State<Shared>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = percent::parse_form(&String::from_utf8_lossy(&body));
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let token = field("oauth_token").to_string();
    let Some(consumer) = pending_consumer(&state, &token) else {
        return unknown_token(&state, &headers);
    };
    let Some(user) = login(&state, field("os_username"), field("os_password")) else {
        return page(
            &uri,
            &token,
            &consumer,
            Some("Login failed: wrong username or password."),
        );
    };
    if !field("deny").is_empty() {
        return deny(&state, &token);
    }
    approve(&state, &token, &user)
}

/// Marks the token approved by `user` and sends the browser back to the consumer.
fn approve(state: &Shared, token: &str, user: &str) -> Response {
    let verifier = random_token();
    let callback = {
        let mut inner = state.auth.oauth1.lock();
        let Some(t) = inner.request_tokens.get_mut(&hash(token)) else {
            return (StatusCode::BAD_REQUEST, "request token vanished").into_response();
        };
        t.approval = Some((user.to_string(), hash(&verifier)));
        (t.callback.clone(), t.consumer.clone())
    };
    let target = callback_url(state, &callback.0, &callback.1);
    match target {
        Some(url) => redirect(
            &url,
            &[("oauth_token", token), ("oauth_verifier", &verifier)],
        ),
        None => Html(format!(
            "<!DOCTYPE html><html><head><title>Access approved</title></head><body>\
             <h1>Access approved</h1><p>Enter this verification code in the application:</p>\
             <pre id=\"oauth_verifier\">{}</pre></body></html>",
            escape(&verifier)
        ))
        .into_response(),
    }
}

fn deny(state: &Shared, token: &str) -> Response {
    let removed = state.auth.oauth1.lock().request_tokens.remove(&hash(token));
    let target = removed.and_then(|t| callback_url(state, &t.callback, &t.consumer));
    match target {
        Some(url) => redirect(
            &url,
            &[
                ("oauth_token", token),
                ("oauth_problem", "permission_denied"),
            ],
        ),
        None => Html("<!DOCTYPE html><html><body><h1>Access denied</h1></body></html>".to_string())
            .into_response(),
    }
}

/// The callback given with the request token, or the application link's one for `oob`.
fn callback_url(state: &Shared, callback: &str, consumer: &str) -> Option<String> {
    if callback != "oob" {
        return Some(callback.to_string());
    }
    state
        .config
        .oauth1_consumers
        .iter()
        .find(|c| c.key == consumer)
        .and_then(|c| c.callback.clone())
}

fn redirect(url: &str, params: &[(&str, &str)]) -> Response {
    let sep = if url.contains('?') { '&' } else { '?' };
    let query = params
        .iter()
        .map(|(k, v)| format!("{k}={}", percent::encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("{url}{sep}{query}"))],
    )
        .into_response()
}

/// The login/approve page; it posts back to the URL it was served from.
fn page(uri: &OriginalUri, token: &str, consumer: &str, error: Option<&str>) -> Response {
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let action = escape(uri.0.path());
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Authorize access</title></head>\
         <body><h1>Authorize access</h1>\
         <p>The application <strong>{consumer}</strong> wants to access Confluence on your behalf.</p>\
         {error}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"oauth_token\" value=\"{token}\">\
         <p><label>Username <input name=\"os_username\" autocomplete=\"username\"></label></p>\
         <p><label>Password <input type=\"password\" name=\"os_password\" autocomplete=\"current-password\"></label></p>\
         <p><button type=\"submit\" name=\"approve\" value=\"Allow\">Allow</button> \
         <button type=\"submit\" name=\"deny\" value=\"Deny\">Deny</button></p>\
         </form></body></html>",
        consumer = escape(consumer),
        token = escape(token),
    );
    (status, Html(html)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `POST /plugins/servlet/oauth/access-token`: signed with the approved request token and the
/// verifier; the request token is consumed whatever the outcome once it was approved.
async fn access_token(
    State(state): State<Shared>,
    uri: OriginalUri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let form = form_body(&headers, &body);
    let checked = check_signed(
        &state,
        method.as_str(),
        &path_and_query(&uri),
        &headers,
        form.as_deref(),
    )?;
    let fail = |p: Problem, m: &str| problem(&state, &headers, p, m);
    let token = checked
        .params
        .token
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            fail(
                Problem::ParameterAbsent,
                "oauth_token (the request token) is required",
            )
        })?;
    let verifier = checked
        .params
        .verifier
        .clone()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| fail(Problem::ParameterAbsent, "oauth_verifier is required"))?;
    let now = state.clock.now_ms();
    let mut inner = state.auth.oauth1.lock();
    let key = hash(&token);
    let (user, verifier_hash) = match inner.request_tokens.get(&key) {
        Some(t)
            if t.consumer == checked.consumer.key && now - t.issued_ms <= REQUEST_TOKEN_TTL_MS =>
        {
            match &t.approval {
                Some(a) => a.clone(),
                None => {
                    return Err(fail(
                        Problem::PermissionUnknown,
                        "the user has not approved this request token yet",
                    ))
                }
            }
        }
        _ => {
            return Err(fail(
                Problem::TokenRejected,
                "the request token is unknown, expired or already used",
            ))
        }
    };
    inner.request_tokens.remove(&key);
    if !ct_eq(&verifier_hash, &hash(&verifier)) {
        return Err(fail(
            Problem::TokenRejected,
            "oauth_verifier does not match",
        ));
    }
    let access = random_token();
    let secret = random_token();
    inner.access_tokens.insert(
        hash(&access),
        AccessToken {
            consumer: checked.consumer.key.clone(),
            user,
        },
    );
    drop(inner);
    Ok(form_response(&[
        ("oauth_token", &access),
        ("oauth_token_secret", &secret),
    ]))
}
