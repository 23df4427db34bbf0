//! Who is making an admin request, and how their actions reach the audit log.

use crate::audit::{AuditRecord, Decision, Kind};
use crate::state::Shared;

/// The admin making this request.
#[derive(Clone, Debug)]
pub struct Admin {
    pub id: String,
    pub label: String,
    pub ip: String,
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
            reason: format!("admin {}", self.id).into(),
            status: status as i64,
            client_ip: self.ip.clone(),
            ..AuditRecord::default()
        };
        gw.audit.record(record).await
    }
}
