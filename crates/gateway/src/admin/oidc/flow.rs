//! The sign-in itself: `/admin/oidc/login` sends the browser to the provider with a fresh
//! `state`, `nonce` and PKCE verifier (kept in the store for ten minutes, usable once),
//! `/admin/oidc/callback` redeems the code, verifies the ID token and starts a session — or, for
//! `cfl gateway login`, hands its loopback listener a one-time code that `/admin/oidc/cli/token`
//! exchanges (with the CLI's own PKCE verifier) for a session secret.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::idtoken::{self, Expected, Refused};
use super::session::{self, Person};
use super::{random_secret, role_for, s256, Oidc, SharedOidc};
use crate::admin::extract::JsonBody;
use crate::peer::client_ip;
use crate::secret::SecretHash;
use crate::state::Shared;

const LOGIN_TTL_MS: i64 = 10 * 60_000;
const CLI_CODE_TTL_MS: i64 = 60_000;
const CALLBACK_PATH: &str = "/admin/oidc/callback";

/// A sign-in between `login` and `callback`.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    nonce: String,
    verifier: String,
    redirect_uri: String,
    return_to: String,
    cli: Option<CliReturn>,
}

/// Where a CLI sign-in goes back to.
#[derive(Serialize, Deserialize)]
struct CliReturn {
    redirect: String,
    state: String,
    challenge: String,
}

/// A finished CLI sign-in waiting for `cli/token`.
#[derive(Serialize, Deserialize)]
struct PendingCliCode {
    person: Person,
    challenge: String,
}

#[derive(Deserialize)]
pub(super) struct LoginQuery {
    return_to: Option<String>,
    cli_redirect: Option<String>,
    cli_state: Option<String>,
    cli_challenge: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct CliTokenRequest {
    code: String,
    code_verifier: String,
}

/// A failed step: the status, a stable code and what to do about it.
struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn failure(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        code,
        message: message.into(),
    }
}

