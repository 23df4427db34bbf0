//! `--seed DIR|FILE`: spaces, pages, blog posts, attachments and users from files, restored by
//! `/__sim/reset` on both flavours; a broken seed is an error naming the file and the problem.

mod common;
use common::*;

use std::path::Path;

use cfl_sim::SimConfig;
use serde_json::{json, Value};

const SEED_TOML: &str = r#"
[[users]]
name = "tess"
display_name = "Tess Tester"
email = "tess@example.com"
password = "tess-pw"
api_tokens = ["tess-token"]

[[spaces]]
key = "ENG"
name = "Engineering"
description = "Where engineers write"
homepage = "Welcome"

[[spaces.pages]]
title = "Welcome"
body = "<p>Hello <strong>engineers</strong></p>"
labels = ["start"]

[[spaces.pages]]
title = "Install"
parent = "Welcome"
body_file = "install.xml"
author = "tess"
attachments = [{ file = "diagram.png" }, { file = "notes.bin", name = "notes.txt", media_type = "text/plain" }]

[[spaces.pages]]
title = "Release notes"
type = "blogpost"
body = "<p>v1 is out</p>"

[[spaces]]
key = "OPS"
"#;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\xff\xfe";

fn write(dir: &Path, rel: &str, data: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

/// A seed file (TOML, or the same as JSON) with its body file and attachments beside it.
fn seed_file(dir: &Path, json: bool) -> std::path::PathBuf {
    write(dir, "install.xml", b"<h1>Install</h1><p>Run it.</p>");
    write(dir, "diagram.png", PNG);
    write(dir, "notes.bin", b"plain notes\n");
    let value: toml::Value = toml::from_str(SEED_TOML).unwrap();
    if json {
        write(
            dir,
            "seed.json",
            serde_json::to_string(&value).unwrap().as_bytes(),
        );
        dir.join("seed.json")
    } else {
        write(dir, "seed.toml", SEED_TOML.as_bytes());
        dir.join("seed.toml")
    }
}

/// The same content as a folder.
fn seed_dir(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("seed");
    write(
        &root,
        "users.toml",
        br#"[[users]]
name = "tess"
display_name = "Tess Tester"
email = "tess@example.com"
password = "tess-pw"
api_tokens = ["tess-token"]
"#,
    );
    write(
        &root,
        "ENG/space.toml",
        b"name = \"Engineering\"\ndescription = \"Where engineers write\"\nhomepage = \"Welcome\"\n[labels]\nWelcome = [\"start\"]\n",
    );
    write(
        &root,
        "ENG/Welcome.html",
        b"<p>Hello <strong>engineers</strong></p>",
    );
    write(
        &root,
        "ENG/Welcome/Install.xml",
        b"<h1>Install</h1><p>Run it.</p>",
    );
    write(&root, "ENG/Welcome/Install/diagram.png", PNG);
    write(&root, "ENG/Welcome/Install/notes.txt", b"plain notes\n");
    std::fs::create_dir_all(root.join("OPS")).unwrap();
    root
}

fn sim_with(flavor: &str, seed: &Path) -> Sim {
    let seed = seed.to_path_buf();
    Sim::start_with(&format!("flavor = \"{flavor}\""), move |c| {
        c.with_seed(&seed).unwrap_or_else(|e| panic!("{e}"))
    })
}

async fn get(sim: &Sim, auth: &str, path: &str) -> (u16, Vec<u8>) {
    let r = http()
        .get(sim.url(path))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.bytes().await.unwrap().to_vec())
}

