//! `cfl serve`: run the token gateway (`--demo`: in front of an embedded simulator).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::demo;
use crate::shutdown::wait_for_signal;

#[derive(Args)]
pub struct ServeArgs {
    /// Gateway config (TOML); see examples/gateway.toml.
    #[arg(
        long,
        short,
        env = "CFL_GATEWAY_CONFIG",
        required_unless_present = "demo"
    )]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the config).
    #[arg(long, env = "CFL_LISTEN")]
    listen: Option<SocketAddr>,
    /// Upstream Confluence base URL (overrides the config).
    #[arg(long, env = "CFL_UPSTREAM_URL")]
    upstream: Option<String>,
    /// Store: sqlite:PATH or postgres://… (overrides the config).
    #[arg(long, env = "CFL_STORE")]
    store: Option<String>,
    /// Threads that serve requests: 0 = one per CPU (overrides the config's `workers`).
    #[arg(long, env = "CFL_WORKERS")]
    workers: Option<usize>,
    /// Run the gateway in front of an embedded Confluence simulator, with a throw-away SQLite
    /// store, and print ready-to-paste commands.
    #[arg(long, conflicts_with = "config")]
    demo: bool,
    /// Check the config (files readable, keys and certificates parse, secrets from the
    /// environment set, URLs, the store's directory writable) and exit: 0 when the gateway could
    /// start with it, else 1 with each problem and its fix on a line. Opens neither the store
    /// nor a network connection; run it as the user the gateway runs as.
    #[arg(long, conflicts_with_all = ["demo", "new_admin_token"])]
    check_config: bool,
    /// Create a new admin token in the config's store, print it once, record it in the audit
    /// log and exit: the way back in when every admin token is lost. Works while a gateway runs
    /// on the store; needs only access to the store.
    #[arg(long, conflicts_with = "demo")]
    new_admin_token: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    if args.demo {
        return runtime(0)?.block_on(demo::run(args.listen));
    }
    let path = args
        .config
        .clone()
        .context("--config is required (or use --demo)")?;
    if args.check_config {
        return check_config(&path, &args);
    }
    let mut config = cfl_gateway::config::GatewayConfig::load(&path)?;
    apply_overrides(&mut config, &args);
    config.validate()?;
    let env_name = config
        .admin
        .token_env
        .clone()
        .unwrap_or_else(|| "CFL_ADMIN_TOKEN".into());
    let admin = std::env::var(&env_name).ok().filter(|s| !s.is_empty());
    if args.new_admin_token {
        return runtime(1)?.block_on(async {
            let token = cfl_gateway::server::new_admin_token(&config).await?;
            eprintln!(
                "A new admin token for the store {} (recorded in its audit log). It is shown only now:",
                cfl_gateway::store::redact_url(&config.store)
            );
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        });
    }
    runtime(config.workers)?.block_on(async move {
        if config.tls.is_none() {
            ignore_sighup()?;
        }
        let first = first_admin_token(&config);
        let gw = cfl_gateway::server::start_with(config, admin, first).await?;
        println!("{}", gw.startup_line());
        if let Some(token) = &gw.generated_admin_token {
            eprintln!("First start: the admin token is {token}\nIt is shown only now; store it (e.g. export CFL_ADMIN_TOKEN=...).\nLost it? `cfl serve --config ... --new-admin-token` makes another.");
        }
        if let Some((file, id)) = &gw.admin_token_file {
            eprintln!("First start: the admin token ({id}) is in {}, readable only by this user.\nStore it (e.g. in CFL_ADMIN_TOKEN), then delete the file.\nLost it? `cfl serve --config ... --new-admin-token` makes another.", file.display());
        }
        eprintln!("Admin page: {}/admin/", gw.base_url);
        wait_for_signal().await?;
        gw.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// A first admin token is shown only on a terminal; output that may be kept in a log (the
/// journal under systemd, a redirect) gets only the path of a file that holds it.
fn first_admin_token(
    config: &cfl_gateway::config::GatewayConfig,
) -> cfl_gateway::server::FirstAdminToken {
    use cfl_gateway::server::{admin_token_file, FirstAdminToken};
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
        FirstAdminToken::Return
    } else {
        FirstAdminToken::File(admin_token_file(config))
    }
}

/// Flags and environment variables over the file's settings.
fn apply_overrides(config: &mut cfl_gateway::config::GatewayConfig, args: &ServeArgs) {
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(u) = &args.upstream {
        config.upstream.url = u.clone();
    }
    if let Some(s) = &args.store {
        config.store = s.clone();
    }
    if let Some(w) = args.workers {
        config.workers = w;
    }
}

/// `--check-config`: every problem on its own line (stderr), exit 1; or one OK line, exit 0.
fn check_config(path: &std::path::Path, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    use cfl_gateway::config_check;
    let problems = match config_check::read(path) {
        Ok(mut config) => {
            apply_overrides(&mut config, args);
            // Building the upstream's connection pool needs a runtime.
            let problems = runtime(1)?
                .block_on(async { config_check::check(&config, &|name| std::env::var(name).ok()) });
            if problems.is_empty() {
                println!(
                    "{}: OK (listen {}, store {}, upstream {}, identity {})",
                    path.display(),
                    config.listen,
                    cfl_gateway::store::redact_url(&config.store),
                    cfl_gateway::store::redact_url(&config.upstream.url),
                    config.upstream.identity.mode()
                );
                return Ok(ExitCode::SUCCESS);
            }
            problems
        }
        Err(problem) => vec![problem],
    };
    eprintln!(
        "{}: {} problem{} keep{} the gateway from starting:",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        if problems.len() == 1 { "s" } else { "" },
    );
    for problem in &problems {
        eprintln!("  - {problem}");
    }
    Ok(ExitCode::FAILURE)
}

/// The runtime the gateway serves on: `workers` threads (0 = one per CPU). One worker is a
/// single-threaded runtime: no task ever moves between threads, so no wake-up crosses one.
fn runtime(workers: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let runtime = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        if workers > 1 {
            b.worker_threads(workers);
        }
        b.enable_all().build()
    };
    runtime.context("cannot start the async runtime")
}

/// Without `[tls]` there is nothing to reload, but `systemctl reload` (the unit's `ExecReload`)
/// still sends SIGHUP, whose default action ends the process, and systemd counts that as a clean
/// exit: no restart. Listening for it keeps the gateway serving.
fn ignore_sighup() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot listen for SIGHUP")?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: nothing to reload (only [tls] certificates are reloaded; other settings need a restart)");
            }
        });
    }
    Ok(())
}
