//! Users: `GET /rest/api/user/current` (v1, Cloud and DC), `GET /rest/api/user`, and Cloud v2's
//! current-user equivalent. The shapes differ per flavour: DC has `username`/`userKey`,
//! Cloud `accountId`; anonymous callers get `"type": "anonymous"` rather than a 401.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::ids::group_id;
use super::json::user_json;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::Shared;

pub fn v1_routes() -> Router<Shared> {
    Router::new()
        .route("/user/current", get(current))
        .route("/user", get(by_query))
        .route("/user/memberof", get(member_of))
}

/// `GET /rest/api/user/memberof?username=|key=|accountId=`: the user's groups. Admins are in
/// `confluence-administrators` (DC's default admin group), everyone in `confluence-users`.
async fn member_of(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<UserQuery>,
) -> ApiResult<Json<Value>> {
    caller.require_user(ErrorStyle::V1)?;
    let db = state.db();
    let found = if let Some(n) = &q.username {
        db.user_by_name(n)
    } else if let Some(k) = &q.key {
        db.user_by_key(k)
    } else if let Some(a) = &q.account_id {
        db.user_by_account_id(a)
    } else {
        return Err(ApiError::bad_request(
            ErrorStyle::V1,
            "One of username, key or accountId is required",
        ));
    };
    let u = found.ok_or_else(|| ApiError::not_found(ErrorStyle::V1, "No user found"))?;
    let mut groups = vec!["confluence-users"];
    if u.admin {
        groups.insert(0, "confluence-administrators");
    }
    let results: Vec<Value> = groups
        .iter()
        .map(|g| json!({"type": "group", "name": g, "id": group_id(g), "_links": {"self": format!("/rest/api/group/{g}")}}))
        .collect();
    Ok(Json(json!({
        "results": results,
        "start": 0,
        "limit": 200,
        "size": results.len(),
        "_links": {},
    })))
}

fn anonymous_json() -> Value {
    json!({
        "type": "anonymous",
        "profilePicture": {
            "path": "/images/icons/profilepics/anonymous.svg",
            "width": 48, "height": 48, "isDefault": true
        },
        "displayName": "Anonymous",
        "_links": {},
    })
}

async fn current(State(state): State<Shared>, Extension(caller): Extension<Caller>) -> Json<Value> {
    let db = state.db();
    let known = caller.user.as_deref().and_then(|n| db.user_by_name(n));
    Json(match known {
        Some(u) => user_json(&state, u),
        None => anonymous_json(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserQuery {
    username: Option<String>,
    key: Option<String>,
    account_id: Option<String>,
    expand: Option<String>,
}

async fn by_query(
    State(state): State<Shared>,
    Query(q): Query<UserQuery>,
) -> ApiResult<Json<Value>> {
    let db = state.db();
    let found = if let Some(n) = &q.username {
        db.user_by_name(n)
    } else if let Some(k) = &q.key {
        db.user_by_key(k)
    } else if let Some(a) = &q.account_id {
        db.user_by_account_id(a)
    } else {
        return Err(ApiError::bad_request(
            ErrorStyle::V1,
            "One of username, key or accountId is required",
        ));
    };
    match found {
        Some(u) => {
            let mut json = user_json(&state, u);
            // DC's profile details: the email, which the gateway learns for Basic `EMAIL:TOKEN`.
            if q.expand
                .as_deref()
                .is_some_and(|e| e.split(',').any(|x| x == "details.personal"))
            {
                json["details"] = json!({"personal": {"email": u.email}});
            }
            Ok(Json(json))
        }
        None => Err(ApiError::not_found(ErrorStyle::V1, "No user found")),
    }
}
