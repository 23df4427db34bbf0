//! `cfl serve --demo`: the gateway in front of an embedded Confluence DC simulator, a throw-away
//! SQLite store, a bound token for the passwordless service account, and commands to paste.
//! The simulator config and demo keys are compiled in, so it works from any directory. The
//! simulator also plays the OpenID Connect provider admins sign in with (`[oidc]` in
//! examples/sim-dc.toml), its groups mapped to the gateway's three roles.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::shutdown::wait_for_signal;

const SIM_CONFIG: &str = include_str!("../../../../examples/sim-dc.toml");
const DEMO_PUBLIC_KEY: &str = include_str!("../../../../examples/keys/demo-consumer.pub.pem");
const DEMO_PRIVATE_KEY: &str = include_str!("../../../../examples/keys/demo-consumer.key.pem");
const OTHER_PUBLIC_KEY: &str = include_str!("../../../../examples/keys/other-consumer.pub.pem");

/// The demo client's secret at the simulated provider (published in examples/sim-dc.toml).
const OIDC_SECRET_ENV: &str = "CFL_DEMO_OIDC_CLIENT_SECRET";

pub async fn run(listen: Option<SocketAddr>) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory for the demo")?;
    let sim_path = write_demo_files(dir.path())?;
    let mut sim_config = cfl_sim::SimConfig::load(&sim_path)?;
    // The provider compares redirect URIs exactly, so the gateway's address is chosen first.
    let (listen, moved_from) = choose_listen(listen)?;
    let callback = format!("http://{}/admin/oidc/callback", browser_address(listen));
    let sign_in = sim_config.oidc.as_mut().map(|oidc| {
        for client in &mut oidc.clients {
            client.redirect_uris = vec![callback.clone()];
        }
        SignIn::from(&*oidc)
    });
    let sim = cfl_sim::start(sim_config, "127.0.0.1:0".parse()?).await?;

    let admin_env = std::env::var("CFL_ADMIN_TOKEN")
        .ok()
        .filter(|s| !s.is_empty());
    let oidc_toml = sign_in
        .as_ref()
        .map(|s| s.gateway_toml(&sim.base_url, &callback))
        .unwrap_or_default();
    let gw = start_gateway(
        dir.path(),
        listen,
        &sim.base_url,
        &oidc_toml,
        admin_env.clone(),
    )
    .await?;
    let admin_token = gw
        .generated_admin_token
        .clone()
        .or(admin_env)
        .context("no admin token available")?;
    let (secret, id) = create_demo_token(&gw.base_url, &admin_token).await?;
    print_instructions(&Demo {
        sim: &sim.base_url,
        base: &gw.base_url,
        moved_from,
        admin_token: &admin_token,
        secret: &secret,
        id: &id,
        sign_in: sign_in.as_ref(),
    });

    wait_for_signal().await?;
    gw.shutdown().await;
    sim.shutdown().await;
    drop(dir);
    Ok(ExitCode::SUCCESS)
}

/// The simulator config and the demo keys, written where the configs name them; returns the
/// simulator config's path.
fn write_demo_files(dir: &Path) -> anyhow::Result<PathBuf> {
    let keys = dir.join("keys");
    std::fs::create_dir_all(&keys)?;
    std::fs::write(keys.join("demo-consumer.pub.pem"), DEMO_PUBLIC_KEY)?;
    std::fs::write(keys.join("other-consumer.pub.pem"), OTHER_PUBLIC_KEY)?;
    std::fs::write(keys.join("demo-consumer.key.pem"), DEMO_PRIVATE_KEY)?;
    let sim_path = dir.join("sim.toml");
    std::fs::write(&sim_path, SIM_CONFIG)?;
    Ok(sim_path)
}

/// Where the gateway listens: `--listen`, else 127.0.0.1:8080, else (taken) any free port; and
/// the taken address it moved from.
fn choose_listen(listen: Option<SocketAddr>) -> anyhow::Result<(SocketAddr, Option<SocketAddr>)> {
    if let Some(l) = listen {
        return Ok((l, None));
    }
    let default = SocketAddr::from(([127, 0, 0, 1], 8080));
    if TcpListener::bind(default).is_ok() {
        return Ok((default, None));
    }
    let free = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    Ok((free, Some(default)))
}

/// The address a browser on this machine uses for `listen` (an unspecified one is loopback).
fn browser_address(listen: SocketAddr) -> SocketAddr {
    if listen.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], listen.port()))
    } else {
        listen
    }
}

