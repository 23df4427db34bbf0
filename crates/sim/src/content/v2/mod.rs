//! Cloud REST v2 (`/wiki/api/v2`): spaces, pages and blog posts (CRUD with `body-format=storage`,
//! one set of handlers generic over the [`extract::Kind`]), children, labels and attachments, with cursor pagination ([`V2Page`](super::pagination::V2Page)) and v2 error bodies. Folders are
//! in [`folder`], the tree endpoints pages and folders share (`direct-children`, `ancestors`)
//! in [`tree`].
//!
//! The write rules are v1's ([`super::page`]): unique titles per space, version current+1 (else 409),
//! parent changes move the page. Only the `storage` body format is served; others get a clear 400.
//! v2 has no current-user endpoint (the spec has none); clients use v1 `/rest/api/user/current`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::ids::label_id;
use super::json::download_path;
use super::lookup::attachments_of;
use super::lookup::not_found;
use super::page::{create_page, json_body, trash_page, update_page, NewPage, PageUpdate};
use super::query::{q, query_pairs};
use super::{require_writer, Ctx, P1};

pub mod extract;
pub mod folder;
pub mod meta;
mod params;
mod shape;
pub mod tree;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::model::{Attachment, Content, Db, Space};
use crate::{iso8601, Shared};
use extract::{BlogKind, Kind, Live, LivePage, PageKind, V2List};
pub(crate) use params::{bad_param, numeric_id, opt_id, page_id};
use params::{body_format, paging, S};
pub(crate) use shape::{account_id, set_parent, single, space_id_of};

/// v2 lists attachments 50 at a time by default (the spec's default for that endpoint).
const ATTACHMENT_DEFAULT_LIMIT: usize = 50;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/spaces", get(spaces))
        .route("/spaces/{id}", get(space))
        .route("/spaces/{id}/pages", get(space_pages::<PageKind>))
        .route("/pages", get(pages::<PageKind>).post(create::<PageKind>))
        .route(
            "/pages/{id}",
            get(page::<PageKind>)
                .put(update::<PageKind>)
                .delete(delete::<PageKind>),
        )
        .route("/spaces/{id}/blogposts", get(space_pages::<BlogKind>))
        .route(
            "/blogposts",
            get(pages::<BlogKind>).post(create::<BlogKind>),
        )
        .route(
            "/blogposts/{id}",
            get(page::<BlogKind>)
                .put(update::<BlogKind>)
                .delete(delete::<BlogKind>),
        )
        .route("/pages/{id}/children", get(children))
        .route(
            "/pages/{id}/direct-children",
            get(tree::page_direct_children),
        )
        .route("/pages/{id}/ancestors", get(tree::page_ancestors))
        .route("/pages/{id}/labels", get(labels))
        .route("/pages/{id}/attachments", get(page_attachments))
        .route("/attachments/{id}", get(attachment))
        .merge(folder::routes())
        .merge(meta::routes())
}

fn space_v2(db: &Db, s: &Space) -> Value {
    let mut v = json!({
        "id": s.id.to_string(),
        "key": s.key,
        "name": s.name,
        "type": "global",
        "status": "current",
        "authorId": db.users.first().map(|u| u.account_id.clone()).unwrap_or_default(),
        "createdAt": iso8601(s.created_at),
        "_links": {"webui": format!("/spaces/{}", s.key)},
    });
    if let Some(h) = s.homepage_id {
        v["homepageId"] = h.to_string().into();
    }
    v
}

fn page_v2(db: &Db, c: &Content, with_body: bool) -> Value {
    let mut v = json!({
        "id": c.id.to_string(),
        "status": c.status,
        "title": c.title,
        "spaceId": space_id_of(db, &c.space_key),
        "position": c.position,
        "authorId": account_id(db, &c.author),
        "ownerId": account_id(db, &c.author),
        "lastOwnerId": null,
        "createdAt": iso8601(c.created_at),
        "version": {
            "createdAt": iso8601(c.updated_at),
            "message": "",
            "number": c.version,
            "minorEdit": false,
            "authorId": account_id(db, &c.last_modifier),
        },
        "body": {},
        "_links": {
            "webui": format!("/spaces/{}/pages/{}", c.space_key, c.id),
            "editui": format!("/pages/resumedraft.action?draftId={}", c.id),
            "tinyui": format!("/x/{}", c.id),
        },
    });
    if c.kind == "blogpost" {
        // A blog post has no place in the tree and no owner (BlogPostSingle).
        if let Some(o) = v.as_object_mut() {
            for field in ["position", "ownerId", "lastOwnerId"] {
                o.remove(field);
            }
        }
        v["_links"]["webui"] = format!("/spaces/{}/blog/{}", c.space_key, c.id).into();
    }
    set_parent(db, c, &mut v);
    if with_body {
        v["body"] = json!({"storage": {"representation": "storage", "value": c.body_storage}});
    }
    v
}

