//! CQL search: `GET /content/search?cql=` (content objects) and `GET /search?cql=` (search
//! results wrapping content, with `totalSize` and `cqlQuery`). Bad CQL → 400
//! "Could not parse cql : <query>" plus what the parser expected.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::cql;
use super::json::{content_json, Expand};
use super::pagination::V1Page;
use super::query::{q, query_pairs};
use super::Ctx;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::{iso8601, Shared};

const S: ErrorStyle = ErrorStyle::V1;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/content/search", get(content_search))
        .route("/search", get(search))
}

fn parse_cql(pairs: &[(String, String)]) -> ApiResult<(String, cql::Query)> {
    let raw = q(pairs, "cql")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request(S, "The cql parameter is required"))?;
    let query = cql::parse(raw)
        .map_err(|e| ApiError::bad_request(S, format!("Could not parse cql : {raw} ({e})")))?;
    Ok((raw.to_string(), query))
}

async fn content_search(
    State(state): State<Shared>,
    ctx: Ctx,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let (_, query) = parse_cql(&pairs)?;
    let page = V1Page::parse(
        q(&pairs, "start"),
        q(&pairs, "limit"),
        state.config.v1_limits.content,
    )?;
    let ex = Expand::parse(q(&pairs, "expand"));
    let db = state.db();
    let all: Vec<Value> = cql::run(&db, &query)
        .into_iter()
        .map(|c| content_json(&state, &db, c, &ex, &ctx))
        .collect();
    Ok(Json(page.envelope(all, &ctx, None)))
}

async fn search(
    State(state): State<Shared>,
    ctx: Ctx,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&raw);
    let (cql_text, query) = parse_cql(&pairs)?;
    let page = V1Page::parse(
        q(&pairs, "start"),
        q(&pairs, "limit"),
        state.config.v1_limits.content,
    )?;
    let ex = Expand::parse(q(&pairs, "expand"));
    let db = state.db();
    let hits = cql::run(&db, &query);
    let total = hits.len();
    let all: Vec<Value> = hits
        .into_iter()
        .map(|c| {
            let excerpt: String = strip_tags(&c.body_storage).chars().take(120).collect();
            json!({
                "content": content_json(&state, &db, c, &ex, &ctx),
                "title": c.title,
                "excerpt": excerpt,
                "url": format!("/spaces/{}/pages/{}", c.space_key, c.id),
                "resultGlobalContainer": {
                    "title": db.spaces.get(&c.space_key).map(|s| s.name.clone()).unwrap_or_default(),
                    "displayUrl": format!("/spaces/{}", c.space_key),
                },
                "breadcrumbs": [],
                "entityType": "content",
                "iconCssClass": "aui-icon content-type-page",
                "lastModified": iso8601(c.updated_at),
                "friendlyLastModified": "just now",
                "score": 1.0,
            })
        })
        .collect();
    let extra = json!({"totalSize": total, "cqlQuery": cql_text, "searchDuration": 1});
    Ok(Json(page.envelope(all, &ctx, Some(extra))))
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in s.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
