//! `GET|POST /{tenant}/oauth2/v2.0/authorize`: the authorization code flow with PKCE (S256 only).
//!
//! A browser gets a login form that POSTs the credentials back with every authorization
//! parameter as hidden fields; a test can POST the same form directly, or, with `auto_login`, name
//! the user in `login_hint`. Errors follow RFC 6749 §4.1.2.1: while the client or the redirect URI
//! is not known to be right, a page (never a redirect); after that, a redirect with `error=`.

use axum::extract::{Form, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{now_ms, provider, OidcConfig, PendingCode};
use crate::auth::primitives::{ct_eq, lock};
use crate::model::secret_hash;
use crate::oauth2::{esc, random_secret};
use crate::Shared;

#[derive(Debug, Default, Deserialize)]
pub(super) struct Params {
    client_id: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    login_hint: Option<String>,
    prompt: Option<String>,
    response_mode: Option<String>,
    // The login form's own fields.
    username: Option<String>,
    password: Option<String>,
    cancel: Option<String>,
}

/// The parts of a request that a redirect back needs.
struct Checked {
    redirect_uri: String,
    state: Option<String>,
}

pub(super) async fn authorize_get(
    State(state): State<Shared>,
    Query(p): Query<Params>,
) -> Response {
    handle(&state, p, false)
}

pub(super) async fn authorize_post(State(state): State<Shared>, Form(p): Form<Params>) -> Response {
    handle(&state, p, true)
}

fn handle(state: &Shared, p: Params, from_form: bool) -> Response {
    let Some((provider, config)) = provider(state) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let checked = match validate(config, &p) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let user = if from_form && p.cancel.is_some() {
        return redirect_error(&checked, "access_denied", "The user cancelled the sign-in.");
    } else if from_form {
        let username = p.username.as_deref().unwrap_or("");
        let password = p.password.as_deref().unwrap_or("");
        match config.user(username) {
            Some(u) if ct_eq(&u.password, password) => u,
            _ => {
                return form_page(
                    &p,
                    Some("Your account or password is incorrect."),
                    StatusCode::UNAUTHORIZED,
                )
            }
        }
    } else if let Some(u) = p
        .login_hint
        .as_deref()
        .filter(|_| config.auto_login)
        .and_then(|h| config.user(h))
    {
        u
    } else if p.prompt.as_deref() == Some("none") {
        return redirect_error(
            &checked,
            "login_required",
            "prompt=none, but no user is signed in.",
        );
    } else {
        return form_page(&p, None, StatusCode::OK);
    };
    let code = random_secret();
    lock(&provider.codes).insert(
        secret_hash(&code),
        PendingCode {
            client_id: p.client_id.clone().unwrap_or_default(),
            username: user.username.clone(),
            redirect_uri: checked.redirect_uri.clone(),
            code_challenge: p.code_challenge.clone().unwrap_or_default(),
            nonce: p.nonce.clone(),
            scopes: split_scopes(p.scope.as_deref()),
            expires_at_ms: now_ms(state) + config.code_ttl_seconds as i64 * 1000,
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &checked.state {
        pairs.push(("state", s));
    }
    redirect(&checked.redirect_uri, &pairs)
}

/// `Err` holds the finished refusal (boxed: a `Response` is large).
fn validate(config: &OidcConfig, p: &Params) -> Result<Checked, Box<Response>> {
    let client_id = p.client_id.as_deref().unwrap_or("");
    let Some(client) = config.client(client_id) else {
        return Err(Box::new(error_page(&format!(
            "AADSTS700016: Application with identifier {client_id:?} was not found in the directory."
        ))));
    };
    let redirect_uri = p.redirect_uri.as_deref().unwrap_or("");
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(Box::new(error_page(&format!(
            "AADSTS50011: The redirect URI {redirect_uri:?} does not match the redirect URIs \
             configured for the application {client_id:?}."
        ))));
    }
    let checked = Checked {
        redirect_uri: redirect_uri.to_string(),
        state: p.state.clone(),
    };
    let problem = if p.response_type.as_deref() != Some("code") {
        Some(("unsupported_response_type", "response_type must be code."))
    } else if p.response_mode.as_deref().is_some_and(|m| m != "query") {
        Some(("invalid_request", "Only response_mode=query is supported."))
    } else if !split_scopes(p.scope.as_deref())
        .iter()
        .any(|s| s == "openid")
    {
        Some(("invalid_scope", "The scope must include openid."))
    } else if p.code_challenge.as_deref().is_none_or(str::is_empty) {
        Some(("invalid_request", "PKCE is required: send code_challenge."))
    } else if p.code_challenge_method.as_deref() != Some("S256") {
        Some((
            "invalid_request",
            "code_challenge_method must be S256 (plain is not accepted).",
        ))
    } else {
        None
    };
    match problem {
        Some((error, description)) => Err(Box::new(redirect_error(&checked, error, description))),
        None => Ok(checked),
    }
}

pub(super) fn split_scopes(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn redirect(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(uri) else {
        return error_page("The registered redirect_uri is not an absolute URL.");
    };
    url.query_pairs_mut().extend_pairs(pairs);
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}

fn redirect_error(c: &Checked, error: &str, description: &str) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = &c.state {
        pairs.push(("state", s));
    }
    redirect(&c.redirect_uri, &pairs)
}

fn error_page(message: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign-in error</title></head>\
             <body><h1>Sorry, but we're having trouble signing you in.</h1><p>{}</p></body></html>",
            esc(message)
        ),
    )
}

/// The sign-in page; every authorization parameter rides along as a hidden field.
fn form_page(p: &Params, error: Option<&str>, status: StatusCode) -> Response {
    let hidden: String = [
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("response_type", &p.response_type),
        ("scope", &p.scope),
        ("state", &p.state),
        ("nonce", &p.nonce),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("response_mode", &p.response_mode),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.as_ref()
            .map(|v| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
    })
    .collect();
    let error = error
        .map(|e| format!("<p role=\"alert\" style=\"color:#b00\">{}</p>", esc(e)))
        .unwrap_or_default();
    let hint = esc(p
        .login_hint
        .as_deref()
        .or(p.username.as_deref())
        .unwrap_or(""));
    html(
        status,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign in to your account</title></head>\
             <body><h1>Sign in</h1><p>cfl sim OpenID Connect provider (demo, not a real identity provider)</p>{error}\
             <form method=\"post\">{hidden}\
             <p><label>Username <input name=\"username\" value=\"{hint}\" autocomplete=\"username\"></label></p>\
             <p><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label></p>\
             <button type=\"submit\">Sign in</button> \
             <button type=\"submit\" name=\"cancel\" value=\"1\">Cancel</button></form></body></html>"
        ),
    )
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
