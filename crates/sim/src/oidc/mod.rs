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
mod keys;
mod token;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use sha2::{Digest, Sha256};

pub use config::{GroupsClaim, OidcClient, OidcConfig, OidcGroup, OidcUser};
pub use control::TokenFault;

use crate::auth::primitives::lock;
use crate::Shared;

/// An approved authorization request waiting for its code to be redeemed.
#[derive(Debug, Clone)]
struct PendingCode {
    client_id: String,
    username: String,
    redirect_uri: String,
    code_challenge: String,
    nonce: Option<String>,
    scopes: Vec<String>,
    expires_at_ms: i64,
}

/// An issued access token (for `userinfo`).
#[derive(Debug, Clone)]
struct AccessGrant {
    username: String,
    client_id: String,
    expires_at_ms: i64,
}

/// The provider's runtime state.
pub struct Provider {
    base_url: OnceLock<String>,
    keys: Mutex<keys::KeyRing>,
    codes: Mutex<HashMap<String, PendingCode>>,
    access: Mutex<HashMap<String, AccessGrant>>,
    /// Armed faults for the next ID tokens (`/__sim/oidc/faults`).
    faults: Mutex<control::ArmedFaults>,
}

impl Provider {
    pub fn new() -> Provider {
        Provider {
            base_url: OnceLock::new(),
            keys: Mutex::new(keys::KeyRing::demo()),
            codes: Mutex::default(),
            access: Mutex::default(),
            faults: Mutex::default(),
        }
    }

    /// The simulator's own `http://host:port`, known once it is bound.
    pub fn set_base_url(&self, base: String) {
        let _ = self.base_url.set(base);
    }

    fn base_url(&self) -> &str {
        self.base_url.get().map(String::as_str).unwrap_or("")
    }

    /// The currently signing key's `kid`.
    pub fn current_kid(&self) -> String {
        lock(&self.keys).current().kid.clone()
    }
}

impl Default for Provider {
    fn default() -> Self {
        Provider::new()
    }
}

/// The parts of the state every OIDC handler needs. `None` when `[oidc]` is absent (the routes
/// are then not mounted, so handlers never see that).
fn provider(state: &Shared) -> Option<(&Provider, &OidcConfig)> {
    Some((state.oidc.as_ref()?, state.config.oidc.as_ref()?))
}

/// `{base}/{tenant}/v2.0`.
pub fn issuer(state: &Shared) -> Option<String> {
    let (p, c) = provider(state)?;
    Some(format!("{}/{}/v2.0", p.base_url(), c.tenant))
}

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

/// A GUID-shaped id derived from `seed`, stable across runs (object ids for users without one).
fn derived_guid(seed: &str) -> String {
    let h = Sha256::digest(seed.as_bytes());
    let x: String = h[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// The user's object id: configured, else derived from the tenant and username.
fn object_id(config: &OidcConfig, user: &OidcUser) -> String {
    user.oid
        .clone()
        .unwrap_or_else(|| derived_guid(&format!("{}/{}", config.tenant, user.username)))
}

/// Entra ID's `sub` is pairwise: the same user has a different, opaque subject per app.
fn subject(config: &OidcConfig, user: &OidcUser, client_id: &str) -> String {
    let h = Sha256::digest(format!("{}|{}", object_id(config, user), client_id).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h[..24])
}

fn now_ms(state: &Shared) -> i64 {
    state.clock.now_ms()
}
