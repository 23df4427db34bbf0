//! The resolved credential for one command (what it sends is its method's
//! [`crate::authorize::Authorizer`]).
//! Resolution follows gh's order: an explicit `--profile` flag, then the environment
//! (`CONFLUENCE_URL` + `CONFLUENCE_EMAIL` + `CONFLUENCE_API_TOKEN`, or `CONFLUENCE_URL` +
//! `CONFLUENCE_PAT`), then the profile from `CFL_PROFILE` or the active one, whose secret comes
//! from the keychain and then the file.

use std::path::Path;

use base64::Engine;
use url::Url;

use crate::config::{Config, Method, Profile, SecretStore};
use crate::deployment::{self, Deployment};
use crate::error::{Error, Result};

/// Where the secret came from (shown by `cfl auth status`, never the secret itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Env,
    Store(SecretStore),
    /// Typed or piped in during `cfl auth login`, not saved yet.
    Login,
}

#[derive(Clone)]
pub struct Credential {
    pub profile: Option<String>,
    pub source: Source,
    pub deployment: Deployment,
    pub method: Method,
    pub api_base: Url,
    pub login: Option<String>,
    /// Non-secret OAuth settings of the profile (see `Profile::oauth`).
    pub oauth: std::collections::BTreeMap<String, String>,
    secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("profile", &self.profile)
            .field("method", &self.method)
            .field("api_base", &self.api_base.as_str())
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl Credential {
    pub fn new(
        method: Method,
        deployment: Deployment,
        api_base: &str,
        login: Option<String>,
        secret: String,
        source: Source,
    ) -> Result<Credential> {
        if matches!(
            method,
            Method::ApiToken | Method::ScopedToken | Method::Basic | Method::Cookie
        ) && login.is_none()
        {
            return Err(Error::Invalid(format!(
                "method {method} needs a login (--email on Cloud, --username on DC)"
            )));
        }
        let api_base = Url::parse(api_base)
            .map_err(|e| Error::Invalid(format!("bad API base {api_base:?}: {e}")))?;
        Ok(Credential {
            profile: None,
            source,
            deployment,
            method,
            api_base,
            login,
            oauth: Default::default(),
            secret,
        })
    }

    /// With the profile's OAuth settings (client id, token URL, consumer key, user to act as).
    pub fn with_oauth(mut self, oauth: std::collections::BTreeMap<String, String>) -> Credential {
        self.oauth = oauth;
        self
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Every string whose appearance in output would leak the secret (for redaction): the
    /// secret, what it holds, and the Basic encodings made of it.
    pub fn sensitive(&self) -> Vec<String> {
        let login = self.login.as_deref().unwrap_or_default();
        let basic = |secret: &str| {
            base64::engine::general_purpose::STANDARD.encode(format!("{login}:{secret}"))
        };
        let mut out = vec![self.secret.clone(), basic(&self.secret)];
        if self.method.stores_json() {
            if let Ok(s) = crate::oauth::StoredSecret::parse(&self.secret) {
                out.extend(s.password.as_deref().map(basic));
                out.extend(s.values());
            }
        }
        out.retain(|s| !s.is_empty());
        out
    }
}

/// Reads the credential from the environment, if `CONFLUENCE_URL` and a secret are set.
pub fn from_env() -> Result<Option<Credential>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let Some(url) = var("CONFLUENCE_URL") else {
        return Ok(None);
    };
    let site =
        deployment::parse_site(&url).map_err(|e| Error::Invalid(format!("CONFLUENCE_URL: {e}")))?;
    let forced = var("CONFLUENCE_DEPLOYMENT")
        .map(|d| Deployment::parse(&d))
        .transpose()?;
    if let Some(pat) = var("CONFLUENCE_PAT") {
        return Credential::new(
            Method::Pat,
            Deployment::DataCenter,
            site.as_str(),
            None,
            pat,
            Source::Env,
        )
        .map(Some);
    }
    let (Some(email), Some(token)) = (var("CONFLUENCE_EMAIL"), var("CONFLUENCE_API_TOKEN")) else {
        return Ok(None);
    };
    let dep = forced
        .or_else(|| deployment::classify(&site))
        .unwrap_or(Deployment::Cloud);
    let (method, base) = match dep {
        Deployment::CloudScoped => {
            let mut b = site.as_str().trim_end_matches('/').to_string();
            if !b.ends_with("/wiki") {
                b.push_str("/wiki");
            }
            (Method::ScopedToken, b)
        }
        Deployment::Cloud => (Method::ApiToken, deployment::cloud_api_base(&site)),
        // CONFLUENCE_DEPLOYMENT=dc with an email/token pair: DC Basic user:password.
        Deployment::DataCenter => (Method::Basic, site.as_str().to_string()),
    };
    Credential::new(method, dep, &base, Some(email), token, Source::Env).map(Some)
}

/// Builds the credential for a saved profile, reading its secret.
pub fn from_profile(dir: &Path, name: &str, p: &Profile) -> Result<Credential> {
    let (secret, store) = crate::secrets::load(dir, name)?.ok_or_else(|| {
        Error::Invalid(format!(
            "profile {name:?} has no stored secret; run `cfl auth login --profile {name}`"
        ))
    })?;
    let mut c = Credential::new(
        p.method,
        p.deployment,
        &p.api_base,
        p.login.clone(),
        secret,
        Source::Store(store),
    )?
    .with_oauth(p.oauth.clone());
    c.profile = Some(name.to_string());
    Ok(c)
}

/// Resolves the credential for a command: `--profile` flag > env > `CFL_PROFILE`/active profile.
pub fn resolve(dir: &Path, flag_profile: Option<&str>) -> Result<(Credential, Option<Profile>)> {
    let config = Config::load(dir)?;
    if flag_profile.is_none() {
        if let Some(c) = from_env()? {
            return Ok((c, None));
        }
    }
    let env_profile = std::env::var("CFL_PROFILE").ok().filter(|s| !s.is_empty());
    let name = config
        .pick(flag_profile.or(env_profile.as_deref()))
        .ok_or_else(|| {
            Error::Invalid(
                "not logged in: run `cfl auth login`, or set CONFLUENCE_URL with CONFLUENCE_PAT \
                 (Data Center) or CONFLUENCE_EMAIL + CONFLUENCE_API_TOKEN (Cloud)"
                    .into(),
            )
        })?;
    let profile = config.profiles.get(&name).cloned().ok_or_else(|| {
        let known: Vec<_> = config.profiles.keys().cloned().collect();
        Error::Invalid(format!(
            "no profile named {name:?} (known: {}); run `cfl auth login --profile {name}`",
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ))
    })?;
    let cred = from_profile(dir, &name, &profile)?;
    Ok((cred, Some(profile)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_required_and_secrets_listed_for_redaction() {
        let b = Credential::new(
            Method::ApiToken,
            Deployment::Cloud,
            "https://a.atlassian.net/wiki",
            Some("a@b.c".into()),
            "t".into(),
            Source::Login,
        )
        .unwrap();
        assert!(b.sensitive().contains(&"YUBiLmM6dA==".to_string()));
        assert!(!format!("{b:?}").contains("YUBiLmM6dA"));
        assert!(Credential::new(
            Method::Basic,
            Deployment::DataCenter,
            "http://h",
            None,
            "p".into(),
            Source::Login
        )
        .is_err());
        let o = Credential::new(
            Method::Oauth2,
            Deployment::CloudScoped,
            "http://h",
            None,
            r#"{"access_token":"acc","refresh_token":"ref-secret"}"#.into(),
            Source::Login,
        )
        .unwrap();
        assert!(o.sensitive().contains(&"ref-secret".to_string()));
        assert!(o.sensitive().contains(&"acc".to_string()));
    }
}
