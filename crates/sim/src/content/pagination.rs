//! Both pagination styles Confluence uses.
//!
//! v1: `start`/`limit` offsets; the envelope `{"results", "start", "limit", "size", "_links"}` with
//! `_links.next` only when another page exists. v2: an opaque `cursor` and `limit` (default 25, max
//! 250), the next page announced both in `_links.next` and a `Link: <…>; rel="next"` header.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};

use super::Ctx;
use crate::error::{ApiError, ApiResult, ErrorStyle};

/// v1 default page size (content lists, CQL search, children, labels). Source: the `limit`
/// defaults in Atlassian's Cloud v1 description (`/search`, `/content/search`: 25) and the DC
/// "Pagination in the REST API" guide's examples.
pub const V1_DEFAULT_LIMIT: usize = 25;
/// Largest v1 `start` Confluence accepts: Cloud's own 400 message ("start parameter must be less
/// than or equal to 100000"); unverified on DC, same value kept.
pub const V1_MAX_START: usize = 100_000;
/// v2 default and maximum: every `limit` in the Cloud v2 description (default 25, 50 for a few
/// attachment lists; maximum 250).
pub const V2_DEFAULT_LIMIT: usize = 25;
pub const V2_MAX_LIMIT: usize = 250;

/// Parsed `start`/`limit`; bad numbers are a 400 rather than a silent default.
#[derive(Debug, Clone, Copy)]
pub struct V1Page {
    pub start: usize,
    pub limit: usize,
}

impl V1Page {
    pub fn parse(start: Option<&str>, limit: Option<&str>, max: usize) -> ApiResult<V1Page> {
        let num = |name: &str, v: Option<&str>, d: usize| -> ApiResult<usize> {
            match v {
                None | Some("") => Ok(d),
                Some(s) => s
                    .trim()
                    .parse::<i64>()
                    .map(|n| n.max(0) as usize)
                    .map_err(|_| {
                        ApiError::bad_request(
                            ErrorStyle::V1,
                            format!("{name} must be a number, got {s:?}"),
                        )
                    }),
            }
        };
        let start = num("start", start, 0)?;
        // Confluence refuses deep offsets rather than scanning that far (Cloud: "start
        // parameter must be less than or equal to 100000"; unverified on DC, same value kept).
        if start > V1_MAX_START {
            return Err(ApiError::bad_request(
                ErrorStyle::V1,
                format!("start must be at most {V1_MAX_START}, got {start}: page with a CQL filter or the `next` link instead"),
            ));
        }
        if limit.is_some_and(|l| l.trim().starts_with('-')) {
            return Err(ApiError::bad_request(
                ErrorStyle::V1,
                format!(
                    "limit must be 0 or more, got {:?}",
                    limit.unwrap_or_default()
                ),
            ));
        }
        let limit = num("limit", limit, V1_DEFAULT_LIMIT)?.min(max);
        Ok(V1Page { start, limit })
    }

    /// Slices `all` and builds the envelope. `self_path` is the request path relative to the
    /// context, with its query (start/limit are rewritten for `next`).
    pub fn envelope(&self, all: Vec<Value>, ctx: &Ctx, extra: Option<Value>) -> Value {
        let total = all.len();
        let results: Vec<Value> = all.into_iter().skip(self.start).take(self.limit).collect();
        let size = results.len();
        let rel = ctx
            .path_and_query
            .strip_prefix(&ctx.context)
            .unwrap_or(&ctx.path_and_query)
            .to_string();
        let mut links = json!({
            "base": ctx.base,
            "context": ctx.context,
            "self": format!("{}{}", ctx.base, rel.split('?').next().unwrap_or("")),
        });
        if self.limit > 0 && self.start + size < total {
            links["next"] =
                with_query(&rel, &[("start", self.start + size), ("limit", self.limit)]).into();
        }
        let mut body = json!({
            "results": results,
            "start": self.start,
            "limit": self.limit,
            "size": size,
            "_links": links,
        });
        if let Some(Value::Object(extra)) = extra {
            for (k, v) in extra {
                body[k] = v;
            }
        }
        body
    }
}

