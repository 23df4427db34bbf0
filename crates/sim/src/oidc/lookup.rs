//! What every OIDC handler looks up: the provider and its config, the issuer, the clock, and
//! the subject and object ids a user gets.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::config::{OidcConfig, OidcUser};
use super::provider::Provider;
use crate::Shared;

/// The parts of the state every OIDC handler needs. `None` when `[oidc]` is absent (the routes
/// are then not mounted, so handlers never see that).
pub(super) fn provider(state: &Shared) -> Option<(&Provider, &OidcConfig)> {
    Some((state.oidc.as_ref()?, state.config.oidc.as_ref()?))
}

/// `{base}/{tenant}/v2.0`.
pub fn issuer(state: &Shared) -> Option<String> {
    let (p, c) = provider(state)?;
    Some(format!("{}/{}/v2.0", p.base_url(), c.tenant))
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
pub(super) fn object_id(config: &OidcConfig, user: &OidcUser) -> String {
    user.oid
        .clone()
        .unwrap_or_else(|| derived_guid(&format!("{}/{}", config.tenant, user.username)))
}

/// Entra ID's `sub` is pairwise: the same user has a different, opaque subject per app.
pub(super) fn subject(config: &OidcConfig, user: &OidcUser, client_id: &str) -> String {
    let h = Sha256::digest(format!("{}|{}", object_id(config, user), client_id).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h[..24])
}

pub(super) fn now_ms(state: &Shared) -> i64 {
    state.clock.now_ms()
}
