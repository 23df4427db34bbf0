//! What of the upstream's answer reaches the client: nothing that names or opens the upstream.
//!
//! - A `401` is about the gateway's own identity (the client's credentials never go upstream),
//!   so it becomes the gateway's `upstream_refused` with the reason, never Confluence's raw body
//!   (`oauth_problem=user_refused…`) and `WWW-Authenticate: OAuth realm="<upstream URL>"`.
//! - `WWW-Authenticate` is never passed on.
//! - Absolute upstream URLs are rewritten to the gateway's own (the client's `Host`), so clients
//!   that follow links come back through the gateway: `Location`, and the `base` and `self`
//!   fields of JSON bodies (Confluence's `_links.base` / `_links.self`; other fields are
//!   content and stay as they are) when `[proxy] rewrite_json_links` is on. Only JSON bodies of at most the JSON cap are read, and only
//!   rewritten when the upstream's URL occurs in them; other bodies stream untouched.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;

use std::future::Future;
use std::pin::Pin;

use super::pool::PooledBody;
use super::refusal::Refusal;
use crate::state::Shared;

/// How much of a `401`'s body is read for its reason.
const REASON_CAP: usize = 16 * 1024;

/// The gateway's error for an upstream `401`: the upstream refused the gateway's own identity,
/// or the user it acts as. `user`: that user, if any.
async fn upstream_refused(body: PooledBody, user: Option<&str>) -> Refusal {
    let bytes = http_body_util::Limited::new(body, REASON_CAP)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let problem = reason_in(&bytes);
    let message = match (problem.as_deref(), user) {
        (Some("user_refused" | "user_unknown"), Some(user)) => {
            format!("Confluence does not know user {user}: bind the token to an existing user")
        }
        (Some(problem), _) => format!(
            "Confluence refused the gateway's own credentials ({problem}); an admin should check the gateway's [upstream.identity]"
        ),
        (None, _) => "Confluence refused the gateway's own credentials; an admin should check the gateway's [upstream.identity]".to_string(),
    };
    Refusal::new(StatusCode::BAD_GATEWAY, "upstream_refused", message)
}

/// The reason in an upstream refusal's body: OAuth 1.0a's `oauth_problem`, or a JSON `message`.
fn reason_in(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    if let Some((_, problem)) = crate::restrict::normalize::query_pairs(Some(text.trim()))
        .into_iter()
        .find(|(k, _)| k == "oauth_problem")
    {
        // Only a token of safe characters: the text is shown to the client.
        if !problem.is_empty()
            && problem
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Some(problem);
        }
    }
    let json: serde_json::Value = serde_json::from_str(text).ok()?;
    let code = json["reason"].as_str().or(json["code"].as_str())?;
    (code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| code.to_string())
}

/// The gateway's own base URL as the client addressed it: its `Host` and whether on TLS.
pub struct PublicBase {
    pub host: Option<HeaderValue>,
    pub tls: bool,
}

impl PublicBase {
    fn url(&self) -> Option<String> {
        let host = self.host.as_ref()?.to_str().ok()?;
        let proto = if self.tls { "https" } else { "http" };
        // A Host with anything but an authority's characters is not put in a URL.
        host.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
            .then(|| format!("{proto}://{host}"))
    }
}

/// The client's answer: ready at once, or once a body is read (a JSON body rewritten, or a `401`'s
/// reason).
pub enum Answer<'a> {
    Ready(Response),
    /// Boxed: its future holds the body being read, and would enlarge every request's.
    Reading(Pin<Box<dyn Future<Output = Result<Response, Refusal>> + Send + 'a>>),
}

/// The client's answer to the upstream's: a `401` becomes `upstream_refused`; otherwise `strip`
/// removes the headers that must not pass and absolute upstream URLs become the gateway's.
/// `user`: the user the gateway acted as.
pub fn answer<'a>(
    gw: &'a Shared,
    public: PublicBase,
    resp: Response<PooledBody>,
    user: Option<&'a str>,
    strip: impl FnOnce(&mut HeaderMap),
) -> Answer<'a> {
    if resp.status() == StatusCode::UNAUTHORIZED {
        let body = resp.into_body();
        return Answer::Reading(Box::pin(
            async move { Err(upstream_refused(body, user).await) },
        ));
    }
    let (parts, body) = resp.into_parts();
    let (status, mut headers) = (parts.status, parts.headers);
    strip(&mut headers);
    match rewrite_head(gw, &public, &mut headers) {
        Some(length) => Answer::Reading(Box::pin(async move {
            let body = rewrite_body(gw, &public, &mut headers, body, length).await;
            Ok(response(status, headers, body))
        })),
        None => Answer::Ready(response(status, headers, Body::new(body))),
    }
}

