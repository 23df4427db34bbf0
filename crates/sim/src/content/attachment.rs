//! Attachments: list, upload (`POST` new / `PUT` new-or-new-version), new data for an existing
//! attachment, and the download at the real `_links.download` path.
//!
//! Uploads are multipart (`file`, optional `comment`, `minorEdit`) and need
//! `X-Atlassian-Token: no-check` or Confluence answers 403 "XSRF check failed". The file part is
//! read chunk by chunk up to `max_attachment_mb` (default [`MAX_UPLOAD_BYTES`]), so an oversized
//! upload is refused without being buffered whole. Only the newest version's bytes are kept.

use axum::body::Body;
use axum::extract::multipart::Field;
use axum::extract::{DefaultBodyLimit, Multipart, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::{json, Value};

use super::json::attachment_json;
use super::lookup::attachments_of;
use super::lookup::{live, parse_id};
use super::pagination::V1Page;
use super::query::{q, query_pairs};
use super::{has_no_check, Ctx, P1, P2};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{Attachment, ContentId, Db};
use crate::Shared;

const S: ErrorStyle = ErrorStyle::V1;
/// Confluence's default attachment size limit is 100 MB (`max_attachment_mb` in the config).
pub const MAX_UPLOAD_BYTES: usize = 100 * 1024 * 1024;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/content/{id}/child/attachment",
            get(list).post(upload_new).put(upload_or_version),
        )
        .route(
            "/content/{id}/child/attachment/{att}/data",
            post(upload_data),
        )
        // The configured cap is enforced while reading the file part (read_upload).
        .layer(DefaultBodyLimit::disable())
}

pub fn download_routes() -> Router<Shared> {
    Router::new().route("/download/attachments/{page}/{name}", get(download))
}

async fn list(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let page = V1Page::parse(
        q(&pairs, "start"),
        q(&pairs, "limit"),
        state.config.v1_limits.content,
    )?;
    let filename = q(&pairs, "filename");
    let id = parse_id(&id, S)?;
    let db = state.db();
    live(&db, id, S)?;
    let all: Vec<Value> = attachments_of(&db, id)
        .into_iter()
        .filter(|a| filename.is_none_or(|f| a.title == f))
        .map(|a| attachment_json(&state, &db, a, &ctx))
        .collect();
    Ok(Json(page.envelope(all, &ctx, None)))
}

struct Upload {
    filename: String,
    media_type: String,
    data: Bytes,
    comment: String,
}

fn xsrf_and_user<'a>(caller: &'a Caller, headers: &HeaderMap) -> ApiResult<&'a str> {
    let user = caller.require_user(S)?;
    if !has_no_check(headers) {
        return Err(ApiError::forbidden(S, "XSRF check failed"));
    }
    Ok(user)
}

fn max_upload(state: &Shared) -> usize {
    usize::try_from(state.config.max_attachment_mb.saturating_mul(1024 * 1024))
        .unwrap_or(usize::MAX)
}

/// Reads the multipart form; the file is accumulated chunk by chunk so the cap applies early.
async fn read_upload(mut form: Multipart, max: usize) -> ApiResult<Upload> {
    let bad = |m: String| ApiError::bad_request(S, m);
    let mut file: Option<(String, String, Bytes)> = None;
    let mut comment = String::new();
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("Invalid multipart body: {e}")))?
    {
        match field.name().unwrap_or("") {
            "file" => {
                let name = field
                    .file_name()
                    .map(str::to_string)
                    .filter(|n| !n.trim().is_empty())
                    .ok_or_else(|| bad("The file part needs a filename".into()))?;
                let media = field
                    .content_type()
                    .map(str::to_string)
                    .unwrap_or_else(|| "application/octet-stream".into());
                let mut buf = BytesMut::new();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| bad(format!("Invalid multipart body: {e}")))?
                {
                    if buf.len() + chunk.len() > max {
                        drop(buf);
                        let mut swallowed = chunk.len();
                        if swallow_field(&mut field, &mut swallowed).await {
                            drop(field);
                            swallow_rest(&mut form, swallowed).await;
                        }
                        return Err(ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            S,
                            format!("Attachment exceeds the maximum size of {max} bytes"),
                        ));
                    }
                    buf.extend_from_slice(&chunk);
                }
                file = Some((name, media, buf.freeze()));
            }
            "comment" => {
                comment = field
                    .text()
                    .await
                    .map_err(|e| bad(format!("Invalid comment part: {e}")))?;
            }
            // minorEdit and anything else: accepted and ignored (no notifications here).
            _ => {
                let _ = field.bytes().await;
            }
        }
    }
    let (filename, media_type, data) =
        file.ok_or_else(|| bad("No file part named \"file\" in the request".into()))?;
    Ok(Upload {
        filename,
        media_type,
        data,
        comment,
    })
}

/// Tomcat (under Confluence) reads and discards up to `maxSwallowSize` (2 MiB by default) of a
/// refused request's body before answering, so a client still writing a slightly-too-large
/// upload gets the 413 instead of a broken pipe. Anything larger is cut off, as there.
const MAX_SWALLOW_BYTES: usize = 2 * 1024 * 1024;

