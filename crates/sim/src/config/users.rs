//! `[[users]]`: the accounts the simulator starts with. A leaf, because seed files use the same
//! fields and the config loads the seed.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// DC username; on Cloud a stable handle used to derive the accountId.
    pub name: String,
    pub display_name: String,
    pub email: String,
    /// None: a passwordless account (e.g. synced from Entra ID) that can't use Basic or log in.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub admin: bool,
    /// Cloud classic API tokens (Basic `email:token` on the site).
    #[serde(default)]
    pub api_tokens: Vec<String>,
    /// Cloud scoped API tokens (Basic `email:token` on `/ex/confluence/{cloudId}` only).
    #[serde(default)]
    pub scoped_tokens: Vec<ScopedTokenConfig>,
    /// DC personal access tokens that exist at start (as raw tokens, stored hashed).
    #[serde(default)]
    pub pats: Vec<SeedPatConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopedTokenConfig {
    pub token: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPatConfig {
    pub name: String,
    pub token: String,
    /// Days until expiry; None = never expires (eternal tokens are enabled by default on DC).
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}
