//! `cfl token create|list|show|revoke`: manage gateway tokens through the admin API
//! (`import-extender`: `token_import.rs`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::gateway_admin::{table, when, AdminClient, GatewayArgs, Refused};

#[derive(Args)]
pub struct TokenArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; its secret is printed once.
    Create {
        /// What the token is for.
        #[arg(long)]
        label: String,
        /// Confluence user the token acts as (required unless the gateway uses a static identity).
        #[arg(long)]
        user: Option<String>,
        /// Days until it expires.
        #[arg(long)]
        days: Option<i64>,
        /// A restriction rule, Extender syntax; repeat for several (any may match).
        #[arg(long = "restrict", value_name = "RULE")]
        restrictions: Vec<String>,
        /// An allowed client address or CIDR block; repeat for several.
        #[arg(long = "ip", value_name = "CIDR")]
        ips: Vec<String>,
        /// Requests per minute.
        #[arg(long)]
        rate_limit: Option<u32>,
        /// Print the full JSON answer (including the secret).
        #[arg(long)]
        json: bool,
    },
    /// List tokens.
    List {
        /// Print JSON: [{"id","label","user","status","useCount","lastUsedAt","expiresAt",...}].
        #[arg(long)]
        json: bool,
    },
    /// Show one token.
    Show {
        /// The token's public id (tok_...).
        id: String,
    },
    /// Revoke a token: the next request with it is refused.
    Revoke {
        /// The token's public id (tok_...).
        id: String,
    },
    /// Recreate the tokens of Extender's "REST API Tokens" add-on in the gateway (same secrets).
    ImportExtender(super::token_import::ImportArgs),
}

fn row(t: &Value) -> Vec<String> {
    let s = |k: &str| t[k].as_str().unwrap_or("-").to_string();
    vec![
        s("id"),
        s("label"),
        t["user"].as_str().unwrap_or("(any)").to_string(),
        s("status"),
        t["useCount"].as_i64().unwrap_or(0).to_string(),
        when(t["lastUsedAt"].as_i64()),
        when(t["expiresAt"].as_i64()),
    ]
}

const HEADER: [&str; 7] = [
    "ID",
    "LABEL",
    "USER",
    "STATUS",
    "USES",
    "LAST USED",
    "EXPIRES",
];

pub fn run(args: TokenArgs, g: &super::Globals) -> anyhow::Result<ExitCode> {
    if let TokenCommand::ImportExtender(import) = args.command {
        return super::token_import::run(&args.gateway, import, g);
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let client = AdminClient::new(&args.gateway)?;
        match args.command {
            TokenCommand::Create { label, user, days, restrictions, ips, rate_limit, json } => {
                let body = json!({
                    "label": label, "user": user, "daysUntilExpiry": days,
                    "restrictions": restrictions, "ipAllowlist": ips, "rateLimitPerMinute": rate_limit,
                });
                let created = client.post("/admin/v1/tokens", &body).await.map_err(in_cli_terms)?;
                if let Some(warning) = created["warning"].as_str() {
                    eprintln!("warning: {warning}");
                }
                if json {
                    println!("{}", serde_json::to_string_pretty(&created)?);
                } else {
                    let t = &created["token"];
                    eprintln!("Created {} ({}). The secret is shown once:", t["id"].as_str().unwrap_or(""), t["label"].as_str().unwrap_or(""));
                    println!("{}", created["secret"].as_str().unwrap_or(""));
                }
            }
            TokenCommand::List { json } => {
                let list = client.get("/admin/v1/tokens").await?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&list["tokens"])?);
                } else {
                    let rows: Vec<Vec<String>> = list["tokens"].as_array().map(|a| a.iter().map(row).collect()).unwrap_or_default();
                    table(&HEADER, &rows);
                }
            }
            TokenCommand::Show { id } => {
                let t = client.get(&format!("/admin/v1/tokens/{}", urlencode(&id))).await?;
                println!("{}", serde_json::to_string_pretty(&t)?);
            }
            TokenCommand::Revoke { id } => {
                let t = client.delete(&format!("/admin/v1/tokens/{}", urlencode(&id))).await?;
                println!("Revoked {} ({})", t["id"].as_str().unwrap_or(&id), t["label"].as_str().unwrap_or(""));
            }
            // Runs before the runtime starts (it has its own).
            TokenCommand::ImportExtender(_) => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// A refusal that names the admin API's fields, said with the flags of `cfl token create`.
fn in_cli_terms(e: anyhow::Error) -> anyhow::Error {
    match e.downcast_ref::<Refused>() {
        Some(r) if r.code.as_deref() == Some("user_required") => anyhow::anyhow!(
            "this gateway acts upstream as each token's user, so the token needs one: add --user USER (the Confluence username it acts as)"
        ),
        _ => e,
    }
}

pub fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
