//! Rate limiting (per credential, with Cloud's or DC's headers), injected latency, faults on
//! demand, and the log of recent requests that `GET /__sim/requests` shows.
//!
//! Two layers: [`rate_limit`] sits inside the auth layer (it needs the `Caller`) and meters a token
//! bucket per `Caller::rate_key`; it also hands the caller's identity outward in the response
//! extensions. [`faults_and_latency`] wraps every route: it sleeps the configured latency, serves
//! injected 5xx responses or cuts connections mid-body, and records the request.
//! Buckets refill on the simulator clock, so `POST /__sim/clock` also refills them.

mod store;

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{AuthMethod, Caller};
use crate::config::{Flavor, RateLimitConfig};
use crate::error::{ApiError, ErrorStyle};
use crate::{iso8601, Shared};

use store::Decision;
pub use store::{Faults, Limits, RequestRecord};

/// What the auth layer decided, carried out to the recording layer in response extensions.
#[derive(Debug, Clone)]
struct SeenCaller(Option<String>, AuthMethod);

fn set(resp: &mut Response, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        resp.headers_mut().insert(name, v);
    }
}

/// The limiter layer (inside auth): one bucket per credential.
pub async fn rate_limit(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let caller = req.extensions().get::<Caller>().cloned();
    let seen = caller
        .as_ref()
        .map(|c| SeenCaller(c.user.clone(), c.method));
    let mut resp = match (&state.config.rate_limit, &caller) {
        (Some(rl), Some(caller)) => {
            let now = state.clock.now_ms();
            match state.limits.take(&caller.rate_key, rl, now) {
                Decision::Allowed { remaining } => {
                    let mut resp = next.run(req).await;
                    success_headers(&mut resp, state.flavor(), rl, remaining);
                    resp
                }
                Decision::Limited { retry_after_s } => {
                    limited(state.flavor(), rl, retry_after_s, now)
                }
            }
        }
        _ => next.run(req).await,
    };
    if let Some(s) = seen {
        resp.extensions_mut().insert(s);
    }
    resp
}

fn success_headers(resp: &mut Response, flavor: Flavor, rl: &RateLimitConfig, remaining: u32) {
    match flavor {
        // DC sends its bucket state on every response while limiting is on.
        Flavor::Dc => {
            set(resp, "x-ratelimit-limit", rl.requests);
            set(resp, "x-ratelimit-remaining", remaining);
            set(resp, "x-ratelimit-fillrate", rl.requests);
            set(resp, "x-ratelimit-interval-seconds", rl.interval_seconds);
        }
        // Cloud warns when fewer than 20% of the budget is left.
        Flavor::Cloud => {
            if (remaining as f64) < rl.requests as f64 * 0.2 {
                set(resp, "x-ratelimit-nearlimit", "true");
            }
        }
    }
}

fn limited(flavor: Flavor, rl: &RateLimitConfig, retry_after_s: u64, now_ms: i64) -> Response {
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        ErrorStyle::Message,
        "Rate limit exceeded. Retry after the number of seconds in the Retry-After header.",
    )
    .into_response();
    set(&mut resp, "retry-after", retry_after_s);
    set(&mut resp, "x-ratelimit-limit", rl.requests);
    set(&mut resp, "x-ratelimit-remaining", 0);
    match flavor {
        Flavor::Cloud => {
            set(
                &mut resp,
                "x-ratelimit-reset",
                iso8601(now_ms + retry_after_s as i64 * 1000),
            );
            set(&mut resp, "x-ratelimit-nearlimit", "true");
            // The value names the quota that ran out; the exact strings Cloud uses vary.
            set(
                &mut resp,
                "ratelimit-reason",
                "confluence-quota-per-user-based",
            );
        }
        Flavor::Dc => {
            set(&mut resp, "x-ratelimit-fillrate", rl.requests);
            set(
                &mut resp,
                "x-ratelimit-interval-seconds",
                rl.interval_seconds,
            );
        }
    }
    resp
}

