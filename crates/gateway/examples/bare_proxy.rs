//! A reverse proxy with nothing but the HTTP stack `cfl serve` is built on: hyper's HTTP/1.1
//! server on a single-threaded tokio runtime, the gateway's upstream connection pool
//! (`proxy::pool`), mimalloc. No token, no checks, no audit. `bench/gateway.sh` runs it beside nginx and the gateway, so the
//! gateway's own cost per request is the difference to this row.
//!
//! Usage: `bare_proxy LISTEN_ADDR UPSTREAM_BASE_URL` (prints `listening` when ready).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body as Forwarded;
use cfl_gateway::proxy::pool::{Pool, PooledBody};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Body = http_body_util::Either<PooledBody, http_body_util::Empty<bytes::Bytes>>;

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
        let client = Pool::new(&upstream, 256, Duration::from_secs(90))?;
        let host = hyper::header::HeaderValue::from_str(upstream.trim_start_matches("http://"))?;
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let (client, upstream, host) = (client.clone(), upstream.clone(), host.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let (client, upstream, host) = (client.clone(), upstream.clone(), host.clone());
                    async move {
                        let (mut parts, body) = req.into_parts();
                        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                        let forwarded = format!("{upstream}{target}").parse();
                        let response = match forwarded {
                            Ok(uri) => {
                                parts.uri = uri;
                                parts.headers.insert(hyper::header::HOST, host);
                                let req = Request::from_parts(parts, Forwarded::new(body));
                                client.send(req).await.ok()
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
