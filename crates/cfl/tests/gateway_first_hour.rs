//! The gateway as a new user meets it (issue 19): the demo on a busy port, a first start that
//! fails, paths relative to the config file, a way back in for whoever holds the store, audit
//! verification of a store that isn't there, logs without colour codes in files, browsers at the
//! root, and the CLI's own words in its errors.

mod common;
use common::gateway::*;
use common::*;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// A gateway config in its own directory: `store = "sqlite:gw.sqlite"` and the demo key under
/// `keys/`, both relative to the file. Returns (dir, config path).
fn config_dir(upstream: &str, key_file: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    std::fs::copy(
        examples_dir().join("keys/demo-consumer.key.pem"),
        keys.join("demo-consumer.key.pem"),
    )
    .unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nstore = \"sqlite:gw.sqlite\"\n[upstream]\nurl = {upstream:?}\n\
             [upstream.identity]\nmode = \"oauth1-impersonation\"\nconsumer_key = \"cfl-gateway\"\n\
             private_key_file = {key_file:?}\n"
        ),
    )
    .unwrap();
    (dir, config)
}

/// `cfl ARGS` run in `cwd` without any admin token in the environment.
fn cfl(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(CFL);
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("CFL_ADMIN_TOKEN")
        .env_remove("CFL_LISTEN")
        .env_remove("CFL_STORE")
        .env("CFL_LOG", "warn,cfl_gateway::expiry=error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    cfl(cwd, args, env).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `cfl serve`, killed on drop; its stderr goes to a file.
struct Served {
    child: Child,
    startup: Value,
    stderr: tempfile::NamedTempFile,
}

impl Served {
    fn start(config: &Path, cwd: &Path, env: &[(&str, &str)]) -> Served {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        let mut child = cfl(cwd, &["serve", "--config"], env)
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(stderr.reopen().unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let startup = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("no start-up line ({e}): {line:?}"));
        Served {
            child,
            startup,
            stderr,
        }
    }

    /// What it wrote to stderr so far.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap()
    }

    /// The first start's admin token, from the file beside the store named in the start-up line
    /// (stdout is no terminal here, so the secret is in no output that a log could keep).
    fn admin_token_from_file(&self, store_dir: &Path) -> String {
        let file = std::path::absolute(store_dir.join("admin-token")).unwrap();
        assert_eq!(
            self.startup["admin_token_file"],
            file.display().to_string(),
            "{}",
            self.startup
        );
        let token = std::fs::read_to_string(&file).unwrap().trim().to_string();
        assert!(token.starts_with("cfl_"), "{token:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "{} is readable by others",
                file.display()
            );
        }
        // The notice goes to stderr just after the start-up line reached stdout: wait for it.
        let named = |s: &String| s.contains(&file.display().to_string());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut stderr = self.stderr();
        while !named(&stderr) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            stderr = self.stderr();
        }
        assert!(named(&stderr), "{stderr}");
        let id = self.startup["admin_token_id"].as_str().unwrap();
        assert!(stderr.contains(id), "{stderr}");
        for output in [self.startup.to_string(), stderr] {
            assert!(
                !output.contains(&token),
                "the secret is in the output: {output}"
            );
        }
        token
    }

    fn base_url(&self) -> String {
        self.startup["base_url"].as_str().unwrap().to_string()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_demo_on_a_busy_port_comes_up_on_another_and_says_which() {
    // Taken by us, or already by someone else: either way the demo can't have it.
    let _held = std::net::TcpListener::bind("127.0.0.1:8080");
    assert!(
        std::net::TcpListener::bind("127.0.0.1:8080").is_err(),
        "port 8080 should be taken for this test"
    );
    let mut demo = Command::new(CFL)
        .args(["serve", "--demo"])
        .env_remove("CFL_LISTEN")
        .env_remove("CFL_ADMIN_TOKEN")
        .env("CFL_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(demo.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut stderr = BufReader::new(demo.stderr.take().unwrap());
    let mut banner = String::new();
    while !banner.contains("Manage it:") {
        if stderr.read_line(&mut banner).unwrap() == 0 {
            break;
        }
    }
    let started: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("the demo did not start ({e}): {line:?}\n{banner}"));
    let gateway = started["gateway"].as_str().unwrap().to_string();
    // Admins sign in through the simulated provider, with the gateway's real callback.
    let signed_in = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(demo_sign_in(&gateway, "tom@example.com", "tom-demo"));
    let _ = demo.kill();
    let _ = demo.wait();
    assert_eq!(signed_in["role"], "token-manager", "{signed_in}");
    assert!(
        banner.contains("Sign in on the admin page with the simulated Entra ID: ada@example.com / ada-demo (admin), tom@example.com / tom-demo (token-manager), aud@example.com / aud-demo (auditor)"),
        "{banner}"
    );
    let gateway = gateway.as_str();
    assert_ne!(gateway, "http://127.0.0.1:8080");
    assert!(
        banner.contains(&format!(
            "127.0.0.1:8080 is in use by another program, so the gateway listens on {gateway} instead"
        )),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("{gateway}/admin/")),
        "the banner names the web admin page: {banner}"
    );
    assert_eq!(started["admin_page"], format!("{gateway}/admin/"));
}

