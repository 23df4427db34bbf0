//! The outermost proxy layer: starts an audit record for every request, lets the inner layers
//! fill it in, and holds the response until the record is durable. If it can't be recorded the
//! client gets 503 instead (fail closed: nothing unaudited is answered).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::refusal::{Refusal, Refused};
use crate::audit::AuditRecord;
use crate::server::Shared;
use crate::token::canonical_ip;

/// The record being built for this request; inner layers add the token, user and decision.
#[derive(Clone)]
pub struct AuditCtx(pub Arc<Mutex<AuditRecord>>);

impl AuditCtx {
    pub fn update(&self, f: impl FnOnce(&mut AuditRecord)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// The client's address: the peer, or the last untrusted hop of `X-Forwarded-For` when the peer
/// is a trusted proxy.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

pub fn client_ip(gw: &Shared, req: &Request) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| canonical_ip(c.0.ip()))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let trusted = |ip: &IpAddr| {
        gw.config
            .proxy
            .trusted_proxies
            .iter()
            .any(|n| n.contains(ip))
    };
    if !trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse::<IpAddr>().ok().map(canonical_ip))
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
}

fn content_length(headers: &axum::http::HeaderMap) -> i64 {
    headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

pub async fn audit(State(gw): State<Shared>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let ip = client_ip(&gw, &req);
    let record = AuditRecord {
        at: gw.now_ms(),
        kind: "proxy".into(),
        actor: "-".into(),
        method: req.method().as_str().to_string(),
        path: req.uri().path().to_string(),
        decision: "allow".into(),
        client_ip: ip.to_string(),
        request_bytes: content_length(req.headers()).max(0),
        ..AuditRecord::default()
    };
    let ctx = AuditCtx(Arc::new(Mutex::new(record)));
    req.extensions_mut().insert(ctx.clone());
    req.extensions_mut().insert(ClientIp(ip));

    let response = next.run(req).await;

    let refused = response.extensions().get::<Refused>().cloned();
    // Inner layers have finished with the record: take it rather than copy it.
    let mut record = std::mem::take(&mut *ctx.0.lock().unwrap_or_else(|e| e.into_inner()));
    record.status = response.status().as_u16() as i64;
    record.response_bytes = content_length(response.headers());
    record.latency_us = started.elapsed().as_micros() as i64;
    if let Some(r) = &refused {
        record.decision = "deny".into();
        record.reason = r.code.to_string();
    }
    tracing::debug!(
        method = %record.method, path = %record.path, status = record.status, decision = %record.decision,
        reason = %record.reason, token = record.token_id.as_deref().unwrap_or("-"), latency_us = record.latency_us,
        "request"
    );
    let decision = if refused.is_some() { "deny" } else { "allow" };
    gw.metrics.request(decision, record.status as u16);
    if gw.audit.record(record).await {
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
