//! Persistent state: tokens, admin tokens and the audit chain, in SQLite (default, zero set-up) or
//! PostgreSQL (several replicas), through sqlx's `Any` driver so both run the same SQL.
//! Migrations run on open. Only hashes of secrets are stored. One file per concern: `migrate`
//! (schema and opening), `tokens` (records, revocation notices, expiry warnings), `admins`,
//! `minted` (PATs minted for users), `audit` (the chain's SQL), `usage` (use counts). Each adds
//! its methods to [`Store`]; this file holds the connection and what they share.

pub(crate) mod admins;
pub(crate) mod audit;
pub(crate) mod migrate;
pub(crate) mod minted;
pub(crate) mod sessions;
pub(crate) mod tokens;
pub(crate) mod usage;

use sqlx::{AnyConnection, AnyPool, Executor};

use anyhow::Context;

use serde::Deserialize;

/// A connection kept by the one task that makes the frequent writes (audit batches and use
/// counts, see `audit::writer`), so those never queue for SQLite's write lock behind each other.
pub(crate) type WriterConnection = sqlx::pool::PoolConnection<sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    pub(crate) backend: Backend,
    url: String,
    /// The `synchronous` pragma every SQLite connection runs (see [`prepare_sqlite`]).
    synchronous: &'static str,
    /// The database file of a SQLite store (its audit journal lives beside it).
    sqlite_file: Option<std::path::PathBuf>,
}

/// What every SQLite connection runs first, before its `synchronous` pragma (see [`prepare_sqlite`]).
pub(crate) const SQLITE_PRAGMAS: &str =
    "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000; PRAGMA wal_autocheckpoint=0;";

/// Why every SQLite connection runs these pragmas. WAL: readers don't block the writer. FULL fsyncs
/// every commit (survives a power loss); NORMAL leaves a commit in the kernel's page cache, which
/// a crash of the process can't lose. No automatic checkpoints: one would run (and fsync) inside
/// a commit that others wait on; `checkpoint` runs them on the side instead.
async fn prepare_sqlite(
    conn: &mut AnyConnection,
    synchronous: &'static str,
) -> Result<(), sqlx::Error> {
    conn.execute(SQLITE_PRAGMAS).await?;
    conn.execute(synchronous).await?;
    Ok(())
}

/// The journal directory of a SQLite database file.
pub(crate) fn journal_dir_for(database: &std::path::Path) -> std::path::PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".audit-journal");
    std::path::PathBuf::from(name)
}

/// Against what an answered request's audit record survives (SQLite; a PostgreSQL store follows
/// the server's own `synchronous_commit`, since the commit is acknowledged by the server).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// Committed to the kernel (WAL, `synchronous=NORMAL`): survives a crash or `kill -9` of the
    /// gateway, not a power loss or kernel crash. Several times cheaper per request.
    Process,
    /// Fsynced before the answer (WAL, `synchronous=FULL`): survives a power loss too.
    #[default]
    PowerLoss,
}

/// The database file a `sqlite:PATH` (or `sqlite://PATH?options`) store URL names; `None` for
/// other stores.
pub(crate) fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    Some(std::path::PathBuf::from(
        path.split('?').next().unwrap_or(path),
    ))
}

/// Whether a SQLite path names a file (not `:memory:` or the empty, temporary database).
pub(crate) fn is_file_path(path: &std::path::Path) -> bool {
    !path.as_os_str().is_empty() && path.as_os_str() != ":memory:"
}

