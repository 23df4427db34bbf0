//! `cfl gateway login`: the gateway's OpenID Connect sign-in, brought back to a loopback listener
//! (the same listener and browser launch as `cfl auth login --method oauth2`). The gateway hands
//! the redirect a one-time code; cfl redeems it with the PKCE verifier for an admin session.

use std::time::Duration;

use anyhow::Context;
use cfl_client::oauth::loopback::{open_browser, Callback};
use cfl_client::oauth::{random_urlsafe, token::pkce};
use clap::Args;
use serde_json::{json, Value};
use url::Url;

use super::session::{self, StoredSession};
use crate::commands::gateway_admin::{http_client, when};

const WAIT: Duration = Duration::from_secs(300);

#[derive(Args)]
pub struct LoginArgs {
    /// Print the sign-in URL instead of opening a browser (open it on any machine that can reach
    /// this one's loopback, e.g. through ssh -L).
    #[arg(long)]
    no_browser: bool,
    /// Keep the session in a 0600 file next to the profiles, not the OS keychain.
    #[arg(long)]
    insecure_storage: bool,
}

pub async fn run(gateway: &str, a: LoginArgs) -> anyhow::Result<()> {
    let http = http_client()?;
    let provider = provider(&http, gateway).await?;
    let cb = Callback::bind("http://127.0.0.1:0/callback").await?;
    let state = random_urlsafe(24);
    let (verifier, challenge) = pkce();
    let mut url = Url::parse(&format!("{gateway}/admin/oidc/login"))
        .with_context(|| format!("--gateway {gateway:?} is not a URL"))?;
    url.query_pairs_mut()
        .append_pair("cli_redirect", &cb.redirect_uri)
        .append_pair("cli_state", &state)
        .append_pair("cli_challenge", &challenge);
    eprintln!("Signing in to {gateway} with {provider}.");
    open_browser(url.as_str(), a.no_browser);
    eprintln!(
        "Waiting for the browser to come back to {} …",
        cb.redirect_uri
    );
    let q = cb.wait(("state", &state), WAIT).await?;
    let code = q
        .get("code")
        .filter(|c| !c.is_empty())
        .context("the gateway's redirect carried no code; run `cfl gateway login` again")?;
    let s = redeem(&http, gateway, code, &verifier).await?;
    let store = session::save(gateway, &s, a.insecure_storage)?;
    let dir = cfl_client::config::config_dir()?;
    eprintln!(
        "Signed in to {gateway} as {} ({}) until {}; the session is kept in the {}.",
        s.name,
        s.role,
        when(Some(s.expires_at * 1000)),
        store.describe(&dir)
    );
    Ok(())
}

/// The provider's display name, or why this gateway offers no OpenID Connect sign-in.
async fn provider(http: &reqwest::Client, gateway: &str) -> anyhow::Result<String> {
    let resp = http
        .get(format!("{gateway}/admin/oidc/info"))
        .send()
        .await
        .with_context(|| {
            format!("cannot reach the gateway at {gateway} (set CFL_GATEWAY_URL or --gateway)")
        })?;
    let info: Value = if resp.status().is_success() {
        resp.json().await.unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    if info["enabled"].as_bool() != Some(true) {
        anyhow::bail!(
            "the gateway at {gateway} offers no OpenID Connect sign-in (its config has no \
             [admin.oidc]); ask its operator, or use a gateway admin token in CFL_ADMIN_TOKEN"
        );
    }
    Ok(info["provider"]
        .as_str()
        .filter(|p| !p.is_empty())
        .unwrap_or("the identity provider")
        .to_string())
}

/// Trades the one-time code (and the PKCE verifier only this process knows) for the session.
async fn redeem(
    http: &reqwest::Client,
    gateway: &str,
    code: &str,
    verifier: &str,
) -> anyhow::Result<StoredSession> {
    let resp = http
        .post(format!("{gateway}/admin/oidc/cli/token"))
        .json(&json!({"code": code, "code_verifier": verifier}))
        .send()
        .await
        .with_context(|| format!("cannot reach the gateway at {gateway}"))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let why = body["message"]
            .as_str()
            .or(body["error"].as_str())
            .unwrap_or("no reason given");
        anyhow::bail!(
            "the gateway refused the sign-in code ({status}: {why}); nothing was saved — run \
             `cfl gateway login` again"
        );
    }
    serde_json::from_value(body)
        .ok()
        .context("the gateway's answer to the sign-in code has no session; is it a cfl gateway?")
}
