//! What an authenticated token may do: its IP allowlist, its restriction rules (reading a JSON
//! body only when a rule needs it) and its rate limit. Each is its own layer.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};

use super::audit_layer::{AuditCtx, ClientIp};
use super::authn::Authenticated;
use super::refusal::Refusal;
use crate::restrict::{Decision, RequestView};
use crate::server::Shared;

fn authenticated(req: &Request) -> Option<&Authenticated> {
    req.extensions().get::<Authenticated>()
}

/// Fails closed if a layer runs without authentication in front of it (a wiring mistake).
fn wiring_error() -> Response {
    Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "gateway misconfigured: no authentication layer",
    )
    .into_response()
}

pub async fn ip_allowlist(req: Request, next: Next) -> Response {
    let (Some(auth), Some(ClientIp(ip))) = (
        authenticated(&req),
        req.extensions().get::<ClientIp>().copied(),
    ) else {
        return wiring_error();
    };
    if !auth.token.ip_allowed(ip) {
        return Refusal::forbidden(
            "ip_not_allowed",
            format!("this token may not be used from {ip}"),
        )
        .into_response();
    }
    next.run(req).await
}

pub async fn restrictions(State(gw): State<Shared>, req: Request, next: Next) -> Response {
    let Some(auth) = authenticated(&req) else {
        return wiring_error();
    };
    let token = auth.token.clone();
    let rules = &token.rules;
    let view = |req: &Request| -> (String, String, Option<String>) {
        (
            req.method().as_str().to_string(),
            req.uri().path().to_string(),
            req.uri().query().map(str::to_string),
        )
    };
    let denied = |method: &str, path: &str| {
        Refusal::forbidden(
            "restricted",
            format!("no restriction rule of this token allows {method} {path}"),
        )
        .into_response()
    };
    // Checked against borrowed parts of the request: nothing is copied unless a body is needed.
    let first = rules.check(&RequestView {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
    });
    let (decision, req) = match first {
        Decision::NeedsBody => {
            let (method, path, query) = view(&req);
            let view = RequestView {
                method: &method,
                path: &path,
                query: query.as_deref(),
            };
            let cap = gw.config.proxy.json_body_cap_bytes;
            let (parts, body) = req.into_parts();
            let declared = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|n| n > cap) {
                return Refusal::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("a JsonData rule must read this body, but it exceeds {cap} bytes"),
                )
                .into_response();
            }
            let bytes = match Limited::new(body, cap).collect().await {
                Ok(c) => c.to_bytes(),
                Err(_) => {
                    return Refusal::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        format!("a JsonData rule must read this body, but it exceeds {cap} bytes or could not be read"),
                    )
                    .into_response()
                }
            };
            let json = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
            let d = rules.check_with_body(&view, json.as_ref());
            (d, Request::from_parts(parts, Body::from(bytes)))
        }
        d => (d, req),
    };
    match decision {
        Decision::Allow { rule } => {
            if let Some(ctx) = req.extensions().get::<AuditCtx>() {
                ctx.update(|r| {
                    r.reason = match rule {
                        Some(n) => format!("rule {n}"),
                        None => "no restrictions".into(),
                    }
                });
            }
            next.run(req).await
        }
        Decision::Deny | Decision::NeedsBody => denied(req.method().as_str(), req.uri().path()),
    }
}

pub async fn rate_limit(State(gw): State<Shared>, req: Request, next: Next) -> Response {
    let Some(auth) = authenticated(&req) else {
        return wiring_error();
    };
    let now = gw.now_ms();
    if let Err(retry) = auth.token.take_rate(now) {
        let mut r = Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "this token's limit of {} requests a minute is used up",
                auth.token.token.rate_limit_per_minute.unwrap_or(0)
            ),
        );
        r.retry_after = Some(retry);
        return r.into_response();
    }
    auth.token.record_use(now);
    next.run(req).await
}
