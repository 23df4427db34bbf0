//! `cfl auth logout` and `cfl auth switch`: profile bookkeeping, no network.

use std::process::ExitCode;

use anyhow::Context;
use cfl_client::config::{config_dir, Config};
use cfl_client::secrets;

use crate::commands::Globals;

#[derive(clap::Args)]
pub struct SwitchArgs {
    /// The profile to make active.
    pub name: String,
}

pub fn logout(g: &Globals) -> anyhow::Result<ExitCode> {
    let dir = config_dir()?;
    let mut config = Config::load(&dir)?;
    let env_profile = std::env::var("CFL_PROFILE").ok().filter(|s| !s.is_empty());
    let name = config
        .pick(g.profile.as_deref().or(env_profile.as_deref()))
        .context("which profile? pass --profile NAME (see `cfl auth status`)")?;
    let known = config.profiles.remove(&name).is_some();
    let removed = secrets::remove(&dir, &name)?;
    if !known && removed.is_empty() {
        anyhow::bail!("no profile named {name:?}; nothing to log out");
    }
    if config.active.as_deref() == Some(name.as_str()) {
        config.active = None;
    }
    config.save(&dir)?;
    let places: Vec<String> = removed.iter().map(|s| s.describe(&dir)).collect();
    eprintln!(
        "Logged out of profile {name:?}; secret removed from: {}",
        if places.is_empty() {
            "nowhere (none was stored)".to_string()
        } else {
            places.join(", ")
        }
    );
    if config.active.is_none() && !config.profiles.is_empty() {
        let names: Vec<_> = config.profiles.keys().cloned().collect();
        eprintln!(
            "No active profile now; pick one with `cfl auth switch NAME` ({})",
            names.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn switch(a: SwitchArgs) -> anyhow::Result<ExitCode> {
    let dir = config_dir()?;
    let mut config = Config::load(&dir)?;
    if !config.profiles.contains_key(&a.name) {
        let names: Vec<_> = config.profiles.keys().cloned().collect();
        anyhow::bail!(
            "no profile named {:?} (known: {}); create it with `cfl auth login --profile {}`",
            a.name,
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
            a.name
        );
    }
    config.active = Some(a.name.clone());
    config.save(&dir)?;
    eprintln!(
        "Active profile is now {:?} ({})",
        a.name, config.profiles[&a.name].site
    );
    Ok(ExitCode::SUCCESS)
}
