//! The identity provider as the gateway sees it: its discovery document (fetched once, on the
//! first sign-in, so a gateway starts while the provider is away), its signing keys (JWKS,
//! cached; an unknown `kid` fetches them again, at most once per [`REFETCH_EVERY`]) and its
//! token endpoint.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::oidc::OidcConfig;

/// The least time between two JWKS fetches caused by an unknown `kid`: a flood of forged
/// tokens can't make the gateway hammer the provider.
const REFETCH_EVERY: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// One key of a JWKS (only what RS256 needs).
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

#[derive(Default)]
struct Cached {
    discovery: Option<Discovery>,
    jwks: Option<Jwks>,
    /// When an unknown `kid` last caused a fetch.
    refetched_at: Option<Instant>,
}

pub struct Provider {
    http: reqwest::Client,
    cached: Mutex<Cached>,
}

impl Provider {
    pub fn new(config: &OidcConfig) -> Provider {
        let mut builder = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        // A provider on loopback (tests, the demo) is never reached through a proxy.
        if is_loopback(&config.issuer) {
            builder = builder.no_proxy();
        }
        Provider {
            http: builder.build().unwrap_or_default(),
            cached: Mutex::default(),
        }
    }

    pub async fn discovery(&self, config: &OidcConfig) -> anyhow::Result<Discovery> {
        let mut cached = self.cached.lock().await;
        if let Some(d) = &cached.discovery {
            return Ok(d.clone());
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            config.issuer.trim_end_matches('/')
        );
        let d: Discovery = self.get_json(&url).await?;
        // OpenID Connect Discovery §4.3: the document must name the issuer it was fetched for.
        if d.issuer.trim_end_matches('/') != config.issuer.trim_end_matches('/') {
            bail!(
                "the provider's discovery document names issuer {:?}, not the configured {:?}; set admin.oidc.issuer to the exact issuer",
                d.issuer,
                config.issuer
            );
        }
        cached.discovery = Some(d.clone());
        Ok(d)
    }

    /// The cached keys (fetched if there are none).
    pub async fn keys(&self, config: &OidcConfig) -> anyhow::Result<Jwks> {
        let d = self.discovery(config).await?;
        let mut cached = self.cached.lock().await;
        if let Some(k) = &cached.jwks {
            return Ok(k.clone());
        }
        let k: Jwks = self.get_json(&d.jwks_uri).await?;
        cached.jwks = Some(k.clone());
        Ok(k)
    }

    /// Fetches the keys again after a token named a `kid` the cache lacks; `None` when that
    /// happened too recently.
    pub async fn refetch_keys(&self, config: &OidcConfig) -> anyhow::Result<Option<Jwks>> {
        let d = self.discovery(config).await?;
        let mut cached = self.cached.lock().await;
        if cached
            .refetched_at
            .is_some_and(|at| at.elapsed() < REFETCH_EVERY)
        {
            return Ok(None);
        }
        cached.refetched_at = Some(Instant::now());
        let k: Jwks = self.get_json(&d.jwks_uri).await?;
        cached.jwks = Some(k.clone());
        Ok(Some(k))
    }

    /// Redeems an authorization code; the provider's ID token.
    pub async fn redeem(
        &self,
        config: &OidcConfig,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> anyhow::Result<String> {
        let d = self.discovery(config).await?;
        let secret = config.client_secret();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", config.client_id.as_str()),
        ];
        if let Some(s) = secret.as_deref() {
            form.push(("client_secret", s));
        }
        let resp = self
            .http
            .post(&d.token_endpoint)
            .form(&form)
            .send()
            .await
            .context("cannot reach the provider's token endpoint")?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        if !status.is_success() {
            // The provider's error code and description name the problem; they hold no secret.
            bail!(
                "the provider refused the code ({status}): {} {}",
                body["error"].as_str().unwrap_or("?"),
                body["error_description"].as_str().unwrap_or("")
            );
        }
        body["id_token"].as_str().map(str::to_string).context(
            "the provider's token answer has no id_token (is \"openid\" in admin.oidc.scopes?)",
        )
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> anyhow::Result<T> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .with_context(|| format!("cannot reach the identity provider at {url}"))?;
        if !resp.status().is_success() {
            bail!("the identity provider answered {} for {url}", resp.status());
        }
        resp.json().await.with_context(|| {
            format!("the identity provider's answer at {url} is not the expected JSON")
        })
    }
}

fn is_loopback(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    })
}
