//! `cfl gateway login|whoami|logout` against the real binary: `cfl serve` with `[admin.oidc]`
//! pointing at a `cfl sim` that plays the identity provider. The browser is played by an HTTP
//! client that follows the printed URL, fills the simulator's login form and follows the
//! redirects back to cfl's loopback listener. The session lands in a file secret store in a
//! temporary config dir (no keychain on Linux), which `cfl token` and `cfl audit` then use.

mod common;
use common::gateway::*;
use common::*;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const TENANT: &str = "7d3e4b2a-1c5f-4e8d-9a6b-0f2c4d6e8a1b";
const ADMINS: &str = "3f2b6c1e-9d4a-4e7b-8c5d-1a2b3c4d5e01";
const TOKEN_MANAGERS: &str = "3f2b6c1e-9d4a-4e7b-8c5d-1a2b3c4d5e02";
const AUDITORS: &str = "3f2b6c1e-9d4a-4e7b-8c5d-1a2b3c4d5e03";

/// A loopback port free right now (the provider must know the gateway's callback URL before
/// the gateway starts, so the gateway cannot pick its own).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The simulator (examples/sim-dc.toml, whose `[oidc]` has Ada the admin, Tom the token manager
/// and Audrey the auditor) with the gateway's callback registered, and the gateway in front of it.
fn start_pair() -> (Sim, Gateway) {
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/admin/oidc/callback");
    let sim_toml = read_example("sim-dc.toml").replace(
        "\"http://127.0.0.1:8080/admin/oidc/callback\"",
        &format!("{callback:?}"),
    );
    let sim = Sim::start(&sim_toml);
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("gw.sqlite").display());
    let (identity, identity_env) = static_identity();
    let config = format!(
        "listen = \"127.0.0.1:{port}\"\nstore = {store:?}\n\
         [admin.oidc]\nissuer = \"{sim}/{TENANT}/v2.0\"\nclient_id = \"cfl-gateway-demo\"\n\
         client_secret_env = \"TEST_OIDC_SECRET\"\nprovider_name = \"Simulated Entra ID\"\n\
         redirect_url = {callback:?}\n\
         [admin.oidc.roles]\nadmin = [\"{ADMINS}\"]\ntoken_manager = [\"{TOKEN_MANAGERS}\"]\n\
         auditor = [\"{AUDITORS}\"]\n\
         [upstream]\nurl = \"{sim}\"\n[upstream.identity]\n{identity}\n",
        sim = sim.base_url
    );
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, config).unwrap();
    let mut env = vec![("TEST_OIDC_SECRET", "cfl-gateway-demo-secret")];
    env.extend(identity_env);
    let gw = Gateway::spawn(dir, path, store, &env);
    (sim, gw)
}

/// `cfl ARGS` as an admin without an admin token: only the session in `config_dir`.
fn cfl(config_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(CFL);
    cmd.args(args)
        .env_remove("CFL_ADMIN_TOKEN")
        .env_remove("CFL_GATEWAY_URL")
        .env_remove("BROWSER")
        .env("CFL_CONFIG_DIR", config_dir);
    cmd
}

fn run(config_dir: &Path, args: &[&str]) -> Output {
    cfl(config_dir, args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A browser for the sign-in: follows redirects by hand and keeps cookies (by name: the gateway
/// and the simulator share the host 127.0.0.1, and cookies ignore ports).
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: http(),
            cookies: HashMap::new(),
        }
    }

    async fn request(
        &mut self,
        method: reqwest::Method,
        url: &str,
        form: Option<&[(String, String)]>,
    ) -> reqwest::Response {
        let mut req = self.http.request(method, url);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header("Cookie", jar.join("; "));
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        for c in resp.headers().get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.insert(k.trim().to_string(), v.to_string());
        }
        resp
    }

    /// Follows redirects from `url` (after a POST: GET, as browsers do); returns the last URL
    /// and its answer.
    async fn follow(
        &mut self,
        url: &str,
        mut form: Option<Vec<(String, String)>>,
    ) -> (String, reqwest::Response) {
        let mut url = url.to_string();
        for _ in 0..10 {
            let method = if form.is_some() {
                reqwest::Method::POST
            } else {
                reqwest::Method::GET
            };
            let resp = self.request(method, &url, form.take().as_deref()).await;
            if !resp.status().is_redirection() {
                return (url, resp);
            }
            let location = resp.headers()["location"].to_str().unwrap().to_string();
            url = url::Url::parse(&url)
                .unwrap()
                .join(&location)
                .unwrap()
                .to_string();
        }
        panic!("more than 10 redirects from {url}");
    }

    /// Signs in at the gateway's sign-in `url` as `user`; returns the final page's URL, status
    /// and body.
    async fn sign_in(&mut self, url: &str, user: &str, password: &str) -> (String, u16, String) {
        let (form_url, page) = self.follow(url, None).await;
        assert_eq!(
            page.status(),
            200,
            "the provider's login form at {form_url}"
        );
        let html = page.text().await.unwrap();
        assert!(
            html.contains("name=\"password\""),
            "not a login form: {html}"
        );
        let mut fields = hidden_fields(&html);
        fields.push(("username".into(), user.into()));
        fields.push(("password".into(), password.into()));
        let (last, resp) = self.follow(&form_url, Some(fields)).await;
        let status = resp.status().as_u16();
        (last, status, resp.text().await.unwrap_or_default())
    }
}

