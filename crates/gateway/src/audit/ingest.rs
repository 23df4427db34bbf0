//! Moves journaled audit records into a SQLite store's hash-chained `audit` table: what the
//! [`journal`](super::journal)'s store thread does for every answered request, and what opening a
//! store does with records a crashed gateway left in its journal.
//!
//! rusqlite, not the store's sqlx: this runs on a thread of its own, so a synchronous connection
//! needs no async runtime and no hand-off to sqlx's SQLite worker thread for every statement,
//! and binds each value straight into one prepared statement instead of converting it through
//! sqlx's `Any` driver (`bench/audit-ingest.sh` measures the CPU per record). Both link the
//! same SQLite (one `libsqlite3-sys`).

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{AuditRecord, GENESIS};
use crate::store::audit::{audit_insert_sql, AUDIT_ROWS_PER_INSERT};
use crate::store::{Backend, Store, SQLITE_PRAGMAS};

/// Binds `rows` to the parameters of a `rows.len()`-row INSERT, in the store's column order.
fn bind_rows(insert: &mut rusqlite::Statement<'_>, rows: &[AuditRecord]) -> rusqlite::Result<()> {
    let mut i = 0;
    let mut bind = |value: &dyn rusqlite::ToSql| {
        i += 1;
        insert.raw_bind_parameter(i, value)
    };
    for r in rows {
        bind(&r.seq)?;
        bind(&r.at)?;
        bind(&r.kind.as_str())?;
        bind(&r.actor.as_ref())?;
        bind(&r.token_id)?;
        bind(&r.bound_user)?;
        bind(&r.method.as_ref())?;
        bind(&r.path)?;
        bind(&r.decision.as_str())?;
        bind(&r.reason.as_ref())?;
        bind(&r.status)?;
        bind(&r.request_bytes)?;
        bind(&r.response_bytes)?;
        bind(&r.latency_us)?;
        bind(&r.client_ip)?;
        bind(&r.prev_hash)?;
        bind(&r.hash)?;
    }
    Ok(())
}

/// A connection to a SQLite store's file, for appending journaled records to its audit chain.
pub struct Ingest {
    conn: Connection,
}

impl Ingest {
    /// Opens the SQLite `store` (created and migrated by [`Store::open`]) with the pragmas every
    /// one of its connections runs.
    pub fn open(store: &Store) -> anyhow::Result<Ingest> {
        let Some((file, synchronous)) = store.sqlite_file() else {
            anyhow::bail!("the audit journal needs a SQLite store in a file");
        };
        let conn = Connection::open(file)
            .with_context(|| format!("cannot open the store {}", file.display()))?;
        conn.execute_batch(SQLITE_PRAGMAS)
            .and_then(|()| conn.execute_batch(synchronous))
            .with_context(|| format!("cannot set up the store {}", file.display()))?;
        Ok(Ingest { conn })
    }

    /// The last position of `journal` that is in the audit chain (0: none yet).
    pub fn mark(&self, journal: &str) -> anyhow::Result<u64> {
        let position: Option<i64> = self
            .conn
            .query_row(
                "SELECT position FROM audit_journal WHERE journal = ?",
                [journal],
                |row| row.get(0),
            )
            .optional()?;
        Ok(position.unwrap_or(0).max(0) as u64)
    }

