//! An OpenID Connect provider shaped like Microsoft Entra ID, for testing relying parties (the
//! gateway's admin sign-in) without the internet. On when the config has `[oidc]`.
//!
//! Paths (tenant `T` from the config; the issuer is `{base}/T/v2.0`):
//! - `GET /.well-known/openid-configuration` and `GET /T/v2.0/.well-known/openid-configuration`
//! - `GET /T/discovery/v2.0/keys` — JWKS (current key first, retired keys until dropped)
//! - `GET|POST /T/oauth2/v2.0/authorize` — code flow, PKCE S256 required, HTML login form
//! - `POST /T/oauth2/v2.0/token` — `authorization_code` grant, RS256 ID token
//! - `GET /oidc/userinfo` — claims for the access token (Entra ID serves it on Graph)
//! - `/__sim/oidc/*` — rotation and faulty-token controls (`control`)
//!
//! Layout: `config` (`[oidc]`), `keys` (signing keys, JWKS), `discovery`, `authorize`, `token`
//! (token + userinfo, ID-token claims), `control`.

mod authorize;
mod config;
pub mod control;
mod discovery;
mod faults;
mod keys;
mod lookup;
mod provider;
mod token;

use axum::routing::{get, post};
use axum::Router;

pub use config::{GroupsClaim, OidcClient, OidcConfig, OidcGroup, OidcUser};
pub use faults::TokenFault;
pub use lookup::issuer;
use lookup::{now_ms, object_id, provider, subject};
pub use provider::Provider;
use provider::{AccessGrant, PendingCode};

use crate::Shared;

pub fn routes(config: &OidcConfig) -> Router<Shared> {
    let t = &config.tenant;
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            &format!("/{t}/v2.0/.well-known/openid-configuration"),
            get(discovery::openid_configuration),
        )
        .route(&format!("/{t}/discovery/v2.0/keys"), get(discovery::jwks))
        .route(
            &format!("/{t}/oauth2/v2.0/authorize"),
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(&format!("/{t}/oauth2/v2.0/token"), post(token::token))
        .route("/oidc/userinfo", get(token::userinfo))
}
