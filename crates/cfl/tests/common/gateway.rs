//! Harness for `cfl serve`: writes a gateway config in front of a running simulator and starts
//! the real binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use super::{http, Sim, CFL};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

pub struct Gateway {
    pub child: Child,
    pub base_url: String,
    pub store: String,
    pub dir: tempfile::TempDir,
    config: std::path::PathBuf,
    env: Vec<(String, String)>,
}

impl Gateway {
    /// Starts `cfl serve` in front of `sim` with the given `[upstream.identity]` TOML body and
    /// extra top-level settings; `env` is passed to the process.
    pub fn start(sim: &Sim, identity: &str, extra: &str, env: &[(&str, &str)]) -> Gateway {
        Gateway::start_at(&sim.base_url, identity, extra, env)
    }

    /// Like [`Gateway::start`], in front of any upstream base URL.
    pub fn start_at(upstream: &str, identity: &str, extra: &str, env: &[(&str, &str)]) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::copy(
            super::examples_dir().join("keys/demo-consumer.key.pem"),
            keys.join("demo-consumer.key.pem"),
        )
        .unwrap();
        let store = format!("sqlite:{}", dir.path().join("gw.sqlite").display());
        let config = format!(
            "listen = \"127.0.0.1:0\"\nstore = {store:?}\n{extra}\n[upstream]\nurl = {url:?}\n[upstream.identity]\n{identity}\n",
            url = upstream
        );
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config).unwrap();
        Gateway::spawn(dir, path, store, env)
    }

    pub fn spawn(
        dir: tempfile::TempDir,
        config: std::path::PathBuf,
        store: String,
        env: &[(&str, &str)],
    ) -> Gateway {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (child, base_url) = Gateway::launch(&config, &env);
        Gateway {
            child,
            base_url,
            store,
            dir,
            config,
            env,
        }
    }

    /// Kills the process (SIGKILL) and starts it again with the same config, store and env.
    pub fn restart(&mut self) {
        self.kill_hard();
        let (child, base_url) = Gateway::launch(&self.config, &self.env);
        self.child = child;
        self.base_url = base_url;
    }

    fn launch(config: &std::path::Path, env: &[(String, String)]) -> (Child, String) {
        let mut cmd = Command::new(CFL);
        cmd.args(["serve", "--config"])
            .arg(config)
            .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
            // Quiet unless a developer asks (CFL_LOG=debug cargo test ...).
            .env(
                "CFL_LOG",
                std::env::var("CFL_LOG")
                    .unwrap_or_else(|_| "warn,cfl_gateway::expiry=error".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn cfl serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let startup: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("cfl serve did not print a JSON start-up line ({e}): {line:?}")
        });
        (child, startup["base_url"].as_str().unwrap().to_string())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Creates a token through the admin API; returns (id, secret).
    pub async fn create_token(&self, body: Value) -> (String, String) {
        self.create_token_with(&http(), body).await
    }

    /// Like [`Gateway::create_token`], through `client` (e.g. one that trusts the gateway's TLS
    /// certificate).
    pub async fn create_token_with(
        &self,
        client: &reqwest::Client,
        body: Value,
    ) -> (String, String) {
        let resp = client
            .post(self.url("/admin/v1/tokens"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "create token: {:?}", resp.text().await);
        let v: Value = resp.json().await.unwrap();
        (
            v["token"]["id"].as_str().unwrap().to_string(),
            v["secret"].as_str().unwrap().to_string(),
        )
    }

    pub async fn revoke(&self, id: &str) {
        let resp = http()
            .delete(self.url(&format!("/admin/v1/tokens/{id}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }

    /// The JSON a `GET` of the admin API answers, as the bootstrap admin.
    async fn admin_get(&self, path: &str) -> Value {
        http()
            .get(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The token as the admin API shows it (`useCount` includes unflushed uses).
    pub async fn token(&self, id: &str) -> Value {
        self.admin_get(&format!("/admin/v1/tokens/{id}")).await
    }

    pub async fn audit(&self, query: &str) -> Vec<Value> {
        let v = self.admin_get(&format!("/admin/v1/audit?{query}")).await;
        v["records"].as_array().cloned().unwrap_or_default()
    }

    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// Static upstream identity: every request runs as alice, through her PAT from sim-dc.toml.
pub const ALICE_PAT: &str = "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=";

pub fn static_identity() -> (&'static str, [(&'static str, &'static str); 1]) {
    (
        "mode = \"static\"\ntoken_env = \"SIM_ALICE_PAT\"",
        [("SIM_ALICE_PAT", ALICE_PAT)],
    )
}

pub fn token_request(user: &str) -> Value {
    json!({"label": format!("test token for {user}"), "user": user})
}

/// A fresh database on the test PostgreSQL server (`CFL_TEST_POSTGRES_URL`, set by
/// scripts/test.sh), or `None` with a printed reason.
pub async fn fresh_postgres_url() -> Option<String> {
    let Ok(admin_url) = std::env::var("CFL_TEST_POSTGRES_URL") else {
        eprintln!("skipping: CFL_TEST_POSTGRES_URL is not set (scripts/test.sh starts PostgreSQL and sets it)");
        return None;
    };
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let name = format!(
        "cfl_it_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let admin = sqlx::AnyPool::connect(&admin_url)
        .await
        .expect("connect to the test PostgreSQL server");
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .unwrap();
    admin.close().await;
    let base = &admin_url[..admin_url.rfind('/').unwrap()];
    Some(format!("{base}/{name}"))
}

impl Gateway {
    /// Like [`Gateway::start`] with a given store URL (e.g. a shared PostgreSQL database).
    pub fn start_with_store(sim: &Sim, identity: &str, store: &str) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::copy(
            super::examples_dir().join("keys/demo-consumer.key.pem"),
            keys.join("demo-consumer.key.pem"),
        )
        .unwrap();
        let config = format!(
            "listen = \"127.0.0.1:0\"\nstore = {store:?}\n[upstream]\nurl = {url:?}\n[upstream.identity]\n{identity}\n",
            url = sim.base_url
        );
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config).unwrap();
        Gateway::spawn(dir, path, store.to_string(), &[])
    }
}
