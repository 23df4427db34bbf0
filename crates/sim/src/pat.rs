//! DC personal access tokens: `/rest/pat/latest/tokens` and bearer authentication.

use axum::Router;

use crate::auth::{AuthMethod, Caller};
use crate::model::secret_hash;
use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
}

/// The caller a raw PAT authenticates as, if it is valid and unexpired.
pub fn caller_for_pat(state: &Shared, raw: &str) -> Option<Caller> {
    let hash = secret_hash(raw);
    let now = state.clock.now_ms();
    let mut db = state.db();
    let pat = db.pats.iter_mut().find(|p| {
        crate::auth::ct_eq(&p.token_hash, &hash) && p.expiring_at.is_none_or(|e| e > now)
    })?;
    pat.last_accessed_at = Some(now);
    let owner = pat.owner.clone();
    Some(Caller::user(
        &owner,
        AuthMethod::Pat,
        format!("pat:{}", pat.id),
    ))
}
