//! Cloud's removed REST v1: a v1 operation that is not in Atlassian's Cloud v1 description
//! answers `410 Gone` with Confluence's `GoneException` body (CHANGE-864, CHANGE-2520), on the
//! site and on `api.atlassian.com/ex/confluence/{cloudId}` alike. `legacy_v1 = true` in the
//! config turns this off for testing older clients; Data Center always serves all of v1.
//!
//! [`CLOUD_V1_OPERATIONS`] is a copy of every `/wiki/rest/api` operation in
//! `tests/specs/confluence-cloud-v1.openapi.json`, and `tests/conformance.rs` asserts the two are
//! equal. A static table rather than parsing the spec at start-up: it keeps a 300 KB JSON file out
//! of the `cfl` binary and start-up free of parsing, and the test still makes the spec the source
//! of truth (updating the spec without the table fails the build's tests).

use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Flavor;
use crate::Shared;

/// Confluence Cloud's body for a removed endpoint, byte for byte.
pub const GONE_BODY: &str = r#"{"statusCode":410,"message":"com.atlassian.confluence.api.service.exceptions.GoneException: This deprecated endpoint has been removed.","reason":"Gone"}"#;

/// (method, path template relative to `/wiki`) of every operation Cloud still serves under
/// `/wiki/rest/api`. Templates use `{name}` for one path segment.
pub const CLOUD_V1_OPERATIONS: &[(&str, &str)] = &[
    ("GET", "/rest/api/audit"),
    ("POST", "/rest/api/audit"),
    ("GET", "/rest/api/audit/export"),
    ("GET", "/rest/api/audit/retention"),
    ("PUT", "/rest/api/audit/retention"),
    ("GET", "/rest/api/audit/since"),
    ("POST", "/rest/api/content/archive"),
    ("PUT", "/rest/api/content/blueprint/instance/{draftId}"),
    ("POST", "/rest/api/content/blueprint/instance/{draftId}"),
    ("GET", "/rest/api/content/search"),
    ("DELETE", "/rest/api/content/{id}/pageTree"),
    ("PUT", "/rest/api/content/{pageId}/move/{position}/{targetId}"),
    ("PUT", "/rest/api/content/{id}/child/attachment"),
    ("POST", "/rest/api/content/{id}/child/attachment"),
    ("PUT", "/rest/api/content/{id}/child/attachment/{attachmentId}"),
    ("POST", "/rest/api/content/{id}/child/attachment/{attachmentId}/data"),
    ("GET", "/rest/api/content/{id}/child/attachment/{attachmentId}/download"),
    ("GET", "/rest/api/content/{id}/descendant"),
    ("GET", "/rest/api/content/{id}/descendant/{type}"),
    ("GET", "/rest/api/content/{id}/history/{version}/macro/id/{macroId}"),
    ("GET", "/rest/api/content/{id}/history/{version}/macro/id/{macroId}/convert/{to}"),
    ("GET", "/rest/api/content/{id}/history/{version}/macro/id/{macroId}/convert/async/{to}"),
    ("POST", "/rest/api/content/{id}/label"),
    ("DELETE", "/rest/api/content/{id}/label"),
    ("DELETE", "/rest/api/content/{id}/label/{label}"),
    ("GET", "/rest/api/content/{id}/notification/child-created"),
    ("GET", "/rest/api/content/{id}/notification/created"),
    ("POST", "/rest/api/content/{id}/pagehierarchy/copy"),
    ("POST", "/rest/api/content/{id}/copy"),
    ("POST", "/rest/api/content/{id}/permission/check"),
    ("GET", "/rest/api/content/{id}/restriction"),
    ("PUT", "/rest/api/content/{id}/restriction"),
    ("POST", "/rest/api/content/{id}/restriction"),
    ("DELETE", "/rest/api/content/{id}/restriction"),
    ("GET", "/rest/api/content/{id}/restriction/byOperation"),
    ("GET", "/rest/api/content/{id}/restriction/byOperation/{operationKey}"),
    ("GET", "/rest/api/content/{id}/restriction/byOperation/{operationKey}/byGroupId/{groupId}"),
    ("PUT", "/rest/api/content/{id}/restriction/byOperation/{operationKey}/byGroupId/{groupId}"),
    ("DELETE", "/rest/api/content/{id}/restriction/byOperation/{operationKey}/byGroupId/{groupId}"),
    ("GET", "/rest/api/content/{id}/restriction/byOperation/{operationKey}/user"),
    ("PUT", "/rest/api/content/{id}/restriction/byOperation/{operationKey}/user"),
    ("DELETE", "/rest/api/content/{id}/restriction/byOperation/{operationKey}/user"),
    ("GET", "/rest/api/content/{id}/state"),
    ("PUT", "/rest/api/content/{id}/state"),
    ("DELETE", "/rest/api/content/{id}/state"),
    ("GET", "/rest/api/content/{id}/state/available"),
    ("POST", "/rest/api/content/{id}/version"),
    ("DELETE", "/rest/api/content/{id}/version/{versionNumber}"),
    ("GET", "/rest/api/content-states"),
    ("POST", "/rest/api/contentbody/convert/async/{to}"),
    ("GET", "/rest/api/contentbody/convert/async/{id}"),
    ("POST", "/rest/api/contentbody/convert/async/bulk/tasks"),
    ("GET", "/rest/api/contentbody/convert/async/bulk/tasks"),
    ("GET", "/rest/api/label"),
    ("GET", "/rest/api/group"),
    ("POST", "/rest/api/group"),
    ("GET", "/rest/api/group/by-id"),
    ("DELETE", "/rest/api/group/by-id"),
    ("GET", "/rest/api/group/picker"),
    ("GET", "/rest/api/group/{groupId}/membersByGroupId"),
    ("POST", "/rest/api/group/userByGroupId"),
    ("DELETE", "/rest/api/group/userByGroupId"),
    ("GET", "/rest/api/longtask"),
    ("GET", "/rest/api/longtask/{id}"),
    ("GET", "/rest/api/relation/{relationName}/from/{sourceType}/{sourceKey}/to/{targetType}"),
    ("GET", "/rest/api/relation/{relationName}/from/{sourceType}/{sourceKey}/to/{targetType}/{targetKey}"),
    ("PUT", "/rest/api/relation/{relationName}/from/{sourceType}/{sourceKey}/to/{targetType}/{targetKey}"),
    ("DELETE", "/rest/api/relation/{relationName}/from/{sourceType}/{sourceKey}/to/{targetType}/{targetKey}"),
    ("GET", "/rest/api/relation/{relationName}/to/{targetType}/{targetKey}/from/{sourceType}"),
    ("GET", "/rest/api/search"),
    ("GET", "/rest/api/search/user"),
    ("GET", "/rest/api/settings/lookandfeel"),
    ("PUT", "/rest/api/settings/lookandfeel"),
    ("POST", "/rest/api/settings/lookandfeel/custom"),
    ("DELETE", "/rest/api/settings/lookandfeel/custom"),
    ("GET", "/rest/api/settings/systemInfo"),
    ("GET", "/rest/api/settings/theme"),
    ("GET", "/rest/api/settings/theme/selected"),
    ("GET", "/rest/api/settings/theme/{themeKey}"),
    ("POST", "/rest/api/space"),
    ("POST", "/rest/api/space/_private"),
    ("PUT", "/rest/api/space/{spaceKey}"),
    ("DELETE", "/rest/api/space/{spaceKey}"),
    ("POST", "/rest/api/space/{spaceKey}/permission"),
    ("POST", "/rest/api/space/{spaceKey}/permission/custom-content"),
    ("DELETE", "/rest/api/space/{spaceKey}/permission/{id}"),
    ("GET", "/rest/api/space/{spaceKey}/settings"),
    ("PUT", "/rest/api/space/{spaceKey}/settings"),
    ("GET", "/rest/api/space/{spaceKey}/state"),
    ("GET", "/rest/api/space/{spaceKey}/state/settings"),
    ("GET", "/rest/api/space/{spaceKey}/state/content"),
    ("GET", "/rest/api/space/{spaceKey}/theme"),
    ("PUT", "/rest/api/space/{spaceKey}/theme"),
    ("DELETE", "/rest/api/space/{spaceKey}/theme"),
    ("GET", "/rest/api/space/{spaceKey}/watch"),
    ("GET", "/rest/api/space/{spaceKey}/label"),
    ("POST", "/rest/api/space/{spaceKey}/label"),
    ("DELETE", "/rest/api/space/{spaceKey}/label"),
    ("PUT", "/rest/api/template"),
    ("POST", "/rest/api/template"),
    ("GET", "/rest/api/template/blueprint"),
    ("GET", "/rest/api/template/page"),
    ("GET", "/rest/api/template/{contentTemplateId}"),
    ("DELETE", "/rest/api/template/{contentTemplateId}"),
    ("GET", "/rest/api/user"),
    ("GET", "/rest/api/user/anonymous"),
    ("GET", "/rest/api/user/current"),
    ("GET", "/rest/api/user/memberof"),
    ("GET", "/rest/api/user/bulk"),
    ("GET", "/rest/api/user/watch/content/{contentId}"),
    ("POST", "/rest/api/user/watch/content/{contentId}"),
    ("DELETE", "/rest/api/user/watch/content/{contentId}"),
    ("GET", "/rest/api/user/watch/label/{labelName}"),
    ("POST", "/rest/api/user/watch/label/{labelName}"),
    ("DELETE", "/rest/api/user/watch/label/{labelName}"),
    ("GET", "/rest/api/user/watch/space/{spaceKey}"),
    ("POST", "/rest/api/user/watch/space/{spaceKey}"),
    ("DELETE", "/rest/api/user/watch/space/{spaceKey}"),
    ("GET", "/rest/api/user/email"),
    ("GET", "/rest/api/user/email/bulk"),
    ("GET", "/rest/api/analytics/content/{contentId}/views"),
    ("GET", "/rest/api/analytics/content/{contentId}/viewers"),
    ("GET", "/rest/api/user/{userId}/property"),
    ("GET", "/rest/api/user/{userId}/property/{key}"),
    ("PUT", "/rest/api/user/{userId}/property/{key}"),
    ("POST", "/rest/api/user/{userId}/property/{key}"),
    ("DELETE", "/rest/api/user/{userId}/property/{key}"),
];

