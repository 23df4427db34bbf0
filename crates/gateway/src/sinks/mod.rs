//! Audit sinks: the stored audit chain streamed to a SIEM, at least once, in `seq` order.
//!
//! One task per `[[audit.sinks]]` entry reads the records after the sink's cursor (the last `seq`
//! its receiver acknowledged, kept in the store: `store/sinks.rs`), sends them, and moves the
//! cursor only once the receiver acknowledged them (HTTPS: a 2xx answer; syslog: see
//! `syslog.rs`). While the receiver is down it retries with exponential backoff, and catches up
//! in order when it returns; after a crash the next start resumes from the cursor, so records
//! may arrive twice but none goes missing. Every record carries `seq`, `prevHash` and `hash`:
//! a receiver drops duplicates by `seq` and can verify the chain.
//!
//! It reads the store, never the request path: a slow or absent receiver costs requests nothing.
//! On PostgreSQL, replicas sharing the store deliver each sink from one replica at a time (a
//! lease in the sink's row); see `store/sinks.rs` for why the cursor stays right regardless.

pub mod config;
mod format;
mod https;
mod syslog;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use config::{SinkConfig, SinkKind};

use crate::metrics::SinkStats;
use crate::state::{now_ms, Shared};
use crate::store::Store;

/// How often an idle sink looks for new records.
const POLL: Duration = Duration::from_millis(200);
/// How long a replica's claim on delivering a sink lasts unless renewed (PostgreSQL).
const LEASE_MS: i64 = 15_000;
/// The first wait after a failure; it doubles up to the sink's `max_backoff_seconds`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// How often a sink that keeps failing is logged again.
const REPEAT_LOG: Duration = Duration::from_secs(60);

enum Transport {
    Syslog(syslog::Syslog),
    Https(https::Https),
}

impl Transport {
    fn new(config: &SinkConfig) -> anyhow::Result<Transport> {
        let env = |k: &str| std::env::var(k).ok();
        Ok(match config.kind {
            SinkKind::Syslog => Transport::Syslog(syslog::Syslog::new(config)?),
            SinkKind::Https => Transport::Https(https::Https::new(config, &env)?),
        })
    }

    /// Sends `records`; the `seq` now acknowledged, if the send itself acknowledges them.
    async fn send(&mut self, records: &[crate::audit::AuditRecord]) -> anyhow::Result<Option<i64>> {
        match self {
            Transport::Syslog(s) => s.send(records).await.map(|()| None),
            Transport::Https(h) => h
                .send(records)
                .await
                .map(|()| records.last().map(|r| r.seq)),
        }
    }

    /// Acknowledgements that came due since (syslog's settle time).
    fn settled(&mut self) -> anyhow::Result<Option<i64>> {
        match self {
            Transport::Syslog(s) => s.settled(),
            Transport::Https(_) => Ok(None),
        }
    }

    fn reset(&mut self) {
        if let Transport::Syslog(s) = self {
            s.reset();
        }
    }
}

/// The running sinks, stopped with [`Sinks::stop`].
pub(crate) struct Sinks {
    tasks: Vec<(String, tokio::task::JoinHandle<()>)>,
    store: Store,
    owner: String,
}

/// Starts one delivery task per configured sink, each registered in the gateway's metrics.
pub(crate) fn spawn(gw: &Shared) -> Sinks {
    let owner = crate::secret::public_id();
    let mut tasks = Vec::new();
    for config in &gw.config.audit.sinks {
        let stats = Arc::new(SinkStats {
            name: config.name.clone(),
            ..SinkStats::default()
        });
        gw.metrics
            .sinks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(stats.clone());
        let delivery = Delivery {
            store: gw.store.clone(),
            config: config.clone(),
            stats,
            owner: owner.clone(),
        };
        tasks.push((config.name.clone(), tokio::spawn(delivery.run())));
    }
    Sinks {
        tasks,
        store: gw.store.clone(),
        owner,
    }
}

impl Sinks {
    /// Stops delivering. What was sent but not acknowledged is sent again by the next start (or
    /// by another replica, which can take the lease at once).
    pub(crate) async fn stop(self) {
        for (name, task) in self.tasks {
            task.abort();
            let _ = task.await;
            if let Err(e) = self.store.release_sink(&name, &self.owner).await {
                tracing::debug!(sink = %name, error = %e, "could not release the sink's lease");
            }
        }
    }
}

/// One sink's delivery loop and what it keeps between steps.
struct Delivery {
    store: Store,
    config: SinkConfig,
    stats: Arc<SinkStats>,
    owner: String,
}

/// Where a sink stands while this replica delivers it.
struct Position {
    /// The last `seq` the receiver acknowledged (the stored cursor).
    acked: i64,
    /// The last `seq` written to the receiver (acknowledged or not).
    sent: i64,
}

