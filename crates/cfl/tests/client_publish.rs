//! `cfl publish DIR` against a real `cfl sim`, Data Center and Cloud, through the real binary:
//! a tree of 35 Markdown files with links between them, an image and an attached PDF; the
//! `--dry-run` plan (and that it writes nothing); a second publish that changes nothing (no
//! write request at all, no new version); an export of the published tree whose relative links
//! and files come back; then one edited file, one image with new bytes of the same size, a
//! removed file (an orphan, deleted with `--orphans delete`) and a reordered page, which cost
//! exactly their own write requests.

mod client_support;
mod common;

use std::path::Path;

use client_support::*;
use common::*;
use serde_json::Value;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
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

/// The requests that change something (not GET), as `METHOD path`.
fn writes(sim: &Sim) -> Vec<String> {
    sim_requests(sim)
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// 35 Markdown files: a root index, `basics/` (index + 10), `guides/` (README + 10, an image
/// and a PDF), `reference/` (no index file: a Cloud folder, a DC page listing its children)
/// with 10, and two root pages. Each page links to the next in its directory and to the
/// reference page of its number.
fn make_tree(root: &Path) {
    write(
        root,
        "index.md",
        "# Handbook\n\nStart with [the basics](basics/) or the [guides](guides/README.md).\n",
    );
    write(
        root,
        "basics/index.md",
        "# Basics\n\nBack to the [handbook](../index.md).\n",
    );
    write(root, "guides/README.md", "# Guides\n\nHow-tos.\n");
    for n in 1..=10 {
        let next = n % 10 + 1;
        write(
            root,
            &format!("basics/basics-{n:02}.md"),
            &format!(
                "# Basics {n:02}\n\nNext: [basics {next:02}](basics-{next:02}.md). \
                 See [reference {n:02}](../reference/ref-{n:02}.md#Details).\n"
            ),
        );
        write(
            root,
            &format!("guides/guide-{n:02}.md"),
            &format!("# Guide {n:02}\n\nNext: [guide {next:02}](./guide-{next:02}.md).\n"),
        );
        write(
            root,
            &format!("reference/ref-{n:02}.md"),
            &format!("# Reference {n:02}\n\n## Details\n\nText {n}.\n"),
        );
    }
    write(
        root,
        "guides/guide-01.md",
        "# Guide 01\n\n![diagram](img/diagram.png)\n\nThe [specification](img/spec.pdf).\n",
    );
    std::fs::create_dir_all(root.join("guides/img")).unwrap();
    std::fs::write(root.join("guides/img/diagram.png"), b"PNG-one").unwrap();
    std::fs::write(root.join("guides/img/spec.pdf"), b"%PDF-1.4 spec").unwrap();
    write(root, "changelog.md", "# Changelog\n\n- first\n");
    write(root, "faq.md", "# FAQ\n\nQuestions.\n");
}

/// Fields of the stdout lines starting with `verb`.
fn lines<'a>(stdout: &'a str, verb: &str) -> Vec<Vec<&'a str>> {
    stdout
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[0] == verb)
        .collect()
}

/// The id a run's output gives for the source `path`.
fn id_of(stdout: &str, path: &str) -> String {
    stdout
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[1] == path && f[2] != "-")
        .unwrap_or_else(|| panic!("no line for {path} in:\n{stdout}"))[2]
        .to_string()
}

fn page_json(cli: &Cli, profile: &str, id: &str) -> Value {
    let out = cli.run(&["page", "get", id, "--json", "--profile", profile], None);
    assert_eq!(out.code, 0, "{}", out.all());
    json(&out.stdout)
}

fn body(cli: &Cli, profile: &str, id: &str) -> String {
    let out = cli.run(&["page", "get", id, "--body", "--profile", profile], None);
    assert_eq!(out.code, 0, "{}", out.all());
    out.stdout
}

