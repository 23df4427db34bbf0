//! The daily content commands (`space`, `page`, `search`, `attachment`, `label`) run as the real
//! `cfl` binary against a real `cfl sim`, on Data Center and Cloud alike: round trips, page
//! references, the stable `--json` shapes, the 409 conflict, the rate limit, streamed
//! attachments, and bad input.

mod client_support;
mod common;

use client_support::*;
use common::*;
use serde_json::Value;

#[derive(Clone, Copy, Debug)]
enum Flavor {
    Dc,
    Cloud,
}

/// A simulator of `flavor` (with `extra` config; Cloud with REST v1 content removed, as today)
/// and a cli logged in to it as alice. The test fails if any request met 410 Gone.
fn setup(flavor: Flavor, extra: &str) -> (NoGoneSim, Cli) {
    let cli = Cli::new();
    let sim = NoGoneSim(match flavor {
        Flavor::Dc => Sim::example("sim-dc.toml", extra),
        Flavor::Cloud => Sim::example("sim-cloud.toml", extra),
    });
    match flavor {
        Flavor::Dc => cli.login_dc_pat("site", &sim.base_url),
        Flavor::Cloud => cli.login_cloud("site", &sim.base_url),
    };
    (sim, cli)
}

fn ok(cli: &Cli, args: &[&str], stdin: Option<&str>) -> String {
    let out = cli.run(args, stdin);
    assert_eq!(out.code, 0, "cfl {args:?} failed: {}", out.all());
    out.stdout
}