pub(super) async fn info(Extension(oidc): Extension<SharedOidc>) -> Response {
    let body = match &oidc {
        Some(o) => json!({"enabled": true, "provider": o.config.display_name()}),
        None => json!({"enabled": false, "provider": null}),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

pub(super) async fn login(
    State(gw): State<Shared>,
    Extension(oidc): Extension<SharedOidc>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    match start_login(&gw, oidc.as_deref(), &headers, q).await {
        Ok(location) => (
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
        )
            .into_response(),
        Err(f) => error_page(&headers, &f),
    }
}

async fn start_login(
    gw: &Shared,
    oidc: Option<&Oidc>,
    headers: &HeaderMap,
    q: LoginQuery,
) -> Result<String, Failure> {
    let oidc = oidc.ok_or_else(off)?;
    let return_to = q.return_to.unwrap_or_else(|| "/admin/".into());
    if !is_local_path(&return_to) {
        return Err(failure(
            StatusCode::BAD_REQUEST,
            "invalid_return_to",
            format!("return_to {return_to:?} must be a path on this gateway, such as /admin/"),
        ));
    }
    let cli = match (q.cli_redirect, q.cli_state, q.cli_challenge) {
        (None, None, None) => None,
        (Some(redirect), Some(state), Some(challenge)) => {
            check_cli(&redirect, &state, &challenge)?;
            Some(CliReturn {
                redirect,
                state,
                challenge,
            })
        }
        _ => {
            return Err(failure(
                StatusCode::BAD_REQUEST,
                "invalid_cli_request",
                "a CLI sign-in needs cli_redirect, cli_state and cli_challenge together",
            ))
        }
    };
    let redirect_uri = redirect_uri(gw, oidc, headers)?;
    let discovery = oidc
        .provider
        .discovery(&oidc.config)
        .await
        .map_err(provider_unreachable)?;
    let state = random_secret();
    let pending = PendingLogin {
        nonce: random_secret(),
        verifier: random_secret(),
        redirect_uri,
        return_to,
        cli,
    };
    let mut url = url::Url::parse(&discovery.authorization_endpoint).map_err(|e| {
        failure(
            StatusCode::BAD_GATEWAY,
            "provider_misconfigured",
            format!("the provider's authorization_endpoint is not a URL: {e}"),
        )
    })?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &oidc.config.client_id)
        .append_pair("redirect_uri", &pending.redirect_uri)
        .append_pair("scope", &oidc.config.scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("nonce", &pending.nonce)
        .append_pair("code_challenge", &s256(&pending.verifier))
        .append_pair("code_challenge_method", "S256");
    let data = serde_json::to_string(&pending).unwrap_or_default();
    let now = gw.now_ms();
    let kept = gw
        .store
        .put_pending(
            &SecretHash::of(&state).0,
            "login",
            &data,
            now + LOGIN_TTL_MS,
            now,
        )
        .await
        .map_err(store_failure)?;
    if !kept {
        return Err(too_many());
    }
    Ok(url.to_string())
}

pub(super) async fn callback(
    State(gw): State<Shared>,
    Extension(oidc): Extension<SharedOidc>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let ip = client_ip(&gw, peer.ip(), &headers).to_string();
    let Some(oidc) = oidc.as_deref() else {
        return error_page(&headers, &off());
    };
    let pending = match take_login(&gw, q.state.as_deref()).await {
        Ok(p) => p,
        Err(f) => return refused(&gw, &ip, &headers, None, f).await,
    };
    let person = match finish(&gw, oidc, &pending, &q).await {
        Ok(p) => p,
        Err(f) => return refused(&gw, &ip, &headers, pending.cli.as_ref(), f).await,
    };
    match &pending.cli {
        Some(cli) => hand_to_cli(&gw, &ip, &headers, cli, person).await,
        None => start_browser_session(&gw, oidc, &ip, &headers, &pending, &person).await,
    }
}

async fn take_login(gw: &Shared, state: Option<&str>) -> Result<PendingLogin, Failure> {
    let state = state.filter(|s| !s.is_empty()).ok_or_else(|| {
        failure(
            StatusCode::BAD_REQUEST,
            "state_missing",
            "the provider's answer has no state; start the sign-in again from the gateway",
        )
    })?;
    let data = gw
        .store
        .take_pending(&SecretHash::of(state).0, "login", gw.now_ms())
        .await
        .map_err(store_failure)?
        .ok_or_else(|| {
            failure(
                StatusCode::BAD_REQUEST,
                "state_unknown",
                "this sign-in's state is unknown, already used or expired (a replayed or stale link); start the sign-in again",
            )
        })?;
    serde_json::from_str(&data).map_err(|_| {
        failure(
            StatusCode::BAD_REQUEST,
            "state_unknown",
            "unreadable sign-in state",
        )
    })
}

/// Redeems the code and verifies the ID token: the person and their role.
async fn finish(
    gw: &Shared,
    oidc: &Oidc,
    pending: &PendingLogin,
    q: &CallbackQuery,
) -> Result<Person, Failure> {
    if let Some(error) = &q.error {
        return Err(failure(
            StatusCode::UNAUTHORIZED,
            "provider_error",
            format!(
                "the identity provider refused the sign-in: {error} {}",
                q.error_description.as_deref().unwrap_or("")
            ),
        ));
    }
    let code = q.code.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| {
        failure(
            StatusCode::BAD_REQUEST,
            "code_missing",
            "the provider's answer has no code",
        )
    })?;
    let id_token = oidc
        .provider
        .redeem(&oidc.config, code, &pending.redirect_uri, &pending.verifier)
        .await
        .map_err(|e| {
            failure(
                StatusCode::BAD_GATEWAY,
                "code_exchange_failed",
                format!("{e:#}"),
            )
        })?;
    let claims = verify(gw, oidc, &id_token, &pending.nonce).await?;
    let subject = claims.str("sub").unwrap_or_default().to_string();
    let email = claims.str("email").map(str::to_string).or_else(|| {
        claims
            .str("preferred_username")
            .filter(|u| u.contains('@'))
            .map(str::to_string)
    });
    let name = claims
        .str("name")
        .or(claims.str("preferred_username"))
        .or(email.as_deref())
        .unwrap_or(&subject)
        .to_string();
    let groups = claims.groups(&oidc.config.groups_claim);
    let role = role_for(&oidc.config, &groups).ok_or_else(|| {
        failure(
            StatusCode::FORBIDDEN,
            "no_role",
            format!(
                "{name} signed in, but none of their groups (claim {:?}) is given a role in [admin.oidc.roles]",
                oidc.config.groups_claim
            ),
        )
    })?;
    Ok(Person {
        subject,
        name,
        email,
        role: role.as_str().to_string(),
    })
}

/// The ID token's claims, if every check passes; an unknown `kid` fetches the keys once more.
async fn verify(
    gw: &Shared,
    oidc: &Oidc,
    id_token: &str,
    nonce: &str,
) -> Result<idtoken::Claims, Failure> {
    let want = Expected {
        issuer: &oidc.config.issuer,
        client_id: &oidc.config.client_id,
        nonce,
        now_s: gw.now_ms() / 1000,
    };
    let keys = oidc
        .provider
        .keys(&oidc.config)
        .await
        .map_err(provider_unreachable)?;
    let mut result = idtoken::verify(id_token, &keys, &want);
    if result.as_ref().err() == Some(&Refused::UnknownKid) {
        if let Some(keys) = oidc
            .provider
            .refetch_keys(&oidc.config)
            .await
            .map_err(provider_unreachable)?
        {
            result = idtoken::verify(id_token, &keys, &want);
        }
    }
    result.map_err(|r| failure(StatusCode::UNAUTHORIZED, r.code(), r.explain()))
}

async fn start_browser_session(
    gw: &Shared,
    oidc: &Oidc,
    ip: &str,
    headers: &HeaderMap,
    pending: &PendingLogin,
    person: &Person,
) -> Response {
    let (secret, _) = match session::create(gw, person, oidc.config.session_minutes).await {
        Ok(s) => s,
        Err(e) => return refused(gw, ip, headers, None, store_failure(e)).await,
    };
    session::audit_sign_in(gw, ip, Some(person), Ok("web"), 200).await;
    let to = esc(&pending.return_to);
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url={to}\">\
         <title>Signed in</title></head><body><p>Signed in as {}. <a href=\"{to}\">Continue</a></p></body></html>",
        esc(&person.name)
    );
    let mut resp = page(StatusCode::OK, body);
    let max_age = oidc.config.session_minutes as i64 * 60;
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(gw, &secret, max_age),
    );
    resp
}

