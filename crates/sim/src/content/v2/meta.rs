//! v2 page metadata: versions (`/pages/{id}/versions[/{n}]`), content properties
//! (`/pages/{page-id}/properties[/{property-id}]`, addressed by id, 409 on a stale version) and
//! footer and inline comments (`/pages/{id}/footer-comments`, `POST /footer-comments`,
//! `/footer-comments/{id}`, and the same for `inline-comments`, whose create names the selected
//! text in `inlineCommentProperties.textSelection`; the sim refuses a selection the page body
//! does not contain, a simplification of Cloud's own check). They share the v1 stores, so a property or comment written through
//! one API version is read back through the other.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::extract::V2List;
use super::{account_id, bad_param, numeric_id};
use crate::auth::Caller;
use crate::content::lookup::{live, not_found};
use crate::content::page::json_body;
use crate::content::query::{q, query_pairs};
use crate::content::{require_writer, Ctx, P1, P2};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{Comment, ContentId, Db, Property};
use crate::{iso8601, Shared};

const S: ErrorStyle = ErrorStyle::V2;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/pages/{id}/versions", get(versions))
        .route("/pages/{id}/versions/{n}", get(version))
        .route(
            "/pages/{id}/properties",
            get(properties).post(create_property),
        )
        .route(
            "/pages/{id}/properties/{pid}",
            get(property).put(update_property).delete(delete_property),
        )
        .route("/pages/{id}/footer-comments", get(page_footer_comments))
        .route(
            "/footer-comments",
            axum::routing::post(create_footer_comment),
        )
        .route("/footer-comments/{id}", get(footer_comment))
        .route("/pages/{id}/inline-comments", get(page_inline_comments))
        .route(
            "/inline-comments",
            axum::routing::post(create_inline_comment),
        )
        .route("/inline-comments/{id}", get(inline_comment))
}

fn page_id(db: &Db, raw: &str) -> ApiResult<ContentId> {
    let id = numeric_id(raw)?;
    live(db, id, S)?;
    Ok(id)
}

/// (number, when, by, message) of every version of a page, newest first (as v2 lists them).
fn all_versions(db: &Db, id: ContentId) -> Vec<(u32, i64, String, String)> {
    let c = &db.content[&id];
    let mut v: Vec<_> = db
        .old_versions
        .get(&id)
        .into_iter()
        .flatten()
        .map(|o| (o.number, o.when, o.by.clone(), o.message.clone()))
        .collect();
    v.push((
        c.version,
        c.updated_at,
        c.last_modifier.clone(),
        String::new(),
    ));
    v.reverse();
    v
}

async fn versions(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    V2List { page, .. }: V2List,
) -> ApiResult<Response> {
    let db = state.db();
    let id = page_id(&db, &id)?;
    let title = db.content[&id].title.clone();
    let all = all_versions(&db, id)
        .into_iter()
        .map(|(n, when, by, message)| {
            json!({"number": n, "createdAt": iso8601(when), "message": message, "minorEdit": false,
                   "authorId": account_id(&db, &by), "page": {"id": id.to_string(), "title": title}})
        })
        .collect();
    Ok(page.respond(all, &ctx))
}

async fn version(State(state): State<Shared>, P2(id, n): P2) -> ApiResult<Json<Value>> {
    let db = state.db();
    let id = page_id(&db, &id)?;
    let n: u32 = n
        .parse()
        .map_err(|_| bad_param(format!("Invalid version number: {n:?}")))?;
    let all = all_versions(&db, id);
    let (number, when, by, message) = all
        .iter()
        .find(|v| v.0 == n)
        .cloned()
        .ok_or_else(|| not_found(S, &id.to_string()))?;
    let mut v = json!({"number": number, "authorId": account_id(&db, &by), "message": message,
        "createdAt": iso8601(when), "minorEdit": false, "contentTypeModified": false,
        "collaborators": [account_id(&db, &by)]});
    if number > 1 {
        v["prevVersion"] = (number - 1).into();
    }
    if all.iter().any(|x| x.0 == number + 1) {
        v["nextVersion"] = (number + 1).into();
    }
    Ok(Json(v))
}

fn property_v2(db: &Db, key: &str, p: &Property) -> Value {
    json!({"id": p.id.to_string(), "key": key, "value": p.value, "version": {
        "createdAt": iso8601(p.updated_at), "message": "", "number": p.version, "minorEdit": false,
        "authorId": account_id(db, &p.author)}})
}

