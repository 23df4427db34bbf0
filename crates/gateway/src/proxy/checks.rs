//! What an authenticated token may do, as three steps: its IP allowlist, its restriction rules
//! (after the read-only preset; reading a JSON body only when a rule needs it; a
//! `multipart/form-data` body is also scanned for a `_method` field, see `multipart`) and its
//! rate limit and daily quota.

mod multipart;

use std::net::IpAddr;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use http_body_util::{BodyExt, Limited};

use super::authn::Authenticated;
use super::refusal::Refusal;
use crate::audit::{AuditRecord, Word};
use crate::restrict::{Decision, RequestView};
use crate::state::Shared;

pub fn ip_allowlist(auth: &Authenticated, ip: IpAddr) -> Result<(), Refusal> {
    if auth.token.ip_allowed(ip) {
        Ok(())
    } else {
        Err(Refusal::forbidden(
            "ip_not_allowed",
            format!("this token may not be used from {ip}"),
        ))
    }
}

/// Lets the request on when a rule allows it. A JsonData rule has its body read (within the
/// cap) and put back, so the same bytes are forwarded.
pub async fn restrictions(
    gw: &Shared,
    auth: &Authenticated,
    req: &mut Request,
    record: &mut AuditRecord,
) -> Result<(), Refusal> {
    if auth.token.token.read_only && !crate::token::is_read_method(req.method().as_str()) {
        return Err(read_only(req.method()));
    }
    let rules = &auth.token.rules;
    // Checked against borrowed parts of the request: nothing is copied unless a body is needed.
    let first = rules.check(&RequestView {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
    });
    let decision = match first {
        // Boxed: reading a body is rare, and its future would otherwise enlarge every request's.
        Decision::NeedsBody => Box::pin(check_with_body(gw, rules, req)).await?,
        d => d,
    };
    match decision {
        Decision::Allow { rule } => {
            record.reason = match rule {
                Some(n) => rule_reason(n),
                None => "no restrictions".into(),
            };
            if auth.previous_secret {
                // Who still sends the old secret, for the admin watching a rotation's overlap.
                record.reason = format!("{}; previous secret", record.reason).into();
            }
            // The rules checked the request line: a form field must not change its method. (A
            // URL-encoded form's `_method` is refused in `forward`, which reads such bodies to
            // sign them.) Only a multipart content type costs more than this one look-up.
            let boundary = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .and_then(multipart::form_data_boundary);
            match boundary {
                Some(boundary) => Box::pin(no_method_part(gw, req, boundary)).await,
                None => Ok(()),
            }
        }
        Decision::Deny | Decision::NeedsBody => Err(Refusal::forbidden(
            "restricted",
            format!(
                "no restriction rule of this token allows {} {}",
                req.method(),
                req.uri().path()
            ),
        )),
    }
}

#[cold]
fn read_only(method: &axum::http::Method) -> Refusal {
    Refusal::forbidden(
        "read_only",
        format!("this token is read-only: only GET, HEAD and OPTIONS pass, not {method}"),
    )
}

/// `rule N`: borrowed for the first rules (most tokens have a few), so that no request allocates
/// it.
fn rule_reason(n: usize) -> Word {
    const FIRST: [&str; 12] = [
        "rule 1", "rule 2", "rule 3", "rule 4", "rule 5", "rule 6", "rule 7", "rule 8", "rule 9",
        "rule 10", "rule 11", "rule 12",
    ];
    match FIRST.get(n.wrapping_sub(1)) {
        Some(reason) => Word::Borrowed(reason),
        None => format!("rule {n}").into(),
    }
}

/// Reads the body (within the cap) for the rules that need it, decides with it, and leaves the
/// bytes read as the request's body.
async fn check_with_body(
    gw: &Shared,
    rules: &crate::restrict::RuleSet,
    req: &mut Request,
) -> Result<Decision, Refusal> {
    let cap = gw.config.proxy.json_body_cap_bytes;
    let too_large = |detail: &str| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("a JsonData rule must read this body, but it {detail}"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > cap) {
        return Err(too_large(&format!("exceeds {cap} bytes")));
    }
    let body = std::mem::take(req.body_mut());
    let bytes = match Limited::new(body, cap).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return Err(too_large(&format!(
                "exceeds {cap} bytes or could not be read"
            )))
        }
    };
    let json = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    let decision = rules.check_with_body(
        &RequestView {
            method: req.method().as_str(),
            path: req.uri().path(),
            query: req.uri().query(),
        },
        json.as_ref(),
    );
    *req.body_mut() = Body::from(bytes);
    Ok(decision)
}

/// Refuses a `multipart/form-data` body with a `_method` part. A body within the JSON cap (by its
/// `Content-Length`) is read and scanned first, so the refusal is a clean 400; a larger or
/// chunked one streams on through a scan that cuts it before such a part's content, so Confluence
/// never reads the field (the client then sees the upload fail).
async fn no_method_part(gw: &Shared, req: &mut Request, boundary: String) -> Result<(), Refusal> {
    let mut scanner = multipart::Scanner::new(&boundary);
    let cap = gw.config.proxy.json_body_cap_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let body = std::mem::take(req.body_mut());
    if declared.is_some_and(|n| n <= cap) {
        let bytes = match Limited::new(body, cap).collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    "the request body could not be read to its declared length",
                ))
            }
        };
        if let Err(found) = scanner.feed(&bytes) {
            return Err(multipart_refusal(&found));
        }
        *req.body_mut() = Body::from(bytes);
    } else {
        *req.body_mut() = Body::new(multipart::Guarded::new(body, scanner));
    }
    Ok(())
}

fn multipart_refusal(found: &multipart::Found) -> Refusal {
    match found {
        multipart::Found::MethodField(_) => {
            super::method_override::override_refusal(&found.to_string())
        }
        multipart::Found::HeadersTooLong => Refusal::new(
            StatusCode::BAD_REQUEST,
            "multipart_refused",
            format!("{found}; no browser writes such a part: send shorter part headers"),
        ),
    }
}

/// The refusal for an upstream request that failed because its multipart body was cut by the
/// scan (see `no_method_part`): the request's fault, answered like a small body's, not as an
/// unreachable Confluence.
pub(crate) fn cut_multipart_refusal(error: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(found) = e.downcast_ref::<multipart::Found>() {
            return Some(multipart_refusal(found));
        }
        source = e.source();
    }
    None
}

/// `now`: the request's time, in epoch milliseconds.
pub fn rate_limit(auth: &Authenticated, now: i64) -> Result<(), Refusal> {
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
        return Err(r);
    }
    if let Err(retry) = auth.token.take_quota(now) {
        return Err(quota_exceeded(auth, retry));
    }
    auth.token.record_use(now);
    Ok(())
}

#[cold]
fn quota_exceeded(auth: &Authenticated, retry: u64) -> Refusal {
    let mut r = Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        "quota_exceeded",
        format!(
            "this token's quota of {} requests a day is used up; it renews at midnight UTC",
            auth.token.token.requests_per_day.unwrap_or(0)
        ),
    );
    r.retry_after = Some(retry);
    r
}
