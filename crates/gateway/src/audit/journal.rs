//! The audit journal of a SQLite store: where a record becomes durable before its answer is sent.
//!
//! Group commit without a hand-off: the first request to queue a record leads its group. It
//! yields once, so every request ready to run on the runtime queues its record too, then appends
//! the whole group to a file in one `write` (page cache; `durability = "process"`) and, with
//! `power-loss`, waits for one `fdatasync` on the blocking pool, during which the next group
//! gathers. A thread of its own moves journaled records into the store's hash-chained `audit`
//! table every 50 ms in large batches, off every request's path. Appending a line costs far less
//! than a SQLite commit (which rewrites every B-tree page the group touched) or two wake-ups of
//! another thread, so a request pays little more than serialising its record.
//!
//! Crash safety: each line carries a position; the store remembers, in the same transaction as
//! the records, the last position it holds (`audit_journal`). Opening the store moves any
//! journaled records past that position into it ([`recover`]), so an answered request is in the
//! audit log after a crash however far the store had got. A segment file is deleted once all
//! its records are in the store. The journal directory is locked while a gateway uses it.
//!
//! Layout: `<database>.audit-journal/` holds `id` (this journal's name in `audit_journal`),
//! `lock`, and segments `00000000000000000001.jsonl`, … of `[position, [at, kind, …]]` lines: a
//! record's fields as an array in [`Line`]'s order (the chain's `seq` and hashes are given when
//! it is stored). Lines of earlier versions, `[position, {"seq": …, "at": …}]`, are read too.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context;
use tokio::sync::oneshot;

use super::ingest::Ingest;
use super::{AuditRecord, Decision, Fields, Kind};
use crate::store::Durability;
use crate::store::Store;

/// A segment is closed (and deleted once stored) after this many bytes.
const SEGMENT_BYTES: u64 = 8 << 20;
/// Records the store thread writes in one transaction, at most.
const INGEST_BATCH: usize = 5000;
/// How often the store thread moves journaled records into the store.
const INGEST_EVERY: Duration = Duration::from_millis(50);
/// How long a reader of the log waits for the journal to drain before it is told the log is behind.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// A record as a journal line holds it: its fields without names, which takes about half the
/// time of writing them as an object (the line is written on every request's path).
struct Line<'a>(u64, &'a AuditRecord);

impl serde::Serialize for Line<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = Fields {
            record: self.1,
            with_seq: false,
        };
        (self.0, fields).serialize(s)
    }
}

/// [`Fields`] without `seq`, as read back.
type LineFields = (
    i64,
    Kind,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Decision,
    String,
    i64,
    i64,
    i64,
    i64,
    String,
);

/// A journal line as read back: [`Line`]'s array, or the object of earlier versions.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ReadLine {
    Fields(u64, LineFields),
    Object(u64, AuditRecord),
}

impl ReadLine {
    fn parse(line: &[u8]) -> serde_json::Result<(u64, AuditRecord)> {
        Ok(match serde_json::from_slice(line)? {
            ReadLine::Object(pos, record) => (pos, record),
            ReadLine::Fields(pos, f) => {
                let record = AuditRecord {
                    at: f.0,
                    kind: f.1,
                    actor: f.2.into(),
                    token_id: f.3,
                    bound_user: f.4,
                    method: f.5.into(),
                    path: f.6,
                    decision: f.7,
                    reason: f.8.into(),
                    status: f.9,
                    request_bytes: f.10,
                    response_bytes: f.11,
                    latency_us: f.12,
                    client_ip: f.13,
                    ..AuditRecord::default()
                };
                (pos, record)
            }
        })
    }
}

/// Counters for `/metrics`: journal writes (group commits) and the records they held.
#[derive(Clone, Default)]
pub struct Counters {
    pub commits: Arc<AtomicU64>,
    pub committed: Arc<AtomicU64>,
}

