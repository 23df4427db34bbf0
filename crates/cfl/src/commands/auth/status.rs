//! `cfl auth status` (who every profile is, verified against the server, token expiry where
//! known), `cfl auth token` and `cfl auth refresh`.

use std::process::ExitCode;

use cfl_client::config::{config_dir, Config};
use cfl_client::credentials::{self, Credential, Source};
use cfl_client::{identity, Client, ClientOptions};
use serde_json::{json, Value};

use crate::commands::Globals;
use crate::runtime::runtime;

#[derive(clap::Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

fn source_text(c: &Credential, dir: &std::path::Path) -> String {
    match &c.source {
        Source::Env => "environment variables".into(),
        Source::Store(s) => s.describe(dir),
        Source::Login => "not saved".into(),
    }
}

/// Who the credential is, and when its access token expires (after any renewal on the way).
async fn check(
    c: Credential,
    opts: &ClientOptions,
) -> (anyhow::Result<identity::Identity>, Option<i64>) {
    let client = match Client::new(c, opts) {
        Ok(c) => c,
        Err(e) => return (Err(e.into()), None),
    };
    let who = identity::whoami(&client).await.map_err(Into::into);
    (who, client.expires_at().await)
}

use cfl_client::login::fmt_time;

pub async fn run(a: StatusArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let dir = config_dir()?;
    let config = Config::load(&dir)?;
    let env_profile = std::env::var("CFL_PROFILE").ok().filter(|s| !s.is_empty());
    let env_cred = if g.profile.is_none() {
        credentials::from_env()?
    } else {
        None
    };
    // The credential commands would use: env (unless --profile) else the picked profile.
    let current = if env_cred.is_some() {
        None
    } else {
        config.pick(g.profile.as_deref().or(env_profile.as_deref()))
    };
    let mut entries: Vec<Value> = Vec::new();
    let mut current_ok = env_cred.is_some() || current.is_some();
    if env_cred.is_none() && current.is_none() && config.profiles.is_empty() {
        anyhow::bail!("not logged in: run `cfl auth login`, or set CONFLUENCE_URL and a token (see `cfl auth login --help`)");
    }
    if let Some(c) = env_cred {
        let mut e = json!({"name": "(environment)", "current": true, "site": c.api_base.as_str(),
            "api_base": c.api_base.as_str(), "deployment": c.deployment.as_str(),
            "method": c.method.as_str(), "secret_store": source_text(&c, &dir)});
        let opts = ClientOptions {
            verbose: g.verbose,
            ..Default::default()
        };
        match check(c, &opts).await.0 {
            Ok(id) => e["user"] = json!(id),
            Err(err) => {
                e["error"] = json!(format!("{err:#}"));
                current_ok = false;
            }
        }
        entries.push(e);
    }
    for (name, p) in &config.profiles {
        let is_current = current.as_deref() == Some(name.as_str());
        let mut e = json!({"name": name, "current": is_current, "active": config.active.as_deref() == Some(name.as_str()),
            "site": p.site, "api_base": p.api_base, "deployment": p.deployment.as_str(), "method": p.method.as_str()});
        let result = match credentials::from_profile(&dir, name, p) {
            Ok(c) => {
                e["secret_store"] = json!(source_text(&c, &dir));
                let opts = g.client_options(Some(p));
                let (who, expires) = check(c, &opts).await;
                if let Some(x) = expires {
                    e["expires_at"] = json!(fmt_time(x));
                }
                who
            }
            Err(err) => {
                e["secret_store"] = json!("none");
                Err(err.into())
            }
        };
        match result {
            Ok(id) => e["user"] = json!(id),
            Err(err) => {
                e["error"] = json!(format!("{err:#}"));
                if is_current {
                    current_ok = false;
                }
            }
        }
        entries.push(e);
    }
    if let Some(name) = &current {
        if !config.profiles.contains_key(name) {
            current_ok = false;
            entries.push(json!({"name": name, "current": true, "error": format!("no profile named {name:?}")}));
        }
    }
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"profiles": entries}))?
        );
    } else {
        print_entries(&entries);
    }
    Ok(if current_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The profiles as a person reads them.
fn print_entries(entries: &[Value]) {
    for e in entries {
        let mark = if e["current"] == true { "*" } else { " " };
        println!(
            "{mark} {}  {}",
            e["name"].as_str().unwrap_or(""),
            e["site"].as_str().unwrap_or("")
        );
        println!(
            "    deployment: {}   method: {}",
            e["deployment"].as_str().unwrap_or("?"),
            e["method"].as_str().unwrap_or("?")
        );
        println!(
            "    secret: {}",
            e["secret_store"].as_str().unwrap_or("none")
        );
        if let Some(x) = e["expires_at"].as_str() {
            println!("    expires: {x} (renewed automatically)");
        }
        match (&e["user"], e["error"].as_str()) {
            (Value::Object(u), _) => println!(
                "    ✓ logged in as {} ({})",
                u["display_name"].as_str().unwrap_or(""),
                u["login"].as_str().unwrap_or("")
            ),
            (_, Some(err)) => println!("    ✗ {}", err.replace('\n', "\n      ")),
            _ => {}
        }
    }
}

pub fn token(g: &Globals) -> anyhow::Result<ExitCode> {
    let dir = config_dir()?;
    let (cred, profile) = credentials::resolve(&dir, g.profile.as_deref())?;
    // A bearer is renewed first when it is about to expire; methods that sign or send a cookie
    // per request say why they have no header to give.
    let client = Client::new(cred, &g.client_options(profile.as_ref()))?;
    println!("{}", runtime()?.block_on(client.reusable_header())?);
    Ok(ExitCode::SUCCESS)
}

/// `cfl auth refresh`: renews the access token (or session) now and saves it.
pub async fn refresh(g: &Globals) -> anyhow::Result<ExitCode> {
    let dir = config_dir()?;
    let (cred, profile) = credentials::resolve(&dir, g.profile.as_deref())?;
    let name = cred
        .profile
        .clone()
        .unwrap_or_else(|| "(environment)".into());
    let client = Client::new(cred, &g.client_options(profile.as_ref()))?;
    client.refresh().await?;
    match client.expires_at().await {
        Some(x) => eprintln!(
            "Renewed profile {name:?}; the access token now expires at {}.",
            fmt_time(x)
        ),
        None => eprintln!("Renewed profile {name:?}."),
    }
    Ok(ExitCode::SUCCESS)
}
