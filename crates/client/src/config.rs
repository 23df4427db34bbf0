//! Profiles: one TOML file (`config.toml`) in the XDG config dir (or `CFL_CONFIG_DIR`), holding
//! several sites side by side and which one is active. Secrets never go in this file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::deployment::Deployment;
use crate::error::{Error, Result};
pub use crate::secrets::SecretStore;

/// How a profile authenticates: its name in `config.toml` and on the command line (the serde
/// names below; never rename one, saved profiles use them). Everything else about a method lives
/// in its file in `authorize/` ([`crate::authorize::Spec`], looked up by [`Method::spec`]); how it
/// logs in, in [`crate::login`]. The OAuth and cookie methods keep their settings in
/// `Profile::oauth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Cloud classic API token: Basic `email:token` on `SITE/wiki`.
    ApiToken,
    /// Cloud scoped API token: Basic `email:token` on `GATEWAY/ex/confluence/CLOUD_ID/wiki`.
    ScopedToken,
    /// Data Center personal access token: `Bearer PAT`.
    Pat,
    /// Data Center `user:password` Basic (legacy).
    Basic,
    /// Cloud OAuth 2.0 (3LO): bearer on the API gateway, rotating refresh token.
    Oauth2,
    /// Cloud OAuth 2.0 client credentials (service accounts): 60-minute bearer, fetched again.
    ClientCredentials,
    /// DC OAuth 1.0a three-legged (application link): each request signed RSA-SHA1.
    Oauth1,
    /// DC OAuth 1.0a two-legged acting as a user (`xoauth_requestor_id`).
    Oauth1Impersonation,
    /// DC OAuth 2.0 provider: authorization code + PKCE, refresh tokens.
    DcOauth2,
    /// DC session cookie (`JSESSIONID`), logged in again when it expires.
    Cookie,
}

/// One saved site + identity.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    /// The site as the user knows it (Cloud `https://x.atlassian.net`, DC base incl. context path).
    pub site: String,
    pub deployment: Deployment,
    pub method: Method,
    /// Where REST paths are rooted (`SITE/wiki`, `GATEWAY/ex/confluence/ID/wiki`, DC base).
    pub api_base: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_id: Option<String>,
    /// Cloud: the Atlassian account email; DC: the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    pub secret_store: SecretStore,
    /// TLS: extra CA bundle (PEM) and client certificate + key (PEM) for mTLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    /// Non-secret OAuth settings: `client_id`, `token_url`, `token_body` (json|form), `scope`,
    /// `consumer_key`, `as_user` (oauth1-impersonation).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub oauth: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Config {
    /// The profile used when neither `--profile` nor `CFL_PROFILE` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// The config directory: `CFL_CONFIG_DIR`, else the platform's config dir for cfl.
pub fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CFL_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "cfl")
        .map(|d| d.config_dir().to_path_buf())
        .ok_or_else(|| {
            Error::Invalid(
                "cannot find a config directory (no home directory?); set CFL_CONFIG_DIR".into(),
            )
        })
}

impl Config {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("config.toml")
    }

    pub fn load(dir: &Path) -> Result<Config> {
        let path = Config::path(dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                Error::Invalid(format!("cannot read profiles from {}: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = toml::to_string(self)
            .map_err(|e| Error::Request(format!("cannot serialise profiles: {e}")))?;
        crate::secrets::write_atomic(&Config::path(dir), text.as_bytes(), false)
    }

    /// The profile name to use: the explicit one, else `active`, else the only profile.
    pub fn pick(&self, explicit: Option<&str>) -> Option<String> {
        if let Some(name) = explicit {
            return Some(name.to_string());
        }
        if let Some(a) = &self.active {
            return Some(a.clone());
        }
        if self.profiles.len() == 1 {
            return self.profiles.keys().next().cloned();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_round_trips_and_methods_parse() {
        let mut c = Config::default();
        c.profiles.insert(
            "dc".into(),
            Profile {
                site: "https://c.example.com/confluence".into(),
                deployment: Deployment::DataCenter,
                method: Method::Oauth1Impersonation,
                api_base: "https://c.example.com/confluence".into(),
                cloud_id: None,
                login: Some("alice".into()),
                secret_store: SecretStore::File,
                ca_bundle: None,
                client_cert: None,
                client_key: None,
                oauth: [("consumer_key".to_string(), "k".to_string())].into(),
            },
        );
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("method = \"oauth1-impersonation\""), "{text}");
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back.profiles["dc"], c.profiles["dc"]);
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()).unwrap(), m);
        }
        assert!(Method::parse("password").is_err());
    }
}
