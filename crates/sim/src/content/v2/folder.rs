//! Cloud folders (`/wiki/api/v2/folders`): create, read, delete, plus the shared tree endpoints.
//! A folder has no body; its parent is a page, another folder, or nothing (the space root), and
//! pages and folders may live under it.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::extract::{Live, LiveFolder};
use super::tree::{folder_ancestors, folder_direct_children, live_folder};
use super::{account_id, bad_param, opt_id, page_id, set_parent, single, space_id_of, S};
use crate::auth::Caller;
use crate::content::page::{create_page, json_body, trash_page, NewPage};
use crate::content::{require_writer, Ctx, P1};
use crate::error::ApiResult;
use crate::model::{Content, Db};
use crate::{iso8601, Shared};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/folders", post(create))
        .route("/folders/{id}", get(one).delete(delete))
        .route("/folders/{id}/direct-children", get(folder_direct_children))
        .route("/folders/{id}/ancestors", get(folder_ancestors))
}

fn folder_v2(db: &Db, c: &Content) -> Value {
    let mut v = json!({
        "id": c.id.to_string(),
        "type": "folder",
        "status": c.status,
        "title": c.title,
        "position": c.position,
        "authorId": account_id(db, &c.author),
        "ownerId": account_id(db, &c.author),
        "createdAt": iso8601(c.created_at),
        "spaceId": space_id_of(db, &c.space_key),
        "version": {
            "createdAt": iso8601(c.updated_at),
            "message": "",
            "number": c.version,
            "minorEdit": false,
            "authorId": account_id(db, &c.last_modifier),
        },
        "_links": {"webui": format!("/spaces/{}/folder/{}", c.space_key, c.id)},
    });
    set_parent(db, c, &mut v);
    v
}

async fn one(
    State(state): State<Shared>,
    ctx: Ctx,
    Live(id, ..): LiveFolder,
) -> ApiResult<Json<Value>> {
    let db = state.db();
    Ok(single(folder_v2(&db, &db.content[&id]), &ctx))
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
    let space_id = opt_id(&body, "spaceId")?.ok_or_else(|| bad_param("spaceId is required"))?;
    let title = body["title"].as_str().unwrap_or("").to_string();
    let parent = opt_id(&body, "parentId")?;
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
            body: String::new(),
            kind: "folder".into(),
            root_level: parent.is_none(),
        },
        &user,
        now,
        S,
    )?;
    Ok(single(folder_v2(&db, &db.content[&id]), &ctx))
}

async fn delete(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    P1(id): P1,
) -> ApiResult<StatusCode> {
    require_writer(&caller, &headers, S)?;
    let id = page_id(&id)?;
    let mut db = state.db();
    live_folder(&db, id)?;
    trash_page(&mut db, id, S)?;
    Ok(StatusCode::NO_CONTENT)
}
