//! `/__sim/oidc/*`: key rotation and deliberately faulty ID tokens, for a relying party's tests.
//!
//! - `POST /__sim/oidc/rotate` — a newly generated key signs from now on; the previous one stays
//!   in the JWKS. Answers `{"kid": new, "retired": [kids still published]}`.
//! - `DELETE /__sim/oidc/keys/{kid}` — unpublishes a retired key (204; 409 for the current key,
//!   404 for an unknown one).
//! - `POST /__sim/oidc/faults` `{"fault": "unknown_kid", "count": 1}` — the next `count` ID tokens
//!   (default 1) carry the fault: `unknown_kid` (a `kid` not in the JWKS), `bad_signature`,
//!   `wrong_iss`, `wrong_aud`, `expired` (`exp` an hour ago), `wrong_nonce`. `GET` shows what is
//!   armed, `DELETE` disarms (204).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::faults::{ArmedFaults, TokenFault};
use super::keys::{self, DropError};
use crate::auth::primitives::lock;
use crate::error::{ApiError, ErrorStyle};
use crate::Shared;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArmRequest {
    fault: TokenFault,
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/rotate", post(rotate))
        .route("/keys/{kid}", delete(drop_key))
        .route("/faults", post(arm).get(armed).delete(disarm))
}

fn message(status: StatusCode, m: impl Into<String>) -> Response {
    ApiError::new(status, ErrorStyle::Message, m).into_response()
}

fn off() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "the OpenID Connect provider is off (no [oidc] in the config)",
    )
}

async fn rotate(State(state): State<Shared>) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return off();
    };
    let key = match tokio::task::spawn_blocking(keys::generate).await {
        Ok(Ok(k)) => k,
        Ok(Err(e)) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("key generation failed: {e}"),
            )
        }
        Err(e) => {
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("key generation failed: {e}"),
            )
        }
    };
    let mut ring = lock(&provider.keys);
    let kid = ring.rotate(key);
    Json(json!({"kid": kid, "retired": ring.retired_kids()})).into_response()
}

async fn drop_key(State(state): State<Shared>, Path(kid): Path<String>) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return off();
    };
    match lock(&provider.keys).drop_retired(&kid) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(DropError::Current) => message(
            StatusCode::CONFLICT,
            format!("{kid} is the current signing key; POST /__sim/oidc/rotate first"),
        ),
        Err(DropError::Unknown) => message(StatusCode::NOT_FOUND, format!("no retired key {kid}")),
    }
}

async fn arm(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    let Some(provider) = state.oidc.as_ref() else {
        return off();
    };
    let req: ArmRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return message(
                StatusCode::BAD_REQUEST,
                format!(
                "invalid body: {e}. Expected {{\"fault\": \"unknown_kid|bad_signature|wrong_iss|\
                     wrong_aud|expired|wrong_nonce\", \"count\": 1}}"
            ),
            )
        }
    };
    let mut armed = lock(&provider.faults);
    *armed = ArmedFaults {
        fault: Some(req.fault).filter(|_| req.count > 0),
        remaining: req.count,
    };
    Json(json!(*armed)).into_response()
}

async fn armed(State(state): State<Shared>) -> Response {
    match state.oidc.as_ref() {
        Some(p) => Json(json!(*lock(&p.faults))).into_response(),
        None => off(),
    }
}

async fn disarm(State(state): State<Shared>) -> Response {
    match state.oidc.as_ref() {
        Some(p) => {
            *lock(&p.faults) = ArmedFaults::default();
            StatusCode::NO_CONTENT.into_response()
        }
        None => off(),
    }
}
