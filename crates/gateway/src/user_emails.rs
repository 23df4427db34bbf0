//! What this gateway process has learned of its bound users' email addresses (the memory
//! [`crate::proxy::user_email`] consults and fills), held by the shared state.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a learned email is trusted: a changed address is picked up within this time.
pub const FOUND_TTL: Duration = Duration::from_secs(15 * 60);
/// How long "Confluence gave no email" is remembered before asking again.
pub const MISSING_TTL: Duration = Duration::from_secs(60);
/// Entries kept at most; the cache is cleared when full (bound users are few).
const CAPACITY: usize = 10_000;

/// Lower-cased bound user name → (lower-cased email if Confluence gave one, when learned).
#[derive(Default)]
pub struct UserEmails {
    known: Mutex<HashMap<String, (Option<String>, Instant)>>,
}

impl UserEmails {
    pub(crate) fn cached(&self, user: &str) -> Option<Option<String>> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let (email, at) = known.get(user)?;
        let ttl = if email.is_some() {
            FOUND_TTL
        } else {
            MISSING_TTL
        };
        (at.elapsed() < ttl).then(|| email.clone())
    }

    pub(crate) fn remember(&self, user: String, email: Option<String>) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= CAPACITY {
            known.clear();
        }
        known.insert(user, (email, Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_expires_misses_sooner_than_hits() {
        let c = UserEmails::default();
        assert_eq!(c.cached("bot"), None);
        c.remember("bot".into(), Some("b@x".into()));
        assert_eq!(c.cached("bot"), Some(Some("b@x".into())));
        c.remember("ghost".into(), None);
        assert_eq!(c.cached("ghost"), Some(None));
        // An entry older than its TTL is not an answer.
        c.known.lock().unwrap().insert(
            "ghost".into(),
            (None, Instant::now() - MISSING_TTL - Duration::from_secs(1)),
        );
        assert_eq!(c.cached("ghost"), None);
    }
}
