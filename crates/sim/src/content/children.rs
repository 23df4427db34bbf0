//! The v1 content tree views: `/content/{id}/child` (by type), `/content/{id}/descendant` (by
//! type), `/space/{key}/content` (by type, `depth=root|all`), and the read-only restriction
//! views `/content/{id}/restriction/byOperation[/{op}]`. The sim has no page restrictions, so
//! those always list none, which is what Confluence answers for an unrestricted page.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::comment::{comment_json, comments_of};
use super::json::{attachment_json, content_json, Expand};
use super::lookup::{live, parse_id};
use super::pagination::V1Page;
use super::query::{q, query_pairs};
use super::{Ctx, P1, P2};
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{ContentId, Db};
use crate::Shared;

const S: ErrorStyle = ErrorStyle::V1;
const TYPES: [&str; 3] = ["page", "comment", "attachment"];
const OPERATIONS: [&str; 2] = ["read", "update"];

/// DC only: Cloud's v1 spec has no `/child` or `/space/{key}/content` any more.
pub fn dc_routes() -> Router<Shared> {
    Router::new()
        .route("/content/{id}/child", get(child_all))
        .route("/content/{id}/child/comment", get(child_comment))
        .route("/space/{key}/content", get(space_content_all))
        .route("/space/{key}/content/{type}", get(space_content_one))
}

/// Both flavours (the Cloud v1 spec keeps these).
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/content/{id}/descendant", get(descendant_all))
        .route("/content/{id}/descendant/{type}", get(descendant_one))
        .route(
            "/content/{id}/restriction/byOperation",
            get(restrictions_all),
        )
        .route(
            "/content/{id}/restriction/byOperation/{op}",
            get(restrictions_one),
        )
}

/// Every page below `id` (through folders), depth first in sibling order.
fn descendant_pages(db: &Db, id: ContentId) -> Vec<ContentId> {
    let mut out = Vec::new();
    let mut stack = vec![id];
    while let Some(cur) = stack.pop() {
        let kids = db.children_of(cur);
        for k in kids.iter().rev() {
            stack.push(k.id);
        }
        if cur != id && db.kind_of(cur) == Some("page") {
            out.push(cur);
        }
    }
    // The stack visits in pre-order already; keep that order.
    out
}

struct Listing<'a> {
    state: &'a Shared,
    db: &'a Db,
    ctx: &'a Ctx,
    ex: Expand,
    page: V1Page,
}

impl Listing<'_> {
    fn of_type(&self, id: ContentId, kind: &str, deep: bool) -> ApiResult<Value> {
        let (state, db, ctx, ex) = (self.state, self.db, self.ctx, &self.ex);
        let all: Vec<Value> = match kind {
            "page" => {
                let ids: Vec<ContentId> = if deep {
                    descendant_pages(db, id)
                } else {
                    db.children_of(id)
                        .into_iter()
                        .filter(|c| c.kind == "page")
                        .map(|c| c.id)
                        .collect()
                };
                ids.iter()
                    .map(|i| content_json(state, db, &db.content[i], ex, ctx))
                    .collect()
            }
            "comment" => comments_of(db, id, deep)
                .into_iter()
                .map(|c| comment_json(state, db, c, ex, ctx))
                .collect(),
            "attachment" => db
                .attachments
                .values()
                .filter(|a| a.container_id == id)
                .map(|a| attachment_json(state, db, a, ctx))
                .collect(),
            other => {
                return Err(ApiError::bad_request(
                    S,
                    format!(
                        "Unsupported content type {other:?}: use one of page, comment, attachment"
                    ),
                ))
            }
        };
        Ok(self.page.envelope(all, ctx, None))
    }

    /// `{"page": {...}, "comment": {...}, ...}`: the expanded types, the rest under `_expandable`.
    fn by_type(&self, id: ContentId, deep: bool, path: &str) -> ApiResult<Value> {
        let mut out = Map::new();
        let mut expandable = Map::new();
        for t in TYPES {
            if self.ex.has(t) {
                out.insert(t.into(), self.of_type(id, t, deep)?);
            } else {
                expandable.insert(
                    t.into(),
                    format!("/rest/api/content/{id}/{path}/{t}").into(),
                );
            }
        }
        out.insert(
            "_links".into(),
            json!({"base": self.ctx.base, "context": self.ctx.context,
                   "self": format!("{}/rest/api/content/{id}/{path}", self.ctx.base)}),
        );
        out.insert("_expandable".into(), Value::Object(expandable));
        Ok(Value::Object(out))
    }
}

