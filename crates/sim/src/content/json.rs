//! v1 JSON shapes of spaces, pages and attachments, with Confluence's `expand` / `_expandable`.
//!
//! Real Confluence returns only what was asked for in `expand` and lists the rest under
//! `_expandable` (value: the link to fetch it). A single `GET /content/{id}` without `expand`
//! expands `space`, `history` and `version`; an explicit `expand` replaces those defaults; lists
//! expand nothing by default.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::ids::label_id;
use super::Ctx;
use crate::config::Flavor;
use crate::model::{Attachment, Content, ContentId, Db, Space, User};
use crate::{iso8601, Shared};

/// The parsed `expand` parameter (`a,b.c` → {"a", "b", "b.c"}).
#[derive(Debug, Default, Clone)]
pub struct Expand(HashSet<String>);

impl Expand {
    pub fn parse(raw: Option<&str>) -> Expand {
        let mut set = HashSet::new();
        for item in raw
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let mut prefix = String::new();
            for part in item.split('.') {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(part);
                set.insert(prefix.clone());
            }
        }
        Expand(set)
    }

    pub fn with(mut self, items: &[&str]) -> Expand {
        for i in items {
            self.0.insert(i.to_string());
        }
        self
    }

    pub fn has(&self, k: &str) -> bool {
        self.0.contains(k)
    }
}

/// The JSON Confluence returns for a known user.
pub fn user_json(state: &Shared, u: &User) -> Value {
    let picture = json!({
        "path": "/images/icons/profilepics/default.svg",
        "width": 48, "height": 48, "isDefault": true
    });
    match state.flavor() {
        Flavor::Dc => json!({
            "type": "known",
            "username": u.name,
            "userKey": u.key,
            "profilePicture": picture,
            "displayName": u.display_name,
            "_links": {"self": format!("/rest/api/user?key={}", u.key)},
            "_expandable": {"status": ""},
        }),
        Flavor::Cloud => json!({
            "type": "known",
            "accountId": u.account_id,
            "accountType": "atlassian",
            "email": u.email,
            "publicName": u.display_name,
            "profilePicture": picture,
            "displayName": u.display_name,
            "isExternalCollaborator": false,
            "_links": {"self": format!("/wiki/rest/api/user?accountId={}", u.account_id)},
            "_expandable": {"operations": "", "personalSpace": ""},
        }),
    }
}

pub fn user_or_unknown(state: &Shared, db: &Db, name: &str) -> Value {
    match db.user_by_name(name) {
        Some(u) => user_json(state, u),
        None => json!({"type": "unknown", "displayName": name, "_links": {}}),
    }
}

pub fn space_json(state: &Shared, s: &Space, ctx: &Ctx) -> Value {
    let webui = match state.flavor() {
        Flavor::Cloud => format!("/spaces/{}", s.key),
        Flavor::Dc => format!("/display/{}", s.key),
    };
    json!({
        "id": s.id,
        "key": s.key,
        "name": s.name,
        "type": "global",
        "status": "current",
        "_links": {"webui": webui, "self": format!("{}/rest/api/space/{}", ctx.base, s.key)},
        "_expandable": {
            "settings": format!("/rest/api/space/{}/settings", s.key),
            "metadata": "",
            "operations": "",
            "lookAndFeel": format!("/rest/api/settings/lookandfeel?spaceKey={}", s.key),
            "permissions": "",
            "icon": "",
            "description": "",
            "theme": format!("/rest/api/space/{}/theme", s.key),
            "history": "",
            "homepage": s.homepage_id.map(|h| format!("/rest/api/content/{h}")).unwrap_or_default(),
        },
    })
}

pub fn version_json(state: &Shared, db: &Db, c: &Content) -> Value {
    json!({
        "by": user_or_unknown(state, db, &c.last_modifier),
        "when": iso8601(c.updated_at),
        "number": c.version,
        "minorEdit": false,
        "message": "",
        "_links": {"self": format!("/rest/api/content/{}/version/{}", c.id, c.version)},
    })
}

