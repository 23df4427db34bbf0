//! `cfl audit list|export|verify`: read and check the gateway's audit log.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use super::gateway_admin::{table, when, AdminClient, GatewayArgs};
use super::token::urlencode;

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Args, Default)]
struct Filters {
    /// Only this token (public id).
    #[arg(long)]
    token: Option<String>,
    /// Only this user (bound user or admin).
    #[arg(long)]
    user: Option<String>,
    /// Only allowed or only refused requests.
    #[arg(long, value_enum)]
    decision: Option<Decision>,
    /// Only proxied requests or only admin actions.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Most records to return (newest first).
    #[arg(long, default_value_t = 50)]
    limit: i64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Decision {
    Allow,
    Deny,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Proxy,
    Admin,
}

/// The word the admin API takes for a value of a `ValueEnum`.
fn word(v: impl ValueEnum) -> Option<String> {
    v.to_possible_value().map(|p| p.get_name().to_string())
}

impl Filters {
    fn query(&self) -> String {
        let mut q = format!("limit={}", self.limit);
        for (k, v) in [
            ("tokenId", self.token.clone()),
            ("user", self.user.clone()),
            ("decision", self.decision.and_then(word)),
            ("kind", self.kind.and_then(word)),
        ] {
            if let Some(v) = v {
                q += &format!("&{k}={}", urlencode(&v));
            }
        }
        q
    }
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recent records, newest first.
    List {
        #[command(flatten)]
        filters: Filters,
        /// Print the records as a JSON array (the admin API's record fields).
        #[arg(long)]
        json: bool,
    },
    /// Matching records as JSON lines (one record a line).
    Export {
        #[command(flatten)]
        filters: Filters,
    },
    /// Check the hash chain: exits non-zero if any record was altered, removed or inserted.
    Verify {
        /// Check the store directly (sqlite:PATH or postgres://…) instead of asking the gateway.
        #[arg(long)]
        store: Option<String>,
    },
}

pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        match args.command {
            AuditCommand::Verify { store: Some(url) } => verify_store(&url).await,
            AuditCommand::Verify { store: None } => {
                let client = AdminClient::new(&args.gateway)?;
                let v = client.get("/admin/v1/audit/verify").await?;
                report(
                    v["ok"].as_bool() == Some(true),
                    v["checked"].as_u64().unwrap_or(0),
                    v["problem"].as_str(),
                )
            }
            AuditCommand::List { filters, json } => {
                let client = AdminClient::new(&args.gateway)?;
                let page = client
                    .get(&format!("/admin/v1/audit?{}", filters.query()))
                    .await?;
                let records = page["records"].as_array().cloned().unwrap_or_default();
                if json {
                    println!("{}", serde_json::to_string_pretty(&records)?);
                } else {
                    let rows: Vec<Vec<String>> = records.iter().map(row).collect();
                    table(
                        &[
                            "SEQ", "TIME", "ACTOR", "TOKEN", "METHOD", "PATH", "DECISION",
                            "STATUS", "REASON",
                        ],
                        &rows,
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            AuditCommand::Export { filters } => {
                let client = AdminClient::new(&args.gateway)?;
                print!(
                    "{}",
                    client
                        .get_text(&format!("/admin/v1/audit?{}&format=jsonl", filters.query()))
                        .await?
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

fn row(r: &Value) -> Vec<String> {
    let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
    vec![
        r["seq"].to_string(),
        when(r["at"].as_i64()),
        s("actor"),
        s("tokenId"),
        s("method"),
        s("path"),
        s("decision"),
        r["status"].to_string(),
        s("reason"),
    ]
}

fn report(ok: bool, checked: u64, problem: Option<&str>) -> anyhow::Result<ExitCode> {
    if ok {
        println!("audit log intact: {checked} records verified");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "audit log TAMPERED: {} (after {checked} good records)",
            problem.unwrap_or("unknown problem")
        );
        Ok(ExitCode::FAILURE)
    }
}

async fn verify_store(url: &str) -> anyhow::Result<ExitCode> {
    // Never a new, empty store: that would "verify" as intact.
    let store = cfl_gateway::store::Store::open_existing(url)
        .await
        .context("cannot open the store to verify")?;
    let mut v = cfl_gateway::audit::Verifier::default();
    let mut after = 0;
    loop {
        let page = store.audit_after(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            if let Err(p) = v.push(r) {
                return report(false, v.checked, Some(&p.to_string()));
            }
        }
    }
    report(true, v.checked, None)
}
