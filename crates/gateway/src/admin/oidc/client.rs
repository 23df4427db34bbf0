//! This gateway as the provider's client: its config and the provider's caches, the random
//! secrets and PKCE challenges of a sign-in, and the role a person's groups give.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::provider::Provider;
use crate::admin::roles::Role;
use crate::config::oidc::OidcConfig;

/// The provider and its caches, when `[admin.oidc]` is configured.
pub struct Oidc {
    pub(super) config: OidcConfig,
    pub(super) provider: Provider,
}

pub type SharedOidc = Option<Arc<Oidc>>;

/// 32 random bytes, base64url: states, nonces, verifiers, codes, session secrets.
pub(super) fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// BASE64URL(SHA-256(text)): the PKCE S256 challenge of a verifier.
pub(super) fn s256(text: &str) -> String {
    B64.encode(Sha256::digest(text.as_bytes()))
}

/// The strongest role any of `groups` gives.
pub(super) fn role_for(config: &OidcConfig, groups: &[String]) -> Option<Role> {
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