/// Reads and discards the rest of `field`; `false` once `swallowed` passes the limit.
async fn swallow_field(field: &mut Field<'_>, swallowed: &mut usize) -> bool {
    while let Ok(Some(chunk)) = field.chunk().await {
        *swallowed += chunk.len();
        if *swallowed > MAX_SWALLOW_BYTES {
            return false;
        }
    }
    true
}

/// Reads and discards the remaining fields, within the limit.
async fn swallow_rest(form: &mut Multipart, mut swallowed: usize) {
    while let Ok(Some(mut field)) = form.next_field().await {
        if !swallow_field(&mut field, &mut swallowed).await {
            return;
        }
    }
}

fn store(
    db: &mut Db,
    page: ContentId,
    up: Upload,
    user: &str,
    now: i64,
    allow_new_version: bool,
) -> ApiResult<ContentId> {
    live(db, page, S)?;
    let existing = db
        .attachments
        .values()
        .find(|a| a.container_id == page && a.title == up.filename)
        .map(|a| a.id);
    match existing {
        Some(_) if !allow_new_version => Err(ApiError::bad_request(
            S,
            format!(
                "Cannot add a new attachment with same file name as an existing attachment: {}",
                up.filename
            ),
        )),
        Some(aid) => {
            let a = db.attachments.get_mut(&aid).expect("found above");
            a.version += 1;
            a.data = up.data;
            a.media_type = up.media_type;
            a.comment = up.comment;
            a.created_at = now;
            a.author = user.to_string();
            Ok(aid)
        }
        None => {
            let id = db.alloc_id();
            db.attachments.insert(
                id,
                Attachment {
                    id,
                    container_id: page,
                    title: up.filename,
                    media_type: up.media_type,
                    comment: up.comment,
                    data: up.data,
                    version: 1,
                    created_at: now,
                    author: user.to_string(),
                },
            );
            Ok(id)
        }
    }
}

async fn upload(
    state: Shared,
    caller: Caller,
    headers: HeaderMap,
    ctx: Ctx,
    id: String,
    form: Multipart,
    allow_new_version: bool,
) -> ApiResult<Json<Value>> {
    let user = xsrf_and_user(&caller, &headers)?.to_string();
    let page = parse_id(&id, S)?;
    live(&state.db(), page, S)?;
    let up = read_upload(form, max_upload(&state)).await?;
    let now = state.clock.now_ms();
    let mut db = state.db();
    let aid = store(&mut db, page, up, &user, now, allow_new_version)?;
    let a = attachment_json(&state, &db, &db.attachments[&aid], &ctx);
    Ok(Json(json!({
        "results": [a], "size": 1,
        "_links": {"base": ctx.base, "context": ctx.context},
    })))
}

async fn upload_new(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    P1(id): P1,
    form: Multipart,
) -> ApiResult<Json<Value>> {
    upload(state, caller, headers, ctx, id, form, false).await
}

/// `PUT …/child/attachment` (create, or add a version): Cloud only; DC 9.3 has no such method.
async fn upload_or_version(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    P1(id): P1,
    form: Multipart,
) -> ApiResult<Json<Value>> {
    if state.flavor() == crate::config::Flavor::Dc {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            S,
            "PUT is not supported on this resource; POST a new attachment or new data to …/{attachmentId}/data",
        ));
    }
    upload(state, caller, headers, ctx, id, form, true).await
}

async fn upload_data(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    P2(id, att): P2,
    form: Multipart,
) -> ApiResult<Json<Value>> {
    let user = xsrf_and_user(&caller, &headers)?.to_string();
    let page = parse_id(&id, S)?;
    let aid = parse_id(&att, S)?;
    {
        let db = state.db();
        live(&db, page, S)?;
        if db
            .attachments
            .get(&aid)
            .is_none_or(|a| a.container_id != page)
        {
            return Err(super::lookup::not_found(S, &att));
        }
    }
    let mut up = read_upload(form, max_upload(&state)).await?;
    let now = state.clock.now_ms();
    let mut db = state.db();
    // New data keeps the attachment's name, whatever the uploaded file was called.
    up.filename = db
        .attachments
        .get(&aid)
        .map(|a| a.title.clone())
        .ok_or_else(|| super::lookup::not_found(S, &att))?;
    store(&mut db, page, up, &user, now, true)?;
    Ok(Json(attachment_json(
        &state,
        &db,
        &db.attachments[&aid],
        &ctx,
    )))
}

#[derive(Deserialize)]
struct DownloadQuery {
    version: Option<u32>,
}

async fn download(
    State(state): State<Shared>,
    headers: HeaderMap,
    P2(page, name): P2,
    Query(dq): Query<DownloadQuery>,
) -> Result<Response, ApiError> {
    let page = parse_id(&page, S)?;
    let (data, media) = {
        let db = state.db();
        live(&db, page, S)?;
        let a = attachments_of(&db, page)
            .into_iter()
            .find(|a| a.title == name)
            .filter(|a| dq.version.is_none_or(|v| v == a.version))
            .ok_or_else(|| ApiError::not_found(S, format!("Attachment {name} not found")))?;
        if state.config.media_redirect {
            return Ok(super::media::media_redirect(&state, &headers, a));
        }
        (a.data.clone(), a.media_type.clone())
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
    let disp = format!(
        "attachment; filename*=UTF-8''{}",
        percent_encoding::utf8_percent_encode(&name, super::json::PATH_SEGMENT)
    );
    if let Ok(v) = HeaderValue::from_str(&disp) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
