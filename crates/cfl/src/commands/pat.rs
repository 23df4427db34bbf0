//! `cfl pat list|create|revoke`: Data Center personal access tokens (`/rest/pat/latest/tokens`)
//! of the profile's user, and `cfl pat create --for USER`, which mints a real PAT for another —
//! possibly passwordless — account by acting as it through an OAuth 1.0a application link
//! (two-legged, `xoauth_requestor_id=USER`). A raw token is printed once, to stdout, and nowhere
//! else.

use std::process::ExitCode;

use anyhow::Context;
use cfl_client::config::{config_dir, Method};
use cfl_client::content::Content;
use cfl_client::credentials::{self, Credential};
use cfl_client::http::Response;
use cfl_client::{Client, Deployment};
use clap::{Args, Subcommand};
use serde_json::Value;

use super::Globals;
use crate::runtime::runtime;

/// Confluence's defaults (`atlassian.pats.max.tokens.per.user`, `…max.tokens.expiry.days`),
/// quoted when the server refuses.
const MAX_TOKENS: u32 = 10;
const MAX_DAYS: i64 = 365;

#[derive(Args)]
pub struct PatArgs {
    #[command(subcommand)]
    command: PatCommand,
}

#[derive(Subcommand)]
enum PatCommand {
    /// List your personal access tokens (never their secrets).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a token; the raw token is printed once.
    Create {
        /// Token name (at most 40 characters on a default Confluence).
        #[arg(long)]
        name: String,
        /// Days until it expires (1–365 on a default Confluence); omit for a token that never
        /// expires, where the server allows it.
        #[arg(long)]
        days: Option<i64>,
        /// Mint it for another user through the profile's OAuth 1.0a application link
        /// (needs an oauth1-impersonation profile).
        #[arg(long = "for", value_name = "USER")]
        for_user: Option<String>,
        /// Print the full JSON answer (including the token).
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id (see `cfl pat list`).
    Revoke {
        /// The token's numeric id.
        id: u64,
        /// Revoke a token of USER through the OAuth 1.0a application link.
        #[arg(long = "for", value_name = "USER")]
        for_user: Option<String>,
    },
}

pub fn run(a: PatArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(run_async(a, g))
}

fn client_for(g: &Globals, for_user: Option<&str>) -> anyhow::Result<Client> {
    let dir = config_dir()?;
    let (mut cred, profile) = credentials::resolve(&dir, g.profile.as_deref())?;
    if cred.deployment != Deployment::DataCenter {
        anyhow::bail!(
            "personal access tokens exist on Confluence Data Center only; this profile is {} \
             (Cloud uses API tokens: https://id.atlassian.com/manage-profile/security/api-tokens)",
            cred.deployment
        );
    }
    if let Some(user) = for_user {
        cred = as_user(cred, user)?;
    }
    Ok(Client::new(cred, &g.client_options(profile.as_ref()))?)
}

/// The same application link, acting as `user`. Only an `oauth1-impersonation` profile can: the
/// PAT API always creates a token for the caller, so the caller must *be* that user.
fn as_user(mut cred: Credential, user: &str) -> anyhow::Result<Credential> {
    if cred.method != Method::Oauth1Impersonation {
        anyhow::bail!(
            "--for needs a profile that can act as another user: log in with \
             `cfl auth login --method oauth1-impersonation --consumer-key KEY --private-key FILE --as ADMIN_OR_ANY_USER` \
             (an application link with 2-legged impersonation allowed); this profile uses {}",
            cred.method
        );
    }
    if user.trim().is_empty() {
        anyhow::bail!("--for needs a username");
    }
    cred.oauth.insert("as_user".into(), user.to_string());
    cred.login = Some(user.to_string());
    Ok(cred)
}

/// The server's reason (`{"error": …}` from the PAT API, or Confluence's `message`).
fn reason(r: &Response) -> String {
    let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    v["error"]
        .as_str()
        .or(v["message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{} {}", r.status, r.reason))
}

fn refused(client: &Client, r: &Response, what: &str, for_user: Option<&str>) -> anyhow::Error {
    let why = reason(r);
    let mut msg = format!("{what} failed: HTTP {} {}: {why}", r.status, r.reason);
    match r.status {
        403 if why.to_ascii_lowercase().contains("limit") => msg.push_str(&format!(
            "\nConfluence allows {MAX_TOKENS} tokens per user by default \
             (atlassian.pats.max.tokens.per.user): revoke one with `cfl pat revoke ID`{}.",
            for_user.map(|u| format!(" --for {u}")).unwrap_or_default()
        )),
        400 if why.contains("expirationDuration") => msg.push_str(&format!(
            "\nPass --days between 1 and the server's maximum ({MAX_DAYS} by default, \
             atlassian.pats.max.tokens.expiry.days)."
        )),
        401 => {
            msg = format!("{what} failed: {}", client.explain(r));
        }
        _ => {}
    }
    cfl_client::Error::Http {
        status: r.status,
        explanation: msg,
    }
    .into()
}

async fn run_async(a: PatArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    match a.command {
        PatCommand::List { json } => {
            let client = client_for(g, None)?;
            let r = Content::new(&client).pat_list().await?;
            if !r.is_success() {
                return Err(refused(&client, &r, "listing tokens", None));
            }
            let v = r.json()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(ExitCode::SUCCESS);
            }
            let items = v.as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                eprintln!("No personal access tokens.");
                return Ok(ExitCode::SUCCESS);
            }
            let s = |t: &Value, k: &str| t[k].as_str().unwrap_or("-").to_string();
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|t| {
                    vec![
                        t["id"].to_string(),
                        s(t, "name"),
                        s(t, "createdAt"),
                        t["expiringAt"].as_str().unwrap_or("never").to_string(),
                        s(t, "lastAccessedAt"),
                    ]
                })
                .collect();
            super::gateway_admin::table(&["ID", "NAME", "CREATED", "EXPIRES", "LAST USED"], &rows);
            Ok(ExitCode::SUCCESS)
        }
        PatCommand::Create {
            name,
            days,
            for_user,
            json,
        } => {
            if name.trim().is_empty() {
                anyhow::bail!("--name must not be empty");
            }
            // The upper bound is the server's setting (365 by default): it says so if exceeded.
            if days.is_some_and(|d| d < 1) {
                anyhow::bail!("--days must be at least 1 (omit it for a token that never expires, where allowed)");
            }
            let client = client_for(g, for_user.as_deref())?;
            let r = Content::new(&client).pat_create(&name, days).await?;
            if !r.is_success() {
                let what = match &for_user {
                    Some(u) => format!("creating a token for {u}"),
                    None => "creating a token".into(),
                };
                return Err(refused(&client, &r, &what, for_user.as_deref()));
            }
            let v = r.json()?;
            let raw = v["rawToken"]
                .as_str()
                .context("the server's answer has no rawToken")?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{raw}");
            }
            eprintln!(
                "Created token {} ({:?}) for {}{}. It is shown only this once; use it as \
                 `Authorization: Bearer TOKEN`.",
                v["id"],
                v["name"].as_str().unwrap_or(""),
                for_user.as_deref().unwrap_or("you"),
                v["expiringAt"]
                    .as_str()
                    .map(|e| format!(", expires {e}"))
                    .unwrap_or_else(|| ", never expires".into())
            );
            Ok(ExitCode::SUCCESS)
        }
        PatCommand::Revoke { id, for_user } => {
            let client = client_for(g, for_user.as_deref())?;
            let r = Content::new(&client).pat_revoke(&id.to_string()).await?;
            if !r.is_success() {
                return Err(refused(
                    &client,
                    &r,
                    &format!("revoking token {id}"),
                    for_user.as_deref(),
                ));
            }
            eprintln!("Revoked token {id}.");
            Ok(ExitCode::SUCCESS)
        }
    }
}
