//! OAuth 1.0a provider of a DC application link: the three-legged flow
//! (`/plugins/servlet/oauth/request-token`, `…/authorize`, `…/access-token`) and verification of
//! signed API requests, including two-legged ones (`oauth_token=""`) with `xoauth_requestor_id`
//! impersonation — honoured only when the consumer allows it.
//!
//! Every signature is checked with the consumer's public key over the URL the client used (built
//! from the Host header), the query and any form body. Timestamps must be within the configured
//! skew and nonces are single-use per consumer, so a captured request can't be replayed.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use cfl_auth::oauth1::{
    parse_form, signature_base_string, AuthorizationHeader, RsaSha1Verifier, SIGNATURE_METHOD,
};
use http_body_util::BodyExt;
use url::Url;

use crate::auth::{AuthMethod, Caller};
use crate::config::OAuth1ConsumerConfig;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::secret_hash;
use crate::Shared;

/// Largest form body read to check a signature.
const FORM_CAP: usize = 1 << 20;

struct RequestToken {
    consumer: String,
    callback: String,
    verifier: Option<String>,
    approved_by: Option<String>,
    created_ms: i64,
}

struct AccessToken {
    consumer: String,
    user: String,
}

/// Issued tokens and seen nonces.
#[derive(Default)]
pub struct Store {
    request_tokens: Mutex<HashMap<String, RequestToken>>,
    /// Keyed by the hash of the access token.
    access_tokens: Mutex<HashMap<String, AccessToken>>,
    /// (consumer, nonce) → timestamp seen.
    nonces: Mutex<HashMap<(String, String), i64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/plugins/servlet/oauth/request-token", post(request_token))
        .route(
            "/plugins/servlet/oauth/authorize",
            get(authorize_page).post(authorize_submit),
        )
        .route("/plugins/servlet/oauth/access-token", post(access_token))
}

/// A 401 with Confluence's `oauth_problem` and `WWW-Authenticate: OAuth` header.
fn problem(problem: &str, advice: &str) -> ApiError {
    ApiError::unauthorized(ErrorStyle::OAuth1, advice)
        .with_code(problem)
        .with_header(
            "www-authenticate",
            format!("OAuth realm=\"Confluence\", oauth_problem=\"{problem}\""),
        )
}

/// A checked OAuth 1.0a request.
struct Verified {
    consumer: OAuth1ConsumerConfig,
    header: AuthorizationHeader,
    /// Query + form parameters (for `xoauth_requestor_id`).
    params: Vec<(String, String)>,
}

