//! Interactive logins (OAuth consent forms, `/dologin.action`): a user's own secret checked against
//! the accounts. A leaf, so the OAuth flows can use it without depending on the auth layer.

use super::primitives::ct_eq;
use crate::config::Flavor;
use crate::Shared;

/// Checks a user's own secret for interactive logins (OAuth consent forms, `/dologin.action`):
/// DC a password, Cloud a classic API token (the simulator has no Atlassian account passwords).
/// Returns the canonical username.
pub fn check_login(state: &Shared, login: &str, secret: &str) -> Option<String> {
    let db = state.db();
    match state.flavor() {
        Flavor::Dc => db
            .user_by_name(login)
            .filter(|u| u.password.as_deref().is_some_and(|p| ct_eq(p, secret)))
            .map(|u| u.name.clone()),
        Flavor::Cloud => db
            .user_by_email(login)
            .filter(|u| u.api_tokens.iter().any(|t| ct_eq(t, secret)))
            .map(|u| u.name.clone()),
    }
}
