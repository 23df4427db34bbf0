//! The bound users' email addresses, so a token can be sent as Basic `EMAIL:TOKEN` as well as
//! `NAME:TOKEN`, as Extender allowed. Only consulted when the Basic user is not the bound name
//! (the common path compares two strings and never gets here).
//!
//! Confluence says a user's email on `GET /rest/api/user?username=NAME&expand=details.personal`
//! (DC: `details.personal.email`; Cloud shapes carry a top-level `email`), asked as the bound user
//! through the upstream identity. Answers are kept in memory, per gateway process: found ones for
//! [`FOUND_TTL`], "no email" (or Confluence not answering) for [`MISSING_TTL`], so a wrong user
//! sent again and again costs Confluence one call a minute per bound user at most.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Uri};
use serde_json::Value;

use crate::state::Shared;

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
    fn cached(&self, user: &str) -> Option<Option<String>> {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let (email, at) = known.get(user)?;
        let ttl = if email.is_some() {
            FOUND_TTL
        } else {
            MISSING_TTL
        };
        (at.elapsed() < ttl).then(|| email.clone())
    }

    fn remember(&self, user: String, email: Option<String>) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= CAPACITY {
            known.clear();
        }
        known.insert(user, (email, Instant::now()));
    }
}

/// Whether `given` is the email address of the bound user `bound` (case-insensitive).
pub async fn is_email_of(gw: &Shared, bound: &str, given: &str) -> bool {
    // Only an address can be one: spare Confluence the call for a plainly wrong name.
    if !given.contains('@') {
        return false;
    }
    let key = bound.to_lowercase();
    let email = match gw.user_emails.cached(&key) {
        Some(email) => email,
        None => {
            let email = ask_confluence(gw, bound).await.map(|e| e.to_lowercase());
            gw.user_emails.remember(key, email.clone());
            email
        }
    };
    email.is_some_and(|e| e == given.to_lowercase())
}

/// The email Confluence gives for `user`, asked as that user; `None` when it gives none.
async fn ask_confluence(gw: &Shared, user: &str) -> Option<String> {
    let up = &gw.upstream;
    let path = format!(
        "{}/rest/api/user?username={}&expand=details.personal",
        up.base,
        percent_encoding::utf8_percent_encode(user, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut uri: Uri = path.parse().ok()?;
    let mut headers = HeaderMap::new();
    if let Err(e) = up
        .authorize(&gw.store, "GET", &mut uri, &mut headers, Some(user), None)
        .await
    {
        tracing::warn!(error = %e, user, "cannot ask Confluence for the user's email");
        return None;
    }
    let answer = up
        .client
        .get(uri.to_string())
        .headers(headers)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if !answer.status().is_success() {
        tracing::info!(status = %answer.status(), user, "Confluence gave no user record to learn the email from");
        return None;
    }
    email_in(&answer.json::<Value>().await.ok()?)
}

/// `details.personal.email` (DC) or `email` (Cloud), when not empty.
fn email_in(user: &Value) -> Option<String> {
    user.pointer("/details/personal/email")
        .or_else(|| user.get("email"))
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_either_shape() {
        let dc = json!({"username": "bot", "details": {"personal": {"email": "Bot@Example.com"}}});
        assert_eq!(email_in(&dc).as_deref(), Some("Bot@Example.com"));
        assert_eq!(email_in(&json!({"email": "b@x"})).as_deref(), Some("b@x"));
        assert_eq!(email_in(&json!({"username": "bot"})), None);
        assert_eq!(email_in(&json!({"email": ""})), None);
    }

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
