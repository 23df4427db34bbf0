//! `cfl serve` configuration: TOML file, overridden by flags and environment (applied by the CLI).
//! `examples/gateway.toml` documents every field.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub mod oidc;

use ipnet::IpNet;
use serde::Deserialize;

pub use crate::store::Durability;

/// More serving threads than this is a typo, not a tuning.
const MAX_WORKERS: usize = 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Threads that serve requests; 0 (the default) = one per CPU. 1 runs everything on one
    /// thread, like a single nginx worker: the cheapest per request, for small machines.
    #[serde(default)]
    pub workers: usize,
    /// `sqlite:PATH` (created on first start; relative to the config file) or `postgres://...`.
    #[serde(default = "default_store")]
    pub store: String,
    pub upstream: UpstreamConfig,
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default)]
    pub proxy: ProxyConfig,
    /// Serve HTTPS with these PEM files (reloaded on SIGHUP). Omit for plain HTTP behind a TLS
    /// terminating load balancer.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default)]
    pub expiry_warnings: ExpiryWarnings,
    #[serde(default)]
    pub audit: AuditConfig,
}

/// How durable an audit record is before its request is answered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    #[serde(default)]
    pub durability: Durability,
}

/// Warnings before a token expires (like DC PATs' mail 5 days before): a log line and, if set,
/// a webhook POST with `{"event": "token.expiring", ...}`. Sent once per token, by one replica.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiryWarnings {
    #[serde(default = "default_warn_days")]
    pub days_before: i64,
    #[serde(default)]
    pub webhook_url: Option<String>,
    #[serde(default = "default_warn_interval")]
    pub check_interval_seconds: u64,
}

fn default_warn_days() -> i64 {
    5
}

fn default_warn_interval() -> u64 {
    3600
}

