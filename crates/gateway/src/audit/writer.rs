//! The gateway's one writer for frequent writes. Audit records use group commit: requests hand
//! their record over and wait; whatever has queued up becomes durable at once, then every waiter
//! is woken, and no response is sent before its record is durable. On a SQLite store a record is
//! durable once in the [`journal`](super::journal) (which moves it into the store on its own
//! threads); on PostgreSQL this task commits the group to the database. Token use counts go
//! through this task's connection.

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::journal::{Counters, Journal};
use super::AuditRecord;
use crate::store::usage::Usage;
use crate::store::Durability;
use crate::store::{Store, WriterConnection};

const MAX_BATCH: usize = 512;

enum Msg {
    Record(Box<AuditRecord>, oneshot::Sender<bool>),
    Usage(Vec<Usage>, oneshot::Sender<anyhow::Result<()>>),
    /// Commit what is queued and stop (graceful shutdown).
    Close,
}

#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Msg>,
    journal: Option<Arc<Journal>>,
    /// Records queued but not yet committed (for `/metrics`).
    pub depth: Arc<AtomicI64>,
    /// Commits of audit records, and the records they held (their ratio is the group size).
    pub commits: Arc<AtomicU64>,
    pub committed: Arc<AtomicU64>,
}

/// The writer's connection, opened on first use and again after an error (the store may have
/// restarted).
struct Connection {
    store: Store,
    conn: Option<WriterConnection>,
    /// The audit chain's newest (seq, hash) as this writer left it (see `append_audit_on`).
    head: Option<(i64, String)>,
}

impl Connection {
    /// Runs `write` on the connection; after a failure the connection is closed, not reused.
    async fn write<T>(
        &mut self,
        write: impl AsyncFnOnce(
            &Store,
            &mut sqlx::AnyConnection,
            &mut Option<(i64, String)>,
        ) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let Connection { store, conn, head } = self;
        let c = match conn {
            Some(c) => c,
            None => conn.insert(store.writer_connection().await?),
        };
        let result = write(store, c, head).await;
        if result.is_err() {
            *head = None;
            if let Some(mut c) = conn.take() {
                c.close_on_drop();
            }
        }
        result
    }
}

impl AuditWriter {
    /// Starts the writer task, and the journal for a SQLite store (after moving into the store
    /// what an earlier run left in it). It ends on [`AuditWriter::close`] (or when every clone
    /// is dropped), after committing what was queued.
    pub async fn start(
        store: Store,
        durability: Durability,
    ) -> anyhow::Result<(AuditWriter, tokio::task::JoinHandle<()>)> {
        let (tx, mut rx) = mpsc::channel::<Msg>(8192);
        let depth = Arc::new(AtomicI64::new(0));
        let (commits, committed) = (Arc::<AtomicU64>::default(), Arc::<AtomicU64>::default());
        let journal = match store.journal_dir() {
            Some(dir) => {
                let counters = Counters {
                    commits: commits.clone(),
                    committed: committed.clone(),
                };
                Some(Arc::new(
                    Journal::start(store.clone(), dir, durability, counters).await?,
                ))
            }
            None => None,
        };
        let (task_depth, task_commits, task_committed) =
            (depth.clone(), commits.clone(), committed.clone());
        let task = tokio::spawn(async move {
            let mut conn = Connection {
                store,
                conn: None,
                head: None,
            };
            let mut batch: Vec<Msg> = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let mut closing = false;
                let mut records = Vec::with_capacity(batch.len());
                let mut waiters = Vec::with_capacity(batch.len());
                let mut usage = Vec::new();
                for m in batch.drain(..) {
                    match m {
                        Msg::Record(r, done) => {
                            records.push(*r);
                            waiters.push(done);
                        }
                        Msg::Usage(u, done) => usage.push((u, done)),
                        Msg::Close => closing = true,
                    }
                }
                if !records.is_empty() {
                    let ok = match conn
                        .write(async |store, c, head| {
                            store.append_audit_on(c, &mut records, head).await
                        })
                        .await
                    {
                        Ok(()) => {
                            task_commits.fetch_add(1, Ordering::Relaxed);
                            task_committed.fetch_add(records.len() as u64, Ordering::Relaxed);
                            true
                        }
                        Err(e) => {
                            tracing::error!(error = %e, records = records.len(), "audit write failed; refusing the requests");
                            false
                        }
                    };
                    task_depth.fetch_sub(waiters.len() as i64, Ordering::Relaxed);
                    for done in waiters {
                        let _ = done.send(ok);
                    }
                }
                for (updates, done) in usage {
                    let result = conn
                        .write(async |store, c, _| store.flush_usage_on(c, &updates).await)
                        .await;
                    let _ = done.send(result);
                }
                if closing {
                    break;
                }
            }
        });
        Ok((
            AuditWriter {
                tx,
                journal,
                depth,
                commits,
                committed,
            },
            task,
        ))
    }

    /// Queues a record and waits until it is committed. `false`: it could not be recorded, and
    /// the caller must fail closed. The record is queued (or boxed) before the future is
    /// returned, so the future stays small: it is part of every proxied request's.
    pub fn record(&self, record: AuditRecord) -> impl Future<Output = bool> + Send + '_ {
        self.depth.fetch_add(1, Ordering::Relaxed);
        let queued = match &self.journal {
            Some(journal) => Ok(journal.queue(record)),
            None => Err(Box::new(record)),
        };
        async move {
            let durable = match queued {
                Ok(Some(durable)) => durable.await.unwrap_or(false),
                Ok(None) => false,
                // Boxed, as the channel's send future is large; the writer task counts its
                // records down as it commits them.
                Err(record) => return Box::pin(self.send_to_writer(record)).await,
            };
            self.depth.fetch_sub(1, Ordering::Relaxed);
            durable
        }
    }

    async fn send_to_writer(&self, record: Box<AuditRecord>) -> bool {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Record(record, done)).await.is_err() {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        wait.await.unwrap_or(false)
    }

    /// Adds use counts to the store, on the writer's connection.
    pub async fn flush_usage(&self, updates: Vec<Usage>) -> anyhow::Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Usage(updates, done))
            .await
            .map_err(|_| anyhow::anyhow!("the store writer has stopped"))?;
        wait.await
            .map_err(|_| anyhow::anyhow!("the store writer has stopped"))?
    }

    /// Waits until every record answered so far can be read from the store (a journal moves
    /// records there a little later).
    pub async fn sync(&self) -> anyhow::Result<()> {
        match &self.journal {
            Some(journal) => journal.sync().await,
            None => Ok(()),
        }
    }

    /// Asks the writer to commit what is queued and stop; later records are refused.
    pub async fn close(&self) {
        if let Some(journal) = &self.journal {
            journal.close().await;
        }
        let _ = self.tx.send(Msg::Close).await;
    }
}
