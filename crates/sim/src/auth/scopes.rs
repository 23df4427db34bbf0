//! Scope enforcement for scope-limited credentials.
//!
//! Cloud (scoped API tokens and OAuth 2.0 bearers on `/ex/confluence/{cloudId}`): each route
//! needs one of a set of scopes; both the classic (`read:confluence-content.all`) and the granular
//! (`read:page:confluence`) names are accepted. A miss is the gateway's
//! `401 {"code":401,"message":"Unauthorized; scope does not match"}`.
//!
//! DC OAuth 2.0: scopes `READ` < `WRITE` < `ADMIN` < `SYSTEM_ADMIN`, each including the ones
//! below; reads need READ, writes WRITE, the PAT admin routes ADMIN. A miss gets the same body
//! (the real DC message is unverified).

use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{ApiBase, AuthMethod, Caller};
use crate::config::Flavor;
use crate::Shared;

/// `None` when the caller may go ahead, else the 401 to send.
pub(super) fn enforce(
    state: &Shared,
    base: ApiBase,
    caller: &Caller,
    method: &Method,
    path: &str,
) -> Option<Response> {
    if !matches!(caller.method, AuthMethod::ScopedToken | AuthMethod::OAuth2) {
        return None;
    }
    let granted = caller.scopes.as_deref()?;
    let ok = match state.flavor() {
        Flavor::Cloud => {
            // Scoped credentials never reach the site (rejected earlier); be safe anyway.
            base == ApiBase::ApiGateway
                && cloud_required_scopes(method, path)
                    .iter()
                    .any(|need| granted.iter().any(|g| g == need))
        }
        Flavor::Dc => {
            let need = dc_required_scope(method, path);
            granted.iter().any(|g| dc_rank(g) >= dc_rank(need))
        }
    };
    (!ok).then(scope_mismatch)
}

/// The gateway's answer when a token lacks the route's scope.
pub fn scope_mismatch() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"code":401,"message":"Unauthorized; scope does not match"}"#,
    )
        .into_response()
}

const CONTENT_READ: &[&str] = &[
    "read:confluence-content.all",
    "read:confluence-content.summary",
    "read:page:confluence",
    "read:content:confluence",
    "read:content-details:confluence",
];
const CONTENT_WRITE: &[&str] = &[
    "write:confluence-content",
    "write:page:confluence",
    "write:content:confluence",
];
const CONTENT_DELETE: &[&str] = &[
    "write:confluence-content",
    "delete:page:confluence",
    "delete:content:confluence",
];
const SPACE_READ: &[&str] = &["read:confluence-space.summary", "read:space:confluence"];
const SPACE_WRITE: &[&str] = &["write:confluence-space", "write:space:confluence"];
const USER_READ: &[&str] = &["read:confluence-user", "read:user:confluence"];
const SEARCH: &[&str] = &["search:confluence"];
const ATTACHMENT_READ: &[&str] = &[
    "read:confluence-content.all",
    "readonly:content.attachment:confluence",
    "read:attachment:confluence",
];
const ATTACHMENT_WRITE: &[&str] = &["write:confluence-file", "write:attachment:confluence"];
const LABEL_READ: &[&str] = &["read:confluence-content.all", "read:label:confluence"];
const LABEL_WRITE: &[&str] = &["write:confluence-content", "write:label:confluence"];
const BLOG_READ: &[&str] = &["read:confluence-content.all", "read:blogpost:confluence"];
const BLOG_WRITE: &[&str] = &["write:confluence-content", "write:blogpost:confluence"];
const BLOG_DELETE: &[&str] = &["write:confluence-content", "delete:blogpost:confluence"];
// v2 routes whose granular scope is not their resource's (per the v2 spec's `security`).
const HIERARCHY_READ: &[&str] = &[
    "read:confluence-content.all",
    "read:confluence-content.summary",
    "read:hierarchical-content:confluence",
];
const METADATA_READ: &[&str] = &[
    "read:confluence-content.all",
    "read:confluence-content.summary",
    "read:content.metadata:confluence",
];
const V2_PAGE_LABELS: &[&str] = &[
    "read:confluence-content.all",
    "read:page:confluence",
    "read:label:confluence",
];
const FOLDER_READ: &[&str] = &[
    "read:confluence-content.all",
    "read:confluence-content.summary",
    "read:folder:confluence",
];
const COMMENT_READ: &[&str] = &["read:confluence-content.all", "read:comment:confluence"];
const COMMENT_WRITE: &[&str] = &["write:confluence-content", "write:comment:confluence"];
const FOLDER_WRITE: &[&str] = &["write:confluence-content", "write:folder:confluence"];
const FOLDER_DELETE: &[&str] = &["write:confluence-content", "delete:folder:confluence"];

