//! `cfl token import-extender --from URL [--dry-run]`: moves the tokens of Extender for
//! Confluence's "REST API Tokens" add-on into the gateway, so scripts keep working once they
//! point at it. Reads them with a Confluence admin's credentials from the add-on's own API
//! (`/rest/extender/1.0/tokenTools/get`, which answers with the secrets), then recreates each
//! through the gateway's admin API with the same secret (stored hashed from then on), label,
//! user, expiry, IP and rules. Rules are converted (`cfl_gateway::restrict::unanchored`): one
//! whose text had to change to mean the same is reported; one that can't mean the same is left
//! out and reported. Nothing is ever printed of a secret.
//!
//! Idempotent: a token whose secret the gateway already knows is reported, not created again.
//! Exit code 1 when a token that is still valid did not end up in the gateway.

use std::process::ExitCode;

use anyhow::Context;
use cfl_client::config::{config_dir, Method};
use cfl_client::credentials::{self, Credential, Source};
use cfl_client::{Client, Deployment};
use cfl_gateway::restrict::rule::split_lines;
use cfl_gateway::restrict::unanchored::{convert_line, Converted};
use clap::Args;
use serde_json::{json, Value};

use super::gateway_admin::{when, AdminClient, GatewayArgs, Refused};
use super::Globals;

/// The gateway's shortest admin-chosen secret (`token::MIN_CUSTOM_SECRET`).
const MIN_SECRET: usize = 20;
/// Tokens asked for per page of `tokenTools/get`.
const PAGE: usize = 50;

#[derive(Args)]
pub struct ImportArgs {
    /// The Confluence base URL where the add-on runs (with its context path, if any).
    #[arg(long, value_name = "URL")]
    from: String,
    /// Print the plan (one line per token) and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// A Confluence administrator's username, when no --profile is given; the password comes
    /// from CONFLUENCE_ADMIN_PASSWORD or is asked for.
    #[arg(long, env = "CONFLUENCE_ADMIN_USER", value_name = "USER")]
    admin_user: Option<String>,
}

/// One of the add-on's tokens, as `tokenTools/get` lists it.
struct ExtenderToken {
    label: String,
    user: String,
    secret: String,
    limit_to: String,
    ip: String,
    valid_until: i64,
}

/// What happens to one token.
enum Plan {
    /// Created as `body`; `notes` are the rule changes reported (empty: `create`, else `warn`).
    Create {
        body: Value,
        notes: Vec<String>,
    },
    Exists {
        id: String,
        status: String,
    },
    /// Not imported, and not a failure: the add-on refuses it too.
    Expired {
        at: i64,
    },
    /// Not imported: the reason, and what to do.
    Skip {
        why: String,
    },
}

pub fn run(gateway: &GatewayArgs, args: ImportArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let admin = AdminClient::new(gateway)?;
    let confluence = confluence_client(&args, g)?;
    crate::runtime::runtime()?.block_on(import(&admin, &confluence, &args))
}

