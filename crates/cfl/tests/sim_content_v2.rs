//! Cloud REST v2 in the real `cfl sim`: spaces, pages CRUD (409 on a stale version), children,
//! labels, attachments, and cursor pagination walked to the end through `Link` / `_links.next`.

mod common;
use common::*;

use serde_json::{json, Value};

fn start(pages_per_space: usize) -> Sim {
    let toml = read_example("sim-cloud.toml").replace(
        "pages_per_space = 12",
        &format!("pages_per_space = {pages_per_space}"),
    );
    Sim::start(&toml)
}

fn auth() -> String {
    basic("alice@example.com", "ATATT3xFfGF0-classic-alice")
}

async fn get(sim: &Sim, path: &str) -> (u16, Option<String>, Value) {
    let r = http()
        .get(sim.url(path))
        .header("authorization", auth())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let link = r
        .headers()
        .get("link")
        .map(|l| l.to_str().unwrap().to_string());
    (status, link, r.json().await.unwrap_or(Value::Null))
}

async fn send(sim: &Sim, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let r = http()
        .request(method, sim.url(path))
        .header("authorization", auth())
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn cursor_pagination_walks_to_the_end_with_link_headers() {
    let sim = start(30);
    let mut next = Some("/wiki/api/v2/pages?limit=7".to_string());
    let mut ids = Vec::new();
    let mut pages = 0;
    while let Some(path) = next.take() {
        let (s, link, body) = get(&sim, &path).await;
        assert_eq!(s, 200, "{path}: {body}");
        pages += 1;
        assert!(pages < 50);
        for p in body["results"].as_array().unwrap() {
            ids.push(p["id"].as_str().unwrap().to_string());
        }
        let in_body = body["_links"]["next"].as_str().map(str::to_string);
        match (&link, &in_body) {
            (Some(l), Some(n)) => assert_eq!(l, &format!("<{n}>; rel=\"next\"")),
            (None, None) => {}
            other => panic!("Link header and _links.next disagree: {other:?}"),
        }
        // The next link is relative to the host, like Cloud's (`/wiki/api/v2/...`).
        next = in_body;
    }
    // 2 spaces x (30 pages + home page)
    assert_eq!(ids.len(), 62);
    assert_eq!(pages, 9);
    let mut uniq = ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), ids.len());

    let (s, _, first) = get(&sim, "/wiki/api/v2/pages").await;
    assert_eq!(s, 200);
    assert_eq!(first["results"].as_array().unwrap().len(), 25);
    let (_, _, big) = get(&sim, "/wiki/api/v2/pages?limit=1000").await;
    assert_eq!(big["results"].as_array().unwrap().len(), 62);
    let (s, _, err) = get(&sim, "/wiki/api/v2/pages?cursor=not-a-cursor").await;
    assert_eq!(s, 400);
    assert_eq!(err["errors"][0]["status"], 400);
    assert_eq!(get(&sim, "/wiki/api/v2/pages?limit=0").await.0, 400);
}

