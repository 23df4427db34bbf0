//! Where the audit writer's thread puts records and use counts: SQLite directly through
//! rusqlite ([`super::sqlite_sink`]), or PostgreSQL through sqlx on a small runtime of the
//! writer's own. Both extend the hash chain the same way, with [`append_chained`].

use sqlx::{AnyConnection, Connection};

use super::AuditRecord;
use crate::store::{Backend, Store, Usage};

/// A store connection owned by the writer thread. Methods block; a failed call leaves the sink
/// ready to reconnect on the next one.
pub trait Sink: Send {
    /// Chains `records` after the newest record in the store and commits them, all or none.
    fn append(&mut self, records: &mut [AuditRecord]) -> anyhow::Result<()>;
    /// Adds use counts (increments, so replicas add up), in one transaction.
    fn add_usage(&mut self, updates: &[Usage]) -> anyhow::Result<()>;
}

/// The sink for `store`'s backend. It connects on first use.
pub fn open(store: &Store) -> anyhow::Result<Box<dyn Sink>> {
    Ok(match store.backend {
        Backend::Sqlite => Box::new(super::sqlite_sink::SqliteSink::new(store)?),
        Backend::Postgres => Box::new(PgSink::new(store.clone())?),
    })
}

/// Why an insert of chained records failed.
pub enum Insert {
    /// A record with one of these `seq`s exists: another writer appended first.
    Conflict,
    Failed(anyhow::Error),
}

/// One connection's view of the chain.
pub trait Chain {
    /// The newest record's (seq, hash), or the genesis before the first.
    fn head(&mut self) -> anyhow::Result<(i64, String)>;
    /// Inserts the records, all or none.
    fn insert(&mut self, records: &[AuditRecord]) -> Result<(), Insert>;
}

/// Appends `records` to the chain. `head` is the chain's newest (seq, hash) as this writer last
/// left it, or `None` to read it; it is kept up to date. It is only a guess: another replica may
/// have appended since, in which case the insert hits the primary key on `seq` and the records
/// are chained again from the real head. So the steady state is one insert per batch, and the
/// chain stays linear with any number of writers.
pub fn append_chained(
    chain: &mut impl Chain,
    records: &mut [AuditRecord],
    head: &mut Option<(i64, String)>,
) -> anyhow::Result<()> {
    const ATTEMPTS: usize = 100;
    if records.is_empty() {
        return Ok(());
    }
    for _ in 0..ATTEMPTS {
        let (mut seq, mut hash) = match head.take() {
            Some(h) => h,
            None => chain.head()?,
        };
        for r in records.iter_mut() {
            r.chain_after(seq, &hash);
            seq = r.seq;
            hash.clone_from(&r.hash);
        }
        match chain.insert(records) {
            Ok(()) => {
                *head = Some((seq, hash));
                return Ok(());
            }
            Err(Insert::Conflict) => continue,
            Err(Insert::Failed(e)) => return Err(e),
        }
    }
    anyhow::bail!("the audit chain kept moving under {ATTEMPTS} attempts to append to it")
}

/// PostgreSQL, through sqlx on a current-thread runtime that only this sink drives, so its
/// socket is served on the writer's thread and the gateway's runtime never waits for it.
pub struct PgSink {
    runtime: tokio::runtime::Runtime,
    store: Store,
    conn: Option<AnyConnection>,
    head: Option<(i64, String)>,
}

impl PgSink {
    pub fn new(store: Store) -> anyhow::Result<PgSink> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(PgSink {
            runtime,
            store,
            conn: None,
            head: None,
        })
    }

    fn with_conn<T>(
        &mut self,
        f: impl FnOnce(&mut PgChain<'_>, &mut Option<(i64, String)>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        if self.conn.is_none() {
            let conn = self
                .runtime
                .block_on(AnyConnection::connect(self.store.url()))
                .map_err(|e| {
                    anyhow::anyhow!("cannot connect the audit writer to the store: {e}")
                })?;
            self.conn = Some(conn);
        }
        let Some(conn) = self.conn.as_mut() else {
            unreachable!("connected above")
        };
        let mut chain = PgChain {
            runtime: &self.runtime,
            store: &self.store,
            conn,
        };
        let result = f(&mut chain, &mut self.head);
        if result.is_err() {
            // The connection may be broken: reconnect, and read the head again, next time.
            self.conn = None;
            self.head = None;
        }
        result
    }
}

impl Sink for PgSink {
    fn append(&mut self, records: &mut [AuditRecord]) -> anyhow::Result<()> {
        self.with_conn(|chain, head| append_chained(chain, records, head))
    }

    fn add_usage(&mut self, updates: &[Usage]) -> anyhow::Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        self.with_conn(|c, _| {
            c.runtime
                .block_on(c.store.flush_usage_on(&mut *c.conn, updates))
        })
    }
}

struct PgChain<'a> {
    runtime: &'a tokio::runtime::Runtime,
    store: &'a Store,
    conn: &'a mut AnyConnection,
}

impl Chain for PgChain<'_> {
    fn head(&mut self) -> anyhow::Result<(i64, String)> {
        self.runtime.block_on(self.store.audit_head(self.conn))
    }

    fn insert(&mut self, records: &[AuditRecord]) -> Result<(), Insert> {
        match self
            .runtime
            .block_on(self.store.insert_audit(self.conn, records))
        {
            Ok(()) => Ok(()),
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Err(Insert::Conflict)
            }
            Err(e) => Err(Insert::Failed(e.into())),
        }
    }
}
