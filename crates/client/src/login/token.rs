//! `cfl auth login` for the token methods (`api-token`, `scoped-token`, `pat`, `basic`): who
//! (email or username), the secret (stdin, a Jira token found for the site, or a hidden
//! prompt), and the API base (scoped tokens go through the API gateway).

use std::path::PathBuf;

use crate::error::Context;
use url::Url;

use super::{say, Globals, Options};
use crate::config::Method;
use crate::credentials::{Credential, Source};
use crate::deployment::{self, Deployment};
use crate::{identity, Client, ClientOptions};

const CLOUD_TOKEN_PAGE: &str = "https://id.atlassian.com/manage-profile/security/api-tokens";

/// What the common part of the login found out.
pub(super) struct Found {
    pub site: Url,
    pub dep: Deployment,
    pub cloud_id: Option<String>,
    pub method: Method,
    pub probe_http: reqwest::Client,
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

pub(super) async fn login(
    a: &Options,
    g: &Globals,
    opts: &ClientOptions,
    tty: bool,
    found: Found,
) -> crate::error::Result<()> {
    let Found {
        site,
        mut dep,
        cloud_id,
        method,
        probe_http,
    } = found;
    match (dep.is_cloud(), method.deployment().is_cloud()) {
        (true, false) => crate::error::invalid!(
            "{site} is Atlassian Cloud, which does not accept {method}; use --method api-token \
             (create a token at {CLOUD_TOKEN_PAGE}) or --method scoped-token"
        ),
        (false, true) => crate::error::invalid!(
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

    let login = who(a, method, tty)?;
    let secret = secret(a, method, &site, tty)?;
    let (api_base, cloud_id) = api_base(a, &site, dep, cloud_id, &probe_http).await?;
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
    let client = Client::new(cred, opts)?;
    let who = identity::whoami(&client)
        .await
        .map_err(super::login_failed)?;

    super::save::save(
        super::save::Login {
            site: site_str,
            default_name: super::default_profile_name(&site),
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
        a,
        g,
    )
}

/// Who: the Cloud email or the DC username.
fn who(a: &Options, method: Method, tty: bool) -> crate::error::Result<Option<String>> {
    let login = match method {
        Method::ApiToken | Method::ScopedToken => Some(match &a.email {
            Some(e) => e.clone(),
            None if tty => a.ui.ask("Atlassian account email: ")?,
            None => crate::error::invalid!("--email is required for {method}"),
        }),
        Method::Basic => Some(match &a.username {
            Some(u) => u.clone(),
            None if tty => a.ui.ask("Username: ")?,
            None => crate::error::invalid!("--username is required for basic"),
        }),
        _ => None,
    };
    if method == Method::Basic {
        say!(a,
            "warning: Basic authentication with a password is legacy (and often disabled by admins); \
             prefer a personal access token: --method pat"
        );
    }

    Ok(login)
}

/// The secret: stdin, a Jira token on offer, or a hidden prompt.
fn secret(a: &Options, method: Method, site: &Url, tty: bool) -> crate::error::Result<String> {
    let host = site.host_str().unwrap_or_default().to_string();
    let jira = if method == Method::ApiToken {
        find_jira_token(&host)
    } else {
        None
    };
    let secret = if a.token_stdin || a.password_stdin {
        a.ui.stdin_secret(if method == Method::Basic {
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
        say!(a, "Using the Jira API token from {from} (Atlassian API tokens work for every product on the site).");
        tok
    } else if tty {
        let offered = match &jira {
            Some((_, tok, from)) => {
                let yes = a.ui.ask(&format!("A Jira API token for {host} was found in {from}; use it for Confluence too? [Y/n] "))?;
                (yes.is_empty() || yes.eq_ignore_ascii_case("y") || yes.eq_ignore_ascii_case("yes"))
                    .then(|| tok.clone())
            }
            None => None,
        };
        match offered {
            Some(t) => t,
            None => {
                say!(a, "{}", where_to_create(method, site));
                a.ui.secret(if method == Method::Basic {
                    "Password: "
                } else {
                    "Token: "
                })?
            }
        }
    } else {
        if let Some((_, _, from)) = &jira {
            say!(a, "note: a Jira API token for {host} was found in {from}; pass --use-jira-token to reuse it");
        }
        crate::error::invalid!(
            "no secret given: pass --token-stdin (or --password-stdin for basic). {}",
            where_to_create(method, site)
        );
    };

    Ok(secret)
}

/// Where REST paths are rooted, and the cloud id when the gateway needs one (scoped tokens go
/// through `GATEWAY/ex/confluence/CLOUD_ID/wiki`).
async fn api_base(
    a: &Options,
    site: &Url,
    dep: Deployment,
    mut cloud_id: Option<String>,
    probe_http: &reqwest::Client,
) -> crate::error::Result<(String, Option<String>)> {
    let api_base = match dep {
        Deployment::CloudScoped => {
            let gateway = if deployment::classify(site) == Some(Deployment::CloudScoped) {
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
                cloud_id = Some(deployment::tenant_cloud_id(probe_http, site).await.context(
                    "scoped tokens need the site's cloud id; pass the site URL (https://NAME.atlassian.net)",
                )?);
            }
            deployment::scoped_api_base(&gateway, cloud_id.as_deref().unwrap_or_default())
        }
        Deployment::Cloud => deployment::cloud_api_base(site),
        Deployment::DataCenter => site.as_str().trim_end_matches('/').to_string(),
    };
    Ok((api_base, cloud_id))
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
