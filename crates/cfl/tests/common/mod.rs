//! Test harness: start the real `cfl` binary (`cfl sim`, later `cfl serve`) on loopback ports.
//!
//! Each test writes its own simulator config, so tests are independent and run in parallel.
#![allow(dead_code)]

pub mod gateway;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;

pub const CFL: &str = env!("CARGO_BIN_EXE_cfl");

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

/// A running `cfl sim` process; killed on drop.
pub struct Sim {
    pub child: Child,
    pub base_url: String,
    pub startup: serde_json::Value,
    pub dir: tempfile::TempDir,
}

impl Sim {
    /// Starts `cfl sim` with `toml` as its config. Relative key paths resolve against `examples/`
    /// because `keys/` from `examples/` is copied beside the config file.
    pub fn start(toml: &str) -> Sim {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = dir.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        for entry in std::fs::read_dir(examples_dir().join("keys")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
        }
        let config = dir.path().join("sim.toml");
        std::fs::write(&config, toml).unwrap();
        let mut child = Command::new(CFL)
            .args(["sim", "--config"])
            .arg(&config)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn cfl sim");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read start-up line");
        let startup: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("cfl sim did not print a JSON start-up line ({e}): {line:?}")
        });
        let base_url = startup["base_url"].as_str().expect("base_url").to_string();
        Sim {
            child,
            base_url,
            startup,
            dir,
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
        let _ = self.child.kill();
        let _ = self.child.wait();
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
