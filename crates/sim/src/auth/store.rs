//! Credentials issued while the simulator runs, kept for as long as it does.

use std::collections::HashMap;
use std::sync::Mutex;

use super::primitives::lock;

/// Credentials issued while the simulator runs (sessions, OAuth grants, OAuth 1.0a nonces).
#[derive(Default)]
pub struct AuthStore {
    /// SHA-256 of the JSESSIONID → (username, expires at ms). Sliding: each use extends it.
    pub sessions: Mutex<HashMap<String, (String, i64)>>,
    pub oauth1: crate::oauth1::Store,
    pub oauth2: crate::oauth2::Store,
    /// DC: consecutive failed logins per lower-cased username (the CAPTCHA trigger).
    pub login_failures: Mutex<HashMap<String, u32>>,
}

impl AuthStore {
    /// Forgets every failed-login count, as an admin resetting CAPTCHAs would.
    pub fn reset_login_failures(&self) {
        lock(&self.login_failures).clear();
    }
}
