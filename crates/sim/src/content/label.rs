//! v1 labels on content: `GET`/`POST /content/{id}/label`, `DELETE /content/{id}/label/{name}`
//! and `DELETE /content/{id}/label?name=`. Label names are lower-cased, as Confluence stores them.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use serde_json::Value;

use super::json::label_json;
use super::lookup::{live, parse_id};
use super::page::json_body;
use super::pagination::V1Page;
use super::query::{q, query_pairs};
use super::{require_writer, Ctx, P1, P2};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{ContentId, Db};
use crate::Shared;

const S: ErrorStyle = ErrorStyle::V1;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route(
            "/content/{id}/label",
            get(list).post(add).delete(remove_by_query),
        )
        .route("/content/{id}/label/{name}", delete(remove_by_path))
}

fn labels_page(db: &Db, id: ContentId, page: V1Page, ctx: &Ctx) -> ApiResult<Value> {
    let c = live(db, id, S)?;
    let all: Vec<Value> = c.labels.iter().map(|l| label_json(l)).collect();
    Ok(page.envelope(all, ctx, None))
}

async fn list(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let page = V1Page::parse(
        q(&pairs, "start"),
        q(&pairs, "limit"),
        state.config.v1_limits.labels,
    )?;
    let id = parse_id(&id, S)?;
    Ok(Json(labels_page(&state.db(), id, page, &ctx)?))
}

/// Validates a label name the way Confluence does (no spaces or reserved characters).
pub fn valid_label(name: &str) -> Result<String, String> {
    let n = name.trim().to_lowercase();
    if n.is_empty() {
        return Err("Label name cannot be empty".into());
    }
    if n.chars().count() > 255 {
        return Err("Label name cannot be longer than 255 characters".into());
    }
    if let Some(ch) = n
        .chars()
        .find(|c| c.is_whitespace() || ":;,.?&[]()#^*@!<>'\"".contains(*c))
    {
        return Err(format!("Label name contains an invalid character: '{ch}'"));
    }
    Ok(n)
}

pub fn add_labels(
    db: &mut Db,
    id: ContentId,
    names: &[String],
    style: ErrorStyle,
) -> ApiResult<()> {
    live(db, id, style)?;
    let mut clean = Vec::new();
    for n in names {
        clean.push(valid_label(n).map_err(|m| ApiError::bad_request(style, m))?);
    }
    let c = db.content.get_mut(&id).expect("checked live");
    for n in clean {
        if !c.labels.contains(&n) {
            c.labels.push(n);
        }
    }
    Ok(())
}

async fn add(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    P1(id): P1,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    require_writer(&caller, &headers, S)?;
    let id = parse_id(&id, S)?;
    let body = json_body(&body, S)?;
    // Confluence accepts an array of labels or a single label object.
    let items = match body {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut names = Vec::new();
    for it in &items {
        match it["name"].as_str() {
            Some(n) => names.push(n.to_string()),
            None => return Err(ApiError::bad_request(S, "Each label needs a name")),
        }
    }
    let mut db = state.db();
    add_labels(&mut db, id, &names, S)?;
    let page = V1Page {
        start: 0,
        limit: state.config.v1_limits.labels,
    };
    Ok(Json(labels_page(&db, id, page, &ctx)?))
}

fn remove(state: &Shared, id: &str, name: &str) -> ApiResult<StatusCode> {
    let id = parse_id(id, S)?;
    let mut db = state.db();
    live(&db, id, S)?;
    let c = db.content.get_mut(&id).expect("checked live");
    let lower = name.to_lowercase();
    let before = c.labels.len();
    c.labels.retain(|l| *l != lower);
    if c.labels.len() == before {
        return Err(ApiError::not_found(S, format!("Label not found: {name}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn remove_by_path(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    P2(id, name): P2,
) -> ApiResult<StatusCode> {
    require_writer(&caller, &headers, S)?;
    remove(&state, &id, &name)
}

async fn remove_by_query(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<StatusCode> {
    require_writer(&caller, &headers, S)?;
    let pairs = query_pairs(&raw);
    let name = q(&pairs, "name")
        .ok_or_else(|| ApiError::bad_request(S, "The name parameter is required"))?
        .to_string();
    remove(&state, &id, &name)
}
