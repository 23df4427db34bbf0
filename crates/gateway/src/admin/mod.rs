//! Admin APIs: the native JSON API under `/admin/v1` (documented by `/admin/v1/openapi.json`) and
//! Extender's `/rest/extender/1.0/tokenTools/*`, both for gateway admins only. Every admin action
//! is audited like a proxied request.

mod actor;
pub mod confluence;
pub mod extender;
pub mod extract;
pub mod lookup;
pub mod native;
pub mod openapi;
pub mod schema;
pub mod web;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;

use crate::audit::{AuditRecord, Decision, Kind};
use crate::peer::client_ip;
use crate::proxy::refusal::Refusal;
use crate::secret::SecretHash;
use crate::state::Shared;

pub use self::actor::Admin;

pub fn router(gw: Shared) -> Router<Shared> {
    Router::new()
        .nest("/admin/v1", native::routes().merge(openapi::routes()))
        .nest("/rest/extender/1.0/tokenTools", extender::routes())
        .layer(from_fn_with_state(gw, require_admin))
        // The page itself is public (it holds no data); everything it shows comes from the API.
        .merge(web::routes())
}

/// The admin secret from `Bearer SECRET` or Basic `ANY:SECRET` (what Extender scripts send).
fn admin_secret(req: &Request) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
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
    let mut found = match admin_secret(&req) {
        Some(secret) => gw.store.admin_by_hash(&SecretHash::of(&secret).0).await,
        None => Ok(None),
    };
    // Not a gateway admin token: Basic credentials of a Confluence admin will do.
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .filter(|v| {
            v.to_str()
                .is_ok_and(|s| s.len() > 6 && s[..6].eq_ignore_ascii_case("basic "))
        })
        .cloned();
    if let (Ok(None), Some(basic), false) = (
        &found,
        basic,
        gw.config.admin.confluence_admin_groups.is_empty(),
    ) {
        match confluence::confluence_admin(&gw, &basic).await {
            Ok(Some(user)) => found = Ok(Some((format!("confluence:{user}"), user))),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not ask Confluence whether the caller is an admin")
            }
        }
    }
    match found {
        Ok(Some((id, label))) => {
            req.extensions_mut().insert(Admin { id, label, ip });
            next.run(req).await
        }
        Ok(None) => {
            let denied = AuditRecord {
                at: gw.now_ms(),
                kind: Kind::Admin,
                actor: "-".into(),
                method: crate::audit::method_word(req.method()),
                path: req.uri().path().to_string(),
                decision: Decision::Deny,
                reason: "admin_required".into(),
                status: 401,
                client_ip: ip,
                ..AuditRecord::default()
            };
            gw.audit.record(denied).await;
            let mut r = Refusal::unauthorized(
                "admin_required",
                "send a gateway admin token as Authorization: Bearer ADMIN_TOKEN",
            );
            r.challenge = "Bearer realm=\"cfl gateway admin\"";
            r.into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "admin lookup failed");
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the store is unavailable; try again shortly",
            )
            .into_response()
        }
    }
}