async fn json_of(sim: &Sim, auth: &str, path: &str) -> Value {
    let (status, body) = get(sim, auth, path).await;
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Checks everything the seed declares through DC's REST v1, as the seed's own user.
async fn assert_seeded_dc(sim: &Sim) {
    let auth = basic("tess", "tess-pw");
    let spaces = json_of(sim, &auth, "/rest/api/space").await;
    let keys: Vec<&str> = spaces["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["ENG", "OPS"],
        "only the seed's spaces, no demo content"
    );
    let eng = json_of(
        sim,
        &auth,
        "/rest/api/space/ENG?expand=homepage,description.plain",
    )
    .await;
    assert_eq!(eng["name"], "Engineering");
    assert_eq!(eng["homepage"]["title"], "Welcome");
    assert_eq!(
        eng["description"]["plain"]["value"],
        "Where engineers write"
    );

    let found = json_of(
        sim,
        &auth,
        "/rest/api/content?spaceKey=ENG&title=Install&expand=body.storage,ancestors,history",
    )
    .await;
    let install = &found["results"][0];
    assert_eq!(
        install["body"]["storage"]["value"],
        "<h1>Install</h1><p>Run it.</p>"
    );
    assert_eq!(install["ancestors"][0]["title"], "Welcome");
    assert_eq!(install["history"]["createdBy"]["username"], "tess");
    let id = install["id"].as_str().unwrap();

    let atts = json_of(
        sim,
        &auth,
        &format!("/rest/api/content/{id}/child/attachment"),
    )
    .await;
    let mut names: Vec<(String, String)> = atts["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["title"].as_str().unwrap().to_string(),
                a["metadata"]["mediaType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("diagram.png".to_string(), "image/png".to_string()),
            ("notes.txt".to_string(), "text/plain".to_string())
        ]
    );
    let (status, bytes) = get(
        sim,
        &auth,
        &format!("/download/attachments/{id}/diagram.png"),
    )
    .await;
    assert_eq!((status, bytes.as_slice()), (200, PNG));

    let welcome = json_of(sim, &auth, "/rest/api/content?spaceKey=ENG&title=Welcome").await;
    let wid = welcome["results"][0]["id"].as_str().unwrap();
    let labels = json_of(sim, &auth, &format!("/rest/api/content/{wid}/label")).await;
    assert_eq!(labels["results"][0]["name"], "start");
    let user = json_of(sim, &auth, "/rest/api/user?username=tess").await;
    assert_eq!(user["displayName"], "Tess Tester");
}

#[tokio::test]
async fn a_toml_seed_file_loads_spaces_pages_attachments_labels_and_users() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim_with("dc", &seed_file(dir.path(), false));
    assert_seeded_dc(&sim).await;
    let blog = json_of(
        &sim,
        &basic("tess", "tess-pw"),
        "/rest/api/content?spaceKey=ENG&type=blogpost",
    )
    .await;
    assert_eq!(blog["results"][0]["title"], "Release notes");
}

#[tokio::test]
async fn a_json_seed_file_loads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim_with("dc", &seed_file(dir.path(), true));
    assert_seeded_dc(&sim).await;
}

#[tokio::test]
async fn a_seed_folder_loads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim_with("dc", &seed_dir(dir.path()));
    assert_seeded_dc(&sim).await;
}

#[tokio::test]
async fn cloud_serves_the_seed_through_v2() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim_with("cloud", &seed_dir(dir.path()));
    let auth = basic("tess@example.com", "tess-token");
    let spaces = json_of(&sim, &auth, "/wiki/api/v2/spaces?keys=ENG").await;
    let space = &spaces["results"][0];
    let pages = json_of(
        &sim,
        &auth,
        &format!(
            "/wiki/api/v2/spaces/{}/pages?body-format=storage",
            space["id"].as_str().unwrap()
        ),
    )
    .await;
    let titles: Vec<&str> = pages["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["Welcome", "Install"],
        "no generated folders or demo pages"
    );
    assert_eq!(space["homepageId"], pages["results"][0]["id"]);
    assert_eq!(pages["results"][1]["parentId"], pages["results"][0]["id"]);
    let id = pages["results"][1]["id"].as_str().unwrap();
    let atts = json_of(&sim, &auth, &format!("/wiki/api/v2/pages/{id}/attachments")).await;
    assert_eq!(atts["results"].as_array().unwrap().len(), 2);
}

