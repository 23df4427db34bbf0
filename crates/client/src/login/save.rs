//! Saving a verified login as a profile: the secret to the keychain or the 0600 file (said out
//! loud), the settings to `config.toml`, the profile made active. Shared by every
//! login method.

use std::collections::BTreeMap;

use url::Url;

use crate::config::{config_dir, Config, Method, Profile, SecretStore};
use crate::identity::Identity;
use crate::secrets;
use crate::Deployment;

use super::Globals;
use super::{say, Options};

/// What a finished login knows.
pub struct Login {
    pub site: String,
    pub default_name: String,
    pub deployment: Deployment,
    pub method: Method,
    pub api_base: String,
    pub cloud_id: Option<String>,
    pub login: Option<String>,
    pub oauth: BTreeMap<String, String>,
    /// The JSON `StoredSecret`.
    pub secret: String,
    pub expires_at: Option<i64>,
}

pub fn save(l: Login, who: &Identity, a: &Options, g: &Globals) -> crate::error::Result<()> {
    let dir = config_dir()?;
    let mut config = Config::load(&dir)?;
    let name = g
        .profile
        .clone()
        .or_else(|| std::env::var("CFL_PROFILE").ok().filter(|s| !s.is_empty()))
        .unwrap_or(l.default_name);
    let store = secrets::store(&dir, &name, &l.secret, a.insecure_storage)?;
    config.profiles.insert(
        name.clone(),
        Profile {
            site: l.site,
            deployment: l.deployment,
            method: l.method,
            api_base: l.api_base.clone(),
            cloud_id: l.cloud_id,
            login: l.login,
            secret_store: store,
            ca_bundle: a.ca_bundle.clone(),
            client_cert: a.client_cert.clone(),
            client_key: a.client_key.clone(),
            oauth: l.oauth,
        },
    );
    config.active = Some(name.clone());
    config.save(&dir)?;
    say!(
        a,
        "✓ Logged in to {} as {} ({}) with {} ({}); profile {name:?} is now active.",
        l.api_base.trim_end_matches('/'),
        who.display_name,
        who.login,
        l.method,
        l.deployment
    );
    if let Some(e) = l.expires_at {
        say!(
            a,
            "The access token (or session) expires at {} and is renewed automatically.",
            fmt_time(e)
        );
    }
    match store {
        SecretStore::File => say!(
            a,
            "! The secret is stored UNENCRYPTED in {} (mode 0600){}.",
            secrets::file_path(&dir).display(),
            if secrets::keychain_available() {
                ""
            } else {
                " because this build has no OS keychain on this platform"
            }
        ),
        SecretStore::Keychain => say!(a, "The secret is stored in the OS keychain."),
    }
    Ok(())
}

pub(super) fn default_profile_name(site: &Url) -> String {
    let host = site.host_str().unwrap_or("default");
    match site.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// The server did not take the new credential. Said as text, not kept as the refusal it may be:
/// a login that fails has exit code 1 like any other failed login, not the 4 of a command whose
/// saved credential stopped working.
pub(super) fn login_failed(e: crate::Error) -> crate::Error {
    crate::Error::Request(format!(
        "login failed, nothing was saved: {}",
        e.with_sources()
    ))
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn fmt_time(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}