/// This replica's claim on delivering the sink (always held on SQLite).
#[derive(Default)]
struct Lease {
    held: bool,
    /// When to renew it (or try to take it again), epoch ms.
    renew_at: i64,
}

/// A run of failures, logged at its first and then once a minute (not at every retry).
#[derive(Default)]
struct Failures {
    /// When the last line was logged, and the failures so far.
    run: Option<(Instant, u64)>,
}

impl Failures {
    /// A failure: whether to log it.
    fn failed(&mut self) -> bool {
        match &mut self.run {
            None => {
                self.run = Some((Instant::now(), 1));
                true
            }
            Some((logged, n)) => {
                *n += 1;
                let due = logged.elapsed() >= REPEAT_LOG;
                if due {
                    *logged = Instant::now();
                }
                due
            }
        }
    }

    /// A success: the failures it ends, if any.
    fn recovered(&mut self) -> Option<u64> {
        self.run.take().map(|(_, n)| n)
    }
}

/// What a step did: whether to go on at once or wait for new records.
enum Step {
    Busy,
    Idle,
}

impl Delivery {
    async fn run(self) {
        let mut transport: Option<Transport> = None;
        let mut position: Option<Position> = None;
        let mut lease = Lease::default();
        let mut backoff = FIRST_BACKOFF;
        let max_backoff = Duration::from_secs(self.config.max_backoff_seconds.max(1));
        let mut failures = Failures::default();
        loop {
            let step = self.step(&mut transport, &mut position, &mut lease).await;
            match step {
                Ok(step) => {
                    backoff = FIRST_BACKOFF;
                    if let Some(n) = failures.recovered() {
                        tracing::info!(sink = %self.config.name, failures = n, "audit sink delivers again");
                    }
                    if matches!(step, Step::Idle) {
                        tokio::time::sleep(POLL).await;
                    }
                }
                Err(e) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    if let Some(t) = &mut transport {
                        t.reset();
                    }
                    // Send again from the cursor: what was written since may be lost.
                    position = None;
                    if failures.failed() {
                        tracing::warn!(sink = %self.config.name, error = %format!("{e:#}"), retry_in_ms = backoff.as_millis() as u64, "audit sink delivery failed; will retry from its cursor");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(max_backoff);
                }
            }
        }
    }

    /// One round: hold the lease, take the acknowledgements due, send the next batch.
    async fn step(
        &self,
        transport: &mut Option<Transport>,
        position: &mut Option<Position>,
        lease: &mut Lease,
    ) -> anyhow::Result<Step> {
        let name = &self.config.name;
        let now = now_ms();
        if now >= lease.renew_at {
            lease.held = self
                .store
                .lease_sink(name, &self.owner, now, now + LEASE_MS)
                .await?;
            lease.renew_at = now + LEASE_MS / 3;
            if !lease.held {
                // Standing by, this replica's metrics still show how far the sink is behind.
                let behind =
                    self.store.audit_head_seq().await? - self.store.sink_cursor(name).await?;
                self.stats.lag.store(behind.max(0), Ordering::Relaxed);
            }
        }
        if !lease.held {
            // Another replica delivers this sink; stand by, and take over if it stops.
            if let Some(t) = transport {
                t.reset();
            }
            *position = None;
            return Ok(Step::Idle);
        }
        let position = match position {
            Some(p) => p,
            None => {
                let acked = self.store.sink_cursor(name).await?;
                position.insert(Position { acked, sent: acked })
            }
        };
        if let Some(seq) = transport
            .as_mut()
            .map(Transport::settled)
            .transpose()?
            .flatten()
        {
            self.acknowledged(position, seq).await?;
        }
        let head = self.store.audit_head_seq().await?;
        self.stats
            .lag
            .store((head - position.acked).max(0), Ordering::Relaxed);
        if position.sent >= head {
            return Ok(Step::Idle);
        }
        let transport = match transport {
            Some(t) => t,
            None => transport.insert(Transport::new(&self.config)?),
        };
        let records = self
            .store
            .audit_after(position.sent, i64::from(self.config.batch_size))
            .await?;
        let Some(last) = records.last().map(|r| r.seq) else {
            return Ok(Step::Idle);
        };
        let acked = transport.send(&records).await?;
        position.sent = last;
        self.stats
            .sent
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        if let Some(seq) = acked {
            self.acknowledged(position, seq).await?;
        }
        Ok(if position.sent >= head {
            Step::Idle
        } else {
            Step::Busy
        })
    }

    /// The receiver has every record up to `seq`: move the cursor.
    async fn acknowledged(&self, position: &mut Position, seq: i64) -> anyhow::Result<()> {
        let now = now_ms();
        self.store.advance_sink(&self.config.name, seq, now).await?;
        position.acked = seq;
        self.stats.last_success_ms.store(now, Ordering::Relaxed);
        Ok(())
    }
}
