//! The gateway's one writer for frequent writes, on a thread of its own. Audit records use group
//! commit: requests hand their record to this thread and wait; it commits whatever has queued up
//! in one transaction and then wakes every waiter. One commit (one fsync with `power-loss`
//! durability) covers many requests, and no response is sent before its record is durable.
//! Token use counts are written by the same thread on the same connection, so the two never
//! queue behind each other for SQLite's write lock.
//!
//! A thread rather than a task: a commit is blocking work (SQLite is a library; an fsync may take
//! milliseconds). Done here directly, it costs one wake-up each way per group, where sqlx's
//! SQLite driver added a driver thread, its locks and a round trip per statement.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::sink::{self, Sink};
use super::AuditRecord;
use crate::store::{Store, Usage};

const MAX_BATCH: usize = 512;

enum Msg {
    Record(Box<AuditRecord>, oneshot::Sender<bool>),
    Usage(Vec<Usage>, oneshot::Sender<anyhow::Result<()>>),
    /// Commit what is queued and stop (graceful shutdown).
    Close,
}

#[derive(Clone)]
pub struct AuditWriter {
    // Unbounded, so sending never waits: every record's request waits for its commit, so the
    // queue never holds more than the requests in flight.
    tx: mpsc::UnboundedSender<Msg>,
    /// Records queued but not yet committed (for `/metrics`).
    pub depth: Arc<AtomicI64>,
    /// Commits of audit records, and the records they held (their ratio is the group size).
    pub commits: Arc<AtomicU64>,
    pub committed: Arc<AtomicU64>,
}

/// Resolves when the writer thread has committed what was queued and stopped.
pub type Stopped = oneshot::Receiver<()>;

struct Stats {
    depth: Arc<AtomicI64>,
    commits: Arc<AtomicU64>,
    committed: Arc<AtomicU64>,
}

impl AuditWriter {
    /// Starts the writer thread. It ends on [`AuditWriter::close`] (or when every clone is
    /// dropped), after committing what was queued.
    pub fn start(store: Store) -> anyhow::Result<(AuditWriter, Stopped)> {
        let (tx, rx) = mpsc::unbounded_channel::<Msg>();
        let writer = AuditWriter {
            tx,
            depth: Default::default(),
            commits: Default::default(),
            committed: Default::default(),
        };
        let stats = Stats {
            depth: writer.depth.clone(),
            commits: writer.commits.clone(),
            committed: writer.committed.clone(),
        };
        let (stopped_tx, stopped) = oneshot::channel();
        std::thread::Builder::new()
            .name("cfl-audit-writer".into())
            .spawn(move || {
                // Opened here: a PostgreSQL sink's runtime must live and end on this thread.
                match sink::open(&store) {
                    Ok(sink) => run(rx, sink, &stats),
                    Err(e) => {
                        tracing::error!(error = %e, "the audit writer cannot start; refusing every request")
                    }
                }
                let _ = stopped_tx.send(());
            })?;
        Ok((writer, stopped))
    }

    /// Queues a record and waits until it is committed. `false`: it could not be recorded, and
    /// the caller must fail closed.
    pub async fn record(&self, record: AuditRecord) -> bool {
        let (done, wait) = oneshot::channel();
        self.depth.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(Msg::Record(Box::new(record), done)).is_err() {
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
            .map_err(|_| anyhow::anyhow!("the store writer has stopped"))?;
        wait.await
            .map_err(|_| anyhow::anyhow!("the store writer has stopped"))?
    }

    /// Asks the writer to commit what is queued and stop; later records are refused.
    pub fn close(&self) {
        let _ = self.tx.send(Msg::Close);
    }
}

/// The writer thread: takes everything queued (up to `MAX_BATCH`), commits it, answers each
/// sender, and goes back to sleep until more arrives.
fn run(mut rx: mpsc::UnboundedReceiver<Msg>, mut sink: Box<dyn Sink>, stats: &Stats) {
    let mut batch: Vec<Msg> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        if commit(&mut batch, &mut *sink, stats) {
            break;
        }
    }
}

/// Commits one batch: the records as one group, then the use counts. `true` when the batch
/// asked the writer to stop.
fn commit(batch: &mut Vec<Msg>, sink: &mut dyn Sink, stats: &Stats) -> bool {
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
        let ok = match sink.append(&mut records) {
            Ok(()) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats
                    .committed
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, records = records.len(), "audit write failed; refusing the requests");
                false
            }
        };
        stats
            .depth
            .fetch_sub(waiters.len() as i64, Ordering::Relaxed);
        for done in waiters {
            let _ = done.send(ok);
        }
    }
    for (updates, done) in usage {
        let _ = done.send(sink.add_usage(&updates));
    }
    closing
}
