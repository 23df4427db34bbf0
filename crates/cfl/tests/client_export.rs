//! `cfl export` and `cfl publish` against a real `cfl sim`, Cloud and Data Center: the tree on
//! disk, incremental runs (nothing fetched when nothing changed, only the changed page after an
//! update), a rate-limited export that finishes with no failed request, a killed export that
//! resumes, and publish → export round trips.

mod client_support;
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use client_support::*;
use common::*;
use serde_json::Value;

fn dc_with(seed_pages: usize, extra: &str) -> Sim {
    let toml = read_example("sim-dc.toml").replace(
        "pages_per_space = 12",
        &format!("pages_per_space = {seed_pages}"),
    );
    Sim::start(&format!("{toml}\n{extra}"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The simulator's request log since the last clear.
fn sim_requests(sim: &Sim) -> Vec<Value> {
    sim_log(sim, "/__sim/requests")
}

fn sim_log(sim: &Sim, path: &str) -> Vec<Value> {
    rt().block_on(async {
        let v: Value = http()
            .get(sim.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["requests"].as_array().cloned().unwrap_or_default()
    })
}

/// Cloud answers removed v1 endpoints with 410 Gone: no request of a Cloud test may have met one.
fn assert_no_gone(sim: &Sim) {
    let gone: Vec<Value> = sim_log(sim, "/__sim/requests?status=410");
    assert!(gone.is_empty(), "requests to removed endpoints: {gone:?}");
}

fn clear_requests(sim: &Sim) {
    rt().block_on(async {
        http()
            .delete(sim.url("/__sim/requests"))
            .send()
            .await
            .unwrap();
    });
}

fn manifest(dir: &Path) -> Value {
    json(&std::fs::read_to_string(dir.join(".cfl-export.json")).expect("manifest"))
}

/// `page` lines of a run's stdout: (id, path).
fn page_lines(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.first() == Some(&"page")).then(|| (f[1].to_string(), f[3].to_string()))
        })
        .collect()
}

fn summary(stderr: &str) -> std::collections::HashMap<String, String> {
    stderr
        .lines()
        .find(|l| l.starts_with("summary "))
        .unwrap_or_else(|| panic!("no summary line in {stderr}"))
        .split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn export(cli: &Cli, args: &[&str]) -> Out {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = cli.run(&all, None);
    assert_eq!(out.code, 0, "export failed: {}", out.all());
    out
}

#[test]
fn dc_space_export_mirrors_the_tree_and_later_runs_fetch_only_changes() {
    let sim = dc_with(12, "");
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = out_dir.to_str().unwrap();

    let first = export(&cli, &["DEV", "--out", out]);
    let pages = page_lines(&first.stdout);
    assert_eq!(
        pages.len(),
        13,
        "12 seeded pages + the home page: {}",
        first.stdout
    );
    let home = out_dir.join("DEV Home/index.md");
    let text = std::fs::read_to_string(&home).unwrap();
    assert!(
        text.starts_with("---\ntitle: \"DEV Home\"\nspace: \"DEV\"\n"),
        "{text}"
    );
    assert!(text.contains("Welcome to the **DEV** space."), "{text}");
    // Seeded page 1 sits under the home page, page 2 under page 1; code blocks are fenced.
    let m = manifest(&out_dir);
    assert_eq!(m["pages"].as_object().unwrap().len(), 13);
    let (p2_id, p2_path) = pages
        .iter()
        .find(|(_, p)| p.matches('/').count() == 3)
        .cloned()
        .expect("a page two levels below home");
    assert!(p2_path.starts_with("DEV Home/"), "{p2_path}");
    let p2 = std::fs::read_to_string(out_dir.join(&p2_path)).unwrap();
    assert!(p2.contains("```bash\necho "), "{p2}");
    // Attachments beside their page, listed in the manifest.
    let att_lines: Vec<&str> = first
        .stdout
        .lines()
        .filter(|l| l.starts_with("attachment\t"))
        .collect();
    assert!(!att_lines.is_empty(), "{}", first.stdout);
    for l in &att_lines {
        let path = l.split('\t').nth(3).unwrap();
        let bytes = std::fs::read(out_dir.join(path)).unwrap();
        assert!(String::from_utf8_lossy(&bytes).starts_with("attachment of page"));
    }
    assert_eq!(summary(&first.stderr)["failed"], "0", "{}", first.stderr);

    // Nothing changed: one listing request, nothing written.
    clear_requests(&sim);
    let second = export(&cli, &["DEV", "--out", out]);
    assert!(second.stdout.trim().is_empty(), "{}", second.stdout);
    let reqs = sim_requests(&sim);
    assert!(
        reqs.iter().all(|r| r["path"] == "/rest/api/content"
            && r["query"].as_str().unwrap().contains("spaceKey=DEV")),
        "only the listing: {reqs:?}"
    );

    // One page updated: only that page's body is fetched.
    let got = cli.run(&["api", &format!("/rest/api/content/{p2_id}")], None);
    let cur = json(&got.stdout);
    let v = cur["version"]["number"].as_u64().unwrap();
    let body = serde_json::json!({
        "type": "page", "title": cur["title"], "version": {"number": v + 1},
        "body": {"storage": {"value": "<p>Changed <em>now</em>.</p>", "representation": "storage"}}
    });
    let upd = cli.run(
        &[
            "api",
            "-X",
            "PUT",
            &format!("/rest/api/content/{p2_id}"),
            "--input",
            "-",
        ],
        Some(&body.to_string()),
    );
    assert_eq!(upd.code, 0, "{}", upd.all());
    clear_requests(&sim);
    let third = export(&cli, &["DEV", "--out", out]);
    assert_eq!(
        page_lines(&third.stdout),
        vec![(p2_id.clone(), p2_path.clone())]
    );
    let all = sim_requests(&sim);
    let fetched: Vec<&Value> = all
        .iter()
        .filter(|r| r["path"] != "/rest/api/content")
        .collect();
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    assert_eq!(fetched[0]["path"], format!("/rest/api/content/{p2_id}"));
    let p2 = std::fs::read_to_string(out_dir.join(&p2_path)).unwrap();
    assert!(p2.contains("Changed *now*."), "{p2}");
    assert!(p2.contains(&format!("version: \"{}\"", v + 1)), "{p2}");

    // A page deleted in Confluence disappears from the export.
    let del = cli.run(
        &["api", "-X", "DELETE", &format!("/rest/api/content/{p2_id}")],
        None,
    );
    assert_eq!(del.code, 0, "{}", del.all());
    let fourth = export(&cli, &["DEV", "--out", out]);
    assert!(
        fourth.stdout.contains(&format!("removed\t{p2_id}\t")),
        "{}",
        fourth.stdout
    );
    assert!(!out_dir.join(&p2_path).exists());
    assert!(!out_dir.join(".cfl-export.journal").exists());
}

#[test]
fn cloud_export_as_html_and_a_page_tree_as_storage() {
    let sim = Sim::example("sim-cloud.toml", "");
    let cli = Cli::new();
    cli.login_cloud("cloud", &sim.base_url);
    // A page linking to the home page: the link must point at the exported file.
    let made = cli.run(
        &[
            "page",
            "create",
            "--space",
            "DEV",
            "--title",
            "Linker",
            "--body",
            "<p>Back to <ac:link><ri:page ri:content-title=\"DEV Home\" /></ac:link>.</p>",
        ],
        None,
    );
    assert_eq!(made.code, 0, "{}", made.all());
    let dir = tempfile::tempdir().unwrap();
    let html_dir = dir.path().join("html");
    let first = export(
        &cli,
        &[
            "DEV",
            "--out",
            html_dir.to_str().unwrap(),
            "--format",
            "html",
        ],
    );
    let pages = page_lines(&first.stdout);
    // 12 seeded pages, the home page, the linker and the three pages in the seeded folders.
    assert_eq!(pages.len(), 17, "{}", first.all());
    let linker = std::fs::read_to_string(html_dir.join("DEV Home/Linker/index.html")).unwrap();
    assert!(
        linker.contains("<a href=\"../index.html\">DEV Home</a>"),
        "{linker}"
    );
    let (_, path) = pages
        .iter()
        .find(|(_, p)| p.matches('/').count() == 2 && !p.contains("Linker"))
        .unwrap();
    let html = std::fs::read_to_string(html_dir.join(path)).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(
        html.contains("<pre><code class=\"language-bash\">echo "),
        "{html}"
    );
    // Requests went to the Cloud site's /wiki base.
    assert!(sim_requests(&sim)
        .iter()
        .all(|r| r["path"].as_str().unwrap().starts_with("/wiki/")));

    // A page and its descendants, as storage format.
    let m = manifest(&html_dir);
    let (sub_id, sub) = m["pages"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, e)| {
            let p = e["path"].as_str().unwrap();
            p.matches('/').count() == 2 && !p.contains("Linker")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    let sub_prefix = Path::new(sub["path"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let expected = m["pages"]
        .as_object()
        .unwrap()
        .values()
        .filter(|e| {
            e["path"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{sub_prefix}/"))
        })
        .count();
    let st_dir = dir.path().join("storage");
    let tree = export(
        &cli,
        &[
            &sub_id,
            "--out",
            st_dir.to_str().unwrap(),
            "--format",
            "storage",
        ],
    );
    let got = page_lines(&tree.stdout);
    assert_eq!(got.len(), expected, "{}", tree.stdout);
    let title = sub["title"].as_str().unwrap();
    let xml = std::fs::read_to_string(st_dir.join(title).join("index.xml")).unwrap();
    assert!(
        xml.contains("<ac:structured-macro ac:name=\"code\">"),
        "{xml}"
    );

    // The same directory can't silently switch format.
    let clash = cli.run(&["export", "DEV", "--out", st_dir.to_str().unwrap()], None);
    assert_eq!(clash.code, 1);
    assert!(clash.stderr.contains("--force"), "{}", clash.stderr);
    assert_no_gone(&sim);
}

/// The Cloud seed's folder tree under the home page: `Runbooks` (a folder) holds two pages and
/// the folder `Archive`, which holds one more; three of those pages carry an attachment.
#[test]
fn cloud_export_lays_folders_out_as_directories_and_publishes_back_byte_identically() {
    // Downloads redirect to another host name that refuses (400) any request carrying the
    // Confluence credential, as Cloud's media store stands apart from the site.
    let sim = Sim::start(
        &read_example("sim-cloud.toml")
            .replace("# media_redirect = false", "media_redirect = true"),
    );
    let cli = Cli::new();
    cli.login_cloud("cloud", &sim.base_url);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = out_dir.to_str().unwrap();
    let first = export(&cli, &["DEV", "--out", out]);
    let s = summary(&first.stderr);
    assert_eq!((s["folders"].as_str(), s["failed"].as_str()), ("2", "0"));

    // A folder is a directory without an index file; its pages and folders are inside.
    let runbooks = out_dir.join("DEV Home/Runbooks");
    assert!(runbooks.is_dir(), "{}", first.stdout);
    assert!(!runbooks.join("index.md").exists());
    let restart = runbooks.join("Restart the gateway/index.md");
    let text = std::fs::read_to_string(&restart).unwrap();
    assert!(
        text.contains("Restart with `systemctl restart cfl`."),
        "{text}"
    );
    assert!(runbooks.join("Archive/Old runbook/index.md").is_file());
    assert!(!runbooks.join("Archive/index.md").exists());
    // Attachments from v2 (downloadLink), binary bytes intact.
    assert_eq!(
        std::fs::read(runbooks.join("Restart the gateway/restart.sh")).unwrap(),
        b"systemctl restart cfl\n"
    );
    let png = std::fs::read(runbooks.join("Rotate tokens/rotation.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() == 8 + 256);
    assert_eq!(
        std::fs::read(runbooks.join("Archive/Old runbook/old notes.txt")).unwrap(),
        b"superseded\n"
    );
    let redirected: Vec<Value> = sim_requests(&sim)
        .into_iter()
        .filter(|r| r["path"].as_str().unwrap().contains("download"))
        .collect();
    assert!(
        redirected.iter().any(|r| r["status"] == 302),
        "downloads were redirected: {redirected:?}"
    );
    assert!(
        redirected.iter().all(|r| r["status"] != 400),
        "the credential went to the media host: {redirected:?}"
    );
    // The manifest records the folders.
    let m = manifest(&out_dir);
    let mut folders: Vec<&str> = m["folders"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    folders.sort();
    assert_eq!(folders, ["DEV Home/Runbooks", "DEV Home/Runbooks/Archive"]);
    let (folder_id, _) = m["folders"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, f)| f["title"] == "Runbooks")
        .unwrap();

    // An exported page publishes back byte-identically: no new version, and the next export
    // finds nothing to fetch and leaves the file as it was.
    let rotate = runbooks.join("Rotate tokens/index.md");
    let before = std::fs::read(&rotate).unwrap();
    let rotate_id = m["pages"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, e)| e["title"] == "Rotate tokens")
        .map(|(k, _)| k.clone())
        .unwrap();
    let storage = |id: &str| {
        let got = cli.run(
            &["api", &format!("/api/v2/pages/{id}?body-format=storage")],
            None,
        );
        assert_eq!(got.code, 0, "{}", got.all());
        let v = json(&got.stdout);
        (
            v["body"]["storage"]["value"].as_str().unwrap().to_string(),
            v["version"]["number"].as_u64().unwrap(),
        )
    };
    let stored = storage(&rotate_id);
    for file in [&rotate, &restart] {
        let back = cli.run(&["publish", file.to_str().unwrap()], None);
        assert_eq!(back.code, 0, "{}", back.all());
        assert!(back.stdout.starts_with("unchanged\t"), "{}", back.all());
    }
    assert_eq!(storage(&rotate_id), stored);
    clear_requests(&sim);
    let again = export(&cli, &["DEV", "--out", out]);
    assert!(again.stdout.trim().is_empty(), "{}", again.stdout);
    assert_eq!(std::fs::read(&rotate).unwrap(), before);
    // Nothing changed: only the v2 listing (spaces, their pages, the folders above them).
    let reqs = sim_requests(&sim);
    assert!(
        reqs.iter().all(|r| {
            let p = r["path"].as_str().unwrap();
            p.starts_with("/wiki/api/v2/spaces") || p.starts_with("/wiki/api/v2/folders/")
        }),
        "{reqs:?}"
    );

    // publish --parent takes a folder, by title and by id.
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let note = src.join("note.md");
    std::fs::write(&note, "# Archived note\n\nOld news.\n").unwrap();
    let by_title = cli.run(
        &[
            "publish",
            note.to_str().unwrap(),
            "--space",
            "DEV",
            "--parent",
            "Archive",
        ],
        None,
    );
    assert!(
        by_title.stdout.starts_with("created\t"),
        "{}",
        by_title.all()
    );
    std::fs::write(&note, "# Filed note\n\nNew news.\n").unwrap();
    let by_id = cli.run(
        &[
            "publish",
            note.to_str().unwrap(),
            "--space",
            "DEV",
            "--parent",
            folder_id,
        ],
        None,
    );
    assert!(by_id.stdout.starts_with("created\t"), "{}", by_id.all());
    clear_requests(&sim);
    let third = export(&cli, &["DEV", "--out", out]);
    // Bodies came with the listing: the new pages cost one attachment listing each.
    let per_page: Vec<String> = sim_requests(&sim)
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .filter(|p| p.starts_with("/wiki/api/v2/pages/"))
        .collect();
    assert_eq!(per_page.len(), 2, "{per_page:?}");
    assert!(
        per_page.iter().all(|p| p.ends_with("/attachments")),
        "{per_page:?}"
    );
    let mut written: Vec<String> = page_lines(&third.stdout)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "DEV Home/Runbooks/Archive/Archived note/index.md",
            "DEV Home/Runbooks/Filed note/index.md"
        ]
    );

    // A folder as the export's root.
    let sub = dir.path().join("sub");
    let tree = export(&cli, &[folder_id, "--out", sub.to_str().unwrap()]);
    assert_eq!(page_lines(&tree.stdout).len(), 5, "{}", tree.stdout);
    assert!(sub.join("Runbooks/Archive/Old runbook/index.md").is_file());
    assert_no_gone(&sim);
}

#[test]
fn rate_limited_export_finishes_with_no_failed_request() {
    // 10 requests a second per credential; ~50 requests needed, 8+ in flight at the start.
    let sim = dc_with(40, "[rate_limit]\nrequests = 10\ninterval_seconds = 1\n");
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    clear_requests(&sim);
    let run = export(&cli, &["DEV", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(page_lines(&run.stdout).len(), 41, "{}", run.all());
    let s = summary(&run.stderr);
    assert_eq!(s["failed"], "0", "{}", run.stderr);
    // The limit was really enforced and cfl slowed down for it.
    let limited = sim_requests(&sim)
        .iter()
        .filter(|r| r["status"] == 429)
        .count();
    assert!(limited > 0, "the simulator never limited: {}", run.stderr);
    assert_eq!(s["throttled"], limited.to_string(), "{}", run.stderr);
    assert!(s["slowdowns"].parse::<u32>().unwrap() > 0, "{}", run.stderr);
    assert_eq!(manifest(&out_dir)["pages"].as_object().unwrap().len(), 41);
}

#[test]
fn a_killed_export_resumes_where_it_stopped() {
    let sim = dc_with(40, "");
    // Slow answers so the kill lands mid-way.
    rt().block_on(async {
        http()
            .post(sim.url("/__sim/faults"))
            .json(&serde_json::json!({"latency_ms": 60}))
            .send()
            .await
            .unwrap();
    });
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let dir = tempfile::tempdir().unwrap();
    let out_dir: PathBuf = dir.path().join("out");
    let mut child = Command::new(CFL)
        .args(["export", "DEV", "--concurrency", "2", "--out"])
        .arg(&out_dir)
        .env("CFL_CONFIG_DIR", cli.config_dir())
        .env("HOME", cli.dir.path())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("CONFLUENCE_URL")
        .env_remove("CONFLUENCE_PAT")
        .env_remove("CFL_PROFILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = out_dir.join(".cfl-export.journal");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines = std::fs::read_to_string(&journal)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 8 {
            break;
        }
        assert!(Instant::now() < deadline, "the export never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !out_dir.join(".cfl-export.json").exists(),
        "killed before the manifest"
    );
    let done_before: BTreeSet<String> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        done_before.len() >= 7 && done_before.len() < 41,
        "{done_before:?}"
    );

    rt().block_on(async {
        http()
            .delete(sim.url("/__sim/faults"))
            .send()
            .await
            .unwrap();
    });
    let resumed = export(&cli, &["DEV", "--out", out_dir.to_str().unwrap()]);
    let again: BTreeSet<String> = page_lines(&resumed.stdout)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(
        again.is_disjoint(&done_before),
        "pages finished before the kill were fetched again: {:?}",
        again.intersection(&done_before).collect::<Vec<_>>()
    );
    assert_eq!(again.len() + done_before.len(), 41, "{}", resumed.stdout);
    let m = manifest(&out_dir);
    assert_eq!(m["pages"].as_object().unwrap().len(), 41);
    for e in m["pages"].as_object().unwrap().values() {
        assert!(out_dir.join(e["path"].as_str().unwrap()).is_file());
    }
    assert!(!journal.exists());
    // No temporary file survived.
    fn walk(d: &Path, found: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                walk(&e.path(), found);
            } else if e.file_name().to_string_lossy().contains(".cfl-tmp-") {
                found.push(e.path());
            }
        }
    }
    let mut tmp = Vec::new();
    walk(&out_dir, &mut tmp);
    assert!(tmp.is_empty(), "{tmp:?}");
}

const ROUND_TRIP: &str = r#"## Overview

A paragraph with **bold**, *emphasis*, `inline code` and a [link](https://example.com/docs?a=1).

- first item
- second item
  - nested item
  1. numbered inside

1. one
2. two

| Name | Value |
| --- | --- |
| alpha | `1` |
| beta | *two* |

```rust
fn main() {
    println!("a < b && c > d");
}
```

![Architecture](arch.png)

> Quoted text.
"#;

fn round_trip(sim: &Sim, cli: &Cli) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\nnot really a png".to_vec();
    std::fs::write(src.join("arch.png"), &png).unwrap();
    let file = src.join("round-trip.md");
    std::fs::write(&file, format!("# Round trip\n\n{ROUND_TRIP}")).unwrap();
    let publish = cli.run(
        &[
            "publish",
            file.to_str().unwrap(),
            "--space",
            "DEV",
            "--parent",
            "DEV Home",
        ],
        None,
    );
    assert_eq!(publish.code, 0, "{}", publish.all());
    assert!(
        publish.stdout.starts_with("created\t"),
        "{}",
        publish.stdout
    );
    assert!(publish.stdout.contains("attachment\tarch.png\tuploaded"));

    let out_dir = dir.path().join("out");
    export(cli, &["DEV", "--out", out_dir.to_str().unwrap()]);
    let page_dir = out_dir.join("DEV Home/Round trip");
    let exported = std::fs::read_to_string(page_dir.join("index.md")).unwrap();
    let (_, body) = exported.split_once("\n---\n\n").expect("front matter");
    assert_eq!(body, ROUND_TRIP);
    assert_eq!(std::fs::read(page_dir.join("arch.png")).unwrap(), png);

    // Publishing the export again finds the same page (title and space from its front matter)
    // and, its storage format being byte for byte what Confluence holds, saves no new version.
    let again = cli.run(
        &["publish", page_dir.join("index.md").to_str().unwrap()],
        None,
    );
    assert_eq!(again.code, 0, "{}", again.all());
    let id = publish.stdout.split('\t').nth(1).unwrap();
    let version = publish.stdout.split('\t').nth(2).unwrap();
    assert!(
        again
            .stdout
            .starts_with(&format!("unchanged\t{id}\t{version}\t")),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("attachment\tarch.png\tunchanged"),
        "{}",
        again.stdout
    );
    let second = export(cli, &["DEV", "--out", out_dir.to_str().unwrap()]);
    assert!(page_lines(&second.stdout).is_empty(), "{}", second.stdout);
    assert_eq!(
        std::fs::read_to_string(page_dir.join("index.md")).unwrap(),
        exported
    );

    // An edit is saved as the next version and comes back with the next export.
    let edited = exported.replace("Quoted text.", "Quoted text, edited.");
    std::fs::write(page_dir.join("index.md"), &edited).unwrap();
    let third = cli.run(
        &["publish", page_dir.join("index.md").to_str().unwrap()],
        None,
    );
    assert!(
        third.stdout.starts_with(&format!("updated\t{id}\t")),
        "{}",
        third.all()
    );
    let after = export(cli, &["DEV", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(page_lines(&after.stdout).len(), 1, "{}", after.stdout);
    let exported3 = std::fs::read_to_string(page_dir.join("index.md")).unwrap();
    assert!(exported3.contains("> Quoted text, edited."), "{exported3}");
    let _ = sim;
}

#[test]
fn publish_then_export_round_trips_on_dc() {
    let sim = dc_with(2, "");
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    round_trip(&sim, &cli);
}

#[test]
fn publish_then_export_round_trips_on_cloud() {
    let sim = Sim::example("sim-cloud.toml", "");
    let cli = Cli::new();
    cli.login_cloud("cloud", &sim.base_url);
    round_trip(&sim, &cli);
    assert_no_gone(&sim);
}

#[test]
fn bad_input_gets_clear_errors_and_writes_nothing() {
    let sim = dc_with(2, "");
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let dir = tempfile::tempdir().unwrap();

    let none = cli.run(
        &[
            "export",
            "NOPE",
            "--out",
            dir.path().join("x").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("no space \"NOPE\""), "{}", none.stderr);
    assert!(
        !dir.path().join("x").exists(),
        "nothing written for a bad key"
    );
    // `-f` is `api`'s `--raw-field`; `export` spells its format out.
    let short = cli.run(
        &[
            "export",
            "DEV",
            "--out",
            dir.path().join("z").to_str().unwrap(),
            "-f",
            "html",
        ],
        None,
    );
    assert_eq!(short.code, 2, "{}", short.all());
    assert!(short.stderr.contains("'-f'"), "{}", short.stderr);
    let no_page = cli.run(
        &[
            "export",
            "999999",
            "--out",
            dir.path().join("y").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(no_page.code, 1);
    assert!(
        no_page.stderr.contains("no page with id 999999"),
        "{}",
        no_page.stderr
    );

    let md = dir.path().join("page.md");
    std::fs::write(&md, "# Has a missing image\n\n![x](missing.png)\n").unwrap();
    let missing = cli.run(&["publish", md.to_str().unwrap(), "--space", "DEV"], None);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("missing.png"), "{}", missing.stderr);
    let no_space = cli.run(&["publish", md.to_str().unwrap()], None);
    assert!(
        no_space.stderr.contains("--space KEY"),
        "{}",
        no_space.stderr
    );
    std::fs::write(&md, "---\ntitle: broken\n").unwrap();
    let broken = cli.run(&["publish", md.to_str().unwrap(), "--space", "DEV"], None);
    assert!(broken.stderr.contains("front matter"), "{}", broken.stderr);
    std::fs::write(&md, "# Orphan\n").unwrap();
    let parent = cli.run(
        &[
            "publish",
            md.to_str().unwrap(),
            "--space",
            "DEV",
            "--parent",
            "No such page",
        ],
        None,
    );
    assert!(
        parent.stderr.contains("no page titled \"No such page\""),
        "{}",
        parent.stderr
    );
    // Nothing was created by any of these.
    let found = cli.run(
        &[
            "api",
            "/rest/api/content",
            "-X",
            "GET",
            "-f",
            "spaceKey=DEV",
            "-f",
            "title=Orphan",
        ],
        None,
    );
    assert_eq!(json(&found.stdout)["size"], 0, "{}", found.stdout);
    let ok = cli.run(
        &[
            "publish",
            md.to_str().unwrap(),
            "--space",
            "DEV",
            "--dry-run",
        ],
        None,
    );
    assert_eq!(ok.code, 0, "{}", ok.all());
    // Only the storage format on stdout (pipeable); the chosen title on stderr.
    assert_eq!(ok.stdout, "\n", "an empty body: {}", ok.all());
    assert!(ok.stderr.contains("title\tOrphan"), "{}", ok.stderr);
    std::fs::write(dir.path().join("pic.png"), b"png").unwrap();
    std::fs::write(&md, "# Pictured\n\n![p](pic.png)\n").unwrap();
    let pic = cli.run(
        &[
            "publish",
            md.to_str().unwrap(),
            "--space",
            "DEV",
            "--dry-run",
        ],
        None,
    );
    assert!(
        pic.stdout.starts_with("<p><ac:image") && !pic.stdout.contains("attachment\t"),
        "{}",
        pic.all()
    );
    assert!(
        pic.stderr.contains("attachment\tpic.png\t"),
        "{}",
        pic.stderr
    );
}

/// The exported file of the page titled `title`, from a run's `page` lines.
fn exported_path(out_dir: &Path, stdout: &str, title: &str) -> PathBuf {
    let (_, rel) = page_lines(stdout)
        .into_iter()
        .find(|(_, p)| {
            p.ends_with(&format!("{title}.md")) || p.ends_with(&format!("{title}/index.md"))
        })
        .unwrap_or_else(|| panic!("no page line for {title:?} in {stdout}"));
    out_dir.join(rel)
}

#[test]
fn a_front_matter_title_and_the_same_heading_publish_the_title_once() {
    let sim = dc_with(2, "");
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dup.md");
    std::fs::write(
        &file,
        "---\ntitle: Title once\nspace: DEV\n---\n\n# Title once\n\nThe body.\n",
    )
    .unwrap();
    let created = cli.run(&["publish", file.to_str().unwrap()], None);
    assert_eq!(created.code, 0, "{}", created.all());
    assert!(
        created.stdout.starts_with("created\t"),
        "{}",
        created.stdout
    );
    let id = created.stdout.split('\t').nth(1).unwrap().to_string();
    let version = created.stdout.split('\t').nth(2).unwrap().to_string();

    let body = cli.run(&["page", "get", &id, "--body"], None);
    assert_eq!(body.code, 0, "{}", body.all());
    assert!(!body.stdout.contains("Title once"), "{}", body.stdout);
    assert!(body.stdout.contains("<p>The body.</p>"), "{}", body.stdout);

    // The same file again, and its export, publish as no new version.
    let again = cli.run(&["publish", file.to_str().unwrap()], None);
    assert!(
        again
            .stdout
            .starts_with(&format!("unchanged\t{id}\t{version}\t")),
        "{}",
        again.all()
    );
    let out_dir = dir.path().join("out");
    let run = export(&cli, &["DEV", "--out", out_dir.to_str().unwrap()]);
    let exported = exported_path(&out_dir, &run.stdout, "Title once");
    let back = cli.run(&["publish", exported.to_str().unwrap()], None);
    assert!(
        back.stdout
            .starts_with(&format!("unchanged\t{id}\t{version}\t")),
        "{}",
        back.all()
    );
}

#[test]
fn export_reports_what_markdown_only_approximates_on_stderr() {
    let sim = dc_with(2, "");
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let created = cli.run(
        &[
            "page",
            "create",
            "--space",
            "DEV",
            "--title",
            "Has a toc",
            "--body",
            "<p>Before.</p><ac:structured-macro ac:name=\"toc\" ac:schema-version=\"1\"><ac:parameter ac:name=\"maxLevel\">2</ac:parameter></ac:structured-macro><h2>Part</h2><p>After.</p>",
        ],
        None,
    );
    assert_eq!(created.code, 0, "{}", created.all());

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let run = export(&cli, &["DEV", "--out", out_dir.to_str().unwrap()]);
    let file = exported_path(&out_dir, &run.stdout, "Has a toc");
    let rel = file.strip_prefix(&out_dir).unwrap().to_str().unwrap();
    let reported: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("approximated: "))
        .collect();
    assert!(
        reported
            .iter()
            .any(|l| l.starts_with(&format!("approximated: {rel}: macro \"toc\""))),
        "{}",
        run.stderr
    );
    // Only pages that lose something are named, each by a file the run wrote.
    let written: Vec<String> = page_lines(&run.stdout)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    for l in &reported {
        assert!(
            written
                .iter()
                .any(|p| l.starts_with(&format!("approximated: {p}: "))),
            "{l} names no written page: {}",
            run.stdout
        );
    }
    // stdout stays the machine format.
    for l in run.stdout.lines() {
        let kind = l.split('\t').next().unwrap();
        assert!(["page", "attachment", "removed"].contains(&kind), "{l}");
    }
    let md = std::fs::read_to_string(&file).unwrap();
    assert!(md.contains("After."), "{md}");
    let _ = sim;
}
