//! The provider's runtime state: its keys, pending codes, issued access tokens and armed faults.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::faults::ArmedFaults;
use super::keys;
use crate::auth::primitives::lock;

/// An approved authorization request waiting for its code to be redeemed.
#[derive(Debug, Clone)]
pub(super) struct PendingCode {
    pub(super) client_id: String,
    pub(super) username: String,
    pub(super) redirect_uri: String,
    pub(super) code_challenge: String,
    pub(super) nonce: Option<String>,
    pub(super) scopes: Vec<String>,
    pub(super) expires_at_ms: i64,
}

/// An issued access token (for `userinfo`).
#[derive(Debug, Clone)]
pub(super) struct AccessGrant {
    pub(super) username: String,
    pub(super) client_id: String,
    pub(super) expires_at_ms: i64,
}

/// The provider's runtime state.
pub struct Provider {
    pub(super) base_url: OnceLock<String>,
    pub(super) keys: Mutex<keys::KeyRing>,
    pub(super) codes: Mutex<HashMap<String, PendingCode>>,
    pub(super) access: Mutex<HashMap<String, AccessGrant>>,
    /// Armed faults for the next ID tokens (`/__sim/oidc/faults`).
    pub(super) faults: Mutex<ArmedFaults>,
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

    pub(super) fn base_url(&self) -> &str {
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
