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