pub struct Journal {
    shared: Arc<Shared>,
    store_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Shared {
    appender: Mutex<Appender>,
    to_store: Mutex<ToStore>,
    /// Wakes the store thread early: a sync or close is waiting.
    store_wanted: Condvar,
    durability: Durability,
    counters: Counters,
}

/// Records queued for the next journal write, and the file they go to.
struct Appender {
    segment: Segment,
    dir: PathBuf,
    /// The position the next queued record gets.
    next: u64,
    lines: Vec<u8>,
    records: Vec<(u64, AuditRecord)>,
    waiters: Vec<oneshot::Sender<bool>>,
    /// A request is leading a group: it will write what is queued.
    leading: bool,
    closed: bool,
}

/// What the store thread has to do.
#[derive(Default)]
struct ToStore {
    records: Vec<(u64, AuditRecord)>,
    /// Complete segments: deleted once their records are stored.
    closed_segments: Vec<u64>,
    syncs: Vec<oneshot::Sender<anyhow::Result<()>>>,
    closing: bool,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:020}.jsonl"))
}

/// Segment numbers in `dir`, oldest first.
fn segments(dir: &Path) -> anyhow::Result<Vec<u64>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let name = entry?.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|s| s.strip_suffix(".jsonl"))
            .and_then(|s| s.parse::<u64>().ok())
        {
            found.push(n);
        }
    }
    found.sort_unstable();
    Ok(found)
}

/// Locks the journal directory (creating it and its id on first use). `None`: another process
/// holds it.
fn lock(dir: &Path) -> anyhow::Result<Option<(File, String)>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the audit journal {}", dir.display()))?;
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .with_context(|| format!("cannot open {}", dir.join("lock").display()))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", dir.display()))
        }
    }
    let id_path = dir.join("id");
    let id = match std::fs::read_to_string(&id_path) {
        Ok(id) if !id.trim().is_empty() => id.trim().to_string(),
        _ => {
            // A random name of its own (the token id generator, without its `tok_` prefix).
            let random = crate::secret::public_id();
            let id = format!("journal-{}", random.trim_start_matches("tok_"));
            std::fs::write(&id_path, &id)
                .with_context(|| format!("cannot write {}", id_path.display()))?;
            id
        }
    };
    Ok(Some((lock, id)))
}

/// Moves records left in the journal at `dir` into the store, unless a running gateway holds
/// it. Returns how many records were moved.
pub async fn recover(store: &Store, dir: &Path) -> anyhow::Result<u64> {
    if !dir.exists() {
        return Ok(0);
    }
    let (store, dir) = (store.clone(), dir.to_owned());
    tokio::task::spawn_blocking(move || match lock(&dir)? {
        Some((_lock, id)) => Ok(recover_locked(&mut Ingest::open(&store)?, &dir, &id)?.0),
        None => Ok(0),
    })
    .await
    .context("the audit journal's recovery did not run")?
}

/// Stores what the segments hold past the store's mark and deletes them. Returns the records
/// moved and the next free position. Blocks: file reads and SQLite.
fn recover_locked(ingest: &mut Ingest, dir: &Path, id: &str) -> anyhow::Result<(u64, u64)> {
    let mark = ingest.mark(id)?;
    let mut next = mark + 1;
    let mut moved = 0;
    let mut pending: Vec<(u64, AuditRecord)> = Vec::new();
    for n in segments(dir)? {
        let path = segment_path(dir, n);
        let file = File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
        for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = line.with_context(|| format!("cannot read {}", path.display()))?;
            match ReadLine::parse(&line) {
                Ok((pos, record)) => {
                    next = next.max(pos + 1);
                    if pos > mark {
                        pending.push((pos, record));
                    }
                }
                Err(e) => {
                    // Only a write cut short by the crash ends like this, and its records were
                    // never answered (the journal answers after the whole write).
                    tracing::warn!(segment = %path.display(), line = i + 1, error = %e, "audit journal: ignoring a torn line");
                    break;
                }
            }
            if pending.len() >= INGEST_BATCH {
                moved += pending.len() as u64;
                store_pending(ingest, id, &mut pending)?;
            }
        }
        moved += pending.len() as u64;
        store_pending(ingest, id, &mut pending)?;
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    if moved > 0 {
        tracing::info!(records = moved, journal = %dir.display(), "audit journal: moved records left by an earlier run into the store");
    }
    Ok((moved, next))
}

