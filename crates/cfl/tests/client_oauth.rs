//! `cfl auth login` with the OAuth and cookie methods against a real `cfl sim`: Cloud OAuth 2.0
//! (3LO) through the loopback redirect, client credentials, the DC OAuth 2.0 provider with PKCE,
//! OAuth 1.0a three-legged and two-legged impersonation, and cookie sessions — each proven by who
//! the simulator says the caller is, then broken on purpose: wrong secrets, expired tokens (the
//! simulator's clock), rotated refresh tokens, a consumer that may not impersonate, a redirect
//! with someone else's `state`.
//!
//! The "browser" is the test: it reads the URL cfl prints (`--no-browser`), approves it with
//! the user's Basic credentials (the simulator's authorize pages accept them) and follows the
//! redirect to cfl's loopback listener.

mod client_support;
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use client_support::*;
use common::*;
use serde_json::{json, Value};

const CLOUD_ID: &str = "0d7c4a8e-1111-4222-8333-944455556666";
const CLOUD_SCOPES: &str = r#"["read:confluence-content.all", "write:confluence-content", "read:confluence-space.summary", "search:confluence", "read:confluence-user", "offline_access"]"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A Cloud simulator (v1 content removed) that fails the test if any request met 410 Gone.
fn cloud_sim(redirect: &str) -> NoGoneSim {
    NoGoneSim(Sim::start(&format!(
        r#"flavor = "cloud"
anonymous_access = true
cloud_id = "{CLOUD_ID}"

[[users]]
name = "alice"
display_name = "Alice Author"
email = "alice@example.com"
api_tokens = ["classic-alice"]

[[users]]
name = "svc-ci"
display_name = "CI service account"
email = "svc-ci@serviceaccount.atlassian.com"

[[oauth2_clients]]
kind = "cloud-3lo"
client_id = "app"
client_secret = "app-secret"
redirect_uris = ["{redirect}"]
scopes = {CLOUD_SCOPES}

[[oauth2_clients]]
kind = "cloud-client-credentials"
client_id = "svc-client"
client_secret = "svc-secret"
service_account = "svc-ci"
scopes = ["read:confluence-user", "read:confluence-content.all"]

[seed]
spaces = 1
pages_per_space = 1
"#
    )))
}

fn dc_sim(extra: &str) -> Sim {
    Sim::example("sim-dc.toml", extra)
}

/// A `cfl` process waiting for a browser; its stderr lines arrive one by one.
struct Pending {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Pending {
    fn start(cli: &Cli, args: &[&str], stdin: &str) -> Pending {
        let mut p = Pending::start_open(cli, args);
        // Dropping the handle closes stdin, so the secret reader sees the end.
        p.type_in(stdin);
        p
    }

    /// Starts with stdin left open, for answers only known later (`type_in`).
    fn start_open(cli: &Cli, args: &[&str]) -> Pending {
        let mut cmd = cli.command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn cfl");
        let stdin = child.stdin.take();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Pending {
            child,
            stdin,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Writes `text` to cfl's stdin and closes it.
    fn type_in(&mut self, text: &str) {
        let mut stdin = self.stdin.take().expect("stdin still open");
        stdin.write_all(text.as_bytes()).unwrap();
    }

    /// The URL cfl asks the user to open.
    fn url(&mut self) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    let t = l.trim();
                    if t.starts_with("http://") || t.starts_with("https://") {
                        return t.to_string();
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("cfl printed no URL; stderr: {:?}", self.seen)
                }
            }
        }
    }

    fn finish(mut self) -> Out {
        let status = self.child.wait().unwrap();
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(l);
        }
        Out {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr: self.seen.join("\n"),
        }
    }
}

