//! v1 spaces: `GET /space` (paged, `spaceKey` filter, repeatable) and `GET /space/{key}`.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::json::{content_json, space_json, Expand};
use super::pagination::V1Page;
use super::query::{q, query_pairs};
use super::{Ctx, P1};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{Db, Space};
use crate::Shared;

/// A space with the expansions clients ask for: `homepage` (the home page as content) and
/// `description.plain` / `description.view`; the rest stay under `_expandable`.
fn space_expanded(state: &Shared, db: &Db, s: &Space, ex: &Expand, ctx: &Ctx) -> Value {
    let mut v = space_json(state, s, ctx);
    if ex.has("homepage") {
        if let Some(home) = s.homepage_id.and_then(|h| db.content.get(&h)) {
            v["homepage"] = content_json(state, db, home, &Expand::default(), ctx);
            if let Some(e) = v["_expandable"].as_object_mut() {
                e.remove("homepage");
            }
        }
    }
    if ex.has("description") {
        let mut d = serde_json::json!({"_expandable": {}});
        for (kind, repr) in [("description.plain", "plain"), ("description.view", "view")] {
            if ex.has(kind) {
                d[repr] = serde_json::json!({"value": s.description, "representation": repr, "embeddedContent": []});
            } else {
                d["_expandable"][repr] = "".into();
            }
        }
        v["description"] = d;
        if let Some(e) = v["_expandable"].as_object_mut() {
            e.remove("description");
        }
    }
    v
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/space", get(list))
        .route("/space/{key}", get(one))
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
    let keys: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "spaceKey")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let db = state.db();
    let all: Vec<Value> = db
        .spaces
        .values()
        .filter(|s| keys.is_empty() || keys.iter().any(|k| k.eq_ignore_ascii_case(&s.key)))
        .map(|s| space_expanded(&state, &db, s, &ex, &ctx))
        .collect();
    Ok(Json(page.envelope(all, &ctx, None)))
}

async fn one(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(key): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let ex = Expand::parse(q(&pairs, "expand"));
    let db = state.db();
    let s = db
        .spaces
        .values()
        .find(|s| s.key.eq_ignore_ascii_case(&key))
        .ok_or_else(|| ApiError::not_found(ErrorStyle::V1, format!("No space with key : {key}")))?;
    Ok(Json(space_expanded(&state, &db, s, &ex, &ctx)))
}
