//! `cfl gateway login|logout|whoami`: an admin session for a gateway's admin API, signed in
//! through the gateway's identity provider (OpenID Connect), so admins need no admin token.

mod login;
pub mod session;

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::gateway_admin::{when, AdminClient, GatewayArgs};

#[derive(Args)]
pub struct GatewayCmdArgs {
    #[command(flatten)]
    gateway: GatewayArgs,
    #[command(subcommand)]
    command: GatewayCommand,
}

#[derive(Subcommand)]
enum GatewayCommand {
    /// Sign in with the gateway's identity provider (browser, loopback redirect) and keep the
    /// admin session for `cfl token` and `cfl audit`.
    Login(login::LoginArgs),
    /// Sign out: the gateway revokes the session and cfl forgets it.
    Logout,
    /// Show who the admin API sees: name, role, permissions, how signed in, until when.
    Whoami {
        /// Print the gateway's JSON answer.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: GatewayCmdArgs) -> anyhow::Result<ExitCode> {
    let rt = crate::runtime::runtime()?;
    let gateway = args.gateway.gateway.trim_end_matches('/').to_string();
    rt.block_on(async move {
        match args.command {
            GatewayCommand::Login(a) => login::run(&gateway, a).await,
            GatewayCommand::Logout => logout(&gateway).await,
            GatewayCommand::Whoami { json } => whoami(&args.gateway, json).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn logout(gateway: &str) -> anyhow::Result<()> {
    let Some(s) = session::load(gateway)? else {
        eprintln!("No admin session is stored for {gateway}; nothing to do.");
        return Ok(());
    };
    let revoked = if s.expired() {
        false
    } else {
        let client = AdminClient::with_session(gateway, s)?;
        match client.delete("/admin/v1/session").await {
            Ok(_) => true,
            Err(e) => {
                // Forget it anyway: a session the gateway refuses is of no use, and keeping a
                // secret the user asked to drop is worse.
                eprintln!("warning: the gateway did not confirm the sign-out ({e:#})");
                false
            }
        }
    };
    session::forget(gateway)?;
    if revoked {
        eprintln!("Signed out of {gateway}: the gateway revoked the session and cfl forgot it.");
    } else {
        eprintln!("Forgot the admin session for {gateway}.");
    }
    Ok(())
}

async fn whoami(args: &GatewayArgs, json: bool) -> anyhow::Result<()> {
    let me = AdminClient::new(args)?.get("/admin/v1/session").await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&me)?);
        return Ok(());
    }
    let s = |k: &str| me[k].as_str().unwrap_or("-").to_string();
    let name = match me["email"].as_str() {
        Some(email) if email != s("name") => format!("{} <{email}>", s("name")),
        _ => s("name"),
    };
    let permissions: Vec<&str> = me["permissions"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p.as_str()).collect())
        .unwrap_or_default();
    println!("{name}");
    println!("  subject:     {}", s("subject"));
    println!("  role:        {}", s("role"));
    println!("  permissions: {}", permissions.join(", "));
    println!("  signed in:   {}", s("via"));
    println!(
        "  until:       {}",
        when(me["expires_at"].as_i64().map(|t| t * 1000))
    );
    Ok(())
}