/// The segment being appended to.
struct Segment {
    n: u64,
    file: Arc<File>,
    len: u64,
}

impl Segment {
    fn create(dir: &Path, n: u64, durability: Durability) -> anyhow::Result<Segment> {
        let path = segment_path(dir, n);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        if durability == Durability::PowerLoss {
            // The new file's directory entry must survive a power loss too.
            File::open(dir).and_then(|d| d.sync_all()).ok();
        }
        Ok(Segment {
            n,
            file: Arc::new(file),
            len: 0,
        })
    }

    /// Appends `bytes` whole or not at all (a failed write is cut off again).
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match (&*self.file).write_all(bytes) {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.len);
                Err(e)
            }
        }
    }
}

impl Journal {
    /// Locks the journal at `dir`, stores what an earlier run left in it, and starts the store
    /// thread.
    pub async fn start(
        store: Store,
        dir: PathBuf,
        durability: Durability,
        counters: Counters,
    ) -> anyhow::Result<Journal> {
        let Some((lock, id)) = lock(&dir)? else {
            anyhow::bail!(
                "another gateway is using the audit journal {}: give each gateway process its own SQLite store (or share a PostgreSQL one)",
                dir.display()
            );
        };
        let (ingest, next, id, dir) = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || {
                let mut ingest = Ingest::open(&store)?;
                let (_, next) = recover_locked(&mut ingest, &dir, &id)?;
                anyhow::Ok((ingest, next, id, dir))
            })
            .await
            .context("the audit journal's recovery did not run")??
        };
        let first = segments(&dir)?.last().map_or(1, |n| n + 1);
        let segment = Segment::create(&dir, first, durability)?;
        let shared = Arc::new(Shared {
            appender: Mutex::new(Appender {
                segment,
                dir: dir.clone(),
                next,
                lines: Vec::with_capacity(64 << 10),
                records: Vec::new(),
                waiters: Vec::new(),
                leading: false,
                closed: false,
            }),
            to_store: Mutex::default(),
            store_wanted: Condvar::new(),
            durability,
            counters,
        });
        let for_thread = shared.clone();
        let store_thread = std::thread::Builder::new()
            .name("cfl-audit-store".into())
            .spawn(move || {
                let _lock = lock; // held for as long as this journal is in use
                store_loop(&for_thread, &store, Some(ingest), &dir, &id)
            })
            .context("cannot start the audit store thread")?;
        Ok(Journal {
            shared,
            store_thread: Mutex::new(Some(store_thread)),
        })
    }

    /// Journals a record and waits until it is durable. `false`: it could not be, and the
    /// caller must fail closed.
    #[cfg(test)]
    pub async fn append(&self, record: AuditRecord) -> bool {
        match self.queue(record) {
            Some(durable) => durable.await.unwrap_or(false),
            None => false,
        }
    }

    /// Queues a record for the next group; the receiver says whether it became durable. `None`:
    /// it can't be journaled, and the caller must fail closed. Not `async`, so the record is
    /// moved into the queue at once instead of being carried inside the caller's future.
    pub fn queue(&self, record: AuditRecord) -> Option<oneshot::Receiver<bool>> {
        let (done, durable) = oneshot::channel();
        let lead = {
            let mut a = locked(&self.shared.appender);
            if a.closed {
                return None;
            }
            let pos = a.next + a.records.len() as u64;
            if serde_json::to_writer(&mut a.lines, &Line(pos, &record)).is_err() {
                return None;
            }
            a.lines.push(b'\n');
            a.records.push((pos, record));
            a.waiters.push(done);
            !std::mem::replace(&mut a.leading, true)
        };
        if lead {
            // A task of its own, so a request that goes away can't leave its group unwritten.
            tokio::spawn(self.shared.clone().write_groups());
        }
        Some(durable)
    }

    /// Waits until every record journaled so far is in the store (before reading the log).
    pub async fn sync(&self) -> anyhow::Result<()> {
        let (done, stored) = oneshot::channel();
        locked(&self.shared.to_store).syncs.push(done);
        self.shared.store_wanted.notify_one();
        match tokio::time::timeout(SYNC_TIMEOUT, stored).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(anyhow::anyhow!("the audit journal has stopped")),
            Err(_) => Err(anyhow::anyhow!(
                "the audit log is more than {}s behind its journal",
                SYNC_TIMEOUT.as_secs()
            )),
        }
    }

    /// Refuses further records, stores everything journaled and stops the store thread.
    pub async fn close(&self) {
        locked(&self.shared.appender).closed = true;
        // A group being written finishes first.
        while locked(&self.shared.appender).leading {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        {
            let a = locked(&self.shared.appender);
            let mut s = locked(&self.shared.to_store);
            s.closed_segments.push(a.segment.n);
            s.closing = true;
        }
        self.shared.store_wanted.notify_one();
        let thread = locked(&self.store_thread).take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

impl Shared {
    /// The group leader: writes queued groups until none is left.
    async fn write_groups(self: Arc<Shared>) {
        // Let every request that is ready to run queue its record into this group first.
        tokio::task::yield_now().await;
        let shared = &*self;
        loop {
            let (ok, records, waiters, file) = {
                let mut a = locked(&shared.appender);
                if a.records.is_empty() {
                    a.leading = false;
                    return;
                }
                let records = std::mem::take(&mut a.records);
                let waiters = std::mem::take(&mut a.waiters);
                let lines = std::mem::take(&mut a.lines);
                // Positions are used up even if the write fails; the journal may skip some.
                a.next += records.len() as u64;
                let written = a.segment.append(&lines);
                a.lines = lines;
                a.lines.clear();
                if let Err(e) = &written {
                    tracing::error!(error = %e, records = records.len(), "audit journal write failed; refusing the requests");
                }
                (written.is_ok(), records, waiters, a.segment.file.clone())
            };
            let ok = ok && self.make_durable(file).await;
            if ok {
                shared.counters.commits.fetch_add(1, Ordering::Relaxed);
                shared
                    .counters
                    .committed
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
                locked(&shared.to_store).records.extend(records);
                self.rotate_if_full();
            }
            for done in waiters {
                let _ = done.send(ok);
            }
        }
    }

    /// With `power-loss` durability, flushes the written group to the disk (on the blocking
    /// pool; the next group gathers meanwhile).
    async fn make_durable(&self, file: Arc<File>) -> bool {
        if self.durability == Durability::Process {
            return true;
        }
        match tokio::task::spawn_blocking(move || file.sync_data()).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "audit journal fdatasync failed; refusing the requests");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "audit journal fdatasync did not run; refusing the requests");
                false
            }
        }
    }

    fn rotate_if_full(&self) {
        let mut a = locked(&self.appender);
        if a.segment.len < SEGMENT_BYTES {
            return;
        }
        match Segment::create(&a.dir, a.segment.n + 1, self.durability) {
            Ok(fresh) => {
                let full = std::mem::replace(&mut a.segment, fresh);
                locked(&self.to_store).closed_segments.push(full.n);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start a new audit journal segment; appending to the current one")
            }
        }
    }
}