/// Cloud's v2 `downloadLink`, relative to `/wiki`.
pub fn download_link(a: &Attachment) -> String {
    format!("{}&cacheVersion=1", download_path(a))
        .replace("&api=v2&cacheVersion=1", "&cacheVersion=1&api=v2")
}

fn attachment_v2(db: &Db, a: &Attachment) -> Value {
    let download = download_link(a);
    json!({
        "id": format!("att{}", a.id),
        "status": "current",
        "title": a.title,
        "createdAt": iso8601(a.created_at),
        "pageId": a.container_id.to_string(),
        "mediaType": a.media_type,
        "mediaTypeDescription": a.media_type,
        "comment": a.comment,
        "fileId": format!("{:08x}-sim-{}", a.id, a.version),
        "fileSize": a.data.len(),
        "webuiLink": format!("/pages/viewpageattachments.action?pageId={}&preview=%2F{}", a.container_id, a.id),
        "downloadLink": download,
        "version": {
            "createdAt": iso8601(a.created_at),
            "message": a.comment,
            "number": a.version,
            "minorEdit": false,
            "authorId": account_id(db, &a.author),
        },
        "_links": {
            "download": download,
            "webui": format!("/pages/viewpageattachments.action?pageId={}&preview=%2F{}", a.container_id, a.id),
        },
    })
}

fn csv<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

async fn spaces(
    State(state): State<Shared>,
    ctx: Ctx,
    V2List { pairs, page: pg }: V2List,
) -> ApiResult<Response> {
    let keys = csv(&pairs, "keys");
    let ids = csv(&pairs, "ids");
    let db = state.db();
    let all: Vec<Value> = db
        .spaces
        .values()
        .filter(|s| keys.is_empty() || keys.iter().any(|k| k.eq_ignore_ascii_case(&s.key)))
        .filter(|s| ids.is_empty() || ids.contains(&s.id.to_string().as_str()))
        .map(|s| space_v2(&db, s))
        .collect();
    Ok(pg.respond(all, &ctx))
}

fn space_by_id(db: &Db, raw: &str) -> ApiResult<Space> {
    let id = numeric_id(raw)?;
    db.spaces
        .values()
        .find(|s| s.id == id)
        .cloned()
        .ok_or_else(|| not_found(S, raw))
}

async fn space(State(state): State<Shared>, ctx: Ctx, P1(id): P1) -> ApiResult<Json<Value>> {
    let db = state.db();
    let s = space_by_id(&db, &id)?;
    Ok(single(space_v2(&db, &s), &ctx))
}

/// Pages or blog posts (`kind`), filtered as `GET /pages` and `GET /blogposts` filter.
fn page_list(
    db: &Db,
    kind: &str,
    pairs: &[(String, String)],
    space_keys: Option<Vec<String>>,
) -> ApiResult<Vec<Value>> {
    let with_body = body_format(pairs)?;
    let title = q(pairs, "title");
    let statuses = csv(pairs, "status");
    let ids = csv(pairs, "id");
    Ok(db
        .content
        .values()
        .filter(|c| c.kind == kind)
        .filter(|c| {
            if statuses.is_empty() {
                c.status == "current"
            } else {
                statuses.contains(&c.status.as_str())
            }
        })
        .filter(|c| space_keys.as_ref().is_none_or(|k| k.contains(&c.space_key)))
        .filter(|c| title.is_none_or(|t| c.title == t))
        .filter(|c| ids.is_empty() || ids.contains(&c.id.to_string().as_str()))
        .map(|c| page_v2(db, c, with_body))
        .collect())
}

async fn pages<K: Kind>(
    State(state): State<Shared>,
    ctx: Ctx,
    V2List { pairs, page: pg }: V2List,
) -> ApiResult<Response> {
    let db = state.db();
    let space_ids = csv(&pairs, "space-id");
    let keys = if space_ids.is_empty() {
        None
    } else {
        let mut keys = Vec::new();
        for sid in space_ids {
            let id = numeric_id(sid)?;
            keys.extend(
                db.spaces
                    .values()
                    .filter(|s| s.id == id)
                    .map(|s| s.key.clone()),
            );
        }
        Some(keys)
    };
    let all = page_list(&db, K::KIND, &pairs, keys)?;
    Ok(pg.respond(all, &ctx))
}

async fn space_pages<K: Kind>(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    V2List { pairs, page: pg }: V2List,
) -> ApiResult<Response> {
    let db = state.db();
    let s = space_by_id(&db, &id)?;
    let mut all = page_list(&db, K::KIND, &pairs, Some(vec![s.key.clone()]))?;
    if q(&pairs, "depth") == Some("root") {
        all.retain(|p| p.get("parentId").is_none());
    }
    Ok(pg.respond(all, &ctx))
}

async fn page<K: Kind>(
    State(state): State<Shared>,
    ctx: Ctx,
    Live(id, ..): Live<K>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let with_body = body_format(&query_pairs(&raw))?;
    let db = state.db();
    Ok(single(page_v2(&db, &db.content[&id], with_body), &ctx))
}

