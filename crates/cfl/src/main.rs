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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the token gateway for accounts that can't log in (try `cfl serve --demo`).
    Serve(commands::serve::ServeArgs),
    /// Manage gateway tokens (admin API).
    Token(commands::token::TokenArgs),
    /// Read and verify the gateway's audit log.
    Audit(commands::audit::AuditArgs),
    /// Run a Confluence simulator (Cloud or Data Center) for tests and demos.
    Sim(commands::sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(args),
        Command::Token(args) => commands::token::run(args),
        Command::Audit(args) => commands::audit::run(args),
        Command::Sim(args) => commands::sim::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