impl Default for ExpiryWarnings {
    fn default() -> Self {
        ExpiryWarnings {
            days_before: default_warn_days(),
            webhook_url: None,
            check_interval_seconds: default_warn_interval(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain (PEM), relative to the config file.
    pub cert_file: PathBuf,
    /// Private key (PEM), relative to the config file.
    pub key_file: PathBuf,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_store() -> String {
    "sqlite:cfl-gateway.sqlite".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Dc,
    Cloud,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Confluence base URL including any context path, e.g. `https://wiki.example.com/confluence`.
    pub url: String,
    #[serde(default = "default_flavor")]
    pub flavor: Flavor,
    pub identity: IdentityConfig,
    /// Upstream request timeout (seconds) before the gateway answers 504.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_token_url() -> String {
    "https://auth.atlassian.com/oauth/token".into()
}

fn default_pat_days() -> i64 {
    90
}

fn default_renew_days() -> i64 {
    7
}

fn default_flavor() -> Flavor {
    Flavor::Dc
}

fn default_timeout() -> u64 {
    60
}

/// How the gateway acts upstream as the token's bound user.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case", deny_unknown_fields)]
pub enum IdentityConfig {
    /// OAuth 1.0a 2-legged with `xoauth_requestor_id=USER`, signed RSA-SHA1.
    Oauth1Impersonation {
        consumer_key: String,
        /// PEM private key (PKCS#8 or PKCS#1); relative to the config file.
        private_key_file: PathBuf,
    },
    /// A real DC PAT minted for each bound user through OAuth 1.0a impersonation, kept encrypted
    /// at rest, forwarded as Bearer and renewed before it expires.
    MintedPat {
        consumer_key: String,
        private_key_file: PathBuf,
        /// Lifetime of minted PATs (Confluence allows at most 365).
        #[serde(default = "default_pat_days")]
        pat_days: i64,
        /// Mint a new PAT when the current one expires within this many days.
        #[serde(default = "default_renew_days")]
        renew_before_days: i64,
        /// Environment variable holding the 32-byte encryption key, base64 (`openssl rand -base64 32`).
        encryption_key_env: String,
    },
    /// A fixed credential: every request runs as one account (a DC PAT, a Cloud service account).
    Static {
        /// DC personal access token (sent as Bearer). Prefer `token_env` to keep it out of files.
        #[serde(default)]
        pat: Option<String>,
        /// Cloud: account email for Basic `email:api_token`.
        #[serde(default)]
        email: Option<String>,
        #[serde(default)]
        api_token: Option<String>,
        /// Name of an environment variable holding the PAT or API token.
        #[serde(default)]
        token_env: Option<String>,
    },
    /// A Cloud service account's OAuth 2.0 client credentials: the gateway fetches a bearer (60
    /// minutes on Cloud) and renews it before it expires. Like `static`, one account for all.
    ClientCredentials {
        client_id: String,
        /// Environment variable holding the client secret.
        client_secret_env: String,
        #[serde(default = "default_token_url")]
        token_url: String,
    },
    /// Installations that authenticate by a trusted header (e.g. behind an SSO proxy).
    Header {
        user_header: String,
        secret_header: String,
        /// Name of an environment variable holding the shared secret.
        secret_env: String,
    },
}

impl IdentityConfig {
    pub fn mode(&self) -> &'static str {
        match self {
            IdentityConfig::Oauth1Impersonation { .. } => "oauth1-impersonation",
            IdentityConfig::MintedPat { .. } => "minted-pat",
            IdentityConfig::Static { .. } => "static",
            IdentityConfig::ClientCredentials { .. } => "client-credentials",
            IdentityConfig::Header { .. } => "header",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Name of the environment variable with a bootstrap admin token (default `CFL_ADMIN_TOKEN`).
    #[serde(default)]
    pub token_env: Option<String>,
    /// Members of these Confluence groups may use the admin API with their own Basic credentials
    /// (what Extender's scripts send). Empty: gateway admin tokens only.
    #[serde(default = "default_admin_groups")]
    pub confluence_admin_groups: Vec<String>,
    /// Admins sign in with an OpenID Connect provider (`[admin.oidc]`, `config/oidc.rs`).
    #[serde(default)]
    pub oidc: Option<oidc::OidcConfig>,
}

fn default_admin_groups() -> Vec<String> {
    vec!["confluence-administrators".into()]
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            token_env: None,
            confluence_admin_groups: default_admin_groups(),
            oidc: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// Largest JSON body read to evaluate `JsonData` rules; larger bodies are refused for such rules.
    #[serde(default = "default_json_cap")]
    pub json_body_cap_bytes: usize,
    /// Peers whose `X-Forwarded-For` is believed (a load balancer). Others' is ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<IpNet>,
    /// Accept `Authorization: Bearer TOKEN` as well as Basic `USER:TOKEN`.
    #[serde(default = "yes")]
    pub allow_bearer: bool,
    /// Rewrite the upstream's absolute URLs in JSON answers (`_links.base`, `_links.self`) to the
    /// gateway's own. Off by default: it reads every JSON answer before sending it instead of
    /// streaming it. `Location` is always rewritten.
    #[serde(default)]
    pub rewrite_json_links: bool,
}

fn yes() -> bool {
    true
}

fn default_json_cap() -> usize {
    1 << 20
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            json_body_cap_bytes: default_json_cap(),
            trusted_proxies: Vec::new(),
            allow_bearer: true,
            rewrite_json_links: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read gateway config {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("invalid gateway config {0}: {1}")]
    Parse(PathBuf, String),
    #[error("invalid gateway config: {0}")]
    Invalid(String),
}

/// A `sqlite:PATH` store URL with a relative PATH made relative to `base`; any other URL as is.
fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some(file) = crate::store::sqlite_path(url) else {
        return url.to_string();
    };
    if !crate::store::is_file_path(&file) || file.is_absolute() {
        return url.to_string();
    }
    let options = url.find('?').map(|i| &url[i..]).unwrap_or("");
    format!("sqlite:{}{options}", base.join(file).display())
}

impl GatewayConfig {
    /// Reads and validates the file. Every path in it (the SQLite store, key and certificate
    /// files) is relative to the file's own directory, whatever the current directory is.
    pub fn load(path: &Path) -> Result<GatewayConfig, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_path_buf(), e))?;
        let mut config: GatewayConfig = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse(path.to_path_buf(), e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        // Absolute, so errors and the start-up line show where a file really is.
        let base = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        config.resolve_paths(&base);
        config.validate()?;
        Ok(config)
    }

    /// Makes every relative path in the config relative to `base` (the config file's directory).
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        let resolve = |f: &mut PathBuf| {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        };
        if let IdentityConfig::Oauth1Impersonation {
            private_key_file, ..
        }
        | IdentityConfig::MintedPat {
            private_key_file, ..
        } = &mut self.upstream.identity
        {
            resolve(private_key_file);
        }
        if let Some(tls) = &mut self.tls {
            resolve(&mut tls.cert_file);
            resolve(&mut tls.key_file);
        }
        self.store = resolve_sqlite_url(&self.store, base);
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.workers > MAX_WORKERS {
            return Err(ConfigError::Invalid(format!(
                "workers = {}: use 0 (one thread per CPU) or a number up to {MAX_WORKERS}",
                self.workers
            )));
        }
        let url = url::Url::parse(&self.upstream.url).map_err(|e| {
            ConfigError::Invalid(format!(
                "upstream.url {:?} is not a URL: {e}",
                self.upstream.url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::Invalid(
                "upstream.url must be http:// or https://".into(),
            ));
        }
        if !(self.store.starts_with("sqlite:")
            || self.store.starts_with("postgres://")
            || self.store.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(format!(
                "store {:?}: use sqlite:PATH or postgres://USER@HOST/DB",
                self.store
            )));
        }
        if let IdentityConfig::MintedPat {
            pat_days,
            renew_before_days,
            ..
        } = &self.upstream.identity
        {
            if !(1..=365).contains(pat_days) || *renew_before_days < 0 {
                return Err(ConfigError::Invalid(
                    "minted-pat: pat_days must be 1..=365 (Confluence's limit) and renew_before_days >= 0".into(),
                ));
            }
        }
        if let Some(hook) = &self.expiry_warnings.webhook_url {
            url::Url::parse(hook).map_err(|e| {
                ConfigError::Invalid(format!(
                    "expiry_warnings.webhook_url {hook:?} is not a URL: {e}"
                ))
            })?;
        }
        if self.expiry_warnings.check_interval_seconds == 0 || self.expiry_warnings.days_before < 0
        {
            return Err(ConfigError::Invalid(
                "expiry_warnings: check_interval_seconds must be > 0 and days_before >= 0".into(),
            ));
        }
        if let IdentityConfig::Static {
            pat,
            email,
            api_token,
            token_env,
        } = &self.upstream.identity
        {
            let secret = pat.is_some() || api_token.is_some() || token_env.is_some();
            if !secret {
                return Err(ConfigError::Invalid(
                    "identity mode static needs pat, api_token or token_env".into(),
                ));
            }
            if api_token.is_some() && email.is_none() {
                return Err(ConfigError::Invalid(
                    "identity api_token needs email".into(),
                ));
            }
        }
        if let Some(o) = &self.admin.oidc {
            let env = |k: &str| std::env::var(k).ok();
            if let Some((what, fix)) = o.problems(&env).into_iter().next() {
                return Err(ConfigError::Invalid(format!("{what}: {fix}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[upstream]\nurl = \"http://127.0.0.1:1\"\n[upstream.identity]\nmode = \"static\"\npat = \"x\"\n";

    #[test]
    fn audit_durability_defaults_to_power_loss_and_parses_process() {
        let c: GatewayConfig = toml::from_str(BASE).unwrap();
        assert_eq!(c.audit.durability, Durability::PowerLoss);
        let c: GatewayConfig =
            toml::from_str(&format!("{BASE}[audit]\ndurability = \"process\"\n")).unwrap();
        assert_eq!(c.audit.durability, Durability::Process);
        let err =
            toml::from_str::<GatewayConfig>(&format!("{BASE}[audit]\ndurability = \"disk\"\n"))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("process") && err.contains("power-loss"),
            "{err}"
        );
    }

    #[test]
    fn every_relative_path_is_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        let text = "store = \"sqlite:data/gw.sqlite?cache=shared\"\n[tls]\ncert_file = \"tls/c.pem\"\nkey_file = \"/etc/k.pem\"\n[upstream]\nurl = \"http://127.0.0.1:1\"\n[upstream.identity]\nmode = \"oauth1-impersonation\"\nconsumer_key = \"k\"\nprivate_key_file = \"keys/k.pem\"\n";
        std::fs::write(&path, text).unwrap();
        let c = GatewayConfig::load(&path).unwrap();
        let base = std::path::absolute(dir.path()).unwrap();
        assert_eq!(
            c.store,
            format!(
                "sqlite:{}?cache=shared",
                base.join("data/gw.sqlite").display()
            )
        );
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert_file, base.join("tls/c.pem"));
        assert_eq!(tls.key_file, Path::new("/etc/k.pem"));
        let IdentityConfig::Oauth1Impersonation {
            private_key_file, ..
        } = c.upstream.identity
        else {
            panic!("identity");
        };
        assert_eq!(private_key_file, base.join("keys/k.pem"));
        // The default store too; other stores are left alone.
        std::fs::write(&path, BASE).unwrap();
        let c = GatewayConfig::load(&path).unwrap();
        assert_eq!(
            c.store,
            format!("sqlite:{}", base.join("cfl-gateway.sqlite").display())
        );
        for url in [
            "postgres://u@h/db",
            "sqlite::memory:",
            "sqlite:/abs/x.sqlite",
        ] {
            assert_eq!(resolve_sqlite_url(url, &base), url);
        }
    }

    #[test]
    fn workers_default_to_one_per_cpu_and_are_bounded() {
        let c: GatewayConfig = toml::from_str(BASE).unwrap();
        assert_eq!(c.workers, 0);
        c.validate().unwrap();
        let c: GatewayConfig = toml::from_str(&format!("workers = 1\n{BASE}")).unwrap();
        assert_eq!(c.workers, 1);
        c.validate().unwrap();
        let c: GatewayConfig = toml::from_str(&format!("workers = 100000\n{BASE}")).unwrap();
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("workers = 100000") && err.contains("0 (one thread per CPU)"),
            "{err}"
        );
        assert!(toml::from_str::<GatewayConfig>(&format!("workers = -1\n{BASE}")).is_err());
    }
}
