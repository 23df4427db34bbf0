//! The upstream Confluence and how the gateway acts there as the token's user. The caller's own
//! credentials never get this far: `forward` strips them, and this module adds the gateway's.

use std::time::Duration;

use anyhow::Context;
use axum::http::uri::{Authority, PathAndQuery, Scheme};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri};
use base64::Engine;

use crate::config::{IdentityConfig, UpstreamConfig};

pub enum Identity {
    /// OAuth 2.0 client credentials (a Cloud service account), renewed before expiry.
    ClientCredentials(Box<ClientCredentials>),
    /// A DC PAT minted per bound user through impersonation (see `minted`).
    MintedPat(Box<super::minted::MintedPats>),
    /// OAuth 1.0a two-legged: every request signed RSA-SHA1 with `oauth_token=""` and
    /// `xoauth_requestor_id=USER`.
    OAuth1(Box<cfl_auth::oauth1::Consumer>),
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
    /// Token endpoints, PAT minting, readiness probes, admin checks.
    pub client: reqwest::Client,
    /// The proxy path's connections: pooled keep-alive HTTP/1.1 (TLS only for an `https`
    /// upstream). Every proxied request goes through it; `client` (reqwest) serves the rare side
    /// calls.
    pub proxy: super::pool::Pool,
    /// Base URL without a trailing slash (may include a context path).
    pub base: String,
    /// The base URL in parts, to address each proxied request without formatting and parsing it.
    pub target: Target,
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
            IdentityConfig::ClientCredentials {
                client_id,
                client_secret_env,
                token_url,
            } => Identity::ClientCredentials(Box::new(ClientCredentials {
                client_id: client_id.clone(),
                secret: env_secret(client_secret_env)?,
                token_url: token_url.clone(),
                current: Default::default(),
            })),
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
            IdentityConfig::MintedPat {
                consumer_key,
                private_key_file,
                pat_days,
                renew_before_days,
                encryption_key_env,
            } => {
                let pem = std::fs::read_to_string(private_key_file).with_context(|| {
                    format!(
                        "cannot read the consumer's private key {}",
                        private_key_file.display()
                    )
                })?;
                let consumer = cfl_auth::oauth1::Consumer::from_pem(consumer_key.clone(), &pem)
                    .with_context(|| format!("private key {}", private_key_file.display()))?;
                Identity::MintedPat(Box::new(super::minted::MintedPats::new(
                    consumer,
                    &env_secret(encryption_key_env)?,
                    *pat_days,
                    *renew_before_days,
                )?))
            }
            IdentityConfig::Oauth1Impersonation {
                consumer_key,
                private_key_file,
            } => {
                let pem = std::fs::read_to_string(private_key_file).with_context(|| {
                    format!(
                        "cannot read the consumer's private key {}",
                        private_key_file.display()
                    )
                })?;
                Identity::OAuth1(Box::new(
                    cfl_auth::oauth1::Consumer::from_pem(consumer_key.clone(), &pem)
                        .with_context(|| format!("private key {}", private_key_file.display()))?,
                ))
            }
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .context("cannot build the upstream HTTP client")?;
        Ok(Upstream {
            client,
            proxy: super::pool::Pool::new(&cfg.url, 256, Duration::from_secs(90))?,
            base: cfg.url.trim_end_matches('/').to_string(),
            target: Target::of(&cfg.url)?,
            identity,
            timeout: Duration::from_secs(cfg.timeout_seconds),
        })
    }

    /// Whether Confluence knows `user`, asked as the gateway's own identity where its mode can
    /// tell: OAuth 1.0a impersonation (`/rest/api/user/current` as that user: a `401` means
    /// unknown), minted PATs (the same through the application link, minting nothing) and a
    /// static credential (`/rest/api/user?username=`: a `404` means unknown). `None`: Confluence
    /// didn't answer, or the mode can't tell: a trusted header has no credential to ask with, and
    /// client credentials act as the service account itself (the token's user never goes
    /// upstream).
    pub async fn knows_user(&self, store: &crate::store::Store, user: &str) -> Option<bool> {
        let path = match &self.identity {
            Identity::OAuth1(_) => "/rest/api/user/current".to_string(),
            Identity::Static(_) => format!(
                "/rest/api/user?username={}",
                percent_encoding::utf8_percent_encode(user, percent_encoding::NON_ALPHANUMERIC)
            ),
            Identity::MintedPat(m) => return m.knows_user(&self.client, &self.base, user).await,
            _ => return None,
        };
        let answer = self.get_as(store, &path, user).await.ok().flatten()?;
        match answer.status().as_u16() {
            200..=299 => Some(true),
            401 if matches!(self.identity, Identity::OAuth1(_)) => Some(false),
            404 => Some(false),
            _ => None,
        }
    }

    /// Whether form bodies are part of the upstream signature (OAuth 1.0a).
    pub fn signs_body(&self) -> bool {
        matches!(self.identity, Identity::OAuth1(_))
    }

    pub fn allows_unbound(&self) -> bool {
        matches!(
            self.identity,
            Identity::Static(_) | Identity::ClientCredentials(_)
        )
    }

    /// Header names a client must never be able to send upstream itself.
    pub fn reserved_headers(&self) -> impl Iterator<Item = &HeaderName> {
        let names = match &self.identity {
            Identity::Header {
                user_header,
                secret_header,
                ..
            } => Some([user_header, secret_header]),
            Identity::Static(_)
            | Identity::OAuth1(_)
            | Identity::MintedPat(_)
            | Identity::ClientCredentials(_) => None,
        };
        names.into_iter().flatten()
    }

    /// Query parameters a client may not send: they would let it choose whom the gateway acts as.
    pub fn reserved_query_param(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        lower.starts_with("oauth_")
            || lower == "xoauth_requestor_id"
            || (matches!(self.identity, Identity::OAuth1(_) | Identity::MintedPat(_))
                && lower == "user_id")
    }

    /// A side call (reqwest, 5 s): `GET {base}{path_and_query}` as `user` through the gateway's
    /// identity. `Ok(None)`: Confluence didn't answer; `Err`: the identity can't act for `user`.
    pub async fn get_as(
        &self,
        store: &crate::store::Store,
        path_and_query: &str,
        user: &str,
    ) -> Result<Option<reqwest::Response>, IdentityError> {
        let Ok(mut uri) = format!("{}{path_and_query}", self.base).parse::<Uri>() else {
            return Ok(None);
        };
        let mut headers = HeaderMap::new();
        self.authorize(store, "GET", &mut uri, &mut headers, Some(user), None)
            .await?;
        Ok(self
            .client
            .get(uri.to_string())
            .headers(headers)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok())
    }

    /// Adds the gateway's credential for acting as `user`. OAuth 1.0a also changes the URI (the
    /// requestor id is a query parameter) and signs `form_body`, the raw form body, if any.
    pub async fn authorize(
        &self,
        store: &crate::store::Store,
        method: &str,
        uri: &mut Uri,
        headers: &mut HeaderMap,
        user: Option<&str>,
        form_body: Option<&str>,
    ) -> Result<(), IdentityError> {
        use cfl_auth::oauth1::{with_requestor_id, RequestParts, TokenParams};
        match &self.identity {
            Identity::ClientCredentials(cc) => {
                // Boxed, like the minted PAT below: these futures are large and rarely wait, and
                // inline they would be copied with every request's future.
                let v = Box::pin(cc.bearer(&self.client))
                    .await
                    .map_err(IdentityError::Bearer)?;
                headers.insert(axum::http::header::AUTHORIZATION, v);
            }
            Identity::MintedPat(minted) => {
                let user = user.ok_or(IdentityError::NoUser("a minted PAT"))?;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as i64)
                    .unwrap_or(0);
                let v = Box::pin(minted.authorization(&self.client, &self.base, store, user, now))
                    .await
                    .map_err(|error| IdentityError::NoPat {
                        user: user.to_string(),
                        error,
                    })?;
                headers.insert(axum::http::header::AUTHORIZATION, v);
            }
            Identity::OAuth1(consumer) => {
                let user = user.ok_or(IdentityError::NoUser("OAuth 1.0a impersonation"))?;
                let signed_url = with_requestor_id(&uri.to_string(), user)
                    .map_err(|e| IdentityError::Url(e.to_string()))?;
                let mut req = RequestParts::new(method, &signed_url);
                if let Some(body) = form_body {
                    req = req.with_form_body(body);
                }
                let header = consumer
                    .authorization_now(&req, TokenParams::TwoLegged)
                    .map_err(|e| IdentityError::Sign(e.to_string()))?;
                let mut v = HeaderValue::from_str(&header).map_err(|_| {
                    IdentityError::Invalid("the OAuth header is not a valid header value")
                })?;
                v.set_sensitive(true);
                headers.insert(axum::http::header::AUTHORIZATION, v);
                *uri = signed_url.parse().map_err(|_| {
                    IdentityError::Invalid("the signed upstream URL is not a valid URI")
                })?;
            }
            Identity::Static(v) => {
                headers.insert(axum::http::header::AUTHORIZATION, v.clone());
            }
            Identity::Header {
                user_header,
                secret_header,
                secret,
            } => {
                let user = user.ok_or(IdentityError::NoUser("header identity"))?;
                let v = HeaderValue::from_str(user).map_err(|_| {
                    IdentityError::Invalid("the bound user name is not a valid header value")
                })?;
                headers.insert(user_header.clone(), v);
                headers.insert(secret_header.clone(), secret.clone());
            }
        }
        Ok(())
    }
}