/// What a client sees of ENG: every page with its version, body and attachments (v1 on DC,
/// v2 on Cloud, where v1 lists answer 410).
async fn snapshot(sim: &Sim, auth: &str, cloud: bool) -> Value {
    let pages = if cloud {
        let space = json_of(sim, auth, "/wiki/api/v2/spaces?keys=ENG").await;
        let sid = space["results"][0]["id"].as_str().unwrap().to_string();
        json_of(
            sim,
            auth,
            &format!("/wiki/api/v2/spaces/{sid}/pages?body-format=storage"),
        )
        .await
    } else {
        json_of(
            sim,
            auth,
            "/rest/api/content?spaceKey=ENG&limit=100&expand=body.storage,version",
        )
        .await
    };
    let mut out = Vec::new();
    for p in pages["results"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let atts = if cloud {
            json_of(sim, auth, &format!("/wiki/api/v2/pages/{id}/attachments")).await
        } else {
            json_of(
                sim,
                auth,
                &format!("/rest/api/content/{id}/child/attachment"),
            )
            .await
        };
        out.push(json!({
            "id": id, "title": p["title"], "version": p["version"]["number"],
            "body": p["body"]["storage"]["value"],
            "attachments": atts["results"].as_array().unwrap().iter().map(|a| a["title"].clone()).collect::<Vec<_>>(),
        }));
    }
    Value::Array(out)
}

#[tokio::test]
async fn reset_restores_exactly_the_seed_on_both_flavours() {
    for (flavor, auth) in [
        ("dc", basic("tess", "tess-pw")),
        ("cloud", basic("tess@example.com", "tess-token")),
    ] {
        let cloud = flavor == "cloud";
        let dir = tempfile::tempdir().unwrap();
        let sim = sim_with(flavor, &seed_file(dir.path(), false));
        let before = snapshot(&sim, &auth, cloud).await;
        assert_eq!(before.as_array().unwrap().len(), 2, "{flavor}: {before}");
        let welcome = before[0]["id"].as_str().unwrap();
        let c = http();
        let send = |rb: reqwest::RequestBuilder, body: Value| {
            rb.header("authorization", &auth)
                .header("x-atlassian-token", "no-check")
                .json(&body)
                .send()
        };
        let storage = |v: &str| json!({"storage": {"value": v, "representation": "storage"}});
        let (created, updated) = if cloud {
            let space = json_of(&sim, &auth, "/wiki/api/v2/spaces?keys=ENG").await;
            let sid = space["results"][0]["id"].clone();
            let created = send(
                c.post(sim.url("/wiki/api/v2/pages")),
                json!({"spaceId": sid, "title": "Scratch",
                "body": {"representation": "storage", "value": "<p>x</p>"}}),
            )
            .await
            .unwrap();
            let updated = send(
                c.put(sim.url(&format!("/wiki/api/v2/pages/{welcome}"))),
                json!({"id": welcome,
                "status": "current", "title": "Welcome", "version": {"number": 2},
                "body": {"representation": "storage", "value": "<p>changed</p>"}}),
            )
            .await
            .unwrap();
            (created, updated)
        } else {
            let created = send(
                c.post(sim.url("/rest/api/content")),
                json!({"type": "page", "title": "Scratch",
                "space": {"key": "ENG"}, "body": storage("<p>x</p>")}),
            )
            .await
            .unwrap();
            let updated = send(
                c.put(sim.url(&format!("/rest/api/content/{welcome}"))),
                json!({"type": "page",
                "title": "Welcome", "version": {"number": 2}, "body": storage("<p>changed</p>")}),
            )
            .await
            .unwrap();
            (created, updated)
        };
        assert_eq!(
            (created.status().as_u16(), updated.status().as_u16()),
            (200, 200),
            "{flavor}"
        );
        assert_ne!(snapshot(&sim, &auth, cloud).await, before, "{flavor}");

        let reset = c.post(sim.url("/__sim/reset")).send().await.unwrap();
        assert_eq!(reset.status(), 204);
        assert_eq!(snapshot(&sim, &auth, cloud).await, before, "{flavor}");
        let state = json_of(&sim, &auth, "/__sim/state").await;
        assert_eq!(
            (
                state["spaces"].as_u64(),
                state["pages"].as_u64(),
                state["attachments"].as_u64()
            ),
            (Some(2), Some(3), Some(2)),
            "{flavor}: {state}"
        );
    }
}

