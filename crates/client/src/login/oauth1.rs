//! `cfl auth login` for DC OAuth 1.0a application links: `oauth1` (three-legged: request token,
//! the user approves in a browser, the verifier comes back on a loopback redirect or is pasted,
//! access token) and `oauth1-impersonation` (two-legged acting as `--as USER`, nothing
//! interactive). The private key's contents go to the secret store, the consumer key and user to
//! the profile. Also `cookie`: a DC session opened by one Basic login and renewed the same way.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::Method;
use crate::deployment::Deployment;
use crate::error::Context;
use crate::oauth::loopback::{open_browser, Callback};
use crate::oauth::{oauth1, StoredSecret};
use crate::ClientOptions;
use url::Url;

use super::oauth2::finish;
use super::save::Login;
use super::Globals;
use super::{say, Options};

fn key_and_pem(a: &Options, tty: bool) -> crate::error::Result<(String, String)> {
    let key = match &a.consumer_key {
        Some(k) => k.clone(),
        None if tty => a.ui.ask("Consumer key (from the application link): ")?,
        None => crate::error::invalid!(
            "--consumer-key is required for {}",
            a.method.as_deref().unwrap_or("oauth1")
        ),
    };
    let path = match &a.private_key {
        Some(p) => p.clone(),
        None if tty => a.ui.ask("Private key file (PEM): ")?.into(),
        None => {
            crate::error::invalid!(
                "--private-key FILE (the consumer's RSA private key, PEM) is required"
            )
        }
    };
    let pem = std::fs::read_to_string(&path).map_err(|e| {
        crate::Error::io(format!("cannot read --private-key {}", path.display()), e)
    })?;
    // Checked now so a bad file is reported before anything goes over the network.
    oauth1::consumer(&key, &pem).with_context(|| format!("--private-key {}", path.display()))?;
    Ok((key, pem))
}

fn dc_login(
    site: &Url,
    method: Method,
    login: Option<String>,
    oauth: BTreeMap<String, String>,
    s: StoredSecret,
) -> Login {
    let base = site.as_str().trim_end_matches('/').to_string();
    Login {
        site: base.clone(),
        default_name: super::default_profile_name(site),
        deployment: Deployment::DataCenter,
        method,
        api_base: base,
        cloud_id: None,
        login,
        oauth,
        secret: s.to_json(),
        expires_at: None,
    }
}

/// Three-legged OAuth 1.0a.
pub async fn three_legged(
    a: &Options,
    g: &Globals,
    opts: &ClientOptions,
    tty: bool,
    site: &Url,
) -> crate::error::Result<()> {
    let http = crate::http::build_http(opts)?;
    let (key, pem) = key_and_pem(a, tty)?;
    let consumer = oauth1::consumer(&key, &pem)?;
    let base = site.as_str().trim_end_matches('/');
    let callback = if a.paste_verifier {
        None
    } else {
        Some(
            Callback::bind(
                a.redirect_uri
                    .as_deref()
                    .unwrap_or("http://127.0.0.1:0/callback"),
            )
            .await?,
        )
    };
    let callback_uri = callback
        .as_ref()
        .map(|c| c.redirect_uri.clone())
        .unwrap_or_else(|| "oob".into());
    let request_token = oauth1::request_token(&http, base, &consumer, &callback_uri)
        .await
        .context("getting a request token failed")?;
    open_browser(&oauth1::authorize_url(base, &request_token), a.no_browser);
    let verifier = match callback {
        Some(cb) => {
            say!(
                a,
                "Waiting for the browser to come back to {callback_uri} …"
            );
            let q = cb
                .wait(("oauth_token", &request_token), Duration::from_secs(300))
                .await?;
            q.get("oauth_verifier")
                .filter(|v| !v.is_empty())
                .cloned()
                .context("the redirect carried no oauth_verifier")?
        }
        None => {
            let v = if tty {
                a.ui.ask("Verification code shown after approving: ")?
            } else {
                a.ui.stdin_secret("verification code")?
            };
            if v.is_empty() {
                crate::error::invalid!("no verification code given");
            }
            v
        }
    };
    let access = oauth1::access_token(&http, base, &consumer, &request_token, &verifier)
        .await
        .context("exchanging the approved request token failed, nothing was saved")?;
    let oauth = [("consumer_key".to_string(), key)].into();
    let s = StoredSecret {
        private_key: Some(pem),
        access_token: Some(access),
        ..Default::default()
    };
    finish(dc_login(site, Method::Oauth1, None, oauth, s), a, g, opts).await
}

/// Two-legged OAuth 1.0a acting as `--as USER`.
pub async fn impersonation(
    a: &Options,
    g: &Globals,
    opts: &ClientOptions,
    tty: bool,
    site: &Url,
) -> crate::error::Result<()> {
    let (key, pem) = key_and_pem(a, tty)?;
    let user = match &a.as_user {
        Some(u) => u.clone(),
        None if tty => a.ui.ask("Act as which user: ")?,
        None => crate::error::invalid!(
            "--as USER is required for oauth1-impersonation (the user every request acts as)"
        ),
    };
    if user.trim().is_empty() {
        crate::error::invalid!("--as needs a username");
    }
    let oauth = [
        ("consumer_key".to_string(), key),
        ("as_user".to_string(), user.clone()),
    ]
    .into();
    let s = StoredSecret {
        private_key: Some(pem),
        ..Default::default()
    };
    finish(
        dc_login(site, Method::Oauth1Impersonation, Some(user), oauth, s),
        a,
        g,
        opts,
    )
    .await
}

/// DC session cookie: Basic once, then `JSESSIONID`.
pub async fn cookie(
    a: &Options,
    g: &Globals,
    opts: &ClientOptions,
    tty: bool,
    site: &Url,
) -> crate::error::Result<()> {
    let user = match &a.username {
        Some(u) => u.clone(),
        None if tty => a.ui.ask("Username: ")?,
        None => crate::error::invalid!("--username is required for cookie"),
    };
    let password = if a.password_stdin {
        a.ui.stdin_secret("password")?
    } else if tty {
        a.ui.secret("Password: ")?
    } else {
        crate::error::invalid!(
            "no password given: pass it on standard input with --password-stdin"
        );
    };
    let s = StoredSecret {
        password: Some(password),
        ..Default::default()
    };
    finish(
        dc_login(site, Method::Cookie, Some(user), BTreeMap::new(), s),
        a,
        g,
        opts,
    )
    .await
}
