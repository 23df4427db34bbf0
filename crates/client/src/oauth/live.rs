//! What a running [`crate::Client`] keeps for the renewable methods: the current bearer (OAuth 2.0,
//! client credentials) or `JSESSIONID` (cookie), renewed before expiry or after a 401, and saved
//! back to the profile's secret store the moment a new one arrives — a rotated refresh token
//! exists nowhere else, so losing it would mean logging in again.
//!
//! One async mutex serialises renewals: concurrent requests that all see a 401 renew once (the
//! others find a token newer than the one that failed), which matters because presenting a
//! rotated refresh token twice is refused.

use std::path::PathBuf;

use anyhow::Context;
use base64::Engine;

use super::token::{self, Endpoint, GrantError, Refusal};
use super::StoredSecret;
use crate::config::{Method, SecretStore};
use crate::credentials::{Credential, Source};

/// Renew a bearer this long before it expires, so a request never leaves with a dying token.
const EARLY_SECS: i64 = 60;
/// A cookie session is replaced by a fresh login after this long, used or not: Confluence's idle
/// timeout is not visible to clients, and a dead session on a site with anonymous access is not
/// refused but answered as anonymous — so cfl never relies on a session old enough to have died
/// (Confluence's default timeout is 30 minutes or more; a 401 also triggers a new login).
const SESSION_SECS: i64 = 25 * 60;

pub struct Live {
    secret: tokio::sync::Mutex<Option<StoredSecret>>,
    /// Where to save renewals: (config dir, profile, file store?). None for unsaved credentials.
    persist: Option<(PathBuf, String, bool)>,
}

impl Live {
    pub fn new(cred: &Credential) -> anyhow::Result<Live> {
        let secret = if cred.method.stores_json() {
            Some(StoredSecret::parse(cred.secret())?)
        } else {
            None
        };
        let persist = match (&cred.profile, &cred.source) {
            (Some(p), Source::Store(store)) => crate::config::config_dir()
                .ok()
                .map(|d| (d, p.clone(), *store == SecretStore::File)),
            _ => None,
        };
        Ok(Live {
            secret: tokio::sync::Mutex::new(secret),
            persist,
        })
    }

    /// The stored secret as it is now (after any renewal).
    pub async fn snapshot(&self) -> Option<StoredSecret> {
        self.secret.lock().await.clone()
    }

    pub async fn expires_at(&self) -> Option<i64> {
        self.secret.lock().await.as_ref().and_then(|s| s.expires_at)
    }

    fn save(&self, s: &StoredSecret) -> anyhow::Result<()> {
        if let Some((dir, profile, file)) = &self.persist {
            crate::secrets::store(dir, profile, &s.to_json(), *file).with_context(|| {
                format!("cannot save the renewed credential of profile {profile:?}")
            })?;
        }
        Ok(())
    }

    /// The access token to send. `failed`: the token a request was just refused with — renew
    /// unless someone already has.
    pub async fn bearer(
        &self,
        cred: &Credential,
        http: &reqwest::Client,
        failed: Option<&str>,
    ) -> anyhow::Result<String> {
        let mut guard = self.secret.lock().await;
        let s = guard.as_mut().context("this profile has no stored token")?;
        let current = s.access_token.clone();
        let fresh = s.expires_at.is_none_or(|e| e - EARLY_SECS > super::now());
        match (&current, failed) {
            (Some(c), Some(f)) if c != f => return Ok(c.clone()),
            (Some(c), None) if fresh => return Ok(c.clone()),
            _ => {}
        }
        renew(cred, http, s).await?;
        self.save(s)?;
        Ok(s.access_token.clone().unwrap_or_default())
    }

    /// The `JSESSIONID` to send; logs in (Basic, once) when there is none or `failed` is the
    /// current one.
    pub async fn session(
        &self,
        cred: &Credential,
        http: &reqwest::Client,
        failed: Option<&str>,
    ) -> anyhow::Result<String> {
        let mut guard = self.secret.lock().await;
        let s = guard
            .as_mut()
            .context("this profile has no stored session")?;
        let fresh = s.expires_at.is_none_or(|e| e > super::now());
        match (&s.session, failed) {
            (Some(c), Some(f)) if c != f => return Ok(c.clone()),
            (Some(c), None) if fresh => return Ok(c.clone()),
            _ => {}
        }
        let password = s
            .password
            .clone()
            .context("the cookie profile has no password stored; log in again")?;
        s.session = Some(cookie_login(cred, http, &password).await?);
        s.expires_at = Some(super::now() + SESSION_SECS);
        self.save(s)?;
        Ok(s.session.clone().unwrap_or_default())
    }

