//! Cloud attachment downloads the way they reach a client today: the v1
//! `GET /content/{id}/child/attachment/{attachmentId}/download` answers 302 to the download path,
//! and with `media_redirect = true` the download path itself answers 302 to a *different host
//! name* of the same simulator (`127.0.0.1` ↔ `localhost`), like Cloud sending clients to its
//! media host. That media URL carries its own token and refuses any request with an
//! `Authorization` header (400, logged): a client that forwards the Confluence credential to
//! another host fails its tests.

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::json::{download_path, PATH_SEGMENT};
use super::lookup::{live, not_found, parse_id};
use super::{Ctx, P2};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{hex, Attachment};
use crate::Shared;

const S: ErrorStyle = ErrorStyle::V1;

/// Cloud-only v1 route, mounted under `/rest/api`.
pub fn v1_routes() -> Router<Shared> {
    Router::new().route(
        "/content/{id}/child/attachment/{att}/download",
        get(v1_download),
    )
}

/// The media host's route, mounted at the root outside the auth layer (it takes no Confluence
/// credential, only its token).
pub fn media_routes() -> Router<Shared> {
    Router::new().route("/__media/file/{file}/binary", get(media))
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<u32>,
}

async fn v1_download(
    State(state): State<Shared>,
    ctx: Ctx,
    P2(page, att): P2,
    Query(vq): Query<VersionQuery>,
) -> ApiResult<Response> {
    let page = parse_id(&page, S)?;
    let aid = parse_id(&att, S)?;
    let db = state.db();
    live(&db, page, S)?;
    let a = db
        .attachments
        .get(&aid)
        .filter(|a| a.container_id == page)
        .filter(|a| vq.version.is_none_or(|v| v == a.version))
        .ok_or_else(|| not_found(S, &att))?;
    Ok(found(&format!("{}{}", ctx.base, download_path(a))))
}

/// `302 Found`, what Confluence answers download requests with (axum's `Redirect` has 303/307).
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The token in a media URL: bound to one attachment version and this simulator run.
fn media_token(state: &Shared, a: &Attachment) -> String {
    let mut h = Sha256::new();
    h.update(state.media_key);
    h.update(format!("{}:{}", a.id, a.version));
    hex(&h.finalize())
}

/// Where `/download/attachments/...` sends the client when `media_redirect` is on: the same
/// server under the other loopback name.
pub fn media_redirect(state: &Shared, headers: &HeaderMap, a: &Attachment) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !p.contains(']') => (n, format!(":{p}")),
        _ => (host, String::new()),
    };
    let other = if name.eq_ignore_ascii_case("localhost") {
        "127.0.0.1"
    } else {
        "localhost"
    };
    let name_q = percent_encoding::utf8_percent_encode(&a.title, PATH_SEGMENT);
    let url = format!(
        "http://{other}{port}/__media/file/{}-{}/binary?token={}&name={name_q}",
        a.id,
        a.version,
        media_token(state, a)
    );
    found(&url)
}

#[derive(Deserialize)]
struct MediaQuery {
    token: String,
}

async fn media(
    State(state): State<Shared>,
    headers: HeaderMap,
    axum::extract::Path(file): axum::extract::Path<String>,
    Query(mq): Query<MediaQuery>,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        tracing::warn!(
            file = %file,
            "media host: refused a request carrying an Authorization header \
             (the Confluence credential was sent to another host)"
        );
        return ApiError::bad_request(
            ErrorStyle::Message,
            "The media host does not accept an Authorization header: the Confluence credential \
             must not be sent to another host. Follow the redirect without it.",
        )
        .into_response();
    }
    let found = {
        let db = state.db();
        file.split_once('-')
            .and_then(|(id, v)| Some((id.parse::<u64>().ok()?, v.parse::<u32>().ok()?)))
            .and_then(|(id, v)| db.attachments.get(&id).filter(|a| a.version == v))
            .filter(|a| bool::from(media_token(&state, a).as_bytes().ct_eq(mq.token.as_bytes())))
            .map(|a| (a.data.clone(), a.media_type.clone()))
    };
    let Some((data, media)) = found else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorStyle::Message,
            "Invalid or expired media token",
        )
        .into_response();
    };
    let len = data.len();
    let mut resp = Body::from(data).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&media)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    resp
}
