//! The bound users' email addresses, so a token can be sent as Basic `EMAIL:TOKEN` as well as
//! `NAME:TOKEN`, as Extender allowed. Only consulted when the Basic user is not the bound name
//! (the common path compares two strings and never gets here).
//!
//! Confluence says a user's email on `GET /rest/api/user?username=NAME&expand=details.personal`
//! (DC: `details.personal.email`; Cloud shapes carry a top-level `email`), asked as the bound user
//! through the upstream identity. Answers are kept in memory, per gateway process: found ones for
//! [`FOUND_TTL`](crate::user_emails::FOUND_TTL), "no email" (or Confluence not answering) for [`MISSING_TTL`](crate::user_emails::MISSING_TTL), so a wrong user
//! sent again and again costs Confluence one call a minute per bound user at most.

use serde_json::Value;

use crate::state::Shared;

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
    let path = format!(
        "/rest/api/user?username={}&expand=details.personal",
        percent_encoding::utf8_percent_encode(user, percent_encoding::NON_ALPHANUMERIC)
    );
    let answer = match gw.upstream.get_as(&gw.store, &path, user).await {
        Ok(answer) => answer?,
        Err(e) => {
            tracing::warn!(error = %e, user, "cannot ask Confluence for the user's email");
            return None;
        }
    };
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
}
