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
    /// Run a Confluence simulator (Cloud or Data Center) for tests and demos.
    Sim(commands::sim::SimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