    /// Chains `records` after the newest record in the store and inserts them, with `position`
    /// as `journal`'s mark, all in one transaction (all or none). The write lock is taken first
    /// (`BEGIN IMMEDIATE`), so no other writer can move the chain's head between reading it and
    /// appending to it.
    pub fn store(
        &mut self,
        records: &mut [AuditRecord],
        journal: &str,
        position: u64,
    ) -> anyhow::Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let head: Option<(i64, String)> = tx
            .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
            .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let (mut seq, mut hash) = head.unwrap_or_else(|| (0, GENESIS.to_string()));
        for r in records.iter_mut() {
            r.chain_after(seq, &hash);
            seq = r.seq;
            hash.clone_from(&r.hash);
        }
        // The store's own INSERTs, so both write the same columns in the same order: full
        // multi-row statements (a statement's set-up and reset are paid per statement, not per
        // row), then the one-row statement for the rest (a statement for just that many rows
        // would be parsed anew for each batch size, which costs more than it saves in a quiet
        // gateway's small batches). Each statement is parsed once per connection (its cache),
        // not once per batch.
        let mut chunks = records.chunks_exact(AUDIT_ROWS_PER_INSERT);
        if chunks.len() > 0 {
            let mut insert =
                tx.prepare_cached(audit_insert_sql(Backend::Sqlite, AUDIT_ROWS_PER_INSERT))?;
            for chunk in &mut chunks {
                bind_rows(&mut insert, chunk)?;
                insert.raw_execute()?;
            }
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut insert = tx.prepare_cached(audit_insert_sql(Backend::Sqlite, 1))?;
            for row in rest.chunks(1) {
                bind_rows(&mut insert, row)?;
                insert.raw_execute()?;
            }
        }
        tx.prepare_cached(
            "INSERT INTO audit_journal (journal, position) VALUES (?, ?)
             ON CONFLICT (journal) DO UPDATE SET position = excluded.position",
        )?
        .execute(params![
            journal,
            i64::try_from(position).unwrap_or(i64::MAX)
        ])?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{logged, record, sqlite_store};

    async fn store(dir: &tempfile::TempDir) -> Store {
        sqlite_store(dir).await.0
    }

    #[tokio::test]
    async fn records_extend_the_chain_another_writer_left() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(&tmp).await;
        store.append_audit(&mut [record("/admin")]).await.unwrap();
        let mut ingest = Ingest::open(&store).unwrap();
        assert_eq!(ingest.mark("journal-a").unwrap(), 0);
        let mut batch = vec![record("/1"), record("/2")];
        ingest.store(&mut batch, "journal-a", 7).unwrap();
        assert_eq!(batch[0].seq, 2, "chained after the record already there");
        store.append_audit(&mut [record("/3")]).await.unwrap();
        ingest.store(&mut [record("/4")], "journal-a", 9).unwrap();
        assert_eq!(logged(&store).await, ["/admin", "/1", "/2", "/3", "/4"]);
        assert_eq!(ingest.mark("journal-a").unwrap(), 9);
        assert_eq!(ingest.mark("journal-b").unwrap(), 0);
    }

    #[tokio::test]
    async fn a_write_in_progress_elsewhere_is_waited_for_not_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(&tmp).await;
        let mut ingest = Ingest::open(&store).unwrap();
        let other = Ingest::open(&store).unwrap();
        other.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let writer = std::thread::spawn(move || {
            ingest.store(&mut [record("/waited")], "journal-a", 1)?;
            anyhow::Ok(ingest)
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        other.conn.execute_batch("COMMIT").unwrap();
        let ingest = writer.join().unwrap().unwrap();
        assert_eq!(ingest.mark("journal-a").unwrap(), 1);
        assert_eq!(logged(&store).await, ["/waited"]);
    }

    #[tokio::test]
    async fn a_failed_batch_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let store = store(&tmp).await;
        let mut ingest = Ingest::open(&store).unwrap();
        ingest.store(&mut [record("/1")], "journal-a", 1).unwrap();
        // A trigger stands in for a failure halfway through the batch (a full disk, say).
        ingest
            .conn
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit WHEN NEW.path = '/bad'
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )
            .unwrap();
        let mut batch = vec![record("/2"), record("/bad"), record("/4")];
        assert!(ingest.store(&mut batch, "journal-a", 4).is_err());
        assert_eq!(
            ingest.mark("journal-a").unwrap(),
            1,
            "the mark did not move"
        );
        assert_eq!(logged(&store).await, ["/1"]);
    }
}
