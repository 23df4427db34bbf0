//! `/admin/v1/openapi.json`, derived from the handlers' `#[utoipa::path]`s and the types they
//! take and answer (`schema.rs`), plus what every admin request shares (the admin middleware's
//! 401 and 503) and the few constraints utoipa can't derive (which fields go together).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::oidc::session;
use super::{admin_tokens, extender, native};
use crate::state::Shared;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "cfl gateway admin API",
        version = "1",
        description = "Tokens, the audit log and a restriction checker for `cfl serve`, plus Extender's token API. \
Every error is JSON `{\"error\": CODE, \"message\": TEXT}` (schema `Error`): the code is stable for scripts, the message says what to fix. \
Authenticate with `Authorization: Bearer ADMIN_TOKEN` (or Basic `ANY:ADMIN_TOKEN`, as Extender scripts do), \
or with a sign-in session (`[admin.oidc]`): `Bearer cfls_…` from `cfl gateway login`, or the admin page's `cfl_admin_session` cookie, \
whose requests other than GET/HEAD/OPTIONS must send `X-CSRF-Token` (from `GET /admin/v1/session`) and this gateway's `Origin` (else 403 `csrf`). \
Each credential has a role (`admin`, `token-manager`, `auditor`); an operation the role may not use answers 403 `forbidden_by_role`."
    ),
    paths(
        native::list,
        native::create,
        native::show,
        native::revoke,
        native::audit,
        native::verify,
        native::check,
        session::show,
        session::sign_out,
        admin_tokens::create,
        admin_tokens::revoke,
        serve,
        extender::list,
        extender::set,
        extender::remove,
    )
)]
struct AdminApi;

/// The document's own route, mounted beside the native API it describes (`/admin/v1`).
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/openapi.json", get(serve))
        .method_not_allowed_fallback(super::extract::method_not_allowed)
}

/// This document.
#[utoipa::path(get, path = "/admin/v1/openapi.json", operation_id = "openapi",
    security(()),
    responses((status = 200, description = "this document (public: it describes, it grants nothing)", content_type = "application/json", body = Object)))]
async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

/// The document as served (built once).
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(AdminApi::openapi()).unwrap_or_default();
        add_admin_authentication(&mut doc);
        add_constraints(&mut doc);
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

/// Every operation but this document's own is behind the admin middleware (`admin/mod.rs`),
/// which answers 401 without an admin credential and 503 when the store can't say.
fn add_admin_authentication(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({
        "adminToken": {"type": "http", "scheme": "bearer", "description": "a gateway admin token"},
        "adminBasic": {"type": "http", "scheme": "basic", "description": "any user name, the admin token as the password (Extender scripts; or a Confluence admin's own credentials when `[admin] confluence_admin_groups` is set)"}
    });
    doc["security"] = json!([{"adminToken": []}, {"adminBasic": []}]);
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut() {
            let public = operation["security"].as_array().is_some_and(|s| {
                s.iter()
                    .all(|r| r.as_object().is_some_and(|r| r.is_empty()))
            });
            if public {
                continue;
            }
            let responses = &mut operation["responses"];
            responses["401"] = error_response(
                "`admin_required`: no admin credential, or not a valid one (with `WWW-Authenticate: Bearer`)",
            );
            responses["503"] =
                error_response("`store_unavailable`: the store did not answer; try again shortly");
            if responses.get("403").is_none() {
                responses["403"] = error_response(
                    "`forbidden_by_role`: this credential's role may not use this operation; `csrf`: a cookie session's request without its `X-CSRF-Token` or from another `Origin`",
                );
            }
        }
    }
}

/// Which fields go together, which utoipa can't derive from a struct: refusing what the schema
/// allows (or the reverse) would break the contract (400 for a request the schema calls valid).
fn add_constraints(doc: &mut Value) {
    let schemas = &mut doc["components"]["schemas"];
    // Not both expiries (either may be null).
    schemas["NewToken"]["anyOf"] = json!([
        {"properties": {"expiresAt": {"type": "null"}}},
        {"properties": {"daysUntilExpiry": {"type": "null"}}}
    ]);
    // Extender clients send days as numbers or as strings.
    schemas["SetRequest"]["properties"]["daysUntilExpiry"] = json!({
        "description": "whole days, 1 to 3650, as a number or a string of digits; empty or null: never expires",
        "oneOf": [
            {"type": "null"},
            {"type": "integer", "minimum": 1, "maximum": 3650},
            {"type": "string", "pattern": r"^\s*([1-9][0-9]{0,2}|[1-2][0-9]{3}|3[0-5][0-9]{2}|36[0-4][0-9]|3650)?\s*$"}
        ]
    });
    // A token to check against, or rules.
    schemas["CheckRequest"]["anyOf"] = json!([
        {"required": ["tokenId"], "properties": {"tokenId": {"type": "string"}}},
        {"required": ["restrictions"], "properties": {"restrictions": {"type": "array"}}}
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_lists_its_errors_as_the_gateways_json() {
        let doc: Value = serde_json::from_str(document()).unwrap();
        let error = &doc["components"]["schemas"]["Error"];
        assert_eq!(error["required"], json!(["error", "message"]), "{error}");
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                for (status, r) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert_eq!(
                            r["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/Error",
                            "{method} {path} {status}"
                        );
                    }
                }
                if path != "/admin/v1/openapi.json" {
                    assert!(
                        responses.contains_key("401") && responses.contains_key("503"),
                        "{method} {path}"
                    );
                }
            }
        }
        let delete = &doc["paths"]["/admin/v1/tokens/{id}"]["delete"];
        assert!(
            delete["description"]
                .as_str()
                .is_some_and(|d| d.contains("use_after_free")),
            "{delete}"
        );
    }
}
