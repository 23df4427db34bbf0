//! Where each audit sink stands: the last `seq` its receiver acknowledged (its cursor), and on
//! PostgreSQL which replica delivers to it (a lease), so replicas sharing a store don't all send
//! the same records.
//!
//! The cursor only moves forward (`acked_seq < new`), and a sender only ever reports a `seq` up to
//! which it delivered every record after the cursor it read, so even a replica whose lease ran
//! out while it was sending can't move the cursor past a record nobody delivered: at worst two
//! replicas send the same records (duplicates, never gaps).

use sqlx::Row;

use super::{Backend, Store};

impl Store {
    /// The last `seq` the sink `name` acknowledged, its row made (at 0: the chain's start) if new.
    pub(crate) async fn sink_cursor(&self, name: &str) -> anyhow::Result<i64> {
        self.add_sink(name).await?;
        let row = sqlx::query("SELECT acked_seq FROM audit_sinks WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("acked_seq")?)
    }

    /// The sink's row, at 0 (the chain's start) if it is new.
    async fn add_sink(&self, name: &str) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO audit_sinks (name, acked_seq) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records that the sink's receiver acknowledged every record up to `seq` (at `now`, epoch
    /// ms). A cursor already past `seq` stays where it is.
    pub(crate) async fn advance_sink(&self, name: &str, seq: i64, now: i64) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE audit_sinks SET acked_seq = $2, acked_at = $3 WHERE name = $1 AND acked_seq < $2",
        )
        .bind(name)
        .bind(seq)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes or renews the lease on delivering to `name` for `owner` until `until` (epoch ms):
    /// `true` when `owner` holds it. A lease whose holder stopped renewing it (a crashed replica)
    /// is free once it ran out. A SQLite store has one gateway (its journal is locked), which
    /// always holds it.
    pub(crate) async fn lease_sink(
        &self,
        name: &str,
        owner: &str,
        now: i64,
        until: i64,
    ) -> anyhow::Result<bool> {
        if self.backend == Backend::Sqlite {
            return Ok(true);
        }
        self.add_sink(name).await?;
        let done = sqlx::query(
            "UPDATE audit_sinks SET lease_owner = $2, lease_until = $3
             WHERE name = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $4)",
        )
        .bind(name)
        .bind(owner)
        .bind(until)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the lease up (a graceful shutdown), so another replica takes over at once.
    pub(crate) async fn release_sink(&self, name: &str, owner: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE audit_sinks SET lease_owner = NULL, lease_until = NULL WHERE name = $1 AND lease_owner = $2",
        )
        .bind(name)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest record's `seq` (0 before the first): how far a sink could be.
    pub(crate) async fn audit_head_seq(&self) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS head FROM audit")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("head")?)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    async fn cursor_moves_forward_only(store: &Store) {
        assert_eq!(store.sink_cursor("siem").await.unwrap(), 0);
        store.advance_sink("siem", 7, 1).await.unwrap();
        store.advance_sink("siem", 5, 2).await.unwrap();
        assert_eq!(store.sink_cursor("siem").await.unwrap(), 7, "never back");
        assert_eq!(store.sink_cursor("other").await.unwrap(), 0, "per sink");
        assert_eq!(store.audit_head_seq().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn cursors_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("s.sqlite").display());
        let store = Store::open(&url).await.unwrap();
        cursor_moves_forward_only(&store).await;
        // One gateway per SQLite store: always the holder.
        assert!(store.lease_sink("siem", "a", 0, 10).await.unwrap());
        assert!(store.lease_sink("siem", "b", 0, 10).await.unwrap());
    }

    /// On PostgreSQL one replica at a time holds a sink's lease; another takes it when released
    /// or when it runs out.
    #[tokio::test]
    async fn leases_on_postgres() {
        let Some(pg) = crate::store::tests::fresh_postgres().await else {
            return;
        };
        // A sink's first lease makes its row.
        assert!(pg.lease_sink("new", "a", 100, 200).await.unwrap());
        assert!(!pg.lease_sink("new", "b", 100, 200).await.unwrap());
        cursor_moves_forward_only(&pg).await;
        assert!(pg.lease_sink("siem", "a", 100, 200).await.unwrap());
        assert!(
            !pg.lease_sink("siem", "b", 150, 250).await.unwrap(),
            "held by a"
        );
        assert!(
            pg.lease_sink("siem", "a", 150, 250).await.unwrap(),
            "renewed"
        );
        assert!(
            pg.lease_sink("siem", "b", 251, 400).await.unwrap(),
            "ran out"
        );
        assert!(!pg.lease_sink("siem", "a", 260, 400).await.unwrap());
        pg.release_sink("siem", "a").await.unwrap();
        assert!(
            !pg.lease_sink("siem", "a", 260, 400).await.unwrap(),
            "not a's to release"
        );
        pg.release_sink("siem", "b").await.unwrap();
        assert!(pg.lease_sink("siem", "a", 261, 400).await.unwrap());
    }
}
