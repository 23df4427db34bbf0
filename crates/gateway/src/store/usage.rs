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

#[cfg(test)]
mod tests {
    use crate::audit::testing::sqlite_store;
    use crate::token::{NewToken, DAY_MS};

    /// A batch counts for its last use's day; a late batch of an earlier day (another replica's)
    /// leaves the newer day's count alone.
    #[tokio::test]
    async fn day_counts_follow_the_newest_day() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = sqlite_store(&dir).await;
        let (t, _) = NewToken {
            label: "q".into(),
            requests_per_day: Some(10),
            ..NewToken::default()
        }
        .build("admin", 0)
        .unwrap();
        store.insert_token(&t).await.unwrap();
        let day = |d: i64| d * DAY_MS + 5;
        let counted = |store: &super::Store| {
            let (store, id) = (store.clone(), t.id.clone());
            async move { store.token(&id).await.unwrap().unwrap().day_uses }
        };
        store
            .flush_usage(&[(t.id.clone(), 3, day(7))])
            .await
            .unwrap();
        store
            .flush_usage(&[(t.id.clone(), 2, day(7))])
            .await
            .unwrap();
        assert_eq!(counted(&store).await, (7, 5));
        assert_eq!(store.day_uses(7).await.unwrap(), vec![(t.id.clone(), 5)]);
        store
            .flush_usage(&[(t.id.clone(), 4, day(8))])
            .await
            .unwrap();
        assert_eq!(counted(&store).await, (8, 4));
        store
            .flush_usage(&[(t.id.clone(), 9, day(7))])
            .await
            .unwrap();
        assert_eq!(counted(&store).await, (8, 4));
        assert!(store.day_uses(7).await.unwrap().is_empty());
        assert_eq!(store.token(&t.id).await.unwrap().unwrap().use_count, 18);
    }
}