fn ok_json(cli: &Cli, args: &[&str]) -> Value {
    json(&ok(cli, args, None))
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const PAGE_KEYS: &[&str] = &[
    "id",
    "type",
    "status",
    "title",
    "spaceKey",
    "version",
    "lastModified",
    "url",
];

fn pages_round_trip(flavor: Flavor) {
    let (_sim, cli) = setup(flavor, "");

    // Spaces: table for people, JSON with the documented shape.
    let table = ok(&cli, &["space", "list"], None);
    let first = table.lines().next().unwrap_or("");
    assert!(
        first.starts_with("KEY") && first.contains("NAME"),
        "{table}"
    );
    assert!(
        !table.contains('\x1b'),
        "no colour off a terminal: {table:?}"
    );
    assert!(table.lines().any(|l| l.starts_with("DEV ")), "{table}");
    let spaces = ok_json(&cli, &["space", "list", "--json"]);
    assert_eq!(spaces.as_array().map(Vec::len), Some(2), "{spaces}");
    assert_eq!(
        keys(&spaces[0]),
        sorted(&["id", "key", "name", "type", "status", "homepageId", "url"])
    );
    let one = ok_json(&cli, &["space", "list", "--limit", "1", "--json"]);
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    let dev = ok_json(&cli, &["space", "get", "DEV", "--json"]);
    assert_eq!(dev["key"], "DEV");
    let home_id = dev["homepageId"]
        .as_str()
        .expect("home page id")
        .to_string();

    // Create under the home page (by SPACE:Title), body from --body.
    let created = ok_json(
        &cli,
        &[
            "page",
            "create",
            "--parent",
            "DEV:DEV Home",
            "--title",
            "Runbook: deploys",
            "--body",
            "<p>first</p>",
            "--json",
        ],
    );
    let mut expected = PAGE_KEYS.to_vec();
    expected.extend(["parentId", "parentType", "body"]);
    assert_eq!(keys(&created), sorted(&expected), "{created}");
    assert_eq!(created["spaceKey"], "DEV");
    assert_eq!(created["version"], 1);
    assert_eq!(created["parentId"], home_id.as_str());
    assert_eq!(created["parentType"], "page");
    let id = created["id"].as_str().unwrap().to_string();
    let url = created["url"].as_str().unwrap().to_string();
    match flavor {
        Flavor::Dc => assert!(
            url.ends_with(&format!("/pages/viewpage.action?pageId={id}")),
            "{url}"
        ),
        Flavor::Cloud => assert!(
            url.contains(&format!("/wiki/spaces/DEV/pages/{id}")),
            "{url}"
        ),
    }

    // The same page by id, by URL and by SPACE:Title.
    for r in [id.as_str(), url.as_str(), "DEV:Runbook: deploys"] {
        let got = ok_json(&cli, &["page", "get", r, "--json"]);
        assert_eq!(got["id"], id.as_str(), "{r}");
        assert_eq!(got["body"], "<p>first</p>", "{r}");
    }
    let fields = ok(&cli, &["page", "get", &id], None);
    assert!(
        fields.contains("\ntitle     Runbook: deploys\n"),
        "{fields}"
    );

    // Update: body from stdin, the version handled by cfl; then from a file with a new title.
    ok(&cli, &["page", "update", &id], Some("<p>second</p>"));
    let body = ok(&cli, &["page", "get", &id, "--body"], None);
    assert_eq!(body.trim(), "<p>second</p>");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("body.html");
    std::fs::write(&f, "<p>third</p>").unwrap();
    let upd = ok_json(
        &cli,
        &[
            "page",
            "update",
            &id,
            "--title",
            "Runbook: releases",
            "--body-file",
            f.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(upd["version"], 3);
    assert_eq!(upd["title"], "Runbook: releases");
    let said = ok(&cli, &["page", "update", &id, "--title", "Runbook"], None);
    assert!(
        said.starts_with(&format!("updated page {id} \"Runbook\" (version 4)")),
        "{said}"
    );
    assert_eq!(
        ok(&cli, &["page", "get", &id, "--body"], None).trim(),
        "<p>third</p>"
    );

    // A child, then children and move.
    let child = ok_json(
        &cli,
        &[
            "page", "create", "--space", "DEV", "--parent", &id, "--title", "Child", "--body",
            "<p>c</p>", "--json",
        ],
    );
    let child_id = child["id"].as_str().unwrap().to_string();
    let kids = ok_json(&cli, &["page", "children", &id, "--json"]);
    assert_eq!(kids.as_array().map(Vec::len), Some(1), "{kids}");
    assert_eq!(keys(&kids[0]), sorted(PAGE_KEYS));
    assert_eq!(kids[0]["id"], child_id.as_str());
    let moved = ok_json(
        &cli,
        &["page", "move", &child_id, "--parent", &home_id, "--json"],
    );
    assert_eq!(moved["parentId"], home_id.as_str());
    // Data Center moves by an update (a new version); Cloud's move keeps the version.
    let expected_version = match flavor {
        Flavor::Dc => 2,
        Flavor::Cloud => 1,
    };
    assert_eq!(moved["version"], expected_version);
    assert_eq!(
        ok_json(&cli, &["page", "children", &id, "--json"]),
        Value::Array(vec![])
    );
    let home_kids = ok(
        &cli,
        &["page", "children", "DEV:DEV Home", "--limit", "0"],
        None,
    );
    assert!(
        home_kids.lines().next().unwrap().starts_with("ID "),
        "{home_kids}"
    );
    assert!(home_kids.contains(&child_id), "{home_kids}");

    // Labels.
    let said = ok(&cli, &["label", "add", &id, "ops", "Deploy-Guide"], None);
    assert!(
        said.contains("ops") && said.contains("deploy-guide"),
        "{said}"
    );
    let labels = ok_json(&cli, &["label", "list", &id, "--json"]);
    assert_eq!(keys(&labels[0]), sorted(&["id", "name", "prefix"]));
    let names: Vec<&str> = labels
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(names, ["ops", "deploy-guide"]);
    ok(&cli, &["label", "remove", &id, "ops"], None);
    let table = ok(&cli, &["label", "list", &id], None);
    assert!(
        table.contains("deploy-guide") && !table.contains("ops "),
        "{table}"
    );
    let gone = cli.run(&["label", "remove", &id, "ops"], None);
    assert_eq!(gone.code, 1, "{}", gone.all());
    assert!(gone.stderr.contains("404"), "{}", gone.stderr);

    // Search finds it by label (JSON) and by title (table).
    let hits = ok_json(&cli, &["search", "label = \"deploy-guide\"", "--json"]);
    assert_eq!(hits.as_array().map(Vec::len), Some(1), "{hits}");
    assert_eq!(keys(&hits[0]), sorted(PAGE_KEYS));
    assert_eq!(hits[0]["id"], id.as_str());
    assert_eq!(hits[0]["spaceKey"], "DEV");
    let table = ok(
        &cli,
        &["search", "space = DEV and title ~ \"Runbook\""],
        None,
    );
    assert!(table.contains(&id) && table.contains("Runbook"), "{table}");

    // Delete: to the trash, then gone.
    let said = ok(&cli, &["page", "delete", &id], None);
    assert!(said.contains("trash"), "{said}");
    let after = cli.run(&["page", "get", &id], None);
    assert_eq!(after.code, 1, "{}", after.all());
    assert!(
        after.stderr.contains("404") && after.stdout.is_empty(),
        "{}",
        after.all()
    );
}

#[test]
fn pages_spaces_labels_and_search_on_data_center() {
    pages_round_trip(Flavor::Dc);
}

#[test]
fn pages_spaces_labels_and_search_on_cloud() {
    pages_round_trip(Flavor::Cloud);
}

#[test]
fn search_follows_every_result_page_up_to_the_limit() {
    // 150 pages + the home page in DEV: more than one server page (at most 100 each).
    let sim = Sim::start(
        &read_example("sim-dc.toml").replace("pages_per_space = 12", "pages_per_space = 150"),
    );
    let cli = Cli::new();
    cli.login_dc_pat("site", &sim.base_url);
    let five = ok_json(&cli, &["search", "space = DEV", "--limit", "5", "--json"]);
    assert_eq!(five.as_array().map(Vec::len), Some(5));
    let out = cli.run(
        &[
            "--verbose",
            "search",
            "space = DEV",
            "--limit",
            "0",
            "--json",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let all = json(&out.stdout);
    let ids: std::collections::HashSet<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 151, "every page once");
    assert_eq!(
        out.stderr.matches("> GET ").count(),
        2,
        "two result pages: {}",
        out.stderr
    );
    let some = ok_json(&cli, &["search", "space = DEV", "--limit", "120", "--json"]);
    assert_eq!(some.as_array().map(Vec::len), Some(120));
    let bad = cli.run(&["search", "space = = DEV"], None);
    assert_eq!(bad.code, 1, "{}", bad.all());
    assert!(bad.stderr.contains("cql"), "{}", bad.stderr);
    let empty = cli.run(&["search", " "], None);
    assert!(empty.stderr.contains("empty CQL"), "{}", empty.stderr);
}

fn conflict(flavor: Flavor) {
    let (sim, cli) = setup(flavor, "");
    let created = ok_json(
        &cli,
        &[
            "page",
            "create",
            "--space",
            "DEV",
            "--title",
            "Shared notes",
            "--body",
            "<p>v1</p>",
            "--json",
        ],
    );
    let id = created["id"].as_str().unwrap().to_string();
    // Someone else saves version 2 through the REST API while "we" edit version 1.
    let (path, put) = match flavor {
        Flavor::Dc => (
            format!("/rest/api/content/{id}"),
            r#"{"type":"page","title":"Shared notes","version":{"number":2},
                "body":{"storage":{"value":"<p>theirs</p>","representation":"storage"}}}"#,
        ),
        Flavor::Cloud => (
            format!("/api/v2/pages/{id}"),
            r#"{"id":"ID","status":"current","title":"Shared notes","version":{"number":2},
                "body":{"value":"<p>theirs</p>","representation":"storage"}}"#,
        ),
    };
    let put = put.replace("ID", &id);
    ok(
        &cli,
        &["api", "-X", "PUT", &path, "--input", "-"],
        Some(&put),
    );
    let out = cli.run(
        &[
            "page",
            "update",
            &id,
            "--base-version",
            "1",
            "--body",
            "<p>mine</p>",
        ],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("changed by someone else")
            && out.stderr.contains("Current version is: 2"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("cfl page get {id}")),
        "says what to do: {}",
        out.stderr
    );
    // Nothing of ours was saved; their change stands.
    assert_eq!(
        ok(&cli, &["page", "get", &id, "--body"], None).trim(),
        "<p>theirs</p>"
    );
    // Based on the current version it goes through.
    ok(
        &cli,
        &[
            "page",
            "update",
            &id,
            "--base-version",
            "2",
            "--body",
            "<p>merged</p>",
        ],
        None,
    );
    assert_eq!(
        ok(&cli, &["page", "get", &id, "--body"], None).trim(),
        "<p>merged</p>"
    );
    drop(sim);
}

#[test]
fn a_stale_update_is_refused_as_a_conflict_on_data_center() {
    conflict(Flavor::Dc);
}

#[test]
fn a_stale_update_is_refused_as_a_conflict_on_cloud() {
    conflict(Flavor::Cloud);
}

#[test]
fn rate_limited_commands_wait_and_succeed() {
    for flavor in [Flavor::Dc, Flavor::Cloud] {
        let limits = "[rate_limit]\nrequests = 1\ninterval_seconds = 2\n";
        // Credentials from the environment: a login would spend the budget before the test.
        let (_sim, cli) = match flavor {
            Flavor::Dc => {
                let sim = NoGoneSim(Sim::example("sim-dc.toml", limits));
                let cli = Cli::new()
                    .with_env("CONFLUENCE_URL", &sim.base_url)
                    .with_env("CONFLUENCE_PAT", DC_PAT);
                (sim, cli)
            }
            Flavor::Cloud => {
                let sim = NoGoneSim(Sim::example("sim-cloud.toml", limits));
                let cli = Cli::new()
                    .with_env("CONFLUENCE_URL", &sim.base_url)
                    .with_env("CONFLUENCE_DEPLOYMENT", "cloud")
                    .with_env("CONFLUENCE_EMAIL", EMAIL)
                    .with_env("CONFLUENCE_API_TOKEN", CLOUD_TOKEN);
                (sim, cli)
            }
        };
        // Resolving the title, reading the version and saving: three requests, one allowed per
        // two seconds — the second and third meet 429s and are retried after Retry-After.
        let out = cli.run(
            &[
                "--verbose",
                "page",
                "update",
                "DEV:DEV Home",
                "--title",
                "DEV Home",
            ],
            None,
        );
        assert_eq!(out.code, 0, "{flavor:?}: {}", out.all());
        assert!(out.stderr.contains("< 429"), "{flavor:?}: {}", out.stderr);
        assert!(
            out.stdout.contains("(version 2)"),
            "{flavor:?}: {}",
            out.stdout
        );
    }
}

fn attachments(flavor: Flavor) {
    let (_sim, cli) = setup(flavor, "");
    let dir = tempfile::tempdir().unwrap();
    // A few MiB of varied bytes (not a repeated pattern that could hide an offset error).
    let mut data = Vec::with_capacity(3 * 1024 * 1024 + 7);
    let mut x: u32 = 0x1234_5678;
    while data.len() < 3 * 1024 * 1024 + 7 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data.extend_from_slice(&x.to_le_bytes());
    }
    let src = dir.path().join("big file.bin");
    std::fs::write(&src, &data).unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "hello\n").unwrap();

    let said = ok(
        &cli,
        &[
            "attachment",
            "upload",
            "DEV:DEV Home",
            src.to_str().unwrap(),
            notes.to_str().unwrap(),
            "--comment",
            "v1",
        ],
        None,
    );
    assert!(
        said.contains("uploaded big file.bin (3.0 MiB, version 1)"),
        "{said}"
    );
    let list = ok_json(&cli, &["attachment", "list", "DEV:DEV Home", "--json"]);
    let big = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "big file.bin")
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(
        keys(big),
        sorted(&[
            "id",
            "title",
            "mediaType",
            "fileSize",
            "version",
            "comment",
            "downloadUrl"
        ])
    );
    assert_eq!(big["fileSize"], data.len() as u64);
    assert_eq!(big["comment"], "v1");
    let table = ok(&cli, &["attachment", "list", "DEV:DEV Home"], None);
    assert!(
        table.starts_with("ID") && table.contains("notes.txt"),
        "{table}"
    );

    // Download into a directory: same bytes, no temporary file left behind.
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    ok(
        &cli,
        &[
            "attachment",
            "download",
            "DEV:DEV Home",
            "big file.bin",
            "notes.txt",
            "-o",
            out_dir.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        std::fs::read(out_dir.join("big file.bin")).unwrap() == data,
        "bytes differ"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("notes.txt")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_dir(&out_dir).unwrap().count(),
        2,
        "no temp files left"
    );

    // A download is an ordinary file: 0666 less the umask, as `cfl export` writes (not 0600).
    let masked = dir.path().join("masked.txt");
    let out = cli.run_with_umask(
        "027",
        &[
            "attachment",
            "download",
            "DEV:DEV Home",
            "notes.txt",
            "-o",
            masked.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.all());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&masked).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "mode {mode:o} under umask 027");

    // The same name again is a new version; -o FILE names the download.
    std::fs::write(&notes, "hello again\n").unwrap();
    let said = ok(
        &cli,
        &[
            "attachment",
            "upload",
            "DEV:DEV Home",
            notes.to_str().unwrap(),
        ],
        None,
    );
    assert!(said.contains("version 2"), "{said}");
    let target = dir.path().join("renamed.txt");
    ok(
        &cli,
        &[
            "attachment",
            "download",
            "DEV:DEV Home",
            "notes.txt",
            "-o",
            target.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "hello again\n");

    // Unknown names and missing files are clear errors.
    let missing = cli.run(
        &["attachment", "download", "DEV:DEV Home", "nope.txt"],
        None,
    );
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("no attachment named \"nope.txt\""),
        "{}",
        missing.stderr
    );
    let nofile = cli.run(
        &["attachment", "upload", "DEV:DEV Home", "/nonexistent/x.bin"],
        None,
    );
    assert_eq!(nofile.code, 1);
    assert!(
        nofile.stderr.contains("/nonexistent/x.bin"),
        "{}",
        nofile.stderr
    );
}

