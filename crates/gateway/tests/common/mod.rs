//! In-process test harness: the simulator (`cfl_sim`) and the gateway (`cfl_gateway::server`)
//! started on loopback ports, on a runtime of their own so a test's blocking calls never stall
//! them. Tests reach both over HTTP, as clients would; what only a process can show (signals,
//! a crash, the `cfl` CLI) stays in `crates/cfl/tests`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};

use serde_json::{json, Value};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// The repo's `examples/` folder (configs and demo keys).
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

pub fn read_example(name: &str) -> String {
    std::fs::read_to_string(examples_dir().join(name)).expect("example file")
}

/// The servers' runtime, shared by every test of a binary.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the servers' runtime")
    })
}

/// Runs `f` to completion on the servers' runtime, from sync or async test code alike.
fn on_servers<T: Send + 'static>(f: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || runtime().block_on(f))
        .join()
        .expect("server start-up panicked")
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A simulator serving in this process; stopped on drop.
pub struct Sim {
    pub base_url: String,
    /// What `cfl sim` prints on start (`gateway_base` and the like).
    pub startup: Value,
    pub dir: tempfile::TempDir,
    _running: cfl_sim::server::RunningSim,
}

impl Sim {
    /// Starts the simulator with `toml` as its config; `keys/` from `examples/` is copied beside
    /// it, so relative key paths resolve as in the examples.
    pub fn start(toml: &str) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_keys(dir.path());
        let path = dir.path().join("sim.toml");
        std::fs::write(&path, toml).unwrap();
        let config = cfl_sim::config::SimConfig::load(&path).expect("simulator config");
        let running = on_servers(async move { cfl_sim::server::start(config, loopback()).await })
            .expect("start the simulator");
        Sim {
            base_url: running.base_url.clone(),
            startup: running.startup_line(),
            dir,
            _running: running,
        }
    }

    /// Starts the simulator from one of the example configs, with `extra` TOML appended.
    pub fn example(name: &str, extra: &str) -> Sim {
        Sim::start(&format!("{}\n{extra}", read_example(name)))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

fn copy_keys(dir: &Path) {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for entry in std::fs::read_dir(examples_dir().join("keys")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
    }
}

/// An HTTP client for tests: no proxies, no redirects followed (tests assert on them).
pub fn http() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

pub fn basic(user: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

/// A gateway serving in this process; shut down (in the background) on drop.
pub struct Gateway {
    pub base_url: String,
    pub store: String,
    pub dir: tempfile::TempDir,
    running: Option<cfl_gateway::server::RunningGateway>,
}

impl Gateway {
    /// Starts a gateway in front of `sim` with the given `[upstream.identity]` TOML body and
    /// extra top-level settings; `env` is set in this process first (the config names secrets
    /// by their variable, so every test must give a variable the same value).
    pub fn start(sim: &Sim, identity: &str, extra: &str, env: &[(&str, &str)]) -> Gateway {
        Gateway::start_at(&sim.base_url, identity, extra, env)
    }

    /// Like [`Gateway::start`], in front of any upstream base URL.
    pub fn start_at(upstream: &str, identity: &str, extra: &str, env: &[(&str, &str)]) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite:{}", dir.path().join("gw.sqlite").display());
        Gateway::start_in(dir, upstream, identity, extra, &store, env)
    }

    /// Like [`Gateway::start`], listening on `listen` (e.g. a port a provider's redirect URI names).
    pub fn start_listening(
        sim: &Sim,
        listen: SocketAddr,
        identity: &str,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite:{}", dir.path().join("gw.sqlite").display());
        let extra = format!("listen = \"{listen}\"\n{extra}");
        Gateway::start_in(dir, &sim.base_url, identity, &extra, &store, env)
    }

    /// Like [`Gateway::start`] with a given store URL (e.g. a shared PostgreSQL database).
    pub fn start_with_store(sim: &Sim, identity: &str, store: &str) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        Gateway::start_in(dir, &sim.base_url, identity, "", store, &[])
    }

    fn start_in(
        dir: tempfile::TempDir,
        upstream: &str,
        identity: &str,
        extra: &str,
        store: &str,
        env: &[(&str, &str)],
    ) -> Gateway {
        copy_keys(dir.path());
        // A `listen` in `extra` comes first and wins over the default.
        let listen = if extra.starts_with("listen = ") {
            String::new()
        } else {
            "listen = \"127.0.0.1:0\"\n".to_string()
        };
        let config = format!(
            "{listen}store = {store:?}\n{extra}\n[upstream]\nurl = {upstream:?}\n[upstream.identity]\n{identity}\n",
        );
        let path = dir.path().join("gateway.toml");
        std::fs::write(&path, config).unwrap();
        Gateway::spawn(dir, path, store.to_string(), env)
    }

    /// Starts a gateway from the config file at `config` (inside `dir`).
    pub fn spawn(
        dir: tempfile::TempDir,
        config: PathBuf,
        store: String,
        env: &[(&str, &str)],
    ) -> Gateway {
        for (k, v) in env {
            std::env::set_var(k, v);
        }
        let config = cfl_gateway::config::GatewayConfig::load(&config).expect("gateway config");
        let running = on_servers(async move {
            cfl_gateway::server::start(config, Some(ADMIN_TOKEN.to_string())).await
        })
        .expect("start the gateway");
        Gateway {
            base_url: running.base_url.clone(),
            store,
            dir,
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Stops accepting, finishes in-flight requests, flushes counters and the audit queue.
    pub fn shut_down(&mut self) {
        if let Some(running) = self.running.take() {
            on_servers(running.shutdown());
        }
    }

    /// Creates a token through the admin API; returns (id, secret).
    pub async fn create_token(&self, body: Value) -> (String, String) {
        self.create_token_with(&http(), body).await
    }

    /// Like [`Gateway::create_token`], through `client`.
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
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // Dropping the handle closes its shutdown channel: the gateway drains on its own.
        self.running.take();
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

pub const OAUTH1_IDENTITY: &str =
    "mode = \"oauth1-impersonation\"\nconsumer_key = \"cfl-gateway\"\nprivate_key_file = \"keys/demo-consumer.key.pem\"";

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
        "cfl_gw_{}_{}",
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
