//! Content properties (`/content/{id}/property[/{key}]`, DC; Cloud only with `legacy_v1`) and
//! space properties (`/space/{key}/property[/{key}]`, DC). A property is a JSON value under a
//! key with a version: create answers 409 when the key exists, an update must carry version
//! current+1 (409 otherwise), and PUT on a missing key creates it, as the DC REST docs describe.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{json, Value};

use super::json::{content_json, space_json, user_or_unknown, Expand};
use super::lookup::{live, parse_id};
use super::page::json_body;
use super::pagination::V1Page;
use super::query::{q, query_pairs};
use super::{require_writer, Ctx, P1, P2};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{Db, Property};
use crate::{iso8601, Shared};

const S: ErrorStyle = ErrorStyle::V1;

pub fn content_routes() -> Router<Shared> {
    Router::new()
        .route("/content/{id}/property", get(list).post(create))
        .route(
            "/content/{id}/property/{key}",
            get(one).put(put).post(create_at).delete(delete),
        )
}

pub fn space_routes() -> Router<Shared> {
    Router::new()
        .route("/space/{key}/property", get(list).post(create))
        .route(
            "/space/{key}/property/{pkey}",
            get(one).put(put).post(create_at).delete(delete),
        )
}

/// Which store a request addresses, with the owner validated.
enum Owner {
    Content(u64),
    Space(String),
}

fn owner(db: &Db, ctx: &Ctx, raw: &str) -> ApiResult<Owner> {
    if ctx.path_and_query.contains("/rest/api/space/") {
        let s = db
            .spaces
            .values()
            .find(|s| s.key.eq_ignore_ascii_case(raw))
            .ok_or_else(|| ApiError::not_found(S, format!("No space with key : {raw}")))?;
        Ok(Owner::Space(s.key.clone()))
    } else {
        let id = parse_id(raw, S)?;
        live(db, id, S)?;
        Ok(Owner::Content(id))
    }
}

fn get_prop<'a>(db: &'a Db, o: &Owner, key: &str) -> Option<&'a Property> {
    match o {
        Owner::Content(id) => db.properties.get(&(*id, key.to_string())),
        Owner::Space(s) => db.space_properties.get(&(s.clone(), key.to_string())),
    }
}

fn set_prop(db: &mut Db, o: &Owner, key: &str, p: Option<Property>) {
    let k = key.to_string();
    match (o, p) {
        (Owner::Content(id), Some(p)) => {
            db.properties.insert((*id, k), p);
        }
        (Owner::Content(id), None) => {
            db.properties.remove(&(*id, k));
        }
        (Owner::Space(s), Some(p)) => {
            db.space_properties.insert((s.clone(), k), p);
        }
        (Owner::Space(s), None) => {
            db.space_properties.remove(&(s.clone(), k));
        }
    }
}

fn all_props<'a>(db: &'a Db, o: &Owner) -> Vec<(&'a str, &'a Property)> {
    match o {
        Owner::Content(id) => db
            .properties
            .iter()
            .filter(|((c, _), _)| c == id)
            .map(|((_, k), p)| (k.as_str(), p))
            .collect(),
        Owner::Space(s) => db
            .space_properties
            .iter()
            .filter(|((sk, _), _)| sk == s)
            .map(|((_, k), p)| (k.as_str(), p))
            .collect(),
    }
}

fn prop_json(state: &Shared, db: &Db, o: &Owner, key: &str, p: &Property, ctx: &Ctx) -> Value {
    let (owner_field, owner_value, self_link) = match o {
        Owner::Content(id) => (
            "content",
            db.content
                .get(id)
                .map(|c| content_json(state, db, c, &Expand::default(), ctx))
                .unwrap_or(Value::Null),
            format!("{}/rest/api/content/{id}/property/{key}", ctx.base),
        ),
        Owner::Space(s) => (
            "space",
            db.spaces
                .get(s)
                .map(|sp| space_json(state, sp, ctx))
                .unwrap_or(Value::Null),
            format!("{}/rest/api/space/{s}/property/{key}", ctx.base),
        ),
    };
    json!({
        "id": p.id.to_string(),
        "key": key,
        "value": p.value,
        "version": {
            "by": user_or_unknown(state, db, &p.author),
            "when": iso8601(p.updated_at),
            "message": "",
            "number": p.version,
            "minorEdit": false,
        },
        owner_field: owner_value,
        "_links": {"self": self_link, "base": ctx.base, "context": ctx.context},
    })
}

fn not_found(key: &str) -> ApiError {
    ApiError::not_found(S, format!("Cannot find property with key: {key}"))
}