#[test]
fn attachments_stream_both_ways_on_data_center() {
    attachments(Flavor::Dc);
}

#[test]
fn attachments_stream_both_ways_on_cloud() {
    attachments(Flavor::Cloud);
}

#[test]
fn an_attachment_over_the_site_limit_is_refused_clearly() {
    let sim = Sim::start(
        &read_example("sim-dc.toml")
            .replace("flavor = \"dc\"", "flavor = \"dc\"\nmax_attachment_mb = 1"),
    );
    let cli = Cli::new();
    cli.login_dc_pat("site", &sim.base_url);
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 2 * 1024 * 1024]).unwrap();
    let upload = |file: &std::path::Path| {
        cli.run(
            &[
                "attachment",
                "upload",
                "DEV:DEV Home",
                file.to_str().unwrap(),
            ],
            None,
        )
    };
    let out = upload(&big);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("413") && out.stderr.contains("maximum size"),
        "{}",
        out.stderr
    );
    // Far over the limit, the server stops reading (as Tomcat does past 2 MiB): the client says
    // why the connection broke, or shows the 413 when it arrived first.
    let huge = dir.path().join("huge.bin");
    std::fs::write(&huge, vec![7u8; 16 * 1024 * 1024]).unwrap();
    let out = upload(&huge);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        (out.stderr.contains("413") && out.stderr.contains("maximum size"))
            || out
                .stderr
                .contains("larger than the site's attachment size limit"),
        "{}",
        out.stderr
    );
    let list = ok_json(&cli, &["attachment", "list", "DEV:DEV Home", "--json"]);
    assert_eq!(list, Value::Array(vec![]), "nothing stored");
}