fn listing<'a>(
    state: &'a Shared,
    db: &'a Db,
    ctx: &'a Ctx,
    raw: &Option<String>,
) -> ApiResult<Listing<'a>> {
    let pairs = query_pairs(raw);
    let page = V1Page::parse(
        q(&pairs, "start"),
        q(&pairs, "limit"),
        state.config.v1_limits.content,
    )?;
    // In `/child?expand=page.version`, `page` names the type and `version` the page's expand.
    let ex = Expand::parse(
        q(&pairs, "expand")
            .map(|e| {
                e.split(',')
                    .map(|i| match i.trim().split_once('.') {
                        Some((t, rest)) if TYPES.contains(&t) => format!("{t},{rest}"),
                        _ => i.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .as_deref(),
    );
    Ok(Listing {
        state,
        db,
        ctx,
        ex,
        page,
    })
}

async fn child_all(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, S)?;
    let db = state.db();
    live(&db, id, S)?;
    Ok(Json(
        listing(&state, &db, &ctx, &raw)?.by_type(id, false, "child")?,
    ))
}

async fn child_comment(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, S)?;
    let db = state.db();
    live(&db, id, S)?;
    let deep = query_pairs(&raw)
        .iter()
        .any(|(k, v)| k == "depth" && v.eq_ignore_ascii_case("all"));
    Ok(Json(
        listing(&state, &db, &ctx, &raw)?.of_type(id, "comment", deep)?,
    ))
}

async fn descendant_all(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, S)?;
    let db = state.db();
    live(&db, id, S)?;
    Ok(Json(listing(&state, &db, &ctx, &raw)?.by_type(
        id,
        true,
        "descendant",
    )?))
}

async fn descendant_one(
    State(state): State<Shared>,
    ctx: Ctx,
    P2(id, kind): P2,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, S)?;
    let db = state.db();
    live(&db, id, S)?;
    Ok(Json(
        listing(&state, &db, &ctx, &raw)?.of_type(id, &kind, true)?,
    ))
}

fn space_listing(
    state: &Shared,
    db: &Db,
    ctx: &Ctx,
    key: &str,
    kind: &str,
    raw: &Option<String>,
) -> ApiResult<Value> {
    let space = db
        .spaces
        .values()
        .find(|s| s.key.eq_ignore_ascii_case(key))
        .ok_or_else(|| ApiError::not_found(S, format!("No space with key : {key}")))?;
    if kind != "page" && kind != "blogpost" {
        return Err(ApiError::bad_request(
            S,
            format!("Unsupported content type {kind:?}: use page or blogpost"),
        ));
    }
    let l = listing(state, db, ctx, raw)?;
    let root_only = query_pairs(raw)
        .iter()
        .any(|(k, v)| k == "depth" && v.eq_ignore_ascii_case("root"));
    let all = db
        .content
        .values()
        .filter(|c| c.space_key == space.key && c.kind == kind && c.status == "current")
        .filter(|c| !root_only || c.parent_id.is_none())
        .map(|c| content_json(state, db, c, &l.ex, ctx))
        .collect();
    Ok(l.page.envelope(all, ctx, None))
}

async fn space_content_all(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(key): P1,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let db = state.db();
    let page = space_listing(&state, &db, &ctx, &key, "page", &raw)?;
    let blogpost = space_listing(&state, &db, &ctx, &key, "blogpost", &raw)?;
    Ok(Json(json!({
        "page": page,
        "blogpost": blogpost,
        "_links": {"base": ctx.base, "context": ctx.context},
    })))
}

async fn space_content_one(
    State(state): State<Shared>,
    ctx: Ctx,
    P2(key, kind): P2,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let db = state.db();
    Ok(Json(space_listing(&state, &db, &ctx, &key, &kind, &raw)?))
}

fn restriction_json(id: ContentId, op: &str, ctx: &Ctx) -> Value {
    let empty = json!({"results": [], "start": 0, "limit": 200, "size": 0});
    json!({
        "operation": op,
        "restrictions": {"user": empty, "group": empty},
        "_expandable": {"content": format!("/rest/api/content/{id}")},
        "_links": {"self": format!("{}/rest/api/content/{id}/restriction/byOperation/{op}", ctx.base)},
    })
}

async fn restrictions_all(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(id): P1,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, S)?;
    live(&state.db(), id, S)?;
    let mut out = Map::new();
    for op in OPERATIONS {
        out.insert(op.into(), restriction_json(id, op, &ctx));
    }
    out.insert(
        "_links".into(),
        json!({"base": ctx.base, "context": ctx.context}),
    );
    Ok(Json(Value::Object(out)))
}

async fn restrictions_one(
    State(state): State<Shared>,
    ctx: Ctx,
    P2(id, op): P2,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, S)?;
    live(&state.db(), id, S)?;
    if !OPERATIONS.contains(&op.as_str()) {
        return Err(ApiError::bad_request(
            S,
            format!("Unknown operation {op:?}: use read or update"),
        ));
    }
    Ok(Json(restriction_json(id, &op, &ctx)))
}
