//! Admin sessions: created by a sign-in (`flow.rs`), found by the admin middleware from the
//! `cfl_admin_session` cookie or a `Bearer cfls_…` secret, shown and ended by
//! `GET`/`DELETE /admin/v1/session`. The secret is random (256 bits), stored only as its
//! SHA-256; a cookie session's CSRF token is derived from its secret, so it needs no storage and
//! nobody without the cookie can compute it.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::super::actor::{Admin, SessionRef, Via};
use super::super::roles::Role;
use super::super::schema::{ErrorBody, SessionView, SignedOut};
use crate::audit::{AuditRecord, Decision, Kind};
use crate::proxy::refusal::Refusal;
use crate::secret::SecretHash;
use crate::state::Shared;
use crate::store::sessions::SessionRow;

pub const COOKIE: &str = "cfl_admin_session";
/// Session secrets start with this, so the middleware knows where to look them up.
pub const SECRET_PREFIX: &str = "cfls_";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/session", get(show).delete(sign_out))
        .method_not_allowed_fallback(super::super::extract::method_not_allowed)
}

/// The person a sign-in proved.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Person {
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub role: String,
}

impl Person {
    /// The audit log's actor: name and email.
    pub fn label(&self) -> String {
        match &self.email {
            Some(e) if *e != self.name => format!("{} <{e}>", self.name),
            _ => self.name.clone(),
        }
    }
}

/// A new session for `person`: its secret and when it ends (epoch ms).
pub async fn create(gw: &Shared, person: &Person, minutes: u64) -> anyhow::Result<(String, i64)> {
    let secret = format!("{SECRET_PREFIX}{}", super::client::random_secret());
    let now = gw.now_ms();
    let expires_at = now + minutes as i64 * 60_000;
    let row = SessionRow {
        subject: person.subject.clone(),
        name: person.name.clone(),
        email: person.email.clone(),
        role: person.role.clone(),
        expires_at,
    };
    gw.store
        .insert_session(&SecretHash::of(&secret).0, &row, now)
        .await?;
    Ok((secret, expires_at))
}

/// The admin a session secret stands for, if the session is live.
pub async fn admin_for(
    gw: &Shared,
    secret: &str,
    from_cookie: bool,
    ip: String,
) -> anyhow::Result<Option<Admin>> {
    let hash = SecretHash::of(secret).0;
    let Some(row) = gw.store.session(&hash, gw.now_ms()).await? else {
        return Ok(None);
    };
    let Some(role) = Role::parse(&row.role) else {
        return Ok(None);
    };
    let person = Person {
        subject: row.subject,
        name: row.name,
        email: row.email,
        role: row.role,
    };
    Ok(Some(Admin {
        id: format!("oidc:{}", person.subject),
        label: person.label(),
        ip,
        role,
        via: Via::Oidc,
        subject: person.subject,
        name: person.name,
        email: person.email,
        session: Some(SessionRef {
            hash,
            csrf_token: from_cookie.then(|| csrf_token(secret)),
            expires_at: row.expires_at,
        }),
    }))
}

/// The CSRF token of a cookie session.
pub fn csrf_token(secret: &str) -> String {
    B64.encode(Sha256::digest(format!("cfl-csrf\n{secret}").as_bytes()))
}

/// The session secret in the request's `cfl_admin_session` cookie.
pub fn cookie_secret(headers: &HeaderMap) -> Option<String> {
    session_cookies(headers)
        .next()
        .map(|value| value.trim().to_string())
        .filter(|v| v.starts_with(SECRET_PREFIX))
}

/// Whether the request carries a `cfl_admin_session` cookie at all, valid or not.
pub fn has_cookie(headers: &HeaderMap) -> bool {
    session_cookies(headers).next().is_some()
}

/// The values of every `cfl_admin_session` cookie the request carries, in order.
fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for a new session (`max_age_s` > 0) or for removing it (0); `Secure` when the
/// gateway is served over HTTPS ([`super::origin::served_over_https`]).
pub fn set_cookie(https: bool, secret: &str, max_age_s: i64) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("cfl_admin_session=; Path=/; Max-Age=0"))
}

/// Records a sign-in (`allow`) or a failed one (`deny`, with the reason code).
pub async fn audit_sign_in(
    gw: &Shared,
    ip: &str,
    person: Option<&Person>,
    outcome: Result<&str, &str>,
    status: u16,
) {
    let (decision, reason) = match (outcome, person) {
        (Ok(how), Some(p)) => (
            Decision::Allow,
            format!("admin oidc:{} role {} {how}", p.subject, p.role),
        ),
        (Ok(how), None) => (Decision::Allow, how.to_string()),
        (Err(code), _) => (Decision::Deny, code.to_string()),
    };
    let record = AuditRecord {
        at: gw.now_ms(),
        kind: Kind::Admin,
        actor: person.map_or("-".to_string(), Person::label).into(),
        method: "GET".into(),
        path: "session.sign_in".into(),
        decision,
        reason: reason.into(),
        status: status as i64,
        client_ip: ip.to_string(),
        ..AuditRecord::default()
    };
    gw.audit.record(record).await;
}

/// Who this request runs as, what the role may do, and (for a cookie session) the CSRF token.
#[utoipa::path(get, path = "/admin/v1/session", operation_id = "getSession",
    responses((status = 200, description = "the admin behind this request's credential", body = SessionView)))]
pub(crate) async fn show(Extension(admin): Extension<Admin>) -> Json<SessionView> {
    Json(SessionView {
        via: admin.via.as_str().to_string(),
        subject: admin.subject.clone(),
        name: admin.name.clone(),
        email: admin.email.clone(),
        role: admin.role,
        permissions: admin
            .role
            .permissions()
            .iter()
            .map(|p| p.as_str().to_string())
            .collect(),
        csrf_token: admin.session.as_ref().and_then(|s| s.csrf_token.clone()),
        expires_at: admin.session.as_ref().map(|s| s.expires_at / 1000),
    })
}

/// Signs out: the session (cookie or `Bearer cfls_…`) stops working on every replica, and the
/// cookie is removed.
#[utoipa::path(delete, path = "/admin/v1/session", operation_id = "signOut",
    responses(
        (status = 200, description = "signed out", body = SignedOut),
        (status = 409, description = "`not_a_session`: an admin token or Confluence credentials have no session to end (revoke the admin token instead)", body = ErrorBody),
    ))]
pub(crate) async fn sign_out(
    axum::extract::State(gw): axum::extract::State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Extension(admin): Extension<Admin>,
) -> Result<Response, Refusal> {
    let Some(session) = &admin.session else {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "not_a_session",
            format!(
                "this request is authenticated by {} credentials, not a sign-in session; there is nothing to sign out of",
                admin.via.as_str()
            ),
        ));
    };
    gw.store
        .revoke_session(&session.hash, gw.now_ms())
        .await
        .map_err(super::super::native::store_error)?;
    admin
        .audit(&gw, "session.sign_out", "DELETE", None, 200)
        .await;
    let https = super::origin::served_over_https(&gw, peer.ip(), &headers);
    let mut resp = Json(SignedOut { signed_out: true }).into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(https, "", 0));
    Ok(resp)
}
