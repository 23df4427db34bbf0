//! `cfl auth login`: scriptable with flags, interactive when a terminal is attached. The
//! credential is verified (current user, not anonymous) before anything is saved.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use cfl_client::config::Method;
use cfl_client::credentials::{Credential, Source};
use cfl_client::deployment::{self, Deployment};
use cfl_client::http::build_http;
use cfl_client::{identity, Client, ClientOptions};
use url::Url;

use crate::commands::Globals;

const CLOUD_TOKEN_PAGE: &str = "https://id.atlassian.com/manage-profile/security/api-tokens";

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

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

pub(super) fn ask(prompt: &str) -> anyhow::Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the answer")?;
    Ok(line.trim().to_string())
}

pub(super) fn ask_secret(prompt: &str) -> anyhow::Result<String> {
    rpassword::prompt_password(prompt).context("cannot read the secret from the terminal")
}

pub(super) fn read_stdin_secret(what: &str) -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .with_context(|| format!("cannot read the {what} from stdin"))?;
    let s = s.trim().to_string();
    if s.is_empty() {
        anyhow::bail!("no {what} on standard input");
    }
    Ok(s)
}

/// A Jira Cloud API token for `host` (Atlassian account tokens work for every product on the
/// site): `JIRA_API_TOKEN` (unless `JIRA_URL`/`JIRA_SERVER` names another host), or a `~/.netrc`
/// `machine HOST` entry. Returns (login if known, token, where it was found).
pub fn find_jira_token(host: &str) -> Option<(Option<String>, String, String)> {
    if let Ok(tok) = std::env::var("JIRA_API_TOKEN") {
        let other_site = ["JIRA_URL", "JIRA_SERVER"]
            .iter()
            .find_map(|k| std::env::var(k).ok())
            .is_some_and(|u| {
                deployment::parse_site(&u)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .is_some_and(|h| !h.eq_ignore_ascii_case(host))
            });
        if !tok.trim().is_empty() && !other_site {
            let login = std::env::var("JIRA_EMAIL")
                .or_else(|_| std::env::var("JIRA_USER"))
                .ok();
            return Some((login, tok.trim().to_string(), "JIRA_API_TOKEN".into()));
        }
    }
    let netrc = std::env::var_os("NETRC")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".netrc")))?;
    let text = std::fs::read_to_string(&netrc).ok()?;
    let (login, password) = netrc_entry(&text, host)?;
    Some((login, password, netrc.display().to_string()))
}

/// The `login`/`password` of the `machine HOST` entry in netrc text.
pub fn netrc_entry(text: &str, host: &str) -> Option<(Option<String>, String)> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    let (mut in_host, mut login, mut password) = (false, None, None);
    while i < tokens.len() {
        match tokens[i] {
            "machine" | "default" => {
                if in_host {
                    break;
                }
                in_host = tokens[i] == "machine"
                    && tokens
                        .get(i + 1)
                        .is_some_and(|h| h.eq_ignore_ascii_case(host));
                i += if tokens[i] == "machine" { 2 } else { 1 };
            }
            "login" if in_host => {
                login = tokens.get(i + 1).map(|s| s.to_string());
                i += 2;
            }
            "password" if in_host => {
                password = tokens.get(i + 1).map(|s| s.to_string());
                i += 2;
            }
            _ => i += 1,
        }
    }
    password.map(|p| (login, p))
}

