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
    // api.atlassian.com refuses classic tokens: use the (read) scoped one there.
    let auth = if path.starts_with("/ex/") {
        basic("alice@example.com", "ATATT3xFfGF0-scoped-alice-read")
    } else {
        auth()
    };
    let r = http()
        .get(sim.url(path))
        .header("authorization", auth)
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
    // 2 spaces x (30 pages + home page), plus the 3 pages seeded in DEV's folders
    assert_eq!(ids.len(), 65);
    assert_eq!(pages, 10);
    let mut uniq = ids.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), ids.len());

    let (s, _, first) = get(&sim, "/wiki/api/v2/pages").await;
    assert_eq!(s, 200);
    assert_eq!(first["results"].as_array().unwrap().len(), 25);
    let (_, _, big) = get(&sim, "/wiki/api/v2/pages?limit=1000").await;
    assert_eq!(big["results"].as_array().unwrap().len(), 65);
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
    // 12 seeded pages, the home page and the 3 pages in the seeded folders.
    assert_eq!(in_space["results"].as_array().unwrap().len(), 16);

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

async fn delete(sim: &Sim, path: &str) -> u16 {
    http()
        .delete(sim.url(path))
        .header("authorization", auth())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn find<'a>(list: &'a Value, title: &str) -> &'a Value {
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"] == title)
        .unwrap_or_else(|| panic!("no {title:?} in {list}"))
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn folders_nest_and_direct_children_mix_pages_and_folders() {
    let sim = start(12);
    let (_, _, spaces) = get(&sim, "/wiki/api/v2/spaces?keys=DEV").await;
    let space_id = id_of(&spaces["results"][0]);
    let home = spaces["results"][0]["homepageId"]
        .as_str()
        .unwrap()
        .to_string();

    // The seeded tree: DEV Home > Runbooks (folder) > {2 pages, Archive (folder) > Old runbook}.
    let (s, _, direct) = get(&sim, &format!("/wiki/api/v2/pages/{home}/direct-children")).await;
    assert_eq!(s, 200);
    let runbooks = id_of(find(&direct, "Runbooks"));
    assert_eq!(find(&direct, "Runbooks")["type"], "folder");
    assert!(direct["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "page"));
    let (_, _, children) = get(&sim, &format!("/wiki/api/v2/pages/{home}/children")).await;
    assert!(children["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["title"] != "Runbooks"));
    let (s, _, folder) = get(&sim, &format!("/wiki/api/v2/folders/{runbooks}")).await;
    assert_eq!(s, 200, "{folder}");
    assert_eq!(folder["type"], "folder");
    assert_eq!(folder["parentId"], home.as_str());
    assert_eq!(folder["parentType"], "page");
    assert_eq!(folder["spaceId"], space_id.as_str());
    let (_, _, inside) = get(
        &sim,
        &format!("/wiki/api/v2/folders/{runbooks}/direct-children"),
    )
    .await;
    let kinds: Vec<(&str, &str)> = inside["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["title"].as_str().unwrap(), c["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("Restart the gateway", "page"),
            ("Rotate tokens", "page"),
            ("Archive", "folder")
        ]
    );
    let archive = id_of(find(&inside, "Archive"));
    let (_, _, deeper) = get(
        &sim,
        &format!("/wiki/api/v2/folders/{archive}/direct-children"),
    )
    .await;
    let old = id_of(find(&deeper, "Old runbook"));
    let (_, _, old_page) = get(&sim, &format!("/wiki/api/v2/pages/{old}")).await;
    assert_eq!(old_page["parentId"], archive.as_str());
    assert_eq!(old_page["parentType"], "folder");

    // Ancestors, top-down; `limit` keeps the nearest.
    let (s, _, anc) = get(&sim, &format!("/wiki/api/v2/pages/{old}/ancestors")).await;
    assert_eq!(s, 200);
    assert_eq!(
        anc["results"],
        json!([{"id": home, "type": "page"}, {"id": runbooks, "type": "folder"},
               {"id": archive, "type": "folder"}])
    );
    let (_, _, near) = get(&sim, &format!("/wiki/api/v2/pages/{old}/ancestors?limit=1")).await;
    assert_eq!(near["results"], json!([{"id": archive, "type": "folder"}]));
    let (_, _, fanc) = get(&sim, &format!("/wiki/api/v2/folders/{archive}/ancestors")).await;
    assert_eq!(
        fanc["results"],
        json!([{"id": home, "type": "page"}, {"id": runbooks, "type": "folder"}])
    );

    // Pages and folders are different things.
    assert_eq!(
        get(&sim, &format!("/wiki/api/v2/pages/{runbooks}")).await.0,
        404
    );
    assert_eq!(
        get(&sim, &format!("/wiki/api/v2/folders/{old}")).await.0,
        404
    );

    // Create: a folder at the space root, one nested in it, a page in the nested one.
    let (s, top) = send(
        &sim,
        reqwest::Method::POST,
        "/wiki/api/v2/folders",
        json!({"spaceId": space_id, "title": "Top folder"}),
    )
    .await;
    assert_eq!(s, 200, "{top}");
    assert!(top.get("parentId").is_none(), "{top}");
    let top = id_of(&top);
    let (s, nested) = send(
        &sim,
        reqwest::Method::POST,
        "/wiki/api/v2/folders",
        json!({"spaceId": space_id, "title": "Nested", "parentId": top}),
    )
    .await;
    assert_eq!(s, 200, "{nested}");
    assert_eq!(nested["parentType"], "folder");
    let nested = id_of(&nested);
    let (s, page) = send(
        &sim,
        reqwest::Method::POST,
        "/wiki/api/v2/pages",
        json!({"spaceId": space_id, "title": "In a folder", "parentId": nested,
               "body": {"representation": "storage", "value": "<p>f</p>"}}),
    )
    .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(
        (page["parentId"].as_str(), page["parentType"].as_str()),
        (Some(nested.as_str()), Some("folder"))
    );
    let page = id_of(&page);
    // Moving a page into a folder by update.
    let (s, moved) = send(
        &sim,
        reqwest::Method::PUT,
        &format!("/wiki/api/v2/pages/{old}"),
        json!({"id": old, "status": "current", "title": "Old runbook", "parentId": top,
               "version": {"number": 2}}),
    )
    .await;
    assert_eq!(s, 200, "{moved}");
    assert_eq!(moved["parentType"], "folder");
    assert_eq!(moved["parentId"], top.as_str());
    // Deleting a folder: its children move up to its parent.
    assert_eq!(
        delete(&sim, &format!("/wiki/api/v2/folders/{nested}")).await,
        204
    );
    assert_eq!(
        get(&sim, &format!("/wiki/api/v2/folders/{nested}")).await.0,
        404
    );
    let (_, _, after) = get(&sim, &format!("/wiki/api/v2/pages/{page}")).await;
    assert_eq!(after["parentId"], top.as_str());
    assert_eq!(
        delete(&sim, &format!("/wiki/api/v2/folders/{page}")).await,
        404
    );
    let (s, bad) = send(
        &sim,
        reqwest::Method::POST,
        "/wiki/api/v2/folders",
        json!({"title": "no space"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(bad["errors"][0]["status"], 400);
}

#[tokio::test]
async fn seeded_attachments_in_folders_have_cloud_download_links() {
    let sim = start(12);
    let (_, _, pages) = get(&sim, "/wiki/api/v2/pages?title=Rotate%20tokens").await;
    let page = id_of(&pages["results"][0]);
    let (s, _, atts) = get(
        &sim,
        &format!("/wiki/api/v2/pages/{page}/attachments?filename=rotation.png"),
    )
    .await;
    assert_eq!(s, 200);
    let att = &atts["results"][0];
    assert_eq!(att["mediaType"], "image/png");
    assert_eq!(att["fileSize"], 264);
    assert_eq!(att["version"]["number"], 1);
    let link = att["downloadLink"].as_str().unwrap();
    assert!(
        link.starts_with(&format!(
            "/download/attachments/{page}/rotation.png?version=1&modificationDate="
        )) && link.ends_with("&cacheVersion=1&api=v2"),
        "{link}"
    );
    let bytes = http()
        .get(sim.url(&format!("/wiki{link}")))
        .header("authorization", auth())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(bytes.len(), 264);
    let (_, _, none) = get(
        &sim,
        &format!("/wiki/api/v2/pages/{page}/attachments?filename=nope.png"),
    )
    .await;
    assert_eq!(none["results"], json!([]));
}

#[tokio::test]
async fn limit_is_clamped_to_250_and_next_links_keep_the_api_gateway_base() {
    let sim = start(130);
    let (s, link, big) = get(&sim, "/wiki/api/v2/pages?limit=1000").await;
    assert_eq!(s, 200);
    // 2 x 131 + 3 pages exist; one page holds at most 250.
    assert_eq!(big["results"].as_array().unwrap().len(), 250);
    let next = big["_links"]["next"].as_str().unwrap();
    assert!(
        next.starts_with("/wiki/api/v2/pages?limit=1000&cursor="),
        "{next}"
    );
    assert_eq!(link.unwrap(), format!("<{next}>; rel=\"next\""));
    let (_, _, rest) = get(&sim, next).await;
    assert_eq!(rest["results"].as_array().unwrap().len(), 15);
    assert!(rest["_links"].get("next").is_none());

    let cloud_id = sim.startup["cloud_id"].as_str().unwrap();
    let gw = format!("/ex/confluence/{cloud_id}/wiki/api/v2/spaces?limit=1");
    let (s, link, spaces) = get(&sim, &gw).await;
    assert_eq!(s, 200);
    let next = spaces["_links"]["next"].as_str().unwrap();
    assert!(
        next.starts_with(&format!(
            "/ex/confluence/{cloud_id}/wiki/api/v2/spaces?limit=1&cursor="
        )),
        "{next}"
    );
    assert_eq!(link.unwrap(), format!("<{next}>; rel=\"next\""));
    assert!(spaces["_links"]["base"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/ex/confluence/{cloud_id}/wiki")));
}

#[tokio::test]
async fn media_redirect_sends_downloads_to_another_host_that_refuses_the_credential() {
    let toml = read_example("sim-cloud.toml").replace(
        "flavor = \"cloud\"\n",
        "flavor = \"cloud\"\nmedia_redirect = true\n",
    );
    let sim = Sim::start(&toml);
    let (_, _, pages) = get(&sim, "/wiki/api/v2/pages?title=Rotate%20tokens").await;
    let page = id_of(&pages["results"][0]);
    let (_, _, atts) = get(&sim, &format!("/wiki/api/v2/pages/{page}/attachments")).await;
    let att = &atts["results"][0];
    let link = att["downloadLink"].as_str().unwrap();
    let r = http()
        .get(sim.url(&format!("/wiki{link}")))
        .header("authorization", auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let media = r.headers()["location"].to_str().unwrap().to_string();
    let port = sim.startup["addr"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert!(
        media.starts_with(&format!("http://localhost:{port}/__media/file/")),
        "{media}"
    );
    // With the Confluence credential: refused, and the log shows it.
    let r = http()
        .get(&media)
        .header("authorization", auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("Authorization"),
        "{body}"
    );
    // Without it: the bytes.
    let r = http().get(&media).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().len(), 264);
    // A tampered token is refused.
    let bad = media.replacen("token=", "token=0", 1);
    assert_eq!(http().get(&bad).send().await.unwrap().status(), 401);
    // A client following redirects the usual way (dropping the credential on a host change) works.
    let follow = reqwest::Client::builder().no_proxy().build().unwrap();
    let r = follow
        .get(sim.url(&format!("/wiki{link}")))
        .header("authorization", auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), 264);
    let log: Value = http()
        .get(sim.url("/__sim/requests?status=400"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refused = log["requests"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(refused[0]["path"]
        .as_str()
        .unwrap()
        .starts_with("/__media/"));

    // The v1 download (kept on Cloud) redirects to the download path, which goes on to the media host.
    let att_id = att["id"].as_str().unwrap();
    let r = http()
        .get(sim.url(&format!(
            "/wiki/rest/api/content/{page}/child/attachment/{att_id}/download"
        )))
        .header("authorization", auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(
        loc.contains(&format!(
            "/wiki/download/attachments/{page}/rotation.png?version=1"
        )),
        "{loc}"
    );
}

#[tokio::test]
async fn v1_page_move_is_kept_on_cloud() {
    let sim = start(12);
    let (_, _, pages) = get(&sim, "/wiki/api/v2/pages?title=Old%20runbook").await;
    let old = id_of(&pages["results"][0]);
    let (_, _, pages) = get(&sim, "/wiki/api/v2/pages?title=Restart%20the%20gateway").await;
    let restart = id_of(&pages["results"][0]);
    let runbooks = pages["results"][0]["parentId"]
        .as_str()
        .unwrap()
        .to_string();
    let mv = |pos: &str, target: &str| {
        http()
            .put(sim.url(&format!("/wiki/rest/api/content/{old}/move/{pos}/{target}")))
            .header("authorization", auth())
            .send()
    };
    let r = mv("before", &restart).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["pageId"], old.as_str());
    let (_, _, inside) = get(
        &sim,
        &format!("/wiki/api/v2/folders/{runbooks}/direct-children"),
    )
    .await;
    let titles: Vec<&str> = inside["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Old runbook",
            "Restart the gateway",
            "Rotate tokens",
            "Archive"
        ]
    );
    let r = mv("append", &restart).await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, _, moved) = get(&sim, &format!("/wiki/api/v2/pages/{old}")).await;
    assert_eq!(moved["parentId"], restart.as_str());
    assert_eq!(moved["parentType"], "page");
    assert_eq!(mv("sideways", &restart).await.unwrap().status(), 400);
    assert_eq!(mv("append", &old).await.unwrap().status(), 400);
}
