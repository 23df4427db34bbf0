//! Admins sign in with the company's OpenID Connect provider (`[admin.oidc]`): authorization code
//! flow with PKCE (S256), `state` and `nonce`, the ID token verified against the provider's JWKS,
//! its groups mapped to a [`Role`](super::roles::Role); a server-side session (store, hashed) then stands for the
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
//! `/admin/v1/session` (who am I, sign out) and `/admin/v1/sessions` (everyone's, revoking a
//! person's) sit behind the admin middleware (`session.rs`, `sessions.rs`).
//! Layout: `client` (the config and caches, sign-in secrets, roles from groups), `origin` (the
//! gateway's own origin), `provider` (discovery, JWKS, token endpoint), `idtoken` (verification),
//! `flow` (login, callback, CLI exchange), `session` (creating, reading and ending sessions,
//! cookies, CSRF tokens).

mod client;
mod flow;
mod idtoken;
mod origin;
mod provider;
pub mod session;
pub mod sessions;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Extension, Router};

use self::client::{Oidc, SharedOidc};
use crate::state::Shared;

pub use self::origin::own_origin;

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
