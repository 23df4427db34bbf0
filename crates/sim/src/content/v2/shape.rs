//! Small pieces several v2 answers share: account ids, space ids, `parentId`/`parentType`, the
//! `_links.base` of a single object.

use axum::Json;
use serde_json::Value;

use crate::content::Ctx;
use crate::model::{Content, Db};

pub(crate) fn account_id(db: &Db, name: &str) -> String {
    db.user_by_name(name)
        .map(|u| u.account_id.clone())
        .unwrap_or_else(|| name.to_string())
}

pub(crate) fn space_id_of(db: &Db, key: &str) -> String {
    db.spaces
        .get(key)
        .map(|s| s.id.to_string())
        .unwrap_or_default()
}

/// `parentId` and `parentType` (`page` or `folder`); absent at the space root.
pub(crate) fn set_parent(db: &Db, c: &Content, v: &mut Value) {
    if let Some(p) = c.parent_id {
        v["parentId"] = p.to_string().into();
        v["parentType"] = db.kind_of(p).unwrap_or("page").into();
    }
}

pub(crate) fn single(mut v: Value, ctx: &Ctx) -> Json<Value> {
    v["_links"]["base"] = ctx.base.clone().into();
    Json(v)
}