fn webui(state: &Shared, c: &Content) -> String {
    match state.flavor() {
        Flavor::Cloud => format!("/spaces/{}/pages/{}", c.space_key, c.id),
        Flavor::Dc => format!("/pages/viewpage.action?pageId={}", c.id),
    }
}

/// A page (or blog post) as v1 renders it.
pub fn content_json(state: &Shared, db: &Db, c: &Content, ex: &Expand, ctx: &Ctx) -> Value {
    let id = c.id;
    let mut v = json!({
        "id": id.to_string(),
        "type": c.kind,
        "status": c.status,
        "title": c.title,
        "extensions": {"position": c.position},
        "_links": {
            "webui": webui(state, c),
            "edit": format!("/pages/resumedraft.action?draftId={id}"),
            "tinyui": format!("/x/{id}"),
            "self": format!("{}/rest/api/content/{id}", ctx.base),
        },
    });
    let mut expandable = serde_json::Map::new();
    let mut put = |v: &mut Value, key: &str, expanded: Option<Value>, link: String| match expanded {
        Some(x) => {
            v[key] = x;
        }
        None => {
            expandable.insert(key.to_string(), link.into());
        }
    };
    let space = ex
        .has("space")
        .then(|| {
            db.spaces
                .get(&c.space_key)
                .map(|s| space_json(state, s, ctx))
        })
        .flatten();
    put(
        &mut v,
        "space",
        space,
        format!("/rest/api/space/{}", c.space_key),
    );
    let version = ex.has("version").then(|| version_json(state, db, c));
    put(&mut v, "version", version, String::new());
    let history = ex.has("history").then(|| {
        json!({
            "latest": c.status == "current",
            "createdBy": user_or_unknown(state, db, &c.author),
            "createdDate": iso8601(c.created_at),
            "_links": {"self": format!("{}/rest/api/content/{id}/history", ctx.base)},
        })
    });
    put(
        &mut v,
        "history",
        history,
        format!("/rest/api/content/{id}/history"),
    );
    let ancestors = ex.has("ancestors").then(|| {
        Value::Array(
            db.ancestors_of(id)
                .into_iter()
                .map(|a| content_json(state, db, a, &Expand::default(), ctx))
                .collect(),
        )
    });
    put(&mut v, "ancestors", ancestors, String::new());
    let body = ex.has("body").then(|| body_json(c, ex));
    put(&mut v, "body", body, String::new());
    let children = ex
        .has("children")
        .then(|| children_json(state, db, id, ex, ctx));
    put(
        &mut v,
        "children",
        children,
        format!("/rest/api/content/{id}/child"),
    );
    let metadata = ex.has("metadata").then(|| metadata_json(c, ex, ctx));
    put(&mut v, "metadata", metadata, String::new());
    for k in ["container", "operations", "restrictions", "descendants"] {
        expandable.insert(k.into(), "".into());
    }
    v["_expandable"] = Value::Object(expandable);
    v
}

/// `body`: the storage representation when `body.storage` is expanded, the others as links.
fn body_json(c: &Content, ex: &Expand) -> Value {
    let id = c.id;
    let mut b = json!({});
    let mut bex = serde_json::Map::new();
    if ex.has("body.storage") {
        b["storage"] = json!({
            "value": c.body_storage,
            "representation": "storage",
            "embeddedContent": [],
            "_expandable": {"content": format!("/rest/api/content/{id}")},
        });
    } else {
        bex.insert("storage".into(), "".into());
    }
    bex.insert("view".into(), "".into());
    bex.insert("export_view".into(), "".into());
    bex.insert("editor".into(), "".into());
    b["_expandable"] = Value::Object(bex);
    b
}

