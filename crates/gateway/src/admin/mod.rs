//! Admin APIs: the native JSON API under `/admin/v1` (documented by `/admin/v1/openapi.json`) and
//! Extender's `/rest/extender/1.0/tokenTools/*`, both for gateway admins only. Every admin action
//! is audited like a proxied request.

mod actor;
pub mod admin_tokens;
pub mod confluence;
pub mod extender;
pub mod extract;
pub mod native;
pub mod oidc;
pub mod openapi;
pub mod roles;
pub mod schema;
pub mod web;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use subtle::ConstantTimeEq;

use self::actor::Via;
use self::oidc::session;
use self::roles::Role;
use crate::audit::{AuditRecord, Decision, Kind};
use crate::peer::client_ip;
use crate::proxy::refusal::Refusal;
use crate::secret::SecretHash;
use crate::state::Shared;

pub use self::actor::Admin;

pub fn router(gw: Shared) -> Router<Shared> {
    Router::new()
        .nest(
            "/admin/v1",
            native::routes()
                .merge(openapi::routes())
                .merge(session::routes())
                .merge(admin_tokens::routes()),
        )
        .nest("/rest/extender/1.0/tokenTools", extender::routes())
        .layer(from_fn_with_state(gw.clone(), require_admin))
        // The page itself is public (it holds no data); everything it shows comes from the API.
        .merge(web::routes())
        // Signing in is public: it is how an admin gets a credential.
        .merge(oidc::routes(&gw))
}

/// The admin secret from `Bearer SECRET` or Basic `ANY:SECRET` (what Extender scripts send).
fn admin_secret(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        return text.split_once(':').map(|(_, s)| s.to_string());
    }
    None
}

async fn require_admin(State(gw): State<Shared>, mut req: Request, next: Next) -> Response {
    // The OpenAPI document is public: it describes, it grants nothing.
    if req.uri().path() == "/admin/v1/openapi.json" {
        return next.run(req).await;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let ip = client_ip(&gw, peer, req.headers()).to_string();
    let found = match find_admin(&gw, req.headers(), ip.clone()).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "admin lookup failed");
            return Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the store is unavailable; try again shortly",
            )
            .into_response();
        }
    };
    let Some(admin) = found else {
        deny(&gw, &req, "-".into(), "admin_required".into(), 401, ip).await;
        let mut r = Refusal::unauthorized(
            "admin_required",
            "send a gateway admin token as Authorization: Bearer ADMIN_TOKEN, or sign in on the admin page",
        );
        r.challenge = "Bearer realm=\"cfl gateway admin\"";
        return r.into_response();
    };
    if let Err(refusal) = check_csrf(&gw, &admin, req.method(), req.headers()) {
        deny(&gw, &req, admin.label.clone(), "csrf".into(), 403, ip).await;
        return refusal.into_response();
    }
    if let Some(need) = roles::required(req.method(), req.uri().path()) {
        if !admin.role.may(need) {
            let reason = format!("forbidden_by_role {}", admin.reason());
            deny(&gw, &req, admin.label.clone(), reason, 403, ip).await;
            return Refusal::forbidden(
                "forbidden_by_role",
                format!(
                    "role {} may not {} {} (it needs {}); ask a gateway admin",
                    admin.role,
                    req.method(),
                    req.uri().path(),
                    need.as_str()
                ),
            )
            .into_response();
        }
    }
    req.extensions_mut().insert(admin);
    next.run(req).await
}

/// Records a refused admin request.
fn deny(
    gw: &Shared,
    req: &Request,
    actor: String,
    reason: String,
    status: i64,
    ip: String,
) -> impl std::future::Future<Output = bool> + Send + 'static {
    let denied = refused_record(gw, req, actor, reason, status, ip);
    let gw = gw.clone();
    async move { gw.audit.record(denied).await }
}

fn refused_record(
    gw: &Shared,
    req: &Request,
    actor: String,
    reason: String,
    status: i64,
    ip: String,
) -> AuditRecord {
    AuditRecord {
        at: gw.now_ms(),
        kind: Kind::Admin,
        actor: actor.into(),
        method: crate::audit::method_word(req.method()),
        path: req.uri().path().to_string(),
        decision: Decision::Deny,
        reason: reason.into(),
        status,
        client_ip: ip,
        ..AuditRecord::default()
    }
}

/// The admin behind the request's credential: a session (`Bearer cfls_…` or the cookie), a
/// gateway admin token, or a Confluence admin's Basic credentials.
async fn find_admin(gw: &Shared, headers: &HeaderMap, ip: String) -> anyhow::Result<Option<Admin>> {
    if let Some(secret) = admin_secret(headers) {
        if secret.starts_with(session::SECRET_PREFIX) {
            return session::admin_for(gw, &secret, false, ip).await;
        }
        if let Some((id, label, role)) =
            gw.store.admin_with_role(&SecretHash::of(&secret).0).await?
        {
            return Ok(Some(Admin {
                subject: id.clone(),
                name: label.clone(),
                email: None,
                role: Role::parse(&role).unwrap_or(Role::Auditor),
                via: Via::Token,
                session: None,
                id,
                label,
                ip,
            }));
        }
        // Not a gateway admin token: Basic credentials of a Confluence admin will do.
        if let Some(user) = confluence_basic(gw, headers).await {
            return Ok(Some(Admin {
                id: format!("confluence:{user}"),
                subject: user.clone(),
                name: user.clone(),
                email: None,
                role: Role::Admin,
                via: Via::Confluence,
                session: None,
                label: user,
                ip,
            }));
        }
        return Ok(None);
    }
    match session::cookie_secret(headers) {
        Some(secret) => session::admin_for(gw, &secret, true, ip).await,
        None => Ok(None),
    }
}

async fn confluence_basic(gw: &Shared, headers: &HeaderMap) -> Option<String> {
    let basic = headers.get(header::AUTHORIZATION).filter(|v| {
        v.to_str()
            .is_ok_and(|s| s.len() > 6 && s[..6].eq_ignore_ascii_case("basic "))
    })?;
    if gw.config.admin.confluence_admin_groups.is_empty() {
        return None;
    }
    match confluence::confluence_admin(gw, basic).await {
        Ok(user) => user,
        Err(e) => {
            tracing::warn!(error = %e, "could not ask Confluence whether the caller is an admin");
            None
        }
    }
}

/// A cookie session's state-changing request must carry its CSRF token and come from this
/// gateway's own origin: a cross-site page can make a browser send the cookie, but can neither
/// read the token nor forge `Origin`. Bearer and Basic requests carry no ambient credential.
fn check_csrf(
    gw: &Shared,
    admin: &Admin,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let Some(expected) = admin.session.as_ref().and_then(|s| s.csrf_token.as_deref()) else {
        return Ok(());
    };
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let refuse = |m: &str| Refusal::forbidden("csrf", m.to_string());
    let token = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !bool::from(token.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(refuse(
            "a request signed in by cookie must send X-CSRF-Token (csrf_token from GET /admin/v1/session)",
        ));
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let own = oidc::own_origin(gw, headers);
    if origin.is_none() || origin != own.as_deref() {
        return Err(refuse(
            "a request signed in by cookie must come from this gateway's own page (its Origin header must be this gateway's origin)",
        ));
    }
    Ok(())
}
