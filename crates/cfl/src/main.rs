//! `cfl`: safe, fast access to the Confluence REST API — client, token gateway and simulator.
//!
//! This crate is only the command line: it parses arguments (one file per command under
//! `commands/`) and hands off to the library crates that do the work.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cfl", version, about, long_about = None)]
#[command(propagate_version = true)]
struct Cli {
    #[command(flatten)]
    globals: commands::Globals,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a Confluence simulator (Cloud or Data Center) for tests and demos.
    Sim(commands::sim::SimArgs),
    /// Log in to Confluence sites, switch between them, show who you are.
    #[command(subcommand)]
    Auth(commands::auth::AuthCommand),
    /// Make an authenticated request to the Confluence REST API (like `gh api`).
    Api(commands::api::ApiArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sim(args) => commands::sim::run(args),
        Command::Auth(cmd) => commands::auth::run(cmd, &cli.globals),
        Command::Api(args) => commands::api::run(args, &cli.globals),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
