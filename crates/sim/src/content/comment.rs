//! v1 comments: `POST /rest/api/content` with `type: comment` and a `container` (a reply names
//! its parent comment in `ancestors`), listed by `/content/{id}/child/comment` (replies only with
//! `depth=all`), read and deleted through `/content/{id}` like any content.

use serde_json::{json, Value};

use super::json::{content_json, user_or_unknown, Expand};
use super::lookup::{live, not_found};
use super::Ctx;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{Comment, ContentId, Db};
use crate::{iso8601, Shared};

const S: ErrorStyle = ErrorStyle::V1;

/// The container's comments, oldest first; top-level ones only unless `deep`.
pub fn comments_of(db: &Db, container: ContentId, deep: bool) -> Vec<&Comment> {
    db.comments
        .values()
        .filter(|c| c.container_id == container && (deep || c.parent_comment.is_none()))
        .collect()
}

pub fn comment_json(state: &Shared, db: &Db, c: &Comment, ex: &Expand, ctx: &Ctx) -> Value {
    let title = db
        .content
        .get(&c.container_id)
        .map(|p| format!("Re: {}", p.title))
        .unwrap_or_default();
    let mut v = json!({
        "id": c.id.to_string(),
        "type": "comment",
        "status": "current",
        "title": title,
        "extensions": {"location": c.location},
        "_links": {
            "webui": format!("/pages/viewpage.action?pageId={}&focusedCommentId={}#comment-{}", c.container_id, c.id, c.id),
            "self": format!("{}/rest/api/content/{}", ctx.base, c.id),
        },
        "_expandable": {
            "container": format!("/rest/api/content/{}", c.container_id),
            "children": format!("/rest/api/content/{}/child", c.id),
            "history": format!("/rest/api/content/{}/history", c.id),
            "ancestors": "",
            "space": "",
        },
    });
    if ex.has("version") {
        v["version"] = json!({
            "by": user_or_unknown(state, db, &c.author),
            "when": iso8601(c.created_at),
            "number": c.version,
            "minorEdit": false,
            "message": "",
        });
    } else {
        v["_expandable"]["version"] = "".into();
    }
    if ex.has("body") {
        v["body"] = json!({
            "storage": {"value": c.body_storage, "representation": "storage"},
            "_expandable": {"view": "", "export_view": "", "editor": ""},
        });
    } else {
        v["_expandable"]["body"] = "".into();
    }
    if ex.has("container") {
        if let Some(p) = db.content.get(&c.container_id) {
            v["container"] = content_json(state, db, p, &Expand::default(), ctx);
        }
    }
    v
}

fn id_of(v: &Value) -> Option<ContentId> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Creates a comment from a v1 create body; answers its id.
pub fn create_v1(db: &mut Db, body: &Value, author: &str, now: i64) -> ApiResult<ContentId> {
    let container = body
        .pointer("/container/id")
        .and_then(id_of)
        .ok_or_else(|| ApiError::bad_request(S, "A comment needs container.id (the page)"))?;
    live(db, container, S)?;
    let parent_comment = body
        .get("ancestors")
        .and_then(|a| a.as_array())
        .and_then(|a| a.last())
        .and_then(|a| id_of(&a["id"]));
    if let Some(p) = parent_comment {
        if db
            .comments
            .get(&p)
            .is_none_or(|c| c.container_id != container)
        {
            return Err(not_found(S, &p.to_string()));
        }
    }
    let text = body
        .pointer("/body/storage/value")
        .and_then(|v| v.as_str())
        .ok_or_else(|| ApiError::bad_request(S, "A comment needs body.storage.value"))?;
    let id = db.alloc_id();
    db.comments.insert(
        id,
        Comment {
            id,
            container_id: container,
            parent_comment,
            body_storage: text.to_string(),
            location: "footer".into(),
            selection: String::new(),
            version: 1,
            created_at: now,
            author: author.to_string(),
        },
    );
    Ok(id)
}
