//! `GET /rest/api/content/{id}/history` (DC; Cloud only with `legacy_v1`): who created a page,
//! its latest and previous versions. atlassian-python-api's `update_page` / `append_page` read
//! `lastUpdated.number` from here to compute the next version.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::json::{user_or_unknown, version_json};
use super::lookup::{live, parse_id};
use super::{Ctx, P1};
use crate::error::{ApiResult, ErrorStyle};
use crate::{iso8601, Shared};

const S: ErrorStyle = ErrorStyle::V1;

pub fn routes() -> Router<Shared> {
    Router::new().route("/content/{id}/history", get(history))
}

async fn history(State(state): State<Shared>, ctx: Ctx, P1(id): P1) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, S)?;
    let db = state.db();
    let c = live(&db, id, S)?;
    let mut body = json!({
        "latest": true,
        "createdBy": user_or_unknown(&state, &db, &c.author),
        "createdDate": iso8601(c.created_at),
        "lastUpdated": version_json(&state, &db, c),
        "_links": {"self": format!("{}/rest/api/content/{id}/history", ctx.base)},
        "_expandable": {"contributors": "", "nextVersion": ""},
    });
    match db.old_versions.get(&id).and_then(|v| v.last()) {
        Some(prev) => {
            body["previousVersion"] = json!({
                "by": user_or_unknown(&state, &db, &prev.by),
                "when": iso8601(prev.when),
                "number": prev.number,
                "minorEdit": false,
                "message": prev.message,
                "_links": {"self": format!("{}/rest/api/content/{id}/version/{}", ctx.base, prev.number)},
            });
        }
        None => {
            body["_expandable"]["previousVersion"] = "".into();
        }
    }
    Ok(Json(body))
}