/// `children`: the first page of child pages and attachments when expanded, links otherwise.
fn children_json(state: &Shared, db: &Db, id: ContentId, ex: &Expand, ctx: &Ctx) -> Value {
    let mut ch = json!({
        "_links": {"self": format!("{}/rest/api/content/{id}/child", ctx.base)},
        "_expandable": {
            "attachment": format!("/rest/api/content/{id}/child/attachment"),
            "comment": format!("/rest/api/content/{id}/child/comment"),
        },
    });
    if ex.has("children.page") {
        let kids: Vec<Value> = db
            .children_of(id)
            .into_iter()
            .filter(|k| k.kind == "page")
            .map(|k| content_json(state, db, k, &Expand::default(), ctx))
            .collect();
        let n = kids.len();
        ch["page"] = json!({
            "results": kids, "start": 0, "limit": n.max(25), "size": n,
            "_links": {"self": format!("{}/rest/api/content/{id}/child/page", ctx.base)},
        });
    } else {
        ch["_expandable"]["page"] = format!("/rest/api/content/{id}/child/page").into();
    }
    // Like children.page: an embedded first page of the page's attachments.
    if ex.has("children.attachment") {
        let atts: Vec<Value> = super::lookup::attachments_of(db, id)
            .into_iter()
            .map(|a| attachment_json(state, db, a, ctx))
            .collect();
        let n = atts.len();
        ch["attachment"] = json!({
            "results": atts, "start": 0, "limit": n.max(25), "size": n,
            "_links": {"self": format!("{}/rest/api/content/{id}/child/attachment", ctx.base)},
        });
        if let Some(m) = ch["_expandable"].as_object_mut() {
            m.remove("attachment");
        }
    }
    ch
}

/// `metadata`: the labels when `metadata.labels` is expanded.
fn metadata_json(c: &Content, ex: &Expand, ctx: &Ctx) -> Value {
    let id = c.id;
    if ex.has("metadata.labels") {
        let labels: Vec<Value> = c.labels.iter().map(|l| label_json(l)).collect();
        let n = labels.len();
        json!({
            "labels": {"results": labels, "start": 0, "limit": 200, "size": n,
                       "_links": {"self": format!("{}/rest/api/content/{id}/label", ctx.base)}},
            "_expandable": {"currentuser": "", "properties": "", "frontend": "", "editorHtml": ""},
        })
    } else {
        json!({"_expandable": {"labels": format!("/rest/api/content/{id}/label"), "currentuser": "", "properties": ""}})
    }
}

pub fn label_json(name: &str) -> Value {
    json!({"prefix": "global", "name": name, "id": label_id(name).to_string(), "label": name})
}

/// What a file name keeps unescaped in a URL path segment (RFC 3986 unreserved characters).
pub const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The real download link: `/download/attachments/{pageId}/{filename}?version=N&…&api=v2`.
pub fn download_path(a: &Attachment) -> String {
    let name = percent_encoding::utf8_percent_encode(&a.title, PATH_SEGMENT).to_string();
    format!(
        "/download/attachments/{}/{}?version={}&modificationDate={}&api=v2",
        a.container_id, name, a.version, a.created_at
    )
}

pub fn attachment_json(state: &Shared, db: &Db, a: &Attachment, ctx: &Ctx) -> Value {
    // Clients read the space key from this link (confluence-markdown-exporter does).
    let space = db
        .content
        .get(&a.container_id)
        .map(|c| format!("/rest/api/space/{}", c.space_key))
        .unwrap_or_default();
    json!({
        "id": format!("att{}", a.id),
        "type": "attachment",
        "status": "current",
        "title": a.title,
        "version": {
            "by": user_or_unknown(state, db, &a.author),
            "when": iso8601(a.created_at),
            "number": a.version,
            "minorEdit": false,
            "message": a.comment,
        },
        "metadata": {"mediaType": a.media_type, "comment": a.comment, "_expandable": {"currentuser": "", "properties": "", "labels": ""}},
        "extensions": {"mediaType": a.media_type, "fileSize": a.data.len(), "comment": a.comment},
        "_links": {
            "webui": format!("/pages/viewpageattachments.action?pageId={}&preview=%2F{}", a.container_id, a.id),
            "download": download_path(a),
            "self": format!("{}/rest/api/content/att{}", ctx.base, a.id),
        },
        "_expandable": {"container": format!("/rest/api/content/{}", a.container_id), "space": space, "history": "", "ancestors": "", "children": "", "descendants": "", "restrictions": "", "operations": ""},
    })
}
