//! What a login is given: the person's options, the global flags, and the [`Prompt`] that asks
//! and says.

use std::path::PathBuf;

/// Says one line to the person logging in (stderr, through the [`Prompt`]).
macro_rules! say {
    ($a:expr, $($t:tt)*) => {
        $a.ui.say(&format!($($t)*))
    };
}
pub(crate) use say;

/// The questions a login may ask and the lines it says: the binary answers them from the
/// terminal or standard input and prints to stderr.
pub trait Prompt {
    /// Whether a person can answer questions (a terminal is attached).
    fn interactive(&self) -> bool;
    /// A question answered in the clear.
    fn ask(&self, prompt: &str) -> crate::error::Result<String>;
    /// A question whose answer is a secret (not echoed).
    fn secret(&self, prompt: &str) -> crate::error::Result<String>;
    /// A secret piped on standard input (`--token-stdin` and the like); `what` names it.
    fn stdin_secret(&self, what: &str) -> crate::error::Result<String>;
    /// A line for the person (progress, warnings, where the secret went).
    fn say(&self, line: &str);
}

/// Flags of every client command that matter to a login.
#[derive(Clone, Debug, Default)]
pub struct Globals {
    /// The profile to save as (else `CFL_PROFILE`, else the site's host name).
    pub profile: Option<String>,
    pub verbose: bool,
}

/// What the person asked for (`cfl auth login`'s flags; the binary documents each).
pub struct Options {
    pub ui: Box<dyn Prompt>,
    pub site: Option<String>,
    pub method: Option<String>,
    pub email: Option<String>,
    pub username: Option<String>,
    pub token_stdin: bool,
    pub password_stdin: bool,
    pub deployment: Option<String>,
    pub insecure_storage: bool,
    pub api_gateway_url: String,
    pub use_jira_token: bool,
    pub ca_bundle: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub client_id: Option<String>,
    pub client_secret_stdin: bool,
    pub scope: Option<String>,
    pub auth_url: String,
    pub redirect_uri: Option<String>,
    pub no_browser: bool,
    pub consumer_key: Option<String>,
    pub private_key: Option<PathBuf>,
    pub as_user: Option<String>,
    pub paste_verifier: bool,
}
