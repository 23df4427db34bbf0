//! v1 pages: list/create (`/content`), read/update/delete (`/content/{id}`), children.
//!
//! The write rules live in [`create_page`] / [`update_page`] / [`trash_page`] so v2 applies the
//! same ones: titles are unique per space, an update must carry version current+1 (else 409
//! "Version must be incremented on update. Current version is: N"), and changing the parent moves
//! the page (never under itself or its own descendants).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::Value;

use super::json::{content_json, Expand};
use super::lookup::{live, not_found, parse_id};
use super::pagination::V1Page;
use super::query::{q, query_pairs};
use super::{require_writer, Ctx, P1};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{Content, ContentId, Db};
use crate::Shared;

const S: ErrorStyle = ErrorStyle::V1;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/content", get(list).post(create))
        // atlassian-python-api's add_comment posts to `content/`; Confluence accepts the slash.
        .route("/content/", axum::routing::post(create))
        .route("/content/{id}", get(one).put(update).delete(delete))
        .route("/content/{id}/child/page", get(child_pages))
}

fn duplicate_title(style: ErrorStyle) -> ApiError {
    ApiError::bad_request(
        style,
        "A page with this title already exists: A page already exists with the same TITLE in this space",
    )
}

fn title_taken(db: &Db, space: &str, title: &str, except: Option<ContentId>) -> bool {
    db.content.values().any(|c| {
        c.status == "current"
            && c.space_key == space
            && c.title.eq_ignore_ascii_case(title)
            && Some(c.id) != except
    })
}

pub struct NewPage {
    pub space_key: String,
    pub title: String,
    pub parent: Option<ContentId>,
    pub body: String,
    pub kind: String,
    /// No parent given: at the space root (v2 `root-level=true`, folders) rather than under the
    /// space home page, where Confluence puts a page without ancestors.
    pub root_level: bool,
}

pub fn create_page(
    db: &mut Db,
    p: NewPage,
    author: &str,
    now: i64,
    style: ErrorStyle,
) -> ApiResult<ContentId> {
    let title = p.title.trim().to_string();
    if title.is_empty() {
        return Err(ApiError::bad_request(style, "Title cannot be empty"));
    }
    if title.chars().count() > 255 {
        return Err(ApiError::bad_request(
            style,
            "Title cannot be longer than 255 characters.",
        ));
    }
    let Some(space) = db
        .spaces
        .values()
        .find(|s| s.key.eq_ignore_ascii_case(&p.space_key))
    else {
        return Err(ApiError::not_found(
            style,
            format!("No space with key : {}", p.space_key),
        ));
    };
    let space_key = space.key.clone();
    let parent = match p.parent {
        Some(pid) => {
            let parent = live(db, pid, style)?;
            if parent.space_key != space_key {
                return Err(ApiError::bad_request(
                    style,
                    "Could not create content with parent in a different space",
                ));
            }
            Some(pid)
        }
        None if p.root_level => None,
        // Confluence puts a page without ancestors under the space home page.
        None => space.homepage_id,
    };
    if p.kind == "page" && title_taken(db, &space_key, &title, None) {
        return Err(duplicate_title(style));
    }
    let id = db.alloc_id();
    let position = parent
        .map(|pid| db.children_of(pid).len() as i64)
        .unwrap_or(0);
    db.content.insert(
        id,
        Content {
            id,
            kind: p.kind,
            status: "current".into(),
            title,
            space_key,
            parent_id: parent,
            body_storage: p.body,
            version: 1,
            created_at: now,
            updated_at: now,
            author: author.to_string(),
            last_modifier: author.to_string(),
            labels: vec![],
            position,
        },
    );
    Ok(id)
}

#[derive(Default)]
pub struct PageUpdate {
    pub version: Option<u32>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub parent: Option<ContentId>,
}

