//! The authorization endpoint (`/authorize` on Cloud, `/rest/oauth2/latest/authorize` on DC).
//!
//! Drivable two ways: a test sends the user's Basic credentials (Cloud `email:api_token`, DC
//! `user:password`) and gets the 302 to `redirect_uri?code=…&state=…` at once; a browser without
//! credentials gets a small login + consent form that POSTs back here. Errors found before the
//! redirect URI is known to be registered are shown as a page, never redirected (RFC 6749 §4.1.2.1).

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;

use super::{client, code_kind, is_service_account, random_secret, split_scopes, Grant};
use crate::auth::login::check_login;
use crate::auth::primitives::{lock, starts_with_ci};
use crate::config::Flavor;
use crate::model::secret_hash;
use crate::Shared;

/// Query parameters of the authorization request; the form post carries the same ones plus the
/// login fields and the decision.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Params {
    audience: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    response_type: Option<String>,
    prompt: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    username: Option<String>,
    password: Option<String>,
    decision: Option<String>,
}

/// A request that passed validation: everything needed to issue a code.
struct Checked {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    challenge: Option<(String, String)>,
}

pub(super) async fn authorize_get(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    handle(&state, &headers, p, false)
}

pub(super) async fn authorize_post(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(p): Form<Params>,
) -> Response {
    handle(&state, &headers, p, true)
}

fn handle(state: &Shared, headers: &HeaderMap, p: Params, from_form: bool) -> Response {
    let checked = match validate(state, &p) {
        Ok(c) => c,
        Err(resp) => return *resp,
    };
    let user = if from_form {
        if p.decision.as_deref() == Some("deny") {
            return redirect_error(&checked, "access_denied", "The user denied access");
        }
        let login = p.username.as_deref().unwrap_or("");
        match check_login(state, login, p.password.as_deref().unwrap_or("")) {
            Some(u) => u,
            None => {
                return form_page(
                    state,
                    &p,
                    Some("Wrong username or password."),
                    StatusCode::UNAUTHORIZED,
                )
            }
        }
    } else if let Some((login, secret)) = basic_credentials(headers) {
        match check_login(state, &login, &secret) {
            Some(u) => u,
            None => {
                return (
                    StatusCode::UNAUTHORIZED,
                    [
                        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                        (
                            header::WWW_AUTHENTICATE,
                            "Basic realm=\"OAuth 2.0 consent\"",
                        ),
                    ],
                    "Wrong username or password.",
                )
                    .into_response()
            }
        }
    } else {
        return form_page(state, &p, None, StatusCode::OK);
    };
    if is_service_account(state, &user) {
        return redirect_error(
            &checked,
            "access_denied",
            "Service accounts cannot consent to OAuth 2.0 apps",
        );
    }
    let code = random_secret();
    lock(&state.auth.oauth2.codes).insert(
        secret_hash(&code),
        Grant {
            client_id: checked.client_id.clone(),
            user,
            scopes: checked.scopes.clone(),
            redirect_uri: checked.redirect_uri.clone(),
            challenge: checked.challenge.clone(),
            expires_at: state.clock.now_ms() + super::CODE_TTL_MS,
        },
    );
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &checked.state {
        pairs.push(("state", s));
    }
    redirect(&checked.redirect_uri, &pairs)
}