/// The scopes of which one is needed for `method path` on Cloud, where `path` is relative to
/// `/wiki` (`/rest/api/...` or `/api/v2/...`). Unknown routes fall back to the content scopes.
pub fn cloud_required_scopes(method: &Method, path: &str) -> &'static [&'static str] {
    let read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let delete = *method == Method::DELETE;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let rest: &[&str] = match segs.as_slice() {
        ["rest", "api", rest @ ..] | ["api", "v2", rest @ ..] => rest,
        // Paths under /wiki/ex/confluence/... are already stripped; anything else is content.
        other => other,
    };
    let has = |s: &str| rest.contains(&s);
    let first = rest.first().copied().unwrap_or("");
    let pick = |r: &'static [&'static str], w: &'static [&'static str]| if read { r } else { w };
    let v2 = segs.starts_with(&["api", "v2"]);
    if v2 {
        match rest {
            [_, _, "direct-children"] => return HIERARCHY_READ,
            [_, _, "ancestors"] => return METADATA_READ,
            ["pages", _, "labels"] => return V2_PAGE_LABELS,
            // Deleting a page property needs write:page, not delete:page (v2 spec `security`).
            ["pages", _, "properties", ..] => return pick(CONTENT_READ, CONTENT_WRITE),
            ["pages", _, "footer-comments" | "inline-comments"]
            | ["footer-comments" | "inline-comments", ..] => {
                return pick(COMMENT_READ, COMMENT_WRITE)
            }
            // v2 blog posts take the page scopes (v2 spec `security`), not the blogpost ones.
            ["blogposts", ..] if delete => return CONTENT_DELETE,
            ["blogposts", ..] | ["spaces", _, "blogposts"] => {
                return pick(CONTENT_READ, CONTENT_WRITE)
            }
            ["folders", ..] if delete => return FOLDER_DELETE,
            ["folders", ..] => return pick(FOLDER_READ, FOLDER_WRITE),
            _ => {}
        }
    }
    if first == "user" || first == "users" {
        return USER_READ;
    }
    if first == "search" || (first == "content" && rest.get(1) == Some(&"search")) {
        return SEARCH;
    }
    if has("attachment") || has("attachments") {
        return pick(ATTACHMENT_READ, ATTACHMENT_WRITE);
    }
    if has("label") || has("labels") {
        return pick(LABEL_READ, LABEL_WRITE);
    }
    if (first == "space" || first == "spaces") && rest.len() <= 2 {
        return pick(SPACE_READ, SPACE_WRITE);
    }
    if first == "blogposts" {
        return if delete {
            BLOG_DELETE
        } else {
            pick(BLOG_READ, BLOG_WRITE)
        };
    }
    if read {
        CONTENT_READ
    } else if delete {
        CONTENT_DELETE
    } else {
        CONTENT_WRITE
    }
}

/// The DC OAuth 2.0 scope `method path` needs (path relative to the base URL).
pub fn dc_required_scope(method: &Method, path: &str) -> &'static str {
    if path.contains("/rest/pat/latest/admin/") || path.ends_with("/rest/pat/latest/tokens/search")
    {
        "ADMIN"
    } else if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        "READ"
    } else {
        "WRITE"
    }
}

fn dc_rank(scope: &str) -> u8 {
    match scope.to_ascii_uppercase().as_str() {
        "READ" => 1,
        "WRITE" => 2,
        "ADMIN" => 3,
        "SYSTEM_ADMIN" => 4,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_routes_map_to_their_scopes() {
        let s = |m: Method, p: &str| cloud_required_scopes(&m, p);
        assert!(s(Method::GET, "/rest/api/content/123").contains(&"read:confluence-content.all"));
        assert!(s(Method::GET, "/api/v2/pages/5").contains(&"read:page:confluence"));
        assert!(s(Method::PUT, "/rest/api/content/123").contains(&"write:confluence-content"));
        assert!(!s(Method::PUT, "/rest/api/content/123").contains(&"read:confluence-content.all"));
        assert_eq!(s(Method::GET, "/rest/api/space"), SPACE_READ);
        assert_eq!(s(Method::GET, "/rest/api/space/DEV/content"), CONTENT_READ);
        assert_eq!(s(Method::GET, "/rest/api/user/current"), USER_READ);
        assert_eq!(s(Method::GET, "/rest/api/search"), SEARCH);
        assert_eq!(s(Method::GET, "/rest/api/content/search"), SEARCH);
        assert_eq!(
            s(Method::POST, "/rest/api/content/1/child/attachment"),
            ATTACHMENT_WRITE
        );
        assert_eq!(s(Method::DELETE, "/api/v2/pages/1"), CONTENT_DELETE);
        assert_eq!(s(Method::GET, "/api/v2/spaces"), SPACE_READ);
        assert_eq!(s(Method::GET, "/api/v2/folders/1"), FOLDER_READ);
        assert_eq!(s(Method::POST, "/api/v2/folders"), FOLDER_WRITE);
        assert_eq!(s(Method::DELETE, "/api/v2/folders/1"), FOLDER_DELETE);
        assert_eq!(
            s(Method::GET, "/api/v2/folders/1/direct-children"),
            HIERARCHY_READ
        );
        assert_eq!(s(Method::GET, "/api/v2/pages/1/ancestors"), METADATA_READ);
        assert_eq!(s(Method::GET, "/api/v2/pages/1/labels"), V2_PAGE_LABELS);
        assert_eq!(
            s(Method::PUT, "/rest/api/content/1/move/append/2"),
            CONTENT_WRITE
        );
    }

    #[test]
    fn dc_scopes_are_hierarchical() {
        assert_eq!(dc_required_scope(&Method::GET, "/rest/api/content"), "READ");
        assert_eq!(
            dc_required_scope(&Method::POST, "/rest/api/content"),
            "WRITE"
        );
        assert_eq!(
            dc_required_scope(&Method::DELETE, "/rest/pat/latest/admin/tokens"),
            "ADMIN"
        );
        assert!(dc_rank("write") > dc_rank("READ"));
        assert_eq!(dc_rank("bogus"), 0);
    }
}
