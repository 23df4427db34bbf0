//! `/__sim/*`: endpoints tests use to steer and inspect the simulator. Stable: the README's
//! control API table documents them for other projects, so paths and fields keep their meaning. No authentication (the
//! simulator only listens on loopback); disabled with `control_api = false`.
//!
//! - `POST /__sim/faults` — arm faults; JSON, every field optional, merged into what is armed:
//!   `{"status": 503, "count": 2, "path_prefix": "/rest/api/content", "drop_connections": 1,
//!   "latency_ms": 200}`. `status`+`count`: the next `count` matching requests get that 5xx;
//!   `drop_connections`: the next N matching responses are cut mid-body; `latency_ms`: extra delay
//!   on every request; `path_prefix`: match on the full request path (Cloud paths start `/wiki`).
//!   Answers the armed faults. `GET /__sim/faults` shows them, `DELETE /__sim/faults` clears (204).
//! - `POST /__sim/clock` `{"advance_seconds": N}` — moves the simulator clock forward (token expiry,
//!   rate-limit refill). Answers `{"now": ISO, "now_ms": N}`.
//! - `GET /__sim/requests[?limit=N][&status=S]` — the most recent requests, oldest first (the
//!   config's `request_log_entries` of them, 1,000 by default; only those answered with status S,
//!   e.g. 410 for removed Cloud v1 endpoints): `method`, `path`, `query` (credential-like values
//!   redacted), `user` and `auth_method` as the auth layer decided them, `status`, `at`. No headers
//!   or secrets are recorded. `DELETE /__sim/requests` clears.
//! - `GET /__sim/state` — counts: users, spaces, pages, trashed, attachments, pats, requests.
//! - `/__sim/oidc/*` (with `[oidc]`): key rotation and faulty ID tokens, see `oidc/control.rs`.
//! - `POST /__sim/reset` — puts the world back as it started: the `--seed` content, else what the
//!   config's `[seed]` generates (spaces, pages, comments, properties, attachments, labels, PATs), so tests sharing one sim start from the same state.
//!   Faults, the request log, the clock and issued OAuth/session credentials are left alone
//!   (`DELETE /__sim/faults`, `DELETE /__sim/requests` clear those). Answers 204.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::{ApiError, ErrorStyle};
use crate::limits::Faults;
use crate::{iso8601, Shared};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/faults", get(get_faults).post(arm).delete(clear))
        .route("/clock", post(clock))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/state", get(counts))
        .route("/reset", post(reset))
}

fn bad(m: impl Into<String>) -> Response {
    ApiError::bad_request(ErrorStyle::Message, m).into_response()
}

async fn get_faults(State(state): State<Shared>) -> Json<Faults> {
    Json(state.limits.faults().clone())
}

async fn arm(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    let f: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return bad(format!("invalid faults body: {e}")),
    };
    if let Some(s) = f.status {
        if !(500..=599).contains(&s) {
            return bad(format!("status must be a 5xx code, got {s}"));
        }
        if f.count == 0 {
            return bad("count must be at least 1 when status is given");
        }
    }
    let mut cur = state.limits.faults();
    if f.status.is_some() {
        cur.status = f.status;
        cur.count = f.count;
    }
    if f.path_prefix.is_some() {
        cur.path_prefix = f.path_prefix;
    }
    if f.drop_connections > 0 {
        cur.drop_connections = f.drop_connections;
    }
    if f.latency_ms > 0 {
        cur.latency_ms = f.latency_ms;
    }
    Json(cur.clone()).into_response()
}

async fn clear(State(state): State<Shared>) -> StatusCode {
    *state.limits.faults() = Faults::default();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_seconds: i64,
}

async fn clock(State(state): State<Shared>, body: axum::body::Bytes) -> Response {
    let a: Advance = match serde_json::from_slice(&body) {
        Ok(a) => a,
        Err(e) => return bad(format!("expected {{\"advance_seconds\": N}}: {e}")),
    };
    if a.advance_seconds < 0 {
        return bad("advance_seconds must not be negative: the clock only moves forward");
    }
    state.clock.advance(a.advance_seconds.saturating_mul(1000));
    let now = state.clock.now_ms();
    Json(json!({"now": iso8601(now), "now_ms": now})).into_response()
}

#[derive(Deserialize)]
struct RequestFilter {
    limit: Option<usize>,
    /// Only requests answered with this status (e.g. 410: who called a removed endpoint).
    status: Option<u16>,
}

async fn requests(State(state): State<Shared>, Query(f): Query<RequestFilter>) -> Json<Value> {
    let log = state.limits.recent();
    let matching: Vec<_> = log
        .iter()
        .filter(|r| f.status.is_none_or(|s| r.status == s))
        .collect();
    let n = f.limit.unwrap_or(matching.len()).min(matching.len());
    let items: Vec<_> = matching[matching.len() - n..]
        .iter()
        .map(|r| (*r).clone())
        .collect();
    Json(json!({"requests": items}))
}

async fn clear_requests(State(state): State<Shared>) -> StatusCode {
    state.limits.recent().clear();
    StatusCode::NO_CONTENT
}

async fn reset(State(state): State<Shared>) -> StatusCode {
    let fresh = crate::world::build(&state.config, state.clock.now_ms());
    *state.db() = fresh;
    StatusCode::NO_CONTENT
}

async fn counts(State(state): State<Shared>) -> Json<Value> {
    let db = state.db();
    let pages = db
        .content
        .values()
        .filter(|c| c.status == "current")
        .count();
    Json(json!({
        "flavor": state.flavor().as_str(),
        "users": db.users.len(),
        "spaces": db.spaces.len(),
        "pages": pages,
        "trashed": db.content.len() - pages,
        "attachments": db.attachments.len(),
        "pats": db.pats.len(),
        "requests": state.limits.seen.load(std::sync::atomic::Ordering::Relaxed),
    }))
}