fn storage_value(body: &Value) -> ApiResult<Option<String>> {
    let Some(b) = body.get("body").filter(|b| !b.is_null()) else {
        return Ok(None);
    };
    match b["representation"].as_str() {
        Some("storage") | None => Ok(b["value"].as_str().map(str::to_string)),
        Some(other) => Err(bad_param(format!(
            "body representation {other:?} is not supported by cfl sim; use storage"
        ))),
    }
}

async fn create<K: Kind>(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    // A blog post sits at the space root, never under the home page.
    let root_level = K::KIND == "blogpost" || q(&query_pairs(&raw), "root-level") == Some("true");
    let body = json_body(&body, S)?;
    let space_id = opt_id(&body, "spaceId")?.ok_or_else(|| bad_param("spaceId is required"))?;
    let title = body["title"].as_str().unwrap_or("").to_string();
    let parent = match K::KIND {
        "page" => opt_id(&body, "parentId")?,
        _ => None,
    };
    let value = storage_value(&body)?.unwrap_or_default();
    let now = state.clock.now_ms();
    let mut db = state.db();
    let space_key = db
        .spaces
        .values()
        .find(|s| s.id == space_id)
        .map(|s| s.key.clone())
        .ok_or_else(|| bad_param(format!("No space with id {space_id}")))?;
    let id = create_page(
        &mut db,
        NewPage {
            space_key,
            title,
            parent,
            body: value,
            kind: K::KIND.into(),
            root_level,
        },
        &user,
        now,
        S,
    )?;
    Ok(single(page_v2(&db, &db.content[&id], true), &ctx))
}

async fn update<K: Kind>(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    Live(id, ..): Live<K>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    let body = json_body(&body, S)?;
    if body["title"].as_str().is_none() {
        return Err(bad_param("title is required"));
    }
    let upd = PageUpdate {
        version: body
            .pointer("/version/number")
            .and_then(|v| v.as_u64())
            .map(|v| v as u32),
        title: body["title"].as_str().map(str::to_string),
        body: storage_value(&body)?,
        parent: match K::KIND {
            "page" => opt_id(&body, "parentId")?,
            _ => None,
        },
    };
    let now = state.clock.now_ms();
    let mut db = state.db();
    update_page(&mut db, id, upd, &user, now, S)?;
    Ok(single(page_v2(&db, &db.content[&id], true), &ctx))
}

async fn delete<K: Kind>(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Live(id, ..): Live<K>,
) -> ApiResult<StatusCode> {
    require_writer(&caller, &headers, S)?;
    let mut db = state.db();
    trash_page(&mut db, id, S)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn children(
    State(state): State<Shared>,
    ctx: Ctx,
    Live(id, ..): LivePage,
    V2List { page: pg, .. }: V2List,
) -> ApiResult<Response> {
    let db = state.db();
    let all: Vec<Value> = db
        .children_of(id)
        .into_iter()
        .filter(|c| c.kind == "page")
        .map(|c| {
            json!({
                "id": c.id.to_string(),
                "status": c.status,
                "title": c.title,
                "spaceId": space_id_of(&db, &c.space_key),
                "childPosition": c.position,
            })
        })
        .collect();
    Ok(pg.respond(all, &ctx))
}

async fn labels(
    State(state): State<Shared>,
    ctx: Ctx,
    Live(id, ..): LivePage,
    V2List { pairs, page: pg }: V2List,
) -> ApiResult<Response> {
    let prefix = q(&pairs, "prefix");
    let db = state.db();
    let all: Vec<Value> = db.content[&id]
        .labels
        .iter()
        .filter(|_| prefix.is_none_or(|p| p == "global"))
        .map(|l| json!({"id": label_id(l).to_string(), "name": l, "prefix": "global"}))
        .collect();
    Ok(pg.respond(all, &ctx))
}

async fn page_attachments(
    State(state): State<Shared>,
    ctx: Ctx,
    Live(id, ..): LivePage,
    V2List { pairs, page: pg }: V2List<ATTACHMENT_DEFAULT_LIMIT>,
) -> ApiResult<Response> {
    let filename = q(&pairs, "filename");
    let media = q(&pairs, "mediaType");
    let db = state.db();
    let all: Vec<Value> = attachments_of(&db, id)
        .into_iter()
        .filter(|a| filename.is_none_or(|f| a.title == f))
        .filter(|a| media.is_none_or(|m| a.media_type == m))
        .map(|a| attachment_v2(&db, a))
        .collect();
    Ok(pg.respond(all, &ctx))
}

async fn attachment(State(state): State<Shared>, ctx: Ctx, P1(id): P1) -> ApiResult<Response> {
    let aid = numeric_id(&id)?;
    let db = state.db();
    let a = db
        .attachments
        .get(&aid)
        .filter(|a| {
            db.content
                .get(&a.container_id)
                .is_some_and(|c| c.status == "current")
        })
        .ok_or_else(|| not_found(S, &id))?;
    Ok(single(attachment_v2(&db, a), &ctx).into_response())
}
