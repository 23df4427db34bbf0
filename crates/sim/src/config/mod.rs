//! The simulator's TOML configuration: who exists, which credentials work, and how the server misbehaves.
//!
//! `examples/sim.toml` documents every field. Validation happens once at load time so that a typo
//! is reported with the field that is wrong, instead of surfacing as a confusing 401 later.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod users;

pub use users::{ScopedTokenConfig, SeedPatConfig, UserConfig};

/// Which Confluence the simulator pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Cloud,
    Dc,
}

impl Flavor {
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Cloud => "cloud",
            Flavor::Dc => "dc",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    pub flavor: Flavor,
    #[serde(default)]
    pub anonymous_access: bool,
    /// DC: after this many consecutive failed logins of a user, Confluence demands a CAPTCHA:
    /// Basic requests for that user get 401 `X-Seraph-LoginReason: AUTHENTICATION_DENIED` (even
    /// with the right password) until a browser login (`/dologin.action`) succeeds.
    #[serde(default = "default_captcha_after")]
    pub captcha_after_failures: u32,
    /// DC behind an SSO proxy: a request carrying `secret_header: secret` runs as the user named
    /// in `user_header` (what `cfl serve`'s `header` identity relies on). Off when absent.
    #[serde(default)]
    pub trusted_header: Option<TrustedHeaderConfig>,
    /// Cloud only: the id `/_edge/tenant_info` reports and `/ex/confluence/{cloudId}` expects.
    #[serde(default = "default_cloud_id")]
    pub cloud_id: String,
    /// DC only: a context path such as `/confluence` that every route is served under.
    #[serde(default)]
    pub context_path: String,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub oauth1_consumers: Vec<OAuth1ConsumerConfig>,
    #[serde(default)]
    pub oauth2_clients: Vec<OAuth2ClientConfig>,
    #[serde(default)]
    pub tokens: TokenLifetimes,
    #[serde(default)]
    pub pats: PatPolicy,
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
    #[serde(default)]
    pub latency: LatencyConfig,
    #[serde(default)]
    pub seed: SeedConfig,
    /// Largest attachment upload accepted, in MiB (Confluence's default limit is 100 MB; admins
    /// raise it). Over it: 413.
    #[serde(default = "default_max_attachment_mb")]
    pub max_attachment_mb: u64,
    /// Serve `/__sim/*` control endpoints (fault injection, clock, inspection). On by default:
    /// the simulator is a test tool, never exposed beyond loopback.
    #[serde(default = "yes")]
    pub control_api: bool,
    /// Cloud only: serve the REST v1 operations Atlassian removed (they answer 410 by default,
    /// as on today's Cloud), for testing clients written before the removal.
    #[serde(default)]
    pub legacy_v1: bool,
    /// Cloud only: attachment downloads answer 302 to this simulator under its other loopback
    /// name (`127.0.0.1` <-> `localhost`), a stand-in media host that refuses requests carrying
    /// an `Authorization` header (400), so tests prove a client keeps the credential to its host.
    #[serde(default)]
    pub media_redirect: bool,
    /// How many of the latest requests `GET /__sim/requests` keeps (oldest dropped first; 0
    /// records none). The default holds a whole test's traffic while a long run (a benchmark,
    /// a big export) can't grow the simulator's memory without bound.
    #[serde(default = "default_request_log_entries")]
    pub request_log_entries: usize,
    /// The largest v1 `limit` per kind of list (larger asks are clamped, as Confluence does). The
    /// defaults are unverified (see `content::pagination`), hence configurable.
    #[serde(default)]
    pub v1_limits: V1Limits,
    /// An OpenID Connect provider on the same address (Entra ID-shaped paths); off when absent.
    #[serde(default)]
    pub oidc: Option<crate::oidc::OidcConfig>,
    /// Extender's "REST API Tokens" add-on installed, with these tokens; off when absent.
    #[serde(default)]
    pub extender: Option<crate::extender::ExtenderConfig>,
    /// Content loaded by `cfl sim --seed` ([`SimConfig::with_seed`]); replaces what `[seed]`
    /// would generate, and is what `/__sim/reset` restores.
    #[serde(skip)]
    pub seed_content: Option<std::sync::Arc<crate::seed::Seed>>,
}

fn yes() -> bool {
    true
}

fn default_request_log_entries() -> usize {
    1000
}

fn default_max_attachment_mb() -> u64 {
    100
}

fn default_captcha_after() -> u32 {
    3
}