/// Signing in through the simulated provider: its tenant, the group ids of the three roles and
/// the demo users to print.
struct SignIn {
    tenant: String,
    client_id: String,
    client_secret: String,
    admin: Vec<String>,
    token_manager: Vec<String>,
    auditor: Vec<String>,
    /// (username, password, role)
    users: Vec<(String, String, &'static str)>,
}

impl From<&cfl_sim::oidc::OidcConfig> for SignIn {
    fn from(oidc: &cfl_sim::oidc::OidcConfig) -> SignIn {
        let claim = |name: &str| {
            oidc.groups
                .iter()
                .filter(|g| g.name == name)
                .map(|g| match oidc.groups_claim {
                    cfl_sim::oidc::GroupsClaim::Ids => g.id.clone(),
                    cfl_sim::oidc::GroupsClaim::Names => g.name.clone(),
                })
                .collect::<Vec<_>>()
        };
        let role = |u: &cfl_sim::oidc::OidcUser| {
            [
                ("cfl-gateway-admins", "admin"),
                ("cfl-token-managers", "token-manager"),
                ("cfl-auditors", "auditor"),
            ]
            .into_iter()
            .find(|(group, _)| u.groups.iter().any(|g| g == group))
            .map(|(_, role)| role)
        };
        let client = oidc.clients.first();
        SignIn {
            tenant: oidc.tenant.clone(),
            client_id: client.map(|c| c.client_id.clone()).unwrap_or_default(),
            client_secret: client.map(|c| c.client_secret.clone()).unwrap_or_default(),
            admin: claim("cfl-gateway-admins"),
            token_manager: claim("cfl-token-managers"),
            auditor: claim("cfl-auditors"),
            users: oidc
                .users
                .iter()
                .filter_map(|u| Some((u.username.clone(), u.password.clone(), role(u)?)))
                .collect(),
        }
    }
}

impl SignIn {
    /// `[admin.oidc]` for the demo gateway; sets the client secret's variable in this process.
    fn gateway_toml(&self, sim: &str, callback: &str) -> String {
        // The secret is the example's published demo secret; the config names it by variable.
        std::env::set_var(OIDC_SECRET_ENV, &self.client_secret);
        format!(
            r#"[admin.oidc]
issuer = "{sim}/{tenant}/v2.0"
client_id = {client_id:?}
client_secret_env = "{OIDC_SECRET_ENV}"
provider_name = "the simulated Entra ID"
redirect_url = {callback:?}
[admin.oidc.roles]
admin = {admin:?}
token_manager = {token_manager:?}
auditor = {auditor:?}
"#,
            tenant = self.tenant,
            client_id = self.client_id,
            admin = self.admin,
            token_manager = self.token_manager,
            auditor = self.auditor,
        )
    }

    /// "ada@example.com / ada-demo (admin), …"
    fn accounts(&self) -> String {
        self.users
            .iter()
            .map(|(u, p, r)| format!("{u} / {p} ({r})"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Starts the gateway in front of the simulator, listening on `listen`.
async fn start_gateway(
    dir: &Path,
    listen: SocketAddr,
    upstream: &str,
    oidc_toml: &str,
    admin_env: Option<String>,
) -> anyhow::Result<cfl_gateway::server::RunningGateway> {
    let store = format!("sqlite:{}", dir.join("gateway.sqlite").display());
    let gateway_toml = format!(
        r#"listen = "{listen}"
store = {store:?}
{oidc_toml}
[upstream]
url = {upstream:?}
flavor = "dc"
[upstream.identity]
mode = "oauth1-impersonation"
consumer_key = "cfl-gateway"
private_key_file = "keys/demo-consumer.key.pem"
"#,
    );
    let gateway_path = dir.join("gateway.toml");
    std::fs::write(&gateway_path, &gateway_toml)?;
    let config = cfl_gateway::config::GatewayConfig::load(&gateway_path)?;
    cfl_gateway::server::start(config, admin_env).await
}

/// The demo's bound token for the passwordless service account: (secret, token id).
async fn create_demo_token(base: &str, admin_token: &str) -> anyhow::Result<(String, String)> {
    let http = reqwest::Client::builder().no_proxy().build()?;
    let created: serde_json::Value = http
        .post(format!("{base}/admin/v1/tokens"))
        .bearer_auth(admin_token)
        .json(&json!({
            "label": "reports integration (demo)",
            "user": "svc-reports",
            "daysUntilExpiry": 30,
            "restrictions": ["[get].*/rest/api/.*"],
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let secret = created["secret"].as_str().unwrap_or_default().to_string();
    let id = created["token"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok((secret, id))
}

struct Demo<'a> {
    sim: &'a str,
    base: &'a str,
    moved_from: Option<SocketAddr>,
    admin_token: &'a str,
    secret: &'a str,
    id: &'a str,
    sign_in: Option<&'a SignIn>,
}

/// One JSON line on stdout for scripts, the guided tour on stderr.
fn print_instructions(demo: &Demo<'_>) {
    let Demo {
        sim,
        base,
        moved_from,
        admin_token,
        secret,
        id,
        sign_in,
    } = demo;
    let sign_in = match sign_in {
        Some(s) => format!(
            "\n  Sign in on the admin page with the simulated Entra ID: {}\n",
            s.accounts()
        ),
        None => String::new(),
    };
    let moved = match moved_from {
        Some(taken) => format!(
            "\n  ({taken} is in use by another program, so the gateway listens on {base} instead.)\n"
        ),
        None => String::new(),
    };
    println!(
        "{}",
        json!({"event": "demo", "gateway": base, "admin_page": format!("{base}/admin/"), "confluence": sim, "admin_token": admin_token, "token": secret, "token_id": id})
    );
    eprintln!(
        r#"
cfl gateway demo — everything runs locally and is thrown away on exit (Ctrl-C).
{moved}
  Confluence (simulated Data Center)  {sim}
  Gateway                             {base}
  Web admin page                      {base}/admin/   (sign in with the admin token, or below)
  Admin token                         {admin_token}{sign_in}
  Token for svc-reports               {secret}
      a passwordless service account: it cannot log in or make a PAT, but this token lets it
      read (GET /rest/api/...) — the gateway acts as it upstream through OAuth 1.0a impersonation.

Try:
  curl -u svc-reports:{secret} {base}/rest/api/user/current
  curl -H 'Authorization: Bearer {secret}' '{base}/rest/api/space'
  curl -X POST -u svc-reports:{secret} {base}/rest/api/content -H 'content-type: application/json' -d '{{}}'   # 403 restricted
  curl -u intruder:{secret} {base}/rest/api/space                                                          # 401 wrong_user

Manage it:
  export CFL_GATEWAY_URL={base} CFL_ADMIN_TOKEN={admin_token}
  cfl token list
  cfl token create --label ci --user alice --days 7 --restrict '[get].*/rest/api/space.*'
  cfl token revoke {id}
  cfl audit list
  cfl audit verify
"#,
    );
}
