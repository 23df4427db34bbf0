//! Cloud authentication in `cfl sim`: classic API tokens on the site, scoped tokens only on the
//! `/ex/confluence/{cloudId}` gateway with per-route scopes, and anonymous access.

mod common;
use common::*;

use serde_json::Value;

const CLOUD_ID: &str = "0d7c4a8e-1111-4222-8333-944455556666";

fn cloud(anonymous: bool) -> Sim {
    Sim::start(&format!(
        r#"flavor = "cloud"
anonymous_access = {anonymous}
cloud_id = "{CLOUD_ID}"

[[users]]
name = "alice"
display_name = "Alice"
email = "alice@example.com"
api_tokens = ["classic-alice"]
scoped_tokens = [
  {{ token = "scoped-user-classic", scopes = ["read:confluence-user"] }},
  {{ token = "scoped-user-granular", scopes = ["read:user:confluence"] }},
  {{ token = "scoped-pages-only", scopes = ["read:page:confluence", "write:page:confluence"] }},
  {{ token = "scoped-tree", scopes = ["read:page:confluence", "read:folder:confluence", "read:hierarchical-content:confluence", "read:content.metadata:confluence"] }},
]

[seed]
spaces = 1
pages_per_space = 1
"#
    ))
}

fn gateway(sim: &Sim, path: &str) -> String {
    sim.url(&format!("/ex/confluence/{CLOUD_ID}/wiki{path}"))
}

async fn get(url: String, auth: Option<String>) -> (u16, String) {
    let mut req = http().get(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn classic_token_works_on_the_site() {
    let sim = cloud(false);
    let (status, body) = get(
        sim.url("/wiki/rest/api/user/current"),
        Some(basic("alice@example.com", "classic-alice")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["email"], "alice@example.com");
    let (status, _) = get(
        sim.url("/wiki/rest/api/user/current"),
        Some(basic("alice@example.com", "wrong")),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn scoped_token_is_rejected_on_the_site_and_accepted_on_the_gateway() {
    let sim = cloud(true);
    let auth = basic("alice@example.com", "scoped-user-classic");
    let (status, _) = get(sim.url("/wiki/rest/api/user/current"), Some(auth.clone())).await;
    assert_eq!(status, 401);
    let (status, body) = get(gateway(&sim, "/rest/api/user/current"), Some(auth)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["displayName"], "Alice");
    // Granular scope names are accepted too.
    let (status, _) = get(
        gateway(&sim, "/rest/api/user/current"),
        Some(basic("alice@example.com", "scoped-user-granular")),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn scope_mismatch_is_the_gateway_401() {
    let sim = cloud(true);
    let (status, body) = get(
        gateway(&sim, "/rest/api/user/current"),
        Some(basic("alice@example.com", "scoped-pages-only")),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        json(&body),
        serde_json::json!({"code": 401, "message": "Unauthorized; scope does not match"})
    );
}

#[tokio::test]
async fn gateway_checks_the_cloud_id() {
    let sim = cloud(false);
    let (status, _) = get(
        sim.url("/ex/confluence/not-this-site/wiki/rest/api/user/current"),
        Some(basic("alice@example.com", "scoped-user-classic")),
    )
    .await;
    assert_eq!(status, 404);
    let tenant: Value = json(&get(sim.url("/_edge/tenant_info"), None).await.1);
    assert_eq!(tenant["cloudId"], CLOUD_ID);
}

#[tokio::test]
async fn anonymous_access_answers_anonymously_or_401() {
    let open = cloud(true);
    let (status, body) = get(open.url("/wiki/rest/api/user/current"), None).await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["type"], "anonymous");

    let closed = cloud(false);
    let (status, _) = get(closed.url("/wiki/rest/api/user/current"), None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn unknown_bearer_is_401_even_with_anonymous_access() {
    // Unlike DC's invalid-PAT quirk, Cloud refuses a bearer it doesn't know.
    let sim = cloud(true);
    let (status, _) = get(
        gateway(&sim, "/rest/api/user/current"),
        Some("Bearer made-up".into()),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn v2_tree_routes_need_their_granular_scopes() {
    let sim = cloud(false);
    let pages_only = basic("alice@example.com", "scoped-pages-only");
    let tree = basic("alice@example.com", "scoped-tree");
    // Find the seeded folder through the home page's direct children.
    let home = {
        let (_, pages) = get(gateway(&sim, "/api/v2/pages?limit=250"), Some(tree.clone())).await;
        let pages = json(&pages);
        pages["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p.get("parentId").is_none())
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let direct = format!("/api/v2/pages/{home}/direct-children");
    let (status, body) = get(gateway(&sim, &direct), Some(pages_only.clone())).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("scope does not match"), "{body}");
    let (status, body) = get(gateway(&sim, &direct), Some(tree.clone())).await;
    assert_eq!(status, 200, "{body}");
    let listed = json(&body);
    let folder = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "folder")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let one = format!("/api/v2/folders/{folder}");
    assert_eq!(
        get(gateway(&sim, &one), Some(pages_only.clone())).await.0,
        401
    );
    assert_eq!(get(gateway(&sim, &one), Some(tree.clone())).await.0, 200);
    let anc = format!("/api/v2/folders/{folder}/ancestors");
    assert_eq!(get(gateway(&sim, &anc), Some(pages_only)).await.0, 401);
    assert_eq!(get(gateway(&sim, &anc), Some(tree)).await.0, 200);
}

#[tokio::test]
async fn cloud_sim_reports_tenant_info() {
    let sim = Sim::example("sim-cloud.toml", "");
    assert_eq!(sim.startup["flavor"], "cloud");
    let body: serde_json::Value = http()
        .get(sim.url("/_edge/tenant_info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["cloudId"], sim.startup["cloud_id"]);
}
