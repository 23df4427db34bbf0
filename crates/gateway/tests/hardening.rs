//! `cfl serve` against requests that try to do more than their rules say, and answers that would
//! leak the upstream: the gateway and the simulator in-process on loopback.

mod common;
use common::*;
use serde_json::{json, Value};

fn dc_sim() -> Sim {
    Sim::example("sim-dc.toml", "")
}

fn static_gateway(sim: &Sim) -> Gateway {
    let (identity, env) = static_identity();
    Gateway::start(sim, identity, "", &env)
}

/// A token that may only read: `GET` anything.
async fn read_only_token(gw: &Gateway) -> String {
    let (_, secret) = gw
        .create_token(
            json!({"label": "reader", "user": "svc-reports", "restrictions": ["[get].*"]}),
        )
        .await;
    secret
}

/// Every method/URL override header, in any case, and `_method` in a query or a form body, is
/// refused before anything reaches Confluence: a `GET`-only token cannot `DELETE` that way.
#[tokio::test]
async fn method_and_url_overrides_are_refused_in_every_form() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let secret = read_only_token(&gw).await;
    let auth = basic("svc-reports", &secret);
    let c = http();
    let page = gw.url("/rest/api/space");

    for (name, value) in [
        ("X-HTTP-Method-Override", "DELETE"),
        ("x-http-method-override", "DELETE"),
        ("X-HTTP-Method", "DELETE"),
        ("X-Method-Override", "PUT"),
        ("x-METHOD-override", "PUT"),
        ("X-Original-Method", "DELETE"),
        ("X-Original-URL", "/rest/api/content/1"),
        ("x-original-url", "/admin"),
        ("X-Rewrite-URL", "/rest/api/content/1"),
        ("X-REWRITE-URL", "/rest/api/content/1"),
    ] {
        let r = c
            .get(&page)
            .header("authorization", &auth)
            .header(name, value)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("override_refused")),
            "{name}: {v}"
        );
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains(&name.to_ascii_lowercase()),
            "{v}"
        );
    }
    for query in ["_method=DELETE", "_METHOD=delete", "a=1&%5Fmethod=DELETE"] {
        let r = c
            .get(format!("{page}?{query}"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{query}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "override_refused", "{query}: {v}");
    }

    // A form body's `_method` field: the token may POST here, but not DELETE through a form.
    let (_, poster) = gw
        .create_token(json!({"label": "poster", "user": "svc-reports", "restrictions": ["[post]/rest/api/content/.*"]}))
        .await;
    let r = c
        .post(gw.url("/rest/api/content/1"))
        .header("authorization", basic("svc-reports", &poster))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("title=x&_method=DELETE")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "override_refused"
    );

    // The audit log says why.
    let denied = gw.audit("decision=deny").await;
    assert!(
        denied.iter().any(|e| e["reason"] == "override_refused"),
        "{denied:?}"
    );
    // A plain read still works.
    let r = c
        .get(&page)
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// Double encoding and an encoded `;` are refused like an encoded `/`.
#[tokio::test]
async fn double_encoding_and_encoded_delimiters_are_refused() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let secret = read_only_token(&gw).await;
    let auth = basic("svc-reports", &secret);
    for path in [
        "/rest/api/space/%252e%252e/%252e%252e/admin",
        "/rest/api/space%252fDEV",
        "/rest/api/space/%25%34%31",
        "/rest/api/space/..%3Bjsessionid=x/DEV",
        "/rest/api/space/..%3bx",
    ] {
        let r = http()
            .get(gw.url(path))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("path_refused")),
            "{path}: {v}"
        );
    }
}

const UNKNOWN_FOO: &str = "unknown condition `Foo` (use QueryParam or JsonData)";