/// `postgres://user:pw@host/db` → `postgres://user:***@host/db` for error messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Where the audit journal of a SQLite store lives (see `audit/journal.rs`).
    pub(crate) fn journal_dir(&self) -> Option<std::path::PathBuf> {
        self.sqlite_file().map(|(file, _)| journal_dir_for(file))
    }

    /// A SQLite store's database file, and the `synchronous` pragma its connections run.
    pub(crate) fn sqlite_file(&self) -> Option<(&std::path::Path, &'static str)> {
        self.sqlite_file
            .as_deref()
            .filter(|f| is_file_path(f))
            .map(|f| (f, self.synchronous))
    }

    /// The connection URL (for a `LISTEN` connection of its own).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// A connection for [`crate::audit::writer`] to keep.
    pub(crate) async fn writer_connection(&self) -> anyhow::Result<WriterConnection> {
        self.pool
            .acquire()
            .await
            .context("cannot open a connection to the store")
    }

    /// Copies SQLite's write-ahead log into the database without blocking the writer (automatic
    /// checkpoints are off, see `open_with`). SQLite only: the gateway runs it every 100 ms on a
    /// SQLite store.
    pub async fn checkpoint(&self) -> anyhow::Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Answers when the database is reachable (for `/readyz`).
    pub(crate) async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Direct SQL access for tests (e.g. tampering with an audit record).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

#[cfg(test)]
mod tests {
    use super::audit::AuditFilter;
    use super::migrate::{schema_version, MIGRATIONS};
    use super::*;
    use crate::audit::{AuditRecord, Decision, Kind, Verifier, GENESIS};
    use crate::token::NewToken;
    use sqlx::{AssertSqlSafe, Row};

    /// A fresh database on the test PostgreSQL server (`CFL_TEST_POSTGRES_URL`), or `None` with a
    /// printed reason.
    pub async fn fresh_postgres() -> Option<Store> {
        let Ok(admin_url) = std::env::var("CFL_TEST_POSTGRES_URL") else {
            eprintln!("skipping the PostgreSQL variant: CFL_TEST_POSTGRES_URL is not set (scripts/test.sh sets it)");
            return None;
        };
        let name = format!(
            "cfl_test_{}",
            crate::secret::public_id()[4..].to_ascii_lowercase()
        );
        sqlx::any::install_default_drivers();
        let admin = AnyPool::connect(&admin_url)
            .await
            .expect("connect to the test PostgreSQL server");
        admin
            .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .unwrap();
        admin.close().await;
        let url = match admin_url.rfind('/') {
            Some(i) => format!("{}/{name}", &admin_url[..i]),
            None => unreachable!("a postgres URL has a path"),
        };
        Some(Store::open(&url).await.unwrap())
    }

