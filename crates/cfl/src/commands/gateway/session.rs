//! The admin session `cfl gateway login` obtained: kept in the secret store the profiles use (the
//! OS keychain, else the 0600 `secrets.toml`) under the gateway's URL, with its expiry, so
//! `cfl token` and `cfl audit` can use it instead of a gateway admin token.

use anyhow::Context;
use cfl_client::secrets::{self, SecretStore};
use serde::{Deserialize, Serialize};

/// What the gateway's `POST /admin/oidc/cli/token` answered.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredSession {
    /// The bearer secret for the admin API.
    pub session: String,
    /// Unix seconds.
    pub expires_at: i64,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub name: String,
}

impl std::fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("StoredSession")
            .field("expires_at", &self.expires_at)
            .field("role", &self.role)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl StoredSession {
    pub fn expired(&self) -> bool {
        self.expires_at <= cfl_client::oauth::now()
    }
}

/// The gateway URL as the session is filed under: no trailing slash, scheme and host lower-cased.
pub fn normalize(gateway: &str) -> String {
    let trimmed = gateway.trim().trim_end_matches('/');
    match url::Url::parse(trimmed) {
        Ok(u) => u.as_str().trim_end_matches('/').to_string(),
        Err(_) => trimmed.to_string(),
    }
}

fn key(gateway: &str) -> String {
    format!("gateway-session:{}", normalize(gateway))
}

fn dir() -> anyhow::Result<std::path::PathBuf> {
    Ok(cfl_client::config::config_dir()?)
}

/// Keeps `s` for `gateway`; returns where it went.
pub fn save(gateway: &str, s: &StoredSession, insecure: bool) -> anyhow::Result<SecretStore> {
    let json = serde_json::to_string(s)?;
    Ok(secrets::store(&dir()?, &key(gateway), &json, insecure)?)
}

/// The session kept for `gateway`, if any (expired ones too: the caller says so).
pub fn load(gateway: &str) -> anyhow::Result<Option<StoredSession>> {
    let Some((text, _)) = secrets::load(&dir()?, &key(gateway))? else {
        return Ok(None);
    };
    // Never echo the text: it holds the secret.
    let s = serde_json::from_str(&text).ok().with_context(|| {
        format!(
            "the stored admin session for {} is not in the expected form; run `cfl gateway login` again",
            normalize(gateway)
        )
    })?;
    Ok(Some(s))
}

/// Forgets the session for `gateway`; whether there was one.
pub fn forget(gateway: &str) -> anyhow::Result<bool> {
    Ok(!secrets::remove(&dir()?, &key(gateway))?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_gateway_one_key_whatever_the_spelling() {
        assert_eq!(
            key("http://GW.example:8080/"),
            key("http://gw.example:8080")
        );
        assert_ne!(key("http://gw.example:8080"), key("http://gw.example:8081"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = StoredSession {
            session: "cfl_sess_very-secret".into(),
            expires_at: 1,
            role: "admin".into(),
            name: "Ada".into(),
        };
        assert!(!format!("{s:?}").contains("very-secret"));
        assert!(s.expired());
    }
}