/// Whether Cloud still serves `method path` (`path` relative to `/wiki`, e.g. `/rest/api/search`).
/// HEAD is answered like GET.
pub fn cloud_serves(method: &Method, path: &str) -> bool {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    CLOUD_V1_OPERATIONS
        .iter()
        .any(|(m, template)| *m == method && template_matches(template, &segments))
}

fn template_matches(template: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    parts.len() == segments.len()
        && parts
            .iter()
            .zip(segments)
            .all(|(t, s)| (t.starts_with('{') && t.ends_with('}')) || t == s)
}

/// The 410 response for a removed endpoint.
pub fn gone() -> Response {
    (
        StatusCode::GONE,
        [(header::CONTENT_TYPE, "application/json")],
        GONE_BODY,
    )
        .into_response()
}

/// The layer in front of Cloud's REST routes (inside the auth layer, so the request log shows who
/// called a removed endpoint). The path it sees is relative to `/wiki`.
pub async fn removed_v1(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if state.flavor() == Flavor::Cloud
        && !state.config.legacy_v1
        && path.starts_with("/rest/api/")
        && !cloud_serves(req.method(), path)
    {
        return gone();
    }
    next.run(req).await
}

/// Fallback of the REST routers (paths relative to the API base): a path the sim has no route for is gone on today's Cloud when the
/// spec lacks it (the layer above never sees unrouted paths); otherwise it is simply not found.
pub async fn v1_fallback(State(state): State<Shared>, req: Request) -> Response {
    let path = req.uri().path();
    if state.flavor() == Flavor::Cloud
        && path.starts_with("/rest/api/")
        && !state.config.legacy_v1
        && !cloud_serves(req.method(), path)
    {
        return gone();
    }
    // Confluence's REST layer (Jersey) names the URI it could not route, in the v1 error body.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let uri = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.0.path().to_string())
        .unwrap_or_else(|| path.to_string());
    crate::error::ApiError::not_found(
        crate::auth::error_style(path),
        format!("null for uri: http://{host}{uri}"),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_and_kept_operations() {
        assert!(!cloud_serves(&Method::GET, "/rest/api/content"));
        assert!(!cloud_serves(&Method::GET, "/rest/api/content/123"));
        assert!(!cloud_serves(&Method::GET, "/rest/api/space"));
        assert!(!cloud_serves(
            &Method::GET,
            "/rest/api/content/1/child/attachment"
        ));
        assert!(!cloud_serves(&Method::GET, "/rest/api/content/1/label"));
        assert!(cloud_serves(&Method::GET, "/rest/api/content/search"));
        assert!(cloud_serves(&Method::HEAD, "/rest/api/search"));
        assert!(cloud_serves(&Method::POST, "/rest/api/content/1/label"));
        assert!(cloud_serves(&Method::DELETE, "/rest/api/content/1/label/x"));
        assert!(cloud_serves(
            &Method::POST,
            "/rest/api/content/1/child/attachment"
        ));
        assert!(cloud_serves(
            &Method::PUT,
            "/rest/api/content/1/move/append/2"
        ));
        assert!(cloud_serves(&Method::GET, "/rest/api/user/current"));
        assert!(!cloud_serves(&Method::GET, "/rest/api/user/current/extra"));
    }
}