pub fn update_page(
    db: &mut Db,
    id: ContentId,
    u: PageUpdate,
    editor: &str,
    now: i64,
    style: ErrorStyle,
) -> ApiResult<()> {
    let cur = live(db, id, style)?.clone();
    let Some(number) = u.version else {
        return Err(ApiError::bad_request(
            style,
            "Must supply an incremented version when updating Content. No version supplied.",
        ));
    };
    if number != cur.version + 1 {
        return Err(ApiError::conflict(
            style,
            format!(
                "Version must be incremented on update. Current version is: {}",
                cur.version
            ),
        ));
    }
    let title = u
        .title
        .map(|t| t.trim().to_string())
        .unwrap_or(cur.title.clone());
    if title.is_empty() {
        return Err(ApiError::bad_request(style, "Title cannot be empty"));
    }
    if cur.kind == "page" && title_taken(db, &cur.space_key, &title, Some(id)) {
        return Err(duplicate_title(style));
    }
    let mut parent = cur.parent_id;
    if let Some(pid) = u.parent {
        if Some(pid) != cur.parent_id {
            let target = live(db, pid, style)?;
            if target.space_key != cur.space_key {
                return Err(ApiError::bad_request(
                    style,
                    "Cannot move a page to a parent in another space",
                ));
            }
            if pid == id || db.ancestors_of(pid).iter().any(|a| a.id == id) {
                return Err(ApiError::bad_request(
                    style,
                    "Cannot move a page under itself or one of its descendants",
                ));
            }
            parent = Some(pid);
        }
    }
    let position = if parent != cur.parent_id {
        parent.map(|p| db.children_of(p).len() as i64).unwrap_or(0)
    } else {
        cur.position
    };
    db.old_versions
        .entry(id)
        .or_default()
        .push(crate::model::OldVersion {
            number: cur.version,
            when: cur.updated_at,
            by: cur.last_modifier.clone(),
            title: cur.title.clone(),
            message: String::new(),
        });
    let c = db.content.get_mut(&id).expect("checked above");
    c.version = number;
    c.title = title;
    if let Some(b) = u.body {
        c.body_storage = b;
    }
    c.parent_id = parent;
    c.position = position;
    c.updated_at = now;
    c.last_modifier = editor.to_string();
    Ok(())
}

/// Deleting moves a page to the trash; its children move up to its parent, as Confluence does.
pub fn trash_page(db: &mut Db, id: ContentId, style: ErrorStyle) -> ApiResult<()> {
    let cur = live(db, id, style)?.clone();
    if db.spaces.values().any(|s| s.homepage_id == Some(id)) {
        // Allowed in Confluence, but the space then has no home page.
        for s in db.spaces.values_mut().filter(|s| s.homepage_id == Some(id)) {
            s.homepage_id = None;
        }
    }
    for c in db.content.values_mut().filter(|c| c.parent_id == Some(id)) {
        c.parent_id = cur.parent_id;
    }
    if let Some(c) = db.content.get_mut(&id) {
        c.status = "trashed".into();
    }
    Ok(())
}

async fn list(
    State(state): State<Shared>,
    ctx: Ctx,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let page = V1Page::parse(
        q(&pairs, "start"),
        q(&pairs, "limit"),
        state.config.v1_limits.content,
    )?;
    let ex = Expand::parse(q(&pairs, "expand"));
    let space = q(&pairs, "spaceKey");
    let title = q(&pairs, "title");
    let kind = q(&pairs, "type").unwrap_or("page");
    let status = q(&pairs, "status").unwrap_or("current");
    let db = state.db();
    let all: Vec<Value> = db
        .content
        .values()
        .filter(|c| space.is_none_or(|s| c.space_key.eq_ignore_ascii_case(s)))
        .filter(|c| title.is_none_or(|t| c.title == t))
        .filter(|c| c.kind == kind)
        .filter(|c| status == "any" || status.split(',').any(|s| s == c.status))
        .enumerate()
        // Only the requested window is rendered (the envelope needs just the others' count),
        // so listing a large space page by page stays linear.
        .map(|(i, c)| {
            if i >= page.start && i - page.start < page.limit {
                content_json(&state, &db, c, &ex, &ctx)
            } else {
                Value::Null
            }
        })
        .collect();
    Ok(Json(page.envelope(all, &ctx, None)))
}

fn ancestor_id(body: &Value, style: ErrorStyle) -> ApiResult<Option<ContentId>> {
    match body
        .get("ancestors")
        .and_then(|a| a.as_array())
        .and_then(|a| a.last())
    {
        None => Ok(None),
        Some(a) => {
            let raw = match &a["id"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(ApiError::bad_request(style, "ancestors[].id is required")),
            };
            raw.parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(style, format!("Invalid ancestor id {raw:?}")))
        }
    }
}

fn storage_body(body: &Value) -> Option<String> {
    body.pointer("/body/storage/value")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

pub fn json_body(bytes: &[u8], style: ErrorStyle) -> ApiResult<Value> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(style, format!("Could not parse request body: {e}")))
}

