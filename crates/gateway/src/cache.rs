//! Tokens in memory, keyed by secret hash, so the hot path touches no database. A miss falls back
//! to one store lookup (a token created on another replica); revocations update the cache at once.
//! Use counts accumulate here; [`TokenCache::take_usage`] hands them to the store writer in batches.
//! A rotated token is in the map twice, under its secret and under its previous one (marked
//! `previous`), so either is found with one look-up.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use crate::secret::{Digest, DigestHasher};
use crate::store::usage::Usage;
use crate::store::Store;
use crate::token::{Active, Token};

/// Tokens by the SHA-256 digest of their secret (and of their previous one, after a rotation).
type ByDigest = HashMap<Digest, Slot, BuildHasherDefault<DigestHasher>>;

#[derive(Clone)]
struct Slot {
    active: Arc<Active>,
    /// This digest is the token's previous secret's.
    previous: bool,
}

/// A token found by a presented secret.
pub struct Found {
    pub active: Arc<Active>,
    /// The secret presented is the one replaced by the last rotation (accepted until
    /// `previous_valid_until`).
    pub previous: bool,
}

#[derive(Default)]
pub struct TokenCache {
    by_hash: RwLock<ByDigest>,
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
                // One damaged row keeps only its own token out (it can't match any secret).
                if let Err(e) = cache.put(t, false) {
                    tracing::warn!(error = %e, "token left out of the cache");
                }
            }
        }
        Ok(cache)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, ByDigest> {
        self.by_hash.write().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, ByDigest> {
        self.by_hash.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts a token in memory under its secret (and its previous secret), in place of any
    /// record of it already there (whose counts it takes over).
    pub fn insert(&self, t: Token) -> anyhow::Result<Arc<Active>> {
        self.put(t, true)
    }

    /// [`TokenCache::insert`]; `replace: false` when the token can't be there yet (loading),
    /// which skips the search for its old record.
    fn put(&self, t: Token, replace: bool) -> anyhow::Result<Arc<Active>> {
        let malformed = |id: &str| {
            anyhow::anyhow!(
                "token {id} has a malformed secret hash in the store (not 64 hex digits)"
            )
        };
        let hash = Digest::from_hex(&t.secret_hash).ok_or_else(|| malformed(&t.id))?;
        let previous = match &t.previous_secret_hash {
            Some(p) => Some(Digest::from_hex(p).ok_or_else(|| malformed(&t.id))?),
            None => None,
        };
        let active = Arc::new(Active::compile(t)?);
        let mut map = self.write();
        if replace {
            if let Some(old) = remove_id(&mut map, &active.token.id) {
                active.take_counts_of(&old);
            }
        }
        map.insert(
            hash,
            Slot {
                active: active.clone(),
                previous: false,
            },
        );
        if let Some(p) = previous {
            map.insert(
                p,
                Slot {
                    active: active.clone(),
                    previous: true,
                },
            );
        }
        Ok(active)
    }

    /// Finds the token for a presented secret: memory first, then the store. The map is keyed by
    /// the digest, and the final comparison is constant-time.
    pub async fn lookup(&self, store: &Store, secret: &str) -> anyhow::Result<Option<Found>> {
        let digest = Digest::of(secret);
        let found = self
            .read()
            .get_key_value(&digest)
            .map(|(key, slot)| (*key, slot.clone()));
        if let Some((key, slot)) = found {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(digest.ct_eq(&key).then_some(Found {
                active: slot.active,
                previous: slot.previous,
            }));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let hash = digest.hash();
        let Some(t) = store.token_by_hash(&hash.0).await? else {
            return Ok(None);
        };
        let matches = |h: Option<&String>| {
            h.and_then(|h| Digest::from_hex(h))
                .is_some_and(|d| d.ct_eq(&digest))
        };
        let previous = if matches(Some(&t.secret_hash)) {
            false
        } else if matches(t.previous_secret_hash.as_ref()) {
            true
        } else {
            return Ok(None);
        };
        let active = if t.revoked_at.is_some() {
            // Keep revoked tokens out of memory; answer from the record.
            Arc::new(Active::compile(t)?)
        } else {
            self.insert(t)?
        };
        Ok(Some(Found { active, previous }))
    }

    /// Marks a token revoked in memory (the store is updated by the caller).
    pub fn revoke(&self, id: &str, at: i64) {
        let mut map = self.write();
        let slots: Vec<(Digest, Slot)> = map
            .iter()
            .filter(|(_, s)| s.active.token.id == id)
            .map(|(h, s)| (*h, s.clone()))
            .collect();
        let Some((_, first)) = slots.first() else {
            return;
        };
        let mut t = first.active.token.clone();
        t.revoked_at = Some(at);
        // Keep revoked entries so the next request gets "revoked", not a store round-trip.
        match Active::compile(t) {
            Ok(a) => {
                let a = Arc::new(a);
                a.take_counts_of(&first.active);
                for (h, slot) in slots {
                    map.insert(
                        h,
                        Slot {
                            active: a.clone(),
                            previous: slot.previous,
                        },
                    );
                }
            }
            Err(_) => {
                for (h, _) in slots {
                    map.remove(&h);
                }
            }
        }
    }

    /// Tokens in memory (a rotated one counts once).
    pub fn len(&self) -> usize {
        self.read().values().filter(|s| !s.previous).count()
    }

    /// The tokens in memory with a daily quota, by id.
    pub fn with_quota(&self) -> Vec<Arc<Active>> {
        self.read()
            .values()
            .filter(|s| !s.previous && s.active.token.requests_per_day.is_some())
            .map(|s| s.active.clone())
            .collect()
    }

    /// Pending use counts for the token with this id (not yet flushed).
    pub fn pending(&self, id: &str) -> (i64, i64) {
        self.read()
            .values()
            .map(|s| &s.active)
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
            .filter(|s| !s.previous)
            .map(|s| &s.active)
            .filter_map(|a| {
                let n = a.pending_uses.swap(0, Ordering::Relaxed);
                a.flushed(n);
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
            if let Some(a) = map.values().map(|s| &s.active).find(|a| &a.token.id == id) {
                a.pending_uses.fetch_add(*n, Ordering::Relaxed);
                a.flushed(-n);
            }
        }
    }
}

/// Takes every slot of the token `id` out of the map; its record, if it was there.
fn remove_id(map: &mut ByDigest, id: &str) -> Option<Arc<Active>> {
    let digests: Vec<Digest> = map
        .iter()
        .filter(|(_, s)| s.active.token.id == id)
        .map(|(h, _)| *h)
        .collect();
    let mut old = None;
    for h in digests {
        old = map.remove(&h).map(|s| s.active).or(old);
    }
    old
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::sqlite_store;
    use crate::token::NewToken;

    fn token(label: &str) -> (Token, String) {
        NewToken {
            label: label.into(),
            ..NewToken::default()
        }
        .build("admin", 1_000)
        .unwrap()
    }

    #[tokio::test]
    async fn a_secret_finds_its_token_from_memory_or_the_store_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sqlite_store(&dir).await;
        let (loaded, loaded_secret) = token("loaded");
        store.insert_token(&loaded).await.unwrap();
        let cache = TokenCache::load(&store).await.unwrap();
        // Made after the cache was loaded, as on another replica: found through the store.
        let (later, later_secret) = token("later");
        store.insert_token(&later).await.unwrap();

        let found = |secret: String| {
            let (cache, store) = (&cache, &store);
            async move {
                cache
                    .lookup(store, &secret)
                    .await
                    .unwrap()
                    .map(|f| f.active.token.id.clone())
            }
        };
        assert_eq!(found(loaded_secret.clone()).await, Some(loaded.id.clone()));
        assert_eq!(found(later_secret.clone()).await, Some(later.id.clone()));
        assert_eq!(cache.len(), 2, "the store's answer is kept in memory");
        assert_eq!(found(later_secret).await, Some(later.id));
        assert_eq!(found(format!("{loaded_secret}x")).await, None);
        assert_eq!(found(String::new()).await, None);
        assert_eq!(
            cache.hits.load(Ordering::Relaxed),
            2,
            "the loaded token and the second use of the later one"
        );
    }

    #[tokio::test]
    async fn a_rotated_token_is_found_by_either_secret_and_keeps_its_counts() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sqlite_store(&dir).await;
        let (t, old_secret) = token("rotated");
        store.insert_token(&t).await.unwrap();
        let cache = TokenCache::load(&store).await.unwrap();
        cache
            .lookup(&store, &old_secret)
            .await
            .unwrap()
            .unwrap()
            .active
            .record_use(5);
        let new_secret = "a-new-secret-for-the-same-token-0123";
        let hash = crate::secret::SecretHash::of(new_secret).0;
        assert!(store.rotate_token(&t.id, &hash, 99, 10).await.unwrap());
        cache
            .insert(store.token(&t.id).await.unwrap().unwrap())
            .unwrap();
        let misses = cache.misses.load(Ordering::Relaxed);
        let old = cache.lookup(&store, &old_secret).await.unwrap().unwrap();
        let new = cache.lookup(&store, new_secret).await.unwrap().unwrap();
        assert_eq!(
            cache.misses.load(Ordering::Relaxed),
            misses,
            "both from memory"
        );
        assert!(old.previous && !new.previous);
        assert!(Arc::ptr_eq(&old.active, &new.active));
        assert_eq!(old.active.token.previous_valid_until, Some(99));
        assert_eq!(cache.len(), 1);
        assert_eq!(
            cache.pending(&t.id),
            (1, 5),
            "the use before the rotation is kept"
        );
        cache.revoke(&t.id, 20);
        let revoked = cache.lookup(&store, &old_secret).await.unwrap().unwrap();
        assert_eq!(revoked.active.token.revoked_at, Some(20));
        assert!(revoked.previous);
    }

    #[tokio::test]
    async fn a_damaged_hash_in_the_store_keeps_out_only_its_own_token() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sqlite_store(&dir).await;
        let (good, good_secret) = token("good");
        let (mut damaged, _) = token("damaged");
        damaged.secret_hash = "not-a-hex-digest".into();
        store.insert_token(&good).await.unwrap();
        store.insert_token(&damaged).await.unwrap();
        let cache = TokenCache::load(&store).await.unwrap();
        assert_eq!(cache.len(), 1);
        let found = cache.lookup(&store, &good_secret).await.unwrap();
        assert_eq!(found.map(|f| f.active.token.id.clone()), Some(good.id));
    }
}
