//! The tree endpoints pages and folders share: `direct-children` (pages *and* folders, each with
//! its `type`, cursor-paged) and `ancestors` (top-down, `limit` nearest ones, no cursor: a client
//! asks again from the first ancestor it got, as the v2 documentation says).

use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use super::extract::{Live, LiveFolder, LivePage, V2List};
use super::{bad_param, space_id_of, S};
use crate::content::lookup::{live, not_found};
use crate::content::pagination::{V2_DEFAULT_LIMIT, V2_MAX_LIMIT};
use crate::content::query::{q, query_pairs};
use crate::content::Ctx;
use crate::error::ApiResult;
use crate::model::{ContentId, Db};
use crate::Shared;

/// The current folder with this id, else v2's 404.
pub(crate) fn live_folder(db: &Db, id: ContentId) -> ApiResult<&crate::model::Content> {
    live(db, id, S)
        .ok()
        .filter(|c| c.kind == "folder")
        .ok_or_else(|| not_found(S, &id.to_string()))
}

fn direct_children(db: &Db, id: ContentId) -> Vec<Value> {
    db.children_of(id)
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id.to_string(),
                "status": c.status,
                "title": c.title,
                "type": c.kind,
                "spaceId": space_id_of(db, &c.space_key),
                "childPosition": c.position,
            })
        })
        .collect()
}

fn ancestors(db: &Db, id: ContentId, pairs: &[(String, String)]) -> ApiResult<Value> {
    let limit = match q(pairs, "limit") {
        None | Some("") => V2_DEFAULT_LIMIT,
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n.min(V2_MAX_LIMIT),
            _ => {
                return Err(bad_param(format!(
                    "limit must be between 1 and {V2_MAX_LIMIT}, got {raw:?}"
                )))
            }
        },
    };
    let chain = db.ancestors_of(id);
    let nearest = &chain[chain.len().saturating_sub(limit)..];
    let results: Vec<Value> = nearest
        .iter()
        .map(|a| json!({"id": a.id.to_string(), "type": a.kind}))
        .collect();
    Ok(json!({"results": results, "_links": {}}))
}

pub(crate) async fn page_direct_children(
    State(state): State<Shared>,
    ctx: Ctx,
    Live(id, ..): LivePage,
    V2List { page, .. }: V2List,
) -> ApiResult<Response> {
    Ok(page.respond(direct_children(&state.db(), id), &ctx))
}

pub(crate) async fn folder_direct_children(
    State(state): State<Shared>,
    ctx: Ctx,
    Live(id, ..): LiveFolder,
    V2List { page, .. }: V2List,
) -> ApiResult<Response> {
    Ok(page.respond(direct_children(&state.db(), id), &ctx))
}

pub(crate) async fn page_ancestors(
    State(state): State<Shared>,
    Live(id, ..): LivePage,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(ancestors(&state.db(), id, &query_pairs(&raw))?))
}

pub(crate) async fn folder_ancestors(
    State(state): State<Shared>,
    Live(id, ..): LiveFolder,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    Ok(Json(ancestors(&state.db(), id, &query_pairs(&raw))?))
}
