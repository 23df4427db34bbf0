//! `cfl auth login`'s arguments, and the terminal that answers the login's questions. The flows
//! themselves are `cfl_client::login`.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use cfl_client::error::Result;
use cfl_client::login::{self, Prompt};
use cfl_client::Error;

use crate::commands::Globals;

#[derive(clap::Args)]
pub struct LoginArgs {
    /// The site: Cloud `https://NAME.atlassian.net`, DC base URL including any context path.
    #[arg(long)]
    pub site: Option<String>,
    /// api-token | scoped-token | oauth2 | client-credentials (Cloud);
    /// pat | basic | oauth1 | oauth1-impersonation | dc-oauth2 | cookie | client-credentials (Data Center).
    #[arg(long)]
    pub method: Option<String>,
    /// Atlassian account email (Cloud token methods).
    #[arg(long)]
    pub email: Option<String>,
    /// DC username (basic).
    #[arg(long)]
    pub username: Option<String>,
    /// Read the token from standard input.
    #[arg(long)]
    pub token_stdin: bool,
    /// Read the password from standard input (basic).
    #[arg(long)]
    pub password_stdin: bool,
    /// cloud | dc: skip detection.
    #[arg(long)]
    pub deployment: Option<String>,
    /// Store the secret in a 0600 file instead of the OS keychain.
    #[arg(long)]
    pub insecure_storage: bool,
    /// Atlassian API gateway for scoped tokens.
    #[arg(
        long,
        env = "CFL_API_GATEWAY_URL",
        default_value = "https://api.atlassian.com"
    )]
    pub api_gateway_url: String,
    /// Reuse the Jira API token found for this site (JIRA_API_TOKEN or ~/.netrc).
    #[arg(long)]
    pub use_jira_token: bool,
    /// Extra CA bundle (PEM) to trust.
    #[arg(long)]
    pub ca_bundle: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(long)]
    pub client_cert: Option<PathBuf>,
    /// Client certificate's private key (PEM), if not in --client-cert.
    #[arg(long)]
    pub client_key: Option<PathBuf>,
    /// OAuth 2.0 client id (oauth2, dc-oauth2, client-credentials).
    #[arg(long)]
    pub client_id: Option<String>,
    /// Read the OAuth 2.0 client secret from standard input.
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// OAuth scopes, space-separated (default: what cfl needs; Cloud adds offline_access).
    #[arg(long)]
    pub scope: Option<String>,
    /// Atlassian's authorization server (Cloud oauth2 and client-credentials).
    #[arg(
        long,
        env = "CFL_ATLASSIAN_AUTH_URL",
        default_value = "https://auth.atlassian.com"
    )]
    pub auth_url: String,
    /// Loopback URL cfl listens on for the browser's redirect; must be registered in the app
    /// (OAuth 2.0 default http://127.0.0.1:8976/callback; OAuth 1.0a: any free port).
    #[arg(long)]
    pub redirect_uri: Option<String>,
    /// Don't try to open a browser; print the URL to open.
    #[arg(long)]
    pub no_browser: bool,
    /// OAuth 1.0a consumer key of the application link (oauth1, oauth1-impersonation).
    #[arg(long)]
    pub consumer_key: Option<String>,
    /// The consumer's RSA private key, PEM (its contents are stored with the secret).
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// oauth1-impersonation: the user every request acts as (xoauth_requestor_id).
    #[arg(long = "as", value_name = "USER")]
    pub as_user: Option<String>,
    /// oauth1: approve with the "oob" flow and paste the verification code instead of a redirect.
    #[arg(long)]
    pub paste_verifier: bool,
}

/// Questions on the terminal (secrets without echo), answers piped on stdin, lines on stderr.
struct Terminal;

impl Prompt for Terminal {
    fn interactive(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    fn ask(&self, prompt: &str) -> Result<String> {
        eprint!("{prompt}");
        std::io::stderr().flush().ok();
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io("cannot read the answer", e))?;
        Ok(line.trim().to_string())
    }

    fn secret(&self, prompt: &str) -> Result<String> {
        rpassword::prompt_password(prompt)
            .map_err(|e| Error::io("cannot read the secret from the terminal", e))
    }

    fn stdin_secret(&self, what: &str) -> Result<String> {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io(format!("cannot read the {what} from stdin"), e))?;
        let s = s.trim().to_string();
        if s.is_empty() {
            return Err(Error::Invalid(format!("no {what} on standard input")));
        }
        Ok(s)
    }

    fn say(&self, line: &str) {
        eprintln!("{line}");
    }
}

pub async fn run(a: LoginArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let globals = login::Globals {
        profile: g.profile.clone(),
        verbose: g.verbose,
    };
    let options = login::Options {
        ui: Box::new(Terminal),
        site: a.site,
        method: a.method,
        email: a.email,
        username: a.username,
        token_stdin: a.token_stdin,
        password_stdin: a.password_stdin,
        deployment: a.deployment,
        insecure_storage: a.insecure_storage,
        api_gateway_url: a.api_gateway_url,
        use_jira_token: a.use_jira_token,
        ca_bundle: a.ca_bundle,
        client_cert: a.client_cert,
        client_key: a.client_key,
        client_id: a.client_id,
        client_secret_stdin: a.client_secret_stdin,
        scope: a.scope,
        auth_url: a.auth_url,
        redirect_uri: a.redirect_uri,
        no_browser: a.no_browser,
        consumer_key: a.consumer_key,
        private_key: a.private_key,
        as_user: a.as_user,
        paste_verifier: a.paste_verifier,
    };
    login::run(options, &globals).await?;
    Ok(ExitCode::SUCCESS)
}