fn scenario(sim: &Sim, cli: &Cli, profile: &str, cloud: bool) {
    let work = tempfile::tempdir().unwrap();
    let docs = work.path().join("docs");
    make_tree(&docs);
    let dir = docs.to_str().unwrap();
    let publish = |extra: &[&str]| {
        let mut args = vec![
            "publish",
            dir,
            "--space",
            "DEV",
            "--parent",
            "Handbook",
            "--profile",
            profile,
        ];
        args.extend_from_slice(extra);
        let out = cli.run(&args, None);
        assert_eq!(out.code, 0, "publish {extra:?}: {}", out.all());
        out
    };

    // The plan of a first publish: everything to create, and no write request.
    clear_requests(sim);
    let plan = publish(&["--dry-run"]);
    let verbs = ["create", "update", "unchanged", "move", "upload", "orphan"];
    for l in plan.stdout.lines() {
        let verb = l.split('\t').next().unwrap();
        assert!(verbs.contains(&verb), "not a plan line: {l:?}");
    }
    assert_eq!(lines(&plan.stdout, "create").len(), 36, "{}", plan.stdout);
    assert_eq!(lines(&plan.stdout, "upload").len(), 2, "{}", plan.stdout);
    let folder = lines(&plan.stdout, "create")
        .into_iter()
        .find(|f| f[1] == "reference/")
        .unwrap()[3]
        .to_string();
    assert_eq!(folder, if cloud { "folder" } else { "page" });
    assert!(
        plan.stderr.contains("nothing was changed"),
        "{}",
        plan.stderr
    );
    assert_eq!(
        writes(sim),
        Vec::<String>::new(),
        "a dry run writes nothing"
    );

    let first = publish(&[]);
    assert_eq!(
        lines(&first.stdout, "created").len(),
        36,
        "{}",
        first.stdout
    );
    assert_eq!(
        lines(&first.stdout, "uploaded").len(),
        2,
        "{}",
        first.stdout
    );
    let root = id_of(&first.stdout, ".");
    let basics1 = id_of(&first.stdout, "basics/basics-01.md");
    let basics3 = id_of(&first.stdout, "basics/basics-03.md");
    let guide1 = id_of(&first.stdout, "guides/guide-01.md");
    let ref10 = id_of(&first.stdout, "reference/ref-10.md");
    // Links between the files are page links; the anchor is kept.
    let b1 = body(cli, profile, &basics1);
    assert!(
        b1.contains("<ri:page ri:content-title=\"Basics 02\" />"),
        "{b1}"
    );
    assert!(
        b1.contains("<ac:link ac:anchor=\"Details\"><ri:page ri:content-title=\"Reference 01\" />"),
        "{b1}"
    );
    let root_body = body(cli, profile, &root);
    assert!(
        root_body.contains("ri:content-title=\"Basics\"")
            && root_body.contains("ri:content-title=\"Guides\""),
        "{root_body}"
    );
    let g1 = body(cli, profile, &guide1);
    assert!(
        g1.contains("<ri:attachment ri:filename=\"diagram.png\" />")
            && g1.contains("<ac:link><ri:attachment ri:filename=\"spec.pdf\" />"),
        "{g1}"
    );

    // Nothing changed: no write request at all, and no new version.
    clear_requests(sim);
    let second = publish(&[]);
    assert_eq!(
        lines(&second.stdout, "unchanged").len(),
        36,
        "{}",
        second.stdout
    );
    assert_eq!(writes(sim), Vec::<String>::new(), "{}", second.stdout);
    assert_eq!(page_json(cli, profile, &basics3)["version"], 1);

    // Export the tree: page links become relative links to the exported files, files come too.
    let exported = work.path().join("export");
    let out = cli.run(
        &[
            "export",
            &root,
            "--out",
            exported.to_str().unwrap(),
            "--profile",
            profile,
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let md = std::fs::read_to_string(exported.join("Handbook/Basics/Basics 01/index.md")).unwrap();
    assert!(md.contains("[basics 02](../Basics%2002/index.md)"), "{md}");
    let guide_dir = exported.join("Handbook/Guides/Guide 01");
    assert_eq!(
        std::fs::read(guide_dir.join("diagram.png")).unwrap(),
        b"PNG-one"
    );
    let md = std::fs::read_to_string(guide_dir.join("index.md")).unwrap();
    assert!(md.contains("[specification](spec.pdf)"), "{md}");

    // Export → publish is a fixed point: the exported tree publishes back with no change.
    clear_requests(sim);
    let back = cli.run(
        &[
            "publish",
            exported.join("Handbook").to_str().unwrap(),
            "--space",
            "DEV",
            "--parent",
            &root,
            "--dry-run",
            "--profile",
            profile,
        ],
        None,
    );
    assert_eq!(back.code, 0, "{}", back.all());
    for verb in ["create", "update", "upload", "orphan"] {
        assert!(
            lines(&back.stdout, verb).is_empty(),
            "{verb}: {}",
            back.stdout
        );
    }
    assert_eq!(
        lines(&back.stdout, "unchanged").len(),
        36,
        "{}",
        back.stdout
    );
    assert_eq!(writes(sim), Vec::<String>::new());
    // The front matter's id finds a page whose title the file changes: a rename.
    let g2 = exported.join("Handbook/Guides/Guide 02/index.md");
    let text = std::fs::read_to_string(&g2).unwrap();
    std::fs::write(
        &g2,
        text.replace("title: \"Guide 02\"", "title: \"Guide Two\""),
    )
    .unwrap();
    let renamed = cli.run(
        &[
            "publish",
            exported.join("Handbook").to_str().unwrap(),
            "--space",
            "DEV",
            "--parent",
            &root,
            "--dry-run",
            "--profile",
            profile,
        ],
        None,
    );
    let updates = lines(&renamed.stdout, "update");
    assert_eq!(updates.len(), 1, "{}", renamed.all());
    assert_eq!(updates[0][4], "Guide Two");
    assert_eq!(updates[0][2], id_of(&first.stdout, "guides/guide-02.md"));

    // One edit, new image bytes of the same size, a removed file, FAQ weighted first.
    write(&docs, "basics/basics-03.md", "# Basics 03\n\nRewritten.\n");
    std::fs::write(docs.join("guides/img/diagram.png"), b"PNG-two").unwrap();
    std::fs::remove_file(docs.join("reference/ref-10.md")).unwrap();
    write(
        &docs,
        "faq.md",
        "---\nweight: 1\n---\n# FAQ\n\nQuestions.\n",
    );

    clear_requests(sim);
    let plan = publish(&["--dry-run"]);
    assert_eq!(writes(sim), Vec::<String>::new());
    // basics-10 linked to the removed file: its link is now plain, so it changes too.
    let updates: Vec<&str> = lines(&plan.stdout, "update").iter().map(|f| f[1]).collect();
    assert_eq!(
        updates,
        ["basics/basics-03.md", "basics/basics-10.md"],
        "{}",
        plan.stdout
    );
    assert!(
        plan.stderr.contains(
            "basics/basics-10.md: the link \"../reference/ref-10.md\" names no Markdown file"
        ),
        "{}",
        plan.stderr
    );
    let uploads = lines(&plan.stdout, "upload");
    assert_eq!(uploads.len(), 1, "{}", plan.stdout);
    assert_eq!(uploads[0][2], "diagram.png", "changed bytes, same size");
    let orphans = lines(&plan.stdout, "orphan");
    assert_eq!(orphans.len(), 1, "{}", plan.stdout);
    assert_eq!(
        (orphans[0][1], orphans[0][2], orphans[0][3]),
        ("reference/ref-10.md", ref10.as_str(), "keep")
    );
    let moves = lines(&plan.stdout, "move");
    assert_eq!(moves.len(), 1, "{}", plan.stdout);
    assert_eq!(moves[0][1], "faq.md");

    clear_requests(sim);
    let third = publish(&["--orphans", "delete"]);
    assert_eq!(lines(&third.stdout, "updated").len(), 2, "{}", third.stdout);
    assert_eq!(
        lines(&third.stdout, "uploaded").len(),
        1,
        "{}",
        third.stdout
    );
    assert_eq!(lines(&third.stdout, "deleted").len(), 1, "{}", third.stdout);
    let w = writes(sim);
    let page_puts: Vec<&String> = w
        .iter()
        .filter(|r| {
            r.starts_with("PUT ")
                && (r.ends_with(&format!("/content/{basics3}"))
                    || r.ends_with(&format!("/pages/{basics3}")))
        })
        .collect();
    assert_eq!(page_puts.len(), 1, "{w:?}");
    assert_eq!(
        w.iter().filter(|r| r.contains("/child/attachment")).count(),
        1,
        "{w:?}"
    );
    assert_eq!(
        w.iter().filter(|r| r.starts_with("DELETE ")).count(),
        1,
        "{w:?}"
    );
    // The listing's version is the base of the update: the page is not read again.
    let reread: Vec<String> = sim_requests(sim)
        .iter()
        .filter(|r| r["method"] == "GET")
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .filter(|p| p.ends_with(&format!("/{basics3}")))
        .collect();
    assert_eq!(reread, Vec::<String>::new());
    // The two edits, the upload, the orphan, the move: nothing else is written.
    assert_eq!(w.len(), 5, "{w:?}");
    assert_eq!(page_json(cli, profile, &basics3)["version"], 2);
    assert_eq!(page_json(cli, profile, &basics1)["version"], 1);
    let gone = cli.run(&["page", "get", &ref10, "--profile", profile], None);
    assert_ne!(gone.code, 0, "the orphan is in the trash: {}", gone.all());
    let kids = cli.run(&["page", "children", &root, "--profile", profile], None);
    let titles: Vec<&str> = kids
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(3))
        .collect();
    let faq = titles.iter().position(|t| *t == "FAQ").unwrap();
    let changelog = titles.iter().position(|t| *t == "Changelog").unwrap();
    assert!(faq < changelog, "FAQ first: {titles:?}");

    // And once more: nothing to do.
    clear_requests(sim);
    let again = publish(&[]);
    assert_eq!(writes(sim), Vec::<String>::new(), "{}", again.stdout);

    // A file moved to another directory moves its page (same id) under that directory's page.
    let faq = id_of(&first.stdout, "faq.md");
    let basics = id_of(&first.stdout, "basics/");
    std::fs::rename(docs.join("faq.md"), docs.join("basics/faq.md")).unwrap();
    let moved = publish(&[]);
    let under: Vec<Vec<&str>> = lines(&moved.stdout, "moved")
        .into_iter()
        .filter(|f| f[3] == "under")
        .collect();
    assert_eq!(under.len(), 1, "{}", moved.stdout);
    assert_eq!((under[0][1], under[0][2]), ("basics/faq.md", faq.as_str()));
    assert!(
        lines(&moved.stdout, "created").is_empty(),
        "{}",
        moved.stdout
    );
    assert!(
        lines(&moved.stdout, "deleted").is_empty(),
        "{}",
        moved.stdout
    );
    assert_eq!(page_json(cli, profile, &faq)["parentId"], basics.as_str());
}

#[test]
fn a_directory_publishes_as_a_page_tree_on_dc() {
    let sim = Sim::example("sim-dc.toml", "");
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    scenario(&sim, &cli, "dc", false);
}

#[test]
fn a_directory_publishes_as_a_page_tree_on_cloud() {
    let sim = Sim::example("sim-cloud.toml", "");
    let cli = Cli::new();
    cli.login_cloud("cloud", &sim.base_url);
    scenario(&sim, &cli, "cloud", true);
    assert_no_gone(&sim);
}

#[test]
fn bad_trees_are_refused_before_any_write() {
    let sim = Sim::example("sim-dc.toml", "");
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let work = tempfile::tempdir().unwrap();
    let docs = work.path().join("docs");
    write(&docs, "index.md", "# Tree\n\n![gone](missing.png)\n");
    write(&docs, "a.md", "# A\n");
    let dir = docs.to_str().unwrap();
    clear_requests(&sim);
    let out = cli.run(&["publish", dir, "--space", "DEV", "--profile", "dc"], None);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stderr.contains("missing.png"), "{}", out.stderr);
    write(&docs, "index.md", "# Tree\n");
    write(&docs, "b.md", "# A\n");
    let out = cli.run(&["publish", dir, "--space", "DEV", "--profile", "dc"], None);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("a.md and b.md") && out.stderr.contains("distinct titles"),
        "{}",
        out.stderr
    );
    std::fs::remove_file(docs.join("b.md")).unwrap();
    let out = cli.run(
        &[
            "publish",
            dir,
            "--space",
            "DEV",
            "--orphans",
            "archive",
            "--profile",
            "dc",
        ],
        None,
    );
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains("needs Confluence Cloud"),
        "{}",
        out.stderr
    );
    assert_eq!(writes(&sim), Vec::<String>::new());
}

