//! Cloud's page archive, `POST /rest/api/content/archive` (v1; v2 has no archive), and the
//! long-task resource it answers with, `GET /rest/api/longtask/{id}` (and the list of them,
//! `GET /rest/api/longtask`).
//!
//! The request names pages by numeric id (`{"pages": [{"id": 123}]}`, `int64` in Atlassian's
//! description). Every id must be a current page that is not the space's home page; otherwise
//! nothing is archived and the answer is 400. Archived pages get status `archived`: they leave
//! the current listings (v1, v2, children, CQL) and stay readable with `status=archived`. Their
//! children move up to the archived page's parent, as with the trash. Confluence archives in the
//! background; the sim archives at once, so the task it returns is already finished.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::lookup::{live, not_found};
use super::pagination::V1Page;
use super::query::{q, query_pairs};
use super::{require_writer, Ctx, P1};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{ContentId, Db, LongTask};
use crate::Shared;

const S: ErrorStyle = ErrorStyle::V1;

/// The task name Confluence gives an archive job.
const ARCHIVE_TASK_KEY: &str = "com.atlassian.confluence.pages.archive.longtask";

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/content/archive", post(archive))
        .route("/longtask", get(long_tasks))
        .route("/longtask/{id}", get(long_task))
}

async fn archive(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_writer(&caller, &headers, S)?;
    let ids = requested_ids(&body)?;
    let now = state.clock.now_ms();
    let mut db = state.db();
    for id in &ids {
        archivable(&db, *id)?;
    }
    for id in &ids {
        archive_page(&mut db, *id);
    }
    let task_id = db.alloc_id().to_string();
    db.long_tasks.insert(
        task_id.clone(),
        LongTask {
            key: ARCHIVE_TASK_KEY.into(),
            started_ms: now,
            finished_ms: now,
        },
    );
    let status = format!("{}/rest/api/longtask/{task_id}", ctx.context);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": task_id, "links": {"status": status}})),
    ))
}

/// The page ids of `{"pages": [{"id": 123}, …]}`, with an error that shows the expected shape.
fn requested_ids(body: &[u8]) -> ApiResult<Vec<ContentId>> {
    const SHAPE: &str = r#"expected {"pages": [{"id": 123}, ...]} with numeric page ids"#;
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(S, format!("Invalid JSON ({e}): {SHAPE}")))?;
    let pages = v["pages"]
        .as_array()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request(S, format!("No pages to archive: {SHAPE}")))?;
    pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            p["id"].as_u64().ok_or_else(|| {
                ApiError::bad_request(
                    S,
                    format!("pages[{i}].id is {}, not a number: {SHAPE}", p["id"]),
                )
            })
        })
        .collect()
}

fn archivable(db: &Db, id: ContentId) -> ApiResult<()> {
    if db
        .content
        .get(&id)
        .is_some_and(|c| c.kind == "page" && c.status == "archived")
    {
        return Err(ApiError::bad_request(
            S,
            format!("Page {id} is already archived"),
        ));
    }
    if live(db, id, S)?.kind != "page" {
        return Err(not_found(S, &id.to_string()));
    }
    if db.spaces.values().any(|s| s.homepage_id == Some(id)) {
        return Err(ApiError::bad_request(
            S,
            format!("Page {id} is its space's home page, which cannot be archived"),
        ));
    }
    Ok(())
}

fn archive_page(db: &mut Db, id: ContentId) {
    let parent = db.content.get(&id).and_then(|c| c.parent_id);
    for c in db.content.values_mut().filter(|c| c.parent_id == Some(id)) {
        c.parent_id = parent;
    }
    if let Some(c) = db.content.get_mut(&id) {
        c.status = "archived".into();
    }
}

async fn long_task(State(state): State<Shared>, ctx: Ctx, P1(id): P1) -> ApiResult<Json<Value>> {
    let db = state.db();
    let task = db
        .long_tasks
        .get(&id)
        .ok_or_else(|| ApiError::not_found(S, format!("No long task with id {id}")))?;
    Ok(Json(task_json(&id, task, &ctx)))
}

/// `GET /rest/api/longtask`: every task, `key` filtering by the task's name key; `start`/`limit`
/// as v1 lists them (`limit` 100 by default, as Atlassian's description says).
async fn long_tasks(
    State(state): State<Shared>,
    ctx: Ctx,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let page = V1Page::parse(
        q(&pairs, "start"),
        Some(q(&pairs, "limit").unwrap_or("100")),
        crate::config::V1_MAX_LIMIT,
    )?;
    let key = q(&pairs, "key").filter(|k| !k.is_empty());
    let db = state.db();
    let all = db
        .long_tasks
        .iter()
        .filter(|(_, t)| key.is_none_or(|k| t.key == k))
        .map(|(id, t)| task_json(id, t, &ctx))
        .collect();
    Ok(Json(page.envelope(all, &ctx, None)))
}

fn task_json(id: &str, task: &LongTask, ctx: &Ctx) -> Value {
    json!({
        "id": id,
        "name": {"key": task.key, "args": []},
        "elapsedTime": task.finished_ms - task.started_ms,
        "percentageComplete": 100,
        "successful": true,
        "finished": true,
        "messages": [],
        "status": "COMPLETED",
        "_links": {
            "base": ctx.base,
            "context": ctx.context,
            "self": format!("{}/rest/api/longtask/{id}", ctx.base),
        },
    })
}
