//! The proxy path: every request that is not the gateway's own. It runs as steps, one module each,
//! in this order:
//!
//! `audited` (the record, and the wait until it is durable) → `authn` (normalised path, token) →
//! `checks` (IP allowlist, restrictions, rate limit) → `forward` (upstream identity, streaming).
//!
//! Each step can refuse with a [`refusal::Refusal`]: nothing reaches Confluence, and the audit
//! record says `deny` and why. The steps are plain functions over one request and one audit
//! record rather than tower layers: `from_fn` layers box and clone a service per layer per
//! request and would share the record through a mutex in the request's extensions.

pub mod answer;
pub mod audited;
pub mod authn;
pub mod checks;
pub mod forward;
pub(crate) mod method_override;
pub mod minted;
pub mod pool;
pub mod refusal;
pub mod upstream;
pub mod user_email;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::response::{IntoResponse, Response};

use crate::audit::{AuditRecord, Decision};
use crate::peer::{Forwarding, Peer};
use crate::state::Shared;
use refusal::Refusal;

// Why the functions below return `async move` blocks instead of being `async fn`s: an async
// fn's future keeps a slot for each argument *and* one for its local copy, so a request passed
// down three async fns would take six slots, copied on every poll's set-up and move. A block
// holds each captured value once.

/// Runs one request through the proxy path; `peer` is the TCP peer (see [`crate::peer::client_ip`]).
pub fn handle(gw: Shared, peer: Arc<Peer>, req: Request) -> impl Future<Output = Response> + Send {
    let started = Instant::now();
    let client = peer.client(&gw, req.headers());
    let mut record = audited::begin(&gw, client.text, &req);
    let (ip, forwarding) = (client.ip, client.forwarding);
    async move {
        let response = match steps(&gw, ip, &forwarding, req, &mut record).await {
            Ok(response) => response,
            Err(refusal) => {
                record.decision = Decision::Deny;
                record.reason = refusal.code.into();
                refusal.into_response()
            }
        };
        audited::finish(&gw, record, response, started).await
    }
}

#[allow(clippy::manual_async_fn)] // see above
fn steps<'a>(
    gw: &'a Shared,
    ip: IpAddr,
    forwarding: &'a Forwarding,
    mut req: Request,
    record: &'a mut AuditRecord,
) -> impl Future<Output = Result<Response, Refusal>> + Send + 'a {
    async move {
        let auth = authn::authenticate(gw, &mut req, record).await?;
        checks::ip_allowlist(&auth, ip)?;
        checks::restrictions(gw, &auth, &mut req, record).await?;
        checks::rate_limit(&auth, record.at)?;
        forward::forward(gw, &auth, forwarding, req).await
    }
}

/// The proxy as a tower service, for the router's fallback: requests to the gateway's own paths
/// that match none of its routes (e.g. `/admin/x`) are proxied like any other.
#[derive(Clone)]
pub struct ProxyService(pub Shared);

impl tower::Service<Request> for ProxyService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The connection's peer, which the server puts on requests it routes; a request built
        // without the server has only its address, if that.
        let peer = req
            .extensions()
            .get::<Arc<Peer>>()
            .cloned()
            .unwrap_or_else(|| {
                let addr = req
                    .extensions()
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| c.0)
                    .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
                Arc::new(Peer::new(addr, false))
            });
        let gw = self.0.clone();
        Box::pin(async move { Ok(handle(gw, peer, req).await) })
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    fn future_size<A, B, C, F: Future>(_: impl Fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every proxied request's future is built, moved into hyper's connection and polled: its
    /// size is copied on each request. Passing the request and the audit record down `async fn`s
    /// by value keeps each twice and takes it past 3 KiB.
    #[test]
    fn a_requests_future_stays_small() {
        let size = future_size(super::handle);
        assert!(size <= 2048, "proxy::handle's future is {size} bytes");
    }
}
