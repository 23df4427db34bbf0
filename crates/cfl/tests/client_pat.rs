//! `cfl pat list|create|revoke` against a real `cfl sim` (Data Center): the raw token is printed
//! once and really authenticates; the server's limits come back as sentences; and
//! `cfl pat create --for USER` mints a PAT for a passwordless account through an OAuth 1.0a
//! application link acting as that user — refused cleanly when the consumer may not impersonate
//! or the profile is not an impersonation profile.

mod client_support;
mod common;

use client_support::*;
use common::*;
use serde_json::Value;

fn key_path(name: &str) -> String {
    examples_dir().join("keys").join(name).display().to_string()
}

async fn current_user(sim: &Sim, bearer: &str) -> (u16, Value) {
    let r = http()
        .get(sim.url("/rest/api/user/current"))
        .header("authorization", format!("Bearer {bearer}"))
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn create_list_and_revoke_own_tokens() {
    let sim = Sim::example("sim-dc.toml", "");
    let cli = Cli::new();
    cli.login(
        "a",
        &[
            "--site",
            &sim.base_url,
            "--method",
            "basic",
            "--username",
            "alice",
            "--password-stdin",
        ],
        DC_PASSWORD,
    );
    let out = cli.run(&["pat", "create", "--name", "ci", "--days", "30"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    let raw = out.stdout.trim().to_string();
    assert_eq!(raw.len(), 44, "a DC PAT is 44 characters: {raw}");
    assert!(!out.stderr.contains(&raw), "printed once, on stdout only");
    let rt = rt();
    let (status, me) = rt.block_on(current_user(&sim, &raw));
    assert_eq!(status, 200);
    assert_eq!(me["username"], "alice");

    let list = cli.run(&["pat", "list", "--json"], None);
    assert_eq!(list.code, 0, "{}", list.all());
    assert!(!list.stdout.contains(&raw), "list never shows a secret");
    let v = json(&list.stdout);
    let mine = v
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .expect("the new token is listed");
    let id = mine["id"].to_string();
    let table = cli.run(&["pat", "list"], None);
    assert!(
        table.stdout.contains("ci") && table.stdout.contains("LAST USED"),
        "{}",
        table.stdout
    );

    let out = cli.run(&["pat", "revoke", &id], None);
    assert_eq!(out.code, 0, "{}", out.all());
    let (status, _) = rt.block_on(current_user(&sim, &raw));
    assert_eq!(status, 401, "a revoked token no longer works");
    let out = cli.run(&["pat", "revoke", &id], None);
    assert_ne!(out.code, 0, "{}", out.all());
}

#[test]
fn server_limits_are_reported_clearly() {
    let sim = Sim::start(
        &read_example("sim-dc.toml")
            .replace("# max_tokens_per_user = 10", "max_tokens_per_user = 1"),
    );
    let cli = Cli::new();
    cli.login_dc_pat("a", &sim.base_url);
    // alice already owns one PAT (the one she logged in with): the server refuses a second.
    let out = cli.run(&["pat", "create", "--name", "second", "--days", "30"], None);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("403")
            && out.stderr.contains("limit")
            && out.stderr.contains("cfl pat revoke"),
        "{}",
        out.stderr
    );
    let out = cli.run(&["pat", "create", "--name", "x", "--days", "400"], None);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("between 1 and 365")
            && out.stderr.contains("atlassian.pats.max.tokens.expiry.days"),
        "{}",
        out.stderr
    );
    let out = cli.run(&["pat", "create", "--name", "x", "--days", "0"], None);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("at least 1"), "{}", out.stderr);
}

#[test]
fn create_for_a_passwordless_user_through_impersonation() {
    let sim = Sim::example("sim-dc.toml", "");
    let cli = Cli::new();
    cli.login(
        "link",
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
            "admin",
        ],
        "",
    );
    let out = cli.run(
        &[
            "pat",
            "create",
            "--for",
            "svc-reports",
            "--name",
            "reports",
            "--days",
            "90",
        ],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("svc-reports"), "{}", out.stderr);
    let raw = out.stdout.trim().to_string();
    let (status, me) = rt().block_on(current_user(&sim, &raw));
    assert_eq!(status, 200, "the minted PAT authenticates");
    assert_eq!(me["username"], "svc-reports");
    let list = cli.run(&["pat", "list", "--json"], None);
    assert!(
        !list.stdout.contains("\"reports\""),
        "the token belongs to svc-reports, not admin: {}",
        list.stdout
    );
}

#[test]
fn create_for_is_refused_without_an_impersonating_link() {
    let sim = Sim::example("sim-dc.toml", "");
    let cli = Cli::new();
    cli.login_dc_pat("p", &sim.base_url);
    let out = cli.run(
        &[
            "pat",
            "create",
            "--for",
            "svc-reports",
            "--name",
            "n",
            "--days",
            "1",
        ],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("oauth1-impersonation"),
        "{}",
        out.stderr
    );

    // A profile on the reporting-tool link, which may sign 2-legged requests but not impersonate
    // (written by hand: `cfl auth login` itself refuses such a link).
    let pem = std::fs::read_to_string(key_path("other-consumer.key.pem")).unwrap();
    let secret = serde_json::json!({"private_key": pem}).to_string();
    let dir = cli.config_dir();
    let config = format!(
        "active = \"rt\"\n[profiles.rt]\nsite = \"{b}\"\ndeployment = \"dc\"\nmethod = \"oauth1-impersonation\"\n\
         api_base = \"{b}\"\nlogin = \"admin\"\nsecret_store = \"file\"\n[profiles.rt.oauth]\n\
         consumer_key = \"reporting-tool\"\nas_user = \"admin\"\n",
        b = sim.base_url
    );
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let mut secrets = toml::map::Map::new();
    secrets.insert("rt".into(), toml::Value::String(secret));
    std::fs::write(dir.join("secrets.toml"), toml::to_string(&secrets).unwrap()).unwrap();
    let out = cli.run(
        &[
            "pat",
            "create",
            "--for",
            "svc-reports",
            "--name",
            "n",
            "--days",
            "1",
        ],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("401") && out.stderr.contains("impersonation"),
        "{}",
        out.stderr
    );
    assert!(!out.all().contains(pem.lines().nth(1).unwrap()));
}
