//! `cfl serve --check-config`: a config the gateway can start with exits 0; every other one
//! exits 1 with each problem (what, and how to fix it) on its own line, and never a secret.
//! The packaged service runs this before every start (`ExecStartPre`).

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A config directory holding the demo consumer key (`keys/demo.pem`) and `gateway.toml`.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/demo.pem"), demo_private_key()).unwrap();
        Setup { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `gateway.toml` and runs `cfl serve --config it --check-config` with `env` (and no
    /// other gateway variables): the exit code, stdout and stderr.
    fn check(&self, toml: &str, env: &[(&str, &str)]) -> (i32, String, String) {
        self.check_with(toml, env, &[])
    }

    fn check_with(&self, toml: &str, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
        let config = self.path("gateway.toml");
        std::fs::write(&config, toml).unwrap();
        let mut cmd = Command::new(CFL);
        cmd.args(["serve", "--check-config", "--config"])
            .arg(&config)
            .args(args)
            .current_dir(self.dir.path());
        for var in [
            "CFL_ADMIN_TOKEN",
            "CFL_LISTEN",
            "CFL_STORE",
            "CFL_UPSTREAM_URL",
            "CFL_WORKERS",
            "CFL_GATEWAY_CONFIG",
            "CFL_PAT_KEY",
            "CONFLUENCE_PAT",
        ] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A config like the packaged one: OAuth 1.0a impersonation with the demo key, SQLite beside it.
fn good(extra_top: &str, identity: &str) -> String {
    format!(
        "{extra_top}listen = \"127.0.0.1:8443\"\nstore = \"sqlite:data/gateway.sqlite\"\n\
         [upstream]\nurl = \"https://confluence.example.com\"\n[upstream.identity]\n{identity}"
    )
}

const OAUTH1: &str =
    "mode = \"oauth1-impersonation\"\nconsumer_key = \"cfl-gateway\"\nprivate_key_file = \"keys/demo.pem\"\n";

/// A self-signed certificate and key (PEM) in `dir`.
fn self_signed(dir: &Path) {
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(dir.join("tls.key"))
        .arg("-out")
        .arg(dir.join("tls.crt"))
        .stderr(Stdio::null())
        .status()
        .expect("openssl (installed by scripts/setup.sh)");
    assert!(status.success());
}

/// Each problem line of a failed check (after the count line).
fn problems(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .collect()
}

#[test]
fn a_config_the_gateway_can_start_with_passes_with_tls_and_names_what_it_checked() {
    let s = Setup::new();
    std::fs::create_dir(s.path("data")).unwrap();
    self_signed(s.dir.path());
    let toml = good("", OAUTH1) + "[tls]\ncert_file = \"tls.crt\"\nkey_file = \"tls.key\"\n";
    let (code, out, err) = s.check(&toml, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": OK (listen 127.0.0.1:8443"), "{out}");
    assert!(out.contains("oauth1-impersonation"), "{out}");
    assert!(err.is_empty(), "{err}");
    // Opening nothing: no database, and the probe file for the directory is gone again.
    assert_eq!(std::fs::read_dir(s.path("data")).unwrap().count(), 0);
}

#[test]
fn a_missing_or_broken_key_file_is_named_with_its_fix() {
    let s = Setup::new();
    std::fs::create_dir(s.path("data")).unwrap();
    let missing = OAUTH1.replace("keys/demo.pem", "keys/nope.pem");
    let (code, _, err) = s.check(&good("", &missing), &[]);
    assert_eq!(code, 1, "{err}");
    let lines = problems(&err);
    assert_eq!(lines.len(), 1, "{err}");
    let full = std::path::absolute(s.path("keys/nope.pem")).unwrap();
    assert!(
        lines[0].starts_with(&format!(
            "[upstream.identity] private_key_file {}: no such file",
            full.display()
        )) && lines[0].contains("correct the path"),
        "{err}"
    );

    std::fs::write(
        s.path("keys/demo.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let (code, _, err) = s.check(&good("", OAUTH1), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("is not an RSA private key") && err.contains("application link"),
        "{err}"
    );
}

#[test]
fn a_bad_certificate_a_missing_store_directory_and_a_bad_url_are_all_reported_at_once() {
    let s = Setup::new();
    std::fs::write(s.path("tls.crt"), "not a certificate\n").unwrap();
    std::fs::write(s.path("tls.key"), "not a key\n").unwrap();
    let toml = good("", OAUTH1).replace("https://confluence.example.com", "confluence.example.com")
        + "[tls]\ncert_file = \"tls.crt\"\nkey_file = \"tls.key\"\n";
    let (code, out, err) = s.check(&toml, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("3 problems keep the gateway from starting"),
        "{err}"
    );
    let lines = problems(&err);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("upstream.url \"confluence.example.com\" is not a URL")),
        "{err}"
    );
    let data = std::path::absolute(s.path("data")).unwrap();
    assert!(
        lines.iter().any(|l| l
            .contains(&format!("the directory {} does not exist", data.display()))
            && l.contains("create it")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[tls]") && l.contains("no certificate")),
        "{err}"
    );
}

#[test]
fn secrets_named_by_the_config_must_be_in_the_environment() {
    let s = Setup::new();
    std::fs::create_dir(s.path("data")).unwrap();
    let minted = "mode = \"minted-pat\"\nconsumer_key = \"cfl-gateway\"\nprivate_key_file = \"keys/demo.pem\"\nencryption_key_env = \"CFL_PAT_KEY\"\n";
    let (code, _, err) = s.check(&good("", minted), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the environment variable CFL_PAT_KEY is not set")
            && err.contains("openssl rand -base64 32"),
        "{err}"
    );
    // Set but not a 32-byte key: the upstream's own check says so, without showing it.
    let (code, _, err) = s.check(&good("", minted), &[("CFL_PAT_KEY", "c2hvcnQtc2VjcmV0")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("minted-pat"), "{err}");
    assert!(!err.contains("c2hvcnQtc2VjcmV0"), "{err}");
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let (code, out, err) = s.check(&good("", minted), &[("CFL_PAT_KEY", key)]);
    assert_eq!(code, 0, "{out}{err}");

    let static_env = "mode = \"static\"\ntoken_env = \"CONFLUENCE_PAT\"\n";
    let (code, _, err) = s.check(&good("", static_env), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("CONFLUENCE_PAT is not set"), "{err}");
    let (code, _, err) = s.check(&good("", static_env), &[("CONFLUENCE_PAT", "pat-value")]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn a_syntax_error_or_bad_listen_address_names_the_line_and_never_prints_a_secret() {
    let s = Setup::new();
    std::fs::create_dir(s.path("data")).unwrap();
    // An unterminated string on the PAT's line: the message gives the place, not the text.
    let broken = "mode = \"static\"\npat = \"super-secret-pat-1234\n";
    let (code, _, err) = s.check(&good("", broken), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("at line 7, column"), "{err}");
    assert!(!err.contains("super-secret-pat"), "{err}");

    let (code, _, err) = s.check(
        &good("", OAUTH1).replace("127.0.0.1:8443", "localhost:http"),
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("at line 1, column 10"), "{err}");
    assert!(err.contains("socket address"), "{err}");

    // A short admin token is named by its variable, never shown.
    let (code, _, err) = s.check(&good("", OAUTH1), &[("CFL_ADMIN_TOKEN", "tiny-admin")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("CFL_ADMIN_TOKEN is shorter than 20"), "{err}");
    assert!(!err.contains("tiny-admin"), "{err}");

    // An unknown setting is named, with the ones that exist.
    let (code, _, err) = s.check(&good("listn = \"127.0.0.1:1\"\n", OAUTH1), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("unknown field `listn`"), "{err}");
}

#[test]
fn overrides_from_flags_are_checked_too_and_a_missing_file_is_one_clear_line() {
    let s = Setup::new();
    std::fs::create_dir(s.path("data")).unwrap();
    let (code, _, err) = s.check_with(
        &good("", OAUTH1),
        &[],
        &["--store", "sqlite:/nonexistent-dir-cfl/gw.sqlite"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the directory /nonexistent-dir-cfl does not exist"),
        "{err}"
    );
    let (code, out, err) = s.check_with(
        &good("", OAUTH1),
        &[],
        &["--store", "postgres://gw:hunter2secret@db.example.com/gw"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("postgres://gw:***@db.example.com/gw"), "{out}");
    assert!(!out.contains("hunter2secret"), "{out}");

    let out = Command::new(CFL)
        .args(["serve", "--check-config", "--config"])
        .arg(s.path("absent.toml"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot read the config") && err.contains("no such file"),
        "{err}"
    );
}

/// The packaged unit reloads with SIGHUP (`ExecReload`). With `[tls]` the certificate is re-read;
/// without it there is nothing to reload, and the signal must not end the gateway (systemd would
/// take that for a clean exit and not restart it).
#[test]
fn a_reload_signal_without_tls_leaves_the_gateway_serving() {
    use common::gateway::{static_identity, Gateway};
    let sim = Sim::example("sim-dc.toml", "");
    let (identity, env) = static_identity();
    let mut gw = Gateway::start(&sim, identity, "", &env);
    for _ in 0..2 {
        let status = Command::new("kill")
            .args(["-HUP", &gw.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(
            gw.child.try_wait().unwrap().is_none(),
            "cfl serve ended on SIGHUP"
        );
    }
    let ready = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { http().get(gw.url("/readyz")).send().await.unwrap().status() });
    assert_eq!(ready, 200);
}

/// Port 443 without `CAP_NET_BIND_SERVICE` (the packaged service has none unless granted) is
/// named before the start rather than failing at bind time. As root the check runs as `nobody`
/// with no capabilities, the way the service runs.
#[test]
fn a_privileged_port_without_the_capability_is_named_with_how_to_grant_it() {
    use std::os::unix::fs::PermissionsExt;
    let s = Setup::new();
    std::fs::create_dir(s.path("data")).unwrap();
    let open = |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
    open(s.dir.path(), 0o755).unwrap();
    open(&s.path("data"), 0o777).unwrap();
    open(&s.path("keys"), 0o755).unwrap();
    open(&s.path("keys/demo.pem"), 0o644).unwrap();
    let config = s.path("gateway.toml");
    std::fs::write(
        &config,
        good("", OAUTH1).replace("127.0.0.1:8443", "0.0.0.0:443"),
    )
    .unwrap();
    open(&config, 0o644).unwrap();
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["--inh-caps=-all", "--bounding-set=-all", "--"])
            .arg(CFL);
        c
    } else {
        Command::new(CFL)
    };
    let out = cmd
        .args(["serve", "--check-config", "--config"])
        .arg(&config)
        .env_remove("CFL_LISTEN")
        .env_remove("CFL_ADMIN_TOKEN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Some containers let anyone bind any port (net.ipv4.ip_unprivileged_port_start = 0).
    let first_unprivileged: u16 =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .map(|s| s.trim().parse().unwrap())
            .unwrap_or(1024);
    if first_unprivileged <= 443 {
        assert_eq!(out.status.code(), Some(0), "{err}");
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "listen 0.0.0.0:443: ports below 1024 need the capability CAP_NET_BIND_SERVICE"
        ) && err.contains("AmbientCapabilities=CAP_NET_BIND_SERVICE"),
        "{err}"
    );
}
