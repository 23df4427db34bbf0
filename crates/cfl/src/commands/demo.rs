//! `cfl serve --demo`: the gateway in front of an embedded Confluence DC simulator, a throw-away
//! SQLite store, a bound token for the passwordless service account, and commands to paste.
//! The simulator config and demo keys are compiled in, so it works from any directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;

use crate::shutdown::wait_for_signal;

const SIM_CONFIG: &str = include_str!("../../../../examples/sim-dc.toml");
const DEMO_PUBLIC_KEY: &str = include_str!("../../../../examples/keys/demo-consumer.pub.pem");
const DEMO_PRIVATE_KEY: &str = include_str!("../../../../examples/keys/demo-consumer.key.pem");
const OTHER_PUBLIC_KEY: &str = include_str!("../../../../examples/keys/other-consumer.pub.pem");

pub async fn run(listen: Option<SocketAddr>) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("cannot create a temporary directory for the demo")?;
    let sim_path = write_demo_files(dir.path())?;
    let sim_config = cfl_sim::SimConfig::load(&sim_path)?;
    let sim = cfl_sim::start(sim_config, "127.0.0.1:0".parse()?).await?;

    let admin_env = std::env::var("CFL_ADMIN_TOKEN")
        .ok()
        .filter(|s| !s.is_empty());
    let (gw, moved_from) =
        start_gateway(dir.path(), listen, &sim.base_url, admin_env.clone()).await?;
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

/// Starts the gateway in front of the simulator. Without `--listen` a taken default port moves
/// the gateway to any free port rather than failing the demo; the taken address is returned.
async fn start_gateway(
    dir: &Path,
    listen: Option<SocketAddr>,
    upstream: &str,
    admin_env: Option<String>,
) -> anyhow::Result<(cfl_gateway::server::RunningGateway, Option<SocketAddr>)> {
    let store = format!("sqlite:{}", dir.join("gateway.sqlite").display());
    let gateway_toml = format!(
        r#"listen = "{listen}"
store = {store:?}
[upstream]
url = {upstream:?}
flavor = "dc"
[upstream.identity]
mode = "oauth1-impersonation"
consumer_key = "cfl-gateway"
private_key_file = "keys/demo-consumer.key.pem"
"#,
        listen = listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080))),
    );
    let gateway_path = dir.join("gateway.toml");
    std::fs::write(&gateway_path, &gateway_toml)?;
    let mut config = cfl_gateway::config::GatewayConfig::load(&gateway_path)?;
    match cfl_gateway::server::start(config.clone(), admin_env.clone()).await {
        Ok(gw) => Ok((gw, None)),
        // The failed start opened nothing else, so starting again is safe.
        Err(e)
            if listen.is_none()
                && e.downcast_ref::<cfl_gateway::server::ListenError>()
                    .is_some_and(|l| l.io.kind() == std::io::ErrorKind::AddrInUse) =>
        {
            let taken = config.listen;
            config.listen = "127.0.0.1:0".parse()?;
            let gw = cfl_gateway::server::start(config, admin_env).await?;
            Ok((gw, Some(taken)))
        }
        Err(e) => Err(e),
    }
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
    } = demo;
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
  Web admin page                      {base}/admin/   (sign in with the admin token)
  Admin token                         {admin_token}
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
