//! A reverse proxy with nothing but the HTTP stack `cfl serve` is built on: hyper's HTTP/1.1
//! server on a single-threaded tokio runtime, the same pooled hyper-util client, mimalloc. No
//! token, no checks, no audit. `bench/gateway.sh` runs it beside nginx and the gateway, so the
//! gateway's own cost per request is the difference to this row.
//!
//! Usage: `bare_proxy LISTEN_ADDR UPSTREAM_BASE_URL` (prints `listening` when ready).

use std::convert::Infallible;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Body = http_body_util::Either<Incoming, http_body_util::Empty<bytes::Bytes>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        return Err("usage: bare_proxy LISTEN_ADDR UPSTREAM_BASE_URL".into());
    };
    let upstream = upstream.trim_end_matches('/').to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client: Client<HttpConnector, Incoming> =
            Client::builder(TokioExecutor::new()).build(connector);
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let (client, upstream) = (client.clone(), upstream.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let (client, upstream) = (client.clone(), upstream.clone());
                    async move {
                        let (mut parts, body) = req.into_parts();
                        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                        let forwarded = format!("{upstream}{target}").parse();
                        let response = match forwarded {
                            Ok(uri) => {
                                parts.uri = uri;
                                parts.headers.remove(hyper::header::HOST);
                                client.request(Request::from_parts(parts, body)).await.ok()
                            }
                            Err(_) => None,
                        };
                        Ok::<_, Infallible>(match response {
                            Some(r) => r.map(Body::Left),
                            None => {
                                let mut r = Response::new(Body::Right(Default::default()));
                                *r.status_mut() = StatusCode::BAD_GATEWAY;
                                r
                            }
                        })
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
