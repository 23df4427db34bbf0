//! Shared plumbing of the content commands (`space`, `page`, `search`, `attachment`, `label`):
//! the authenticated client from the resolved credential and the runtime. Errors go up to
//! `main`, which alone turns them into exit codes.

use std::future::Future;
use std::process::ExitCode;

use cfl_client::config::config_dir;
use cfl_client::{credentials, Client};

use super::Globals;
use crate::runtime::runtime;

/// The client for the selected profile (flag > env > active profile).
pub fn client(g: &Globals) -> anyhow::Result<Client> {
    let dir = config_dir()?;
    let (cred, profile) = credentials::resolve(&dir, g.profile.as_deref())?;
    Ok(Client::new(cred, &g.client_options(profile.as_ref()))?)
}

/// Runs a command body on a fresh runtime.
pub fn run<F, Fut>(g: &Globals, body: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let client = client(g)?;
    runtime()?.block_on(body(client))?;
    Ok(ExitCode::SUCCESS)
}

/// `--limit N`: 0 means no limit.
pub fn limit(n: usize) -> Option<usize> {
    (n > 0).then_some(n)
}
