//! The admin API keeps its contract: `/admin/v1/openapi.json` describes exactly the routes the
//! gateway serves, and the checker answers as the proxy would. Real gateway and simulator
//! processes on loopback.

mod common;
use std::collections::{BTreeMap, BTreeSet};

use common::gateway::*;
use common::*;
use serde_json::{json, Value};

fn static_gateway(sim: &Sim) -> Gateway {
    let (identity, env) = static_identity();
    Gateway::start(sim, identity, "", &env)
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Path → methods, as the document describes them.
async fn documented(gw: &Gateway) -> BTreeMap<String, BTreeSet<String>> {
    // Public: no credential needed.
    let doc: Value = http()
        .get(gw.url("/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .unwrap()
                .keys()
                .map(|m| m.to_ascii_uppercase())
                .filter(|m| METHODS.contains(&m.as_str()))
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// Path → nothing, for every `.route("…")` of the admin routers, with the prefix they are
/// nested under: read from the source, so a route added without a `#[utoipa::path]` is seen.
fn routed_paths() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/src/admin");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let quoted_after = |text: &str, marker: &str| -> Vec<String> {
        text.split(marker)
            .skip(1)
            .filter_map(|rest| rest.trim_start().strip_prefix('"'))
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_string)
            .collect()
    };
    let admin = read("mod.rs");
    let mut paths = BTreeSet::new();
    for (module, file) in [
        ("native", "native.rs"),
        ("openapi", "openapi.rs"),
        ("extender", "extender.rs"),
        ("session", "oidc/session.rs"),
        ("admin_tokens", "admin_tokens.rs"),
    ] {
        let prefix = admin
            .split(".nest(")
            .skip(1)
            .find(|n| n.contains(&format!("{module}::routes()")))
            .and_then(|n| n.trim_start().strip_prefix('"'))
            .and_then(|n| n.split('"').next())
            .unwrap_or_else(|| panic!("admin/mod.rs nests no {module}::routes()"));
        for route in quoted_after(&read(file), ".route(") {
            paths.insert(format!("{prefix}{route}"));
        }
    }
    assert!(paths.len() >= 5, "found too few routes: {paths:?}");
    paths
}

/// The document names every routed path and no other; on each, the methods the router takes
/// (its 405's `Allow`) are exactly the documented ones, and every documented method is served
/// by the admin API (not passed on to the proxy).
#[tokio::test]
async fn the_document_describes_exactly_the_routes_served() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = static_gateway(&sim);
    let doc = documented(&gw).await;
    assert_eq!(
        doc.keys().cloned().collect::<BTreeSet<_>>(),
        routed_paths(),
        "documented paths vs routed paths"
    );
    let c = http();
    for (path, methods) in &doc {
        let url = gw.url(&path.replace("{id}", "tok_contract0000"));
        for method in METHODS {
            let r = c
                .request(method.parse().unwrap(), &url)
                .bearer_auth(ADMIN_TOKEN)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let allow = r
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_string());
            let v: Value = r.json().await.unwrap_or(Value::Null);
            if methods.contains(method) {
                assert_ne!(status, 405, "{method} {path} is documented: {v}");
                let proxy_codes = ["missing_token", "unknown_token", "bearer_disabled"];
                assert!(
                    !proxy_codes.contains(&v["error"].as_str().unwrap_or("")),
                    "{method} {path} went to the proxy: {v}"
                );
            } else {
                assert_eq!(
                    (status, v["error"].as_str()),
                    (405, Some("method_not_allowed")),
                    "{method} {path} is not documented, so it must not be served"
                );
                let allowed: BTreeSet<String> = allow
                    .unwrap_or_default()
                    .split(',')
                    .map(|m| m.trim().to_string())
                    .filter(|m| !m.is_empty() && m != "HEAD")
                    .collect();
                assert_eq!(&allowed, methods, "{path}: Allow vs the document");
            }
        }
    }
}