/// Replaces (or adds) numeric query parameters in `path?query`.
pub fn with_query(path_and_query: &str, set: &[(&str, usize)]) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let k = p.split('=').next().unwrap_or("");
            !set.iter().any(|(n, _)| *n == k)
        })
        .map(str::to_string)
        .collect();
    for (k, v) in set {
        pairs.push(format!("{k}={v}"));
    }
    format!("{path}?{}", pairs.join("&"))
}

/// v2 cursor paging state.
#[derive(Debug, Clone, Copy)]
pub struct V2Page {
    pub offset: usize,
    pub limit: usize,
}

impl V2Page {
    pub fn parse(cursor: Option<&str>, limit: Option<&str>, default: usize) -> ApiResult<V2Page> {
        let limit = match limit {
            None | Some("") => default,
            Some(s) => match s.trim().parse::<i64>() {
                Ok(n) if n >= 1 => (n as usize).min(V2_MAX_LIMIT),
                _ => {
                    return Err(ApiError::bad_request(
                        ErrorStyle::V2,
                        format!("limit must be between 1 and {V2_MAX_LIMIT}, got {s:?}"),
                    )
                    .with_code("INVALID_REQUEST_PARAMETER"))
                }
            },
        };
        let offset = match cursor {
            None | Some("") => 0,
            Some(c) => decode_cursor(c).ok_or_else(|| {
                ApiError::bad_request(ErrorStyle::V2, "Invalid cursor")
                    .with_code("INVALID_REQUEST_PARAMETER")
            })?,
        };
        Ok(V2Page { offset, limit })
    }

    /// Slices `all` into `{"results", "_links"}` plus the `Link` header when there is more.
    pub fn respond(&self, all: Vec<Value>, ctx: &Ctx) -> Response {
        let total = all.len();
        let results: Vec<Value> = all.into_iter().skip(self.offset).take(self.limit).collect();
        let end = self.offset + results.len();
        let mut links = json!({"base": ctx.base});
        let mut next_link = None;
        if end < total {
            let (path, query) = ctx
                .path_and_query
                .split_once('?')
                .unwrap_or((&ctx.path_and_query, ""));
            let mut pairs: Vec<String> = query
                .split('&')
                .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
                .map(str::to_string)
                .collect();
            pairs.push(format!("cursor={}", encode_cursor(end)));
            let next = format!("{path}?{}", pairs.join("&"));
            links["next"] = next.clone().into();
            next_link = Some(next);
        }
        let mut resp = (
            StatusCode::OK,
            Json(json!({"results": results, "_links": links})),
        )
            .into_response();
        if let Some(next) = next_link {
            if let Ok(v) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
                resp.headers_mut().insert("link", v);
            }
        }
        resp
    }
}

/// Opaque to clients; a tagged offset so random strings are rejected instead of misread.
pub fn encode_cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("cfl-sim:{offset}"))
}

pub fn decode_cursor(c: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c.trim_end_matches('='))
        .ok()?;
    String::from_utf8(raw)
        .ok()?
        .strip_prefix("cfl-sim:")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(75)), Some(75));
        assert_eq!(decode_cursor("abc"), None);
        assert_eq!(decode_cursor("!!"), None);
    }

    #[test]
    fn with_query_replaces_existing_values() {
        assert_eq!(
            with_query(
                "/rest/api/content?spaceKey=DEV&start=0&limit=5",
                &[("start", 5), ("limit", 5)]
            ),
            "/rest/api/content?spaceKey=DEV&start=5&limit=5"
        );
    }

    #[test]
    fn v1_limit_is_clamped_and_bad_numbers_rejected() {
        use crate::config::V1_MAX_LIMIT;
        let p = V1Page::parse(None, Some("5000"), V1_MAX_LIMIT).unwrap();
        assert_eq!(p.limit, V1_MAX_LIMIT);
        assert!(V1Page::parse(Some("x"), None, 10).is_err());
        assert!(V1Page::parse(None, Some("-1"), 10).is_err());
        assert!(V1Page::parse(None, Some("ten"), 10).is_err());
        assert!(V1Page::parse(Some("100001"), None, 10).is_err());
        assert!(V1Page::parse(Some("100000"), None, 10).is_ok());
    }
}