/// Broken seeds: each is refused with the file that is wrong and what is wrong with it.
#[test]
fn a_broken_seed_is_an_error_naming_the_file_and_the_problem() {
    // (what --seed names, the files written, what the error must say)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"ENG\"\n[[spaces.pages]]\ntitel = \"x\"\n")], &["seed.toml", "titel"]),
        ("seed.json", &[("seed.json", "{\"spaces\": [")], &["seed.json", "EOF"]),
        ("seed.yaml", &[("seed.yaml", "spaces: []")], &["seed.yaml", ".toml or .json"]),
        ("missing.toml", &[], &["missing.toml", "cannot read"]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"my space\"\n")], &["seed.toml", "\"my space\"", "letters and digits"]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"A\"\n[[spaces]]\nkey = \"a\"\n")], &["declared twice"]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"A\"\n[[spaces.pages]]\ntitle = \"P\"\n[[spaces.pages]]\ntitle = \"P\"\n")], &["two pages titled \"P\""]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"A\"\n[[spaces.pages]]\ntitle = \"P\"\nparent = \"Nope\"\n")], &["parent \"Nope\" is not a page of space A"]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"A\"\n[[spaces.pages]]\ntitle = \"P\"\nparent = \"Q\"\n[[spaces.pages]]\ntitle = \"Q\"\nparent = \"P\"\n")], &["cycle"]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"A\"\nhomepage = \"Nope\"\n")], &["homepage \"Nope\""]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"A\"\n[[spaces.pages]]\ntitle = \"P\"\ntype = \"whiteboard\"\n")], &["\"whiteboard\"", "\"page\" or \"blogpost\""]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"A\"\n[[spaces.pages]]\ntitle = \"P\"\nbody_file = \"gone.xml\"\n")], &["gone.xml", "cannot read"]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"A\"\n[[spaces.pages]]\ntitle = \"P\"\nattachments = [{ file = \"gone.png\" }]\n")], &["gone.png", "cannot read"]),
        ("seed.toml", &[("seed.toml", "[[spaces]]\nkey = \"A\"\n[[spaces.pages]]\ntitle = \"P\"\nauthor = \"nobody\"\n")], &["seed.toml", "author \"nobody\" is not a user"]),
        ("seed.toml", &[("seed.toml", "[[users]]\nname = \"admin\"\ndisplay_name = \"A\"\nemail = \"x@y\"\n")], &["seed.toml", "\"admin\" is declared twice"]),
        ("seed", &[("seed/ENG/notes.txt", "x")], &["notes.txt", "attachments go in the page's folder"]),
        ("seed", &[("seed/ENG/Home/a.png", "x")], &["Home", "add Home.xml or Home.html"]),
        ("seed", &[("seed/readme.md", "x")], &["readme.md", "users.toml and one folder per space"]),
        ("seed", &[("seed/ENG/space.toml", "nam = \"x\"\n")], &["space.toml", "nam"]),
        ("seed", &[("seed/ENG/space.toml", "[labels]\nNope = [\"x\"]\n")], &["space.toml", "\"Nope\", which is not a page"]),
    ];
    let config = "flavor = \"dc\"\n[[users]]\nname = \"admin\"\ndisplay_name = \"Admin\"\nemail = \"admin@example.com\"\n";
    for (target, files, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in *files {
            write(dir.path(), rel, text.as_bytes());
        }
        if *target == "seed" {
            std::fs::create_dir_all(dir.path().join("seed")).unwrap();
        }
        let err = SimConfig::parse(config)
            .unwrap()
            .with_seed(&dir.path().join(target))
            .map(|_| ())
            .expect_err(target)
            .to_string();
        assert!(err.starts_with("invalid seed /"), "{target}: {err}");
        for e in *expected {
            assert!(err.contains(e), "{target}: expected {e:?} in {err:?}");
        }
    }
}
