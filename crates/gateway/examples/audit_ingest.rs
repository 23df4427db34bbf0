//! How much CPU moving audit records into a SQLite store costs, per record: the work the
//! gateway's audit store thread does for every answered request (chain each record by hash,
//! insert it, record the journal mark, checkpoint the WAL). `bench/audit-ingest.sh` runs it.
//!
//! Usage: `audit_ingest [RECORDS] [BATCH]` (defaults 200000 and 800: 50 ms of a gateway at
//! 16k requests/s). Prints one line: records, µs of CPU per record (this process, every thread)
//! wall-clock µs per record, and the database's size per record.

use std::time::{Duration, Instant};

use cfl_gateway::audit::ingest::Ingest;
use cfl_gateway::audit::{AuditRecord, Decision, Kind};
use cfl_gateway::config::Durability;
use cfl_gateway::store::Store;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// This process's user + system CPU time, from /proc (every thread).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // Linux reports these in USER_HZ, which is 100 on every mainstream configuration.
    Duration::from_millis(ticks * 10)
}

fn record(n: i64) -> AuditRecord {
    AuditRecord {
        at: 1_795_000_000_000 + n / 16,
        kind: Kind::Proxy,
        actor: "svc-reports".into(),
        token_id: Some("tok_8Fq2LwZk3XyP0aBcDeFgHi".into()),
        bound_user: Some("svc-reports".into()),
        method: "GET".into(),
        path: "/rest/api/user/current".into(),
        decision: Decision::Allow,
        status: 200,
        request_bytes: 0,
        response_bytes: 83,
        latency_us: 412,
        client_ip: "127.0.0.1".into(),
        ..Default::default()
    }
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let records: i64 = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let batch: usize = args.next().map_or(Ok(800), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite:{}", dir.path().join("ingest.sqlite").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open_with(&url, Durability::Process).await?;
        let mut ingest = Ingest::open(&store)?;
        let (cpu0, wall0) = (cpu_time(), Instant::now());
        let mut written = 0i64;
        while written < records {
            let n = (batch as i64).min(records - written);
            let mut group: Vec<AuditRecord> = (written..written + n).map(record).collect();
            written += n;
            ingest.store(&mut group, "bench", written as u64)?;
            // The gateway checkpoints every 100 ms, i.e. every other 50 ms batch.
            if (written / n) % 2 == 0 {
                store.checkpoint().await?;
            }
        }
        let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
        store.checkpoint().await?;
        let bytes = std::fs::metadata(dir.path().join("ingest.sqlite"))?.len();
        let per = |d: Duration| d.as_secs_f64() * 1e6 / records as f64;
        println!(
            "records={records} batch={batch} cpu_us_per_record={:.2} wall_us_per_record={:.2} db_bytes_per_record={}",
            per(cpu),
            per(wall),
            bytes / records as u64
        );
        anyhow::Ok(())
    })
}
