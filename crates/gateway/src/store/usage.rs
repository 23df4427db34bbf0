//! Tokens' use counts, added up in the store so replicas' counts sum: in all, and for the UTC day
//! of the batch's last use (`usage_day`, `day_uses`: what daily quotas read back).

use sqlx::{AnyConnection, Connection};

use super::Store;

/// Uses of one token since the last flush: (token id, uses, last used at).
pub(crate) type Usage = (String, i64, i64);

impl Store {
    /// Adds use counts (increments, so replicas add up) in one transaction, on a pool
    /// connection (the gateway writes them through its writer, with `flush_usage_on`).
    #[cfg(test)]
    pub(crate) async fn flush_usage(&self, updates: &[Usage]) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        self.flush_usage_on(&mut conn, updates).await
    }

    /// [`Store::flush_usage`] on the given connection (the writer's).
    pub(crate) async fn flush_usage_on(
        &self,
        conn: &mut AnyConnection,
        updates: &[Usage],
    ) -> anyhow::Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut tx = conn.begin().await?;
        for (id, uses, last) in updates {
            // A batch counts for the day of its last use (a batch spans a second, so a few uses
            // before midnight may count for the new day). A late batch of an earlier day, from
            // another replica, leaves the newer day's count alone.
            sqlx::query(
                "UPDATE tokens SET use_count = use_count + $1,
                    last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $2 THEN $2 ELSE last_used_at END,
                    day_uses = CASE WHEN usage_day = $4 THEN day_uses + $1
                        WHEN usage_day > $4 THEN day_uses ELSE $1 END,
                    usage_day = CASE WHEN usage_day > $4 THEN usage_day ELSE $4 END
                 WHERE id = $3",
            )
            .bind(*uses)
            .bind(*last)
            .bind(id)
            .bind(last.div_euclid(crate::token::DAY_MS))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
