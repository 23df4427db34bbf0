//! The simulator's REST v1 content API, against the real `cfl sim` process, on both flavours:
//! spaces, pages (create, read with expand, update, 409 on a stale version, move, delete),
//! children, attachments (upload/download round trip, XSRF header, duplicates, new versions),
//! labels, CQL search, and start/limit pagination walked to the end.

mod common;
use common::*;

use serde_json::{json, Value};

/// A running simulator plus how to reach its v1 API as a user allowed to write.
struct Api {
    sim: Sim,
    /// `/wiki` on Cloud, empty on DC.
    prefix: &'static str,
    auth: String,
}

/// The example Cloud config with the removed v1 operations served again.
fn legacy_cloud_toml() -> String {
    read_example("sim-cloud.toml").replace(
        "flavor = \"cloud\"\n",
        "flavor = \"cloud\"\nlegacy_v1 = true\n",
    )
}

impl Api {
    fn dc(extra: &str) -> Api {
        Api {
            sim: Sim::example("sim-dc.toml", extra),
            prefix: "",
            auth: basic("admin", "admin"),
        }
    }

    /// Cloud with `legacy_v1 = true`: these tests check the v1 shapes, most of which today's
    /// Cloud has removed (see `cloud_removed_v1_answers_410` for the default).
    fn cloud(extra: &str) -> Api {
        Api {
            sim: Sim::start(&format!("{}\n{extra}", legacy_cloud_toml())),
            prefix: "/wiki",
            auth: basic("alice@example.com", "ATATT3xFfGF0-classic-alice"),
        }
    }