/// Signs in on the demo's admin page through its simulated provider; `/admin/v1/session`.
async fn demo_sign_in(gateway: &str, user: &str, password: &str) -> Value {
    let http = http();
    let location = |r: &reqwest::Response| r.headers()["location"].to_str().unwrap().to_string();
    let r = http
        .get(format!("{gateway}/admin/oidc/login?return_to=/admin/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let mut authorize = reqwest::Url::parse(&location(&r)).unwrap();
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    let redirect_uri = form.iter().find(|(k, _)| k == "redirect_uri").unwrap();
    assert_eq!(redirect_uri.1, format!("{gateway}/admin/oidc/callback"));
    form.push(("username".into(), user.into()));
    form.push(("password".into(), password.into()));
    authorize.set_query(None);
    let r = http.post(authorize).form(&form).send().await.unwrap();
    assert_eq!(r.status(), 302, "{:?}", r.text().await);
    let r = http.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    http.get(format!("{gateway}/admin/v1/session"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[test]
fn a_first_start_that_fails_touches_no_store_and_the_next_good_one_shows_the_admin_token() {
    let sim = Sim::example("sim-dc.toml", "");
    let (dir, config) = config_dir(&sim.base_url, "keys/missing.pem");
    let elsewhere = tempfile::tempdir().unwrap();
    let config_arg = config.to_str().unwrap();
    let missing_key = std::path::absolute(dir.path().join("keys/missing.pem")).unwrap();

    // Checking and starting both fail, naming the key file where the config says it is.
    for args in [
        vec!["serve", "--config", config_arg, "--check-config"],
        vec!["serve", "--config", config_arg],
    ] {
        let out = run(elsewhere.path(), &args, &[]);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains(&missing_key.display().to_string()),
            "{args:?} names the resolved path: {err}"
        );
    }
    assert!(
        !dir.path().join("gw.sqlite").exists() && !elsewhere.path().join("gw.sqlite").exists(),
        "a config that can't serve must not create the store (nor its admin token)"
    );

    // Fixed: the check passes and the first start shows the admin token, made now.
    let good = std::fs::read_to_string(&config)
        .unwrap()
        .replace("keys/missing.pem", "keys/demo-consumer.key.pem");
    std::fs::write(&config, good).unwrap();
    let out = run(
        elsewhere.path(),
        &["serve", "--config", config_arg, "--check-config"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("OK"), "{}", text(&out.stdout));
    let gw = Served::start(&config, elsewhere.path(), &[]);
    let admin = gw.admin_token_from_file(dir.path());
    // The store is beside the config file, not in the current directory.
    assert!(dir.path().join("gw.sqlite").exists());
    assert!(!elsewhere.path().join("gw.sqlite").exists());
    assert!(
        gw.startup["store"].as_str().unwrap().contains(
            &std::path::absolute(dir.path())
                .unwrap()
                .display()
                .to_string()
        ),
        "the start-up line shows the resolved store: {}",
        gw.startup
    );
    let env = [
        ("CFL_GATEWAY_URL", gw.base_url()),
        ("CFL_ADMIN_TOKEN", admin.clone()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run(
        elsewhere.path(),
        &[
            "token",
            "create",
            "--label",
            "kept",
            "--user",
            "svc-reports",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    drop(gw);

    // Started again from yet another directory: the same store, its token, no new admin token.
    let third = tempfile::tempdir().unwrap();
    let gw = Served::start(&config, third.path(), &[]);
    assert!(
        gw.startup.get("admin_token").is_none() && gw.startup.get("admin_token_file").is_none(),
        "{}",
        gw.startup
    );
    let env = [
        ("CFL_GATEWAY_URL", gw.base_url()),
        ("CFL_ADMIN_TOKEN", admin),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run(third.path(), &["token", "list", "--json"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let tokens: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tokens[0]["label"], "kept", "{tokens}");
    assert!(!third.path().join("gw.sqlite").exists());
}

#[test]
fn whoever_holds_the_store_gets_back_in_with_a_new_admin_token_and_it_is_audited() {
    let sim = Sim::example("sim-dc.toml", "");
    let (dir, config) = config_dir(&sim.base_url, "keys/demo-consumer.key.pem");
    let config_arg = config.to_str().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();

    // No store yet: nothing to get back into.
    let out = run(
        elsewhere.path(),
        &["serve", "--config", config_arg, "--new-admin-token"],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no store at"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("gw.sqlite").exists());

    // The first start's token is lost (never read); a new one works on the running gateway.
    let gw = Served::start(&config, elsewhere.path(), &[]);
    assert!(gw.startup["admin_token_id"].is_string(), "{}", gw.startup);
    let out = run(
        elsewhere.path(),
        &["serve", "--config", config_arg, "--new-admin-token"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fresh = text(&out.stdout).trim().to_string();
    assert!(fresh.starts_with("cfl_"), "{fresh:?}");
    assert!(
        text(&out.stderr).contains("audit log"),
        "{}",
        text(&out.stderr)
    );
    let env = [
        ("CFL_GATEWAY_URL", gw.base_url()),
        ("CFL_ADMIN_TOKEN", fresh),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = run(
        elsewhere.path(),
        &["audit", "list", "--kind", "admin", "--json"],
        &env,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let records: Value = serde_json::from_slice(&out.stdout).unwrap();
    let actors: Vec<&str> = records
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"] == "admin_token.create")
        .filter_map(|r| r["actor"].as_str())
        .collect();
    assert!(
        actors.contains(&"cfl serve --new-admin-token")
            && actors.contains(&"cfl serve (first start)"),
        "both admin tokens' creation is audited: {records}"
    );
    let out = run(elsewhere.path(), &["audit", "verify"], &env);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn audit_verify_refuses_a_store_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/file.sqlite");
    let store = format!("sqlite:{}", missing.display());
    let out = run(dir.path(), &["audit", "verify", "--store", &store], &[]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{}", text(&out.stdout));
    assert!(
        err.contains("no store at") && err.contains(&missing.display().to_string()),
        "{err}"
    );
    assert!(!text(&out.stdout).contains("intact"));
    assert!(!missing.exists());
    let out = run(
        dir.path(),
        &["audit", "verify", "--store", "sqlite:nope.sqlite"],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        !dir.path().join("nope.sqlite").exists(),
        "no empty store is created"
    );
}

/// Runs `cfl serve` on a terminal (a pseudo-terminal from `script`) for two seconds; its output.
fn serve_on_a_terminal(config: &Path, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("script");
    cmd.args(["-qec"])
        .arg(format!(
            "timeout -s INT 2 {CFL} serve --config {}",
            config.display()
        ))
        .arg("/dev/null")
        .env("CFL_LOG", "info")
        .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    text(&cmd.output().expect("script (util-linux) runs").stdout)
}

#[test]
fn logs_are_coloured_only_on_a_terminal_and_never_with_no_color() {
    let sim = Sim::example("sim-dc.toml", "");
    let (_dir, config) = config_dir(&sim.base_url, "keys/demo-consumer.key.pem");
    const ESC: char = '\u{1b}';

    // stderr a pipe: plain text.
    let mut child = Command::new(CFL)
        .args(["serve", "--config"])
        .arg(&config)
        .env("CFL_LOG", "info")
        .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut logged = String::new();
    while !logged.contains("gateway listening") {
        if stderr.read_line(&mut logged).unwrap() == 0 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    assert!(logged.contains("gateway listening"), "{logged}");
    assert!(
        !logged.contains(ESC),
        "no colour codes in a pipe: {logged:?}"
    );

    // On a terminal: colour, unless NO_COLOR says no.
    let tty = serve_on_a_terminal(&config, &[]);
    assert!(tty.contains("gateway listening"), "{tty}");
    assert!(tty.contains(ESC), "colour on a terminal: {tty:?}");
    let tty = serve_on_a_terminal(&config, &[("NO_COLOR", "1")]);
    assert!(tty.contains("gateway listening"), "{tty}");
    assert!(!tty.contains(ESC), "NO_COLOR: {tty:?}");
}

#[tokio::test]
async fn a_browser_at_the_root_goes_to_the_admin_page_and_api_clients_keep_the_401() {
    let sim = Sim::example("sim-dc.toml", "");
    let (identity, env) = static_identity();
    let gw = Gateway::start(&sim, identity, "", &env);
    let chrome_html =
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
    for (path, accept) in [
        ("/", chrome_html),
        ("/favicon.ico", "image/avif,image/webp,image/apng,*/*;q=0.8"),
    ] {
        let r = http()
            .get(gw.url(path))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "{path}");
        assert_eq!(r.headers()["location"], "/admin/", "{path}");
        assert!(r.headers().get("www-authenticate").is_none(), "{path}");
    }
    // curl, scripts, JSON clients: the proxy's refusal as before.
    for accept in [None, Some("*/*"), Some("application/json")] {
        let mut req = http().get(gw.url("/"));
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{accept:?}");
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("Basic"));
    }
    // With a token, the root is Confluence's, browser or not.
    let (_, secret) = gw.create_token(token_request("svc-reports")).await;
    let r = http()
        .get(gw.url("/"))
        .header("accept", chrome_html)
        .header("authorization", basic("svc-reports", &secret))
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.headers().get("location").map(|l| l.as_bytes()),
        Some(&b"/admin/"[..])
    );
}

#[test]
fn token_create_without_a_user_names_the_cli_flag() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = Gateway::start(
        &sim,
        "mode = \"oauth1-impersonation\"\nconsumer_key = \"cfl-gateway\"\nprivate_key_file = \"keys/demo-consumer.key.pem\"",
        "",
        &[],
    );
    let out = Command::new(CFL)
        .args(["token", "create", "--label", "no user"])
        .env("CFL_GATEWAY_URL", &gw.base_url)
        .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--user"), "{err}");
    assert!(
        !err.contains("userName"),
        "API field names are not the CLI's: {err}"
    );
}

#[test]
fn audit_filters_with_a_fixed_set_of_values_are_checked_by_the_parser() {
    let out = Command::new(CFL)
        .args(["audit", "list", "--decision", "nope"])
        .env("CFL_GATEWAY_URL", "http://127.0.0.1:9")
        .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("allow") && err.contains("deny"), "{err}");
    let out = Command::new(CFL)
        .args(["audit", "list", "--kind", "other"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("proxy"), "{}", text(&out.stderr));
}

#[test]
fn the_readme_gateway_command_leaves_nothing_untracked() {
    let repo = examples_dir().join("..");
    for path in [
        "examples/cfl-gateway.sqlite",
        "examples/cfl-gateway.sqlite-wal",
        "examples/cfl-gateway.sqlite.audit-journal/lock",
        "cfl-gateway.sqlite.audit-journal/00000000000000000001.jsonl",
    ] {
        let Ok(out) = Command::new("git")
            .args(["check-ignore", "-q", "--no-index", path])
            .current_dir(&repo)
            .output()
        else {
            eprintln!("skipping: git is not installed");
            return;
        };
        assert!(
            out.status.success(),
            "{path} is ignored by .gitignore: {}",
            text(&out.stderr)
        );
    }
}