fn check_key(key: &str) -> ApiResult<()> {
    // Confluence limits property keys to 255 characters.
    if key.is_empty() || key.chars().count() > 255 {
        return Err(ApiError::bad_request(
            S,
            "Property key must be 1 to 255 characters long",
        ));
    }
    Ok(())
}

async fn list(
    State(state): State<Shared>,
    ctx: Ctx,
    P1(raw): P1,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let pairs = query_pairs(&query);
    let page = V1Page::parse(
        q(&pairs, "start"),
        q(&pairs, "limit"),
        state.config.v1_limits.content,
    )?;
    let db = state.db();
    let o = owner(&db, &ctx, &raw)?;
    let all = all_props(&db, &o)
        .into_iter()
        .map(|(k, p)| prop_json(&state, &db, &o, k, p, &ctx))
        .collect();
    Ok(Json(page.envelope(all, &ctx, None)))
}

async fn one(State(state): State<Shared>, ctx: Ctx, P2(raw, key): P2) -> ApiResult<Json<Value>> {
    let db = state.db();
    let o = owner(&db, &ctx, &raw)?;
    let p = get_prop(&db, &o, &key).ok_or_else(|| not_found(&key))?;
    Ok(Json(prop_json(&state, &db, &o, &key, p, &ctx)))
}

fn insert_new(
    state: &Shared,
    db: &mut Db,
    o: &Owner,
    key: &str,
    value: Value,
    user: &str,
) -> ApiResult<()> {
    check_key(key)?;
    if get_prop(db, o, key).is_some() {
        return Err(ApiError::conflict(
            S,
            format!("Cannot add a property with key '{key}' as it already exists"),
        ));
    }
    let id = db.alloc_id();
    let p = Property {
        id,
        value,
        version: 1,
        updated_at: state.clock.now_ms(),
        author: user.to_string(),
    };
    set_prop(db, o, key, Some(p));
    Ok(())
}

async fn create(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    P1(raw): P1,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    let body = json_body(&body, S)?;
    let key = body["key"]
        .as_str()
        .ok_or_else(|| ApiError::bad_request(S, "A property needs a \"key\""))?
        .to_string();
    create_one(&state, &ctx, &raw, &key, body["value"].clone(), &user)
}

async fn create_at(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    P2(raw, key): P2,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    let body = json_body(&body, S)?;
    create_one(&state, &ctx, &raw, &key, body["value"].clone(), &user)
}

/// Adds property `key` to the content or space `raw` names and answers it, as both create
/// routes do (the key from the body, or from the path).
fn create_one(
    state: &Shared,
    ctx: &Ctx,
    raw: &str,
    key: &str,
    value: Value,
    user: &str,
) -> ApiResult<Json<Value>> {
    let mut db = state.db();
    let o = owner(&db, ctx, raw)?;
    insert_new(state, &mut db, &o, key, value, user)?;
    let p = get_prop(&db, &o, key).expect("just inserted");
    Ok(Json(prop_json(state, &db, &o, key, p, ctx)))
}

async fn put(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    P2(raw, key): P2,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let user = require_writer(&caller, &headers, S)?.to_string();
    let body = json_body(&body, S)?;
    let mut db = state.db();
    let o = owner(&db, &ctx, &raw)?;
    match get_prop(&db, &o, &key).cloned() {
        None => insert_new(&state, &mut db, &o, &key, body["value"].clone(), &user)?,
        Some(cur) => {
            let number = body
                .pointer("/version/number")
                .and_then(|v| v.as_u64())
                .ok_or_else(|| {
                    ApiError::bad_request(S, "Updating a property needs version.number (current+1)")
                })?;
            if number != u64::from(cur.version) + 1 {
                return Err(ApiError::conflict(
                    S,
                    format!(
                        "Version must be incremented on update. Current version is: {}",
                        cur.version
                    ),
                ));
            }
            let p = Property {
                value: body["value"].clone(),
                version: cur.version + 1,
                updated_at: state.clock.now_ms(),
                author: user,
                ..cur
            };
            set_prop(&mut db, &o, &key, Some(p));
        }
    }
    let p = get_prop(&db, &o, &key).expect("just written");
    Ok(Json(prop_json(&state, &db, &o, &key, p, &ctx)))
}

async fn delete(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ctx: Ctx,
    P2(raw, key): P2,
) -> ApiResult<StatusCode> {
    require_writer(&caller, &headers, S)?;
    let mut db = state.db();
    let o = owner(&db, &ctx, &raw)?;
    get_prop(&db, &o, &key).ok_or_else(|| not_found(&key))?;
    set_prop(&mut db, &o, &key, None);
    Ok(StatusCode::NO_CONTENT)
}