async fn create(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    let body = json_body(&body, S)?;
    let kind = body["type"].as_str().unwrap_or("page").to_string();
    if kind == "comment" {
        let now = state.clock.now_ms();
        let mut db = state.db();
        let id = super::comment::create_v1(&mut db, &body, &user, now)?;
        let ex = Expand::parse(Some("body.storage,version,container"));
        return Ok(Json(super::comment::comment_json(
            &state,
            &db,
            &db.comments[&id],
            &ex,
            &ctx,
        )));
    }
    if kind != "page" && kind != "blogpost" {
        return Err(ApiError::bad_request(
            S,
            format!("Unsupported content type: {kind}"),
        ));
    }
    let space_key = body
        .pointer("/space/key")
        .and_then(|v| v.as_str())
        .ok_or_else(|| ApiError::bad_request(S, "space.key is required"))?
        .to_string();
    let title = body["title"]
        .as_str()
        .ok_or_else(|| ApiError::bad_request(S, "Title cannot be empty"))?
        .to_string();
    let parent = ancestor_id(&body, S)?;
    let now = state.clock.now_ms();
    let mut db = state.db();
    let id = create_page(
        &mut db,
        NewPage {
            space_key,
            title,
            parent,
            body: storage_body(&body).unwrap_or_default(),
            // A blog post has no place in the page tree: never under the home page.
            root_level: kind == "blogpost",
            kind,
        },
        &user,
        now,
        S,
    )?;
    let ex = Expand::parse(Some("space,history,version,ancestors,body.storage"));
    Ok(Json(content_json(&state, &db, &db.content[&id], &ex, &ctx)))
}

async fn one(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let id = parse_id(&id, S)?;
    // Without `expand` Confluence expands space, history and version; an explicit `expand`
    // replaces those defaults (the rest stay under `_expandable`, where clients such as
    // confluence-markdown-exporter read the space key from `_expandable.space`).
    let ex = match q(&pairs, "expand") {
        None => Expand::default().with(&["space", "history", "version"]),
        Some(e) => Expand::parse(Some(e)),
    };
    // `status=trashed`, `archived` or `any` also finds pages out of the current listings.
    let wanted = |status: &str| {
        q(&pairs, "status").is_some_and(|s| s.split(',').any(|s| s == status || s == "any"))
    };
    let db = state.db();
    if let Some(cm) = db.comments.get(&id) {
        return Ok(Json(super::comment::comment_json(
            &state, &db, cm, &ex, &ctx,
        )));
    }
    let c = db
        .content
        .get(&id)
        .filter(|c| c.status == "current" || wanted(&c.status))
        .ok_or_else(|| not_found(S, &id.to_string()))?;
    Ok(Json(content_json(&state, &db, c, &ex, &ctx)))
}

async fn update(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    P1(id): P1,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    let id = parse_id(&id, S)?;
    let body = json_body(&body, S)?;
    let version = body
        .pointer("/version/number")
        .and_then(|v| v.as_u64())
        .map(|v| v as u32);
    let upd = PageUpdate {
        version,
        title: body["title"].as_str().map(str::to_string),
        body: storage_body(&body),
        parent: ancestor_id(&body, S)?,
    };
    let now = state.clock.now_ms();
    let mut db = state.db();
    update_page(&mut db, id, upd, &user, now, S)?;
    let ex = Expand::parse(Some("space,history,version,ancestors,body.storage"));
    Ok(Json(content_json(&state, &db, &db.content[&id], &ex, &ctx)))
}

async fn delete(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    P1(id): P1,
) -> ApiResult<StatusCode> {
    require_writer(&caller, &headers, S)?;
    let id = parse_id(&id, S)?;
    let mut db = state.db();
    if db.comments.remove(&id).is_some() {
        // Replies go with their comment, as in Confluence.
        db.comments.retain(|_, c| c.parent_comment != Some(id));
        return Ok(StatusCode::NO_CONTENT);
    }
    trash_page(&mut db, id, S)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn child_pages(
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
    let ex = Expand::parse(q(&pairs, "expand"));
    let id = parse_id(&id, S)?;
    let db = state.db();
    live(&db, id, S)?;
    let all: Vec<Value> = db
        .children_of(id)
        .into_iter()
        .filter(|c| c.kind == "page")
        .map(|c| content_json(&state, &db, c, &ex, &ctx))
        .collect();
    Ok(Json(page.envelope(all, &ctx, None)))
}