/// An unknown condition name is refused with the same words by the admin API (create and check),
/// the Extender API and the CLI.
#[tokio::test]
async fn unknown_conditions_are_refused_everywhere_with_the_same_error() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let c = http();

    let r = c
        .post(gw.url("/admin/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"label": "x", "user": "svc-reports", "restrictions": ["[get]/rest/api/content[Foo::x==1]"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains(UNKNOWN_FOO), "{v}");

    let r = c
        .post(gw.url("/admin/v1/check"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"restrictions": ["/rest/api/content[Foo::x==1]"], "method": "GET", "path": "/rest/api/contentF"}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains(UNKNOWN_FOO), "{v}");

    let r = c
        .post(gw.url("/rest/extender/1.0/tokenTools/set"))
        .header("authorization", basic("admin", ADMIN_TOKEN))
        .json(&json!({"label": "x", "userName": "svc-reports", "limitTo": "[get].*/rest/api/space.*<br>/rest/api/content[Foo::x==1]"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains(UNKNOWN_FOO), "{v}");
}

/// A token bound to a user Confluence doesn't know gets the gateway's JSON error naming the
/// user, not Confluence's raw `401` with its `WWW-Authenticate: OAuth realm="<upstream URL>"`.
#[tokio::test]
async fn an_upstream_refusal_of_the_gateways_identity_is_the_gateways_error() {
    let sim = dc_sim();
    let gw = Gateway::start(&sim, OAUTH1_IDENTITY, "", &[]);
    let (_, ghost) = gw.create_token(token_request("ghost-user")).await;
    let r = http()
        .get(gw.url("/rest/api/user/current"))
        .header("authorization", basic("ghost-user", &ghost))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    assert!(r.headers().get("www-authenticate").is_none(), "{r:?}");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let text = r.text().await.unwrap();
    assert!(!text.contains(&sim.base_url), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["error"], "upstream_refused", "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("Confluence does not know user ghost-user"),
        "{v}"
    );
}

/// With `[proxy] rewrite_json_links`, `_links.base` and `_links.self` name the gateway, so a
/// client that follows them comes back through it; the upstream's address appears nowhere in
/// those fields. Off (the default, which streams JSON answers untouched), they are Confluence's.
#[tokio::test]
async fn absolute_upstream_links_name_the_gateway() {
    let sim = dc_sim();
    let plain = static_gateway(&sim);
    let secret = read_only_token(&plain).await;
    let v: Value = http()
        .get(plain.url("/rest/api/space?limit=2"))
        .header("authorization", basic("svc-reports", &secret))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["_links"]["base"],
        sim.base_url.as_str(),
        "off by default: {v}"
    );

    let (identity, env) = static_identity();
    let gw = Gateway::start(&sim, identity, "[proxy]\nrewrite_json_links = true", &env);
    let secret = read_only_token(&gw).await;
    let r = http()
        .get(gw.url("/rest/api/space?limit=2"))
        .header("authorization", basic("svc-reports", &secret))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let length: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let text = r.text().await.unwrap();
    assert_eq!(length, text.len(), "Content-Length follows the rewrite");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["_links"]["base"], gw.base_url.as_str(), "{v}");
    let first_self = v["results"][0]["_links"]["self"].as_str().unwrap();
    assert!(first_self.starts_with(&gw.base_url), "{first_self}");
    assert!(!text.contains(&format!("\"{}", sim.base_url)), "{text}");
}

/// The framework's own rejections (wrong content type, a body or query of the wrong shape, a
/// method a path doesn't take) are the gateway's JSON errors, not plain text.
#[tokio::test]
async fn admin_api_rejections_are_the_gateways_json() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let c = http();
    let cases = [
        (
            c.post(gw.url("/admin/v1/check"))
                .header("content-type", "text/plain")
                .body("{}"),
            415,
            "unsupported_media_type",
        ),
        (
            c.post(gw.url("/admin/v1/check"))
                .json(&json!({"method": 1})),
            400,
            "invalid_json",
        ),
        (
            c.post(gw.url("/admin/v1/tokens"))
                .header("content-type", "application/json")
                .body("{"),
            400,
            "invalid_json",
        ),
        (
            c.get(gw.url("/admin/v1/audit?limit=many")),
            400,
            "invalid_query",
        ),
        (
            c.get(gw.url("/rest/extender/1.0/tokenTools/get?startAt=-1")),
            400,
            "invalid_query",
        ),
        (c.put(gw.url("/admin/v1/tokens")), 405, "method_not_allowed"),
    ];
    for (request, status, code) in cases {
        let r = request.bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        let got = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        assert_eq!((got, v["error"].as_str()), (status, Some(code)), "{v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
}

/// Creating a token for a user Confluence doesn't know says so (the token is kept: the user may
/// be created later), through the admin API, Extender's API and the CLI; a known user gets no
/// warning.
#[tokio::test]
async fn a_token_for_a_user_confluence_does_not_know_comes_with_a_warning() {
    let sim = dc_sim();
    for gw in [
        Gateway::start(&sim, OAUTH1_IDENTITY, "", &[]),
        static_gateway(&sim),
    ] {
        let create = |user: &str| {
            http()
                .post(gw.url("/admin/v1/tokens"))
                .bearer_auth(ADMIN_TOKEN)
                .json(&token_request(user))
                .send()
        };
        let ghost: Value = create("ghost-user").await.unwrap().json().await.unwrap();
        assert!(
            ghost["warning"]
                .as_str()
                .is_some_and(|w| w.contains("Confluence does not know user ghost-user")),
            "{ghost}"
        );
        let known: Value = create("svc-reports").await.unwrap().json().await.unwrap();
        assert!(
            known["secret"].is_string() && known.get("warning").is_none(),
            "{known}"
        );

        let set: Value = http()
            .post(gw.url("/rest/extender/1.0/tokenTools/set"))
            .header("authorization", basic("admin", ADMIN_TOKEN))
            .json(&json!({"label": "x", "userName": "ghost-user"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(set["status"], "ok", "{set}");
        assert!(
            set["warning"]
                .as_str()
                .is_some_and(|w| w.contains("ghost-user")),
            "{set}"
        );
    }
}

/// A first start whose output may be kept in a log writes the admin token to a new 0600 file
/// beside the store, never over an existing one: a file left from an earlier first start stops
/// the start before any admin exists, and nothing in it is overwritten.
#[tokio::test]
async fn the_first_admin_token_goes_to_a_new_private_file_never_over_an_old_one() {
    use cfl_gateway::server::{admin_token_file, start_with, FirstAdminToken};
    let sim = dc_sim();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("gateway.toml");
    std::fs::write(
        &config_path,
        format!(
            "listen = \"127.0.0.1:0\"\nstore = \"sqlite:gw.sqlite\"\n[upstream]\nurl = {:?}\n\
             [upstream.identity]\nmode = \"static\"\ntoken_env = \"SIM_ALICE_PAT\"\n",
            sim.base_url
        ),
    )
    .unwrap();
    std::env::set_var("SIM_ALICE_PAT", ALICE_PAT);
    let config = || cfl_gateway::config::GatewayConfig::load(&config_path).unwrap();
    let file = admin_token_file(&config());
    assert_eq!(
        file,
        std::path::absolute(dir.path().join("admin-token")).unwrap()
    );

    std::fs::write(&file, "an old token\n").unwrap();
    let err = match start_with(config(), None, FirstAdminToken::File(file.clone())).await {
        Ok(_) => panic!("started over an existing admin-token file"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains(&file.display().to_string()) && err.contains("delete the file"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "an old token\n");

    // Deleted: the next start makes the first admin token (none was made before) in the file.
    std::fs::remove_file(&file).unwrap();
    let gw = start_with(config(), None, FirstAdminToken::File(file.clone()))
        .await
        .unwrap();
    let secret = std::fs::read_to_string(&file).unwrap().trim().to_string();
    let line = gw.startup_line();
    assert!(gw.generated_admin_token.is_none());
    assert!(!line.to_string().contains(&secret), "{line}");
    assert_eq!(line["admin_token_file"], file.display().to_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let me = http()
        .get(format!("{}/admin/v1/tokens", gw.base_url))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "the token in the file is the admin's");
    gw.shutdown().await;
}

/// A gateway config that does not parse names the file, the line and the column and says what
/// is wrong, at start and in `--check-config`, but never shows a secret the line holds.
#[test]
fn config_parse_errors_name_the_line_but_not_the_secret_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    let head = "listen = \"127.0.0.1:0\"\nstore = \"sqlite:gw.sqlite\"\n";
    let cases = [
        // A syntax error on a pasted secret: the parser's snippet would show the line.
        (
            "[upstream.identity]\nmode = \"static\"\nclient_secret = \"c2VjcmV0LXZhbHVl-42\" x\n",
            5,
        ),
        ("[upstream]\ntoken = \"c2VjcmV0LXZhbHVl-42\n", 4),
        // A wrong type: the parser's message itself repeats the value.
        (
            "[proxy]\nallow_bearer = \"Bearer c2VjcmV0LXZhbHVl-42\"\n",
            4,
        ),
    ];
    for (body, line) in cases {
        std::fs::write(&path, format!("{head}{body}")).unwrap();
        let at_start = cfl_gateway::config::GatewayConfig::load(&path)
            .expect_err("a broken config loaded")
            .to_string();
        let checked =
            cfl_gateway::config_check::read(&path).expect_err("a broken config passed the check");
        let checked = format!("{} {}", checked.what, checked.fix);
        for err in [at_start, checked] {
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(&format!("line {line}, column")), "{err}");
            assert!(
                err.contains("expected") || err.contains("invalid"),
                "says what is wrong: {err}"
            );
            assert!(!err.contains("c2VjcmV0LXZhbHVl"), "shows the secret: {err}");
        }
    }
}

/// Multipart uploads larger than the read cap stream through a scan instead of being read: one
/// with a `_method` field is cut before that field's content and answered with the same clear
/// refusal as a small one (not a 502), and one Confluence refuses as too large gets Confluence's
/// 413, whole.
#[tokio::test]
async fn over_cap_multipart_uploads_get_a_clear_answer_never_a_502() {
    let sim = Sim::start(&format!(
        "max_attachment_mb = 2\n{}",
        read_example("sim-dc.toml")
    ));
    let gw = static_gateway(&sim);
    let (_, secret) = gw.create_token(token_request("alice")).await;
    let auth = basic("alice", &secret);
    let c = http();
    let pages: Value = c
        .get(gw.url("/rest/api/content?spaceKey=OPS&limit=1"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page = pages["results"][0]["id"].as_str().unwrap().to_string();
    let url = gw.url(&format!("/rest/api/content/{page}/child/attachment"));
    let attachments = || async {
        let state: Value = http()
            .get(sim.url("/__sim/state"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        state["attachments"].as_u64().unwrap()
    };
    let upload = |size: usize, method_field: bool| {
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(data)
                .file_name("big.bin")
                .mime_str("application/octet-stream")
                .unwrap(),
        );
        if method_field {
            form = form.text("_method", "DELETE");
        }
        c.post(&url)
            .header("authorization", &auth)
            .header("x-atlassian-token", "no-check")
            .multipart(form)
            .send()
    };
    let before = attachments().await;

    // 1.5 MiB (over the 1 MiB read cap, under Confluence's 2 MiB) with `_method` after the file.
    let r = upload(3 << 19, true).await.unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("override_refused")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("_method"), "{v}");
    assert_eq!(attachments().await, before, "a cut upload stored nothing");

    // 3 MiB, no `_method`: Confluence's own refusal comes back.
    let r = upload(3 << 20, false).await.unwrap();
    assert_eq!(r.status(), 413, "{:?}", r.text().await);
    assert_eq!(attachments().await, before);

    // Under both limits: stored whole.
    let r = upload(3 << 19, false).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(attachments().await, before + 1);
}
