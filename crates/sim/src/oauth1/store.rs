//! What the OAuth 1.0a server remembers: request and access tokens, seen nonces, parsed keys.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use cfl_auth::oauth1::{self, PublicKey};
use sha2::{Digest, Sha256};

/// Issued OAuth 1.0a credentials and seen nonces. Tokens are keyed by their SHA-256, so the
/// store never holds a usable token; token secrets are not kept at all (RSA-SHA1 ignores them).
#[derive(Default)]
pub struct Store {
    pub(super) inner: Mutex<Inner>,
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) request_tokens: HashMap<String, RequestToken>,
    pub(super) access_tokens: HashMap<String, AccessToken>,
    /// consumer key → nonce → its timestamp.
    pub(super) nonces: HashMap<String, HashMap<String, i64>>,
    /// Parsed consumer public keys (parsed once, on first use).
    pub(super) keys: HashMap<String, PublicKey>,
}

pub(super) struct RequestToken {
    pub(super) consumer: String,
    pub(super) callback: String,
    pub(super) issued_ms: i64,
    /// Set when a user approves: (username, hashed verifier).
    pub(super) approval: Option<(String, String)>,
}

pub(super) struct AccessToken {
    pub(super) consumer: String,
    pub(super) user: String,
}

impl Store {
    pub(super) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(super) fn hash(secret: &str) -> String {
    crate::model::hex(&Sha256::digest(secret.as_bytes()))
}

/// A random credential: 32 alphanumeric characters.
pub(super) fn random_token() -> String {
    oauth1::generate_nonce()
}
