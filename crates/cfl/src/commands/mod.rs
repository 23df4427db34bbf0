//! One module per top-level command.

pub mod api;
pub mod attachment;
pub mod audit;
pub mod auth;
pub mod connect;
pub mod demo;
pub mod export;
pub mod gateway;
pub mod gateway_admin;
pub mod label;
pub mod man;
pub mod mcp;
pub mod page;
pub mod pat;
pub mod publish;
pub mod search;
pub mod serve;
pub mod sim;
pub mod space;
pub mod token;
pub mod token_import;

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

impl Globals {
    /// Transport settings for a client: `--verbose` and the profile's CA bundle and mTLS pair.
    pub fn client_options(&self, p: Option<&cfl_client::Profile>) -> cfl_client::ClientOptions {
        cfl_client::ClientOptions {
            verbose: self.verbose,
            ca_bundle: p.and_then(|p| p.ca_bundle.clone()),
            client_cert: p.and_then(|p| p.client_cert.clone()),
            client_key: p.and_then(|p| p.client_key.clone()),
        }
    }
}