/// The document: every nullable field says so, errors are `{"error","message"}`, and the
/// behaviour that surprises (a revoked token stays readable) is written where it happens.
#[tokio::test]
async fn the_document_states_nullability_errors_and_revocation() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = static_gateway(&sim);
    let doc: Value = http()
        .get(gw.url("/admin/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    // Every property the API may send as null allows null.
    let (_, secret) = gw.create_token(json!({"label": "plain"})).await;
    assert!(!secret.is_empty());
    let listed: Value = http()
        .get(gw.url("/admin/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = &listed["tokens"][0];
    for (field, value) in token.as_object().unwrap() {
        let property = &schemas["Token"]["properties"][field];
        assert!(!property.is_null(), "Token.{field} is not documented");
        if value.is_null() {
            assert!(
                property.to_string().contains("\"null\""),
                "Token.{field} is sent as null but not documented as nullable: {property}"
            );
        }
    }
    assert_eq!(schemas["Error"]["required"], json!(["error", "message"]));
    let delete = doc["paths"]["/admin/v1/tokens/{id}"]["delete"].to_string();
    assert!(
        delete.contains("stays readable") && delete.contains("use_after_free"),
        "{delete}"
    );
    // A past expiry is refused with a documented 400.
    let create = &doc["paths"]["/admin/v1/tokens"]["post"];
    assert!(create["responses"]["400"]["description"]
        .as_str()
        .unwrap()
        .contains("expiresAt"));
    let r = http()
        .post(gw.url("/admin/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"label": "late", "expiresAt": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_token_request", "{v}");
}

async fn check(gw: &Gateway, body: Value) -> Value {
    let r = http()
        .post(gw.url("/admin/v1/check"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The checker answers as the proxy would: a revoked or expired token is denied, saying why,
/// whatever its rules allow.
#[tokio::test]
async fn the_checker_denies_a_revoked_or_expired_token() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = static_gateway(&sim);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let (live, _) = gw
        .create_token(json!({"label": "live", "restrictions": ["[get].*"]}))
        .await;
    let (revoked, _) = gw
        .create_token(json!({"label": "gone", "restrictions": ["[get].*"]}))
        .await;
    let (expiring, _) = gw
        .create_token(
            json!({"label": "brief", "restrictions": ["[get].*"], "expiresAt": now + 1500}),
        )
        .await;
    gw.revoke(&revoked).await;
    let ask = |id: &str| json!({"tokenId": id, "method": "GET", "path": "/rest/api/space"});
    let v = check(&gw, ask(&live)).await;
    assert_eq!(
        (v["decision"].as_str(), v["rule"].as_u64()),
        (Some("allow"), Some(1)),
        "{v}"
    );

    let v = check(&gw, ask(&revoked)).await;
    assert_eq!(v["decision"], "deny", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("revoked"), "{v}");

    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    let v = check(&gw, ask(&expiring)).await;
    assert_eq!(v["decision"], "deny", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("expired"), "{v}");
}

/// A chosen secret that is already a token's is refused by name (409), on both APIs, instead of
/// failing in the store (it answered 503 `store_unavailable`).
#[tokio::test]
async fn a_chosen_secret_already_in_use_is_a_conflict() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = static_gateway(&sim);
    let chosen = "chosen-secret-0123456789abcdef";
    gw.create_token(json!({"label": "first", "token": chosen}))
        .await;
    for (path, body) in [
        (
            "/admin/v1/tokens",
            json!({"label": "again", "token": chosen}),
        ),
        (
            "/rest/extender/1.0/tokenTools/set",
            json!({"label": "again", "token": chosen}),
        ),
    ] {
        let r = http()
            .post(gw.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (status, v["error"].as_str()),
            (409, Some("token_exists")),
            "{path}: {v}"
        );
    }
}

/// With minted PATs, creating a token asks Confluence (through the application link) whether
/// its user exists, and warns when not, minting no PAT for the question.
#[tokio::test]
async fn a_minted_pat_gateway_warns_about_an_unknown_user() {
    const PAT_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes, test only
    let sim = Sim::example("sim-dc.toml", "");
    let identity = "mode = \"minted-pat\"\nconsumer_key = \"cfl-gateway\"\nprivate_key_file = \"keys/demo-consumer.key.pem\"\nencryption_key_env = \"CFL_PAT_KEY\"";
    let gw = Gateway::start(&sim, identity, "", &[("CFL_PAT_KEY", PAT_KEY)]);
    let create = |user: &str| {
        http()
            .post(gw.url("/admin/v1/tokens"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&token_request(user))
            .send()
    };
    let ghost: Value = create("ghost-user").await.unwrap().json().await.unwrap();
    assert!(
        ghost["warning"]
            .as_str()
            .is_some_and(|w| w.contains("Confluence does not know user ghost-user")),
        "{ghost}"
    );
    let known: Value = create("svc-reports").await.unwrap().json().await.unwrap();
    assert!(
        known["secret"].is_string() && known.get("warning").is_none(),
        "{known}"
    );
    // Asking minted nothing: the first PAT comes with the first proxied request.
    use cfl_auth::oauth1::{with_requestor_id, Consumer, RequestParts, TokenParams};
    let consumer = Consumer::from_pem("cfl-gateway", &demo_private_key()).unwrap();
    let url = with_requestor_id(&sim.url("/rest/pat/latest/tokens"), "svc-reports").unwrap();
    let auth = consumer
        .authorization_now(&RequestParts::new("GET", &url), TokenParams::TwoLegged)
        .unwrap();
    let pats: Value = http()
        .get(&url)
        .header("authorization", auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pats.as_array().map(Vec::len), Some(0), "{pats}");
}

/// A `_method` field in a multipart body is refused like the query's: a small form before
/// anything reaches Confluence (400), a large upload by cutting it before that field's content;
/// uploads without one pass whole, however large.
#[tokio::test]
async fn a_method_field_in_a_multipart_body_never_reaches_confluence() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = static_gateway(&sim);
    let (_, secret) = gw.create_token(token_request("alice")).await;
    let auth = basic("alice", &secret);
    let c = http();
    let pages: Value = c
        .get(gw.url("/rest/api/content?spaceKey=OPS&limit=1"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page = pages["results"][0]["id"].as_str().unwrap().to_string();
    let url = gw.url(&format!("/rest/api/content/{page}/child/attachment"));
    let attachments = || async {
        let state: Value = http()
            .get(sim.url("/__sim/state"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state["attachments"].as_u64().unwrap()
    };
    let upload = |size: usize, name: &'static str, method_field: Option<&'static str>| {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(data)
                .file_name(name)
                .mime_str("application/octet-stream")
                .unwrap(),
        );
        if let Some(field) = method_field {
            form = form.text(field, "DELETE");
        }
        c.post(&url)
            .header("authorization", &auth)
            .header("x-atlassian-token", "no-check")
            .multipart(form)
            .send()
    };
    let before = attachments().await;

    // Small: refused before anything is sent, in any case.
    for field in ["_method", "_METHOD"] {
        let r = upload(1000, "small.bin", Some(field)).await.unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("override_refused")),
            "{v}"
        );
        assert!(v["message"].as_str().unwrap().contains(field), "{v}");
    }
    // Large (over the 1 MiB read cap): the upload is cut, so nothing is stored.
    let r = upload(3 << 20, "large.bin", Some("_method")).await;
    assert!(
        r.as_ref().map_or(true, |r| !r.status().is_success()),
        "{:?}",
        r.map(|r| r.status())
    );
    assert_eq!(attachments().await, before, "a cut upload stored nothing");

    // Without the field, small and large uploads go through whole.
    for (size, name) in [(1000, "ok-small.bin"), (3 << 20, "ok-large.bin")] {
        let r = upload(size, name, None).await.unwrap();
        assert_eq!(r.status(), 200, "{name}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            v["results"][0]["extensions"]["fileSize"], size,
            "{name}: {v}"
        );
    }
    assert_eq!(attachments().await, before + 2);
}

/// A path parameter axum can't decode is the gateway's JSON error too (it was plain text), with
/// the 400 the document lists for that operation.
#[tokio::test]
async fn an_undecodable_path_parameter_is_the_gateways_json() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = static_gateway(&sim);
    for method in ["GET", "DELETE"] {
        let r = http()
            .request(method.parse().unwrap(), gw.url("/admin/v1/tokens/%FF"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("invalid_path")),
            "{v}"
        );
    }
}