#[test]
fn a_single_file_uploads_linked_files_and_images_by_content_hash() {
    let sim = Sim::example("sim-dc.toml", "");
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("note.md");
    write(
        work.path(),
        "note.md",
        "# Release note\n\n![chart](chart.png) and [the spec](files/spec.pdf).\n",
    );
    write(work.path(), "chart.png", "PNG-one");
    write(work.path(), "files/spec.pdf", "%PDF one");
    let run = || {
        let out = cli.run(
            &[
                "publish",
                file.to_str().unwrap(),
                "--space",
                "DEV",
                "--profile",
                "dc",
            ],
            None,
        );
        assert_eq!(out.code, 0, "{}", out.all());
        out.stdout
    };
    let first = run();
    assert!(first.contains("attachment\tchart.png\tuploaded"), "{first}");
    assert!(first.contains("attachment\tspec.pdf\tuploaded"), "{first}");
    let again = run();
    assert!(again.starts_with("unchanged\t"), "{again}");
    assert!(
        again.contains("attachment\tchart.png\tunchanged"),
        "{again}"
    );
    // Same size, other bytes: uploaded again.
    write(work.path(), "chart.png", "PNG-two");
    let third = run();
    assert!(third.contains("attachment\tchart.png\tuploaded"), "{third}");
    assert!(third.contains("attachment\tspec.pdf\tunchanged"), "{third}");
}

