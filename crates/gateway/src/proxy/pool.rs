//! The proxy path's upstream connections: keep-alive HTTP/1.1 connections to the one upstream,
//! the most recently idle reused first. A connection returns to the pool once its answer's body
//! has been read to the end; one whose answer is abandoned or broken is closed.
//!
//! Why not hyper-util's pool, which this replaced: it serves any number of hosts, so every
//! checkout and return looked the host up in hash maps (hashing it byte by byte with SipHash) and
//! every answer spawned a task to wait for its connection to be ready again. A gateway has one
//! upstream: taking and returning a connection is a push and a pop on one `Vec`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use axum::body::Body;
use axum::http::uri::PathAndQuery;
use axum::http::{Request, Response, Uri};
use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::client::legacy::connect::HttpConnector;
use tower::ServiceExt;

/// Puts a request's target in origin form (`/path?query`), which is how a client addresses a
/// server; the absolute form (`http://host/path`) is for requests to a proxy. Every connection
/// of the pool goes to its one upstream, so the scheme and host have nowhere else to go.
fn origin_form(uri: &mut Uri) {
    if uri.scheme().is_some() || uri.authority().is_some() {
        let target = uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *uri = Uri::from(target);
    }
}

/// Opens a TCP connection to the upstream, with TLS for an `https` one.
pub type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot connect to the upstream: {0}")]
    Connect(BoxError),
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    connector: Connector,
    /// The upstream's base URL: where connections go.
    upstream: Uri,
    /// Idle connections, the oldest first.
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    idle_timeout: Duration,
}

struct Idle {
    sender: SendRequest<Body>,
    since: Instant,
}

impl Pool {
    /// A pool of connections to the upstream at `url` (plain, or TLS checked against the
    /// system's CA certificates for `https`), keeping at most `max_idle` idle ones, each for at
    /// most `idle_timeout`.
    pub fn new(url: &str, max_idle: usize, idle_timeout: Duration) -> anyhow::Result<Pool> {
        let upstream: Uri = url
            .parse()
            .with_context(|| format!("the upstream URL {url} is not a valid URL"))?;
        Ok(Pool {
            inner: Arc::new(Inner {
                connector: connector(url)?,
                upstream,
                idle: Mutex::new(Vec::new()),
                max_idle,
                idle_timeout,
            }),
        })
    }

    /// Sends `req` on an idle connection, or a new one. A request an idle connection could not
    /// take (it had just been closed) is sent again on another: it was never written. Boxed: it
    /// recurses for that, and inline it would enlarge every request's future by the request.
    pub fn send(
        &self,
        mut req: Request<Body>,
    ) -> Pin<Box<dyn Future<Output = Result<Response<PooledBody>, Error>> + Send + '_>> {
        Box::pin(async move {
            origin_form(req.uri_mut());
            let (mut sender, reused) = match self.inner.take() {
                Some(sender) => (sender, true),
                None => (self.connect().await?, false),
            };
            if let Err(e) = sender.ready().await {
                return match reused {
                    true => self.send(req).await,
                    false => Err(e.into()),
                };
            }
            match sender.try_send_request(req).await {
                Ok(response) => {
                    let inner = self.inner.clone();
                    Ok(response.map(|body| PooledBody {
                        body,
                        connection: Some((sender, inner)),
                    }))
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) if reused => self.send(unsent).await,
                    _ => Err(e.into_error().into()),
                },
            }
        })
    }

    async fn connect(&self) -> Result<SendRequest<Body>, Error> {
        let io = self
            .inner
            .connector
            .clone()
            .oneshot(self.inner.upstream.clone())
            .await
            .map_err(Error::Connect)?;
        let (sender, connection) = http1::handshake(io).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "upstream connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// Idle connections right now.
    #[cfg(test)]
    fn idle(&self) -> usize {
        self.inner.locked().len()
    }
}

fn connector(url: &str) -> anyhow::Result<Connector> {
    let mut http = HttpConnector::new();
    // Answers are small and interactive: don't let Nagle hold back the last segment.
    http.set_nodelay(true);
    http.enforce_http(false);
    let builder = hyper_rustls::HttpsConnectorBuilder::new();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = if url.starts_with("https:") {
        builder
            .with_provider_and_native_roots(provider)
            .context("cannot load the system's CA certificates for the https upstream")?
    } else {
        // Plain-HTTP upstream: no certificates needed (and none may be installed).
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS setup")?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        builder.with_tls_config(tls)
    };
    Ok(builder.https_or_http().enable_http1().wrap_connector(http))
}

