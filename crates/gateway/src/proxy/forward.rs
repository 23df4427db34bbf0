//! The last step: send the checked request upstream as the token's user and stream the answer
//! back. Bodies stream both ways (only a JsonData rule buffers, earlier). The client's
//! credentials, cookies and forwarding headers are dropped; upstream cookies are not passed back,
//! so a client can never obtain a Confluence session through the gateway.

use std::future::Future;

use futures_util::future::Either;

use axum::body::Body;
use axum::extract::Request;
use axum::http::uri::PathAndQuery;
use axum::http::{header, HeaderMap, HeaderName, StatusCode, Uri};
use axum::response::Response;

use super::answer::{self, Answer, PublicBase};
use super::authn::Authenticated;
use super::method_override::{is_method_parameter, override_refusal};
use super::refusal::Refusal;
use crate::peer::Forwarding;
use crate::state::Shared;

// Header names as statics: removing by `&str` would parse and hash each name per request, and a
// `const` array would be built (and dropped) again at every use.
static HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

// Names as constants: inserting by `&str` parses the name and copies a non-standard one into a
// fresh allocation on every request.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Request headers that are credentials or forwarding claims of the client.
static CLIENT_ONLY: [HeaderName; 8] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::HOST,
    header::FORWARDED,
    X_FORWARDED_FOR,
    X_FORWARDED_HOST,
    X_FORWARDED_PROTO,
    HeaderName::from_static("x-real-ip"),
];

/// Whether a request header asks the server (or a framework before it) to take another method or
/// URL than the request line's: the rules checked the request line, so such a request is
/// refused and the header never forwarded. Names are lower case in a `HeaderName`, so this is
/// case-insensitive.
fn is_override(name: &HeaderName) -> bool {
    let n = name.as_str();
    n.starts_with("x-")
        && matches!(
            n,
            "x-http-method-override"
                | "x-http-method"
                | "x-method-override"
                | "x-original-method"
                | "x-original-url"
                | "x-rewrite-url"
        )
}

/// Removes the hop-by-hop headers (the fixed ones and those `Connection` names) and those for
/// which `also` holds. Looks at the names present rather than removing every listed name: a
/// request has a handful of headers, and each removal hashes its name.
fn strip_hop_by_hop(headers: &mut HeaderMap, also: impl Fn(&HeaderName) -> bool) {
    // `Connection`'s names, split once and compared as text: parsing them into header names
    // would allocate each non-standard one (`keep-alive`, on almost every answer).
    let listed: Vec<&str> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let dropped: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            HOP_BY_HOP.contains(name)
                || also(name)
                || listed.iter().any(|n| n.eq_ignore_ascii_case(name.as_str()))
        })
        .cloned()
        .collect();
    for name in dropped {
        headers.remove(name);
    }
}

/// The request as it goes upstream, before the identity is added.
struct Outgoing {
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    /// `None`: the request has no body and must go out without one (a stream would go out
    /// chunked).
    body: Option<Body>,
    /// The gateway's URL as the client addressed it, for upstream URLs in the answer.
    public: PublicBase,
}

/// Forwards the checked request. The preparation runs before the returned future (see
/// `proxy/mod.rs` on why), which holds only the outgoing request.
pub fn forward<'a>(
    gw: &'a Shared,
    auth: &'a Authenticated,
    forwarding: &Forwarding,
    req: Request,
) -> impl Future<Output = Result<Response, Refusal>> + Send + 'a {
    match prepare(gw, forwarding, req) {
        Ok(outgoing) => Either::Left(send(gw, auth, outgoing)),
        Err(refusal) => Either::Right(std::future::ready(Err(refusal))),
    }
}