    fn url(&self, path: &str) -> String {
        self.sim.url(&format!("{}{}", self.prefix, path))
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = http()
            .get(self.url(path))
            .header("authorization", &self.auth)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn send(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = http()
            .request(m, self.url(path))
            .header("authorization", &self.auth)
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Follows `_links.next` from `first` to the end; returns every result.
    async fn walk(&self, first: &str) -> (Vec<Value>, usize) {
        let mut all = Vec::new();
        let mut pages = 0;
        let mut next = Some(first.to_string());
        while let Some(path) = next {
            let (s, body) = self.get(&path).await;
            assert_eq!(s, 200, "{path}: {body}");
            pages += 1;
            assert!(pages < 100, "pagination does not end");
            let results = body["results"].as_array().unwrap().clone();
            assert_eq!(body["size"].as_u64().unwrap() as usize, results.len());
            next = body["_links"]["next"].as_str().map(|n| {
                assert!(!results.is_empty(), "a next link after an empty page");
                n.to_string()
            });
            all.extend(results);
        }
        (all, pages)
    }
}

async fn create_and_edit_pages(api: Api) {
    // Spaces
    let (s, spaces) = api.get("/rest/api/space").await;
    assert_eq!(s, 200);
    assert_eq!(spaces["size"], 2);
    let (s, one) = api.get("/rest/api/space?spaceKey=OPS").await;
    assert_eq!((s, one["results"][0]["key"].as_str()), (200, Some("OPS")));
    let (s, dev) = api.get("/rest/api/space/DEV").await;
    assert_eq!((s, dev["key"].as_str()), (200, Some("DEV")));
    assert_eq!(api.get("/rest/api/space/NOPE").await.0, 404);
    let home = dev["_expandable"]["homepage"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();

    // Create under the home page
    let (s, created) = api
        .send(
            "POST",
            "/rest/api/content",
            json!({"type": "page", "title": "Release checklist", "space": {"key": "DEV"},
                   "ancestors": [{"id": home}],
                   "body": {"storage": {"value": "<p>step one</p>", "representation": "storage"}}}),
        )
        .await;
    assert_eq!(s, 200, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["version"]["number"], 1);
    assert_eq!(
        created["ancestors"].as_array().unwrap().last().unwrap()["id"],
        home
    );

    // Same title again in the space: 400 with Confluence's message.
    let (s, dup) = api
        .send(
            "POST",
            "/rest/api/content",
            json!({"type": "page", "title": "Release checklist", "space": {"key": "DEV"}}),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        dup["message"].as_str().unwrap().contains("already exists"),
        "{dup}"
    );

    // Read with expand; unexpanded parts are listed under _expandable.
    let (s, page) = api
        .get(&format!(
            "/rest/api/content/{id}?expand=body.storage,ancestors,metadata.labels"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(page["body"]["storage"]["value"], "<p>step one</p>");
    // An explicit expand replaces the defaults: the space is a link clients read the key from.
    assert!(page.get("space").is_none(), "{page}");
    assert_eq!(page["_expandable"]["space"], "/rest/api/space/DEV");
    assert!(page["_expandable"].get("children").is_some());
    let (_, defaults) = api.get(&format!("/rest/api/content/{id}")).await;
    assert_eq!(defaults["space"]["key"], "DEV");
    assert_eq!(defaults["version"]["number"], 1);
    assert!(page.get("children").is_none());
    let (_, plain) = api
        .get("/rest/api/content?spaceKey=DEV&title=Release%20checklist")
        .await;
    assert_eq!(plain["results"][0]["id"], id.as_str());
    assert!(plain["results"][0].get("body").is_none());
    assert!(plain["results"][0]["_expandable"].get("body").is_some());

    // Update: stale version → 409 with the real message; current+1 → 200.
    let (s, stale) = api
        .send(
            "PUT",
            &format!("/rest/api/content/{id}"),
            json!({"type": "page", "title": "Release checklist", "version": {"number": 1}}),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(
        stale["message"],
        "Version must be incremented on update. Current version is: 1"
    );
    let (s, upd) = api
        .send(
            "PUT",
            &format!("/rest/api/content/{id}"),
            json!({"type": "page", "title": "Release checklist v2", "version": {"number": 2},
                     "body": {"storage": {"value": "<p>two</p>", "representation": "storage"}}}),
        )
        .await;
    assert_eq!(s, 200, "{upd}");
    assert_eq!(upd["version"]["number"], 2);
    assert_eq!(upd["title"], "Release checklist v2");

    // Move under another page via ancestors.
    let (_, kids) = api
        .get(&format!("/rest/api/content/{home}/child/page"))
        .await;
    let other = kids["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] != id.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, moved) = api
        .send(
            "PUT",
            &format!("/rest/api/content/{id}"),
            json!({"type": "page", "title": "Release checklist v2", "version": {"number": 3},
                     "ancestors": [{"id": other}]}),
        )
        .await;
    assert_eq!(s, 200, "{moved}");
    let (_, under) = api
        .get(&format!("/rest/api/content/{other}/child/page?limit=100"))
        .await;
    assert!(under["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["id"] == id.as_str()));
    // A page can't move under its own descendant.
    let (_, o) = api.get(&format!("/rest/api/content/{other}")).await;
    let next = o["version"]["number"].as_u64().unwrap() + 1;
    let (s, cyc) = api
        .send(
            "PUT",
            &format!("/rest/api/content/{other}"),
            json!({"title": o["title"], "version": {"number": next}, "ancestors": [{"id": id}]}),
        )
        .await;
    assert_eq!(s, 400, "{cyc}");
    assert!(cyc["message"].as_str().unwrap().contains("descendants"));

    // Delete → 204, then 404; still visible with status=trashed.
    let r = http()
        .delete(api.url(&format!("/rest/api/content/{id}")))
        .header("authorization", &api.auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(api.get(&format!("/rest/api/content/{id}")).await.0, 404);
    let (s, trashed) = api
        .get(&format!("/rest/api/content/{id}?status=trashed"))
        .await;
    assert_eq!((s, trashed["status"].as_str()), (200, Some("trashed")));
}

#[tokio::test]
async fn dc_pages_create_read_update_move_delete() {
    create_and_edit_pages(Api::dc("")).await;
}

#[tokio::test]
async fn cloud_pages_create_read_update_move_delete() {
    create_and_edit_pages(Api::cloud("")).await;
}

#[tokio::test]
async fn anonymous_cannot_write_even_when_anonymous_reads_are_on() {
    let api = Api::cloud("");
    let r = http()
        .post(api.url("/rest/api/content"))
        .json(&json!({"type": "page", "title": "anon", "space": {"key": "DEV"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http()
        .get(api.url("/rest/api/space/DEV"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// `in_folders`: pages Cloud seeds inside DEV's folders (0 on DC), `folders`: those folders.
async fn walk_pagination(api: Api, in_folders: usize, folders: usize) {
    let (all, pages) = api.walk("/rest/api/content?spaceKey=DEV&limit=7").await;
    // 30 seeded pages + the home page (+ the pages in folders), 7 per page.
    assert_eq!(all.len(), 31 + in_folders);
    assert_eq!(pages, 5);
    let mut ids: Vec<&str> = all.iter().map(|c| c["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 31 + in_folders, "no page seen twice");
    // Defaults and clamping.
    let (_, first) = api.get("/rest/api/content?spaceKey=DEV").await;
    assert_eq!(
        (first["limit"].as_u64(), first["size"].as_u64()),
        (Some(25), Some(25))
    );
    let (_, big) = api.get("/rest/api/content?limit=100000").await;
    assert_eq!(big["limit"], 100);
    assert!(big["_links"]["next"].is_null(), "{}", big["_links"]);
    assert_eq!(api.get("/rest/api/content?limit=abc").await.0, 400);
    // CQL search pages the same way.
    let (hits, _) = api
        .walk("/rest/api/search?cql=space%20in%20(DEV,OPS)&limit=10")
        .await;
    assert_eq!(hits.len(), 62 + in_folders + folders);
    assert!(hits.iter().all(|h| h["content"]["id"].is_string()));
}

#[tokio::test]
async fn dc_v1_pagination_walks_to_the_end() {
    let toml = read_example("sim-dc.toml").replace("pages_per_space = 12", "pages_per_space = 30");
    let api = Api {
        sim: Sim::start(&toml),
        prefix: "",
        auth: basic("admin", "admin"),
    };
    walk_pagination(api, 0, 0).await;
}

#[tokio::test]
async fn cloud_v1_pagination_walks_to_the_end() {
    let toml = legacy_cloud_toml().replace("pages_per_space = 12", "pages_per_space = 30");
    let api = Api {
        sim: Sim::start(&toml),
        prefix: "/wiki",
        auth: basic("alice@example.com", "ATATT3xFfGF0-classic-alice"),
    };
    walk_pagination(api, 3, 2).await;
}

fn titles(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn cql_search_filters_orders_and_rejects_bad_queries() {
    let api = Api::dc("");
    let q = |cql: &str| format!("/rest/api/content/search?limit=100&cql={}", url_encode(cql));
    let (s, dev) = api.get(&q("space = DEV and type = page")).await;
    assert_eq!(s, 200);
    assert_eq!(dev["size"], 13);
    let (_, both) = api.get(&q("space in (DEV, OPS)")).await;
    assert_eq!(both["size"], 26);
    let (_, not_dev) = api.get(&q("type = page AND NOT space = DEV")).await;
    assert_eq!(not_dev["size"], 13);
    let (_, home) = api.get(&q("title = \"DEV Home\"")).await;
    assert_eq!(titles(&home), vec!["DEV Home"]);
    let home_id = home["results"][0]["id"].as_str().unwrap().to_string();
    let (_, under) = api.get(&q(&format!("ancestor = {home_id}"))).await;
    assert_eq!(under["size"], 12);
    let (_, direct) = api.get(&q(&format!("parent = {home_id}"))).await;
    assert_eq!(direct["size"], 1);
    let (_, by_id) = api
        .get(&q(&format!(
            "id = {home_id} or (space = OPS and title ~ \"OPS Home\")"
        )))
        .await;
    assert_eq!(by_id["size"], 2);
    let (_, fuzzy) = api.get(&q("title ~ deploy")).await;
    assert!(titles(&fuzzy)
        .iter()
        .all(|t| t.to_lowercase().contains("deploy")));
    assert!(fuzzy["size"].as_u64().unwrap() > 0);
    let (_, text) = api.get(&q("text ~ \"notes about\" and space = OPS")).await;
    assert_eq!(text["size"], 12);
    let (_, labelled) = api.get(&q("label = runbook")).await;
    assert!(labelled["size"].as_u64().unwrap() > 0);
    let (_, sorted) = api.get(&q("space = DEV order by title desc")).await;
    let t = titles(&sorted);
    let mut expect = t.clone();
    expect.sort_by_key(|s| std::cmp::Reverse(s.to_lowercase()));
    assert_eq!(t, expect);
    let (s, bad) = api.get(&q("space = DEV and (title ~ x")).await;
    assert_eq!(s, 400);
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .starts_with("Could not parse cql"),
        "{bad}"
    );
    let (s, bad) = api.get(&q("colour = red")).await;
    assert_eq!(s, 400);
    assert!(bad["message"].as_str().unwrap().contains("colour"));
    let (s, search) = api
        .get(&format!(
            "/rest/api/search?cql={}",
            url_encode("label = howto")
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(search["cqlQuery"], "label = howto");
    assert_eq!(search["totalSize"], search["size"]);
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn attachments_round_trip(api: Api) {
    let (_, c) = api.get("/rest/api/content?spaceKey=OPS&limit=1").await;
    let page = c["results"][0]["id"].as_str().unwrap().to_string();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let form = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name("blob.bin")
                    .mime_str("application/octet-stream")
                    .unwrap(),
            )
            .text("comment", "first upload")
            .text("minorEdit", "true")
    };
    let path = format!("/rest/api/content/{page}/child/attachment");
    // Without the XSRF header: 403.
    let r = http()
        .post(api.url(&path))
        .header("authorization", &api.auth)
        .multipart(form(data.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let up = |method: reqwest::Method, bytes: Vec<u8>| {
        http()
            .request(method, api.url(&path))
            .header("authorization", &api.auth)
            .header("x-atlassian-token", "no-check")
            .multipart(form(bytes))
            .send()
    };
    let r = up(reqwest::Method::POST, data.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let att = &body["results"][0];
    assert_eq!(att["title"], "blob.bin");
    assert_eq!(att["extensions"]["fileSize"], data.len());
    assert_eq!(att["metadata"]["comment"], "first upload");
    let att_id = att["id"].as_str().unwrap().to_string();
    let download = att["_links"]["download"].as_str().unwrap().to_string();
    assert!(download.starts_with(&format!("/download/attachments/{page}/blob.bin?version=1")));
    let got = http()
        .get(api.url(&download))
        .header("authorization", &api.auth)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(
        got.headers()["content-length"],
        data.len().to_string().as_str()
    );
    assert_eq!(got.headers()["content-type"], "application/octet-stream");
    assert_eq!(got.bytes().await.unwrap().as_ref(), data.as_slice());

    // Same name with POST: 400. PUT (Cloud only) adds a version; DC has no PUT here.
    let r = up(reqwest::Method::POST, b"again".to_vec()).await.unwrap();
    assert_eq!(r.status(), 400);
    let r = up(reqwest::Method::PUT, b"version two".to_vec())
        .await
        .unwrap();
    let next_version = if api.prefix == "/wiki" {
        assert_eq!(r.status(), 200);
        let v2: Value = r.json().await.unwrap();
        assert_eq!(v2["results"][0]["version"]["number"], 2);
        assert_eq!(v2["results"][0]["id"], att_id.as_str());
        3
    } else {
        assert_eq!(r.status(), 405);
        2
    };
    // New data through /data: the next version.
    let r = http()
        .post(api.url(&format!("{path}/{att_id}/data")))
        .header("authorization", &api.auth)
        .header("x-atlassian-token", "no-check")
        .multipart(form(b"version three".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v3: Value = r.json().await.unwrap();
    assert_eq!(v3["version"]["number"], next_version);
    let dl = v3["_links"]["download"].as_str().unwrap();
    let got = http()
        .get(api.url(dl))
        .header("authorization", &api.auth)
        .send()
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"version three");
    let (_, listed) = api.get(&path).await;
    assert!(listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == att_id.as_str()));
    let r = http()
        .get(api.url(&format!("/download/attachments/{page}/missing.bin")))
        .header("authorization", &api.auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn dc_attachment_upload_download_round_trip() {
    attachments_round_trip(Api::dc("")).await;
}

#[tokio::test]
async fn cloud_attachment_upload_download_round_trip() {
    attachments_round_trip(Api::cloud("")).await;
}

#[tokio::test]
async fn labels_add_list_remove() {
    let api = Api::dc("");
    let (_, c) = api.get("/rest/api/content?spaceKey=DEV&limit=1").await;
    let id = c["results"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/rest/api/content/{id}/label");
    let (s, added) = api
        .send("POST", &path, json!([{"prefix": "global", "name": "Ops-Ready"}, {"prefix": "global", "name": "draft"}]))
        .await;
    assert_eq!(s, 200, "{added}");
    let names = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(names(&added).contains(&"ops-ready".to_string()));
    let (s, _) = api
        .send(
            "POST",
            &path,
            json!({"prefix": "global", "name": "bad label"}),
        )
        .await;
    assert_eq!(s, 400);
    let r = http()
        .delete(api.url(&format!("{path}/draft")))
        .header("authorization", &api.auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http()
        .delete(api.url(&format!("{path}?name=ops-ready")))
        .header("authorization", &api.auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, left) = api.get(&path).await;
    assert!(!names(&left).contains(&"draft".to_string()));
    assert!(!names(&left).contains(&"ops-ready".to_string()));
    let (_, found) = api
        .get(&format!(
            "/rest/api/content/search?cql={}",
            url_encode("label = draft")
        ))
        .await;
    assert_eq!(found["size"], 0);
    let (_, page) = api
        .get(&format!("/rest/api/content/{id}?expand=metadata.labels"))
        .await;
    assert_eq!(page["metadata"]["labels"]["size"], left["size"]);
}

#[tokio::test]
async fn links_follow_the_dc_context_path_and_the_cloud_api_gateway() {
    let toml = read_example("sim-dc.toml").replace(
        "# context_path = \"/confluence\"",
        "context_path = \"/confluence\"",
    );
    let dc = Sim::start(&toml);
    let r = http()
        .get(dc.url("/confluence/rest/api/content?limit=1"))
        .header("authorization", basic("admin", "admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["_links"]["context"], "/confluence");
    assert!(body["_links"]["base"]
        .as_str()
        .unwrap()
        .ends_with("/confluence"));
    assert_eq!(body["_links"]["next"], "/rest/api/content?start=1&limit=1");

    let cloud = Sim::start(&legacy_cloud_toml());
    let gw = cloud.startup["gateway_base"].as_str().unwrap().to_string();
    let r = http()
        .get(format!("{gw}/rest/api/content?limit=1"))
        .header(
            "authorization",
            basic("alice@example.com", "ATATT3xFfGF0-scoped-alice-read"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["_links"]["base"], gw.as_str());
    let page = body["results"][0]["id"].as_str().unwrap();
    let r = http()
        .get(format!("{gw}/api/v2/pages/{page}"))
        .header(
            "authorization",
            basic("alice@example.com", "ATATT3xFfGF0-scoped-alice-read"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

const GONE: &str = r#"{"statusCode":410,"message":"com.atlassian.confluence.api.service.exceptions.GoneException: This deprecated endpoint has been removed.","reason":"Gone"}"#;

/// GET as Alice: her classic token on the site, her (read) scoped token on the API gateway,
/// which refuses classic ones. Returns status, content type and body text.
async fn raw_get(url: String) -> (u16, String, String) {
    let token = if url.contains("/ex/confluence/") {
        "ATATT3xFfGF0-scoped-alice-read"
    } else {
        "ATATT3xFfGF0-classic-alice"
    };
    let r = http()
        .get(url)
        .header("authorization", basic("alice@example.com", token))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

#[tokio::test]
async fn cloud_removed_v1_answers_410_on_the_site_and_the_api_gateway() {
    let sim = Sim::example("sim-cloud.toml", "");
    let gw = sim.startup["gateway_base"].as_str().unwrap().to_string();
    let site = sim.startup["api_base"].as_str().unwrap().to_string();
    let page = {
        let db_page = raw_get(format!("{site}/api/v2/pages?limit=1")).await.2;
        let v: Value = serde_json::from_str(&db_page).unwrap();
        v["results"][0]["id"].as_str().unwrap().to_string()
    };
    for base in [&site, &gw] {
        for path in [
            "/rest/api/content".to_string(),
            "/rest/api/space".to_string(),
            "/rest/api/space/DEV".to_string(),
            format!("/rest/api/content/{page}"),
            format!("/rest/api/content/{page}/child/page"),
            format!("/rest/api/content/{page}/child/attachment"),
            format!("/rest/api/content/{page}/label"),
            "/rest/api/content/1/no/such/thing".to_string(),
        ] {
            let (status, ct, body) = raw_get(format!("{base}{path}")).await;
            assert_eq!(status, 410, "{base}{path}: {body}");
            assert_eq!(ct, "application/json", "{path}");
            assert_eq!(body, GONE, "{path}");
        }
        // Still in Atlassian's v1 description: served.
        for path in [
            "/rest/api/content/search?cql=space%3DDEV".to_string(),
            "/rest/api/search?cql=space%3DDEV".to_string(),
            "/rest/api/user/current".to_string(),
        ] {
            let (status, _, body) = raw_get(format!("{base}{path}")).await;
            assert_eq!(status, 200, "{base}{path}: {body}");
        }
    }
    // A removed method on a kept path is gone too; label add on the same path is not.
    let r = http()
        .post(format!("{site}/rest/api/content"))
        .header(
            "authorization",
            basic("alice@example.com", "ATATT3xFfGF0-classic-alice"),
        )
        .json(&json!({"type": "page", "title": "x", "space": {"key": "DEV"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    let r = http()
        .post(format!("{site}/rest/api/content/{page}/label"))
        .header(
            "authorization",
            basic("alice@example.com", "ATATT3xFfGF0-classic-alice"),
        )
        .json(&json!([{"prefix": "global", "name": "kept"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The request log records the 410s, so a test can assert no request hit a removed endpoint.
    let log: Value = http()
        .get(sim.url("/__sim/requests?status=410"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gone = log["requests"].as_array().unwrap();
    assert_eq!(gone.len(), 17, "{log}");
    assert!(gone.iter().all(|r| r["status"] == 410));
    assert!(gone.iter().any(|r| r["path"]
        == format!(
            "/ex/confluence/{}/wiki/rest/api/space",
            sim.startup["cloud_id"].as_str().unwrap()
        )));
}

#[tokio::test]
async fn legacy_v1_serves_the_removed_operations_again() {
    let sim = Sim::start(&legacy_cloud_toml());
    let site = sim.startup["api_base"].as_str().unwrap().to_string();
    let (status, _, body) = raw_get(format!("{site}/rest/api/space")).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = raw_get(format!("{site}/rest/api/content?limit=1")).await;
    assert_eq!(status, 200, "{body}");
    let log: Value = http()
        .get(sim.url("/__sim/requests?status=410"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["requests"], json!([]));
}

#[tokio::test]
async fn dc_serves_all_of_v1() {
    let api = Api::dc("");
    assert_eq!(api.get("/rest/api/space").await.0, 200);
    assert_eq!(api.get("/rest/api/content?limit=1").await.0, 200);
}

/// The v1 caps are unverified defaults (`content::pagination`): `[v1_limits]` moves each one.
#[tokio::test]
async fn v1_limit_caps_are_configurable_per_kind_of_list() {
    let defaults = Api::dc("");
    let custom = Api::dc("[v1_limits]\ncontent = 7\nlabels = 2\ngroups = 1\n");
    for (path, default, custom_cap) in [
        ("/rest/api/content?limit=100000", 100, 7),
        ("/rest/api/search?cql=type%3Dpage&limit=100000", 100, 7),
        ("/rest/api/space?limit=100000", 100, 7),
        ("/rest/api/group?limit=100000", 200, 1),
    ] {
        assert_eq!(defaults.get(path).await.1["limit"], default, "{path}");
        assert_eq!(custom.get(path).await.1["limit"], custom_cap, "{path}");
    }
    let (_, page) = custom.get("/rest/api/content?spaceKey=DEV&limit=1").await;
    let id = page["results"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/rest/api/content/{id}/label?limit=100000");
    assert_eq!(defaults.get(&path).await.1["limit"], 200);
    assert_eq!(custom.get(&path).await.1["limit"], 2);
}

/// A blog post created through v1 (DC, or Cloud with `legacy_v1`) and v2 sits at the space root:
/// it has no ancestors, unlike a page created without one (which goes under the home page).
#[tokio::test]
async fn blog_posts_have_no_ancestors() {
    for api in [Api::dc(""), Api::cloud("")] {
        let (status, post) = api
            .send(
                "POST",
                "/rest/api/content",
                json!({"type": "blogpost", "title": "News", "space": {"key": "DEV"},
                       "body": {"storage": {"value": "<p>n</p>", "representation": "storage"}}}),
            )
            .await;
        assert_eq!(status, 200, "{post}");
        assert_eq!(post["ancestors"], json!([]), "{post}");
        let (_, page) = api
            .send(
                "POST",
                "/rest/api/content",
                json!({"type": "page", "title": "Not a blog", "space": {"key": "DEV"}}),
            )
            .await;
        assert_eq!(
            page["ancestors"].as_array().map(Vec::len),
            Some(1),
            "{page}"
        );
    }
}

/// Cloud's archive: `POST /rest/api/content/archive` archives the named pages (status
/// `archived`, out of the current listings, children moved up to the parent) and answers 202
/// with a long task whose status link reads as finished; bad requests archive nothing.
#[tokio::test]
async fn cloud_archive_archives_pages_and_answers_with_a_finished_long_task() {
    let api = Api {
        sim: Sim::example("sim-cloud.toml", ""),
        prefix: "/wiki",
        auth: basic("alice@example.com", "ATATT3xFfGF0-classic-alice"),
    };
    let (_, spaces) = api.get("/api/v2/spaces?keys=DEV").await;
    let space_id = spaces["results"][0]["id"].as_str().unwrap().to_string();
    let home = spaces["results"][0]["homepageId"]
        .as_str()
        .unwrap()
        .to_string();
    let create = |title: &'static str, parent: String| {
        let space_id = space_id.clone();
        let api = &api;
        async move {
            let (s, v) = api
                .send(
                    "POST",
                    "/api/v2/pages",
                    json!({"spaceId": space_id, "title": title, "parentId": parent,
                        "body": {"representation": "storage", "value": "<p>x</p>"}}),
                )
                .await;
            assert_eq!(s, 200, "{v}");
            v["id"].as_str().unwrap().to_string()
        }
    };
    let parent = create("Old parent", home.clone()).await;
    let child = create("Still current", parent.clone()).await;
    let archive = |ids: Value| async { api.send("POST", "/rest/api/content/archive", ids).await };

    // Ids as strings, an empty list, the home page: 400, nothing archived.
    let (s, v) = archive(json!({"pages": [{"id": parent}]})).await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("not a number"),
        "{v}"
    );
    let (s, _) = archive(json!({"pages": []})).await;
    assert_eq!(s, 400);
    let parent_n: u64 = parent.parse().unwrap();
    let home_n: u64 = home.parse().unwrap();
    let (s, v) = archive(json!({"pages": [{"id": parent_n}, {"id": home_n}]})).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("home page"), "{v}");
    assert_eq!(api.get(&format!("/api/v2/pages/{parent}")).await.0, 200);

    let (s, task) = archive(json!({"pages": [{"id": parent_n}]})).await;
    assert_eq!(s, 202, "{task}");
    let status_link = task["links"]["status"].as_str().unwrap();
    assert_eq!(
        status_link,
        format!("/wiki/rest/api/longtask/{}", task["id"].as_str().unwrap())
    );
    let (s, done) = api.get(status_link.strip_prefix("/wiki").unwrap()).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(
        (done["finished"].as_bool(), done["successful"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(api.get("/rest/api/longtask/999").await.0, 404);
    // The list (`GET /rest/api/longtask`) holds it, filtered by `key`, paged by start/limit.
    let (s, tasks) = api
        .get("/rest/api/longtask?key=com.atlassian.confluence.pages.archive.longtask")
        .await;
    assert_eq!(s, 200, "{tasks}");
    assert_eq!(tasks["results"][0]["id"], task["id"], "{tasks}");
    assert_eq!(tasks["results"][0]["finished"], true);
    assert_eq!(
        (tasks["start"].as_u64(), tasks["size"].as_u64()),
        (Some(0), Some(1))
    );
    let (_, none) = api.get("/rest/api/longtask?key=no.such.task").await;
    assert_eq!(none["size"], 0, "{none}");
    assert_eq!(api.get("/rest/api/longtask?limit=x").await.0, 400);

    // Read by id it is there, as archived (unless only current pages are asked for); out of the
    // current listings, found with status=archived; its child moved up.
    let (s, v) = api.get(&format!("/api/v2/pages/{parent}")).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("archived")), "{v}");
    let only_current = format!("/api/v2/pages/{parent}?status=current");
    assert_eq!(api.get(&only_current).await.0, 404);
    let (s, v) = api
        .get(&format!("/api/v2/pages/{parent}?status=archivd"))
        .await;
    assert_eq!(s, 400, "{v}");
    let (_, current) = api
        .get(&format!("/api/v2/spaces/{space_id}/pages?limit=250"))
        .await;
    let ids: Vec<&str> = current["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(!ids.contains(&parent.as_str()) && ids.contains(&child.as_str()));
    let (_, archived) = api.get("/api/v2/pages?status=archived").await;
    assert_eq!(archived["results"][0]["id"], parent.as_str(), "{archived}");
    assert_eq!(archived["results"][0]["status"], "archived");
    let (_, kid) = api.get(&format!("/api/v2/pages/{child}")).await;
    assert_eq!(kid["parentId"], home.as_str());

    // Archiving it again is refused.
    let (s, v) = archive(json!({"pages": [{"id": parent_n}]})).await;
    assert_eq!(s, 400);
    assert!(
        v["message"].as_str().unwrap().contains("already archived"),
        "{v}"
    );

    // Where v1 reads are served again (legacy_v1), `status=archived` finds the page.
    let legacy = Api::cloud("");
    let (_, results) = legacy.get("/rest/api/content?spaceKey=DEV&limit=2").await;
    let page = results["results"][1]["id"].as_str().unwrap().to_string();
    let (_, dev) = legacy.get("/rest/api/space/DEV?expand=homepage").await;
    assert_ne!(dev["homepage"]["id"], page.as_str(), "not the home page");
    let (s, _) = legacy
        .send(
            "POST",
            "/rest/api/content/archive",
            json!({"pages": [{"id": page.parse::<u64>().unwrap()}]}),
        )
        .await;
    assert_eq!(s, 202);
    assert_eq!(
        legacy.get(&format!("/rest/api/content/{page}")).await.0,
        404
    );
    let (s, v) = legacy
        .get(&format!("/rest/api/content/{page}?status=archived"))
        .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("archived")), "{v}");

    // Data Center has no archive call.
    let dc = Api::dc("");
    let (s, _) = dc
        .send(
            "POST",
            "/rest/api/content/archive",
            json!({"pages": [{"id": 1}]}),
        )
        .await;
    assert!(s == 404 || s == 405, "{s}");
}
