//! One module per top-level command.

pub mod api;
pub mod attachment;
pub mod audit;
pub mod auth;
pub mod connect;
pub mod demo;
pub mod export;
pub mod gateway_admin;
pub mod label;
pub mod page;
pub mod pat;
pub mod publish;
pub mod search;
pub mod serve;
pub mod sim;
pub mod space;
pub mod token;

/// Flags every client command understands.
#[derive(clap::Args, Debug, Clone)]
pub struct Globals {
    /// Profile to use (default: `CFL_PROFILE`, else the active profile).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Log requests and responses to stderr (secrets redacted).
    #[arg(long, global = true)]
    pub verbose: bool,
}
