//! The OAuth and session sign-in methods of the client: what a profile stores for them
//! ([`StoredSecret`], kept as one JSON value in the keychain or the 0600 file), the token endpoint
//! grants ([`token`]), the loopback redirect listener and browser launch ([`loopback`]), OAuth 1.0a
//! legs and per-request signing ([`oauth1`]) and the live state a [`crate::Client`] renews while it
//! runs ([`live`]).

pub mod live;
pub mod loopback;
pub mod oauth1;
pub mod token;

use serde::{Deserialize, Serialize};

/// Everything secret a non-token profile needs, stored together so a rotation is one atomic write.
/// Non-secret settings (client id, token URL, consumer key, user to act as) live in the profile.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StoredSecret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds when the access token expires, by this machine's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// OAuth 2.0 client secret (needed again for every refresh / client-credentials fetch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// OAuth 1.0a consumer private key (PEM contents, so the key file may be removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// Cookie method: the password to log in again when the session expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Cookie method: the current `JSESSIONID` value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

impl std::fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSecret")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl StoredSecret {
    pub fn parse(text: &str) -> crate::error::Result<StoredSecret> {
        serde_json::from_str(text).map_err(|_| {
            // Never echo the text: it is a secret.
            crate::Error::Request(
                "the stored secret of this profile is not in the expected form; log in again"
                    .into(),
            )
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Every secret value held (for redaction).
    pub fn values(&self) -> Vec<String> {
        let mut v: Vec<String> = [
            &self.access_token,
            &self.refresh_token,
            &self.client_secret,
            &self.password,
            &self.session,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        if let Some(pem) = &self.private_key {
            v.push(pem.clone());
            // A log line would show one line of a key at most; redact each base64 line too.
            v.extend(
                pem.lines()
                    .map(str::trim)
                    .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
                    .map(str::to_string),
            );
        }
        v
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Random URL-safe text (`bytes` random bytes, base64url): PKCE verifiers and `state`.
pub fn random_urlsafe(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_secret_round_trips_and_hides_in_debug() {
        let s = StoredSecret {
            access_token: Some("acc".into()),
            refresh_token: Some("ref".into()),
            expires_at: Some(5),
            ..Default::default()
        };
        let back = StoredSecret::parse(&s.to_json()).unwrap();
        assert_eq!(back, s);
        assert!(!format!("{s:?}").contains("ref"));
        assert!(s.values().contains(&"ref".to_string()));
        let err = StoredSecret::parse("plain-token-xyz")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("plain-token-xyz"));
    }
}