fn find_property(db: &Db, page: ContentId, raw: &str) -> ApiResult<(String, Property)> {
    let pid = numeric_id(raw)?;
    db.properties
        .iter()
        .find(|((c, _), p)| *c == page && p.id == pid)
        .map(|((_, k), p)| (k.clone(), p.clone()))
        .ok_or_else(|| ApiError::not_found(S, "Not Found").with_code("NOT_FOUND"))
}

async fn properties(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    V2List { pairs, page }: V2List,
) -> ApiResult<Response> {
    let key = q(&pairs, "key");
    let db = state.db();
    let id = page_id(&db, &id)?;
    let all = db
        .properties
        .iter()
        .filter(|((c, k), _)| *c == id && key.is_none_or(|want| want == k))
        .map(|((_, k), p)| property_v2(&db, k, p))
        .collect();
    Ok(page.respond(all, &ctx))
}

async fn property(State(state): State<Shared>, P2(id, pid): P2) -> ApiResult<Json<Value>> {
    let db = state.db();
    let id = page_id(&db, &id)?;
    let (key, p) = find_property(&db, id, &pid)?;
    Ok(Json(property_v2(&db, &key, &p)))
}

async fn create_property(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    P1(id): P1,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    let body = json_body(&body, S)?;
    let key = body["key"]
        .as_str()
        .filter(|k| !k.is_empty() && k.chars().count() <= 255)
        .ok_or_else(|| bad_param("A property needs a \"key\" of 1 to 255 characters"))?
        .to_string();
    let mut db = state.db();
    let id = page_id(&db, &id)?;
    if db.properties.contains_key(&(id, key.clone())) {
        return Err(
            ApiError::conflict(S, format!("A property with key {key:?} already exists"))
                .with_code("CONFLICT"),
        );
    }
    let p = Property {
        id: db.alloc_id(),
        value: body["value"].clone(),
        version: 1,
        updated_at: state.clock.now_ms(),
        author: user,
    };
    db.properties.insert((id, key.clone()), p.clone());
    Ok(Json(property_v2(&db, &key, &p)))
}

async fn update_property(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    P2(id, pid): P2,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    let body = json_body(&body, S)?;
    let mut db = state.db();
    let id = page_id(&db, &id)?;
    let (key, cur) = find_property(&db, id, &pid)?;
    let number = body
        .pointer("/version/number")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| bad_param("Updating a property needs version.number (current+1)"))?;
    if number != u64::from(cur.version) + 1 {
        return Err(ApiError::conflict(
            S,
            format!(
                "Version must be incremented on update. Current version is: {}",
                cur.version
            ),
        )
        .with_code("CONFLICT"));
    }
    let p = Property {
        value: body["value"].clone(),
        version: cur.version + 1,
        updated_at: state.clock.now_ms(),
        author: user,
        ..cur
    };
    db.properties.insert((id, key.clone()), p.clone());
    Ok(Json(property_v2(&db, &key, &p)))
}

async fn delete_property(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    P2(id, pid): P2,
) -> ApiResult<StatusCode> {
    require_writer(&caller, &headers, S)?;
    let mut db = state.db();
    let id = page_id(&db, &id)?;
    let (key, _) = find_property(&db, id, &pid)?;
    db.properties.remove(&(id, key));
    Ok(StatusCode::NO_CONTENT)
}

fn comment_v2(db: &Db, c: &Comment, with_body: bool, ctx: &Ctx) -> Value {
    let mut v = json!({
        "id": c.id.to_string(),
        "status": "current",
        "title": db.content.get(&c.container_id).map(|p| format!("Re: {}", p.title)).unwrap_or_default(),
        "pageId": c.container_id.to_string(),
        "version": {"createdAt": iso8601(c.created_at), "message": "", "number": c.version,
                    "minorEdit": false, "authorId": account_id(db, &c.author)},
        "_links": {"webui": format!("/spaces/{}/pages/{}?focusedCommentId={}",
            db.content.get(&c.container_id).map(|p| p.space_key.as_str()).unwrap_or(""),
            c.container_id, c.id), "base": ctx.base},
    });
    if let Some(p) = c.parent_comment {
        v["parentCommentId"] = p.to_string().into();
    }
    if c.location == "inline" {
        v["resolutionStatus"] = "open".into();
        v["properties"] = json!({"inlineMarkerRef": format!("cfl-sim-{}", c.id),
            "inlineOriginalSelection": c.selection});
    }
    if with_body {
        v["body"] = json!({"storage": {"representation": "storage", "value": c.body_storage}});
    }
    v
}