/// The browser: opens `url` as the user (Basic), expects the 302 back to cfl, follows it.
async fn approve(url: &str, user: &str, secret: &str) -> (u16, String) {
    let r = http()
        .get(url)
        .header("authorization", basic(user, secret))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        302,
        "authorize page did not redirect: {}",
        r.text().await.unwrap()
    );
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let back = http().get(&loc).send().await.unwrap();
    (back.status().as_u16(), back.text().await.unwrap())
}

fn secrets_of(cli: &Cli, profile: &str) -> Value {
    let text = std::fs::read_to_string(cli.config_dir().join("secrets.toml")).unwrap();
    let map: std::collections::BTreeMap<String, String> = toml::from_str(&text).unwrap();
    json(&map[profile])
}

fn write_secret(cli: &Cli, profile: &str, v: &Value) {
    let path = cli.config_dir().join("secrets.toml");
    let mut map: std::collections::BTreeMap<String, String> =
        toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    map.insert(profile.to_string(), v.to_string());
    std::fs::write(&path, toml::to_string(&map).unwrap()).unwrap();
}

async fn advance_clock(sim: &Sim, secs: u64) {
    let r = http()
        .post(sim.url("/__sim/clock"))
        .json(&json!({"advance_seconds": secs}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

fn whoami(cli: &Cli, profile: &str) -> Value {
    let out = cli.run(
        &["api", "/rest/api/user/current", "--profile", profile],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    json(&out.stdout)
}

fn assert_no_leak(out: &Out, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !out.all().contains(s),
            "a secret leaked into the output: {}",
            out.all()
        );
    }
}

fn cloud_login_args<'a>(base: &'a str, redirect: &'a str) -> Vec<&'a str> {
    vec![
        "auth",
        "login",
        "--insecure-storage",
        "--profile",
        "c",
        "--method",
        "oauth2",
        "--client-id",
        "app",
        "--client-secret-stdin",
        "--no-browser",
        "--redirect-uri",
        redirect,
        "--auth-url",
        base,
        "--api-gateway-url",
        base,
    ]
}

#[test]
fn cloud_oauth2_login_renews_after_expiry_and_saves_the_rotated_refresh_token() {
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let sim = cloud_sim(&redirect);
    let cli = Cli::new();
    let rt = rt();
    let mut p = Pending::start(
        &cli,
        &cloud_login_args(&sim.base_url, &redirect),
        "app-secret\n",
    );
    let url = p.url();
    assert!(
        url.starts_with(&format!("{}/authorize?", sim.base_url)),
        "{url}"
    );
    assert!(
        url.contains("offline_access") && url.contains("state="),
        "{url}"
    );
    let (status, page) = rt.block_on(approve(&url, "alice@example.com", "classic-alice"));
    assert_eq!(status, 200, "{page}");
    let out = p.finish();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("Alice Author"), "{}", out.stderr);
    assert!(
        cli.config_text()
            .contains(&format!("/ex/confluence/{CLOUD_ID}/wiki")),
        "{}",
        cli.config_text()
    );

    let first = secrets_of(&cli, "c");
    let refresh1 = first["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(whoami(&cli, "c")["email"], "alice@example.com");
    let status = cli.run(&["auth", "status", "--json"], None);
    assert_eq!(status.code, 0, "{}", status.all());
    assert!(
        json(&status.stdout)["profiles"][0]["expires_at"].is_string(),
        "{}",
        status.stdout
    );
    assert_no_leak(&status, &["app-secret", &refresh1]);

    // The server's clock passes the hour: the stored bearer is refused, cfl refreshes and retries.
    rt.block_on(advance_clock(&sim, 3601));
    let out = cli.run(&["api", "/rest/api/user/current", "--verbose"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("renewing"), "{}", out.stderr);
    assert_no_leak(&out, &["app-secret", &refresh1]);
    let refresh2 = secrets_of(&cli, "c")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        refresh1, refresh2,
        "the rotated refresh token must be saved"
    );
    // The old one is dead at the server: rotation really happened.
    let r = rt.block_on(async {
        http()
            .post(sim.url("/oauth/token"))
            .json(&json!({"grant_type": "refresh_token", "client_id": "app",
                          "client_secret": "app-secret", "refresh_token": refresh1}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(r, 403);

    // `cfl auth refresh` forces another rotation, saved again.
    let out = cli.run(&["auth", "refresh"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    let refresh3 = secrets_of(&cli, "c")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(refresh3, refresh2);
    let tok = cli.run(&["auth", "token"], None);
    assert!(tok.stdout.starts_with("Bearer "), "{}", tok.all());
    assert_eq!(whoami(&cli, "c")["email"], "alice@example.com");
}

#[test]
fn cloud_oauth2_refused_refresh_token_says_log_in_again() {
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let sim = cloud_sim(&redirect);
    let cli = Cli::new();
    let rt = rt();
    let mut p = Pending::start(
        &cli,
        &cloud_login_args(&sim.base_url, &redirect),
        "app-secret",
    );
    let url = p.url();
    rt.block_on(approve(&url, "alice@example.com", "classic-alice"));
    assert_eq!(p.finish().code, 0);
    // Someone else used (rotated) our refresh token: the stored one is now refused.
    let rt1 = secrets_of(&cli, "c")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    rt.block_on(async {
        http()
            .post(sim.url("/oauth/token"))
            .json(&json!({"grant_type": "refresh_token", "client_id": "app",
                          "client_secret": "app-secret", "refresh_token": rt1}))
            .send()
            .await
            .unwrap()
    });
    let out = cli.run(&["auth", "refresh"], None);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("invalid_grant") && out.stderr.contains("cfl auth login --profile c"),
        "{}",
        out.stderr
    );
}

#[test]
fn cloud_oauth2_redirect_with_another_state_is_refused() {
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let sim = cloud_sim(&redirect);
    let cli = Cli::new();
    let mut p = Pending::start(
        &cli,
        &cloud_login_args(&sim.base_url, &redirect),
        "app-secret",
    );
    let _ = p.url();
    let (status, body) = rt().block_on(async {
        let r = http()
            .get(format!("{redirect}?code=stolen&state=not-ours"))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(status, 400);
    assert!(body.contains("does not match"), "{body}");
    let out = p.finish();
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("state does not match"),
        "{}",
        out.stderr
    );
    assert!(
        !cli.config_text().contains("oauth2"),
        "nothing may be saved"
    );
}

#[test]
fn cloud_oauth2_wrong_client_secret_is_explained_and_nothing_saved() {
    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let sim = cloud_sim(&redirect);
    let cli = Cli::new();
    let mut p = Pending::start(
        &cli,
        &cloud_login_args(&sim.base_url, &redirect),
        "wrong-secret",
    );
    let url = p.url();
    rt().block_on(approve(&url, "alice@example.com", "classic-alice"));
    let out = p.finish();
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("client secret was refused"),
        "{}",
        out.stderr
    );
    assert_no_leak(&out, &["wrong-secret"]);
    assert!(!cli.secrets_exist());
}

#[test]
fn client_credentials_fetch_and_renew_the_bearer() {
    let sim = cloud_sim("http://127.0.0.1:9/callback");
    let cli = Cli::new();
    let args = [
        "--site",
        &sim.base_url,
        "--deployment",
        "cloud",
        "--method",
        "client-credentials",
        "--client-id",
        "svc-client",
        "--client-secret-stdin",
        "--auth-url",
        &sim.base_url,
        "--api-gateway-url",
        &sim.base_url,
    ];
    let out = cli.login("svc", &args, "svc-secret");
    assert!(out.stderr.contains("CI service account"), "{}", out.stderr);
    assert_eq!(
        whoami(&cli, "svc")["email"],
        "svc-ci@serviceaccount.atlassian.com"
    );
    let first = secrets_of(&cli, "svc")["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    // The 60-minute bearer expires at the server; cfl fetches a new one and goes on.
    rt().block_on(advance_clock(&sim, 3601));
    assert_eq!(
        whoami(&cli, "svc")["email"],
        "svc-ci@serviceaccount.atlassian.com"
    );
    let second = secrets_of(&cli, "svc")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second);

    // Renewed *before* expiry: a token the client knows is about to expire is replaced without
    // ever being sent (no 401 in the simulator's log).
    let mut stored = secrets_of(&cli, "svc");
    stored["expires_at"] = json!(1);
    write_secret(&cli, "svc", &stored);
    rt().block_on(async {
        http()
            .delete(sim.url("/__sim/requests"))
            .send()
            .await
            .unwrap()
    });
    assert_eq!(
        whoami(&cli, "svc")["email"],
        "svc-ci@serviceaccount.atlassian.com"
    );
    let third = secrets_of(&cli, "svc")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(third, second);
    let log: Value = rt().block_on(async {
        http()
            .get(sim.url("/__sim/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let reqs = log["requests"].as_array().unwrap();
    assert!(!reqs.is_empty(), "{log}");
    assert!(
        reqs.iter().all(|r| r["status"] == 200),
        "renewed before sending: {log}"
    );

    let mut all = vec!["auth", "login", "--insecure-storage", "--profile", "bad"];
    all.extend_from_slice(&args);
    let out = cli.run(&all, Some("not-the-secret"));
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("invalid_client"), "{}", out.stderr);
    assert!(!cli.config_text().contains("[profiles.bad]"));
}

/// Data Center service accounts take client credentials at `/rest/oauth2/latest/token`.
#[test]
fn dc_client_credentials_act_as_the_service_account() {
    let sim = dc_sim(
        r#"
[[oauth2_clients]]
kind = "dc-client-credentials"
client_id = "svc"
client_secret = "svc-secret"
service_account = "svc-reports"
scopes = ["READ"]
"#,
    );
    let cli = Cli::new();
    cli.login(
        "s",
        &[
            "--site",
            &sim.base_url,
            "--method",
            "client-credentials",
            "--client-id",
            "svc",
            "--client-secret-stdin",
        ],
        "svc-secret",
    );
    assert_eq!(whoami(&cli, "s")["username"], "svc-reports");
    assert!(cli.config_text().contains("/rest/oauth2/latest/token"));
}

#[test]
fn dc_oauth2_with_pkce_logs_in_and_refreshes() {
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let sim = dc_sim(&format!(
        r#"
[[oauth2_clients]]
kind = "dc"
client_id = "cfl-test"
client_secret = "cfl-test-secret"
redirect_uris = ["{redirect}"]
scopes = ["READ", "WRITE"]
"#
    ));
    let cli = Cli::new();
    let mut p = Pending::start(
        &cli,
        &[
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "d",
            "--site",
            &sim.base_url,
            "--method",
            "dc-oauth2",
            "--client-id",
            "cfl-test",
            "--client-secret-stdin",
            "--no-browser",
            "--redirect-uri",
            &redirect,
        ],
        "cfl-test-secret",
    );
    let url = p.url();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let rt = rt();
    let (status, _) = rt.block_on(approve(&url, "alice", DC_PASSWORD));
    assert_eq!(status, 200);
    let out = p.finish();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(whoami(&cli, "d")["username"], "alice");
    let refresh1 = secrets_of(&cli, "d")["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    rt.block_on(advance_clock(&sim, 3601));
    assert_eq!(whoami(&cli, "d")["username"], "alice");
    assert_ne!(
        secrets_of(&cli, "d")["refresh_token"].as_str().unwrap(),
        refresh1
    );
}

fn key_path(name: &str) -> String {
    examples_dir().join("keys").join(name).display().to_string()
}

#[test]
fn oauth1_three_legged_login_signs_every_request() {
    let sim = dc_sim("");
    let cli = Cli::new();
    let key = key_path("demo-consumer.key.pem");
    let mut p = Pending::start(
        &cli,
        &[
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "o",
            "--site",
            &sim.base_url,
            "--method",
            "oauth1",
            "--consumer-key",
            "cfl-gateway",
            "--private-key",
            &key,
            "--no-browser",
        ],
        "",
    );
    let url = p.url();
    assert!(
        url.contains("/plugins/servlet/oauth/authorize?oauth_token="),
        "{url}"
    );
    let (status, _) = rt().block_on(approve(&url, "alice", DC_PASSWORD));
    assert_eq!(status, 200);
    let out = p.finish();
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("Alice Author"), "{}", out.stderr);
    assert_eq!(whoami(&cli, "o")["username"], "alice");
    // A query string is part of the signature base string.
    let out = cli.run(&["api", "/rest/api/space?limit=1&start=0"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    let pem = std::fs::read_to_string(&key).unwrap();
    let key_line = pem.lines().nth(1).unwrap();
    let out = cli.run(&["auth", "status", "--verbose"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_no_leak(&out, &[key_line]);
    assert!(
        !cli.config_text().contains(key_line),
        "the key belongs in the secret store"
    );
}

/// No loopback redirect: the request token is made for "oob" and the verifier is pasted.
#[test]
fn oauth1_three_legged_with_a_pasted_verifier() {
    let sim = dc_sim("");
    let cli = Cli::new();
    let mut p = Pending::start_open(
        &cli,
        &[
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "o",
            "--site",
            &sim.base_url,
            "--method",
            "oauth1",
            "--consumer-key",
            "reporting-tool",
            "--private-key",
            &key_path("other-consumer.key.pem"),
            "--paste-verifier",
            "--no-browser",
        ],
    );
    let url = p.url();
    // reporting-tool has no callback on its link: Confluence shows the code on a page.
    let page = rt().block_on(async {
        let r = http()
            .get(&url)
            .header("authorization", basic("alice", DC_PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    });
    let verifier = page
        .split("<pre id=\"oauth_verifier\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or_else(|| panic!("no verifier on the page: {page}"))
        .to_string();
    p.type_in(&format!("{verifier}\n"));
    let out = p.finish();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(whoami(&cli, "o")["username"], "alice");
}

#[test]
fn oauth1_with_a_key_that_does_not_match_the_link_is_explained() {
    let sim = dc_sim("");
    let cli = Cli::new();
    let out = cli.run(
        &[
            "auth",
            "login",
            "--insecure-storage",
            "--site",
            &sim.base_url,
            "--method",
            "oauth1",
            "--consumer-key",
            "cfl-gateway",
            "--private-key",
            &key_path("other-consumer.key.pem"),
            "--no-browser",
        ],
        Some(""),
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("does not match the public key"),
        "{}",
        out.stderr
    );
}

#[test]
fn oauth1_impersonation_acts_as_a_passwordless_user_and_refusals_are_clear() {
    let sim = dc_sim("");
    let cli = Cli::new();
    let out = cli.login(
        "svc",
        &[
            "--site",
            &sim.base_url,
            "--method",
            "oauth1-impersonation",
            "--consumer-key",
            "cfl-gateway",
            "--private-key",
            &key_path("demo-consumer.key.pem"),
            "--as",
            "svc-reports",
        ],
        "",
    );
    assert!(
        out.stderr.contains("Reports Service Account"),
        "{}",
        out.stderr
    );
    assert_eq!(whoami(&cli, "svc")["username"], "svc-reports");
    let out = cli.run(&["api", "--paginate", "/rest/api/space?limit=1"], None);
    assert_eq!(
        out.code,
        0,
        "pagination keeps acting as the user: {}",
        out.all()
    );

    // Streamed requests (attachment upload and download) act as the user too.
    let page = json(
        &cli.run(&["api", "/rest/api/content?type=page&limit=1"], None)
            .stdout,
    )["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.csv");
    std::fs::write(&file, "a,b\n1,2\n").unwrap();
    let out = cli.run(
        &["attachment", "upload", &page, file.to_str().unwrap()],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    let dl = dir.path().join("back.csv");
    let out = cli.run(
        &[
            "attachment",
            "download",
            &page,
            "report.csv",
            "-o",
            dl.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(std::fs::read_to_string(&dl).unwrap(), "a,b\n1,2\n");
    let log: Value = rt().block_on(async {
        http()
            .get(sim.url("/__sim/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let uploads: Vec<&Value> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").contains("attachment"))
        .collect();
    assert!(!uploads.is_empty(), "{log}");
    assert!(
        uploads.iter().all(|r| r["user"] == "svc-reports"),
        "streamed requests run as the impersonated user: {log}"
    );

    // reporting-tool may do 2-legged requests but not impersonate.
    let out = cli.run(
        &[
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "no",
            "--site",
            &sim.base_url,
            "--method",
            "oauth1-impersonation",
            "--consumer-key",
            "reporting-tool",
            "--private-key",
            &key_path("other-consumer.key.pem"),
            "--as",
            "svc-reports",
        ],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("impersonation"), "{}", out.stderr);
    assert!(!cli.config_text().contains("[profiles.no]"));

    let out = cli.run(
        &[
            "auth",
            "login",
            "--site",
            &sim.base_url,
            "--method",
            "oauth1-impersonation",
            "--consumer-key",
            "cfl-gateway",
            "--private-key",
            "/nonexistent.pem",
            "--as",
            "x",
        ],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("cannot read --private-key"),
        "{}",
        out.stderr
    );
}

#[test]
fn cookie_session_is_used_for_reads_and_writes_and_renewed_when_it_expires() {
    let sim = dc_sim("");
    let cli = Cli::new();
    cli.login(
        "k",
        &[
            "--site",
            &sim.base_url,
            "--method",
            "cookie",
            "--username",
            "alice",
            "--password-stdin",
        ],
        DC_PASSWORD,
    );
    assert_eq!(whoami(&cli, "k")["username"], "alice");
    // A write with the session: cfl sends X-Atlassian-Token, so the XSRF check passes.
    let body = r#"{"type":"page","title":"Cookie page","space":{"key":"DEMO0"},"body":{"storage":{"value":"<p>x</p>","representation":"storage"}}}"#;
    let spaces = cli.run(&["api", "/rest/api/space?limit=1"], None);
    let key = json(&spaces.stdout)["results"][0]["key"]
        .as_str()
        .unwrap()
        .to_string();
    let body = body.replace("DEMO0", &key);
    let out = cli.run(&["api", "/rest/api/content", "--input", "-"], Some(&body));
    assert_eq!(out.code, 0, "{}", out.all());

    let session1 = secrets_of(&cli, "k")["session"]
        .as_str()
        .unwrap()
        .to_string();
    rt().block_on(advance_clock(&sim, 24 * 3600));
    assert_eq!(whoami(&cli, "k")["username"], "alice");
    let session2 = secrets_of(&cli, "k")["session"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        session1, session2,
        "an expired session is replaced by a new login"
    );
    let log: Value = rt().block_on(async {
        http()
            .get(sim.url("/__sim/requests?limit=50"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert!(
        log.to_string().contains(r#""auth_method":"session""#),
        "requests ran on the session: {log}"
    );

    // A session old enough to have died (its idle timeout is invisible to clients) is replaced
    // before use, not after an anonymous answer: no 401 in the simulator's log.
    let mut stored = secrets_of(&cli, "k");
    stored["expires_at"] = json!(1);
    write_secret(&cli, "k", &stored);
    rt().block_on(async {
        http()
            .delete(sim.url("/__sim/requests"))
            .send()
            .await
            .unwrap()
    });
    assert_eq!(whoami(&cli, "k")["username"], "alice");
    assert_ne!(
        secrets_of(&cli, "k")["session"].as_str().unwrap(),
        session2,
        "an old session is replaced by a fresh login"
    );
    let log: Value = rt().block_on(async {
        http()
            .get(sim.url("/__sim/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let reqs = log["requests"].as_array().unwrap();
    assert!(
        !reqs.is_empty() && reqs.iter().all(|r| r["status"] == 200),
        "{log}"
    );

    let out = cli.run(
        &[
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "bad",
            "--site",
            &sim.base_url,
            "--method",
            "cookie",
            "--username",
            "alice",
            "--password-stdin",
        ],
        Some("wrong"),
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("password was refused"),
        "{}",
        out.stderr
    );
}

/// A self-signed leaf certificate for 127.0.0.1 (its own trust anchor) in `dir`.
fn self_signed(dir: &std::path::Path) -> std::path::PathBuf {
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=cfl-test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(Stdio::null())
        .status()
        .expect("openssl (installed by scripts/setup.sh)");
    assert!(status.success());
    dir.join("cert.pem")
}

/// `--ca-bundle`: an HTTPS Confluence (here `cfl serve` with TLS in front of the simulator)
/// signed by a private CA is refused without the bundle and trusted with it, for the login and
/// every later command of the profile.
#[test]
fn custom_ca_bundle_is_trusted_for_login_and_later_commands() {
    use common::gateway::{static_identity, Gateway, ADMIN_TOKEN};
    let sim = dc_sim("");
    let certs = tempfile::tempdir().unwrap();
    let cert = self_signed(certs.path());
    let tls = format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        cert,
        certs.path().join("key.pem")
    );
    let (identity, env) = static_identity();
    let gw = Gateway::start(&sim, identity, &tls, &env);
    assert!(gw.base_url.starts_with("https://"), "{}", gw.base_url);
    let pem = std::fs::read(&cert).unwrap();
    let secret = rt().block_on(async {
        let _ = http();
        let c = reqwest::Client::builder()
            .no_proxy()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap();
        let v: Value = c
            .post(gw.url("/admin/v1/tokens"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"label": "ca test", "user": "alice"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["secret"].as_str().unwrap().to_string()
    });
    let cli = Cli::new();
    let base = [
        "auth",
        "login",
        "--insecure-storage",
        "--profile",
        "tls",
        "--site",
        &gw.base_url,
        "--deployment",
        "dc",
        "--method",
        "pat",
        "--token-stdin",
    ];
    let out = cli.run(&base, Some(&secret));
    assert_ne!(out.code, 0, "an unknown CA must be refused");
    assert!(
        out.stderr.contains("--ca-bundle"),
        "the refusal says how to fix it: {}",
        out.stderr
    );
    assert!(!cli.config_text().contains("[profiles.tls]"));
    let cert_arg = cert.display().to_string();
    let mut with_ca = base.to_vec();
    with_ca.extend(["--ca-bundle", &cert_arg]);
    let out = cli.run(&with_ca, Some(&secret));
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("Alice Author"), "{}", out.stderr);
    assert_eq!(whoami(&cli, "tls")["username"], "alice");

    let out = cli.run(
        &[
            "auth",
            "login",
            "--site",
            &gw.base_url,
            "--deployment",
            "dc",
            "--method",
            "pat",
            "--token-stdin",
            "--ca-bundle",
            "/nonexistent/ca.pem",
        ],
        Some(&secret),
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("cannot read CA bundle"),
        "{}",
        out.stderr
    );
}

/// The guided login in a real terminal (a pseudo-terminal from util-linux `script`): it asks the
/// site, detects Data Center, offers the methods that fit, says where the application link comes
/// from, asks the link's details and logs in as the user.
#[test]
fn interactive_login_in_a_terminal_offers_the_methods_that_fit() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: util-linux `script` (part of every Debian/Ubuntu base system) is not installed");
        return;
    }
    let sim = dc_sim("");
    let cli = Cli::new();
    let base = cli.command(&[]);
    let mut cmd = std::process::Command::new("script");
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.args([
        "-qec",
        &format!("'{CFL}' auth login --insecure-storage"),
        "/dev/null",
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let answers = format!(
        "{}\n3\ncfl-gateway\n{}\nsvc-reports\n",
        sim.base_url,
        key_path("demo-consumer.key.pem")
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answers.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{screen}");
    for expected in [
        "Confluence site URL",
        "This is Confluence Data Center",
        "Personal access token",
        "OAuth 1.0a application link acting as a user",
        "applinks",
        "Consumer key",
        "Private key file",
        "Act as which user",
        "Logged in",
        "Reports Service Account",
    ] {
        assert!(
            screen.contains(expected),
            "missing {expected:?} in:\n{screen}"
        );
    }
    assert!(
        !screen.contains("Scoped API token"),
        "Cloud methods are not offered on DC"
    );
    assert_eq!(
        json(&cli.run(&["api", "/rest/api/user/current"], None).stdout)["username"],
        "svc-reports"
    );
}

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (installed by scripts/setup.sh)");
    assert!(status.success(), "openssl {args:?}");
}

/// A private CA, a server certificate for 127.0.0.1 and a client certificate, both signed by it.
fn private_pki(dir: &std::path::Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=cfl test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN=cfl test {name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-out",
                &format!("{name}.pem"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
}

/// A TLS front for the simulator that demands a client certificate from the private CA (what an
/// mTLS-protected Confluence does); one request per connection, forwarded as plain HTTP.
fn mtls_front(dir: &std::path::Path, upstream: &str) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::Arc;
    let _ = http(); // installs the rustls provider
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(dir.join("ca.pem")).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = upstream.trim_start_matches("http://").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let config = config.clone();
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // The request head, then Content-Length bytes of body.
                let head_end = loop {
                    let Ok(n) = tls.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let Ok(n) = tls.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let (line, rest) = head.split_once("\r\n").unwrap();
                let mut up = std::net::TcpStream::connect(&upstream).unwrap();
                let forwarded = format!("{line}\r\nConnection: close\r\n{rest}");
                up.write_all(forwarded.as_bytes()).unwrap();
                up.write_all(&buf[head_end..]).unwrap();
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer);
                let _ = tls.write_all(&answer);
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    format!("https://{addr}")
}

/// Mutual TLS: a site behind a private CA that demands a client certificate accepts the login
/// (and later commands) only with `--ca-bundle` plus `--client-cert`/`--client-key`.
#[test]
fn client_certificate_for_mutual_tls() {
    let sim = dc_sim("");
    let pki = tempfile::tempdir().unwrap();
    private_pki(pki.path());
    let site = mtls_front(pki.path(), &sim.base_url);
    let p = |f: &str| pki.path().join(f).display().to_string();
    let (ca, cert, key) = (p("ca.pem"), p("client.pem"), p("client.key"));
    let cli = Cli::new();
    let base = [
        "auth",
        "login",
        "--insecure-storage",
        "--profile",
        "m",
        "--site",
        &site,
        "--deployment",
        "dc",
        "--method",
        "pat",
        "--token-stdin",
        "--ca-bundle",
        &ca,
    ];
    let out = cli.run(&base, Some(DC_PAT));
    assert_ne!(
        out.code,
        0,
        "no client certificate, no entry: {}",
        out.all()
    );
    let mut with_cert = base.to_vec();
    with_cert.extend(["--client-cert", &cert, "--client-key", &key]);
    let out = cli.run(&with_cert, Some(DC_PAT));
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("Alice Author"), "{}", out.stderr);
    assert_eq!(whoami(&cli, "m")["username"], "alice");
    let text = cli.config_text();
    assert!(
        text.contains("client_cert") && text.contains("ca_bundle"),
        "{text}"
    );
}