pub async fn run(a: LoginArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let tty = interactive()
        && !a.token_stdin
        && !a.password_stdin
        && !a.client_secret_stdin
        && !a.paste_verifier;
    let opts = ClientOptions {
        verbose: g.verbose,
        ca_bundle: a.ca_bundle.clone(),
        client_cert: a.client_cert.clone(),
        client_key: a.client_key.clone(),
    };
    // Cloud 3LO finds its site after consent (accessible-resources), so no site is needed first.
    if a.method.as_deref() == Some("oauth2") {
        super::oauth2::cloud(&a, g, &opts, tty).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let site_text = match &a.site {
        Some(s) => s.clone(),
        None if tty => ask("Confluence site URL (e.g. https://acme.atlassian.net or https://confluence.example.com/confluence): ")?,
        None => anyhow::bail!("--site is required when no terminal is attached"),
    };
    let site = deployment::parse_site(&site_text)?;
    let probe_http = build_http(&opts)?;

    // Which deployment: flag, then the host name, then asking the server.
    let method_flag = a.method.as_deref().map(Method::parse).transpose()?;
    let (mut dep, mut cloud_id) =
        match a.deployment.as_deref().map(Deployment::parse).transpose()? {
            Some(d) => (d, None),
            None => match deployment::classify(&site) {
                Some(Deployment::CloudScoped) => {
                    (Deployment::CloudScoped, deployment::gateway_cloud_id(&site))
                }
                Some(d) => (d, None),
                None => deployment::probe(&probe_http, &site).await?,
            },
        };
    let method = match method_flag {
        Some(m) => m,
        None if tty => choose_method(dep)?,
        None if dep == Deployment::DataCenter => Method::Pat,
        None if dep == Deployment::CloudScoped => Method::ScopedToken,
        None => Method::ApiToken,
    };
    // Client credentials exist on both (Cloud and DC service accounts).
    let fits =
        method == Method::ClientCredentials || dep.is_cloud() == method.deployment().is_cloud();
    if method.stores_json() && !fits {
        anyhow::bail!(
            "{site} is Confluence {}, which does not offer {method}; {}",
            if dep.is_cloud() {
                "Cloud"
            } else {
                "Data Center"
            },
            if dep.is_cloud() {
                "use oauth2, client-credentials, api-token or scoped-token"
            } else {
                "use pat, oauth1, oauth1-impersonation, dc-oauth2, cookie or basic"
            }
        );
    }
    if tty && method.stores_json() {
        eprintln!("{}", setup_hint(method, &site));
    }
    match method {
        Method::Oauth2 => super::oauth2::cloud(&a, g, &opts, tty).await?,
        Method::DcOauth2 => super::oauth2::dc(&a, g, &opts, tty, &site).await?,
        Method::ClientCredentials => {
            super::oauth2::client_credentials(&a, g, &opts, tty, &site, dep, cloud_id.clone())
                .await?
        }
        Method::Oauth1 => super::oauth1::three_legged(&a, g, &opts, tty, &site).await?,
        Method::Oauth1Impersonation => {
            super::oauth1::impersonation(&a, g, &opts, tty, &site).await?
        }
        Method::Cookie => super::oauth1::cookie(&a, g, &opts, tty, &site).await?,
        _ => {}
    }
    if method.stores_json() {
        return Ok(ExitCode::SUCCESS);
    }
    match (dep.is_cloud(), method.deployment().is_cloud()) {
        (true, false) => anyhow::bail!(
            "{site} is Atlassian Cloud, which does not accept {method}; use --method api-token \
             (create a token at {CLOUD_TOKEN_PAGE}) or --method scoped-token"
        ),
        (false, true) => anyhow::bail!(
            "{site} is Confluence Data Center, which does not accept Atlassian Cloud API tokens; \
             use --method pat (profile → Personal Access Tokens) or --method basic"
        ),
        _ => {}
    }
    if method == Method::ScopedToken {
        dep = Deployment::CloudScoped;
    } else if dep == Deployment::CloudScoped {
        dep = Deployment::Cloud;
    }

    // Who: Cloud email or DC username.
    let login = match method {
        Method::ApiToken | Method::ScopedToken => Some(match &a.email {
            Some(e) => e.clone(),
            None if tty => ask("Atlassian account email: ")?,
            None => anyhow::bail!("--email is required for {method}"),
        }),
        Method::Basic => Some(match &a.username {
            Some(u) => u.clone(),
            None if tty => ask("Username: ")?,
            None => anyhow::bail!("--username is required for basic"),
        }),
        _ => None,
    };
    if method == Method::Basic {
        eprintln!(
            "warning: Basic authentication with a password is legacy (and often disabled by admins); \
             prefer a personal access token: --method pat"
        );
    }

    // The secret: stdin, a Jira token on offer, or a hidden prompt.
    let host = site.host_str().unwrap_or_default().to_string();
    let jira = if method == Method::ApiToken {
        find_jira_token(&host)
    } else {
        None
    };
    let secret = if a.token_stdin || a.password_stdin {
        read_stdin_secret(if method == Method::Basic {
            "password"
        } else {
            "token"
        })?
    } else if a.use_jira_token {
        let (_, tok, from) = jira.clone().with_context(|| {
            if method == Method::ApiToken {
                format!(
                    "--use-jira-token: no Jira API token for {host} in JIRA_API_TOKEN or ~/.netrc"
                )
            } else {
                format!("--use-jira-token works with --method api-token only (not {method})")
            }
        })?;
        eprintln!("Using the Jira API token from {from} (Atlassian API tokens work for every product on the site).");
        tok
    } else if tty {
        let offered = match &jira {
            Some((_, tok, from)) => {
                let yes = ask(&format!("A Jira API token for {host} was found in {from}; use it for Confluence too? [Y/n] "))?;
                (yes.is_empty() || yes.eq_ignore_ascii_case("y") || yes.eq_ignore_ascii_case("yes"))
                    .then(|| tok.clone())
            }
            None => None,
        };
        match offered {
            Some(t) => t,
            None => {
                eprintln!("{}", where_to_create(method, &site));
                ask_secret(if method == Method::Basic {
                    "Password: "
                } else {
                    "Token: "
                })?
            }
        }
    } else {
        if let Some((_, _, from)) = &jira {
            eprintln!("note: a Jira API token for {host} was found in {from}; pass --use-jira-token to reuse it");
        }
        anyhow::bail!(
            "no secret given: pass --token-stdin (or --password-stdin for basic). {}",
            where_to_create(method, &site)
        );
    };

    let api_base = match dep {
        Deployment::CloudScoped => {
            let gateway = if deployment::classify(&site) == Some(Deployment::CloudScoped) {
                let mut g = site.clone();
                let p = g
                    .path()
                    .split("/ex/confluence/")
                    .next()
                    .unwrap_or("")
                    .to_string();
                g.set_path(&p);
                g
            } else {
                deployment::parse_site(&a.api_gateway_url).context("--api-gateway-url")?
            };
            if cloud_id.is_none() {
                cloud_id = Some(deployment::tenant_cloud_id(&probe_http, &site).await.context(
                    "scoped tokens need the site's cloud id; pass the site URL (https://NAME.atlassian.net)",
                )?);
            }
            deployment::scoped_api_base(&gateway, cloud_id.as_deref().unwrap_or_default())
        }
        Deployment::Cloud => deployment::cloud_api_base(&site),
        Deployment::DataCenter => site.as_str().trim_end_matches('/').to_string(),
    };
    let site_str = match dep {
        Deployment::DataCenter => api_base.clone(),
        _ if deployment::classify(&site) == Some(Deployment::CloudScoped) => {
            site.as_str().trim_end_matches('/').to_string()
        }
        _ => deployment::cloud_site_root(&site)
            .as_str()
            .trim_end_matches('/')
            .to_string(),
    };

    let cred = Credential::new(method, dep, &api_base, login.clone(), secret, Source::Login)?;
    let client = Client::new(cred, &opts)?;
    let who = identity::whoami(&client)
        .await
        .map_err(|e| anyhow::anyhow!("login failed, nothing was saved: {e:#}"))?;

    super::save::save(
        super::save::Login {
            site: site_str,
            default_name: default_profile_name(&site),
            deployment: dep,
            method,
            api_base,
            cloud_id,
            login,
            oauth: Default::default(),
            secret: client.cred.secret().to_string(),
            expires_at: None,
        },
        &who,
        &a,
        g,
    )?;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn default_profile_name(site: &Url) -> String {
    let host = site.host_str().unwrap_or("default");
    match site.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

fn where_to_create(method: Method, site: &Url) -> String {
    match method {
        Method::ApiToken => format!("Create an API token at {CLOUD_TOKEN_PAGE}."),
        Method::ScopedToken => format!(
            "Create a scoped API token (\"Create API token with scopes\", app: Confluence) at {CLOUD_TOKEN_PAGE}."
        ),
        Method::Pat => format!(
            "Create a personal access token in Confluence: your avatar → Profile → Personal Access Tokens \
             ({}/plugins/personalaccesstokens/usertokens.action).",
            site.as_str().trim_end_matches('/')
        ),
        _ => "Enter your Confluence password.".to_string(),
    }
}

/// Where the pieces a non-token method needs come from (said in the guided login).
fn setup_hint(method: Method, site: &Url) -> String {
    let base = site.as_str().trim_end_matches('/');
    match method {
        Method::Oauth2 => "You need an OAuth 2.0 (3LO) app from https://developer.atlassian.com/console/myapps/ \
             with the Confluence scopes and the callback URL http://127.0.0.1:8976/callback."
            .into(),
        Method::ClientCredentials => "You need a service account's OAuth 2.0 client id and secret (Cloud: \
             admin.atlassian.com → Directory → Service accounts; DC: an administrator's service account)."
            .into(),
        Method::Oauth1 | Method::Oauth1Impersonation => format!(
            "You need an application link's consumer key and its RSA private key: an administrator \
             creates it at {base}/plugins/servlet/applinks/listApplicationLinks{}.",
            if method == Method::Oauth1Impersonation {
                " and allows user impersonation for it"
            } else {
                ""
            }
        ),
        Method::DcOauth2 => format!(
            "You need an incoming OAuth 2.0 link (client id and secret) with the redirect URL \
             http://127.0.0.1:8976/callback: an administrator creates it at {base}/plugins/servlet/oauth2/consumers/list."
        ),
        _ => "Enter your Confluence username and password; cfl keeps the session it opens.".into(),
    }
}

fn choose_method(dep: Deployment) -> anyhow::Result<Method> {
    let options: &[(Method, &str)] = if dep.is_cloud() {
        &[
            (Method::ApiToken, "API token (email + token; classic)"),
            (
                Method::ScopedToken,
                "Scoped API token (through api.atlassian.com)",
            ),
            (
                Method::Oauth2,
                "OAuth 2.0 app (browser consent; needs the app's client id and secret)",
            ),
            (
                Method::ClientCredentials,
                "Service account (OAuth 2.0 client credentials)",
            ),
        ]
    } else {
        &[
            (Method::Pat, "Personal access token (recommended)"),
            (
                Method::Oauth1,
                "OAuth 1.0a application link (browser approval; consumer key + private key)",
            ),
            (
                Method::Oauth1Impersonation,
                "OAuth 1.0a application link acting as a user (admins, service accounts)",
            ),
            (
                Method::DcOauth2,
                "OAuth 2.0 incoming link (browser consent, PKCE)",
            ),
            (
                Method::Cookie,
                "Session cookie (username and password, one login)",
            ),
            (Method::Basic, "Username and password (legacy)"),
        ]
    };
    eprintln!(
        "This is Confluence {}. How do you want to log in?",
        if dep.is_cloud() {
            "Cloud"
        } else {
            "Data Center"
        }
    );
    for (i, (_, label)) in options.iter().enumerate() {
        eprintln!("  {}. {label}", i + 1);
    }
    let answer = ask("Choice [1]: ")?;
    let idx = if answer.is_empty() {
        1
    } else {
        answer.parse::<usize>().unwrap_or(0)
    };
    options
        .get(idx.wrapping_sub(1))
        .map(|(m, _)| *m)
        .with_context(|| format!("{answer:?} is not one of the choices"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netrc_finds_the_machine_entry() {
        let text = "machine other.atlassian.net login x password y\n\
                    machine acme.atlassian.net\n  login me@acme.com\n  password tok123\ndefault login a password b\n";
        assert_eq!(
            netrc_entry(text, "acme.atlassian.net"),
            Some((Some("me@acme.com".into()), "tok123".into()))
        );
        assert_eq!(netrc_entry(text, "nope.atlassian.net"), None);
    }
}
