//! `cfl api` against a real `cfl sim`: GET/POST relative to each profile's API base, env-only
//! credentials, pagination, error exit codes, and retries of 503/429.

mod client_support;
mod common;

use client_support::*;
use common::*;

fn dc() -> Sim {
    Sim::example("sim-dc.toml", "")
}

#[test]
fn get_and_post_on_a_dc_profile() {
    let sim = dc();
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let me = cli.run(&["api", "/rest/api/user/current"], None);
    assert_eq!(me.code, 0, "{}", me.all());
    assert_eq!(json(&me.stdout)["username"], "alice");

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.json");
    std::fs::write(
        &page,
        r#"{"type":"page","title":"Made by cfl api","space":{"key":"DEV"},
            "body":{"storage":{"value":"<p>hello</p>","representation":"storage"}}}"#,
    )
    .unwrap();
    let created = cli.run(
        &[
            "--verbose",
            "api",
            "/rest/api/content",
            "--input",
            page.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(created.code, 0, "{}", created.all());
    // Writes carry the XSRF opt-out and cfl's User-Agent.
    assert!(
        created.stderr.contains("> x-atlassian-token: no-check"),
        "{}",
        created.stderr
    );
    assert!(
        created.stderr.contains("> user-agent: cfl/"),
        "{}",
        created.stderr
    );
    let id = json(&created.stdout)["id"]
        .as_str()
        .expect("id")
        .to_string();
    let got = cli.run(
        &[
            "api",
            &format!("/rest/api/content/{id}"),
            "-X",
            "GET",
            "-f",
            "expand=body.storage",
        ],
        None,
    );
    assert_eq!(got.code, 0, "{}", got.all());
    let v = json(&got.stdout);
    assert_eq!(v["title"], "Made by cfl api");
    assert!(v["body"]["storage"]["value"]
        .as_str()
        .unwrap()
        .contains("hello"));

    // -i: status line and headers before the body.
    let inc = cli.run(&["api", "-i", "/rest/api/user/current"], None);
    assert!(inc.stdout.starts_with("HTTP 200"), "{}", inc.stdout);
    assert!(inc
        .stdout
        .to_ascii_lowercase()
        .contains("content-type: application/json"));

    // --input - (stdin), with a title taken by the new page: the server's 400 body on stderr.
    let dup = cli.run(
        &["api", "/rest/api/content", "--input", "-"],
        Some(&std::fs::read_to_string(&page).unwrap()),
    );
    assert_ne!(dup.code, 0, "{}", dup.all());
    assert!(dup.stderr.contains("error: HTTP 4"), "{}", dup.stderr);
}

#[test]
fn http_errors_exit_non_zero_with_the_body_on_stderr() {
    let sim = dc();
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let nf = cli.run(&["api", "/rest/api/content/999999999"], None);
    assert_eq!(nf.code, 1, "{}", nf.all());
    assert!(nf.stdout.is_empty(), "nothing on stdout: {}", nf.stdout);
    assert!(
        nf.stderr.contains("statusCode") && nf.stderr.contains("404"),
        "{}",
        nf.stderr
    );

    // A refused credential (anonymous access off): exit 4 and the fix.
    let env = Cli::new()
        .with_env("CONFLUENCE_URL", &sim.base_url)
        .with_env("CONFLUENCE_PAT", "expired-pat");
    let un = env.run(&["api", "/rest/api/space"], None);
    assert_eq!(un.code, 4, "{}", un.all());
    assert!(
        un.stderr.contains("401") && un.stderr.contains("cfl auth login"),
        "{}",
        un.stderr
    );

    // Not logged in at all: says how to.
    let none = Cli::new().run(&["api", "/rest/api/space"], None);
    assert_ne!(none.code, 0);
    assert!(
        none.stderr.contains("cfl auth login") && none.stderr.contains("CONFLUENCE_URL"),
        "{}",
        none.stderr
    );

    // Absolute URLs on another origin are refused (credentials never leave the site).
    let other = cli.run(&["api", "http://127.0.0.2:9/rest/api/space"], None);
    assert_ne!(other.code, 0);
    assert!(other.stderr.contains("refusing"), "{}", other.stderr);
}

#[test]
fn env_only_credentials_work_on_both_flavours() {
    let dc = dc();
    let cli = Cli::new()
        .with_env("CONFLUENCE_URL", &dc.base_url)
        .with_env("CONFLUENCE_PAT", DC_PAT);
    let out = cli.run(&["api", "/rest/api/user/current"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(json(&out.stdout)["username"], "alice");
    let st = cli.run(&["auth", "status", "--json"], None);
    assert_eq!(st.code, 0, "{}", st.all());
    assert_eq!(
        json(&st.stdout)["profiles"][0]["secret_store"],
        "environment variables"
    );

    let cloud = Sim::example("sim-cloud.toml", "");
    let cli = Cli::new()
        .with_env("CONFLUENCE_URL", &cloud.base_url)
        .with_env("CONFLUENCE_EMAIL", EMAIL)
        .with_env("CONFLUENCE_API_TOKEN", CLOUD_TOKEN);
    // Cloud REST v2, as Atlassian's docs write the path and relative to the API base.
    for path in ["/wiki/api/v2/spaces", "/api/v2/spaces"] {
        let out = cli.run(&["api", path], None);
        assert_eq!(out.code, 0, "{path}: {}", out.all());
        assert!(json(&out.stdout)["results"]
            .as_array()
            .is_some_and(|a| !a.is_empty()));
    }
    // A removed v1 path is explained: method, endpoint, what to do; not Atlassian's body.
    let gone = cli.run(&["api", "/rest/api/space"], None);
    assert_eq!(gone.code, 1, "{}", gone.all());
    assert!(
        gone.stderr
            .contains("GET /wiki/rest/api/space no longer exists")
            && gone.stderr.contains("Atlassian has removed this endpoint")
            && gone.stderr.contains("cfl api /api/v2/spaces"),
        "{}",
        gone.stderr
    );
    assert!(!gone.all().contains("GoneException"), "{}", gone.all());

    // Scoped token with CONFLUENCE_URL pointing at the gateway path.
    let cloud_id = cloud.startup["cloud_id"]
        .as_str()
        .unwrap_or("a436116f-02ce-4520-8fbb-7301462a1674");
    let cli = Cli::new()
        .with_env(
            "CONFLUENCE_URL",
            &format!("{}/ex/confluence/{cloud_id}", cloud.base_url),
        )
        .with_env("CONFLUENCE_DEPLOYMENT", "cloud-scoped")
        .with_env("CONFLUENCE_EMAIL", EMAIL)
        .with_env("CONFLUENCE_API_TOKEN", SCOPED_TOKEN);
    let out = cli.run(&["api", "/rest/api/user/current"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(json(&out.stdout)["email"], EMAIL);
    let gone: Vec<_> = sim_requests(&cloud)
        .into_iter()
        .filter(|r| r["status"] == 410)
        .collect();
    assert_eq!(gone.len(), 1, "only the deliberate one: {gone:?}");
}

#[test]
fn paginate_prints_every_page_or_slurps_them() {
    let sim = dc();
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let out = cli.run(
        &[
            "api",
            "-X",
            "GET",
            "/rest/api/space",
            "-F",
            "limit=1",
            "--paginate",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let docs: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&out.stdout)
        .into_iter()
        .map(|d| d.unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "two spaces, one per page: {}", out.stdout);
    let keys: Vec<_> = docs
        .iter()
        .map(|d| d["results"][0]["key"].clone())
        .collect();
    assert_ne!(keys[0], keys[1]);

    let slurp = cli.run(
        &[
            "api",
            "-X",
            "GET",
            "/rest/api/space",
            "-F",
            "limit=1",
            "--paginate",
            "--slurp",
        ],
        None,
    );
    let v = json(&slurp.stdout);
    assert_eq!(v.as_array().map(Vec::len), Some(2));

    // Scoped gateway profile: next links map onto the gateway base.
    let cloud = Sim::example("sim-cloud.toml", "");
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
    // v2 cursors (Link header and `_links.next`) through the gateway base.
    let out = cli.run(
        &[
            "api",
            "-X",
            "GET",
            "/api/v2/spaces",
            "-F",
            "limit=1",
            "--paginate",
            "--slurp",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let pages = json(&out.stdout);
    assert_eq!(pages.as_array().map(Vec::len), Some(2), "{}", out.stdout);
    assert_ne!(pages[0]["results"][0]["key"], pages[1]["results"][0]["key"]);
    assert_no_gone(&cloud);
}

#[test]
fn retries_503_and_gives_up_clearly() {
    let sim = dc();
    let cli = Cli::new();
    cli.login_dc_pat("dc", &sim.base_url);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let arm = |count: u32| {
        let body = serde_json::json!({"status": 503, "count": count});
        let r = rt
            .block_on(http().post(sim.url("/__sim/faults")).json(&body).send())
            .unwrap();
        assert!(r.status().is_success());
    };
    arm(2);
    let out = cli.run(&["--verbose", "api", "/rest/api/user/current"], None);
    assert_eq!(out.code, 0, "two 503s then success: {}", out.all());
    assert_eq!(out.stderr.matches("retrying").count(), 2, "{}", out.stderr);

    arm(5);
    let out = cli.run_env(
        &["api", "/rest/api/user/current"],
        None,
        &[("CFL_MAX_RETRIES", "1")],
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("giving up after 1 retries"),
        "{}",
        out.stderr
    );
}

#[test]
fn rate_limit_429_is_waited_out_per_retry_after() {
    let sim = Sim::example(
        "sim-dc.toml",
        "[rate_limit]\nrequests = 1\ninterval_seconds = 3\n",
    );
    let cli = Cli::new()
        .with_env("CONFLUENCE_URL", &sim.base_url)
        .with_env("CONFLUENCE_PAT", DC_PAT);
    // One paginated command making two requests within the 3-second interval: the second is a 429.
    let out = cli.run(
        &[
            "--verbose",
            "api",
            "-X",
            "GET",
            "/rest/api/space",
            "-F",
            "limit=1",
            "--paginate",
            "--slurp",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("< 429"), "{}", out.stderr);
    assert_eq!(json(&out.stdout).as_array().map(Vec::len), Some(2));
}

#[test]
fn rate_limit_with_a_long_wait_gives_up_at_once() {
    let sim = Sim::example(
        "sim-dc.toml",
        "[rate_limit]\nrequests = 1\ninterval_seconds = 3600\n",
    );
    let cli = Cli::new()
        .with_env("CONFLUENCE_URL", &sim.base_url)
        .with_env("CONFLUENCE_PAT", DC_PAT);
    let first = cli.run(&["api", "/rest/api/user/current"], None);
    assert_eq!(first.code, 0, "{}", first.all());
    let second = cli.run(&["api", "/rest/api/user/current"], None);
    assert_ne!(second.code, 0);
    assert!(
        second.stderr.contains("429") && second.stderr.contains("asks to wait"),
        "{}",
        second.stderr
    );
}

#[test]
fn dc_context_path_is_part_of_the_api_base() {
    let sim = Sim::start(&read_example("sim-dc.toml").replace(
        "# context_path = \"/confluence\"",
        "context_path = \"/confluence\"",
    ));
    let cli = Cli::new();
    let site = format!("{}/confluence", sim.base_url);
    cli.login_dc_pat("dc", &site);
    let out = cli.run(&["api", "/rest/api/user/current"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(json(&out.stdout)["username"], "alice");
    let out = cli.run(
        &[
            "api",
            "-X",
            "GET",
            "/rest/api/space",
            "-F",
            "limit=1",
            "--paginate",
            "--slurp",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        json(&out.stdout).as_array().map(Vec::len),
        Some(2),
        "{}",
        out.stdout
    );
}

#[test]
fn proxy_from_the_environment_is_used_unless_no_proxy_matches() {
    let sim = dc();
    let cli = Cli::new()
        .with_env("CONFLUENCE_URL", &sim.base_url)
        .with_env("CONFLUENCE_PAT", DC_PAT);
    // A proxy on a port nobody listens on: going through it must fail…
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let via = cli.run_env(
        &["api", "/rest/api/user/current"],
        None,
        &[("HTTP_PROXY", &proxy), ("NO_PROXY", "example.invalid")],
    );
    assert_ne!(
        via.code,
        0,
        "the request must have gone to the proxy: {}",
        via.all()
    );
    // …and NO_PROXY for the host bypasses it.
    let direct = cli.run_env(
        &["api", "/rest/api/user/current"],
        None,
        &[("HTTP_PROXY", &proxy), ("NO_PROXY", "127.0.0.1")],
    );
    assert_eq!(direct.code, 0, "{}", direct.all());
}
