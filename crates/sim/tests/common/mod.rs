//! Test harness: the simulator from the library, in-process, on a loopback port.
//!
//! Each `Sim` runs on its own thread with its own runtime, so a test may use it from
//! `#[tokio::test]` or plain `#[test]` code alike, and a test's runtime blocking never stalls the
//! server. The binary's own behaviour (flags, the start-up line on stdout, exit codes) is tested
//! in `crates/cfl/tests/cli_sim.rs`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Once;

use cfl_sim::SimConfig;

/// The repo's `examples/` folder (configs and demo keys).
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

pub fn read_example(name: &str) -> String {
    std::fs::read_to_string(examples_dir().join(name)).expect("example file")
}

/// The demo consumer's private key (PKCS#8 PEM), allowed to impersonate in the example config.
pub fn demo_private_key() -> String {
    read_example("keys/demo-consumer.key.pem")
}

/// A running simulator; stopped on drop.
pub struct Sim {
    pub base_url: String,
    /// What `cfl sim` prints on start (`RunningSim::startup_line`).
    pub startup: serde_json::Value,
    pub state: cfl_sim::Shared,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sim {
    /// Starts a simulator with `toml` as its config file. Relative key paths resolve against
    /// `examples/` because `keys/` from `examples/` is copied beside the config file.
    pub fn start(toml: &str) -> Sim {
        Sim::start_with(toml, |c| c)
    }

    /// Like [`Sim::start`], with the loaded config changed by `adjust` (e.g. `with_seed`).
    pub fn start_with(toml: &str, adjust: impl FnOnce(SimConfig) -> SimConfig) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        for entry in std::fs::read_dir(examples_dir().join("keys")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
        }
        let path = dir.path().join("sim.toml");
        std::fs::write(&path, toml).unwrap();
        let config = adjust(SimConfig::load(&path).unwrap_or_else(|e| panic!("{e}")));
        Sim::serve(config, dir)
    }

    /// Serves `config` (already loaded) until the returned `Sim` is dropped.
    pub fn serve(config: SimConfig, dir: tempfile::TempDir) -> Sim {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let sim = cfl_sim::start(config, "127.0.0.1:0".parse().unwrap())
                    .await
                    .expect("start the simulator");
                ready_tx
                    .send((sim.base_url.clone(), sim.startup_line(), sim.state.clone()))
                    .unwrap();
                let _ = stop_rx.await;
                sim.shutdown().await;
            });
        });
        let (base_url, startup, state) = ready_rx.recv().expect("simulator started");
        Sim {
            base_url,
            startup,
            state,
            dir,
            stop: Some(stop_tx),
            thread: Some(thread),
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

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Graceful shutdown waits for open connections; a test's idle keep-alive client must
        // not hold the test up, so the thread is left to finish on its own.
        drop(self.thread.take());
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