/// Back to the CLI's loopback listener with a one-time code only the holder of its PKCE
/// verifier can exchange.
async fn hand_to_cli(
    gw: &Shared,
    ip: &str,
    headers: &HeaderMap,
    cli: &CliReturn,
    person: Person,
) -> Response {
    let code = random_secret();
    let data = serde_json::to_string(&PendingCliCode {
        person,
        challenge: cli.challenge.clone(),
    })
    .unwrap_or_default();
    let now = gw.now_ms();
    let kept = gw
        .store
        .put_pending(
            &SecretHash::of(&code).0,
            "cli_code",
            &data,
            now + CLI_CODE_TTL_MS,
            now,
        )
        .await;
    match kept {
        Ok(true) => {}
        Ok(false) => return refused(gw, ip, headers, Some(cli), too_many()).await,
        Err(e) => return refused(gw, ip, headers, Some(cli), store_failure(e)).await,
    }
    redirect_to_cli(cli, &[("code", &code), ("state", &cli.state)])
}

fn redirect_to_cli(cli: &CliReturn, pairs: &[(&str, &str)]) -> Response {
    let mut url = match url::Url::parse(&cli.redirect) {
        Ok(u) => u,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
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

/// A failed sign-in: audited with its reason code, then an error page (or, for the CLI, a
/// redirect that tells its listener what failed).
async fn refused(
    gw: &Shared,
    ip: &str,
    headers: &HeaderMap,
    cli: Option<&CliReturn>,
    f: Failure,
) -> Response {
    session::audit_sign_in(gw, ip, None, Err(f.code), f.status.as_u16()).await;
    match cli {
        Some(cli) => redirect_to_cli(
            cli,
            &[
                ("error", f.code),
                ("error_description", &f.message),
                ("state", &cli.state),
            ],
        ),
        None => error_page(headers, &f),
    }
}

/// `POST /admin/oidc/cli/token`: the CLI's one-time code and PKCE verifier for a session.
pub(super) async fn cli_token(
    State(gw): State<Shared>,
    Extension(oidc): Extension<SharedOidc>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CliTokenRequest>,
) -> Response {
    let ip = client_ip(&gw, peer.ip(), &headers).to_string();
    let Some(oidc) = oidc.as_deref() else {
        return json_error(&off());
    };
    match exchange(&gw, oidc, &req).await {
        Ok((person, secret, expires_at)) => {
            session::audit_sign_in(&gw, &ip, Some(&person), Ok("cli"), 200).await;
            (
                [(header::CACHE_CONTROL, "no-store")],
                Json(json!({
                    "session": secret,
                    "expires_at": expires_at / 1000,
                    "role": person.role,
                    "name": person.name,
                })),
            )
                .into_response()
        }
        Err(f) => {
            session::audit_sign_in(&gw, &ip, None, Err(f.code), f.status.as_u16()).await;
            json_error(&f)
        }
    }
}

async fn exchange(
    gw: &Shared,
    oidc: &Oidc,
    req: &CliTokenRequest,
) -> Result<(Person, String, i64), Failure> {
    let invalid = || {
        failure(
            StatusCode::BAD_REQUEST,
            "invalid_code",
            "the code is unknown, already used or expired (it lasts a minute); run `cfl gateway login` again",
        )
    };
    let data = gw
        .store
        .take_pending(&SecretHash::of(&req.code).0, "cli_code", gw.now_ms())
        .await
        .map_err(store_failure)?
        .ok_or_else(invalid)?;
    let pending: PendingCliCode = serde_json::from_str(&data).map_err(|_| invalid())?;
    let proof = s256(&req.code_verifier);
    if !bool::from(proof.as_bytes().ct_eq(pending.challenge.as_bytes())) {
        return Err(failure(
            StatusCode::BAD_REQUEST,
            "invalid_verifier",
            "code_verifier does not match the cli_challenge of this sign-in",
        ));
    }
    let (secret, expires_at) = session::create(gw, &pending.person, oidc.config.session_minutes)
        .await
        .map_err(store_failure)?;
    Ok((pending.person, secret, expires_at))
}

fn off() -> Failure {
    failure(
        StatusCode::NOT_FOUND,
        "oidc_off",
        "sign-in with an identity provider is not configured on this gateway ([admin.oidc])",
    )
}

fn too_many() -> Failure {
    failure(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_sign_ins",
        "too many sign-ins are under way; try again in a few minutes",
    )
}

fn provider_unreachable(e: anyhow::Error) -> Failure {
    failure(
        StatusCode::BAD_GATEWAY,
        "provider_unreachable",
        format!("{e:#}"),
    )
}

fn store_failure(e: anyhow::Error) -> Failure {
    tracing::error!(error = %e, "store error during sign-in");
    failure(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "the store is unavailable; try again shortly",
    )
}

/// The callback URL: `redirect_url`, else this gateway's origin as the request reached it.
fn redirect_uri(gw: &Shared, oidc: &Oidc, headers: &HeaderMap) -> Result<String, Failure> {
    if let Some(u) = &oidc.config.redirect_url {
        return Ok(u.clone());
    }
    super::own_origin(gw, headers)
        .map(|o| format!("{o}{CALLBACK_PATH}"))
        .ok_or_else(|| {
            failure(
                StatusCode::BAD_REQUEST,
                "host_missing",
                "the request has no Host header to build the callback URL from; set admin.oidc.redirect_url",
            )
        })
}

/// A path on this gateway: not another origin (`//host`, `/\host`, `https:`), no controls.
fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/\\")
        && !p.chars().any(|c| c.is_control() || c == '\\')
}

fn check_cli(redirect: &str, state: &str, challenge: &str) -> Result<(), Failure> {
    let bad = |m: String| failure(StatusCode::BAD_REQUEST, "invalid_cli_request", m);
    let url = url::Url::parse(redirect)
        .map_err(|e| bad(format!("cli_redirect {redirect:?} is not a URL: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip) == IpAddr::from([127, 0, 0, 1]),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    if url.scheme() != "http" || !loopback || url.fragment().is_some() {
        return Err(bad(format!(
            "cli_redirect {redirect:?} must be http://127.0.0.1:PORT/…, http://[::1]:PORT/… or http://localhost:PORT/… (the CLI's loopback listener)"
        )));
    }
    if state.is_empty() || state.len() > 512 {
        return Err(bad("cli_state must be 1 to 512 characters".into()));
    }
    let b64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if challenge.len() != 43 || !challenge.chars().all(b64url) {
        return Err(bad(
            "cli_challenge must be BASE64URL(SHA-256(verifier)) without padding (43 characters)"
                .into(),
        ));
    }
    Ok(())
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains("text/html"))
}

fn json_error(f: &Failure) -> Response {
    (
        f.status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"error": f.code, "message": f.message})),
    )
        .into_response()
}

