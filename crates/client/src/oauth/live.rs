//! The stored secret of a running [`crate::Client`] for the renewable methods (the bearer of
//! OAuth 2.0 and client credentials, the cookie session), saved back to the profile's secret
//! store the moment a renewal brings a new one — a rotated refresh token exists nowhere else, so
//! losing it would mean logging in again. When and how to renew is each method's
//! (`crate::authorize`).
//!
//! One async mutex serialises renewals: concurrent requests that all see a 401 renew once (the
//! others find a token newer than the one that failed), which matters because presenting a
//! rotated refresh token twice is refused.

use std::path::PathBuf;

use super::token::Endpoint;
use super::StoredSecret;
use crate::config::SecretStore;
use crate::credentials::{Credential, Source};
use crate::error::{Error, Result};

pub struct Live {
    secret: tokio::sync::Mutex<Option<StoredSecret>>,
    /// Where to save renewals: (config dir, profile, file store?). None for unsaved credentials.
    persist: Option<(PathBuf, String, bool)>,
}

impl Live {
    pub fn new(cred: &Credential) -> Result<Live> {
        let secret = if cred.method.stores_json() {
            Some(StoredSecret::parse(cred.secret())?)
        } else {
            None
        };
        let persist = match (&cred.profile, &cred.source) {
            (Some(p), Source::Store(store)) => crate::config::config_dir()
                .ok()
                .map(|d| (d, p.clone(), *store == SecretStore::File)),
            _ => None,
        };
        Ok(Live {
            secret: tokio::sync::Mutex::new(secret),
            persist,
        })
    }

    /// The stored secret as it is now (after any renewal).
    pub async fn snapshot(&self) -> Option<StoredSecret> {
        self.secret.lock().await.clone()
    }

    pub async fn expires_at(&self) -> Option<i64> {
        self.secret.lock().await.as_ref().and_then(|s| s.expires_at)
    }

    /// Saves a renewed secret to the profile (nothing for an unsaved credential).
    pub fn save(&self, s: &StoredSecret) -> Result<()> {
        if let Some((dir, profile, file)) = &self.persist {
            crate::secrets::store(dir, profile, &s.to_json(), *file).map_err(|e| {
                Error::Request(format!(
                    "cannot save the renewed credential of profile {profile:?}: {}",
                    e.with_sources()
                ))
            })?;
        }
        Ok(())
    }

    /// The secret, locked: an authorizer reads it, renews it and saves it under this one lock.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, Option<StoredSecret>> {
        self.secret.lock().await
    }
}

/// The token endpoint of a profile (from its non-secret OAuth settings).
pub fn endpoint(cred: &Credential) -> Result<Endpoint> {
    let get = |k: &str| {
        cred.oauth
            .get(k)
            .cloned()
            .ok_or_else(|| Error::Request(format!("the profile has no OAuth {k}; log in again")))
    };
    Ok(Endpoint {
        token_url: get("token_url")?,
        client_id: get("client_id")?,
        json: cred.oauth.get("token_body").map(String::as_str) != Some("form"),
    })
}