#[test]
fn bad_input_gets_a_clear_error_and_no_request() {
    let (sim, cli) = setup(Flavor::Dc, "");
    let bad_ref = cli.run(&["page", "get", "Release notes"], None);
    assert_eq!(bad_ref.code, 1);
    assert!(bad_ref.stderr.contains("SPACE:Title"), "{}", bad_ref.stderr);
    let short = cli.run(&["page", "get", &sim.url("/x/AbC")], None);
    assert!(short.stderr.contains("short link"), "{}", short.stderr);
    let no_title = cli.run(&["page", "get", "DEV:No such page"], None);
    assert_eq!(no_title.code, 1);
    assert!(
        no_title
            .stderr
            .contains("no page titled \"No such page\" in space DEV"),
        "{}",
        no_title.stderr
    );
    let no_space = cli.run(&["page", "create", "--title", "X", "--body", "<p/>"], None);
    assert!(no_space.stderr.contains("--space"), "{}", no_space.stderr);
    let no_body = cli.run(&["page", "update", "DEV:DEV Home"], Some(""));
    assert_eq!(no_body.code, 1);
    assert!(no_body.stderr.contains("empty"), "{}", no_body.stderr);
    let no_file = cli.run(
        &[
            "page",
            "update",
            "DEV:DEV Home",
            "--body-file",
            "/nonexistent",
        ],
        None,
    );
    assert!(
        no_file
            .stderr
            .contains("cannot read the body file /nonexistent"),
        "{}",
        no_file.stderr
    );
    let bad_label = cli.run(&["label", "add", "DEV:DEV Home", "two words"], None);
    assert_eq!(bad_label.code, 1);
    assert!(
        bad_label.stderr.contains("single words"),
        "{}",
        bad_label.stderr
    );
    let dup = cli.run(
        &[
            "page", "create", "--space", "DEV", "--title", "DEV Home", "--body", "<p/>",
        ],
        None,
    );
    assert_eq!(dup.code, 1);
    assert!(dup.stderr.contains("already exists"), "{}", dup.stderr);

    // A refused credential: exit 4 and the command that fixes it; the secret never printed.
    let env = Cli::new()
        .with_env("CONFLUENCE_URL", &sim.base_url)
        .with_env("CONFLUENCE_PAT", "expired-pat-value");
    let un = env.run(&["space", "list"], None);
    assert_eq!(un.code, 4, "{}", un.all());
    assert!(un.stderr.contains("cfl auth login"), "{}", un.stderr);
    assert!(!un.all().contains("expired-pat-value"));
    // Every command maps a refused credential to 4, export and publish too (one mapping in main).
    let out_dir = tempfile::tempdir().unwrap();
    let out_path = out_dir.path().to_str().unwrap();
    let ex = env.run(&["export", "DEV", "--out", out_path], None);
    assert_eq!(ex.code, 4, "{}", ex.all());
    assert!(ex.stderr.contains("cfl auth login"), "{}", ex.stderr);
}