async fn import(
    admin: &AdminClient,
    confluence: &Client,
    args: &ImportArgs,
) -> anyhow::Result<ExitCode> {
    let tokens = read_tokens(confluence, &args.from).await?;
    let now = cfl_gateway_now();
    if args.dry_run {
        println!(
            "Plan for {} Extender token(s) (dry run: nothing is written):",
            tokens.len()
        );
    }
    let mut failed = 0;
    for t in &tokens {
        let plan = plan(admin, t, now).await?;
        let name = &t.label;
        match plan {
            Plan::Exists { id, status } => {
                println!("skip-exists  {name}: already imported as {id} ({status})")
            }
            Plan::Expired { at } => println!(
                "skip         {name}: expired {} (not imported)",
                when(Some(at))
            ),
            Plan::Skip { why } => {
                failed += 1;
                println!("skip         {name}: {why}");
            }
            Plan::Create { body, notes } => {
                let action = if notes.is_empty() { "create" } else { "warn" };
                let outcome = if args.dry_run {
                    Ok(String::new())
                } else {
                    admin.post("/admin/v1/tokens", &body).await.map(|created| {
                        format!(" → {}", created["token"]["id"].as_str().unwrap_or("?"))
                    })
                };
                match outcome {
                    Ok(id) => println!("{action:<13}{name} ({}){id}", summary(&body)),
                    Err(e) => {
                        failed += 1;
                        println!("failed       {name}: {}", in_import_terms(&e));
                    }
                }
                for note in notes {
                    println!("               {note}");
                }
            }
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} token(s) not in the gateway: scripts using them will be refused there \
             until they are (see the lines above)"
        );
        return Ok(ExitCode::from(1));
    }
    if !args.dry_run {
        eprintln!(
            "Done. Point the scripts at the gateway: only their base URL changes \
             (Basic USER:TOKEN, the user's name or email, keeps working)."
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn cfl_gateway_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What becomes of `t`: asks the gateway whether its secret is already there.
async fn plan(admin: &AdminClient, t: &ExtenderToken, now: i64) -> anyhow::Result<Plan> {
    if t.valid_until > 0 && t.valid_until <= now {
        return Ok(Plan::Expired { at: t.valid_until });
    }
    if t.secret.chars().count() < MIN_SECRET
        || t.secret.contains(':')
        || t.secret.chars().any(char::is_whitespace)
    {
        return Ok(Plan::Skip {
            why: format!(
                "its secret is not one the gateway accepts (at least {MIN_SECRET} characters, \
                 no `:` or spaces): issue a new token with `cfl token create` and hand it over"
            ),
        });
    }
    match admin
        .post("/admin/v1/tokens/lookup", &json!({"token": t.secret}))
        .await
    {
        Ok(found) => {
            return Ok(Plan::Exists {
                id: found["id"].as_str().unwrap_or("?").to_string(),
                status: found["status"].as_str().unwrap_or("?").to_string(),
            })
        }
        Err(e) if e.downcast_ref::<Refused>().is_some_and(|r| r.status == 404) => {}
        Err(e) => return Err(e.context("asking the gateway whether the token is already there")),
    }
    let lines = split_lines(&t.limit_to);
    let mut rules = Vec::new();
    let mut notes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match convert_line(line) {
            Converted::Same(rule) => rules.push(rule),
            Converted::Rewritten { rule, why } => {
                notes.push(format!("rule {}: `{line}` becomes `{rule}`: {why}", i + 1));
                rules.push(rule);
            }
            Converted::Refused { why } => {
                notes.push(format!("rule {}: `{line}` left out: {why}", i + 1))
            }
        }
    }
    if !lines.is_empty() && rules.is_empty() {
        notes.insert(
            0,
            "none of its rules could be kept, and a token without rules allows everything"
                .to_string(),
        );
        return Ok(Plan::Skip {
            why: notes.join("; "),
        });
    }
    let ips: Vec<&str> =
        t.ip.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
    let body = json!({
        "label": t.label,
        "user": Some(t.user.as_str()).filter(|u| !u.is_empty()),
        "expiresAt": Some(t.valid_until).filter(|v| *v > 0),
        "restrictions": rules,
        "ipAllowlist": ips,
        "token": t.secret,
    });
    Ok(Plan::Create { body, notes })
}

/// `user U, 2 rules, ip 10.0.0.1, expires …` of a create request.
fn summary(body: &Value) -> String {
    let mut parts = vec![format!("user {}", body["user"].as_str().unwrap_or("(any)"))];
    let rules = body["restrictions"].as_array().map_or(0, Vec::len);
    parts.push(match rules {
        0 => "no rules".to_string(),
        1 => "1 rule".to_string(),
        n => format!("{n} rules"),
    });
    if let Some(ips) = body["ipAllowlist"].as_array().filter(|a| !a.is_empty()) {
        let ips: Vec<&str> = ips.iter().filter_map(Value::as_str).collect();
        parts.push(format!("ip {}", ips.join(",")));
    }
    parts.push(format!("expires {}", when(body["expiresAt"].as_i64())));
    parts.join(", ")
}

/// A refusal of the gateway, said in terms of the import.
fn in_import_terms(e: &anyhow::Error) -> String {
    match e.downcast_ref::<Refused>() {
        Some(r) if r.code.as_deref() == Some("user_required") => {
            "the add-on's token is bound to no user, and this gateway acts upstream as each \
             token's user: issue tokens per user instead"
                .into()
        }
        _ => format!("{e:#}"),
    }
}

/// The admin's client for `--from`: the `--profile`'s credential (for that site), or Basic with
/// `--admin-user` and a password from the environment or the terminal.
fn confluence_client(args: &ImportArgs, g: &Globals) -> anyhow::Result<Client> {
    let from = url::Url::parse(&args.from)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .with_context(|| {
            format!(
                "--from {:?} is not an http(s) URL; give Confluence's base URL, e.g. \
                 https://confluence.example.com",
                args.from
            )
        })?;
    if let Some(name) = &g.profile {
        let (cred, profile) = credentials::resolve(&config_dir()?, Some(name))?;
        let same_site = cred.api_base.host() == from.host()
            && cred.api_base.port_or_known_default() == from.port_or_known_default();
        if !same_site {
            anyhow::bail!(
                "profile {name:?} is for {}, not {}: pass the profile of the Confluence where \
                 the add-on runs, or --admin-user",
                cred.api_base,
                args.from
            );
        }
        return Ok(Client::new(cred, &g.client_options(profile.as_ref()))?);
    }
    let Some(user) = args.admin_user.clone().filter(|u| !u.is_empty()) else {
        anyhow::bail!(
            "reading the add-on's tokens needs a Confluence administrator: pass --profile NAME \
             (a `cfl auth login` profile for {}), or --admin-user USER with the password in \
             CONFLUENCE_ADMIN_PASSWORD (or typed when asked)",
            args.from
        );
    };
    let password = match std::env::var("CONFLUENCE_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            rpassword::prompt_password(format!("Password of {user} on {}: ", args.from))?
        }
        _ => anyhow::bail!(
            "no password for {user}: set CONFLUENCE_ADMIN_PASSWORD (stdin is not a terminal \
             to ask on)"
        ),
    };
    let cred = Credential::new(
        Method::Basic,
        Deployment::DataCenter,
        args.from.trim_end_matches('/'),
        Some(user),
        password,
        Source::Env,
    )?;
    Ok(Client::new(cred, &g.client_options(None))?)
}