    async fn sqlite() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("g.sqlite").display());
        let store = Store::open(&url).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn durability_sets_sqlite_synchronous() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("d.sqlite").display());
        let level = |store: Store| async move {
            let row = sqlx::query("PRAGMA synchronous")
                .fetch_one(&store.pool)
                .await
                .unwrap();
            row.try_get::<i64, _>(0).unwrap()
        };
        // SQLite: 1 = NORMAL, 2 = FULL.
        assert_eq!(level(Store::open(&url).await.unwrap()).await, 2);
        let process = Store::open_with(&url, Durability::Process).await.unwrap();
        assert_eq!(level(process.clone()).await, 1);
        // Records written under `process` still chain and verify.
        let mut batch: Vec<AuditRecord> = (0..120)
            .map(|i| AuditRecord {
                at: i,
                kind: Kind::Proxy,
                path: format!("/p/{i}"),
                ..Default::default()
            })
            .collect();
        process.append_audit(&mut batch).await.unwrap();
        let mut v = Verifier::default();
        let mut all = process
            .audit_query(&AuditFilter {
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        all.reverse();
        for r in &all {
            v.push(r).unwrap();
        }
        assert_eq!(v.checked, 120);
    }

    /// Migration 6 rebuilds a SQLite store's audit table: the records, their chain and the
    /// indexes are as before, and the chain goes on from where it was.
    #[tokio::test]
    async fn the_audit_table_rebuild_keeps_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("m.sqlite").display());
        let table_sql = |store: Store| async move {
            sqlx::query("SELECT group_concat(sql, ';') FROM sqlite_master WHERE tbl_name = 'audit'")
                .fetch_one(&store.pool)
                .await
                .unwrap()
                .try_get::<String, _>(0)
                .unwrap()
        };
        let record = |at: i64| AuditRecord {
            at,
            kind: Kind::Proxy,
            token_id: Some(format!("tok{}", at % 3)),
            path: format!("/p/{at}"),
            ..Default::default()
        };
        {
            let old = Store::open_migrated_to(&url, Durability::Process, 5)
                .await
                .unwrap();
            assert!(table_sql(old.clone())
                .await
                .contains("seq BIGINT PRIMARY KEY"));
            assert_eq!(schema_version(&old.pool).await, Some(5));
            old.append_audit(&mut (0..130).map(record).collect::<Vec<_>>())
                .await
                .unwrap();
            old.close().await;
        }
        let store = Store::open(&url).await.unwrap();
        let sql = table_sql(store.clone()).await;
        assert!(sql.contains("seq INTEGER PRIMARY KEY"), "{sql}");
        assert_eq!(schema_version(&store.pool).await, Some(6));
        assert!(
            sql.contains("audit_at") && sql.contains("audit_token"),
            "{sql}"
        );
        store.append_audit(&mut [record(130)]).await.unwrap();
        let all = store.audit_after(0, 1000).await.unwrap();
        assert_eq!(all.len(), 131);
        assert_eq!(all.last().unwrap().path, "/p/130");
        let mut v = Verifier::default();
        all.iter().try_for_each(|r| v.push(r)).unwrap();
        let by_token = store
            .audit_query(&AuditFilter {
                token_id: Some("tok1".into()),
                limit: Some(1000),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_token.len(), 44);
        // A seq taken twice is still refused: the row id is as unique as the key was.
        assert!(sqlx::query("INSERT INTO audit SELECT seq, at, kind, actor, token_id, bound_user, method, 'x', decision, reason, status, request_bytes, response_bytes, latency_us, client_ip, prev_hash, hash FROM audit WHERE seq = 6")
            .execute(&store.pool)
            .await
            .is_err());
    }

    #[test]
    fn genesis_in_migration_matches_code() {
        let first = MIGRATIONS[0].2.for_backend(Backend::Sqlite);
        assert!(first.contains(GENESIS));
    }

    #[tokio::test]
    async fn tokens_round_trip_and_revoke() {
        let (_d, store) = sqlite().await;
        tokens_round_trip(&store).await;
        if let Some(pg) = fresh_postgres().await {
            tokens_round_trip(&pg).await;
        }
    }

    #[tokio::test]
    async fn audit_chain_on_postgres() {
        let Some(pg) = fresh_postgres().await else {
            return;
        };
        let mut batch: Vec<AuditRecord> = (0..120)
            .map(|i| AuditRecord {
                at: i,
                kind: Kind::Proxy,
                decision: Decision::Allow,
                ..Default::default()
            })
            .collect();
        pg.append_audit(&mut batch).await.unwrap();
        pg.append_audit(&mut batch[..3].to_vec()).await.unwrap();
        let all = pg.audit_after(0, 1000).await.unwrap();
        assert_eq!(all.len(), 123);
        let mut v = Verifier::default();
        assert!(all.iter().all(|r| v.push(r).is_ok()));
        assert_eq!(
            pg.audit_query(&AuditFilter {
                limit: Some(5),
                ..Default::default()
            })
            .await
            .unwrap()[0]
                .seq,
            123
        );
    }

    async fn tokens_round_trip(store: &Store) {
        let (t, _secret) = NewToken {
            label: "ci".into(),
            user: Some("svc".into()),
            restrictions: vec!["[get].*".into()],
            ip_allowlist: vec!["10.0.0.0/8".into()],
            rate_limit_per_minute: Some(5),
            ..Default::default()
        }
        .build("admin", 1)
        .unwrap();
        store.insert_token(&t).await.unwrap();
        let back = store.token(&t.id).await.unwrap().unwrap();
        assert_eq!(back.restrictions, t.restrictions);
        assert_eq!(back.ip_allowlist, t.ip_allowlist);
        assert_eq!(back.rate_limit_per_minute, Some(5));
        assert_eq!(
            store
                .token_by_hash(&t.secret_hash)
                .await
                .unwrap()
                .unwrap()
                .id,
            t.id
        );
        store
            .flush_usage(&[(t.id.clone(), 3, 50), (t.id.clone(), 2, 40)])
            .await
            .unwrap();
        let used = store.token(&t.id).await.unwrap().unwrap();
        assert_eq!((used.use_count, used.last_used_at), (5, Some(50)));
        assert!(store.revoke_token(&t.id, 9).await.unwrap());
        assert!(!store.revoke_token(&t.id, 10).await.unwrap());
        assert_eq!(
            store.token(&t.id).await.unwrap().unwrap().revoked_at,
            Some(9)
        );
    }

    /// Several writers, each with its own (soon stale) idea of the chain's head, appending
    /// interleaved and at once: every record lands, on one linear chain.
    async fn writers_with_stale_heads_keep_one_chain(store: &Store) {
        let record = |at| AuditRecord {
            at,
            kind: Kind::Proxy,
            decision: Decision::Allow,
            ..Default::default()
        };
        let mut a = store.writer_connection().await.unwrap();
        let mut b = store.writer_connection().await.unwrap();
        let (mut head_a, mut head_b) = (None, None);
        let mut batch = vec![record(1), record(2), record(3)];
        store
            .append_audit_on(&mut a, &mut batch, &mut head_a)
            .await
            .unwrap();
        let mut batch = vec![record(4), record(5)];
        store
            .append_audit_on(&mut b, &mut batch, &mut head_b)
            .await
            .unwrap();
        // A's head still says 3: its insert of 4 collides and it chains again from 5.
        let mut batch = vec![record(6)];
        store
            .append_audit_on(&mut a, &mut batch, &mut head_a)
            .await
            .unwrap();
        assert_eq!(batch[0].seq, 6);
        // And concurrently, with batches too large for one statement.
        let big = |n| (0..n).map(record).collect::<Vec<_>>();
        let (mut x, mut y) = (big(120), big(7));
        let (ra, rb) = tokio::join!(
            store.append_audit_on(&mut a, &mut x, &mut head_a),
            store.append_audit_on(&mut b, &mut y, &mut head_b),
        );
        ra.unwrap();
        rb.unwrap();
        let all = store.audit_after(0, 1000).await.unwrap();
        assert_eq!(all.len(), 6 + 127);
        let mut v = Verifier::default();
        all.iter().try_for_each(|r| v.push(r)).unwrap();
    }

    #[tokio::test]
    async fn stale_writer_heads_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("g.sqlite").display());
        writers_with_stale_heads_keep_one_chain(&Store::open(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn stale_writer_heads_on_postgres() {
        if let Some(pg) = fresh_postgres().await {
            writers_with_stale_heads_keep_one_chain(&pg).await;
        }
    }

    #[tokio::test]
    async fn audit_chain_survives_reopen_and_detects_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("g.sqlite").display());
        {
            let store = Store::open(&url).await.unwrap();
            let mut batch: Vec<AuditRecord> = (0..3)
                .map(|i| AuditRecord {
                    at: i,
                    kind: Kind::Proxy,
                    decision: Decision::Allow,
                    ..Default::default()
                })
                .collect();
            store.append_audit(&mut batch).await.unwrap();
            store.close().await;
        }
        let store = Store::open(&url).await.unwrap();
        let mut more = vec![AuditRecord {
            at: 9,
            kind: Kind::Admin,
            decision: Decision::Allow,
            ..Default::default()
        }];
        store.append_audit(&mut more).await.unwrap();
        assert_eq!(more[0].seq, 4);
        let all = store.audit_after(0, 100).await.unwrap();
        let mut v = Verifier::default();
        assert!(all.iter().all(|r| v.push(r).is_ok()));
        assert_eq!(
            store
                .audit_query(&AuditFilter {
                    kind: Some("admin".into()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .len(),
            1
        );

        sqlx::query("UPDATE audit SET status = 200 WHERE seq = 2")
            .execute(store.pool())
            .await
            .unwrap();
        let all = store.audit_after(0, 100).await.unwrap();
        let mut v = Verifier::default();
        let err = all.iter().try_for_each(|r| v.push(r)).unwrap_err();
        assert_eq!(err, crate::audit::ChainProblem::Altered { seq: 2 });
    }
}