fn error_page(headers: &HeaderMap, f: &Failure) -> Response {
    if wants_json(headers) {
        return json_error(f);
    }
    page(
        f.status,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\
             <body><h1>Sign-in failed</h1><p><code>{}</code>: {}</p><p><a href=\"/admin/\">Back to the admin page</a></p></body></html>",
            f.code,
            esc(&f.message)
        ),
    )
}

/// An HTML answer with the admin page's own strict headers.
fn page(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::admin::web::CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_must_stay_on_this_gateway() {
        assert!(is_local_path("/admin/"));
        assert!(is_local_path("/admin/?tab=audit"));
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "admin/",
            "/a\nb",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn cli_redirects_only_to_loopback_http() {
        let c = "a".repeat(43);
        assert!(check_cli("http://127.0.0.1:5000/callback", "s", &c).is_ok());
        assert!(check_cli("http://[::1]:5000/callback", "s", &c).is_ok());
        assert!(check_cli("http://localhost:5000/callback", "s", &c).is_ok());
        for bad in [
            "https://127.0.0.1/cb",
            "http://evil.example/cb",
            "http://127.0.0.2/cb",
            "http://127.0.0.1.evil.example/cb",
        ] {
            assert!(check_cli(bad, "s", &c).is_err(), "{bad}");
        }
        assert!(check_cli("http://127.0.0.1:5000/callback", "s", "short").is_err());
    }
}