/// The store thread: every [`INGEST_EVERY`] (or at once for a sync or close) it moves journaled
/// records into the store, on a connection of its own (`ingest`, reopened after an error).
fn store_loop(shared: &Shared, store: &Store, mut ingest: Option<Ingest>, dir: &Path, id: &str) {
    let mut pending: Vec<(u64, AuditRecord)> = Vec::new();
    let mut closed: Vec<u64> = Vec::new();
    let mut backoff = Duration::from_millis(100);
    loop {
        let (syncs, closing) = {
            let mut q = locked(&shared.to_store);
            if q.syncs.is_empty() && !q.closing {
                q = shared
                    .store_wanted
                    .wait_timeout(q, INGEST_EVERY)
                    .map(|(q, _)| q)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            pending.append(&mut q.records);
            closed.append(&mut q.closed_segments);
            (std::mem::take(&mut q.syncs), q.closing)
        };
        let stored = match &mut ingest {
            Some(i) => Ok(i),
            None => Ingest::open(store).map(|i| ingest.insert(i)),
        }
        .and_then(|i| store_pending(i, id, &mut pending));
        if let Err(e) = &stored {
            ingest = None; // reopened for the next attempt
            tracing::error!(error = %e, pending = pending.len(), "cannot move audit records from the journal into the store; retrying");
        }
        for done in syncs {
            let _ = done.send(match &stored {
                Ok(()) => Ok(()),
                Err(e) => Err(anyhow::anyhow!("the audit log is behind its journal: {e}")),
            });
        }
        match stored {
            Ok(()) => {
                backoff = Duration::from_millis(100);
                for n in closed.drain(..) {
                    let path = segment_path(dir, n);
                    if let Err(e) = std::fs::remove_file(&path) {
                        tracing::warn!(error = %e, segment = %path.display(), "cannot remove a stored audit journal segment");
                    }
                }
                if closing {
                    break;
                }
            }
            Err(_) if closing => break, // the journal keeps them for the next start
            Err(_) => {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Chains `pending` into the store, at most [`INGEST_BATCH`] records per transaction, each
/// recording its last position as this journal's mark. On failure the unstored records stay in
/// `pending`, in order.
fn store_pending(
    ingest: &mut Ingest,
    id: &str,
    pending: &mut Vec<(u64, AuditRecord)>,
) -> anyhow::Result<()> {
    while !pending.is_empty() {
        let rest = pending.split_off(pending.len().min(INGEST_BATCH));
        let (positions, mut batch): (Vec<u64>, Vec<AuditRecord>) =
            std::mem::replace(pending, rest).into_iter().unzip();
        let last = positions.last().copied().unwrap_or(0);
        if let Err(e) = ingest.store(&mut batch, id, last) {
            let mut restored: Vec<(u64, AuditRecord)> = positions.into_iter().zip(batch).collect();
            restored.append(pending);
            *pending = restored;
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testing::{logged, record, sqlite_store};

    async fn sqlite(dir: &tempfile::TempDir) -> (Store, PathBuf) {
        let (store, file) = sqlite_store(dir).await;
        (store, crate::store::journal_dir_for(&file))
    }

    #[tokio::test]
    async fn journaled_records_reach_the_chain_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, dir) = sqlite(&tmp).await;
        let counters = Counters::default();
        let journal = Journal::start(
            store.clone(),
            dir.clone(),
            Durability::Process,
            counters.clone(),
        )
        .await
        .unwrap();
        for p in ["/a", "/b", "/c"] {
            assert!(journal.append(record(p)).await);
        }
        // Durable before it is in the store: the journal holds all three lines.
        let lines = std::fs::read_to_string(segment_path(&dir, 1)).unwrap();
        assert_eq!(lines.lines().count(), 3, "{lines}");
        journal.sync().await.unwrap();
        assert_eq!(logged(&store).await, ["/a", "/b", "/c"]);
        assert_eq!(counters.committed.load(Ordering::Relaxed), 3);
        journal.close().await;
        assert!(
            !journal.append(record("/late")).await,
            "a closed journal refuses records"
        );
        let id = std::fs::read_to_string(dir.join("id")).unwrap();
        assert_eq!(Ingest::open(&store).unwrap().mark(&id).unwrap(), 3);
        assert!(
            segments(&dir).unwrap().is_empty(),
            "stored segments are deleted"
        );
    }

    #[test]
    fn a_line_reads_back_as_the_record_it_was_written_from() {
        let mut r = record("/rest/api/content/1");
        r.actor = "svc-\"quoted\"\n".into();
        r.token_id = Some("tok_1".into());
        r.bound_user = Some("svc".into());
        r.method = "PROPFIND".into();
        r.decision = Decision::Deny;
        r.reason = "restricted".into();
        (r.status, r.request_bytes, r.response_bytes, r.latency_us) = (403, 5, 7, 9);
        let line = serde_json::to_vec(&Line(42, &r)).unwrap();
        assert!(
            line.starts_with(b"[42,[1700000000000,\"proxy\""),
            "{line:?}"
        );
        assert_eq!(ReadLine::parse(&line).unwrap(), (42, r.clone()));
        // As versions before 2026-11-30 wrote it: the record as an object.
        let old = serde_json::to_vec(&(7u64, &r)).unwrap();
        assert_eq!(ReadLine::parse(&old).unwrap(), (7, r));
        assert!(ReadLine::parse(b"[5,[1700000000000,\"pro").is_err());
    }

    #[tokio::test]
    async fn opening_the_store_recovers_what_it_lacks_and_ignores_a_torn_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, dir) = sqlite(&tmp).await;
        // A crashed run: positions 1 and 2 reached the store, 3 and 4 only the journal, and the
        // write of 5 was cut short (it was never answered).
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("id"), "journal-crashed").unwrap();
        let mut stored = vec![record("/1"), record("/2")];
        Ingest::open(&store)
            .unwrap()
            .store(&mut stored, "journal-crashed", 2)
            .unwrap();
        // Lines 1–3 as versions before 2026-11-30 wrote them (the record as an object), 4 as now.
        let mut text = String::new();
        for (pos, p) in [(1, "/1"), (2, "/2"), (3, "/3")] {
            text.push_str(&serde_json::to_string(&(pos, record(p))).unwrap());
            text.push('\n');
        }
        text.push_str(&serde_json::to_string(&Line(4, &record("/4"))).unwrap());
        text.push('\n');
        text.push_str("[5,{\"seq\":0,\"at\":17");
        std::fs::write(segment_path(&dir, 7), text).unwrap();
        drop(store);

        let (store, _) = sqlite(&tmp).await;
        assert_eq!(logged(&store).await, ["/1", "/2", "/3", "/4"]);
        let mark = || {
            Ingest::open(&store)
                .unwrap()
                .mark("journal-crashed")
                .unwrap()
        };
        assert_eq!(mark(), 4);
        assert!(segments(&dir).unwrap().is_empty());

        // The next run goes on numbering after the recovered positions, in a later segment.
        let journal = Journal::start(
            store.clone(),
            dir.clone(),
            Durability::PowerLoss,
            Counters::default(),
        )
        .await
        .unwrap();
        assert!(journal.append(record("/5")).await);
        journal.close().await;
        assert_eq!(logged(&store).await, ["/1", "/2", "/3", "/4", "/5"]);
        assert_eq!(mark(), 5);
    }

    #[tokio::test]
    async fn a_journal_in_use_is_left_to_its_gateway() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, dir) = sqlite(&tmp).await;
        let journal = Journal::start(
            store.clone(),
            dir.clone(),
            Durability::Process,
            Counters::default(),
        )
        .await
        .unwrap();
        assert!(journal.append(record("/live")).await);
        assert_eq!(recover(&store, &dir).await.unwrap(), 0);
        let second = Journal::start(
            store.clone(),
            dir.clone(),
            Durability::Process,
            Counters::default(),
        )
        .await;
        let err = second
            .err()
            .expect("a second gateway may not share the journal")
            .to_string();
        assert!(
            err.contains("another gateway is using the audit journal"),
            "{err}"
        );
        journal.close().await;
        assert_eq!(logged(&store).await, ["/live"]);
    }
}
