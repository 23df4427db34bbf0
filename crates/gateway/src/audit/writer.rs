//! Group commit for audit records: requests hand their record to one writer task and wait; the
//! writer commits whatever has queued up in one transaction and then wakes every waiter. One
//! fsync covers many requests, and no response is sent before its record is durable.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::AuditRecord;
use crate::store::Store;

const MAX_BATCH: usize = 512;

enum Msg {
    Record(Box<AuditRecord>, oneshot::Sender<bool>),
    /// Commit what is queued and stop (graceful shutdown).
    Close,
}

#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Msg>,
    /// Records queued but not yet committed (for `/metrics`).
    pub depth: Arc<AtomicI64>,
}

impl AuditWriter {
    /// Starts the writer task. It ends on [`AuditWriter::close`] (or when every clone is
    /// dropped), after committing what was queued.
    pub fn start(store: Store) -> (AuditWriter, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Msg>(8192);
        let depth = Arc::new(AtomicI64::new(0));
        let task_depth = depth.clone();
        let task = tokio::spawn(async move {
            let mut batch: Vec<Msg> = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let closing = batch.iter().any(|m| matches!(m, Msg::Close));
                let mut records = Vec::with_capacity(batch.len());
                let mut waiters = Vec::with_capacity(batch.len());
                for m in batch.drain(..) {
                    if let Msg::Record(r, done) = m {
                        records.push(*r);
                        waiters.push(done);
                    }
                }
                let ok = match store.append_audit(&mut records).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(error = %e, records = records.len(), "audit write failed; refusing the requests");
                        false
                    }
                };
                task_depth.fetch_sub(waiters.len() as i64, Ordering::Relaxed);
                for done in waiters {
                    let _ = done.send(ok);
                }
                if closing {
                    break;
                }
            }
        });
        (AuditWriter { tx, depth }, task)
    }

    /// Queues a record and waits until it is committed. `false`: it could not be recorded, and
    /// the caller must fail closed.
    pub async fn record(&self, record: AuditRecord) -> bool {
        let (done, wait) = oneshot::channel();
        self.depth.fetch_add(1, Ordering::Relaxed);
        if self
            .tx
            .send(Msg::Record(Box::new(record), done))
            .await
            .is_err()
        {
            self.depth.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        wait.await.unwrap_or(false)
    }

    /// Asks the writer to commit what is queued and stop; later records are refused.
    pub async fn close(&self) {
        let _ = self.tx.send(Msg::Close).await;
    }
}
