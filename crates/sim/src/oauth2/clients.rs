//! The configured OAuth 2.0 clients and the small rules the endpoints share (client kinds,
//! service accounts, scope lists, fresh secrets).

use base64::Engine;
use rand::RngCore;

use crate::config::{Flavor, OAuth2ClientConfig, OAuth2ClientKind};
use crate::Shared;

/// A fresh 256-bit URL-safe secret.
pub(crate) fn random_secret() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The configured client `client_id` if it belongs to this flavour and is one of `kinds`.
pub(super) fn client<'a>(
    state: &'a Shared,
    client_id: &str,
    kinds: &[OAuth2ClientKind],
) -> Option<&'a OAuth2ClientConfig> {
    state
        .config
        .oauth2_clients
        .iter()
        .find(|c| c.client_id == client_id && kinds.contains(&c.kind))
}

/// The authorization-code client kind of the running flavour.
pub(super) fn code_kind(state: &Shared) -> OAuth2ClientKind {
    match state.flavor() {
        Flavor::Cloud => OAuth2ClientKind::Cloud3lo,
        Flavor::Dc => OAuth2ClientKind::Dc,
    }
}

/// Cloud service accounts can't take part in a 3LO consent.
pub(super) fn is_service_account(state: &Shared, user: &str) -> bool {
    state.db().user_by_name(user).is_some_and(|u| {
        u.email
            .to_ascii_lowercase()
            .ends_with("@serviceaccount.atlassian.com")
    })
}

pub(super) fn split_scopes(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
