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
        /// Only GET, HEAD and OPTIONS pass (combines with --restrict).
        #[arg(long)]
        read_only: bool,
        /// Requests per UTC day; more are refused (429 quota_exceeded) until midnight UTC.
        #[arg(long, value_name = "N")]
        quota_per_day: Option<u32>,
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
    /// Issue a new secret for a token (same id, rules and counts); the new secret is printed once.
    Rotate {
        /// The token's public id (tok_...).
        id: String,
        /// How long the old secret keeps working, e.g. 24h, 90m, 7d, 0 (the default: it stops at
        /// once).
        #[arg(long, value_name = "DURATION", value_parser = parse_overlap, default_value = "0")]
        overlap: u64,
        /// Print the full JSON answer (including the new secret).
        #[arg(long)]
        json: bool,
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
        limits(t),
    ]
}

/// `read-only, 1000/day, 60/min`, or `-`.
fn limits(t: &Value) -> String {
    let mut parts = Vec::new();
    if t["readOnly"].as_bool() == Some(true) {
        parts.push("read-only".to_string());
    }
    if let Some(n) = t["requestsPerDay"].as_u64() {
        parts.push(format!("{n}/day"));
    }
    if let Some(n) = t["rateLimitPerMinute"].as_u64() {
        parts.push(format!("{n}/min"));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

const HEADER: [&str; 8] = [
    "ID",
    "LABEL",
    "USER",
    "STATUS",
    "USES",
    "LAST USED",
    "EXPIRES",
    "LIMITS",
];

pub fn run(args: TokenArgs, g: &super::Globals) -> anyhow::Result<ExitCode> {
    if let TokenCommand::ImportExtender(import) = args.command {
        return super::token_import::run(&args.gateway, import, g);
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let client = AdminClient::new(&args.gateway)?;
        match args.command {
            TokenCommand::Create { label, user, days, restrictions, ips, rate_limit, read_only, quota_per_day, json } => {
                let body = json!({
                    "label": label, "user": user, "daysUntilExpiry": days,
                    "restrictions": restrictions, "ipAllowlist": ips, "rateLimitPerMinute": rate_limit,
                    "readOnly": read_only, "requestsPerDay": quota_per_day,
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
            TokenCommand::Rotate { id, overlap, json } => {
                let path = format!("/admin/v1/tokens/{}/rotate", urlencode(&id));
                let rotated = client.post(&path, &json!({ "overlapSeconds": overlap })).await.map_err(in_cli_terms)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&rotated)?);
                } else {
                    let until = rotated["previousSecretValidUntil"].as_i64();
                    let old = if overlap == 0 { "The old secret no longer works".to_string() } else { format!("The old secret works until {}", when(until)) };
                    eprintln!("Rotated {id}. {old}. The new secret is shown once:");
                    println!("{}", rotated["secret"].as_str().unwrap_or(""));
                }
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
        Some(r) if r.code.as_deref() == Some("policy_max_lifetime") => anyhow::anyhow!(
            "{}\n(give --days N within the limit)",
            r.message.as_deref().unwrap_or("the gateway's policy limits token lifetimes")
        ),
        Some(r) if r.code.as_deref() == Some("policy_ip_allowlist_required") => anyhow::anyhow!(
            "this gateway's policy requires every token to name the addresses it may be used from: add --ip CIDR (repeat for several)"
        ),
        Some(r) if r.code.as_deref() == Some("policy_max_overlap") => anyhow::anyhow!(
            "{} (--overlap takes e.g. 24h)",
            r.message.as_deref().unwrap_or("the overlap is longer than the gateway allows")
        ),
        _ => e,
    }
}

/// `--overlap`: seconds from `90s`, `30m`, `24h`, `7d` or a bare number of seconds.
fn parse_overlap(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?} is not a duration: write it as 90s, 30m, 24h or 7d"
            ))
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds_per))
        .ok_or_else(|| format!("{text:?} is not a duration: write it as 90s, 30m, 24h or 7d"))
}

pub fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::parse_overlap;

    #[test]
    fn overlaps_read_as_seconds() {
        assert_eq!(parse_overlap("24h"), Ok(86_400));
        assert_eq!(parse_overlap("90m"), Ok(5_400));
        assert_eq!(parse_overlap("7d"), Ok(604_800));
        assert_eq!(parse_overlap("45"), Ok(45));
        assert_eq!(parse_overlap("0"), Ok(0));
        for bad in ["", "h", "1w", "-1h", "1.5h"] {
            assert!(
                parse_overlap(bad).unwrap_err().contains("90s, 30m, 24h"),
                "{bad}"
            );
        }
    }
}
