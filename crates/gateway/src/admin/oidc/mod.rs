//! Admins sign in with the company's OpenID Connect provider (`[admin.oidc]`): authorization code
//! flow with PKCE (S256), `state` and `nonce`, the ID token verified against the provider's JWKS,
//! its groups mapped to a [`Role`]; a server-side session (store, hashed) then stands for the
//! admin, as a cookie for the web page or a bearer secret for `cfl gateway login`.
//!
//! Public routes (no admin credential; `routes`):
//! - `GET /admin/oidc/info` — `{"enabled", "provider"}` for the page's button
//! - `GET /admin/oidc/login?return_to=/admin/` — to the provider (browser)
//! - `GET /admin/oidc/login?cli_redirect=…&cli_state=…&cli_challenge=…` — the same for the CLI
//! - `GET /admin/oidc/callback` — back from the provider: a session (cookie) or a one-time code
//!   for the CLI's loopback listener
//! - `POST /admin/oidc/cli/token` — that code (+ PKCE verifier) for a session secret
//!
//! `/admin/v1/session` (who am I, sign out) sits behind the admin middleware (`session.rs`).
//! Layout: `provider` (discovery, JWKS, token endpoint), `idtoken` (verification), `flow`
//! (login, callback, CLI exchange), `session` (creating, reading and ending sessions, cookies,
//! CSRF tokens).

mod flow;
mod idtoken;
mod provider;
pub mod session;

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use axum::routing::{get, post};
use axum::{Extension, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::roles::Role;
use crate::config::oidc::OidcConfig;
use crate::state::Shared;

/// The provider and its caches, when `[admin.oidc]` is configured.
pub struct Oidc {
    config: OidcConfig,
    provider: provider::Provider,
}

pub type SharedOidc = Option<Arc<Oidc>>;

pub fn routes(gw: &Shared) -> Router<Shared> {
    let oidc: SharedOidc = gw.config.admin.oidc.as_ref().map(|config| {
        Arc::new(Oidc {
            provider: provider::Provider::new(config),
            config: config.clone(),
        })
    });
    Router::new()
        .route("/admin/oidc/info", get(flow::info))
        .route("/admin/oidc/login", get(flow::login))
        .route("/admin/oidc/callback", get(flow::callback))
        .route("/admin/oidc/cli/token", post(flow::cli_token))
        .layer(Extension(oidc))
}

/// 32 random bytes, base64url: states, nonces, verifiers, codes, session secrets.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// BASE64URL(SHA-256(text)): the PKCE S256 challenge of a verifier.
fn s256(text: &str) -> String {
    B64.encode(Sha256::digest(text.as_bytes()))
}

/// The strongest role any of `groups` gives.
fn role_for(config: &OidcConfig, groups: &[String]) -> Option<Role> {
    let has = |list: &[String]| groups.iter().any(|g| list.contains(g));
    let r = &config.roles;
    if has(&r.admin) {
        Some(Role::Admin)
    } else if has(&r.token_manager) {
        Some(Role::TokenManager)
    } else if has(&r.auditor) {
        Some(Role::Auditor)
    } else {
        None
    }
}

/// Whether the gateway is served over HTTPS (its own TLS, or a public https redirect URL behind
/// a TLS-terminating load balancer): cookies are then `Secure`.
pub fn served_over_https(gw: &Shared) -> bool {
    gw.config.tls.is_some()
        || gw
            .config
            .admin
            .oidc
            .as_ref()
            .and_then(|o| o.redirect_url.as_deref())
            .is_some_and(|u| u.starts_with("https://"))
}

/// The gateway's own origin (`scheme://host[:port]`): from `redirect_url` when configured, else
/// from the request's `Host`.
pub fn own_origin(gw: &Shared, headers: &HeaderMap) -> Option<String> {
    if let Some(u) = gw
        .config
        .admin
        .oidc
        .as_ref()
        .and_then(|o| o.redirect_url.as_deref())
        .and_then(|u| url::Url::parse(u).ok())
    {
        return Some(u.origin().ascii_serialization());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if gw.config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{host}"))
}
