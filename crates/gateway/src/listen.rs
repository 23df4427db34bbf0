//! The server: accepts connections, completes the TLS handshake when `[tls]` is set, and serves
//! HTTP/1.1 on each with hyper. Requests for the gateway's own paths go through the axum
//! router; every other request goes straight into the proxy path, without the router's
//! per-request service boxing, since the proxy is most of the traffic.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::peer::Peer;
use crate::proxy;
use crate::state::Shared;
use crate::tls::Tls;

/// How long a shutdown waits for open requests to finish.
const DRAIN: Duration = Duration::from_secs(30);
/// How long a client may take over its TLS handshake before the connection is closed.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Paths a route of the router may answer; everything else can only reach the proxy.
fn is_gateway_path(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics" | "/admin")
        || path.starts_with("/admin/")
        || path.starts_with("/rest/extender/")
}

/// A browser opening the gateway's root (or fetching its icon) without credentials is sent to
/// the admin page rather than met by a Basic-auth pop-up; API clients, which don't ask for
/// HTML, keep the proxy's 401. Two length comparisons for any other request.
fn browser_to_admin_page<B>(req: &hyper::Request<B>) -> Option<Response> {
    use axum::http::{header, Method};
    let path = req.uri().path();
    let icon = path == "/favicon.ico";
    if !(path == "/" || icon) {
        return None;
    }
    let headers = req.headers();
    if !matches!(*req.method(), Method::GET | Method::HEAD)
        || headers.contains_key(header::AUTHORIZATION)
    {
        return None;
    }
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    if !(accept.contains("text/html") || (icon && accept.contains("image/"))) {
        return None;
    }
    let mut r = Response::new(Body::empty());
    *r.status_mut() = axum::http::StatusCode::FOUND;
    r.headers_mut().insert(
        header::LOCATION,
        header::HeaderValue::from_static("/admin/"),
    );
    Some(r)
}

async fn route(
    gw: Shared,
    app: Router,
    peer: Arc<Peer>,
    req: hyper::Request<Incoming>,
) -> Response {
    if let Some(redirect) = browser_to_admin_page(&req) {
        return redirect;
    }
    let mut req = req.map(Body::new);
    if is_gateway_path(req.uri().path()) {
        req.extensions_mut().insert(ConnectInfo(peer.addr));
        // For the proxy behind the router's fallback (see `proxy::ProxyService`).
        req.extensions_mut().insert(peer);
        // Boxed: the router's future would otherwise enlarge every proxied request's.
        Box::pin(app.oneshot(req))
            .await
            .unwrap_or_else(|e| match e {})
    } else {
        proxy::handle(gw, peer, req).await
    }
}

/// Serves until `shutdown` resolves, then lets open requests finish (idle connections close at
/// once) for up to [`DRAIN`].
pub async fn serve(
    listener: TcpListener,
    gw: Shared,
    app: Router,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()>,
) {
    // Connections hold `stopping`'s sender and see it close when the receiver is dropped; the
    // server sees every connection gone when `open`'s receivers are all dropped.
    let (stopping_tx, stopping_rx) = watch::channel(());
    let (open_tx, open_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            gw: gw.clone(),
            app: app.clone(),
            peer,
            stopping: stopping_tx.clone(),
        };
        let (tls, open) = (tls.clone(), open_rx.clone());
        tokio::spawn(async move {
            match tls {
                None => conn.serve(stream, false).await,
                Some(tls) => {
                    let handshake = tokio::time::timeout(HANDSHAKE, tls.acceptor().accept(stream));
                    tokio::select! {
                        done = handshake => match done {
                            Ok(Ok(stream)) => conn.serve(stream, true).await,
                            Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        },
                        () = conn.stopping.closed() => {}
                    }
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(stopping_rx);
    drop(open_rx);
    if tokio::time::timeout(DRAIN, open_tx.closed()).await.is_err() {
        tracing::warn!("shutting down with requests still open after {DRAIN:?}");
    }
}

/// One accepted connection, plain or after its TLS handshake.
struct Connection {
    gw: Shared,
    app: Router,
    peer: SocketAddr,
    stopping: watch::Sender<()>,
}

impl Connection {
    /// Serves HTTP/1.1 until the client is done, or until shutdown and its open request ends.
    async fn serve<I>(self, io: I, https: bool)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            gw,
            app,
            peer,
            stopping,
        } = self;
        let client = Arc::new(Peer::new(peer, https));
        let service = hyper::service::service_fn(move |req| {
            let (gw, app, peer) = (gw.clone(), app.clone(), client.clone());
            async move { Ok::<_, Infallible>(route(gw, app, peer, req).await) }
        });
        let conn = http1::Builder::new().serve_connection(TokioIo::new(io), service);
        let mut conn = std::pin::pin!(conn);
        let mut draining = false;
        loop {
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                    break;
                }
                () = stopping.closed(), if !draining => {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{browser_to_admin_page, is_gateway_path};

    fn request(path: &str, headers: &[(&str, &str)]) -> hyper::Request<()> {
        let mut b = hyper::Request::get(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn only_a_browser_without_credentials_at_the_root_goes_to_the_admin_page() {
        let html = ("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        let icon = ("accept", "image/avif,image/webp,*/*;q=0.8");
        for (path, accept) in [("/", html), ("/favicon.ico", icon), ("/favicon.ico", html)] {
            let r = browser_to_admin_page(&request(path, &[accept])).expect(path);
            assert_eq!(r.status(), 302);
            assert_eq!(r.headers()["location"], "/admin/");
        }
        for (path, headers) in [
            ("/", vec![("accept", "*/*")]),
            ("/", vec![]),
            ("/", vec![("accept", "application/json")]),
            ("/", vec![html, ("authorization", "Basic eDp5")]),
            ("/rest/api/space", vec![html]),
            ("/index.html", vec![html]),
        ] {
            assert!(
                browser_to_admin_page(&request(path, &headers)).is_none(),
                "{path} {headers:?}"
            );
        }
        let post = hyper::Request::post("/")
            .header("accept", "text/html")
            .body(())
            .unwrap();
        assert!(browser_to_admin_page(&post).is_none());
    }

    #[test]
    fn only_the_gateways_own_prefixes_go_to_the_router() {
        for own in [
            "/healthz",
            "/metrics",
            "/admin",
            "/admin/",
            "/admin/v1/tokens",
            "/rest/extender/1.0/tokenTools/get",
        ] {
            assert!(is_gateway_path(own), "{own}");
        }
        for proxied in [
            "/rest/api/content",
            "/administrator",
            "/healthz/x",
            "/rest/extenderx",
            "/wiki/admin/x",
        ] {
            assert!(!is_gateway_path(proxied), "{proxied}");
        }
    }
}