impl Inner {
    fn locked(&self) -> MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently idle connection that is still open and not too old.
    fn take(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.locked();
        while let Some(Idle { sender, since }) = idle.pop() {
            if since.elapsed() > self.idle_timeout {
                // The rest are older still.
                idle.clear();
                return None;
            }
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn put(&self, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.locked();
        let expired = idle
            .iter()
            .take_while(|i| now.duration_since(i.since) > self.idle_timeout)
            .count();
        idle.drain(..expired);
        if idle.len() < self.max_idle {
            idle.push(Idle { sender, since: now });
        }
    }
}

/// An upstream answer's body: its connection goes back to the pool when the body ends.
pub struct PooledBody {
    body: Incoming,
    connection: Option<(SendRequest<Body>, Arc<Inner>)>,
}

impl PooledBody {
    fn release(&mut self) {
        if let Some((sender, pool)) = self.connection.take() {
            pool.put(sender);
        }
    }
}

impl hyper::body::Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => this.release(),
            Poll::Ready(Some(Ok(_))) if this.body.is_end_stream() => this.release(),
            // A broken answer leaves its connection in an unknown state: close it.
            Poll::Ready(Some(Err(_))) => this.connection = None,
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for PooledBody {
    /// An answer without a body may never be polled; one dropped halfway closes its connection.
    fn drop(&mut self) {
        if self.body.is_end_stream() {
            self.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    /// An upstream that answers each request with its request line, keeping connections open unless
    /// `close_after` is set (then it closes each connection that long after its first answer).
    /// Returns its URL and the count of connections it accepted.
    async fn upstream(close_after: Option<Duration>) -> (Uri, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    loop {
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let line = buf.split(|b| *b == b'\r').next().unwrap_or_default();
                        let mut answer =
                            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", line.len())
                                .into_bytes();
                        answer.extend_from_slice(line);
                        buf.clear();
                        if stream.write_all(&answer).await.is_err() {
                            return;
                        }
                        if let Some(after) = close_after {
                            tokio::time::sleep(after).await;
                            return;
                        }
                    }
                });
            }
        });
        (url.parse().unwrap(), accepted)
    }

    /// The request line `get` goes out with: in origin form, as a client writes it to a server.
    const SENT: &str = "GET /rest/api/space HTTP/1.1";

    fn pool(upstream: Uri) -> Pool {
        Pool::new(&upstream.to_string(), 4, Duration::from_secs(90)).unwrap()
    }

    fn get(upstream: &Uri) -> Request<Body> {
        Request::builder()
            .uri(format!("{upstream}rest/api/space"))
            .header("host", upstream.authority().unwrap().as_str())
            .body(Body::empty())
            .unwrap()
    }

    async fn text(response: Response<PooledBody>) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn requests_one_after_another_share_one_connection() {
        let (url, accepted) = upstream(None).await;
        let pool = pool(url.clone());
        for _ in 0..3 {
            assert_eq!(text(pool.send(get(&url)).await.unwrap()).await, SENT);
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(pool.idle(), 1);
    }

    #[tokio::test]
    async fn concurrent_requests_open_connections_that_are_all_kept() {
        let (url, accepted) = upstream(None).await;
        let pool = pool(url.clone());
        let (a, b) = tokio::join!(pool.send(get(&url)), pool.send(get(&url)));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            pool.idle(),
            0,
            "both connections are busy until their bodies end"
        );
        assert_eq!((text(a).await, text(b).await), (SENT.into(), SENT.into()));
        assert_eq!((accepted.load(Ordering::SeqCst), pool.idle()), (2, 2));
    }

    #[tokio::test]
    async fn an_abandoned_answer_closes_its_connection() {
        let (url, accepted) = upstream(None).await;
        let pool = pool(url.clone());
        let response = pool.send(get(&url)).await.unwrap();
        drop(response);
        assert_eq!(pool.idle(), 0);
        assert_eq!(text(pool.send(get(&url)).await.unwrap()).await, SENT);
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_connection_the_upstream_closed_while_idle_is_replaced_not_reported() {
        let (url, accepted) = upstream(Some(Duration::from_millis(20))).await;
        let pool = pool(url.clone());
        assert_eq!(text(pool.send(get(&url)).await.unwrap()).await, SENT);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(text(pool.send(get(&url)).await.unwrap()).await, SENT);
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_unreachable_upstream_is_an_error_that_says_so() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url: Uri = format!("http://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        drop(listener);
        let err = pool(url.clone()).send(get(&url)).await.err().unwrap();
        assert!(
            err.to_string().contains("cannot connect to the upstream"),
            "{err}"
        );
    }
}