/// Rewrites `Location`; says the length of the body to read when it is JSON to rewrite.
fn rewrite_head(gw: &Shared, public: &PublicBase, headers: &mut HeaderMap) -> Option<usize> {
    let upstream = gw.upstream.base.as_bytes();
    if let Some(location) = headers.get(header::LOCATION) {
        if starts_with_ignore_case(location.as_bytes(), upstream) {
            let rest = &location.as_bytes()[upstream.len()..];
            let new = public.url().and_then(|base| {
                let mut v = base.into_bytes();
                v.extend_from_slice(rest);
                HeaderValue::from_bytes(&v).ok()
            });
            match new {
                Some(v) => headers.insert(header::LOCATION, v),
                // No usable Host: a relative Location still leads back here.
                None => headers.insert(
                    header::LOCATION,
                    HeaderValue::from_bytes(if rest.is_empty() { b"/" } else { rest })
                        .unwrap_or(HeaderValue::from_static("/")),
                ),
            };
        }
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
        });
    if !is_json || !gw.config.proxy.rewrite_json_links {
        return None;
    }
    let cap = gw.config.proxy.json_body_cap_bytes;
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Only JSON of a known, bounded length is read: a download or a long stream is not held.
    length.filter(|&n| n > 0 && n <= cap)
}

async fn rewrite_body(
    gw: &Shared,
    public: &PublicBase,
    headers: &mut HeaderMap,
    body: PooledBody,
    length: usize,
) -> Body {
    let upstream = gw.upstream.base.as_bytes();
    let bytes = match http_body_util::Limited::new(body, length).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            tracing::warn!(error = %e, "upstream answer body failed");
            return Body::empty();
        }
    };
    if memchr::memmem::find(&bytes, upstream).is_none() {
        return Body::from(bytes);
    }
    let Some(public) = public.url() else {
        return Body::from(bytes);
    };
    match rewrite_links(&bytes, upstream, public.as_bytes()) {
        Some(new) => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(new.len()));
            Body::from(new)
        }
        None => Body::from(bytes),
    }
}

fn starts_with_ignore_case(text: &[u8], prefix: &[u8]) -> bool {
    text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
        // `https://c.example.com` is not a prefix of `https://c.example.com.evil/`.
        && matches!(text.get(prefix.len()), None | Some(b'/' | b'?' | b'#'))
}

/// `body` with each `"base"` or `"self"` string value that starts with `from` starting with `to`
/// instead; `None` when there is none.
fn rewrite_links(body: &[u8], from: &[u8], to: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    for at in memchr::memmem::find_iter(body, from) {
        if !is_link_value(&body[..at]) || !matches!(body.get(at + from.len()), Some(b'"' | b'/')) {
            continue;
        }
        let out = out.get_or_insert_with(|| Vec::with_capacity(body.len()));
        out.extend_from_slice(&body[copied..at]);
        out.extend_from_slice(to);
        copied = at + from.len();
    }
    let mut out = out?;
    out.extend_from_slice(&body[copied..]);
    Some(out)
}

/// Whether `before` ends with `"base":"` or `"self":"` (whitespace allowed around the colon).
fn is_link_value(before: &[u8]) -> bool {
    let trimmed = |b: &[u8]| -> usize {
        b.iter()
            .rposition(|c| !c.is_ascii_whitespace())
            .map_or(0, |i| i + 1)
    };
    let Some(before) = before.strip_suffix(b"\"") else {
        return false;
    };
    let before = &before[..trimmed(before)];
    let Some(before) = before.strip_suffix(b":") else {
        return false;
    };
    let before = &before[..trimmed(before)];
    before.ends_with(b"\"base\"") || before.ends_with(b"\"self\"")
}

fn response(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: &[u8] = b"http://confluence.internal:8090/confluence";
    const GW: &[u8] = b"https://gw.example.com";

    fn rewritten(body: &str) -> String {
        String::from_utf8(rewrite_links(body.as_bytes(), UP, GW).unwrap_or(body.into())).unwrap()
    }

    #[test]
    fn only_base_and_self_links_are_rewritten() {
        let body = r#"{"_links":{"base":"http://confluence.internal:8090/confluence","self" : "http://confluence.internal:8090/confluence/rest/api/space/DEV","webui":"/display/DEV"},"body":"see http://confluence.internal:8090/confluence/x","results":[{"_links":{"self":"http://confluence.internal:8090/confluence/rest/api/content/1"}}]}"#;
        assert_eq!(
            rewritten(body),
            r#"{"_links":{"base":"https://gw.example.com","self" : "https://gw.example.com/rest/api/space/DEV","webui":"/display/DEV"},"body":"see http://confluence.internal:8090/confluence/x","results":[{"_links":{"self":"https://gw.example.com/rest/api/content/1"}}]}"#
        );
    }

    #[test]
    fn a_longer_host_that_starts_the_same_is_not_the_upstream() {
        let body = r#"{"self":"http://confluence.internal:8090/confluencex/y"}"#;
        assert_eq!(rewritten(body), body);
        assert!(!starts_with_ignore_case(
            b"http://confluence.internal:8090/confluence.evil/",
            UP
        ));
        assert!(starts_with_ignore_case(
            b"HTTP://confluence.internal:8090/confluence/pages/viewpage.action?pageId=1",
            UP
        ));
    }

    #[test]
    fn an_oauth_problem_or_a_json_reason_is_the_reason() {
        assert_eq!(
            reason_in(b"oauth_problem=user_refused&oauth_problem_advice=x").as_deref(),
            Some("user_refused")
        );
        assert_eq!(reason_in(b"oauth_problem=<script>"), None);
        assert_eq!(reason_in(b"<html>no</html>"), None);
    }
}
