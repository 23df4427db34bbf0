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

/// Where a request to `/rest/api/user/current` goes.
#[derive(Debug, Clone, Copy)]
enum At {
    Site,
    Gateway,
    /// The gateway path with a cloud id that is not this site's.
    OtherCloudId,
}

/// Which credential gets in where, as on Cloud: classic tokens on the site only, scoped tokens on
/// the gateway only and only with a matching scope (classic or granular name), an unknown bearer
/// never (even with anonymous access, unlike DC's invalid-PAT quirk), no credential only with
/// anonymous access. (anonymous_access, where, Authorization, status, a field the answer has)
#[tokio::test]
async fn who_gets_in_where() {
    let alice = |token: &str| Some(basic("alice@example.com", token));
    let scope_mismatch = ("message", "Unauthorized; scope does not match");
    type Case = (
        bool,
        At,
        Option<String>,
        u16,
        Option<(&'static str, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        (
            false,
            At::Site,
            alice("classic-alice"),
            200,
            Some(("email", "alice@example.com")),
        ),
        (false, At::Site, alice("wrong"), 401, None),
        (true, At::Site, alice("scoped-user-classic"), 401, None),
        (
            true,
            At::Gateway,
            alice("scoped-user-classic"),
            200,
            Some(("displayName", "Alice")),
        ),
        (
            true,
            At::Gateway,
            alice("scoped-user-granular"),
            200,
            Some(("displayName", "Alice")),
        ),
        (
            true,
            At::Gateway,
            alice("scoped-pages-only"),
            401,
            Some(scope_mismatch),
        ),
        (true, At::Gateway, Some("Bearer made-up".into()), 401, None),
        (
            false,
            At::OtherCloudId,
            alice("scoped-user-classic"),
            404,
            None,
        ),
        (true, At::Site, None, 200, Some(("type", "anonymous"))),
        (false, At::Site, None, 401, None),
    ];
    let (open, closed) = (cloud(true), cloud(false));
    for (anonymous, at, auth, want, field) in cases {
        let sim = if anonymous { &open } else { &closed };
        let path = "/rest/api/user/current";
        let url = match at {
            At::Site => sim.url(&format!("/wiki{path}")),
            At::Gateway => gateway(sim, path),
            At::OtherCloudId => sim.url(&format!("/ex/confluence/not-this-site/wiki{path}")),
        };
        let case = format!("{at:?} {auth:?} (anonymous access {anonymous})");
        let (status, body) = get(url, auth.clone()).await;
        assert_eq!(status, want, "{case}: {body}");
        if let Some((key, value)) = field {
            assert_eq!(json(&body)[key], value, "{case}: {body}");
        }
    }
    let tenant: Value = json(&get(closed.url("/_edge/tenant_info"), None).await.1);
    assert_eq!(tenant["cloudId"], CLOUD_ID);
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