/// Cloud: a removed file with `--orphans archive` archives its page through v1's archive call
/// (the only archive Cloud has); the page is then `archived` in the sim and a later publish
/// plans nothing for it.
#[test]
fn a_removed_file_archives_its_page_on_cloud() {
    let sim = Sim::example("sim-cloud.toml", "");
    let cli = Cli::new();
    cli.login_cloud("cloud", &sim.base_url);
    let work = tempfile::tempdir().unwrap();
    let docs = work.path().join("docs");
    write(&docs, "index.md", "# Archive demo\n\nThe root.\n");
    write(&docs, "keep.md", "# Kept page\n\nStays.\n");
    write(&docs, "old.md", "# Old page\n\nGoes to the archive.\n");
    let dir = docs.to_str().unwrap();
    let publish = |extra: &[&str]| {
        let mut args = vec!["publish", dir, "--space", "DEV", "--profile", "cloud"];
        args.extend_from_slice(extra);
        let out = cli.run(&args, None);
        assert_eq!(out.code, 0, "publish {extra:?}: {}", out.all());
        out
    };
    let first = publish(&[]);
    let old = id_of(&first.stdout, "old.md");
    let keep = id_of(&first.stdout, "keep.md");

    std::fs::remove_file(docs.join("old.md")).unwrap();
    clear_requests(&sim);
    let second = publish(&["--orphans", "archive"]);
    let archived = lines(&second.stdout, "archived");
    assert_eq!(archived.len(), 1, "{}", second.stdout);
    assert_eq!((archived[0][1], archived[0][2]), ("old.md", old.as_str()));
    assert_eq!(
        writes(&sim),
        vec!["POST /wiki/rest/api/content/archive".to_string()]
    );

    // Through the sim: the page is archived, the other one still current.
    let sim_ref = &sim;
    let (archived_ids, kept) = rt().block_on(async {
        let get = |path: String| async move {
            let r = http()
                .get(sim_ref.url(&path))
                .header("authorization", basic(EMAIL, CLOUD_TOKEN))
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()
        };
        let archived = get("/wiki/api/v2/pages?status=archived".into()).await;
        let kept = get(format!("/wiki/api/v2/pages/{keep}")).await;
        (archived, kept)
    });
    let ids: Vec<&str> = archived_ids["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, [old.as_str()], "{archived_ids}");
    assert_eq!(archived_ids["results"][0]["status"], "archived");
    assert_eq!(kept["status"], "current", "{kept}");

    // Once archived, it is no orphan any more: nothing to plan, nothing written.
    let plan = publish(&["--dry-run", "--orphans", "archive"]);
    assert!(lines(&plan.stdout, "orphan").is_empty(), "{}", plan.stdout);
    assert!(
        !plan.stdout.contains(old.as_str()),
        "the archived page is not planned: {}",
        plan.stdout
    );
    clear_requests(&sim);
    publish(&["--orphans", "archive"]);
    assert_eq!(writes(&sim), Vec::<String>::new());
    assert_no_gone(&sim);
}