fn default_cloud_id() -> String {
    "a436116f-02ce-4520-8fbb-7301462a1674".to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedHeaderConfig {
    pub user_header: String,
    pub secret_header: String,
    pub secret: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth1ConsumerConfig {
    pub key: String,
    /// PEM file (SPKI or PKCS#1) with the consumer's RSA public key; relative to the config file.
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    /// The same key inline, for tests that generate keys on the fly.
    #[serde(default)]
    pub public_key_pem: Option<String>,
    #[serde(default)]
    pub allow_2lo: bool,
    #[serde(default)]
    pub allow_impersonation: bool,
    /// The user a 2-legged request without `xoauth_requestor_id` runs as (None: anonymous).
    #[serde(default)]
    pub executing_2lo_user: Option<String>,
    /// Callback URL registered with the application link (3-legged flow).
    #[serde(default)]
    pub callback: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OAuth2ClientKind {
    /// Cloud OAuth 2.0 (3LO) app: authorization code, refresh tokens that rotate.
    #[serde(rename = "cloud-3lo")]
    Cloud3lo,
    /// Cloud service account: client credentials, 60-minute bearer.
    CloudClientCredentials,
    /// Data Center OAuth 2.0 provider (incoming link): authorization code + PKCE, refresh.
    Dc,
    /// Data Center service account: client credentials at `/rest/oauth2/latest/token`.
    DcClientCredentials,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2ClientConfig {
    pub kind: OAuth2ClientKind,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// For client-credentials clients: the service account the token acts as.
    #[serde(default)]
    pub service_account: Option<String>,
}

/// v1 maximum for content lists, children and CQL search without body expansion (Confluence clamps
/// silently). UNVERIFIED: neither the DC 9.3 nor the Cloud v1 description states a maximum for
/// these operations, and Atlassian's pagination guide only says the limits "will be different
/// depending on what parts of the response you're expanding". 100 is what clients observe;
/// `[v1_limits] content` in the simulator config changes it.
pub const V1_MAX_LIMIT: usize = 100;
/// v1 maximum for label lists. UNVERIFIED: 200 is the `limit` *default* the Cloud v1
/// description gives for `/label` and `/space/{key}/label`; no maximum is published.
/// `[v1_limits] labels` changes it.
pub const V1_LABEL_MAX_LIMIT: usize = 200;
/// v1 maximum for `/group` and `/group/{name}/member`. UNVERIFIED: 200 is the `limit` default in
/// the DC 9.3 and Cloud v1 descriptions; no maximum is published. `[v1_limits] groups` changes it.
pub const V1_GROUP_MAX_LIMIT: usize = 200;

/// `[v1_limits]`: maxima for v1 `limit`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct V1Limits {
    /// Content lists, children, attachments, properties, spaces, CQL search.
    #[serde(default = "default_content_cap")]
    pub content: usize,
    #[serde(default = "default_labels_cap")]
    pub labels: usize,
    #[serde(default = "default_groups_cap")]
    pub groups: usize,
}

fn default_content_cap() -> usize {
    V1_MAX_LIMIT
}
fn default_labels_cap() -> usize {
    V1_LABEL_MAX_LIMIT
}
fn default_groups_cap() -> usize {
    V1_GROUP_MAX_LIMIT
}

impl Default for V1Limits {
    fn default() -> Self {
        V1Limits {
            content: default_content_cap(),
            labels: default_labels_cap(),
            groups: default_groups_cap(),
        }
    }
}

/// Lifetimes of issued credentials, shortened in tests to exercise expiry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenLifetimes {
    #[serde(default = "default_access_ttl")]
    pub access_token_seconds: u64,
    #[serde(default = "default_refresh_ttl")]
    pub refresh_token_seconds: u64,
    #[serde(default = "default_session_ttl")]
    pub session_seconds: u64,
    /// OAuth 1.0a: how far a timestamp may be from the server clock.
    #[serde(default = "default_timestamp_skew")]
    pub oauth1_timestamp_skew_seconds: u64,
}

fn default_access_ttl() -> u64 {
    3600
}
fn default_refresh_ttl() -> u64 {
    90 * 24 * 3600
}
fn default_session_ttl() -> u64 {
    1800
}
fn default_timestamp_skew() -> u64 {
    300
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        TokenLifetimes {
            access_token_seconds: default_access_ttl(),
            refresh_token_seconds: default_refresh_ttl(),
            session_seconds: default_session_ttl(),
            oauth1_timestamp_skew_seconds: default_timestamp_skew(),
        }
    }
}

/// DC PAT system properties (`atlassian.pats.*`), with Confluence's defaults.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatPolicy {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "yes")]
    pub eternal_tokens_enabled: bool,
    #[serde(default = "default_max_days")]
    pub max_expiry_days: i64,
    #[serde(default = "default_max_tokens")]
    pub max_tokens_per_user: usize,
    #[serde(default = "default_name_length")]
    pub name_length: usize,
    /// Whether a request authenticated by a PAT may create another PAT. Unverified against real
    /// Confluence (the create call only requires an authenticated caller), hence a switch.
    #[serde(default = "yes")]
    pub allow_pat_auth_to_create: bool,
}

