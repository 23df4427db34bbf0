//! Tokens in memory, keyed by secret hash, so the hot path touches no database. A miss falls back
//! to one store lookup (a token created on another replica); revocations update the cache at once.
//! Use counts accumulate here; [`TokenCache::take_usage`] hands them to the store writer in batches.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use crate::secret::SecretHash;
use crate::store::{Store, Usage};
use crate::token::{Active, Token};

#[derive(Default)]
pub struct TokenCache {
    by_hash: RwLock<HashMap<String, Arc<Active>>>,
    /// Hits and misses, for `/metrics`.
    pub hits: std::sync::atomic::AtomicU64,
    pub misses: std::sync::atomic::AtomicU64,
}

impl TokenCache {
    /// Loads every token that isn't revoked.
    pub async fn load(store: &Store) -> anyhow::Result<TokenCache> {
        let cache = TokenCache::default();
        for t in store.tokens().await? {
            if t.revoked_at.is_none() {
                cache.insert(t)?;
            }
        }
        Ok(cache)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Active>>> {
        self.by_hash.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Active>>> {
        self.by_hash.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn insert(&self, t: Token) -> anyhow::Result<Arc<Active>> {
        let hash = t.secret_hash.clone();
        let active = Arc::new(Active::compile(t).map_err(|e| anyhow::anyhow!(e))?);
        self.write().insert(hash, active.clone());
        Ok(active)
    }

    /// Finds the token for a presented secret: memory first, then the store. The map is keyed by
    /// the hash, and the final comparison is constant-time.
    pub async fn lookup(&self, store: &Store, secret: &str) -> anyhow::Result<Option<Arc<Active>>> {
        let hash = SecretHash::of(secret);
        let found = self.read().get(&hash.0).cloned();
        if let Some(a) = found {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(hash.ct_eq_str(&a.token.secret_hash).then_some(a));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        match store.token_by_hash(&hash.0).await? {
            Some(t) if SecretHash(t.secret_hash.clone()).ct_eq(&hash) => {
                if t.revoked_at.is_some() {
                    // Keep revoked tokens out of memory; answer from the record.
                    return Ok(Some(Arc::new(
                        Active::compile(t).map_err(|e| anyhow::anyhow!(e))?,
                    )));
                }
                Ok(Some(self.insert(t)?))
            }
            _ => Ok(None),
        }
    }

    /// Marks a token revoked in memory (the store is updated by the caller).
    pub fn revoke(&self, id: &str, at: i64) {
        let mut map = self.write();
        let hash = map
            .iter()
            .find(|(_, a)| a.token.id == id)
            .map(|(h, _)| h.clone());
        if let Some(h) = hash {
            if let Some(old) = map.remove(&h) {
                let mut t = old.token.clone();
                t.revoked_at = Some(at);
                // Keep a revoked entry so the next request gets "revoked", not a store round-trip.
                if let Ok(a) = Active::compile(t) {
                    map.insert(h, Arc::new(a));
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pending use counts for the token with this id (not yet flushed).
    pub fn pending(&self, id: &str) -> (i64, i64) {
        self.read()
            .values()
            .find(|a| a.token.id == id)
            .map(|a| {
                (
                    a.pending_uses.load(Ordering::Relaxed),
                    a.last_used_at.load(Ordering::Relaxed),
                )
            })
            .unwrap_or((0, 0))
    }

    /// Takes the use counts accumulated since the last call, for the writer to add to the store
    /// (increments, so replicas add up).
    pub fn take_usage(&self) -> Vec<Usage> {
        self.read()
            .values()
            .filter_map(|a| {
                let n = a.pending_uses.swap(0, Ordering::Relaxed);
                (n > 0).then(|| {
                    (
                        a.token.id.clone(),
                        n,
                        a.last_used_at.load(Ordering::Relaxed),
                    )
                })
            })
            .collect()
    }

    /// Puts back use counts that could not be written, so a later flush retries them.
    pub fn return_usage(&self, updates: &[Usage]) {
        let map = self.read();
        for (id, n, _) in updates {
            if let Some(a) = map.values().find(|a| &a.token.id == id) {
                a.pending_uses.fetch_add(*n, Ordering::Relaxed);
            }
        }
    }
}
