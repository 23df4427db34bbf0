//! What popular Confluence clients need from `cfl sim` beyond the daily content calls, against the
//! real `cfl sim` process: history after updates, properties (409 on a taken key or a stale
//! version), comments, the tree views, groups, server information, Confluence's 404 JSON for an
//! unknown route, `expand=homepage`, the `start`/`limit` limits, and classic Cloud tokens refused on
//! the API gateway.

mod common;
use common::*;

use serde_json::{json, Value};

const CLASSIC: &str = "ATATT3xFfGF0-classic-alice";
const SCOPED: &str = "ATATT3xFfGF0-scoped-alice-read";

async fn call(
    sim: &Sim,
    auth: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = http()
        .request(m, sim.url(path))
        .header("authorization", auth);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn dc() -> (Sim, String) {
    (Sim::example("sim-dc.toml", ""), basic("admin", "admin"))
}

fn home_of(sim: &Sim) -> String {
    sim.startup["api_base"].as_str().unwrap().to_string()
}

async fn dc_home(sim: &Sim, auth: &str) -> String {
    let (s, dev) = call(
        sim,
        auth,
        "GET",
        "/rest/api/space/DEV?expand=homepage",
        None,
    )
    .await;
    assert_eq!(s, 200, "{dev}");
    dev["homepage"]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn space_expand_homepage_returns_the_page_not_a_link() {
    let (sim, auth) = dc();
    let (_, plain) = call(&sim, &auth, "GET", "/rest/api/space/DEV", None).await;
    assert!(plain.get("homepage").is_none());
    assert!(plain["_expandable"]["homepage"].is_string());
    let (s, dev) = call(
        &sim,
        &auth,
        "GET",
        "/rest/api/space/DEV?expand=homepage,description.plain",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(dev["homepage"]["title"], "DEV Home");
    assert!(dev["_expandable"].get("homepage").is_none());
    assert_eq!(dev["description"]["plain"]["representation"], "plain");
    let (_, list) = call(&sim, &auth, "GET", "/rest/api/space?expand=homepage", None).await;
    assert!(list["results"][0]["homepage"]["id"].is_string(), "{list}");
}

#[tokio::test]
async fn start_and_limit_out_of_range_are_400() {
    let (sim, auth) = dc();
    for q in ["start=100001", "limit=-1", "limit=ten", "start=abc"] {
        let (s, body) = call(&sim, &auth, "GET", &format!("/rest/api/content?{q}"), None).await;
        assert_eq!(s, 400, "{q}: {body}");
        assert_eq!(body["statusCode"], 400);
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains(q.split('=').next().unwrap()));
    }
    let (s, body) = call(
        &sim,
        &auth,
        "GET",
        "/rest/api/content?start=100000&limit=0",
        None,
    )
    .await;
    assert_eq!((s, body["size"].as_u64()), (200, Some(0)));
}

#[tokio::test]
async fn unknown_routes_answer_confluence_404_json() {
    let (sim, auth) = dc();
    let (s, body) = call(&sim, &auth, "GET", "/rest/api/no-such-thing", None).await;
    assert_eq!(s, 404);
    assert_eq!(body["statusCode"], 404);
    assert_eq!(body["reason"], "Not Found");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("/rest/api/no-such-thing"));
    let _ = home_of(&sim);
}

#[tokio::test]
async fn history_follows_updates_and_properties_are_versioned() {
    let (sim, auth) = dc();
    let home = dc_home(&sim, &auth).await;
    let (s, page) = call(
        &sim,
        &auth,
        "POST",
        "/rest/api/content",
        Some(json!({
        "type": "page", "title": "History", "space": {"key": "DEV"}, "ancestors": [{"id": home}],
        "body": {"storage": {"value": "<p>1</p>", "representation": "storage"}}})),
    )
    .await;
    assert_eq!(s, 200, "{page}");
    let id = page["id"].as_str().unwrap().to_string();
    let (_, h1) = call(
        &sim,
        &auth,
        "GET",
        &format!("/rest/api/content/{id}/history"),
        None,
    )
    .await;
    assert_eq!(h1["lastUpdated"]["number"], 1);
    assert!(h1.get("previousVersion").is_none());
    let (s, _) = call(
        &sim,
        &auth,
        "PUT",
        &format!("/rest/api/content/{id}"),
        Some(json!({
        "type": "page", "title": "History", "version": {"number": 2}})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, h2) = call(
        &sim,
        &auth,
        "GET",
        &format!("/rest/api/content/{id}/history"),
        None,
    )
    .await;
    assert_eq!(
        (
            h2["lastUpdated"]["number"].as_u64(),
            h2["previousVersion"]["number"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(h2["createdBy"]["username"], "admin");

    let prop = format!("/rest/api/content/{id}/property");
    let (s, p) = call(
        &sim,
        &auth,
        "POST",
        &prop,
        Some(json!({"key": "k", "value": {"n": 1}})),
    )
    .await;
    assert_eq!((s, p["version"]["number"].as_u64()), (200, Some(1)), "{p}");
    let (s, _) = call(
        &sim,
        &auth,
        "POST",
        &prop,
        Some(json!({"key": "k", "value": 2})),
    )
    .await;
    assert_eq!(s, 409, "a taken key");
    let (s, stale) = call(
        &sim,
        &auth,
        "PUT",
        &format!("{prop}/k"),
        Some(json!({"value": 3, "version": {"number": 1}})),
    )
    .await;
    assert_eq!(s, 409, "{stale}");
    let (s, p) = call(
        &sim,
        &auth,
        "PUT",
        &format!("{prop}/k"),
        Some(json!({"value": 3, "version": {"number": 2}})),
    )
    .await;
    assert_eq!((s, p["value"].as_u64()), (200, Some(3)));
    let (s, _) = call(&sim, &auth, "DELETE", &format!("{prop}/k"), None).await;
    assert_eq!(s, 204);
    assert_eq!(
        call(&sim, &auth, "GET", &format!("{prop}/k"), None).await.0,
        404
    );

    let sp = "/rest/api/space/DEV/property";
    assert_eq!(
        call(
            &sim,
            &auth,
            "POST",
            sp,
            Some(json!({"key": "s", "value": true}))
        )
        .await
        .0,
        200
    );
    let (_, list) = call(&sim, &auth, "GET", sp, None).await;
    assert_eq!(list["results"][0]["key"], "s");
    assert_eq!(list["results"][0]["space"]["key"], "DEV");
}

#[tokio::test]
async fn comments_children_descendants_and_space_content() {
    let (sim, auth) = dc();
    let home = dc_home(&sim, &auth).await;
    let (s, c) = call(
        &sim,
        &auth,
        "POST",
        "/rest/api/content",
        Some(json!({
        "type": "comment", "container": {"id": home, "type": "page"},
        "body": {"storage": {"value": "<p>top</p>", "representation": "storage"}}})),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let cid = c["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        &sim,
        &auth,
        "POST",
        "/rest/api/content",
        Some(json!({
        "type": "comment", "container": {"id": home, "type": "page"}, "ancestors": [{"id": cid}],
        "body": {"storage": {"value": "<p>reply</p>", "representation": "storage"}}})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, top) = call(
        &sim,
        &auth,
        "GET",
        &format!("/rest/api/content/{home}/child/comment"),
        None,
    )
    .await;
    assert_eq!(top["size"], 1);
    let (_, all) = call(
        &sim,
        &auth,
        "GET",
        &format!("/rest/api/content/{home}/child/comment?depth=all&expand=body.storage"),
        None,
    )
    .await;
    assert_eq!(
        all["results"][1]["body"]["storage"]["value"],
        "<p>reply</p>"
    );

    let (_, child) = call(
        &sim,
        &auth,
        "GET",
        &format!("/rest/api/content/{home}/child?expand=page"),
        None,
    )
    .await;
    let kids = child["page"]["size"].as_u64().unwrap();
    assert!(
        kids > 0 && child["_expandable"]["comment"].is_string(),
        "{child}"
    );
    let (_, desc) = call(
        &sim,
        &auth,
        "GET",
        &format!("/rest/api/content/{home}/descendant/page?limit=100"),
        None,
    )
    .await;
    // Every DEV page but the home page sits below it.
    let (_, everything) = call(
        &sim,
        &auth,
        "GET",
        "/rest/api/space/DEV/content/page?limit=100",
        None,
    )
    .await;
    assert_eq!(
        desc["size"].as_u64().unwrap() + 1,
        everything["size"].as_u64().unwrap()
    );
    assert!(desc["size"].as_u64().unwrap() > kids);
    let (_, root) = call(
        &sim,
        &auth,
        "GET",
        "/rest/api/space/DEV/content/page?depth=root",
        None,
    )
    .await;
    assert_eq!(root["results"][0]["id"].as_str(), Some(home.as_str()));
    assert_eq!(root["size"], 1);
    let (s, _) = call(
        &sim,
        &auth,
        "GET",
        &format!("/rest/api/content/{home}/descendant/blogpostx"),
        None,
    )
    .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn groups_members_and_server_information() {
    let (sim, auth) = dc();
    let (_, groups) = call(&sim, &auth, "GET", "/rest/api/group", None).await;
    let names: Vec<&str> = groups["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["confluence-administrators", "confluence-users"]);
    let (_, admins) = call(
        &sim,
        &auth,
        "GET",
        "/rest/api/group/confluence-administrators/member",
        None,
    )
    .await;
    let admins: Vec<&str> = admins["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(admins, ["admin"]);
    assert_eq!(
        call(&sim, &auth, "GET", "/rest/api/group/nope", None)
            .await
            .0,
        404
    );
    let (s, info) = call(&sim, &auth, "GET", "/rest/api/server-information", None).await;
    assert_eq!(s, 200);
    assert!(info["version"].as_str().unwrap().starts_with("9."));
    let (s, u) = call(&sim, &auth, "GET", "/rest/api/user?username=alice", None).await;
    assert_eq!((s, u["displayName"].as_str()), (200, Some("Alice Author")));
}

#[tokio::test]
async fn cloud_classic_token_is_401_on_the_api_gateway_and_fine_on_the_site() {
    let sim = Sim::example("sim-cloud.toml", "");
    let cloud_id = sim.startup["cloud_id"].as_str().unwrap().to_string();
    let gw = format!("/ex/confluence/{cloud_id}/wiki/rest/api/user/current");
    let (s, body) = call(&sim, &basic("alice@example.com", CLASSIC), "GET", &gw, None).await;
    assert_eq!(s, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("scopes"),
        "{body}"
    );
    let (s, me) = call(&sim, &basic("alice@example.com", SCOPED), "GET", &gw, None).await;
    assert_eq!((s, me["email"].as_str()), (200, Some("alice@example.com")));
    let (s, _) = call(
        &sim,
        &basic("alice@example.com", CLASSIC),
        "GET",
        "/wiki/rest/api/user/current",
        None,
    )
    .await;
    assert_eq!(s, 200);
    // Cloud keeps descendants and the restriction views in v1; Cloud never had server-information.
    let (_, found) = call(
        &sim,
        &basic("alice@example.com", CLASSIC),
        "GET",
        "/wiki/rest/api/search?cql=type%3Dpage&limit=1",
        None,
    )
    .await;
    let id = found["results"][0]["content"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, r) = call(
        &sim,
        &basic("alice@example.com", CLASSIC),
        "GET",
        &format!("/wiki/rest/api/content/{id}/restriction/byOperation/read"),
        None,
    )
    .await;
    assert_eq!((s, r["operation"].as_str()), (200, Some("read")));
    let (s, _) = call(
        &sim,
        &basic("alice@example.com", CLASSIC),
        "GET",
        &format!("/wiki/rest/api/content/{id}/history"),
        None,
    )
    .await;
    assert_eq!(s, 410);
}

#[tokio::test]
async fn reset_restores_the_seed() {
    let (sim, auth) = dc();
    let state = || async {
        http()
            .get(sim.url("/__sim/state"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let before = state().await;
    let home = dc_home(&sim, &auth).await;
    let (s, p) = call(
        &sim,
        &auth,
        "POST",
        "/rest/api/content",
        Some(json!({
        "type": "page", "title": "Scratch", "space": {"key": "DEV"}, "ancestors": [{"id": home}]})),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let (s, _) = call(
        &sim,
        &auth,
        "DELETE",
        &format!("/rest/api/content/{home}"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    assert_ne!(state().await["trashed"], before["trashed"]);
    let r = http().post(sim.url("/__sim/reset")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let after = state().await;
    assert_eq!(
        (&after["pages"], &after["trashed"]),
        (&before["pages"], &before["trashed"])
    );
    let (s, found) = call(
        &sim,
        &auth,
        "GET",
        "/rest/api/content?spaceKey=DEV&title=Scratch",
        None,
    )
    .await;
    assert_eq!((s, found["size"].as_u64()), (200, Some(0)));
    assert_eq!(dc_home(&sim, &auth).await, home);
}

#[tokio::test]
async fn cloud_v2_versions_properties_and_footer_comments() {
    let sim = Sim::example("sim-cloud.toml", "");
    let auth = basic("alice@example.com", CLASSIC);
    let (_, spaces) = call(&sim, &auth, "GET", "/wiki/api/v2/spaces?keys=DEV", None).await;
    let space_id = spaces["results"][0]["id"].as_str().unwrap().to_string();
    let (s, page) = call(&sim, &auth, "POST", "/wiki/api/v2/pages", Some(json!({
        "spaceId": space_id, "title": "V2 meta", "body": {"representation": "storage", "value": "<p>1</p>"}}))).await;
    assert_eq!(s, 200, "{page}");
    let id = page["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        &sim,
        &auth,
        "PUT",
        &format!("/wiki/api/v2/pages/{id}"),
        Some(json!({
        "id": id, "status": "current", "title": "V2 meta", "version": {"number": 2},
        "body": {"representation": "storage", "value": "<p>2</p>"}})),
    )
    .await;
    assert_eq!(s, 200);
    let (_, versions) = call(
        &sim,
        &auth,
        "GET",
        &format!("/wiki/api/v2/pages/{id}/versions"),
        None,
    )
    .await;
    let numbers: Vec<u64> = versions["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 1]);
    let (_, v1) = call(
        &sim,
        &auth,
        "GET",
        &format!("/wiki/api/v2/pages/{id}/versions/1"),
        None,
    )
    .await;
    assert_eq!(v1["nextVersion"], 2);

    let props = format!("/wiki/api/v2/pages/{id}/properties");
    let (s, p) = call(
        &sim,
        &auth,
        "POST",
        &props,
        Some(json!({"key": "k", "value": [1]})),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    assert_eq!(
        call(
            &sim,
            &auth,
            "POST",
            &props,
            Some(json!({"key": "k", "value": 1}))
        )
        .await
        .0,
        409
    );
    let (s, stale) = call(
        &sim,
        &auth,
        "PUT",
        &format!("{props}/{pid}"),
        Some(json!({"key": "k", "value": 2, "version": {"number": 1}})),
    )
    .await;
    assert_eq!((s, stale["errors"][0]["status"].as_u64()), (409, Some(409)));
    let (s, p) = call(
        &sim,
        &auth,
        "PUT",
        &format!("{props}/{pid}"),
        Some(json!({"key": "k", "value": 2, "version": {"number": 2}})),
    )
    .await;
    assert_eq!((s, p["value"].as_u64()), (200, Some(2)));
    assert_eq!(
        call(&sim, &auth, "DELETE", &format!("{props}/{pid}"), None)
            .await
            .0,
        204
    );
    let (_, none) = call(&sim, &auth, "GET", &props, None).await;
    assert_eq!(none["results"], json!([]));

    let (s, c) = call(
        &sim,
        &auth,
        "POST",
        "/wiki/api/v2/footer-comments",
        Some(json!({
        "pageId": id, "body": {"representation": "storage", "value": "<p>nice</p>"}})),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    let (s, _) = call(&sim, &auth, "POST", "/wiki/api/v2/footer-comments", Some(json!({
        "parentCommentId": c["id"], "body": {"representation": "storage", "value": "<p>reply</p>"}}))).await;
    assert_eq!(s, 201);
    let (_, list) = call(
        &sim,
        &auth,
        "GET",
        &format!("/wiki/api/v2/pages/{id}/footer-comments?body-format=storage"),
        None,
    )
    .await;
    assert_eq!(
        list["results"].as_array().unwrap().len(),
        1,
        "replies are not top-level: {list}"
    );
    assert_eq!(
        list["results"][0]["body"]["storage"]["value"],
        "<p>nice</p>"
    );
    let (s, _) = call(
        &sim,
        &auth,
        "POST",
        "/wiki/api/v2/footer-comments",
        Some(json!({
        "body": {"representation": "storage", "value": "<p>where?</p>"}})),
    )
    .await;
    assert_eq!(s, 400);

    let inline = |sel: &str| {
        json!({"pageId": id, "body": {"representation": "storage", "value": "<p>?</p>"},
        "inlineCommentProperties": {"textSelection": sel, "textSelectionMatchCount": 1, "textSelectionMatchIndex": 0}})
    };
    let (s, ic) = call(
        &sim,
        &auth,
        "POST",
        "/wiki/api/v2/inline-comments",
        Some(inline("2")),
    )
    .await;
    assert_eq!(s, 201, "{ic}");
    assert_eq!(ic["properties"]["inlineOriginalSelection"], "2");
    let (s, _) = call(
        &sim,
        &auth,
        "POST",
        "/wiki/api/v2/inline-comments",
        Some(inline("absent")),
    )
    .await;
    assert_eq!(s, 400);
    let (_, inl) = call(
        &sim,
        &auth,
        "GET",
        &format!("/wiki/api/v2/pages/{id}/inline-comments"),
        None,
    )
    .await;
    assert_eq!(inl["results"].as_array().unwrap().len(), 1);
    let (_, foot) = call(
        &sim,
        &auth,
        "GET",
        &format!("/wiki/api/v2/pages/{id}/footer-comments"),
        None,
    )
    .await;
    assert_eq!(
        foot["results"].as_array().unwrap().len(),
        1,
        "inline comments are not footer ones"
    );
}

#[tokio::test]
async fn dc_movepage_action_moves_pages_like_the_web_ui() {
    let (sim, auth) = dc();
    let home = dc_home(&sim, &auth).await;
    let mut ids = Vec::new();
    for title in ["Move A", "Move B"] {
        let (s, p) = call(
            &sim,
            &auth,
            "POST",
            "/rest/api/content",
            Some(json!({
            "type": "page", "title": title, "space": {"key": "DEV"}, "ancestors": [{"id": home}]})),
        )
        .await;
        assert_eq!(s, 200, "{p}");
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    let (a, b) = (&ids[0], &ids[1]);
    let mv = |q: String| {
        let sim = &sim;
        let auth = auth.clone();
        async move {
            let r = http()
                .post(sim.url(&format!("/pages/movepage.action?{q}")))
                .header("authorization", auth)
                .header("x-atlassian-token", "no-check")
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    };
    assert_eq!(
        mv(format!(
            "spaceKey=DEV&pageId={b}&targetId={a}&position=append"
        ))
        .await,
        200
    );
    let (_, page) = call(
        &sim,
        &auth,
        "GET",
        &format!("/rest/api/content/{b}?expand=ancestors"),
        None,
    )
    .await;
    assert_eq!(
        page["ancestors"].as_array().unwrap().last().unwrap()["id"].as_str(),
        Some(a.as_str())
    );
    assert_eq!(
        mv(format!("spaceKey=DEV&pageId={b}&position=topLevel")).await,
        200
    );
    let (_, page) = call(
        &sim,
        &auth,
        "GET",
        &format!("/rest/api/content/{b}?expand=ancestors"),
        None,
    )
    .await;
    assert_eq!(page["ancestors"], json!([]));
    assert_eq!(
        mv(format!(
            "spaceKey=DEV&pageId={b}&targetId={a}&position=sideways"
        ))
        .await,
        400
    );
    assert_eq!(
        mv(format!(
            "spaceKey=DEV&pageId={a}&targetId={a}&position=append"
        ))
        .await,
        400
    );
}