/// Picks the upstream URL and the headers to pass on: the client's credentials, cookies,
/// forwarding claims and hop-by-hop headers go; the gateway's forwarding headers come.
/// `forwarding`: the headers that name the client (built once per connection).
fn prepare(gw: &Shared, forwarding: &Forwarding, req: Request) -> Result<Outgoing, Refusal> {
    let (parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let Some(uri) = gw.upstream.target.uri(target) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "path_refused",
            "request path refused: not a valid upstream URI",
        ));
    };
    for (name, _) in crate::restrict::normalize::query_pairs(parts.uri.query()) {
        if gw.upstream.reserved_query_param(&name) {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "reserved_parameter",
                format!(
                    "the query parameter {name} is reserved: the gateway decides whom it acts as"
                ),
            ));
        }
        if is_method_parameter(&name) {
            return Err(override_refusal(&format!("the query parameter {name}")));
        }
    }

    let mut headers = parts.headers;
    let has_body = headers
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v != "0")
        || headers.contains_key(header::TRANSFER_ENCODING);
    let host = headers.get(header::HOST).cloned();
    let public = PublicBase {
        host: host.clone(),
        tls: forwarding.proto == "https",
    };
    // Found in the walk over the names that strips the others, so it costs no pass of its own.
    let overriding = std::cell::Cell::new(None);
    strip_hop_by_hop(&mut headers, |name| {
        if is_override(name) {
            overriding.set(Some(name.clone()));
            return true;
        }
        CLIENT_ONLY.contains(name) || gw.upstream.reserved_headers().any(|r| r == name)
    });
    if let Some(name) = overriding.take() {
        return Err(override_refusal(&format!("the header {name}")));
    }
    // Set here, from the upstream's parts, so the client doesn't format it for every request.
    headers.insert(header::HOST, gw.upstream.target.host.clone());
    headers.insert(X_FORWARDED_FOR, forwarding.for_.clone());
    if let Some(v) = host {
        headers.insert(X_FORWARDED_HOST, v);
    }
    headers.insert(X_FORWARDED_PROTO, forwarding.proto.clone());
    headers.insert(header::FORWARDED, forwarding.forwarded.clone());
    Ok(Outgoing {
        method: parts.method,
        uri,
        headers,
        body: has_body.then_some(body),
        public,
    })
}

// Not an `async fn`: that would keep `outgoing` twice in the future (see `proxy/mod.rs`).
#[allow(clippy::manual_async_fn)]
fn send<'a>(
    gw: &'a Shared,
    auth: &'a Authenticated,
    outgoing: Outgoing,
) -> impl Future<Output = Result<Response, Refusal>> + Send + 'a {
    async move {
        let Outgoing {
            method,
            mut uri,
            mut headers,
            body,
            public,
        } = outgoing;
        // Form bodies (only those) are read before forwarding: a `_method` field is refused, and
        // OAuth 1.0a signs their fields.
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(cfl_auth::oauth1::is_form_content_type);
        let (body, form) = match body {
            Some(body) if is_form => {
                let cap = gw.config.proxy.json_body_cap_bytes;
                let collect =
                    http_body_util::BodyExt::collect(http_body_util::Limited::new(body, cap));
                match Box::pin(collect).await {
                    Ok(c) => {
                        let bytes = c.to_bytes();
                        let form = String::from_utf8_lossy(&bytes).into_owned();
                        if let Some((name, _)) = crate::restrict::normalize::query_pairs(Some(&form))
                            .into_iter()
                            .find(|(name, _)| is_method_parameter(name))
                        {
                            return Err(override_refusal(&format!("the form field {name}")));
                        }
                        let signed = gw.upstream.signs_body().then_some(form);
                        (Some(Body::from(bytes)), signed)
                    }
                    Err(_) => {
                        return Err(Refusal::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "body_too_large",
                            format!(
                                "form bodies are checked (and signed upstream) and may not exceed {cap} bytes"
                            ),
                        ))
                    }
                }
            }
            body => (body, None),
        };
        if let Err(e) = gw
            .upstream
            .authorize(
                &gw.store,
                method.as_str(),
                &mut uri,
                &mut headers,
                auth.user(),
                form.as_deref(),
            )
            .await
        {
            return Err(Refusal::new(
                StatusCode::BAD_GATEWAY,
                "identity_unavailable",
                e.to_string(),
            ));
        }

        // Built in a block, so the request isn't kept in this future beside the one it goes into.
        let request = {
            let mut out = Request::new(body.unwrap_or_else(Body::empty));
            *out.method_mut() = method;
            *out.uri_mut() = uri;
            *out.headers_mut() = headers;
            gw.upstream.proxy.send(out)
        };
        let started = std::time::Instant::now();
        // The timeout covers the answer's head; a long download may stream for as long as it takes.
        let upstream = tokio::time::timeout(gw.upstream.timeout, request).await;
        gw.metrics
            .upstream_latency
            .observe(started.elapsed().as_secs_f64());
        // Taken apart by a function: a partly moved `upstream` would keep its slot in this future
        // across the await below.
        let resp = upstream_answer(upstream)?;

        let strip = |headers: &mut HeaderMap| {
            strip_hop_by_hop(headers, |name| {
                name == header::SET_COOKIE || name == header::WWW_AUTHENTICATE
            })
        };
        // Matched apart from the await: a match's scrutinee would stay in this future across it.
        let reading = match answer::answer(gw, public, resp, auth.user(), strip) {
            Answer::Ready(response) => return Ok(response),
            Answer::Reading(reading) => reading,
        };
        reading.await
    }
}

