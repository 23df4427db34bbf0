//! Who is making an admin request, and how their actions reach the audit log.

use axum::http::StatusCode;

use super::roles::Role;
use crate::audit::{AuditRecord, Decision, Kind};
use crate::proxy::refusal::Refusal;
use crate::state::Shared;

/// How the admin proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A gateway admin token.
    Token,
    /// Confluence Basic credentials of a member of an admin group.
    Confluence,
    /// A sign-in with the OpenID Connect provider (cookie or session bearer).
    Oidc,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Token => "token",
            Via::Confluence => "confluence",
            Via::Oidc => "oidc",
        }
    }
}

/// The signed-in session behind a request (`Via::Oidc`).
#[derive(Clone, Debug)]
pub struct SessionRef {
    /// The hash of the session's secret (its key in the store).
    pub hash: String,
    /// Set when the session came as a cookie: what `X-CSRF-Token` must carry.
    pub csrf_token: Option<String>,
    /// Epoch milliseconds.
    pub expires_at: i64,
}

/// The admin making this request.
#[derive(Clone, Debug)]
pub struct Admin {
    /// The credential's id: `adm_…`, `confluence:USER` or `oidc:SUBJECT`.
    pub id: String,
    /// The person, as the audit log's actor (name and email for a sign-in).
    pub label: String,
    pub ip: String,
    pub role: Role,
    pub via: Via,
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub session: Option<SessionRef>,
}

impl Admin {
    /// Records an admin action; `false` if the audit log could not take it.
    pub async fn audit(
        &self,
        gw: &Shared,
        action: &str,
        method: &'static str,
        token_id: Option<&str>,
        status: u16,
    ) -> bool {
        let record = AuditRecord {
            at: gw.now_ms(),
            kind: Kind::Admin,
            actor: self.label.clone().into(),
            token_id: token_id.map(str::to_string),
            method: method.into(),
            path: action.into(),
            decision: Decision::Allow,
            reason: self.reason().into(),
            status: status as i64,
            client_ip: self.ip.clone(),
            ..AuditRecord::default()
        };
        gw.audit.record(record).await
    }

    /// The audit record's reason for this admin's actions: the credential and the role.
    pub fn reason(&self) -> String {
        format!("admin {} role {}", self.id, self.role)
    }

    /// A token-manager may only manage tokens of the users `token_manager_users` matches (a
    /// token without a bound user is then not theirs either).
    pub fn may_manage_user(&self, gw: &Shared, user: Option<&str>) -> Result<(), Refusal> {
        if self.role != Role::TokenManager {
            return Ok(());
        }
        let Some(pattern) = gw
            .config
            .admin
            .oidc
            .as_ref()
            .and_then(|o| o.token_manager_users.as_deref())
        else {
            return Ok(());
        };
        let whole = format!("^(?:{pattern})$");
        let matches = regex::Regex::new(&whole)
            .ok()
            .zip(user)
            .is_some_and(|(re, u)| re.is_match(u));
        if matches {
            return Ok(());
        }
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "forbidden_by_role",
            format!(
                "role token-manager may only manage tokens of users matching {pattern:?}, not {}",
                user.map_or("a token without a bound user".to_string(), |u| format!(
                    "{u:?}"
                ))
            ),
        ))
    }
}
