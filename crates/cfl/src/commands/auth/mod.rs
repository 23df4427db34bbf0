//! `cfl auth`: log in (every method), see who each profile is, print the header, renew OAuth
//! tokens, log out, switch.

mod login;
mod manage;
mod status;

use std::process::ExitCode;

use clap::Subcommand;

use super::Globals;
use crate::runtime::runtime;

#[derive(Subcommand)]
pub enum AuthCommand {
    /// Log in to a Confluence site and save the credential as a profile (verified first).
    Login(Box<login::LoginArgs>),
    /// Show every profile: method, deployment, who the server says we are, where the secret lives.
    Status(status::StatusArgs),
    /// Print the Authorization header value for the current profile (the only command that prints a secret).
    Token,
    /// Remove a profile and its secret from everywhere it was stored.
    Logout,
    /// Make another profile the active one.
    Switch(manage::SwitchArgs),
    /// Renew the OAuth 2.0 access token (or cookie session) now and save it.
    Refresh,
}

pub fn run(cmd: AuthCommand, g: &Globals) -> anyhow::Result<ExitCode> {
    match cmd {
        AuthCommand::Login(a) => runtime()?.block_on(login::run(*a, g)),
        AuthCommand::Status(a) => runtime()?.block_on(status::run(a, g)),
        AuthCommand::Token => status::token(g),
        AuthCommand::Logout => manage::logout(g),
        AuthCommand::Switch(a) => manage::switch(a),
        AuthCommand::Refresh => runtime()?.block_on(status::refresh(g)),
    }
}