fn upstream_answer<B, E: std::error::Error + 'static, T>(
    upstream: Result<Result<axum::http::Response<B>, E>, T>,
) -> Result<axum::http::Response<B>, Refusal> {
    match upstream {
        Ok(Ok(r)) => Ok(r),
        Err(_) => Err(Refusal::new(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            "Confluence did not answer in time",
        )),
        Ok(Err(e)) => {
            if let Some(refusal) = super::checks::cut_multipart_refusal(&e) {
                return Err(refusal);
            }
            tracing::warn!(error = %e, "upstream request failed");
            Err(Refusal::new(
                StatusCode::BAD_GATEWAY,
                "upstream_unreachable",
                "the gateway could not reach Confluence",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// A header map with these lines, in this order (a name may repeat).
    fn headers<const N: usize>(lines: [(&'static str, &'static str); N]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in lines {
            h.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        h
    }

    fn names(headers: &HeaderMap) -> Vec<&str> {
        let mut n: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        n.sort_unstable();
        n
    }

    #[test]
    fn hop_by_hop_listed_and_client_only_headers_are_dropped_and_the_rest_kept() {
        let mut h = headers([
            ("connection", "keep-alive, X-Session-Hint"),
            ("keep-alive", "timeout=5"),
            ("x-session-hint", "abc"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic eDp5"),
            ("authorization", "Basic dXNlcjp0b2tlbg=="),
            ("cookie", "JSESSIONID=1"),
            ("cookie", "seraph=2"),
            ("x-forwarded-for", "10.0.0.1"),
            ("accept", "application/json"),
            ("content-type", "application/json"),
            ("x-atlassian-token", "no-check"),
        ]);
        strip_hop_by_hop(&mut h, |name| CLIENT_ONLY.contains(name));
        assert_eq!(
            names(&h),
            ["accept", "content-type", "x-atlassian-token"],
            "{h:?}"
        );
    }

    /// Names a second `Connection` line lists (in any case, with spaces) go like the first's,
    /// with every fixed hop-by-hop header.
    #[test]
    fn names_listed_by_any_connection_line_go_however_many_there_are() {
        let mut h = headers([
            ("connection", "close"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("proxy-connection", "keep-alive"),
            ("keep-alive", "timeout=5"),
            ("trailer", "x-checksum"),
            ("accept", "application/json"),
            ("x-early-hint", "1"),
            ("x-late-hint", "2"),
            ("connection", "X-Late-Hint , x-early-hint"),
        ]);
        strip_hop_by_hop(&mut h, |_| false);
        assert_eq!(names(&h), ["accept"], "{h:?}");
    }

    #[test]
    fn every_override_header_is_recognised_in_any_case_and_nothing_else() {
        for name in [
            "X-HTTP-Method-Override",
            "x-http-method-override",
            "X-HTTP-Method",
            "X-Method-Override",
            "X-Original-Method",
            "X-Original-URL",
            "x-ORIGINAL-url",
            "X-Rewrite-URL",
        ] {
            assert!(
                is_override(&HeaderName::from_bytes(name.as_bytes()).unwrap()),
                "{name}"
            );
        }
        for name in [
            "x-http-method-override-x",
            "x-forwarded-for",
            "accept",
            "x-method",
        ] {
            assert!(!is_override(&HeaderName::from_static(name)), "{name}");
        }
        assert!(is_method_parameter("_method") && is_method_parameter("_METHOD"));
        assert!(!is_method_parameter("method"));
    }

    #[test]
    fn an_upstream_answer_loses_its_cookies_and_hop_by_hop_headers() {
        let mut h = HeaderMap::new();
        h.append(header::SET_COOKIE, HeaderValue::from_static("JSESSIONID=1"));
        h.append(header::SET_COOKIE, HeaderValue::from_static("x=2"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        strip_hop_by_hop(&mut h, |name| name == header::SET_COOKIE);
        assert_eq!(names(&h), ["content-type"]);
    }
}
