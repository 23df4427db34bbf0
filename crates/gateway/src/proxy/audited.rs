//! The first and last step: starts the audit record of every request, which the other steps fill
//! in, and holds the response until the record is durable. If it can't be recorded the client
//! gets 503 instead (fail closed: nothing unaudited is answered).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::refusal::Refusal;
use crate::audit::AuditRecord;
use crate::server::Shared;
use crate::token::canonical_ip;

/// A connection's TCP peer, with what the gateway says about it (its address as the audit log
/// writes it, the forwarding headers) built once per connection instead of for each request.
pub struct Peer {
    pub addr: SocketAddr,
    ip: IpAddr,
    text: String,
    /// Whether the client connected over TLS (the scheme the forwarding headers name).
    https: bool,
    forwarding: Forwarding,
}

/// The client as the current request's audit record and forwarding headers name it.
pub struct Client {
    pub ip: IpAddr,
    pub text: String,
    pub forwarding: Forwarding,
}

/// `X-Forwarded-For`, `Forwarded` and `X-Forwarded-Proto` for one client.
#[derive(Clone)]
pub struct Forwarding {
    pub for_: HeaderValue,
    pub forwarded: HeaderValue,
    pub proto: HeaderValue,
}

impl Forwarding {
    fn new(ip: IpAddr, text: &str, https: bool) -> Forwarding {
        let proto = if https { "https" } else { "http" };
        // RFC 7239: an IPv6 node is quoted and bracketed.
        let forwarded = match ip {
            IpAddr::V4(_) => format!("for={text};proto={proto}"),
            IpAddr::V6(_) => format!("for=\"[{text}]\";proto={proto}"),
        };
        // An address's text is always a valid header value; "unknown" is RFC 7239's word for
        // a client the proxy can't name.
        let value = |v: String| {
            HeaderValue::try_from(v).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
        };
        Forwarding {
            for_: value(text.to_string()),
            forwarded: value(forwarded),
            proto: HeaderValue::from_static(proto),
        }
    }
}

impl Peer {
    pub fn new(addr: SocketAddr, https: bool) -> Peer {
        let ip = canonical_ip(addr.ip());
        let text = ip.to_string();
        Peer {
            addr,
            ip,
            forwarding: Forwarding::new(ip, &text, https),
            text,
            https,
        }
    }

    /// The client (see [`client_ip`]): this peer, or the client a trusted proxy names.
    pub fn client(&self, gw: &Shared, headers: &HeaderMap) -> Client {
        let ip = client_ip(gw, self.ip, headers);
        if ip == self.ip {
            return Client {
                ip,
                text: self.text.clone(),
                forwarding: self.forwarding.clone(),
            };
        }
        let text = ip.to_string();
        Client {
            ip,
            forwarding: Forwarding::new(ip, &text, self.https),
            text,
        }
    }
}

/// The client's address: the peer, or the last untrusted hop of `X-Forwarded-For` when the peer
/// is a trusted proxy.
pub fn client_ip(gw: &Shared, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let peer = canonical_ip(peer);
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
    let hops: Vec<IpAddr> = headers
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
        kind: "proxy".into(),
        actor: "-".into(),
        method: crate::audit::method_word(req.method()),
        decision: "allow".into(),
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
    let decision = if record.decision == "deny" {
        "deny"
    } else {
        "allow"
    };
    gw.metrics.request(decision, record.status as u16);
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
