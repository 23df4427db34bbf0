//! `/admin/v1/sessions`: who is signed in, and ending every session of one person at once (someone
//! left, or their laptop was lost) on every replica. Only `admin` may (`roles.rs`: unlisted routes
//! need `admin`); each revocation is audited.

use axum::extract::State;
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

use super::super::actor::Admin;
use super::super::extract::PathOf;
use super::super::native::store_error;
use super::super::roles::Role;
use super::super::schema::ErrorBody;
use crate::proxy::refusal::Refusal;
use crate::state::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/sessions", get(list))
        .route("/sessions/{person}", delete(revoke))
        .method_not_allowed_fallback(super::super::extract::method_not_allowed)
}

/// A live sign-in session (its secret is never shown).
#[derive(Serialize, ToSchema)]
#[schema(as = ActiveSession)]
pub struct ActiveSession {
    /// The provider's subject of the person signed in.
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
    /// When the session started (Unix seconds).
    pub created_at: i64,
    /// When it ends unless revoked first (Unix seconds).
    pub expires_at: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ActiveSessions {
    /// Newest first.
    pub sessions: Vec<ActiveSession>,
}

#[derive(Serialize, ToSchema)]
pub struct RevokedSessions {
    /// The subject or email asked for.
    pub person: String,
    /// How many live sessions were revoked (0: that person had none).
    pub revoked: usize,
    /// The subjects whose sessions were revoked.
    pub subjects: Vec<String>,
}

/// Every live sign-in session: who, with which role, since and until when.
#[utoipa::path(get, path = "/admin/v1/sessions", operation_id = "listSessions",
    responses(
        (status = 200, description = "the live sessions, newest first", body = ActiveSessions),
        (status = 403, description = "`forbidden_by_role`: only the `admin` role sees sessions", body = ErrorBody),
    ))]
pub(crate) async fn list(State(gw): State<Shared>) -> Result<Json<ActiveSessions>, Refusal> {
    let live = gw
        .store
        .live_sessions(gw.now_ms())
        .await
        .map_err(store_error)?;
    let sessions = live
        .into_iter()
        .map(|s| ActiveSession {
            role: Role::parse(&s.row.role).unwrap_or(Role::Auditor),
            subject: s.row.subject,
            name: s.row.name,
            email: s.row.email,
            created_at: s.created_at / 1000,
            expires_at: s.row.expires_at / 1000,
        })
        .collect();
    Ok(Json(ActiveSessions { sessions }))
}

/// Ends every live session of one person, named by the provider's subject or by email (any
/// case): the browser sessions and `cfl gateway login` sessions alike, on every replica. 200
/// with `revoked: 0` when they have none.
#[utoipa::path(delete, path = "/admin/v1/sessions/{person}", operation_id = "revokeSessions",
    params(("person" = String, Path, description = "the person's subject or email, as `GET /admin/v1/sessions` lists them")),
    responses(
        (status = 200, description = "revoked", body = RevokedSessions),
        (status = 403, description = "`forbidden_by_role`: only the `admin` role revokes sessions; `csrf`", body = ErrorBody),
    ))]
pub(crate) async fn revoke(
    State(gw): State<Shared>,
    Extension(admin): Extension<Admin>,
    PathOf(person): PathOf<String>,
) -> Result<Json<RevokedSessions>, Refusal> {
    let subjects = gw
        .store
        .revoke_sessions_of(&person, gw.now_ms())
        .await
        .map_err(store_error)?;
    let mut people = subjects.clone();
    people.sort();
    people.dedup();
    for subject in &people {
        let target = format!("oidc:{subject}");
        admin
            .audit(&gw, "sessions.revoke", "DELETE", Some(&target), 200)
            .await;
    }
    Ok(Json(RevokedSessions {
        person,
        revoked: subjects.len(),
        subjects: people,
    }))
}