/// The login form's `<input type="hidden" name=… value=…>` fields.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let unescape = |s: &str| {
        s.replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let len = tag[start..].find('"')?;
        Some(unescape(&tag[start..start + len]))
    };
    html.split("<input")
        .skip(1)
        .map(|t| &t[..t.find('>').unwrap_or(t.len())])
        .filter(|t| t.contains("type=\"hidden\""))
        .filter_map(|t| Some((attr(t, "name")?, attr(t, "value")?)))
        .collect()
}

/// Runs `cfl gateway login --no-browser`, signs in at the URL it prints as `user`, and returns
/// the command's output.
async fn login(config_dir: &Path, gateway: &str, user: &str, password: &str) -> (Output, String) {
    let mut child = cfl(
        config_dir,
        &[
            "gateway",
            "login",
            "--no-browser",
            // The file store on every platform, so the test can look inside it.
            "--insecure-storage",
            "--gateway",
            gateway,
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    let url = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "cfl gateway login printed no URL: {said}"
        );
        said.push_str(&line);
        if let Some(url) = line.trim().strip_prefix("http://") {
            break format!("http://{url}");
        }
    };
    assert!(
        said.contains("Simulated Entra ID"),
        "names the provider: {said}"
    );
    let (last, status, body) = Browser::new().sign_in(&url, user, password).await;
    assert!(
        last.starts_with("http://127.0.0.1:") && last.contains("/callback?"),
        "ends at cfl's listener: {last}"
    );
    assert_eq!(status, 200, "cfl's listener: {body}");
    let rest = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        rest
    })
    .await
    .unwrap();
    said.push_str(&rest);
    let out = child.wait_with_output().unwrap();
    (out, said)
}

