//! What the OAuth 2.0 server remembers: pending authorization codes and issued tokens.

use std::collections::HashMap;
use std::sync::Mutex;

/// Authorization codes live ten minutes, as RFC 6749 recommends at most.
pub(super) const CODE_TTL_MS: i64 = 10 * 60 * 1000;

/// An approved authorization request waiting to be exchanged for tokens.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub user: String,
    pub scopes: Vec<String>,
    pub redirect_uri: String,
    /// PKCE: (method `S256` or `plain`, challenge).
    pub challenge: Option<(String, String)>,
    pub expires_at: i64,
}

/// An issued access or refresh token (stored under the hash of its value).
#[derive(Debug, Clone)]
pub struct Issued {
    pub client_id: String,
    pub user: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
}

#[derive(Default)]
pub struct Store {
    pub codes: Mutex<HashMap<String, Grant>>,
    pub access: Mutex<HashMap<String, Issued>>,
    pub refresh: Mutex<HashMap<String, Issued>>,
}