#[tokio::test]
async fn v2_spaces_pages_crud_children_labels_attachments() {
    let sim = start(12);
    let (s, _, spaces) = get(&sim, "/wiki/api/v2/spaces?keys=DEV").await;
    assert_eq!(s, 200);
    let dev = &spaces["results"][0];
    assert_eq!(dev["key"], "DEV");
    let space_id = dev["id"].as_str().unwrap().to_string();
    let home = dev["homepageId"].as_str().unwrap().to_string();
    let (s, _, one) = get(&sim, &format!("/wiki/api/v2/spaces/{space_id}")).await;
    assert_eq!((s, one["key"].as_str()), (200, Some("DEV")));
    assert_eq!(get(&sim, "/wiki/api/v2/spaces/1").await.0, 404);
    let (_, _, in_space) = get(
        &sim,
        &format!("/wiki/api/v2/spaces/{space_id}/pages?limit=250"),
    )
    .await;
    assert_eq!(in_space["results"].as_array().unwrap().len(), 13);

    let (s, created) = send(
        &sim,
        reqwest::Method::POST,
        "/wiki/api/v2/pages",
        json!({"spaceId": space_id, "status": "current", "title": "v2 page", "parentId": home,
               "body": {"representation": "storage", "value": "<p>v2</p>"}}),
    )
    .await;
    assert_eq!(s, 200, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["parentId"], home.as_str());
    assert_eq!(created["version"]["number"], 1);
    let (s, dup) = send(
        &sim,
        reqwest::Method::POST,
        "/wiki/api/v2/pages",
        json!({"spaceId": space_id, "title": "v2 page"}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(dup["errors"][0]["title"]
        .as_str()
        .unwrap()
        .contains("already exists"));

    let (s, _, read) = get(
        &sim,
        &format!("/wiki/api/v2/pages/{id}?body-format=storage"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(read["body"]["storage"]["value"], "<p>v2</p>");
    let (_, _, bare) = get(&sim, &format!("/wiki/api/v2/pages/{id}")).await;
    assert!(bare["body"].get("storage").is_none());

    let (s, stale) = send(
        &sim,
        reqwest::Method::PUT,
        &format!("/wiki/api/v2/pages/{id}"),
        json!({"id": id, "status": "current", "title": "v2 page", "version": {"number": 1},
               "body": {"representation": "storage", "value": "<p>x</p>"}}),
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(
        stale["errors"][0]["title"],
        "Version must be incremented on update. Current version is: 1"
    );
    let (s, upd) = send(
        &sim,
        reqwest::Method::PUT,
        &format!("/wiki/api/v2/pages/{id}"),
        json!({"id": id, "status": "current", "title": "v2 page renamed", "version": {"number": 2},
               "body": {"representation": "storage", "value": "<p>two</p>"}}),
    )
    .await;
    assert_eq!(s, 200, "{upd}");
    assert_eq!(upd["title"], "v2 page renamed");
    assert_eq!(upd["body"]["storage"]["value"], "<p>two</p>");

    let (_, _, kids) = get(&sim, &format!("/wiki/api/v2/pages/{home}/children")).await;
    assert!(kids["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["id"] == id.as_str()));

    // Labels added through v1 show up in v2.
    let r = http()
        .post(sim.url(&format!("/wiki/rest/api/content/{id}/label")))
        .header("authorization", auth())
        .json(&json!([{"prefix": "global", "name": "v2-label"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, _, labels) = get(&sim, &format!("/wiki/api/v2/pages/{id}/labels")).await;
    assert_eq!(labels["results"][0]["name"], "v2-label");

    // Attachments: seeded page 0 of each space has one.
    let first_child = in_space["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["parentId"] == home.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _, atts) = get(
        &sim,
        &format!("/wiki/api/v2/pages/{first_child}/attachments"),
    )
    .await;
    assert_eq!(s, 200);
    let att = &atts["results"][0];
    let att_id = att["id"].as_str().unwrap();
    assert!(att_id.starts_with("att"));
    let (s, _, single) = get(&sim, &format!("/wiki/api/v2/attachments/{att_id}")).await;
    assert_eq!(s, 200);
    assert_eq!(single["fileSize"], att["fileSize"]);
    let dl = single["downloadLink"].as_str().unwrap();
    let bytes = http()
        .get(sim.url(&format!("/wiki{dl}")))
        .header("authorization", auth())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.len() as u64, single["fileSize"].as_u64().unwrap());

    let r = http()
        .delete(sim.url(&format!("/wiki/api/v2/pages/{id}")))
        .header("authorization", auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (s, _, gone) = get(&sim, &format!("/wiki/api/v2/pages/{id}")).await;
    assert_eq!(s, 404);
    assert_eq!(gone["errors"][0]["status"], 404);
}