    /// Forces a renewal now (`cfl auth refresh`).
    pub async fn force(&self, cred: &Credential, http: &reqwest::Client) -> anyhow::Result<()> {
        if cred.method == Method::Cookie {
            let current = self
                .secret
                .lock()
                .await
                .as_ref()
                .and_then(|s| s.session.clone());
            self.session(cred, http, Some(current.as_deref().unwrap_or("")))
                .await
                .map(|_| ())
        } else {
            let mut guard = self.secret.lock().await;
            let s = guard.as_mut().context("this profile has no stored token")?;
            renew(cred, http, s).await?;
            self.save(s)
        }
    }
}

/// The token endpoint of a profile (from its non-secret OAuth settings).
pub fn endpoint(cred: &Credential) -> anyhow::Result<Endpoint> {
    let get = |k: &str| {
        cred.oauth
            .get(k)
            .cloned()
            .with_context(|| format!("the profile has no OAuth {k}; log in again"))
    };
    Ok(Endpoint {
        token_url: get("token_url")?,
        client_id: get("client_id")?,
        json: cred.oauth.get("token_body").map(String::as_str) != Some("form"),
    })
}

async fn renew(
    cred: &Credential,
    http: &reqwest::Client,
    s: &mut StoredSecret,
) -> anyhow::Result<()> {
    let ep = endpoint(cred)?;
    let login_cmd = match &cred.profile {
        Some(p) => format!("cfl auth login --profile {p} --method {}", cred.method),
        None => format!("cfl auth login --method {}", cred.method),
    };
    let result = match cred.method {
        Method::ClientCredentials => {
            let mut params = vec![("grant_type", "client_credentials")];
            if let Some(scope) = cred.oauth.get("scope") {
                params.push(("scope", scope));
            }
            token::request(http, &ep, s.client_secret.as_deref(), &params).await
        }
        Method::Oauth2 | Method::DcOauth2 => {
            let Some(rt) = s.refresh_token.clone() else {
                anyhow::bail!(
                    "the access token expired and there is no refresh token (the login did not get \
                     offline access); run `{login_cmd}`"
                );
            };
            token::request(
                http,
                &ep,
                s.client_secret.as_deref(),
                &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
            )
            .await
        }
        m => anyhow::bail!("method {m} has no token to renew"),
    };
    let t = match result {
        Ok(t) => t,
        Err(e) => {
            let advice = match e.downcast_ref::<GrantError>().map(|g| &g.refusal) {
                Some(Refusal::Grant) => {
                    format!("\nThe saved sign-in is no longer valid; run `{login_cmd}`.")
                }
                Some(Refusal::Client) => format!("\nFix the client secret with `{login_cmd}`."),
                _ => String::new(),
            };
            anyhow::bail!("cannot renew the access token: {e:#}{advice}");
        }
    };
    s.access_token = Some(t.access_token);
    if t.refresh_token.is_some() {
        s.refresh_token = t.refresh_token;
    }
    s.expires_at = t.expires_in.map(|e| super::now() + e);
    Ok(())
}

/// DC cookie login: one Basic request to the current-user resource; Confluence opens a session
/// and answers `Set-Cookie: JSESSIONID=…`.
pub async fn cookie_login(
    cred: &Credential,
    http: &reqwest::Client,
    password: &str,
) -> anyhow::Result<String> {
    let login = cred.login.as_deref().unwrap_or_default();
    let url = crate::deployment::join(&cred.api_base, "rest/api/user/current");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{password}"));
    let resp = http
        .get(&url)
        .header("Authorization", format!("Basic {basic}"))
        .header("Accept", "application/json")
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = resp.status();
    let reason = resp
        .headers()
        .get("x-seraph-loginreason")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let session = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let first = c.split(';').next()?.trim();
            let (k, v) = first.split_once('=')?;
            (k == "JSESSIONID" && !v.is_empty()).then(|| v.to_string())
        });
    if !status.is_success() {
        let why = match reason.as_deref() {
            Some("AUTHENTICATION_DENIED") => {
                "Confluence requires a CAPTCHA after too many failed logins: log in once in the browser"
            }
            _ => "the username or password was refused",
        };
        anyhow::bail!("cookie login as {login} failed ({status}): {why}");
    }
    session.with_context(|| {
        format!("{url} did not open a session (no JSESSIONID cookie); this server may not support cookie logins — use --method pat")
    })
}
