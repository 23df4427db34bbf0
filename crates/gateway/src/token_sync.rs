//! What other replicas changed in tokens, into this replica's cache (revocations have their own
//! channel, `revocations.rs`): rotations, so an old secret is refused everywhere once its overlap
//! ends, and the daily counts of tokens with a quota, so a quota holds across replicas.
//!
//! A quota is therefore approximate across replicas: a replica sees the others' uses as of its
//! last poll, and they reach the store with their next usage flush (every second). A token can go
//! over its quota by about what the other replicas admit in `PERIOD` plus a flush; on one replica
//! the count is exact.

use std::time::Duration;

use crate::state::Shared;
use crate::token::DAY_MS;

/// How often the store is read for other replicas' changes.
pub(crate) const PERIOD: Duration = Duration::from_secs(2);

/// Reads rotations since the last poll and today's counts of the tokens with a quota. `since`:
/// the time of the last poll (epoch ms), moved on when the poll succeeds.
pub(crate) async fn poll(gw: &Shared, since: &mut i64) -> anyhow::Result<()> {
    let now = gw.now_ms();
    // Overlapping windows: a rotation committed just before the last poll's read is seen twice
    // (harmless), never missed.
    for t in gw
        .store
        .rotated_since(*since - PERIOD.as_millis() as i64)
        .await?
    {
        let id = t.id.clone();
        if let Err(e) = gw.cache.insert(t) {
            tracing::warn!(error = %e, token = %id, "rotated token left out of the cache");
        }
    }
    *since = now;
    let with_quota = gw.cache.with_quota();
    if with_quota.is_empty() {
        return Ok(());
    }
    let today = now.div_euclid(DAY_MS);
    let counts: std::collections::HashMap<String, i64> =
        gw.store.day_uses(today).await?.into_iter().collect();
    for a in with_quota {
        a.learn_day_total(today, counts.get(&a.token.id).copied().unwrap_or(0));
    }
    Ok(())
}

/// Runs [`poll`] every [`PERIOD`] until aborted.
pub(crate) async fn watch(gw: Shared) {
    let mut since = gw.now_ms();
    let mut tick = tokio::time::interval(PERIOD);
    loop {
        tick.tick().await;
        if let Err(e) = poll(&gw, &mut since).await {
            tracing::warn!(error = %e, "reading other replicas' token changes failed; will retry");
        }
    }
}