#[test]
fn dc_context_path_and_cloud_scoped_gateway_bases_work_too() {
    // DC under /confluence: page URLs, and attachment download links relative to the context.
    let sim = Sim::start(&read_example("sim-dc.toml").replace(
        "# context_path = \"/confluence\"",
        "context_path = \"/confluence\"",
    ));
    let cli = Cli::new();
    cli.login_dc_pat("dc", &format!("{}/confluence", sim.base_url));
    let home = ok_json(&cli, &["page", "get", "DEV:DEV Home", "--json"]);
    let url = home["url"].as_str().unwrap();
    assert!(
        url.contains("/confluence/pages/viewpage.action?pageId="),
        "{url}"
    );
    assert_eq!(
        ok_json(&cli, &["page", "get", url, "--json"])["id"],
        home["id"]
    );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.txt");
    std::fs::write(&f, "context path\n").unwrap();
    ok(
        &cli,
        &["attachment", "upload", "DEV:DEV Home", f.to_str().unwrap()],
        None,
    );
    let got = dir.path().join("b.txt");
    ok(
        &cli,
        &[
            "attachment",
            "download",
            "DEV:DEV Home",
            "a.txt",
            "-o",
            got.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "context path\n");

    // Cloud through api.atlassian.com/ex/confluence/{cloudId} with a (read-only) scoped token.
    let cloud = NoGoneSim(Sim::example("sim-cloud.toml", ""));
    let cli = Cli::new();
    cli.login(
        "scoped",
        &[
            "--site",
            &cloud.base_url,
            "--method",
            "scoped-token",
            "--email",
            EMAIL,
            "--token-stdin",
            "--api-gateway-url",
            &cloud.base_url,
        ],
        SCOPED_TOKEN,
    );
    let spaces = ok_json(&cli, &["space", "list", "--json"]);
    assert_eq!(spaces.as_array().map(Vec::len), Some(2), "{spaces}");
    let page = ok_json(&cli, &["page", "get", "DEV:DEV Home", "--json"]);
    assert_eq!(page["title"], "DEV Home");
    let hits = ok_json(&cli, &["search", "space = OPS", "--limit", "0", "--json"]);
    assert_eq!(hits.as_array().map(Vec::len), Some(13), "{hits}");
    // A seeded attachment (every 4th page has one), downloaded through the gateway base.
    let with_att = hits
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .find_map(|id| {
            let l = ok_json(&cli, &["attachment", "list", id, "--json"]);
            l.as_array()
                .and_then(|a| a.first())
                .map(|a| (id.to_string(), a["title"].as_str().unwrap().to_string()))
        })
        .expect("a seeded attachment");
    let out = dir.path().join("seeded.txt");
    ok(
        &cli,
        &[
            "attachment",
            "download",
            &with_att.0,
            &with_att.1,
            "-o",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .starts_with("attachment of page"));
}

/// `cfl space list` on a pseudo-terminal (util-linux `script`), with and without `NO_COLOR`.
fn on_a_terminal(sim: &Sim, no_color: bool) -> String {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new("script");
    cmd.args([
        "-q",
        "-e",
        "-c",
        &format!("'{CFL}' space list"),
        "/dev/null",
    ])
    .env("CFL_CONFIG_DIR", home.path().join("config"))
    .env("HOME", home.path())
    .env("NO_PROXY", "127.0.0.1")
    .env("CONFLUENCE_URL", &sim.base_url)
    .env("CONFLUENCE_PAT", DC_PAT)
    .env_remove("CFL_PROFILE")
    .env_remove("NO_COLOR");
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().expect("util-linux script");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let sim = Sim::example("sim-dc.toml", "");
    let tty = on_a_terminal(&sim, false);
    assert!(
        tty.contains("\x1b[1mKEY\x1b[0m"),
        "bold header on a terminal: {tty:?}"
    );
    let plain = on_a_terminal(&sim, true);
    assert!(
        plain.contains("KEY") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

#[test]
fn cloud_folders_in_page_children_page_get_and_create() {
    // The Cloud seed: DEV Home > Runbooks (folder) > {Restart the gateway, Rotate tokens,
    // Archive (folder) > Old runbook}.
    let (_sim, cli) = setup(Flavor::Cloud, "");
    let home_kids = ok_json(&cli, &["page", "children", "DEV:DEV Home", "--json"]);
    let runbooks = home_kids
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["title"] == "Runbooks")
        .unwrap_or_else(|| panic!("{home_kids}"));
    assert_eq!(runbooks["type"], "folder");
    assert_eq!(keys(runbooks), sorted(PAGE_KEYS), "the page list shape");
    assert_eq!(runbooks["spaceKey"], "DEV");
    let runbooks_id = runbooks["id"].as_str().unwrap().to_string();
    assert!(
        runbooks["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/wiki/spaces/DEV/folder/{runbooks_id}")),
        "{runbooks}"
    );

    // A folder's children: pages and the nested folder, with a TYPE column in the table.
    let inside = ok_json(&cli, &["page", "children", &runbooks_id, "--json"]);
    let mut kinds: Vec<(String, String)> = inside
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["title"].as_str().unwrap().to_string(),
                k["type"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("Archive".to_string(), "folder".to_string()),
            ("Restart the gateway".into(), "page".into()),
            ("Rotate tokens".into(), "page".into()),
        ]
    );
    for k in inside.as_array().unwrap() {
        let page = k["type"] == "page";
        assert_eq!(k["version"], if page { 1 } else { 0 }, "{k}");
        assert_eq!(k["lastModified"].is_string(), page, "{k}");
    }
    let table = ok(&cli, &["page", "children", &runbooks_id], None);
    let header = table.lines().next().unwrap();
    assert!(header.contains("TYPE"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.contains("Archive") && l.contains("folder")),
        "{table}"
    );
    let archive_id = inside
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["title"] == "Archive")
        .and_then(|k| k["id"].as_str())
        .unwrap()
        .to_string();

    // A page in a folder names its parent as a folder.
    let old = ok_json(&cli, &["page", "get", "DEV:Old runbook", "--json"]);
    assert_eq!(old["parentId"], archive_id.as_str());
    assert_eq!(old["parentType"], "folder");
    let fields = ok(&cli, &["page", "get", "DEV:Old runbook"], None);
    assert!(
        fields.contains(&format!("{archive_id} (folder)")),
        "{fields}"
    );

    // Create into a folder (its space is the default), then move into another folder.
    let made = ok_json(
        &cli,
        &[
            "page",
            "create",
            "--parent",
            &archive_id,
            "--title",
            "Older runbook",
            "--body",
            "<p>o</p>",
            "--json",
        ],
    );
    assert_eq!(made["spaceKey"], "DEV");
    assert_eq!(made["parentId"], archive_id.as_str());
    assert_eq!(made["parentType"], "folder");
    let id = made["id"].as_str().unwrap();
    let moved = ok_json(
        &cli,
        &["page", "move", id, "--parent", &runbooks_id, "--json"],
    );
    assert_eq!(moved["parentId"], runbooks_id.as_str());
    assert_eq!(moved["parentType"], "folder");
    assert_eq!(moved["version"], 1, "a move is not an edit");
    assert_eq!(
        ok(&cli, &["page", "get", id, "--body"], None).trim(),
        "<p>o</p>",
        "a move keeps the body"
    );

    // A folder is not a page.
    let not_page = cli.run(&["page", "get", &runbooks_id], None);
    assert_eq!(not_page.code, 1, "{}", not_page.all());
    assert!(not_page.stderr.contains("404"), "{}", not_page.stderr);
}

#[test]
fn cloud_attachment_bytes_come_from_the_media_host_without_the_credential() {
    // Downloads redirect to another host name of the simulator, which refuses (400) any
    // request carrying an Authorization header.
    let sim = NoGoneSim(Sim::start(
        &read_example("sim-cloud.toml")
            .replace("# media_redirect = false", "media_redirect = true"),
    ));
    let cli = Cli::new();
    cli.login_cloud("site", &sim.base_url);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("report.txt");
    std::fs::write(&f, "quarterly numbers\n").unwrap();
    ok(
        &cli,
        &["attachment", "upload", "DEV:DEV Home", f.to_str().unwrap()],
        None,
    );
    let got = dir.path().join("got.txt");
    let out = cli.run(
        &[
            "--verbose",
            "attachment",
            "download",
            "DEV:DEV Home",
            "report.txt",
            "-o",
            got.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        std::fs::read_to_string(&got).unwrap(),
        "quarterly numbers\n"
    );
    assert!(
        out.stderr
            .contains("(another host: sent without the Confluence credential)"),
        "{}",
        out.stderr
    );
    let log = sim_requests(&sim);
    assert!(
        log.iter().all(|r| r["status"] != 400),
        "the media host refused a request: {log:?}"
    );
}
