//! `cfl auth login` for the OAuth 2.0 methods: Cloud 3LO (`oauth2`: browser consent, loopback
//! redirect, `state` checked, `offline_access` for a rotating refresh token, the site picked from
//! accessible-resources), the DC provider (`dc-oauth2`: the same with PKCE S256) and client
//! credentials (`client-credentials`: Cloud or DC service accounts, no browser).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::Method;
use crate::credentials::{Credential, Source};
use crate::deployment::{self, Deployment};
use crate::error::Context;
use crate::oauth::loopback::{open_browser, Callback};
use crate::oauth::token::{self, Endpoint};
use crate::oauth::{now, random_urlsafe, StoredSecret};
use crate::{identity, Client, ClientOptions};
use url::Url;

use super::save::{save, Login};
use super::Globals;
use super::{login_failed, say, Options};

/// Scopes asked by default on Cloud: what the cfl commands use, plus a refresh token.
pub const CLOUD_SCOPES: &str = "read:confluence-content.all write:confluence-content \
     read:confluence-space.summary search:confluence read:confluence-user offline_access";
/// The redirect URI cfl listens on unless `--redirect-uri` says otherwise (register it in the app).
pub const DEFAULT_REDIRECT: &str = "http://127.0.0.1:8976/callback";
const WAIT: Duration = Duration::from_secs(300);

pub(super) fn client_id(a: &Options, tty: bool) -> crate::error::Result<String> {
    match &a.client_id {
        Some(c) => Ok(c.clone()),
        None if tty => a.ui.ask("OAuth 2.0 client id: "),
        None => crate::error::invalid!(
            "--client-id is required for {}",
            a.method.as_deref().unwrap_or("")
        ),
    }
}

pub(super) fn client_secret(a: &Options, tty: bool) -> crate::error::Result<String> {
    if a.client_secret_stdin {
        return a.ui.stdin_secret("client secret");
    }
    if tty {
        return a.ui.secret("OAuth 2.0 client secret: ");
    }
    crate::error::invalid!(
        "the client secret is required: pass it on standard input with --client-secret-stdin"
    )
}

fn tokens_to_secret(t: token::Tokens, client_secret: String) -> StoredSecret {
    StoredSecret {
        access_token: Some(t.access_token),
        refresh_token: t.refresh_token,
        expires_at: t.expires_in.map(|e| now() + e),
        client_secret: Some(client_secret),
        ..Default::default()
    }
}