/// Query with the values of credential-like parameters replaced, so the log holds no secret.
pub fn redact_query(q: &str) -> String {
    const SENSITIVE: &[&str] = &[
        "token",
        "secret",
        "password",
        "signature",
        "code",
        "verifier",
        "key",
        "jwt",
    ];
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, _) = p.split_once('=').unwrap_or((p, ""));
            let lk = k.to_ascii_lowercase();
            if SENSITIVE.iter().any(|s| lk.contains(s)) && !lk.ends_with("spacekey") {
                format!("{k}=REDACTED")
            } else {
                p.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The outermost layer: latency, injected faults, and the request log.
pub async fn faults_and_latency(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/__sim") {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let query = redact_query(req.uri().query().unwrap_or(""));
    let (extra_ms, status_fault, drop) = {
        let mut f = state.limits.faults();
        let applies = f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p));
        let status_fault = match f.status {
            Some(s) if applies && f.count > 0 => {
                f.count -= 1;
                if f.count == 0 {
                    f.status = None;
                }
                Some(s)
            }
            _ => None,
        };
        let drop = status_fault.is_none() && applies && f.drop_connections > 0;
        if drop {
            f.drop_connections -= 1;
        }
        (f.latency_ms, status_fault, drop)
    };
    let delay = state.config.latency.ms + extra_ms;
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let resp = match status_fault {
        Some(s) => {
            let code = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut e = ApiError::new(
                code,
                ErrorStyle::Message,
                format!("Simulated fault: HTTP {s}"),
            );
            if code == StatusCode::SERVICE_UNAVAILABLE {
                e = e.with_header("retry-after", "1");
            }
            e.into_response()
        }
        None => next.run(req).await,
    };
    let seen = resp.extensions().get::<SeenCaller>().cloned();
    let record = RequestRecord {
        at: iso8601(state.clock.now_ms()),
        method,
        path,
        query,
        user: seen.as_ref().and_then(|s| s.0.clone()),
        auth_method: seen.map(|s| s.1),
        status: resp.status().as_u16(),
    };
    {
        let mut log = state.limits.recent();
        while !log.is_empty() && log.len() >= state.limits.log_capacity {
            log.pop_front();
        }
        if state.limits.log_capacity > 0 {
            log.push_back(record);
        }
    }
    state
        .limits
        .seen
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if drop {
        cut_off(resp).await
    } else {
        resp
    }
}

/// Announces the full length, sends half the body, then fails the stream: hyper aborts the
/// connection, so the client sees a truncated response, like a dropped proxy connection.
async fn cut_off(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let full = bytes.len().max(2);
    let half = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(axum::http::header::CONTENT_LENGTH, HeaderValue::from(full));
    let stream = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated dropped connection",
        )),
    ]);
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimConfig;

    #[test]
    fn bucket_empties_and_refills_on_the_clock() {
        let l = Limits::new(&SimConfig::parse("flavor = \"dc\"").unwrap());
        let rl = RateLimitConfig {
            requests: 2,
            interval_seconds: 10,
        };
        assert!(matches!(
            l.take("k", &rl, 0),
            Decision::Allowed { remaining: 1 }
        ));
        assert!(matches!(
            l.take("k", &rl, 0),
            Decision::Allowed { remaining: 0 }
        ));
        match l.take("k", &rl, 0) {
            Decision::Limited { retry_after_s } => assert_eq!(retry_after_s, 5),
            _ => panic!("should be limited"),
        }
        // Another credential has its own bucket.
        assert!(matches!(l.take("other", &rl, 0), Decision::Allowed { .. }));
        assert!(matches!(l.take("k", &rl, 5_000), Decision::Allowed { .. }));
    }

    #[test]
    fn secrets_in_queries_are_redacted() {
        let q = redact_query("spaceKey=DEV&access_token=abc&os_password=pw&limit=5");
        assert_eq!(
            q,
            "spaceKey=DEV&access_token=REDACTED&os_password=REDACTED&limit=5"
        );
    }
}
