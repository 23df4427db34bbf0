//! The first and last step: starts the audit record of every request, which the other steps fill
//! in, and holds the response until the record is durable. If it can't be recorded the client
//! gets 503 instead (fail closed: nothing unaudited is answered).

use std::future::Future;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::refusal::Refusal;
use crate::audit::{AuditRecord, Decision, Kind};
use crate::state::Shared;

fn content_length(headers: &HeaderMap) -> i64 {
    headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// The record as far as the request alone tells: the later steps add the normalised path (the
/// first thing `authn` does), the token, the user and the decision.
pub fn begin(gw: &Shared, client_ip: String, req: &Request) -> AuditRecord {
    AuditRecord {
        at: gw.now_ms(),
        kind: Kind::Proxy,
        actor: "-".into(),
        method: crate::audit::method_word(req.method()),
        decision: Decision::Allow,
        client_ip,
        request_bytes: content_length(req.headers()).max(0),
        ..AuditRecord::default()
    }
}

/// Completes the record from the response and answers once it is durable. Not `async`: the
/// record is handed to the audit log at once, so the returned future holds only the response.
pub fn finish(
    gw: &Shared,
    mut record: AuditRecord,
    response: Response,
    started: Instant,
) -> impl Future<Output = Response> + Send + '_ {
    record.status = response.status().as_u16() as i64;
    record.response_bytes = content_length(response.headers());
    record.latency_us = started.elapsed().as_micros() as i64;
    tracing::debug!(
        method = %record.method, path = %record.path, status = record.status, decision = %record.decision,
        reason = %record.reason, token = record.token_id.as_deref().unwrap_or("-"), latency_us = record.latency_us,
        "request"
    );
    gw.metrics
        .request(record.decision.as_str(), record.status as u16);
    let durable = gw.audit.record(record);
    async move {
        if durable.await {
            response
        } else {
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit_unavailable",
                "the gateway cannot write its audit log right now, so it answers nothing; try again shortly",
            )
            .into_response()
        }
    }
}