fn default_max_days() -> i64 {
    365
}
fn default_max_tokens() -> usize {
    10
}
fn default_name_length() -> usize {
    40
}

impl Default for PatPolicy {
    fn default() -> Self {
        PatPolicy {
            enabled: true,
            eternal_tokens_enabled: true,
            max_expiry_days: default_max_days(),
            max_tokens_per_user: default_max_tokens(),
            name_length: default_name_length(),
            allow_pat_auth_to_create: true,
        }
    }
}

/// A token bucket per credential: `requests` per `interval_seconds`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub requests: u32,
    #[serde(default = "one")]
    pub interval_seconds: u64,
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyConfig {
    /// Added before every API response.
    #[serde(default)]
    pub ms: u64,
}

/// Deterministic content generated at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedConfig {
    #[serde(default = "default_spaces")]
    pub spaces: usize,
    #[serde(default = "default_pages")]
    pub pages_per_space: usize,
    /// Every Nth page gets an attachment (0 = none).
    #[serde(default = "default_attach_every")]
    pub attachment_every: usize,
    /// Labels handed out round-robin to pages.
    #[serde(default = "default_labels")]
    pub labels: Vec<String>,
    /// How many children each page has before the tree gets deeper.
    #[serde(default = "default_fanout")]
    pub fanout: usize,
}

fn default_spaces() -> usize {
    2
}
fn default_pages() -> usize {
    12
}
fn default_attach_every() -> usize {
    4
}
fn default_labels() -> Vec<String> {
    vec!["howto".into(), "runbook".into(), "architecture".into()]
}
fn default_fanout() -> usize {
    3
}

