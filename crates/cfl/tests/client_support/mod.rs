//! Helpers for the client tests: run the real `cfl` binary with its own config dir, a clean
//! environment (no CONFLUENCE_*, no Jira token, a temp HOME) and file storage for secrets.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::CFL;

pub const DC_PAT: &str = "NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=";
pub const DC_PASSWORD: &str = "alice-pw";
pub const CLOUD_TOKEN: &str = "ATATT3xFfGF0-classic-alice";
pub const SCOPED_TOKEN: &str = "ATATT3xFfGF0-scoped-alice-read";
pub const EMAIL: &str = "alice@example.com";

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// One user's cfl installation: a config dir and a HOME of its own.
pub struct Cli {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Cli {
    pub fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    pub fn config_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("config")
    }

    pub fn with_env(mut self, k: &str, v: &str) -> Cli {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Out {
        self.run_env(args, stdin, &[])
    }

    pub fn run_env(&self, args: &[&str], stdin: Option<&str>, extra: &[(&str, &str)]) -> Out {
        let mut cmd = self.command(args);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn cfl");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let o = child.wait_with_output().unwrap();
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// The `cfl` command with this installation's clean environment (for tests that drive a
    /// running process, e.g. a browser sign-in).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(CFL);
        cmd.args(args)
            .env("CFL_CONFIG_DIR", self.config_dir())
            .env("HOME", self.dir.path())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("CFL_RETRY_MAX_WAIT", "10");
        for k in [
            "CONFLUENCE_URL",
            "CONFLUENCE_EMAIL",
            "CONFLUENCE_API_TOKEN",
            "CONFLUENCE_PAT",
            "CONFLUENCE_DEPLOYMENT",
            "CFL_PROFILE",
            "JIRA_API_TOKEN",
            "JIRA_URL",
            "JIRA_SERVER",
            "NETRC",
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "CFL_API_GATEWAY_URL",
            "CFL_ATLASSIAN_AUTH_URL",
            "BROWSER",
            "CFL_MAX_RETRIES",
        ] {
            cmd.env_remove(k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `cfl ARGS` under `umask MASK` (through `sh`), with this installation's environment.
    pub fn run_with_umask(&self, mask: &str, args: &[&str]) -> Out {
        let plain = self.command(args);
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(format!("umask {mask}; exec \"$@\""))
            .arg("sh")
            .arg(CFL)
            .args(args)
            .stdin(Stdio::null());
        for (k, v) in plain.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        let o = sh.output().expect("spawn sh");
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Logs in with file storage; panics with the output when it fails.
    pub fn login(&self, profile: &str, args: &[&str], secret: &str) -> Out {
        let mut all = vec!["auth", "login", "--insecure-storage", "--profile", profile];
        all.extend_from_slice(args);
        let out = self.run(&all, Some(secret));
        assert_eq!(out.code, 0, "login {profile} failed: {}", out.all());
        out
    }

    pub fn login_dc_pat(&self, profile: &str, site: &str) -> Out {
        self.login(
            profile,
            &["--site", site, "--method", "pat", "--token-stdin"],
            DC_PAT,
        )
    }

    pub fn login_cloud(&self, profile: &str, site: &str) -> Out {
        self.login(
            profile,
            &[
                "--site",
                site,
                "--deployment",
                "cloud",
                "--method",
                "api-token",
                "--email",
                EMAIL,
                "--token-stdin",
            ],
            CLOUD_TOKEN,
        )
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.config_dir().join("config.toml")).unwrap_or_default()
    }

    pub fn secrets_exist(&self) -> bool {
        Path::new(&self.config_dir().join("secrets.toml")).exists()
    }
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The simulator's request log, oldest first (`GET /__sim/requests`: `method`, `path`,
/// `query`, `status`, …).
pub fn sim_requests(sim: &crate::common::Sim) -> Vec<serde_json::Value> {
    let url = sim.url("/__sim/requests");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let v: serde_json::Value = rt.block_on(async {
        crate::common::http()
            .get(&url)
            .send()
            .await
            .expect("GET /__sim/requests")
            .json()
            .await
            .expect("the request log is JSON")
    });
    v["requests"].as_array().cloned().unwrap_or_default()
}

/// Asserts from the simulator's request log that no request met `410 Gone` — an endpoint
/// Confluence Cloud has removed.
pub fn assert_no_gone(sim: &crate::common::Sim) {
    let log = sim_requests(sim);
    let gone: Vec<String> = log
        .iter()
        .filter(|r| r["status"] == 410)
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect();
    assert!(
        gone.is_empty(),
        "requests to endpoints Cloud removed (410): {gone:?}"
    );
}

/// One request as a [`Loopback`] server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub at: std::time::Instant,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer from a [`Loopback`] handler: status, headers, body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// A tiny HTTP/1.1 server on a loopback port, for answers the simulator cannot give (any
/// header on a 429, a redirect to another host). One thread, one connection at a time,
/// `Connection: close`. Every request is recorded.
pub struct Loopback {
    pub base_url: String,
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
}

impl Loopback {
    pub fn start<F>(handler: F) -> Loopback
    where
        F: Fn(&Seen, usize) -> Answer + Send + 'static,
    {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Seen>::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let target = parts.next().unwrap_or("").to_string();
                let mut headers = Vec::new();
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        let k = k.trim().to_ascii_lowercase();
                        if k == "content-length" {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        headers.push((k, v.trim().to_string()));
                    }
                }
                let mut body = vec![0u8; len];
                let _ = std::io::Read::read_exact(&mut reader, &mut body);
                let req = Seen {
                    method,
                    target,
                    headers,
                    at: std::time::Instant::now(),
                };
                let n = {
                    let mut l = log.lock().unwrap();
                    l.push(req.clone());
                    l.len() - 1
                };
                let (status, hs, body) = handler(&req, n);
                let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
                for (k, v) in hs {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Loopback { base_url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A JSON answer with extra headers.
pub fn answer_json(status: u16, headers: &[(&str, &str)], body: &serde_json::Value) -> Answer {
    let mut hs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    hs.push(("Content-Type".into(), "application/json".into()));
    (status, hs, body.to_string().into_bytes())
}

/// A cli whose credential (from the environment) is a Cloud API token for `site`.
pub fn cloud_env_cli(site: &str) -> Cli {
    Cli::new()
        .with_env("CONFLUENCE_URL", site)
        .with_env("CONFLUENCE_DEPLOYMENT", "cloud")
        .with_env("CONFLUENCE_EMAIL", EMAIL)
        .with_env("CONFLUENCE_API_TOKEN", CLOUD_TOKEN)
}

/// A simulator whose request log is checked when the test ends: a test that passed but sent a
/// request that met `410 Gone` (an endpoint Cloud removed) fails. Derefs to [`Sim`].
pub struct NoGoneSim(pub crate::common::Sim);

impl std::ops::Deref for NoGoneSim {
    type Target = crate::common::Sim;
    fn deref(&self) -> &crate::common::Sim {
        &self.0
    }
}

impl Drop for NoGoneSim {
    fn drop(&mut self) {
        // While a test is already failing, a second panic would abort the run.
        if !std::thread::panicking() {
            assert_no_gone(&self.0);
        }
    }
}