/// The authorization-code dance common to Cloud and DC: returns the token answer.
async fn code_flow(
    http: &reqwest::Client,
    a: &Options,
    authorize_url: &str,
    ep: &Endpoint,
    secret: &str,
    extra: &[(&str, &str)],
    pkce: bool,
) -> crate::error::Result<token::Tokens> {
    let cb = Callback::bind(a.redirect_uri.as_deref().unwrap_or(DEFAULT_REDIRECT)).await?;
    let state = random_urlsafe(24);
    let (verifier, challenge) = token::pkce();
    let mut url = Url::parse(authorize_url)
        .map_err(|e| crate::Error::Invalid(format!("bad URL {authorize_url:?}: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        q.append_pair("client_id", &ep.client_id)
            .append_pair("redirect_uri", &cb.redirect_uri)
            .append_pair("state", &state)
            .append_pair("response_type", "code");
        if pkce {
            q.append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    let redirect_uri = cb.redirect_uri.clone();
    open_browser(url.as_str(), a.no_browser);
    say!(
        a,
        "Waiting for the browser to come back to {redirect_uri} …"
    );
    let q = cb.wait(("state", &state), WAIT).await?;
    let code = q
        .get("code")
        .filter(|c| !c.is_empty())
        .context("the redirect carried no authorization code")?;
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
    ];
    if pkce {
        params.push(("code_verifier", &verifier));
    }
    token::request(http, ep, Some(secret), &params)
        .await
        .context("exchanging the authorization code failed")
}

/// Cloud 3LO.
pub async fn cloud(
    a: &Options,
    g: &Globals,
    opts: &ClientOptions,
    tty: bool,
) -> crate::error::Result<()> {
    let http = crate::http::build_http(opts)?;
    let client_id = client_id(a, tty)?;
    let secret = client_secret(a, tty)?;
    let auth = deployment::parse_site(&a.auth_url).context("--auth-url")?;
    let gateway = deployment::parse_site(&a.api_gateway_url).context("--api-gateway-url")?;
    let mut scope = a.scope.clone().unwrap_or_else(|| CLOUD_SCOPES.to_string());
    if !scope.split_whitespace().any(|s| s == "offline_access") {
        // Without it there is no refresh token and the login lasts one hour.
        scope.push_str(" offline_access");
    }
    let ep = Endpoint {
        token_url: deployment::join(&auth, "oauth/token"),
        client_id: client_id.clone(),
        json: true,
    };
    let t = code_flow(
        &http,
        a,
        &deployment::join(&auth, "authorize"),
        &ep,
        &secret,
        &[
            ("audience", "api.atlassian.com"),
            ("scope", &scope),
            ("prompt", "consent"),
        ],
        false,
    )
    .await?;
    if t.refresh_token.is_none() {
        say!(a, "warning: no refresh token was granted (offline_access refused?); this login lasts until the access token expires");
    }
    let sites = token::accessible_resources(&http, gateway.as_str(), &t.access_token).await?;
    let site = pick_site(a, &sites, a.site.as_deref(), tty)?;
    let api_base = deployment::scoped_api_base(&gateway, &site.id);
    let oauth: BTreeMap<String, String> = [
        ("client_id", client_id),
        ("token_url", ep.token_url.clone()),
        ("token_body", "json".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let stored = tokens_to_secret(t, secret);
    let host = Url::parse(&site.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| site.id.clone());
    finish(
        Login {
            site: site.url.trim_end_matches('/').to_string(),
            default_name: host,
            deployment: Deployment::CloudScoped,
            method: Method::Oauth2,
            api_base,
            cloud_id: Some(site.id.clone()),
            login: None,
            oauth,
            secret: stored.to_json(),
            expires_at: stored.expires_at,
        },
        a,
        g,
        opts,
    )
    .await
}

fn pick_site(
    a: &Options,
    sites: &[token::Resource],
    wanted: Option<&str>,
    tty: bool,
) -> crate::error::Result<token::Resource> {
    if sites.is_empty() {
        crate::error::invalid!("the app was granted no Confluence site (accessible-resources is empty); approve a site in the consent screen");
    }
    let list = || {
        sites
            .iter()
            .map(|s| format!("{} ({})", s.url, s.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(w) = wanted {
        let want = deployment::parse_site(w)?;
        let host = want.host_str().unwrap_or("").to_ascii_lowercase();
        return sites
            .iter()
            .find(|s| {
                s.id == w
                    || deployment::parse_site(&s.url).ok().is_some_and(|u| {
                        u.host_str().unwrap_or("").eq_ignore_ascii_case(&host)
                            && u.port_or_known_default() == want.port_or_known_default()
                    })
            })
            .cloned()
            .with_context(|| {
                format!(
                    "--site {w} is not among the sites this app may reach: {}",
                    list()
                )
            });
    }
    if sites.len() == 1 {
        return Ok(sites[0].clone());
    }
    if !tty {
        crate::error::invalid!(
            "the app may reach several sites; choose one with --site: {}",
            list()
        );
    }
    for (i, s) in sites.iter().enumerate() {
        say!(a, "  {}. {} ({})", i + 1, s.url, s.name);
    }
    let answer = a.ui.ask("Which site? [1]: ")?;
    let i = if answer.is_empty() {
        1
    } else {
        answer.parse().unwrap_or(0)
    };
    sites
        .get(usize::wrapping_sub(i, 1))
        .cloned()
        .with_context(|| format!("{answer:?} is not one of the choices"))
}

/// DC OAuth 2.0 provider: authorization code + PKCE S256.
pub async fn dc(
    a: &Options,
    g: &Globals,
    opts: &ClientOptions,
    tty: bool,
    site: &Url,
) -> crate::error::Result<()> {
    let http = crate::http::build_http(opts)?;
    let client_id = client_id(a, tty)?;
    let secret = client_secret(a, tty)?;
    let base = site.as_str().trim_end_matches('/').to_string();
    let ep = Endpoint {
        token_url: format!("{base}/rest/oauth2/latest/token"),
        client_id: client_id.clone(),
        json: false,
    };
    let scope = a.scope.clone().unwrap_or_else(|| "WRITE".to_string());
    let t = code_flow(
        &http,
        a,
        &format!("{base}/rest/oauth2/latest/authorize"),
        &ep,
        &secret,
        &[("scope", &scope)],
        true,
    )
    .await?;
    let oauth: BTreeMap<String, String> = [
        ("client_id", client_id),
        ("token_url", ep.token_url.clone()),
        ("token_body", "form".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let stored = tokens_to_secret(t, secret);
    finish(
        Login {
            site: base.clone(),
            default_name: super::default_profile_name(site),
            deployment: Deployment::DataCenter,
            method: Method::DcOauth2,
            api_base: base,
            cloud_id: None,
            login: None,
            oauth,
            secret: stored.to_json(),
            expires_at: stored.expires_at,
        },
        a,
        g,
        opts,
    )
    .await
}

/// Client credentials: Cloud service accounts (`auth.atlassian.com`, bearer on the API gateway)
/// or DC service accounts (`/rest/oauth2/latest/token`).
pub async fn client_credentials(
    a: &Options,
    g: &Globals,
    opts: &ClientOptions,
    tty: bool,
    site: &Url,
    dep: Deployment,
    cloud_id: Option<String>,
) -> crate::error::Result<()> {
    let http = crate::http::build_http(opts)?;
    let client_id = client_id(a, tty)?;
    let secret = client_secret(a, tty)?;
    let (ep, api_base, site_str, cloud_id, dep) = if dep.is_cloud() {
        let auth = deployment::parse_site(&a.auth_url).context("--auth-url")?;
        let gateway = deployment::parse_site(&a.api_gateway_url).context("--api-gateway-url")?;
        let id = match cloud_id.or_else(|| deployment::gateway_cloud_id(site)) {
            Some(id) => id,
            None => deployment::tenant_cloud_id(&http, site)
                .await
                .context("client credentials need the site's cloud id; pass the site URL (https://NAME.atlassian.net)")?,
        };
        (
            Endpoint {
                token_url: deployment::join(&auth, "oauth/token"),
                client_id: client_id.clone(),
                json: true,
            },
            deployment::scoped_api_base(&gateway, &id),
            deployment::cloud_site_root(site)
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            Some(id),
            Deployment::CloudScoped,
        )
    } else {
        let base = site.as_str().trim_end_matches('/').to_string();
        (
            Endpoint {
                token_url: format!("{base}/rest/oauth2/latest/token"),
                client_id: client_id.clone(),
                json: false,
            },
            base.clone(),
            base,
            None,
            Deployment::DataCenter,
        )
    };
    let mut params = vec![("grant_type", "client_credentials")];
    if let Some(s) = &a.scope {
        params.push(("scope", s));
    }
    let t = token::request(&http, &ep, Some(&secret), &params)
        .await
        .context("the client-credentials request failed, nothing was saved")?;
    let mut oauth: BTreeMap<String, String> = [
        ("client_id", client_id),
        ("token_url", ep.token_url.clone()),
        (
            "token_body",
            if ep.json { "json" } else { "form" }.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(s) = &a.scope {
        oauth.insert("scope".into(), s.clone());
    }
    let stored = tokens_to_secret(t, secret);
    finish(
        Login {
            site: site_str,
            default_name: super::default_profile_name(site),
            deployment: dep,
            method: Method::ClientCredentials,
            api_base,
            cloud_id,
            login: None,
            oauth,
            secret: stored.to_json(),
            expires_at: stored.expires_at,
        },
        a,
        g,
        opts,
    )
    .await
}

/// Verifies the login (current user, not anonymous) and saves it with what the client holds
/// now (a token may have been renewed on the way).
pub(super) async fn finish(
    mut l: Login,
    a: &Options,
    g: &Globals,
    opts: &ClientOptions,
) -> crate::error::Result<()> {
    let cred = Credential::new(
        l.method,
        l.deployment,
        &l.api_base,
        l.login.clone(),
        l.secret.clone(),
        Source::Login,
    )?
    .with_oauth(l.oauth.clone());
    let client = Client::new(cred, opts)?;
    let who = identity::whoami(&client).await.map_err(login_failed)?;
    if let Some(want) = l.oauth.get("as_user") {
        if !who.login.eq_ignore_ascii_case(want) {
            crate::error::invalid!(
                "login failed, nothing was saved: Confluence answered as {:?}, not {want:?}",
                who.login
            );
        }
    }
    if let Some(s) = client.stored_secret().await {
        l.secret = s.to_json();
        l.expires_at = s.expires_at;
    }
    save(l, &who, a, g)
}
