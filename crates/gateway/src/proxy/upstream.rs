//! The upstream Confluence and how the gateway acts there as the token's user. The caller's own
//! credentials never get this far: `forward` strips them, and this module adds the gateway's.

use std::time::Duration;

use anyhow::Context;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;

use crate::config::{IdentityConfig, UpstreamConfig};

pub enum Identity {
    /// One credential for every request (a DC PAT or a Cloud API token).
    Static(HeaderValue),
    /// A trusted user header plus a shared secret header.
    Header {
        user_header: HeaderName,
        secret_header: HeaderName,
        secret: HeaderValue,
    },
}

pub struct Upstream {
    pub client: reqwest::Client,
    /// Base URL without a trailing slash (may include a context path).
    pub base: String,
    pub identity: Identity,
    pub timeout: Duration,
}

fn env_secret(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| {
        format!("environment variable {name} (named in the identity config) is not set")
    })
}

fn secret_header(v: String) -> anyhow::Result<HeaderValue> {
    let mut h = HeaderValue::from_str(&v)
        .context("the upstream credential contains characters not allowed in a header")?;
    h.set_sensitive(true);
    Ok(h)
}

impl Upstream {
    pub fn from_config(cfg: &UpstreamConfig) -> anyhow::Result<Upstream> {
        let identity = match &cfg.identity {
            IdentityConfig::Static {
                pat,
                email,
                api_token,
                token_env,
            } => {
                let from_env = token_env.as_deref().map(env_secret).transpose()?;
                match (
                    email,
                    api_token.clone().or(from_env.clone()),
                    pat.clone().or(from_env),
                ) {
                    (Some(email), Some(token), _) => {
                        let b = base64::engine::general_purpose::STANDARD
                            .encode(format!("{email}:{token}"));
                        Identity::Static(secret_header(format!("Basic {b}"))?)
                    }
                    (None, _, Some(pat)) => {
                        Identity::Static(secret_header(format!("Bearer {pat}"))?)
                    }
                    _ => anyhow::bail!("identity mode static needs pat, or email with api_token"),
                }
            }
            IdentityConfig::Header {
                user_header,
                secret_header: name,
                secret_env,
            } => Identity::Header {
                user_header: HeaderName::try_from(user_header.as_str())
                    .context("user_header is not a valid header name")?,
                secret_header: HeaderName::try_from(name.as_str())
                    .context("secret_header is not a valid header name")?,
                secret: secret_header(env_secret(secret_env)?)?,
            },
            IdentityConfig::Oauth1Impersonation { .. } => {
                anyhow::bail!(
                    "identity mode oauth1-impersonation is not available in this build yet"
                )
            }
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .context("cannot build the upstream HTTP client")?;
        Ok(Upstream {
            client,
            base: cfg.url.trim_end_matches('/').to_string(),
            identity,
            timeout: Duration::from_secs(cfg.timeout_seconds),
        })
    }

    pub fn allows_unbound(&self) -> bool {
        matches!(self.identity, Identity::Static(_))
    }

    /// Header names a client must never be able to send upstream itself.
    pub fn reserved_headers(&self) -> Vec<HeaderName> {
        match &self.identity {
            Identity::Header {
                user_header,
                secret_header,
                ..
            } => vec![user_header.clone(), secret_header.clone()],
            Identity::Static(_) => Vec::new(),
        }
    }

    /// Adds the gateway's credential for acting as `user`.
    pub fn authorize(&self, headers: &mut HeaderMap, user: Option<&str>) -> Result<(), String> {
        match &self.identity {
            Identity::Static(v) => {
                headers.insert(axum::http::header::AUTHORIZATION, v.clone());
            }
            Identity::Header {
                user_header,
                secret_header,
                secret,
            } => {
                let user = user.ok_or("header identity needs a bound user")?;
                let v = HeaderValue::from_str(user)
                    .map_err(|_| "the bound user name is not a valid header value")?;
                headers.insert(user_header.clone(), v);
                headers.insert(secret_header.clone(), secret.clone());
            }
        }
        Ok(())
    }
}