/// Verifies signature, timestamp and nonce. `form` is the decoded form body, if any.
fn verify(
    state: &Shared,
    method: &str,
    headers: &HeaderMap,
    path_and_query: &str,
    form: &[(String, String)],
) -> ApiResult<Verified> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let header = AuthorizationHeader::parse(value)
        .map_err(|e| problem("parameter_rejected", &e.to_string()))?;
    let key = header
        .get("oauth_consumer_key")
        .ok_or_else(|| problem("parameter_absent", "oauth_consumer_key is missing"))?;
    let consumer = state
        .config
        .oauth1_consumers
        .iter()
        .find(|c| c.key == key)
        .cloned()
        .ok_or_else(|| {
            problem(
                "consumer_key_unknown",
                "no application link has this consumer key",
            )
        })?;
    if header.get("oauth_signature_method") != Some(SIGNATURE_METHOD) {
        return Err(problem(
            "signature_method_rejected",
            "only RSA-SHA1 is accepted",
        ));
    }
    let ts: i64 = header
        .get("oauth_timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| {
            problem(
                "parameter_absent",
                "oauth_timestamp is missing or not a number",
            )
        })?;
    let now = state.clock.now_secs();
    let skew = state.config.tokens.oauth1_timestamp_skew_seconds as i64;
    if (now - ts).abs() > skew {
        return Err(problem(
            "timestamp_refused",
            &format!("the timestamp is more than {skew} seconds from the server clock"),
        ));
    }
    let nonce = header
        .get("oauth_nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| problem("parameter_absent", "oauth_nonce is missing"))?;
    let signature = header
        .get("oauth_signature")
        .ok_or_else(|| problem("parameter_absent", "oauth_signature is missing"))?;

    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let url = Url::parse(&format!("http://{host}{path_and_query}"))
        .map_err(|_| problem("parameter_rejected", "the request URL is not valid"))?;
    let base = signature_base_string(method, &url, form, &header.params);
    let pem = consumer.public_key_pem.as_deref().unwrap_or("");
    let verifier =
        RsaSha1Verifier::from_pem(pem).map_err(|e| problem("signature_invalid", &e.to_string()))?;
    if !verifier.verify(&base, signature) {
        return Err(problem(
            "signature_invalid",
            "the signature does not match the request",
        ));
    }
    // Only a correctly signed request consumes its nonce (so garbage can't burn nonces).
    {
        let mut nonces = lock(&state.auth.oauth1.nonces);
        nonces.retain(|_, seen| (now - *seen).abs() <= skew);
        if nonces
            .insert((consumer.key.clone(), nonce.to_string()), ts)
            .is_some()
        {
            return Err(problem(
                "nonce_used",
                "this nonce was already used: the request was replayed",
            ));
        }
    }
    let mut params = url.query().map(parse_form).unwrap_or_default();
    params.extend(form.iter().cloned());
    Ok(Verified {
        consumer,
        header,
        params,
    })
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// The auth layer's hook for `Authorization: OAuth …` on API routes.
pub async fn authenticate_request(state: &Shared, req: &mut Request) -> ApiResult<Caller> {
    let form = if is_form(req.headers()) {
        let body = std::mem::replace(req.body_mut(), Body::empty());
        let bytes = http_body_util::Limited::new(body, FORM_CAP)
            .collect()
            .await
            .map_err(|_| ApiError::bad_request(ErrorStyle::V1, "form body too large to verify"))?
            .to_bytes();
        let form = parse_form(&String::from_utf8_lossy(&bytes));
        *req.body_mut() = Body::from(bytes);
        form
    } else {
        Vec::new()
    };
    let pq = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let v = verify(state, req.method().as_str(), req.headers(), &pq, &form)?;
    let token = v.header.get("oauth_token").unwrap_or("");
    if token.is_empty() {
        return two_legged(state, &v);
    }
    let access = lock(&state.auth.oauth1.access_tokens);
    match access.get(&secret_hash(token)) {
        Some(a) if a.consumer == v.consumer.key => Ok(Caller::user(
            &a.user,
            AuthMethod::OAuth1,
            format!("oauth1:{}:{}", a.consumer, a.user),
        )),
        _ => Err(problem(
            "token_rejected",
            "the access token is not valid for this consumer",
        )),
    }
}

fn two_legged(state: &Shared, v: &Verified) -> ApiResult<Caller> {
    let c = &v.consumer;
    if !c.allow_2lo {
        return Err(problem(
            "permission_denied",
            "this application link does not allow 2-legged OAuth",
        ));
    }
    let requested = v
        .params
        .iter()
        .find(|(k, _)| k == "xoauth_requestor_id" || k == "user_id")
        .map(|(_, u)| u.clone());
    let user = match requested {
        Some(u) if !c.allow_impersonation => {
            return Err(problem(
                "permission_denied",
                &format!("this application link may not impersonate users (asked for {u})"),
            ))
        }
        Some(u) => u,
        None => match &c.executing_2lo_user {
            Some(u) => u.clone(),
            None => return Ok(Caller::anonymous(format!("oauth1:{}", c.key))),
        },
    };
    let db = state.db();
    // No password needed: passwordless (IdP-synced) accounts can be impersonated.
    let u = db.user_by_name(&user).ok_or_else(|| {
        problem(
            "user_refused",
            &format!("user {user} does not exist or may not log in"),
        )
    })?;
    let mut caller = Caller::user(
        &u.name,
        AuthMethod::OAuth1,
        format!("oauth1:{}:{}", c.key, u.name),
    );
    caller.scopes = None;
    Ok(caller)
}

fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..32)
        .map(|_| format!("{:x}", rng.gen_range(0..16)))
        .collect()
}

fn form_response(pairs: &[(&str, &str)]) -> Response {
    let body = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                cfl_auth::oauth1::percent_encode(k),
                cfl_auth::oauth1::percent_encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    (
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        body,
    )
        .into_response()
}

async fn read_form(req: Request) -> ApiResult<(axum::http::request::Parts, Vec<(String, String)>)> {
    let (parts, body) = req.into_parts();
    let form = if is_form(&parts.headers) {
        let bytes = http_body_util::Limited::new(body, FORM_CAP)
            .collect()
            .await
            .map_err(|_| ApiError::bad_request(ErrorStyle::OAuth1, "form body too large"))?
            .to_bytes();
        parse_form(&String::from_utf8_lossy(&bytes))
    } else {
        Vec::new()
    };
    Ok((parts, form))
}