/// The stored session secret, read from the file store (to check it from outside).
fn stored_secret(config_dir: &Path, gateway: &str) -> String {
    let text = std::fs::read_to_string(config_dir.join("secrets.toml")).expect("secrets.toml");
    let map: HashMap<String, String> = toml::from_str(&text).unwrap();
    let json = map
        .get(&format!("gateway-session:{gateway}"))
        .unwrap_or_else(|| panic!("no session for {gateway}: {:?}", map.keys()));
    let v: Value = serde_json::from_str(json).unwrap();
    assert!(
        v["expires_at"].as_i64().unwrap() > 0,
        "kept with its expiry"
    );
    v["session"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_gives_token_commands_a_session_and_logout_revokes_it() {
    let (_sim, gw) = start_pair();
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path();

    let (out, said) = login(cfg, &gw.base_url, "tom@example.com", "tom-demo").await;
    assert!(out.status.success(), "cfl gateway login: {said}");
    assert!(
        said.contains("Signed in to")
            && said.contains("Tom Tokenmanager")
            && said.contains("token-manager"),
        "{said}"
    );
    let secret = stored_secret(cfg, &gw.base_url);
    assert!(
        !said.contains(&secret),
        "the session secret is never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cfg.join("secrets.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the session is kept private");
    }

    // whoami: the gateway's view of the session.
    let who = run(cfg, &["gateway", "whoami", "--gateway", &gw.base_url]);
    let who_text = text(&who.stdout);
    assert!(who.status.success(), "{}", text(&who.stderr));
    assert!(
        who_text.contains("Tom Tokenmanager")
            && who_text.contains("token-manager")
            && who_text.contains("oidc"),
        "{who_text}"
    );

    // The token commands use the session: create, list, revoke.
    let created = run(
        cfg,
        &[
            "token",
            "create",
            "--gateway",
            &gw.base_url,
            "--label",
            "made by tom",
            "--json",
        ],
    );
    assert!(
        created.status.success(),
        "token create: {}",
        text(&created.stderr)
    );
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let id = created["token"]["id"].as_str().unwrap().to_string();
    let list = run(cfg, &["token", "list", "--gateway", &gw.base_url]);
    assert!(list.status.success(), "token list: {}", text(&list.stderr));
    assert!(text(&list.stdout).contains(&id), "{}", text(&list.stdout));
    let revoked = run(cfg, &["token", "revoke", "--gateway", &gw.base_url, &id]);
    assert!(
        revoked.status.success(),
        "token revoke: {}",
        text(&revoked.stderr)
    );

    // A token manager may not read the audit log: the refusal names the role.
    let audit = run(cfg, &["audit", "list", "--gateway", &gw.base_url]);
    assert!(!audit.status.success());
    let why = text(&audit.stderr);
    assert!(
        why.contains("your role (token-manager) may not do this"),
        "{why}"
    );

    // The audit log (read with the bootstrap admin token) names Tom for his actions.
    let records = gw.audit("kind=admin&limit=50").await;
    assert!(
        records.iter().any(|r| r["actor"]
            .as_str()
            .unwrap_or("")
            .contains("Tom Tokenmanager")
            || r["actor"]
                .as_str()
                .unwrap_or("")
                .contains("tom@example.com")),
        "Tom's admin actions carry his name: {records:?}"
    );

    // Logout revokes the session on the gateway and forgets it here.
    let out = run(cfg, &["gateway", "logout", "--gateway", &gw.base_url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("revoked"),
        "{}",
        text(&out.stderr)
    );
    let after = http()
        .get(gw.url("/admin/v1/session"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "the revoked session is refused");
    let list = run(cfg, &["token", "list", "--gateway", &gw.base_url]);
    assert!(!list.status.success());
    assert!(
        text(&list.stderr).contains("run `cfl gateway login"),
        "{}",
        text(&list.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auditor_reads_the_audit_log_but_may_not_create_tokens() {
    let (_sim, gw) = start_pair();
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path();
    let (out, said) = login(cfg, &gw.base_url, "aud@example.com", "aud-demo").await;
    assert!(out.status.success(), "{said}");
    let audit = run(cfg, &["audit", "list", "--gateway", &gw.base_url]);
    assert!(audit.status.success(), "{}", text(&audit.stderr));
    let create = run(
        cfg,
        &[
            "token",
            "create",
            "--gateway",
            &gw.base_url,
            "--label",
            "nope",
        ],
    );
    assert!(!create.status.success());
    assert!(
        text(&create.stderr).contains("your role (auditor) may not do this"),
        "{}",
        text(&create.stderr)
    );
}

#[test]
fn without_a_session_or_admin_token_the_commands_say_to_log_in() {
    let home = tempfile::tempdir().unwrap();
    let out = run(
        home.path(),
        &["token", "list", "--gateway", "http://127.0.0.1:9"],
    );
    assert!(!out.status.success());
    let why = text(&out.stderr);
    assert!(
        why.contains("run `cfl gateway login --gateway http://127.0.0.1:9`")
            && why.contains("CFL_ADMIN_TOKEN"),
        "{why}"
    );
}

#[test]
fn an_expired_session_is_not_sent_and_says_to_log_in_again() {
    let home = tempfile::tempdir().unwrap();
    let session = serde_json::json!({"session": "cfl_sess_expired-secret", "expires_at": 1_000_000, "role": "admin", "name": "Ada"});
    let map: HashMap<String, String> = [(
        "gateway-session:http://127.0.0.1:9".to_string(),
        session.to_string(),
    )]
    .into();
    std::fs::write(
        home.path().join("secrets.toml"),
        toml::to_string(&map).unwrap(),
    )
    .unwrap();
    let out = run(
        home.path(),
        &["audit", "list", "--gateway", "http://127.0.0.1:9/"],
    );
    assert!(!out.status.success());
    let why = text(&out.stderr);
    assert!(
        why.contains("expired") && why.contains("cfl gateway login"),
        "{why}"
    );
    assert!(!why.contains("expired-secret"));
    // Logout forgets it without asking the gateway (it would refuse it anyway).
    let out = run(
        home.path(),
        &["gateway", "logout", "--gateway", "http://127.0.0.1:9"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !home.path().join("secrets.toml").exists(),
        "the session is forgotten"
    );
}

#[test]
fn login_to_a_gateway_without_oidc_says_so() {
    let sim = Sim::example("sim-dc.toml", "");
    let (identity, env) = static_identity();
    let gw = Gateway::start(&sim, identity, "", &env);
    let home = tempfile::tempdir().unwrap();
    let out = run(
        home.path(),
        &[
            "gateway",
            "login",
            "--no-browser",
            "--gateway",
            &gw.base_url,
        ],
    );
    assert!(!out.status.success());
    let why = text(&out.stderr);
    assert!(
        why.contains("offers no OpenID Connect sign-in") && why.contains("[admin.oidc]"),
        "{why}"
    );
}
