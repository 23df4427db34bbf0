//! `cfl auth login`, every method: scriptable with flags, interactive when a person can answer.
//! The credential is verified (current user, not anonymous) before anything is saved. The
//! binary parses the arguments into [`Options`] and answers the questions and prints through
//! [`Prompt`]; each method's flow lives in its own file (`token.rs` for the token methods,
//! `oauth2.rs`, `oauth1.rs` with cookie), `save.rs` stores the result.

mod guide;
mod oauth1;
mod oauth2;
mod options;
mod save;
mod token;

use crate::config::Method;
use crate::deployment::{self, Deployment};
use crate::http::build_http;
use crate::ClientOptions;

pub use oauth2::{CLOUD_SCOPES, DEFAULT_REDIRECT};
pub(crate) use options::say;
pub use options::{Globals, Options, Prompt};
pub use save::fmt_time;
use save::{default_profile_name, login_failed};
pub use token::{find_jira_token, netrc_entry};

/// Logs in and saves the profile: the site's deployment (flag, host name, or asking the
/// server), the method (flag, a question, or the deployment's default), then the method's flow.
pub async fn run(a: Options, g: &Globals) -> crate::error::Result<()> {
    let tty = a.ui.interactive()
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
        return oauth2::cloud(&a, g, &opts, tty).await;
    }
    let site_text = match &a.site {
        Some(s) => s.clone(),
        None if tty => a.ui.ask("Confluence site URL (e.g. https://acme.atlassian.net or https://confluence.example.com/confluence): ")?,
        None => crate::error::invalid!("--site is required when no terminal is attached"),
    };
    let site = deployment::parse_site(&site_text)?;
    let probe_http = build_http(&opts)?;

    // Which deployment: flag, then the host name, then asking the server.
    let method_flag = a.method.as_deref().map(Method::parse).transpose()?;
    let (dep, cloud_id) = match a.deployment.as_deref().map(Deployment::parse).transpose()? {
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
        None if tty => guide::choose_method(&a, dep)?,
        None if dep == Deployment::DataCenter => Method::Pat,
        None if dep == Deployment::CloudScoped => Method::ScopedToken,
        None => Method::ApiToken,
    };
    // Client credentials exist on both (Cloud and DC service accounts).
    let fits =
        method == Method::ClientCredentials || dep.is_cloud() == method.deployment().is_cloud();
    if method.stores_json() && !fits {
        crate::error::invalid!(
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
        say!(a, "{}", guide::setup_hint(method, &site));
    }
    match method {
        Method::Oauth2 => oauth2::cloud(&a, g, &opts, tty).await?,
        Method::DcOauth2 => oauth2::dc(&a, g, &opts, tty, &site).await?,
        Method::ClientCredentials => {
            oauth2::client_credentials(&a, g, &opts, tty, &site, dep, cloud_id.clone()).await?
        }
        Method::Oauth1 => oauth1::three_legged(&a, g, &opts, tty, &site).await?,
        Method::Oauth1Impersonation => oauth1::impersonation(&a, g, &opts, tty, &site).await?,
        Method::Cookie => oauth1::cookie(&a, g, &opts, tty, &site).await?,
        _ => {}
    }
    if method.stores_json() {
        return Ok(());
    }
    token::login(
        &a,
        g,
        &opts,
        tty,
        token::Found {
            site,
            dep,
            cloud_id,
            method,
            probe_http,
        },
    )
    .await
}