/// `Err` holds the finished refusal (boxed: a `Response` is large).
fn validate(state: &Shared, p: &Params) -> Result<Checked, Box<Response>> {
    let client_id = p.client_id.as_deref().unwrap_or("");
    let Some(client) = client(state, client_id, &[code_kind(state)]) else {
        return Err(Box::new(error_page(&format!(
            "Unknown OAuth 2.0 client {client_id:?}."
        ))));
    };
    let redirect_uri = p.redirect_uri.as_deref().unwrap_or("");
    if !client.redirect_uris.iter().any(|r| r == redirect_uri) {
        return Err(Box::new(error_page(
            "The redirect_uri does not match any redirect URI registered for this app.",
        )));
    }
    let mut checked = Checked {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scopes: vec![],
        state: p.state.clone(),
        challenge: None,
    };
    if p.response_type.as_deref() != Some("code") {
        return Err(Box::new(redirect_error(
            &checked,
            "unsupported_response_type",
            "response_type must be code",
        )));
    }
    if state.flavor() == Flavor::Cloud && p.audience.as_deref() != Some("api.atlassian.com") {
        return Err(Box::new(redirect_error(
            &checked,
            "invalid_request",
            "audience must be api.atlassian.com",
        )));
    }
    let mut scopes = split_scopes(p.scope.as_deref());
    if scopes.is_empty() && state.flavor() == Flavor::Dc {
        scopes = client.scopes.clone();
    }
    if scopes.is_empty() {
        return Err(Box::new(redirect_error(
            &checked,
            "invalid_scope",
            "scope is required",
        )));
    }
    if let Some(bad) = scopes.iter().find(|s| !client.scopes.contains(s)) {
        return Err(Box::new(redirect_error(
            &checked,
            "invalid_scope",
            &format!("scope {bad} is not registered for this app"),
        )));
    }
    checked.scopes = scopes;
    if let Some(challenge) = p.code_challenge.as_deref().filter(|c| !c.is_empty()) {
        let method = p.code_challenge_method.as_deref().unwrap_or("plain");
        if method != "S256" && method != "plain" {
            return Err(Box::new(redirect_error(
                &checked,
                "invalid_request",
                "code_challenge_method must be S256 or plain",
            )));
        }
        checked.challenge = Some((method.to_string(), challenge.to_string()));
    }
    Ok(checked)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    if !starts_with_ci(h, "Basic ") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(h[6..].trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (l, s) = text.split_once(':')?;
    Some((l.to_string(), s.to_string()))
}

fn redirect(uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(uri) else {
        return error_page("The registered redirect_uri is not an absolute URL.");
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
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
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        format!(
            "<!DOCTYPE html><html><head><title>Authorization error</title></head><body>\
             <h1>Something went wrong</h1><p>{}</p></body></html>",
            esc(message)
        ),
    )
        .into_response()
}

/// The login + consent page. It posts every authorization parameter back as hidden fields.
fn form_page(state: &Shared, p: &Params, error: Option<&str>, status: StatusCode) -> Response {
    let (login_label, secret_label) = match state.flavor() {
        Flavor::Cloud => ("Email", "API token"),
        Flavor::Dc => ("Username", "Password"),
    };
    let hidden: String = [
        ("audience", &p.audience),
        ("client_id", &p.client_id),
        ("scope", &p.scope),
        ("redirect_uri", &p.redirect_uri),
        ("state", &p.state),
        ("response_type", &p.response_type),
        ("prompt", &p.prompt),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.as_ref()
            .map(|v| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
    })
    .collect();
    let scopes: String = split_scopes(p.scope.as_deref())
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", esc(s)))
        .collect();
    let error = error
        .map(|e| format!("<p style=\"color:#b00\">{}</p>", esc(e)))
        .unwrap_or_default();
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Authorize {client}</title></head>\
         <body><h1>{client} wants to access your Confluence account</h1>{error}\
         <p>It asks for:</p><ul>{scopes}</ul>\
         <form method=\"post\">{hidden}\
         <p><label>{login_label} <input name=\"username\" autocomplete=\"username\"></label></p>\
         <p><label>{secret_label} <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label></p>\
         <button name=\"decision\" value=\"approve\">Accept</button> \
         <button name=\"decision\" value=\"deny\">Deny</button></form></body></html>",
        client = esc(p.client_id.as_deref().unwrap_or("")),
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_escaping_covers_attribute_breakers() {
        assert_eq!(
            super::esc("\"><script>'&"),
            "&quot;&gt;&lt;script&gt;&#39;&amp;"
        );
    }
}