impl Default for SeedConfig {
    fn default() -> Self {
        SeedConfig {
            spaces: default_spaces(),
            pages_per_space: default_pages(),
            attachment_every: default_attach_every(),
            labels: default_labels(),
            fanout: default_fanout(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // `reason`, not `source`: the OS error is part of this one line, not a cause printed again.
    #[error("cannot read simulator config {path}: {reason}")]
    Read {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("invalid simulator config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid simulator config: {0}")]
    Invalid(String),
    #[error(transparent)]
    Seed(#[from] crate::seed::SeedError),
}

impl SimConfig {
    /// Reads, parses and validates a config file; relative key paths resolve against its folder.
    pub fn load(path: &Path) -> Result<SimConfig, ConfigError> {
        // Errors name the absolute path: `nope.toml` alone doesn't say where it was looked for.
        let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let text = std::fs::read_to_string(path).map_err(|reason| ConfigError::Read {
            path: shown.clone(),
            reason,
        })?;
        let mut config = SimConfig::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: shown.clone(),
                message,
            },
            other => other,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for consumer in &mut config.oauth1_consumers {
            if let Some(file) = &consumer.public_key_file {
                let full = base.join(file);
                let pem = std::fs::read_to_string(&full).map_err(|e| {
                    ConfigError::Invalid(format!(
                        "oauth1 consumer {:?}: cannot read public_key_file {}: {e}",
                        consumer.key,
                        full.display()
                    ))
                })?;
                consumer.public_key_pem = Some(pem);
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Loads `cfl sim --seed DIR|FILE`: its content replaces the generated demo content, its users
    /// join the config's (a name or email declared twice is an error).
    pub fn with_seed(mut self, path: &Path) -> Result<SimConfig, ConfigError> {
        let seed = crate::seed::Seed::load(path)?;
        let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.users.extend(seed.users.iter().cloned());
        self.validate().map_err(|e| match e {
            ConfigError::Invalid(m) => ConfigError::Seed(crate::seed::SeedError {
                path: shown.clone(),
                message: format!("with the config's users: {m}"),
            }),
            other => other,
        })?;
        seed.check_authors(&shown, &self.users)?;
        self.seed_content = Some(std::sync::Arc::new(seed));
        Ok(self)
    }

    /// Parses TOML text without touching the file system (inline keys only).
    pub fn parse(text: &str) -> Result<SimConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("<inline>"),
            message: e.to_string(),
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(oidc) = &self.oidc {
            oidc.validate().map_err(ConfigError::Invalid)?;
        }
        if let Some(extender) = &self.extender {
            extender
                .validate(&self.users)
                .map_err(ConfigError::Invalid)?;
        }
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let mut names = HashSet::new();
        let mut emails = HashSet::new();
        for user in &self.users {
            if user.name.is_empty() || user.name.contains(':') {
                return invalid(format!(
                    "user name {:?} must be non-empty and contain no ':'",
                    user.name
                ));
            }
            if !names.insert(user.name.to_lowercase()) {
                return invalid(format!("user {:?} is declared twice", user.name));
            }
            if !emails.insert(user.email.to_lowercase()) {
                return invalid(format!("email {:?} is used by two users", user.email));
            }
        }
        for consumer in &self.oauth1_consumers {
            if consumer.public_key_pem.is_none() {
                return invalid(format!(
                    "oauth1 consumer {:?} needs public_key_file or public_key_pem",
                    consumer.key
                ));
            }
            if consumer.allow_impersonation && !consumer.allow_2lo {
                return invalid(format!(
                    "oauth1 consumer {:?}: allow_impersonation requires allow_2lo = true",
                    consumer.key
                ));
            }
        }
        for client in &self.oauth2_clients {
            let needs_account = matches!(
                client.kind,
                OAuth2ClientKind::CloudClientCredentials | OAuth2ClientKind::DcClientCredentials
            );
            if needs_account {
                match &client.service_account {
                    Some(acct) if names.contains(&acct.to_lowercase()) => {}
                    Some(acct) => {
                        return invalid(format!(
                            "oauth2 client {:?}: service_account {acct:?} is not a declared user",
                            client.client_id
                        ))
                    }
                    None => {
                        return invalid(format!(
                            "oauth2 client {:?}: client-credentials clients need service_account",
                            client.client_id
                        ))
                    }
                }
            }
        }
        let caps = &self.v1_limits;
        if caps.content == 0 || caps.labels == 0 || caps.groups == 0 {
            return invalid("v1_limits values must be at least 1".into());
        }
        if let Some(rl) = &self.rate_limit {
            if rl.requests == 0 || rl.interval_seconds == 0 {
                return invalid("rate_limit.requests and interval_seconds must be > 0".into());
            }
        }
        if !self.context_path.is_empty()
            && (!self.context_path.starts_with('/') || self.context_path.ends_with('/'))
        {
            return invalid(format!(
                "context_path {:?} must start with '/' and not end with one (e.g. \"/confluence\")",
                self.context_path
            ));
        }
        if self.flavor == Flavor::Cloud && !self.context_path.is_empty() {
            return invalid("context_path applies to flavor = \"dc\" only".into());
        }
        if self.flavor == Flavor::Dc && self.media_redirect {
            return invalid("media_redirect applies to flavor = \"cloud\" only".into());
        }
        if self.flavor == Flavor::Dc && self.legacy_v1 {
            return invalid(
                "legacy_v1 applies to flavor = \"cloud\" only (Data Center serves all of REST v1)"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_gets_confluence_defaults() {
        let c = SimConfig::parse("flavor = \"dc\"").unwrap();
        assert_eq!(c.pats.max_tokens_per_user, 10);
        assert_eq!(c.pats.max_expiry_days, 365);
        assert!(!c.anonymous_access);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn unknown_field_is_named_in_the_error() {
        let err = SimConfig::parse("flavor = \"dc\"\nanonymous = true").unwrap_err();
        assert!(err.to_string().contains("anonymous"), "{err}");
    }

    #[test]
    fn a_missing_file_is_one_line_with_the_absolute_path() {
        let err = SimConfig::load(Path::new("no-such-sim-config.toml")).unwrap_err();
        let text = err.to_string();
        let cwd = std::env::current_dir().unwrap();
        assert!(
            text.contains(&cwd.join("no-such-sim-config.toml").display().to_string()),
            "{text}"
        );
        assert_eq!(text.matches("os error").count(), 1, "{text}");
        assert!(std::error::Error::source(&err).is_none());
    }

    #[test]
    fn cloud_only_switches_are_refused_on_dc() {
        for key in ["legacy_v1", "media_redirect"] {
            let c = SimConfig::parse(&format!("flavor = \"dc\"\n{key} = true")).unwrap();
            let err = c.validate().unwrap_err().to_string();
            assert!(err.contains(key) && err.contains("cloud"), "{err}");
            let c = SimConfig::parse(&format!("flavor = \"cloud\"\n{key} = true")).unwrap();
            assert!(c.validate().is_ok());
        }
    }

    #[test]
    fn duplicate_user_is_rejected() {
        let c = SimConfig::parse(
            r#"flavor = "dc"
[[users]]
name = "a"
display_name = "A"
email = "a@x"
[[users]]
name = "A"
display_name = "A2"
email = "b@x""#,
        )
        .unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("twice"));
    }
}
