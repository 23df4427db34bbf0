//! The `minted-pat` upstream identity: a real Data Center personal access token per bound user,
//! created by acting as that user through the application link (OAuth 1.0a impersonation) —
//! the answer to "an admin can't create a PAT for a passwordless account".
//!
//! Minted tokens are sealed with ChaCha20-Poly1305 (the user's name as associated data, so a
//! sealed token can't be moved to another user's row) before they reach the store, kept in memory
//! for the hot path, shared by replicas through the store, and renewed `renew_before_days` before
//! they expire; the replaced token is revoked in Confluence.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use axum::http::HeaderValue;
use base64::Engine;
use cfl_auth::oauth1::{with_requestor_id, Consumer, RequestParts, TokenParams};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::store::minted::MintedPatRow;
use crate::store::Store;

const DAY_MS: i64 = 86_400_000;
/// Confluence's `token.name.length`.
const NAME_MAX: usize = 40;

struct Current {
    bearer: HeaderValue,
    pat_id: i64,
    expires_at: i64,
}

pub struct MintedPats {
    consumer: Consumer,
    cipher: ChaCha20Poly1305,
    pat_days: i64,
    renew_before_ms: i64,
    /// Per-user slot; the async mutex also makes concurrent first requests mint only once.
    users: std::sync::Mutex<HashMap<String, Arc<Mutex<Option<Current>>>>>,
}

impl MintedPats {
    pub fn new(
        consumer: Consumer,
        key_b64: &str,
        pat_days: i64,
        renew_before_days: i64,
    ) -> anyhow::Result<MintedPats> {
        let key = base64::engine::general_purpose::STANDARD
            .decode(key_b64.trim())
            .ok()
            .filter(|k| k.len() == 32)
            .context("the PAT encryption key must be 32 bytes, base64-encoded (make one with `openssl rand -base64 32`)")?;
        Ok(MintedPats {
            consumer,
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            pat_days,
            renew_before_ms: renew_before_days * DAY_MS,
            users: Default::default(),
        })
    }

    fn seal(&self, user: &str, raw: &str) -> anyhow::Result<String> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: raw.as_bytes(),
                    aad: user.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    fn open(&self, user: &str, sealed: &str) -> anyhow::Result<String> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(sealed)?;
        anyhow::ensure!(bytes.len() > 12, "sealed PAT too short");
        let (nonce, ct) = bytes.split_at(12);
        let pt = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: user.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!("cannot decrypt the stored PAT (wrong encryption key?)")
            })?;
        Ok(String::from_utf8(pt)?)
    }

    fn bearer(raw: &str) -> anyhow::Result<HeaderValue> {
        let mut v = HeaderValue::from_str(&format!("Bearer {raw}"))?;
        v.set_sensitive(true);
        Ok(v)
    }

    /// The `Authorization` value for `user`, minting or renewing its PAT when needed.
    pub async fn authorization(
        &self,
        client: &reqwest::Client,
        base: &str,
        store: &Store,
        user: &str,
        now: i64,
    ) -> anyhow::Result<HeaderValue> {
        let key = user.to_lowercase();
        let slot = self
            .users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        let mut current = slot.lock().await;
        if let Some(c) = current
            .as_ref()
            .filter(|c| c.expires_at - now > self.renew_before_ms)
        {
            return Ok(c.bearer.clone());
        }
        // Another replica (or an earlier run) may have minted one already.
        let stored = store.minted_pat(&key).await?;
        if let Some(row) = stored
            .as_ref()
            .filter(|r| r.expires_at - now > self.renew_before_ms)
        {
            let raw = self.open(&key, &row.sealed)?;
            let bearer = Self::bearer(&raw)?;
            *current = Some(Current {
                bearer: bearer.clone(),
                pat_id: row.pat_id,
                expires_at: row.expires_at,
            });
            return Ok(bearer);
        }
        let replaced = current
            .as_ref()
            .map(|c| c.pat_id)
            .or(stored.map(|r| r.pat_id));
        let (raw, pat_id, expires_at) = self.mint(client, base, user, now).await?;
        store
            .save_minted_pat(
                &key,
                &MintedPatRow {
                    pat_id,
                    sealed: self.seal(&key, &raw)?,
                    expires_at,
                },
                now,
            )
            .await?;
        let bearer = Self::bearer(&raw)?;
        *current = Some(Current {
            bearer: bearer.clone(),
            pat_id,
            expires_at,
        });
        tracing::info!(user, pat = pat_id, "minted a PAT through impersonation");
        if let Some(old) = replaced.filter(|old| *old != pat_id) {
            // Best effort: the old token expires on its own anyway.
            if let Err(e) = self.revoke(client, base, user, old).await {
                tracing::warn!(user, pat = old, error = %e, "could not revoke the replaced PAT");
            }
        }
        Ok(bearer)
    }

    /// Whether Confluence knows `user`: `/rest/api/user/current` as that user through the
    /// application link (`401`: unknown), without minting anything. `None`: no answer.
    pub async fn knows_user(
        &self,
        client: &reqwest::Client,
        base: &str,
        user: &str,
    ) -> Option<bool> {
        let (url, auth) = self
            .signed("GET", &format!("{base}/rest/api/user/current"), user)
            .ok()?;
        let resp = client
            .get(url)
            .header("authorization", auth)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        match resp.status().as_u16() {
            200..=299 => Some(true),
            401 => Some(false),
            _ => None,
        }
    }

    fn signed(&self, method: &str, url: &str, user: &str) -> anyhow::Result<(String, String)> {
        let url = with_requestor_id(url, user)?;
        let header = self
            .consumer
            .authorization_now(&RequestParts::new(method, &url), TokenParams::TwoLegged)?;
        Ok((url, header))
    }

    async fn mint(
        &self,
        client: &reqwest::Client,
        base: &str,
        user: &str,
        now: i64,
    ) -> anyhow::Result<(String, i64, i64)> {
        let (url, auth) = self.signed("POST", &format!("{base}/rest/pat/latest/tokens"), user)?;
        let mut name = format!("cfl gateway ({user})");
        name.truncate(NAME_MAX);
        let resp = client
            .post(url)
            .header("authorization", auth)
            .header("x-atlassian-token", "no-check")
            .json(&json!({"name": name, "expirationDuration": self.pat_days}))
            .send()
            .await
            .context("cannot reach Confluence to mint a PAT")?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let why = body["error"]
                .as_str()
                .or(body["message"].as_str())
                .unwrap_or("no reason given");
            anyhow::bail!("Confluence refused to mint a PAT for {user} ({status}): {why}");
        }
        let raw = body["rawToken"]
            .as_str()
            .context("the PAT answer has no rawToken")?
            .to_string();
        let id = body["id"].as_i64().context("the PAT answer has no id")?;
        let expires = body["expiringAt"]
            .as_str()
            .and_then(|s| {
                time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .unwrap_or(now + self.pat_days * DAY_MS);
        Ok((raw, id, expires))
    }

    async fn revoke(
        &self,
        client: &reqwest::Client,
        base: &str,
        user: &str,
        pat_id: i64,
    ) -> anyhow::Result<()> {
        let (url, auth) = self.signed(
            "DELETE",
            &format!("{base}/rest/pat/latest/tokens/{pat_id}"),
            user,
        )?;
        let r = client
            .delete(url)
            .header("authorization", auth)
            .header("x-atlassian-token", "no-check")
            .send()
            .await?;
        anyhow::ensure!(
            r.status().is_success() || r.status().as_u16() == 404,
            "Confluence answered {}",
            r.status()
        );
        Ok(())
    }
}
