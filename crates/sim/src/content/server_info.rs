//! `GET /rest/api/server-information` (Data Center): what clients read to tell DC from Cloud and
//! pick API variants by version. The sim reports itself as Confluence 9.2.
//! `GET /rest/api/group`, `/group/{name}`, `/group/{name}/member`: the two groups the sim knows
//! (admins are in `confluence-administrators`, everyone in `confluence-users`, as in
//! `/user/memberof`).

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::ids::group_id;
use super::json::user_json;
use super::pagination::V1Page;
use super::query::{q, query_pairs};
use super::{Ctx, P1};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::User;
use crate::{iso8601, Shared};

const S: ErrorStyle = ErrorStyle::V1;
pub const GROUPS: [&str; 2] = ["confluence-administrators", "confluence-users"];

pub fn dc_routes() -> Router<Shared> {
    Router::new()
        .route("/server-information", get(server_information))
        .route("/group/{name}", get(group))
        .route("/group/{name}/member", get(members))
}

/// Cloud addresses groups by id: `GET /group/by-id?id=` and `/group/{groupId}/membersByGroupId`.
pub fn cloud_routes() -> Router<Shared> {
    Router::new()
        .route("/group/by-id", get(group_by_id))
        .route("/group/{id}/membersByGroupId", get(members_by_id))
}

fn known_id(id: &str) -> ApiResult<&'static str> {
    GROUPS
        .iter()
        .find(|g| group_id(g) == id)
        .copied()
        .ok_or_else(|| ApiError::not_found(S, format!("No group found with id : {id}")))
}

async fn group_by_id(ctx: Ctx, RawQuery(raw): RawQuery) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let id = q(&pairs, "id").ok_or_else(|| ApiError::bad_request(S, "id is required"))?;
    Ok(Json(group_json(known_id(id)?, &ctx)))
}

async fn members_by_id(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let group = known_id(&id)?;
    list_members(&state, &ctx, group, &raw)
}

/// `/group` exists on DC and on Cloud (the Cloud v1 spec keeps it).
pub fn routes() -> Router<Shared> {
    Router::new().route("/group", get(groups))
}

async fn server_information(State(state): State<Shared>, ctx: Ctx) -> Json<Value> {
    Json(json!({
        "baseUrl": ctx.base,
        "version": "9.2.3",
        "buildNumber": 9205,
        "buildDate": "2025-01-01T00:00:00.000Z",
        "serverTime": iso8601(state.clock.now_ms()),
        "scmInfo": "cfl-sim",
        "serverTitle": "Confluence",
    }))
}

pub fn group_json(name: &str, ctx: &Ctx) -> Value {
    json!({
        "type": "group",
        "name": name,
        "id": group_id(name),
        "_links": {"self": format!("{}/rest/api/group/{name}", ctx.base)},
    })
}

pub fn in_group(u: &User, group: &str) -> bool {
    group == "confluence-users" || (group == "confluence-administrators" && u.admin)
}

async fn groups(
    State(state): State<Shared>,
    ctx: Ctx,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let page = V1Page::parse(
        q(&pairs, "start"),
        q(&pairs, "limit"),
        state.config.v1_limits.groups,
    )?;
    let all = GROUPS.iter().map(|g| group_json(g, &ctx)).collect();
    Ok(Json(page.envelope(all, &ctx, None)))
}

fn known(name: &str) -> ApiResult<&'static str> {
    GROUPS
        .iter()
        .find(|g| g.eq_ignore_ascii_case(name))
        .copied()
        .ok_or_else(|| ApiError::not_found(S, format!("No group found with name : {name}")))
}

async fn group(ctx: Ctx, P1(name): P1) -> ApiResult<Json<Value>> {
    Ok(Json(group_json(known(&name)?, &ctx)))
}

async fn members(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(name): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let group = known(&name)?;
    list_members(&state, &ctx, group, &raw)
}

fn list_members(
    state: &Shared,
    ctx: &Ctx,
    group: &str,
    raw: &Option<String>,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(raw);
    let page = V1Page::parse(
        q(&pairs, "start"),
        q(&pairs, "limit"),
        state.config.v1_limits.groups,
    )?;
    let db = state.db();
    let all = db
        .users
        .iter()
        .filter(|u| in_group(u, group))
        .map(|u| user_json(state, u))
        .collect();
    Ok(Json(page.envelope(all, ctx, None)))
}
