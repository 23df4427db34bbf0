//! `cfl sim`: serve a Confluence simulator and print where it listens as one JSON line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct SimArgs {
    /// Simulator config (TOML); see examples/sim-dc.toml and examples/sim-cloud.toml.
    #[arg(long, short, env = "CFL_SIM_CONFIG")]
    config: PathBuf,
    /// Address to listen on; port 0 picks a free port (printed in the start-up line).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let config = cfl_sim::SimConfig::load(&args.config)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let sim = cfl_sim::start(config, args.listen).await?;
        // One line on stdout, flushed, so a parent process can read the port and go on.
        println!("{}", sim.startup_line());
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    r = ctrl_c => r,
                    _ = term.recv() => Ok(()),
                }
            }
            #[cfg(not(unix))]
            ctrl_c.await
        };
        shutdown
            .await
            .context("cannot wait for a shutdown signal")?;
        sim.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