async fn page_footer_comments(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    list: V2List,
) -> ApiResult<Response> {
    page_comments(state, ctx, id, list, "footer")
}

async fn page_inline_comments(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    list: V2List,
) -> ApiResult<Response> {
    page_comments(state, ctx, id, list, "inline")
}

fn page_comments(
    state: Shared,
    ctx: Ctx,
    id: String,
    V2List { pairs, page }: V2List,
    location: &str,
) -> ApiResult<Response> {
    let with_body = super::body_format(&pairs)?;
    let db = state.db();
    let id = page_id(&db, &id)?;
    // Top-level comments only; replies come from /footer-comments/{id}/children.
    let all = crate::content::comment::comments_of(&db, id, false)
        .into_iter()
        .filter(|c| c.location == location)
        .map(|c| comment_v2(&db, c, with_body, &ctx))
        .collect();
    Ok(page.respond(all, &ctx))
}

async fn footer_comment(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    one_comment(state, ctx, id, raw, "footer")
}

async fn inline_comment(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    one_comment(state, ctx, id, raw, "inline")
}

fn one_comment(
    state: Shared,
    ctx: Ctx,
    id: String,
    raw: Option<String>,
    location: &str,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let with_body = super::body_format(&pairs)?;
    let id = numeric_id(&id)?;
    let db = state.db();
    let c = db
        .comments
        .get(&id)
        .filter(|c| c.location == location)
        .ok_or_else(|| ApiError::not_found(S, "Not Found").with_code("NOT_FOUND"))?;
    Ok(Json(comment_v2(&db, c, with_body, &ctx)))
}

async fn create_footer_comment(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    create_comment(state, caller, headers, ctx, body, "footer")
}

async fn create_inline_comment(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    create_comment(state, caller, headers, ctx, body, "inline")
}

fn create_comment(
    state: Shared,
    caller: Caller,
    headers: HeaderMap,
    ctx: Ctx,
    body: axum::body::Bytes,
    location: &str,
) -> ApiResult<Response> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    let body = json_body(&body, S)?;
    let mut db = state.db();
    let parent_comment = match body["parentCommentId"].as_str() {
        Some(p) => Some(numeric_id(p)?),
        None => None,
    };
    let container = match (body["pageId"].as_str(), parent_comment) {
        (Some(p), _) => page_id(&db, p)?,
        (None, Some(pc)) => db
            .comments
            .get(&pc)
            .map(|c| c.container_id)
            .ok_or_else(|| ApiError::not_found(S, "Not Found").with_code("NOT_FOUND"))?,
        (None, None) => {
            return Err(bad_param(
                "A comment needs pageId or parentCommentId (blog posts and attachments are not simulated)",
            ))
        }
    };
    if body
        .pointer("/body/representation")
        .and_then(|r| r.as_str())
        != Some("storage")
    {
        return Err(bad_param(
            "body.representation must be storage (the only format cfl sim serves)",
        ));
    }
    let text = body
        .pointer("/body/value")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad_param("body.value is required"))?
        .to_string();
    let selection = if location == "inline" && parent_comment.is_none() {
        let sel = body
            .pointer("/inlineCommentProperties/textSelection")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                bad_param("An inline comment needs inlineCommentProperties.textSelection")
            })?;
        if !db.content[&container].body_storage.contains(sel) {
            return Err(bad_param(format!(
                "The page does not contain the selected text {sel:?}"
            )));
        }
        sel.to_string()
    } else {
        String::new()
    };
    let id = db.alloc_id();
    let c = Comment {
        id,
        container_id: container,
        parent_comment,
        body_storage: text,
        location: location.into(),
        selection,
        version: 1,
        created_at: state.clock.now_ms(),
        author: user,
    };
    db.comments.insert(id, c.clone());
    Ok((StatusCode::CREATED, Json(comment_v2(&db, &c, true, &ctx))).into_response())
}
