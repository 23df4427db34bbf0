//! The audit writer's SQLite connection, through rusqlite on the writer's own thread. Every
//! commit a request waits on is a direct call here: no hand-off to a driver thread and back (as
//! sqlx's SQLite driver does per statement), and statements are prepared once.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags};

use super::sink::{append_chained, Chain, Insert, Sink};
use super::{AuditRecord, GENESIS};
use crate::config::Durability;
use crate::store::{Store, Usage};

const INSERT: &str = "INSERT INTO audit (seq, at, kind, actor, token_id, bound_user, method, path,
    decision, reason, status, request_bytes, response_bytes, latency_us, client_ip, prev_hash, hash)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

const ADD_USAGE: &str = "UPDATE tokens SET use_count = use_count + ?1,
    last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ?2 THEN ?2 ELSE last_used_at END
    WHERE id = ?3";

pub struct SqliteSink {
    path: PathBuf,
    durability: Durability,
    conn: Option<Connection>,
    head: Option<(i64, String)>,
}

impl SqliteSink {
    pub fn new(store: &Store) -> anyhow::Result<SqliteSink> {
        let Some(path) = store.sqlite_path() else {
            anyhow::bail!("the store is not a SQLite file");
        };
        Ok(SqliteSink {
            path: path.to_path_buf(),
            durability: store.durability(),
            conn: None,
            head: None,
        })
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        // The store has created and migrated the file, and set WAL mode (which persists).
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // The same settings as the store's pool (see `Store::open_with`).
        let synchronous = match self.durability {
            Durability::PowerLoss => "FULL",
            Durability::Process => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(conn)
    }

    fn with_conn<T>(
        &mut self,
        f: impl FnOnce(&mut Connection, &mut Option<(i64, String)>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        if self.conn.is_none() {
            let conn = self.connect().map_err(|e| {
                anyhow::anyhow!("cannot open the audit store {}: {e}", self.path.display())
            })?;
            self.conn = Some(conn);
        }
        let Some(conn) = self.conn.as_mut() else {
            unreachable!("connected above")
        };
        let result = f(conn, &mut self.head);
        if result.is_err() {
            self.conn = None;
            self.head = None;
        }
        result
    }
}

impl Sink for SqliteSink {
    fn append(&mut self, records: &mut [AuditRecord]) -> anyhow::Result<()> {
        self.with_conn(|conn, head| append_chained(&mut SqliteChain(conn), records, head))
    }

    fn add_usage(&mut self, updates: &[Usage]) -> anyhow::Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        self.with_conn(|conn, _| {
            let tx = conn.transaction()?;
            {
                let mut update = tx.prepare_cached(ADD_USAGE)?;
                for (id, uses, last) in updates {
                    update.execute(params![uses, last, id])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }
}

struct SqliteChain<'a>(&'a mut Connection);

impl Chain for SqliteChain<'_> {
    fn head(&mut self) -> anyhow::Result<(i64, String)> {
        let mut q = self
            .0
            .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?;
        let mut rows = q.query([])?;
        Ok(match rows.next()? {
            Some(row) => (row.get(0)?, row.get(1)?),
            None => (0, GENESIS.to_string()),
        })
    }

    fn insert(&mut self, records: &[AuditRecord]) -> Result<(), Insert> {
        let mut insert = || -> rusqlite::Result<()> {
            // IMMEDIATE: take the write lock up front, so a busy store waits at BEGIN rather
            // than failing mid-transaction.
            let tx = self
                .0
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(INSERT)?;
                for r in records {
                    stmt.execute(params![
                        r.seq,
                        r.at,
                        r.kind,
                        r.actor,
                        r.token_id,
                        r.bound_user,
                        r.method,
                        r.path,
                        r.decision,
                        r.reason,
                        r.status,
                        r.request_bytes,
                        r.response_bytes,
                        r.latency_us,
                        r.client_ip,
                        r.prev_hash,
                        r.hash,
                    ])?;
                }
            }
            tx.commit()
        };
        match insert() {
            Ok(()) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::ConstraintViolation
                    && matches!(
                        e.extended_code,
                        rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                            | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    ) =>
            {
                Err(Insert::Conflict)
            }
            Err(e) => Err(Insert::Failed(e.into())),
        }
    }
}