/// Every token of the add-on, page by page (older versions answer all at once, without `total`).
async fn read_tokens(client: &Client, from: &str) -> anyhow::Result<Vec<ExtenderToken>> {
    let base = from.trim_end_matches('/');
    let mut tokens = Vec::new();
    loop {
        let url = format!(
            "{base}/rest/extender/1.0/tokenTools/get?startAt={}&maxResults={PAGE}",
            tokens.len()
        );
        let r = client.send("GET", &url, &[], None).await?;
        if !r.is_success() {
            let why = match r.status {
                404 => format!(
                    "the Extender add-on does not answer at {base}/rest/extender/1.0/tokenTools/get: \
                     is it installed, and is --from Confluence's base URL (with its context path)?"
                ),
                401 => client.explain(&r),
                403 => "only Confluence administrators may read the add-on's tokens: use an \
                        administrator's credentials"
                    .to_string(),
                s => format!("the add-on answered HTTP {s} {}", r.reason),
            };
            anyhow::bail!("cannot read the Extender tokens: {why}");
        }
        let page: Value = r.json().context("the add-on's token list is not JSON")?;
        let items = page["tokens"]
            .as_array()
            .context("the add-on's answer has no `tokens` list")?;
        for t in items {
            let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
            tokens.push(ExtenderToken {
                label: s("label"),
                user: s("user"),
                secret: s("token"),
                limit_to: s("limitTo"),
                ip: s("ip"),
                valid_until: t["validUntil"].as_i64().unwrap_or(0),
            });
        }
        let total = page["total"].as_u64().map(|n| n as usize);
        if items.is_empty() || total.is_none_or(|n| tokens.len() >= n) {
            return Ok(tokens);
        }
    }
}
