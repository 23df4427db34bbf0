//! Cloud as it answers today, where the simulator cannot play it: Cloud's rate-limit headers
//! (`Beta-Retry-After`, `X-RateLimit-NearLimit`, `RateLimit-Reason`), a `410 Gone` explained,
//! attachment bytes redirected to another host (the credential must not follow), and an
//! unreachable server. A loopback server answers exactly what each test needs.

mod client_support;
mod common;

use client_support::*;
use serde_json::json;

#[test]
fn beta_retry_after_is_honoured_when_retry_after_is_missing() {
    let site = Loopback::start(|_, n| {
        if n == 0 {
            answer_json(
                429,
                &[("Beta-Retry-After", "3")],
                &json!({"message": "Rate limit exceeded"}),
            )
        } else {
            answer_json(200, &[], &json!({"results": []}))
        }
    });
    let cli = cloud_env_cli(&site.base_url);
    let out = cli.run(&["--verbose", "api", "/wiki/api/v2/spaces"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    let seen = site.seen();
    assert_eq!(seen.len(), 2, "one retry");
    assert_eq!(seen[0].target, "/wiki/api/v2/spaces", "the docs' path form");
    let waited = seen[1].at - seen[0].at;
    assert!(
        waited >= std::time::Duration::from_millis(2900),
        "waited {waited:?}, not the 3 s Beta-Retry-After asked for: {}",
        out.stderr
    );
}

#[test]
fn giving_up_on_429s_names_the_rate_limit_reason() {
    let site = Loopback::start(|_, _| {
        answer_json(
            429,
            &[
                ("Retry-After", "0"),
                ("RateLimit-Reason", "confluence-quota-global-based"),
            ],
            &json!({"message": "Rate limit exceeded"}),
        )
    });
    let cli = cloud_env_cli(&site.base_url).with_env("CFL_MAX_RETRIES", "1");
    let out = cli.run(&["space", "list"], None);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr
            .contains("RateLimit-Reason: confluence-quota-global-based")
            && out.stderr.contains("giving up"),
        "{}",
        out.stderr
    );
    assert_eq!(site.seen().len(), 2);
}

#[test]
fn near_limit_slows_the_next_request_down() {
    // Two result pages; the first answer warns that the budget is nearly spent.
    let site = Loopback::start(|_, n| {
        if n == 0 {
            answer_json(
                200,
                &[
                    ("X-RateLimit-NearLimit", "true"),
                    ("Link", "</wiki/api/v2/spaces?cursor=b>; rel=\"next\""),
                ],
                &json!({"results": [{"id": "1", "key": "A", "name": "A"}]}),
            )
        } else {
            answer_json(
                200,
                &[],
                &json!({"results": [{"id": "2", "key": "B", "name": "B"}]}),
            )
        }
    });
    let cli = cloud_env_cli(&site.base_url);
    let out = cli.run(&["--verbose", "space", "list", "--json"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(json(&out.stdout).as_array().map(Vec::len), Some(2));
    assert!(
        out.stderr.contains("X-RateLimit-NearLimit: pausing"),
        "{}",
        out.stderr
    );
    let seen = site.seen();
    assert_eq!(seen[1].target, "/wiki/api/v2/spaces?cursor=b");
    assert!(
        seen[1].at - seen[0].at >= std::time::Duration::from_millis(450),
        "no pause: {:?}",
        seen[1].at - seen[0].at
    );
}

#[test]
fn a_removed_endpoint_is_explained_not_dumped() {
    let gone = json!({"statusCode": 410, "reason": "Gone", "message":
        "com.atlassian.confluence.api.service.exceptions.GoneException: This deprecated endpoint has been removed."});
    let site = Loopback::start(move |_, _| answer_json(410, &[], &gone));
    let cli = cloud_env_cli(&site.base_url);
    for args in [
        &["api", "/rest/api/space"][..],
        &["api", "-X", "DELETE", "/rest/api/content/7"][..],
    ] {
        let out = cli.run(args, None);
        assert_eq!(out.code, 1, "{}", out.all());
        let method = if args.len() > 2 { "DELETE" } else { "GET" };
        let path = args.last().unwrap();
        assert!(
            out.stderr
                .contains(&format!("{method} /wiki{path} no longer exists"))
                && out.stderr.contains("Atlassian has removed this endpoint")
                && out.stderr.contains("cfl api /api/v2/"),
            "{}",
            out.stderr
        );
        assert!(!out.all().contains("GoneException"), "{}", out.all());
    }
    // On Data Center there is no v2 to point to.
    let dc = Cli::new()
        .with_env("CONFLUENCE_URL", &site.base_url)
        .with_env("CONFLUENCE_DEPLOYMENT", "dc")
        .with_env("CONFLUENCE_PAT", DC_PAT);
    let out = dc.run(&["api", "/rest/api/space"], None);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr
            .contains("GET /rest/api/space no longer exists on this Confluence")
            && !out.stderr.contains("/api/v2"),
        "{}",
        out.stderr
    );
}

#[test]
fn attachment_bytes_from_another_host_get_no_credential() {
    // The media host: records what it was sent.
    let media = Loopback::start(|_, _| (200, vec![], b"media bytes\n".to_vec()));
    let media_url = media.base_url.replace("127.0.0.1", "localhost");
    let site = Loopback::start(move |req, _| {
        let t = req.target.as_str();
        if t.starts_with("/wiki/api/v2/pages/42/attachments") {
            answer_json(
                200,
                &[],
                &json!({"results": [{
                    "id": "att7", "title": "a.txt", "mediaType": "text/plain", "fileSize": 12,
                    "version": {"number": 1},
                    "downloadLink": "/download/attachments/42/a.txt?version=1&api=v2"
                }]}),
            )
        } else if t == "/wiki/rest/api/content/42/child/attachment/att7/download" {
            // v1's download endpoint: a same-site hop first, then off to the media host.
            (
                302,
                vec![(
                    "Location".into(),
                    "/wiki/download/attachments/42/a.txt?version=1&api=v2".into(),
                )],
                vec![],
            )
        } else if t.starts_with("/wiki/download/attachments/42/a.txt") {
            (
                302,
                vec![(
                    "Location".into(),
                    format!("{media_url}/file/abc?token=media-jwt"),
                )],
                vec![],
            )
        } else {
            answer_json(404, &[], &json!({"message": "not here"}))
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.txt");
    let cli = cloud_env_cli(&site.base_url);
    let out = cli.run(
        &[
            "--verbose",
            "attachment",
            "download",
            "42",
            "a.txt",
            "-o",
            target.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "media bytes\n");
    let on_site = site.seen();
    assert_eq!(on_site.len(), 3, "{on_site:?}");
    assert!(
        on_site.iter().all(|r| r
            .header("authorization")
            .is_some_and(|a| a.starts_with("Basic "))),
        "the site's own hops carry the credential: {on_site:?}"
    );
    let off_site = media.seen();
    assert_eq!(off_site.len(), 1);
    assert_eq!(off_site[0].target, "/file/abc?token=media-jwt");
    assert_eq!(off_site[0].header("authorization"), None);
    assert_eq!(off_site[0].header("cookie"), None);
    assert!(
        !out.stderr.contains("media-jwt"),
        "the media token is not logged: {}",
        out.stderr
    );
}

#[test]
fn an_unreachable_server_says_which_and_what_to_check() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let site = format!("http://127.0.0.1:{port}");
    let out = cloud_env_cli(&site).run(&["space", "list"], None);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(
        out.stderr.contains(&format!("cannot reach {site}"))
            && out.stderr.contains("cfl auth status")
            && out.stderr.contains("HTTPS_PROXY"),
        "{}",
        out.stderr
    );
}

#[test]
fn api_paginate_follows_a_link_header_without_links_in_the_body() {
    let site = Loopback::start(|req, _| {
        if req.target.contains("cursor=") {
            answer_json(200, &[], &json!({"results": [{"id": "2"}]}))
        } else {
            answer_json(
                200,
                &[(
                    "Link",
                    "</wiki/api/v2/pages?cursor=next1&limit=1>; rel=\"next\"",
                )],
                &json!({"results": [{"id": "1"}]}),
            )
        }
    });
    let out = cloud_env_cli(&site.base_url).run(
        &["api", "--paginate", "--slurp", "/api/v2/pages?limit=1"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let pages = json(&out.stdout);
    assert_eq!(pages[0]["results"][0]["id"], "1");
    assert_eq!(pages[1]["results"][0]["id"], "2");
    let seen = site.seen();
    assert_eq!(seen[1].target, "/wiki/api/v2/pages?cursor=next1&limit=1");
}

#[test]
fn a_blog_post_is_found_by_page_get_on_cloud() {
    let site = Loopback::start(|req, _| {
        let t = req.target.as_str();
        if t.starts_with("/wiki/api/v2/pages/77") {
            answer_json(
                404,
                &[],
                &json!({"errors": [{"status": 404, "title": "Not Found"}]}),
            )
        } else if t.starts_with("/wiki/api/v2/blogposts/77") {
            answer_json(
                200,
                &[],
                &json!({"id": "77", "status": "current", "title": "Release news",
                        "spaceId": "5", "version": {"number": 3, "createdAt": "2026-01-02T03:04:05Z"},
                        "body": {"storage": {"representation": "storage", "value": "<p>news</p>"}},
                        "_links": {"webui": "/spaces/DEV/blog/2026/01/02/77"}}),
            )
        } else if t.starts_with("/wiki/api/v2/spaces/5") {
            answer_json(200, &[], &json!({"id": "5", "key": "DEV", "name": "Dev"}))
        } else {
            answer_json(404, &[], &json!({"message": "not here"}))
        }
    });
    let out = cloud_env_cli(&site.base_url).run(&["page", "get", "77", "--json"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    let v = json(&out.stdout);
    assert_eq!(v["type"], "blogpost");
    assert_eq!(v["spaceKey"], "DEV");
    assert_eq!(v["version"], 3);
    assert_eq!(v["body"], "<p>news</p>");
}