async fn request_token(State(state): State<Shared>, req: Request) -> Response {
    let result: ApiResult<Response> = async {
        let (parts, form) = read_form(req).await?;
        let pq = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let v = verify(&state, parts.method.as_str(), &parts.headers, pq, &form)?;
        let callback = v
            .header
            .get("oauth_callback")
            .map(str::to_string)
            .or_else(|| v.consumer.callback.clone())
            .unwrap_or_else(|| "oob".into());
        let token = random_token();
        lock(&state.auth.oauth1.request_tokens).insert(
            token.clone(),
            RequestToken {
                consumer: v.consumer.key.clone(),
                callback,
                verifier: None,
                approved_by: None,
                created_ms: state.clock.now_ms(),
            },
        );
        Ok(form_response(&[
            ("oauth_token", &token),
            ("oauth_token_secret", &random_token()),
            ("oauth_callback_confirmed", "true"),
        ]))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Approves a request token as `user`; returns where to send the browser.
fn approve(state: &Shared, token: &str, user: &str) -> ApiResult<String> {
    let mut tokens = lock(&state.auth.oauth1.request_tokens);
    let rt = tokens
        .get_mut(token)
        .filter(|t| state.clock.now_ms() - t.created_ms < 10 * 60_000)
        .ok_or_else(|| ApiError::bad_request(ErrorStyle::V1, "unknown or expired request token"))?;
    let verifier = random_token();
    rt.verifier = Some(verifier.clone());
    rt.approved_by = Some(user.to_string());
    if rt.callback == "oob" {
        return Ok(format!("oob:{verifier}"));
    }
    let mut url = Url::parse(&rt.callback).map_err(|_| {
        ApiError::bad_request(ErrorStyle::V1, "the consumer's callback is not a URL")
    })?;
    url.query_pairs_mut()
        .append_pair("oauth_token", token)
        .append_pair("oauth_verifier", &verifier);
    Ok(url.to_string())
}

/// Checks `user:password` from a Basic header or form fields.
fn login(state: &Shared, user: &str, password: &str) -> Option<String> {
    let db = state.db();
    db.user_by_name(user)
        .filter(|u| {
            u.password
                .as_deref()
                .is_some_and(|p| crate::auth::ct_eq(p, password))
        })
        .map(|u| u.name.clone())
}

fn basic_login(state: &Shared, headers: &HeaderMap) -> Option<String> {
    use base64::Engine;
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let enc = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let text = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(enc.trim())
            .ok()?,
    )
    .ok()?;
    let (u, p) = text.split_once(':')?;
    login(state, u, p)
}

fn after_approval(target: String) -> Response {
    match target.strip_prefix("oob:") {
        Some(verifier) => Html(format!(
            "<p>Access approved. Your verification code is <code>{verifier}</code>.</p>"
        ))
        .into_response(),
        None => Redirect::to(&target).into_response(),
    }
}

#[derive(serde::Deserialize)]
struct AuthorizeQuery {
    oauth_token: Option<String>,
}

async fn authorize_page(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<AuthorizeQuery>,
) -> Response {
    let Some(token) = q.oauth_token else {
        return ApiError::bad_request(ErrorStyle::V1, "oauth_token is required").into_response();
    };
    // A logged-in user (Basic here, for scripts and tests) approves at once.
    if let Some(user) = basic_login(&state, &headers) {
        return match approve(&state, &token, &user) {
            Ok(target) => after_approval(target),
            Err(e) => e.into_response(),
        };
    }
    let known = lock(&state.auth.oauth1.request_tokens).contains_key(&token);
    if !known {
        return ApiError::bad_request(ErrorStyle::V1, "unknown or expired request token")
            .into_response();
    }
    let token_html = html_escape(&token);
    Html(format!(
        "<!doctype html><title>Authorize application</title>\
         <h1>An application wants to access Confluence as you</h1>\
         <form method=post><input type=hidden name=oauth_token value=\"{token_html}\">\
         <label>Username <input name=os_username></label> <label>Password <input type=password name=os_password></label>\
         <button type=submit name=approve value=Allow>Allow</button></form>"
    ))
    .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(serde::Deserialize)]
struct AuthorizeForm {
    oauth_token: String,
    os_username: String,
    os_password: String,
}

async fn authorize_submit(State(state): State<Shared>, Form(f): Form<AuthorizeForm>) -> Response {
    match login(&state, &f.os_username, &f.os_password) {
        Some(user) => match approve(&state, &f.oauth_token, &user) {
            Ok(target) => after_approval(target),
            Err(e) => e.into_response(),
        },
        None => (
            StatusCode::UNAUTHORIZED,
            Html("<p>Wrong username or password.</p>"),
        )
            .into_response(),
    }
}

async fn access_token(State(state): State<Shared>, req: Request) -> Response {
    let result: ApiResult<Response> = async {
        let (parts, form) = read_form(req).await?;
        let pq = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let v = verify(&state, parts.method.as_str(), &parts.headers, pq, &form)?;
        let token = v.header.get("oauth_token").unwrap_or("").to_string();
        let verifier = v.header.get("oauth_verifier").unwrap_or("").to_string();
        // Request tokens are single-use: taken out whatever happens next.
        let rt = lock(&state.auth.oauth1.request_tokens)
            .remove(&token)
            .ok_or_else(|| problem("token_rejected", "unknown or already used request token"))?;
        if rt.consumer != v.consumer.key {
            return Err(problem(
                "token_rejected",
                "the request token belongs to another consumer",
            ));
        }
        let (Some(expected), Some(user)) = (rt.verifier, rt.approved_by) else {
            return Err(problem(
                "permission_unknown",
                "the request token was not approved by a user",
            ));
        };
        if !crate::auth::ct_eq(&expected, &verifier) {
            return Err(problem("verifier_invalid", "oauth_verifier does not match"));
        }
        let access = random_token();
        lock(&state.auth.oauth1.access_tokens).insert(
            secret_hash(&access),
            AccessToken {
                consumer: v.consumer.key.clone(),
                user,
            },
        );
        Ok(form_response(&[
            ("oauth_token", &access),
            ("oauth_token_secret", &random_token()),
        ]))
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