/// Why the gateway could not act as the bound user upstream.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{0} needs a bound user")]
    NoUser(&'static str),
    #[error("{0:#}")]
    Bearer(anyhow::Error),
    #[error("no PAT for {user}: {error:#}")]
    NoPat { user: String, error: anyhow::Error },
    #[error("upstream URL: {0}")]
    Url(String),
    #[error("cannot sign the upstream request: {0}")]
    Sign(String),
    #[error("{0}")]
    Invalid(&'static str),
}

/// The upstream base URL in parts: every proxied request's URI is its scheme and authority with
/// the context path and the request's own path and query, and its `Host` is the one the client
/// would otherwise format from that URI for each request.
pub struct Target {
    scheme: Scheme,
    authority: Authority,
    /// The base URL's path without a trailing slash: empty, or e.g. `/confluence`.
    context_path: String,
    pub host: HeaderValue,
}

impl Target {
    pub fn of(base: &str) -> anyhow::Result<Target> {
        let uri: Uri = base
            .trim_end_matches('/')
            .parse()
            .with_context(|| format!("the upstream URL {base} is not a valid URL"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            anyhow::bail!("the upstream URL {base} needs a scheme and a host, e.g. https://confluence.example.com");
        };
        let default_port = if *scheme == Scheme::HTTPS { 443 } else { 80 };
        let host = match authority.port_u16() {
            Some(port) if port != default_port => format!("{}:{port}", authority.host()),
            _ => authority.host().to_string(),
        };
        Ok(Target {
            scheme: scheme.clone(),
            authority: authority.clone(),
            context_path: uri.path().trim_end_matches('/').to_string(),
            host: HeaderValue::from_str(&host)
                .with_context(|| format!("the upstream host {host} is not a valid header value"))?,
        })
    }

    /// The upstream URI of a request for `path_and_query` (which starts with `/`).
    pub fn uri(&self, path_and_query: PathAndQuery) -> Option<Uri> {
        let path_and_query = if self.context_path.is_empty() {
            path_and_query
        } else {
            format!("{}{}", self.context_path, path_and_query.as_str())
                .parse()
                .ok()?
        };
        let mut parts = axum::http::uri::Parts::default();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(path_and_query);
        Uri::from_parts(parts).ok()
    }
}

/// A client-credentials bearer, fetched on first use and renewed a minute before it expires.
pub struct ClientCredentials {
    client_id: String,
    secret: String,
    token_url: String,
    current: tokio::sync::Mutex<Option<(HeaderValue, std::time::Instant)>>,
}

impl ClientCredentials {
    async fn bearer(&self, client: &reqwest::Client) -> anyhow::Result<HeaderValue> {
        let mut current = self.current.lock().await;
        if let Some((v, renew_at)) = current.as_ref() {
            if std::time::Instant::now() < *renew_at {
                return Ok(v.clone());
            }
        }
        let resp = client
            .post(&self.token_url)
            .json(&serde_json::json!({
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.secret,
            }))
            .send()
            .await
            .with_context(|| format!("cannot reach the token endpoint {}", self.token_url))?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        if !status.is_success() {
            let why = body["error_description"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("no reason given");
            anyhow::bail!("the token endpoint refused the client credentials ({status}): {why}");
        }
        let token = body["access_token"]
            .as_str()
            .context("the token answer has no access_token")?;
        let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
        let renew_in =
            std::time::Duration::from_secs(lifetime.saturating_sub(60).max(lifetime / 2));
        let mut v = HeaderValue::from_str(&format!("Bearer {token}"))?;
        v.set_sensitive(true);
        *current = Some((v.clone(), std::time::Instant::now() + renew_in));
        tracing::info!(client = %self.client_id, expires_in = lifetime, "fetched a client-credentials bearer");
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    fn uri(base: &str, path_and_query: &'static str) -> String {
        let target = Target::of(base).unwrap();
        let pq = axum::http::uri::PathAndQuery::from_static(path_and_query);
        target.uri(pq).unwrap().to_string()
    }

    #[test]
    fn a_request_goes_under_the_base_urls_context_path() {
        assert_eq!(
            uri("http://wiki:8090/confluence/", "/rest/api/space?limit=1"),
            "http://wiki:8090/confluence/rest/api/space?limit=1"
        );
        assert_eq!(
            uri("https://example.atlassian.net/wiki", "/rest/api/content/1"),
            "https://example.atlassian.net/wiki/rest/api/content/1"
        );
        assert_eq!(
            uri("http://127.0.0.1:18090", "/"),
            "http://127.0.0.1:18090/"
        );
    }

    #[test]
    fn the_host_header_names_a_port_only_when_it_is_not_the_schemes_default() {
        let host = |base: &str| Target::of(base).unwrap().host;
        assert_eq!(host("http://wiki:8090/confluence"), "wiki:8090");
        assert_eq!(host("http://wiki:80"), "wiki");
        assert_eq!(host("https://wiki:443/"), "wiki");
        assert_eq!(host("https://wiki:80"), "wiki:80");
        assert_eq!(host("http://[::1]:8090"), "[::1]:8090");
    }

    #[test]
    fn a_base_url_without_a_host_is_refused_with_an_example() {
        let err = Target::of("/confluence").err().unwrap().to_string();
        assert!(err.contains("needs a scheme and a host"), "{err}");
    }
}
