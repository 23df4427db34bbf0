//! v1 page move, `PUT /rest/api/content/{pageId}/move/{position}/{targetId}`: one of the few v1
//! operations Cloud kept (v2 has no move). `append` makes the page the target's last child;
//! `before` / `after` make it the target's sibling, just before or after it. The page keeps its
//! version (a move is not an edit); its subtree follows it, into another space if need be.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::routing::put;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::lookup::{live, parse_id};
use super::require_writer;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{ContentId, Db};
use crate::Shared;

const S: ErrorStyle = ErrorStyle::V1;

pub fn routes() -> Router<Shared> {
    Router::new().route("/content/{page}/move/{position}/{target}", put(move_page))
}

/// Data Center's web action `POST /pages/movepage.action?pageId=&targetId=&position=` (what
/// atlassian-python-api's `move_page` calls; DC 9 has no REST move). Positions: `append`
/// (last child of the target), `above` / `below` (sibling before / after it), `topLevel` (space
/// root; no target). The real action's response body is not documented; the sim answers
/// `{"pageId": …}` like the Cloud REST move.
pub fn dc_action_routes() -> Router<Shared> {
    Router::new().route("/pages/movepage.action", axum::routing::post(move_action))
}

async fn move_action(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<Json<Value>> {
    require_writer(&caller, &headers, S)?;
    let pairs = super::query::query_pairs(&raw);
    let get = |k: &str| super::query::q(&pairs, k);
    let page = parse_id(
        get("pageId").ok_or_else(|| ApiError::bad_request(S, "pageId is required"))?,
        S,
    )?;
    let position = get("position").unwrap_or("append");
    let mut db = state.db();
    if position == "topLevel" {
        let p = live(&db, page, S)?.clone();
        let roots = db
            .content
            .values()
            .filter(|c| c.parent_id.is_none() && c.space_key == p.space_key && c.id != page)
            .count();
        if let Some(c) = db.content.get_mut(&page) {
            c.parent_id = None;
            c.position = roots as i64;
        }
        return Ok(Json(json!({"pageId": page.to_string()})));
    }
    let target = parse_id(
        get("targetId").ok_or_else(|| {
            ApiError::bad_request(S, "targetId is required unless position=topLevel")
        })?,
        S,
    )?;
    let position = match position {
        "above" => "before",
        "below" => "after",
        "append" => "append",
        other => {
            return Err(ApiError::bad_request(
                S,
                format!("Invalid position {other:?}: use append, above, below or topLevel"),
            ))
        }
    };
    move_in_tree(&mut db, page, position, target)?;
    Ok(Json(json!({"pageId": page.to_string()})))
}

/// The last three path parameters (the Cloud gateway's `cloudId` may come first).
struct MovePath(String, String, String);

impl<S: Send + Sync> FromRequestParts<S> for MovePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(S, e.body_text()))?;
        let all: Vec<String> = raw.iter().map(|(_, v)| v.to_string()).collect();
        match all.as_slice() {
            [.., page, position, target] => {
                Ok(MovePath(page.clone(), position.clone(), target.clone()))
            }
            _ => Err(ApiError::bad_request(S, "Invalid path parameters")),
        }
    }
}

async fn move_page(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    MovePath(page, position, target): MovePath,
) -> ApiResult<Json<Value>> {
    require_writer(&caller, &headers, S)?;
    let page = parse_id(&page, S)?;
    let target = parse_id(&target, S)?;
    let mut db = state.db();
    move_in_tree(&mut db, page, &position, target)?;
    Ok(Json(json!({"pageId": page.to_string()})))
}

pub fn move_in_tree(
    db: &mut Db,
    page: ContentId,
    position: &str,
    target: ContentId,
) -> ApiResult<()> {
    if live(db, page, S)?.kind != "page" {
        return Err(super::lookup::not_found(S, &page.to_string()));
    }
    let t = live(db, target, S)?.clone();
    if target == page || db.ancestors_of(target).iter().any(|a| a.id == page) {
        return Err(ApiError::bad_request(
            S,
            "Cannot move a page relative to itself or one of its descendants",
        ));
    }
    let (parent, index_of_target) = match position {
        "append" => (Some(target), None),
        "before" | "after" => (t.parent_id, Some(position == "after")),
        other => {
            return Err(ApiError::bad_request(
                S,
                format!("Invalid position {other:?}: use before, after or append"),
            ))
        }
    };
    // Siblings at the destination, in order, without the page itself.
    let mut order: Vec<ContentId> = match parent {
        Some(p) => db.children_of(p).iter().map(|c| c.id).collect(),
        None => {
            let mut roots: Vec<_> = db
                .content
                .values()
                .filter(|c| c.parent_id.is_none() && c.status == "current")
                .filter(|c| c.space_key == t.space_key)
                .map(|c| (c.position, c.id))
                .collect();
            roots.sort();
            roots.into_iter().map(|(_, id)| id).collect()
        }
    };
    order.retain(|id| *id != page);
    let at = match index_of_target {
        None => order.len(),
        Some(after) => {
            let i = order.iter().position(|id| *id == target).unwrap_or(0);
            i + usize::from(after)
        }
    };
    order.insert(at, page);
    let mut subtree = vec![page];
    let mut i = 0;
    while i < subtree.len() {
        subtree.extend(db.children_of(subtree[i]).iter().map(|c| c.id));
        i += 1;
    }
    for id in subtree {
        if let Some(c) = db.content.get_mut(&id) {
            c.space_key = t.space_key.clone();
        }
    }
    if let Some(c) = db.content.get_mut(&page) {
        c.parent_id = parent;
    }
    for (pos, id) in order.into_iter().enumerate() {
        if let Some(c) = db.content.get_mut(&id) {
            c.position = pos as i64;
        }
    }
    Ok(())
}
