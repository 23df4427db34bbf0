//! Shared plumbing of the content commands (`space`, `page`, `search`, `attachment`, `label`):
//! the authenticated client from the resolved credential, the runtime, and exit codes — 4 when
//! the server refused the credential (as `cfl api` and gh do), 1 for every other failure, with
//! the explanation on stderr.

use std::future::Future;
use std::process::ExitCode;

use cfl_client::config::config_dir;
use cfl_client::content::ContentError;
use cfl_client::{credentials, Client};

use super::Globals;

const EXIT_AUTH: u8 = 4;

/// The client for the selected profile (flag > env > active profile).
pub fn client(g: &Globals) -> anyhow::Result<Client> {
    let dir = config_dir()?;
    let (cred, profile) = credentials::resolve(&dir, g.profile.as_deref())?;
    Client::new(cred, &g.client_options(profile.as_ref()))
}

/// Runs a command body on a fresh runtime and turns its error into an exit code.
pub fn run<F, Fut>(g: &Globals, body: F) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let client = client(g)?;
    let result = super::auth::runtime()?.block_on(body(client));
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("error: {e:#}");
            let auth = e
                .downcast_ref::<ContentError>()
                .and_then(ContentError::status)
                == Some(401);
            Ok(ExitCode::from(if auth { EXIT_AUTH } else { 1 }))
        }
    }
}

/// `--limit N`: 0 means no limit.
pub fn limit(n: usize) -> Option<usize> {
    (n > 0).then_some(n)
}
