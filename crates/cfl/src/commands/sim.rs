//! `cfl sim`: serve a Confluence simulator and print where it listens as one JSON line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use cfl_sim::SimConfig;
use clap::{Args, ValueEnum};

#[derive(Clone, Copy, ValueEnum)]
enum FlavorArg {
    Dc,
    Cloud,
}

#[derive(Args)]
pub struct SimArgs {
    /// Simulator config (TOML); see examples/sim-dc.toml and examples/sim-cloud.toml.
    #[arg(
        long,
        short,
        env = "CFL_SIM_CONFIG",
        required_unless_present = "flavor"
    )]
    config: Option<PathBuf>,
    /// Without --config: a simulator of this flavour with the defaults of every setting and only
    /// the users --seed declares.
    #[arg(long, value_enum, conflicts_with = "config")]
    flavor: Option<FlavorArg>,
    /// Spaces, pages, attachments and users from a seed file (.toml/.json) or folder instead of
    /// the generated demo content; `POST /__sim/reset` restores it. Format: README, "Test your
    /// own Confluence client against cfl sim".
    #[arg(long, value_name = "DIR|FILE")]
    seed: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port (printed in the start-up line).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Shorthand for --listen 127.0.0.1:PORT (0: a free port).
    #[arg(long, conflicts_with = "listen")]
    port: Option<u16>,
}

/// The config the flags describe, validated: `load` and `with_seed` validate their own, and
/// `--flavor` alone goes through the same checks rather than trusting the defaults.
fn build_config(
    config: Option<&Path>,
    flavor: Option<FlavorArg>,
    seed: Option<&Path>,
) -> anyhow::Result<SimConfig> {
    let mut config = match (config, flavor) {
        (Some(path), _) => SimConfig::load(path)?,
        (None, Some(FlavorArg::Dc)) => SimConfig::parse("flavor = \"dc\"")?,
        (None, Some(FlavorArg::Cloud)) => SimConfig::parse("flavor = \"cloud\"")?,
        (None, None) => anyhow::bail!("give --config FILE or --flavor dc|cloud"),
    };
    config.validate()?;
    if let Some(seed) = seed {
        config = config.with_seed(seed)?;
    }
    Ok(config)
}

pub fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    let config = build_config(args.config.as_deref(), args.flavor, args.seed.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listen = match args.port {
            Some(port) => SocketAddr::from(([127, 0, 0, 1], port)),
            None => args.listen,
        };
        let sim = cfl_sim::start(config, listen).await?;
        // One line on stdout, flushed, so a parent process can read the port and go on.
        let line = sim.startup_line();
        println!("{line}");
        print_oidc_hint(&line);
        crate::shutdown::wait_for_signal()
            .await
            .context("cannot wait for a shutdown signal")?;
        sim.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// A human hint on stderr (stdout stays the one JSON line): where the OpenID Connect provider is
/// and who can sign in. Passwords are not printed; the demo ones are in the config and README.
fn print_oidc_hint(line: &serde_json::Value) {
    let Some(oidc) = line.get("oidc") else {
        return;
    };
    let issuer = oidc["issuer"].as_str().unwrap_or("");
    eprintln!("OpenID Connect provider (simulated, demo only): issuer {issuer}");
    eprintln!("  discovery: {issuer}/.well-known/openid-configuration");
    for user in oidc["users"].as_array().into_iter().flatten() {
        let groups: Vec<&str> = user["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str())
            .collect();
        eprintln!(
            "  user {} ({}), groups: {}",
            user["username"].as_str().unwrap_or(""),
            user["name"].as_str().unwrap_or(""),
            groups.join(", ")
        );
    }
    eprintln!("  passwords: see the [[oidc.users]] in the config");
}

#[cfg(test)]
mod tests {
    use super::*;
    use cfl_sim::Flavor;

    /// `--flavor` without `--config` builds a config from the defaults alone; no flag can make
    /// it invalid, but a default that breaks a rule must fail here (validated again directly, so
    /// this holds even if `build_config` stopped validating), not at start-up.
    #[test]
    fn flavor_only_configs_are_valid_and_of_that_flavour() {
        for (arg, flavor) in [
            (FlavorArg::Dc, Flavor::Dc),
            (FlavorArg::Cloud, Flavor::Cloud),
        ] {
            let config = build_config(None, Some(arg), None).unwrap();
            assert_eq!(config.flavor, flavor);
            config.validate().unwrap();
        }
    }

    #[test]
    fn neither_config_nor_flavor_says_what_to_give() {
        let err = build_config(None, None, None).unwrap_err().to_string();
        assert!(err.contains("--config FILE or --flavor dc|cloud"), "{err}");
    }
}
