//! What every content handler reads from a request: [`Ctx`] (where it came in, so `_links` point
//! back at the same base: Cloud site, Cloud API gateway or DC context path), the last path
//! parameters ([`P1`], [`P2`]), and the write guard every mutating handler calls.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorStyle};

/// Where the request arrived: `base` is the absolute URL up to the context (`http://h/wiki`),
/// `context` the path part of it (`/wiki`, `/confluence`, `/ex/confluence/{id}/wiki` or empty).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub base: String,
    pub context: String,
    /// The full path and query of the request, for `_links.self`.
    pub path_and_query: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let uri = match OriginalUri::from_request_parts(parts, state).await {
            Ok(OriginalUri(u)) => u,
            Err(_) => parts.uri.clone(),
        };
        let path = uri.path();
        let cut = ["/rest/api/", "/api/v2/", "/download/"]
            .iter()
            .filter_map(|m| path.find(m))
            .min()
            .unwrap_or(0);
        let context = path[..cut].to_string();
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        Ok(Ctx {
            base: format!("http://{host}{context}"),
            context,
            path_and_query: uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
        })
    }
}

/// A write needs a user; a cookie session also needs the XSRF header, as Confluence requires.
pub fn require_writer<'a>(
    caller: &'a Caller,
    headers: &HeaderMap,
    style: ErrorStyle,
) -> ApiResult<&'a str> {
    let user = caller.require_user(style)?;
    if caller.session && !has_no_check(headers) {
        return Err(ApiError::forbidden(style, "XSRF check failed"));
    }
    Ok(user)
}

pub fn has_no_check(headers: &HeaderMap) -> bool {
    headers
        .get("x-atlassian-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("no-check") || v.eq_ignore_ascii_case("nocheck"))
}

/// The last path parameter. Handlers are also mounted under
/// `/ex/confluence/{cloudId}/wiki`, whose captured `cloudId` comes first, so a plain
/// `Path<String>` would see two parameters; the handler's own ones are always the last.
pub struct P1(pub String);

/// The last two path parameters (see [`P1`]).
pub struct P2(pub String, pub String);

async fn last_params<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    n: usize,
) -> Result<Vec<String>, ApiError> {
    let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::bad_request(ErrorStyle::V1, e.body_text()))?;
    let all: Vec<String> = raw.iter().map(|(_, v)| v.to_string()).collect();
    if all.len() < n {
        return Err(ApiError::bad_request(
            ErrorStyle::V1,
            "Invalid path parameters",
        ));
    }
    Ok(all[all.len() - n..].to_vec())
}

impl<S: Send + Sync> FromRequestParts<S> for P1 {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let mut v = last_params(parts, state, 1).await?;
        Ok(P1(v.remove(0)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for P2 {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let mut v = last_params(parts, state, 2).await?;
        let second = v.remove(1);
        Ok(P2(v.remove(0), second))
    }
}
