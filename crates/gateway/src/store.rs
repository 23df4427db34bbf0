//! Persistent state: tokens, admin tokens and the audit chain, in SQLite (default, zero set-up) or
//! PostgreSQL (several replicas), through sqlx's `Any` driver so both run the same SQL.
//! Migrations run on open. Only hashes of secrets are stored.

use std::borrow::Cow;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, AssertSqlSafe, Connection, Executor, Row, SqlSafeStr};

use crate::audit::{AuditRecord, GENESIS};
use crate::config::Durability;
use crate::token::Token;

/// A connection kept by the one task that makes the frequent writes (audit batches and use
/// counts, see `audit::writer`), so those never queue for SQLite's write lock behind each other.
pub type WriterConnection = sqlx::pool::PoolConnection<sqlx::Any>;

/// Uses of one token since the last flush: (token id, uses, last used at).
pub type Usage = (String, i64, i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    pub backend: Backend,
    url: String,
    /// The `synchronous` pragma every SQLite connection runs (see [`prepare_sqlite`]).
    synchronous: &'static str,
    /// The database file of a SQLite store (its audit journal lives beside it).
    sqlite_file: Option<std::path::PathBuf>,
}

/// A migration's SQL: one text for both backends, or one for each where they differ.
enum Sql {
    Both(&'static str),
    Each {
        sqlite: &'static str,
        postgres: &'static str,
    },
}

impl Sql {
    fn for_backend(&self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Sql::Both(sql), _) => sql,
            (Sql::Each { sqlite, .. }, Backend::Sqlite) => sqlite,
            (Sql::Each { postgres, .. }, Backend::Postgres) => postgres,
        }
    }
}

const MIGRATIONS: &[(i64, &str, Sql)] = &[(
    1,
    "tokens, admin tokens, audit chain",
    Sql::Both("CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        bound_user TEXT,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        expires_at BIGINT,
        restrictions TEXT NOT NULL,
        ip_allowlist TEXT NOT NULL,
        rate_limit_per_minute BIGINT,
        use_count BIGINT NOT NULL DEFAULT 0,
        last_used_at BIGINT,
        revoked_at BIGINT
    );
    CREATE TABLE admin_tokens (
        id TEXT PRIMARY KEY,
        label TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    CREATE TABLE audit (
        seq BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        token_id TEXT,
        bound_user TEXT,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL,
        status BIGINT NOT NULL,
        request_bytes BIGINT NOT NULL,
        response_bytes BIGINT NOT NULL,
        latency_us BIGINT NOT NULL,
        client_ip TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_at ON audit (at);
    CREATE INDEX audit_token ON audit (token_id);
    CREATE TABLE audit_head (
        id BIGINT PRIMARY KEY,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL
    );
    INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');"),
), (
    2,
    "expiry warnings",
    Sql::Both("ALTER TABLE tokens ADD COLUMN expiry_warned_at BIGINT;"),
), (
    3,
    "minted PATs",
    Sql::Both("CREATE TABLE minted_pats (
        bound_user TEXT PRIMARY KEY,
        pat_id BIGINT NOT NULL,
        sealed TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL
    );"),
), (
    4,
    "the audit chain's head is its newest record",
    // Appends no longer lock a head row: the primary key on `seq` keeps the chain linear.
    Sql::Both("DROP TABLE audit_head;"),
), (
    5,
    "how far each audit journal has been moved into the audit chain",
    Sql::Both(
        "CREATE TABLE audit_journal (
        journal TEXT PRIMARY KEY,
        position BIGINT NOT NULL
    );",
    ),
), (
    6,
    "the audit chain's seq is the SQLite table's row id",
    // In SQLite only `INTEGER PRIMARY KEY` names the row id; `BIGINT PRIMARY KEY` kept a
    // separate unique index beside the table, one more B-tree for every record to enter
    // (BENCHMARKS.md). Rebuilding the table is SQLite's way to change a column's type.
    // PostgreSQL's BIGINT primary key is already the one index.
    Sql::Each {
        sqlite: "CREATE TABLE audit_rowid (
            seq INTEGER PRIMARY KEY,
            at BIGINT NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            token_id TEXT,
            bound_user TEXT,
            method TEXT NOT NULL,
            path TEXT NOT NULL,
            decision TEXT NOT NULL,
            reason TEXT NOT NULL,
            status BIGINT NOT NULL,
            request_bytes BIGINT NOT NULL,
            response_bytes BIGINT NOT NULL,
            latency_us BIGINT NOT NULL,
            client_ip TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        INSERT INTO audit_rowid SELECT seq, at, kind, actor, token_id, bound_user, method, path,
            decision, reason, status, request_bytes, response_bytes, latency_us, client_ip,
            prev_hash, hash FROM audit ORDER BY seq;
        DROP TABLE audit;
        ALTER TABLE audit_rowid RENAME TO audit;
        CREATE INDEX audit_at ON audit (at);
        CREATE INDEX audit_token ON audit (token_id);",
        postgres: "SELECT 1;",
    },
)];

/// A PAT minted for a user, as stored: `sealed` is the encrypted raw token.
#[derive(Debug, Clone)]
pub struct MintedPatRow {
    pub pat_id: i64,
    pub sealed: String,
    pub expires_at: i64,
}

/// Rows per audit INSERT: 17 parameters each stays under SQLite's 999-parameter floor.
pub(crate) const AUDIT_ROWS_PER_INSERT: usize = 50;

/// The INSERT for `rows` audit records, built once per size. SQLite gets anonymous `?`
/// placeholders: it looks a `$N` name up by a linear scan for every bound value, which made
/// binding a 50-row batch quadratic.
pub(crate) fn audit_insert_sql(backend: Backend, rows: usize) -> &'static str {
    use std::fmt::Write;
    static CACHE: std::sync::OnceLock<[Vec<String>; 2]> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        let build = |postgres: bool| {
            (0..=AUDIT_ROWS_PER_INSERT)
                .map(|n| {
                    let mut sql = String::from(
                        "INSERT INTO audit (seq, at, kind, actor, token_id, bound_user, method, path, decision, reason,
                    status, request_bytes, response_bytes, latency_us, client_ip, prev_hash, hash) VALUES ",
                    );
                    for i in 0..n {
                        sql.push_str(if i > 0 { ",(" } else { "(" });
                        for k in 1..=17 {
                            if k > 1 {
                                sql.push(',');
                            }
                            if postgres {
                                let _ = write!(sql, "${}", i * 17 + k);
                            } else {
                                sql.push('?');
                            }
                        }
                        sql.push(')');
                    }
                    sql
                })
                .collect()
        };
        [build(false), build(true)]
    });
    let i = usize::from(backend == Backend::Postgres);
    &cache[i][rows.min(AUDIT_ROWS_PER_INSERT)]
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

/// The database file a `sqlite:PATH` (or `sqlite://PATH?options`) store URL names; `None` for
/// other stores.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    Some(std::path::PathBuf::from(
        path.split('?').next().unwrap_or(path),
    ))
}

/// Whether a SQLite path names a file (not `:memory:` or the empty, temporary database).
pub fn is_file_path(path: &std::path::Path) -> bool {
    !path.as_os_str().is_empty() && path.as_os_str() != ":memory:"
}

/// Which records to return from the audit log, newest first.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditFilter {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub token_id: Option<String>,
    /// Matches the bound user or the actor.
    pub user: Option<String>,
    pub decision: Option<String>,
    pub kind: Option<String>,
    /// Only records with `seq` below this (paging backwards).
    pub before: Option<i64>,
    pub limit: Option<i64>,
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates, fsyncing every SQLite commit.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        Store::open_with(url, Durability::PowerLoss).await
    }

    /// Like [`Store::open`], with SQLite commits as durable as `durability` asks.
    pub async fn open_with(url: &str, durability: Durability) -> anyhow::Result<Store> {
        Store::open_migrated_to(url, durability, i64::MAX).await
    }

    /// Like [`Store::open_with`], applying the migrations up to `version` (tests open a store
    /// as an earlier release left it).
    async fn open_migrated_to(
        url: &str,
        durability: Durability,
        version: i64,
    ) -> anyhow::Result<Store> {
        Store::connect(url, durability, version, "rwc").await
    }

    /// Opens a store that must already exist: a SQLite file that is missing is an error rather
    /// than a new empty store (what an integrity check or a way back in needs).
    pub async fn open_existing(url: &str) -> anyhow::Result<Store> {
        if let Some(file) = sqlite_path(url).filter(|f| is_file_path(f)) {
            if !file.is_file() {
                let shown = std::path::absolute(&file).unwrap_or(file);
                anyhow::bail!(
                    "no store at {}: the file does not exist (check the path; a relative one is relative to the current directory)",
                    shown.display()
                );
            }
            return Store::connect(url, Durability::PowerLoss, i64::MAX, "rw").await;
        }
        Store::open(url).await
    }

    /// Opens the store at `url` (SQLite files in `mode`: `rwc` creates, `rw` does not) and
    /// migrates it up to `version`.
    async fn connect(
        url: &str,
        durability: Durability,
        version: i64,
        mode: &str,
    ) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url, sqlite_file) = if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.trim_start_matches("//");
            let sep = if path.contains('?') { '&' } else { '?' };
            (
                Backend::Sqlite,
                format!("sqlite://{path}{sep}mode={mode}"),
                sqlite_path(url),
            )
        } else {
            (Backend::Postgres, url.to_string(), None)
        };
        let mut options =
            AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 4 } else { 8 });
        let synchronous = match durability {
            Durability::PowerLoss => "PRAGMA synchronous=FULL;",
            Durability::Process => "PRAGMA synchronous=NORMAL;",
        };
        if backend == Backend::Sqlite {
            options = options.after_connect(move |conn, _| {
                Box::pin(async move { prepare_sqlite(conn, synchronous).await })
            });
        }
        let pool = options
            .connect(&url)
            .await
            .with_context(|| format!("cannot open the store {}", redact_url(&url)))?;
        let migrator = Migrator {
            migrations: Cow::Owned(
                MIGRATIONS
                    .iter()
                    .filter(|(v, _, _)| *v <= version)
                    .map(|(v, d, sql)| {
                        Migration::new(
                            *v,
                            Cow::Borrowed(*d),
                            MigrationType::Simple,
                            AssertSqlSafe(sql.for_backend(backend)).into_sql_str(),
                            false,
                        )
                    })
                    .collect(),
            ),
            table_name: Cow::Borrowed("cfl_schema_migrations"),
            ..Migrator::DEFAULT
        };
        // Upgrades can rebuild a table (migration 6 does, at a few seconds per million audit
        // records): say so, rather than start silently slow.
        let latest = migrator.iter().map(|m| m.version).max();
        if let (Some(from), Some(to)) = (schema_version(&pool).await, latest) {
            if from < to {
                tracing::info!(from, to, store = %redact_url(&url), "upgrading the store's schema");
            }
        }
        migrator
            .run(&pool)
            .await
            .context("cannot migrate the store")?;
        let store = Store {
            pool,
            backend,
            url,
            synchronous,
            sqlite_file,
        };
        // Whoever opens the store sees every answered request, even one a crashed gateway had
        // only journaled.
        if let Some(dir) = store.journal_dir() {
            crate::audit::journal::recover(&store, &dir)
                .await
                .context("cannot move the audit journal into the store")?;
        }
        Ok(store)
    }

    /// Where the audit journal of a SQLite store lives (see [`crate::audit::journal`]).
    pub fn journal_dir(&self) -> Option<std::path::PathBuf> {
        self.sqlite_file()
            .map(|(file, _)| crate::audit::journal::dir_for(file))
    }

    /// A SQLite store's database file, and the `synchronous` pragma its connections run.
    pub(crate) fn sqlite_file(&self) -> Option<(&std::path::Path, &'static str)> {
        self.sqlite_file
            .as_deref()
            .filter(|f| is_file_path(f))
            .map(|f| (f, self.synchronous))
    }

    pub async fn insert_token(&self, t: &Token) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO tokens (id, label, bound_user, secret_hash, created_at, created_by, expires_at,
                restrictions, ip_allowlist, rate_limit_per_minute, use_count, last_used_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, NULL, NULL)",
        )
        .bind(&t.id)
        .bind(&t.label)
        .bind(&t.user)
        .bind(&t.secret_hash)
        .bind(t.created_at)
        .bind(&t.created_by)
        .bind(t.expires_at)
        .bind(t.restrictions.join("\n"))
        .bind(t.ip_allowlist.join("\n"))
        .bind(t.rate_limit_per_minute.map(i64::from))
        .execute(&self.pool)
        .await
        .context("cannot store the token")?;
        Ok(())
    }

    pub async fn tokens(&self) -> anyhow::Result<Vec<Token>> {
        let rows = sqlx::query("SELECT * FROM tokens ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    pub async fn token(&self, id: &str) -> anyhow::Result<Option<Token>> {
        let row = sqlx::query("SELECT * FROM tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    pub async fn token_by_hash(&self, hash: &str) -> anyhow::Result<Option<Token>> {
        let row = sqlx::query("SELECT * FROM tokens WHERE secret_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Marks a token revoked; `false` when it doesn't exist or was already revoked.
    pub async fn revoke_token(&self, id: &str, at: i64) -> anyhow::Result<bool> {
        let r =
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Tells other replicas that a token was revoked (PostgreSQL `NOTIFY`; a no-op on SQLite,
    /// where replicas find out by polling [`Store::revoked_since`]).
    pub async fn notify_revoked(&self, id: &str) -> anyhow::Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify('cfl_token_revoked', $1)")
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Tokens revoked at or after `since_ms`, as `(id, revoked_at)`.
    pub async fn revoked_since(&self, since_ms: i64) -> anyhow::Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT id, revoked_at FROM tokens WHERE revoked_at >= $1")
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("revoked_at")?)))
            .collect()
    }

    /// Active tokens expiring before `before_ms` that nobody was warned about yet.
    pub async fn tokens_to_warn(&self, now_ms: i64, before_ms: i64) -> anyhow::Result<Vec<Token>> {
        let rows = sqlx::query(
            "SELECT * FROM tokens WHERE revoked_at IS NULL AND expiry_warned_at IS NULL
                AND expires_at IS NOT NULL AND expires_at > $1 AND expires_at <= $2",
        )
        .bind(now_ms)
        .bind(before_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Claims the expiry warning for a token: `true` for exactly one caller across replicas.
    pub async fn claim_expiry_warning(&self, id: &str, now_ms: i64) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE tokens SET expiry_warned_at = $1 WHERE id = $2 AND expiry_warned_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn minted_pat(&self, user: &str) -> anyhow::Result<Option<MintedPatRow>> {
        let row =
            sqlx::query("SELECT pat_id, sealed, expires_at FROM minted_pats WHERE bound_user = $1")
                .bind(user)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some(r) => Some(MintedPatRow {
                pat_id: r.try_get("pat_id")?,
                sealed: r.try_get("sealed")?,
                expires_at: r.try_get("expires_at")?,
            }),
            None => None,
        })
    }

    pub async fn save_minted_pat(
        &self,
        user: &str,
        row: &MintedPatRow,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO minted_pats (bound_user, pat_id, sealed, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (bound_user) DO UPDATE SET pat_id = excluded.pat_id, sealed = excluded.sealed,
                expires_at = excluded.expires_at, created_at = excluded.created_at",
        )
        .bind(user)
        .bind(row.pat_id)
        .bind(&row.sealed)
        .bind(row.expires_at)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The connection URL (for a `LISTEN` connection of its own).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Adds use counts (increments, so replicas add up) in one transaction, on a pool
    /// connection (the gateway writes them through its writer, with `flush_usage_on`).
    #[cfg(test)]
    pub async fn flush_usage(&self, updates: &[Usage]) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        self.flush_usage_on(&mut conn, updates).await
    }

    /// [`Store::flush_usage`] on the given connection (the writer's).
    pub async fn flush_usage_on(
        &self,
        conn: &mut AnyConnection,
        updates: &[Usage],
    ) -> anyhow::Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut tx = conn.begin().await?;
        for (id, uses, last) in updates {
            sqlx::query(
                "UPDATE tokens SET use_count = use_count + $1,
                    last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $2 THEN $2 ELSE last_used_at END
                 WHERE id = $3",
            )
            .bind(*uses)
            .bind(*last)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A connection for [`crate::audit::writer`] to keep.
    pub async fn writer_connection(&self) -> anyhow::Result<WriterConnection> {
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

    pub async fn insert_admin_token(
        &self,
        id: &str,
        label: &str,
        hash: &str,
        at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO admin_tokens (id, label, secret_hash, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (secret_hash) DO NOTHING",
        )
        .bind(id)
        .bind(label)
        .bind(hash)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The admin token with this hash, as `(id, label)`, if it exists and isn't revoked.
    pub async fn admin_by_hash(&self, hash: &str) -> anyhow::Result<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT id, label FROM admin_tokens WHERE secret_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some((r.try_get("id")?, r.try_get("label")?)),
            None => None,
        })
    }

    pub async fn admin_count(&self) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM admin_tokens WHERE revoked_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// Appends records, extending the chain from its newest record, atomically, on a pool
    /// connection (the gateway appends through its writer, with `append_audit_on`).
    #[cfg(test)]
    pub async fn append_audit(&self, records: &mut [AuditRecord]) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        self.append_audit_on(&mut conn, records, &mut None).await
    }

    /// [`Store::append_audit`] on the given connection (the writer's). `head` is the chain's
    /// newest (seq, hash) as this caller last wrote it, or `None` to read it; it is kept up to
    /// date. It is only a guess: another replica may have appended since, in which case the
    /// insert hits the primary key on `seq`, and the records are chained again from the real
    /// head. So the steady state is one statement per batch, and the chain stays linear with
    /// any number of writers.
    pub async fn append_audit_on(
        &self,
        conn: &mut AnyConnection,
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
                None => self.audit_head(conn).await?,
            };
            for r in records.iter_mut() {
                r.chain_after(seq, &hash);
                seq = r.seq;
                hash.clone_from(&r.hash);
            }
            match self.insert_audit(conn, records).await {
                Ok(()) => {
                    *head = Some((seq, hash));
                    return Ok(());
                }
                Err(e)
                    if e.as_database_error()
                        .is_some_and(|d| d.is_unique_violation()) =>
                {
                    continue; // another writer got there first: chain again from its head
                }
                Err(e) => return Err(e.into()),
            }
        }
        anyhow::bail!("the audit chain kept moving under {ATTEMPTS} attempts to append to it")
    }

    /// The chain's newest record (seq, hash), or the genesis before the first.
    async fn audit_head(&self, conn: &mut AnyConnection) -> anyhow::Result<(i64, String)> {
        let row = sqlx::query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
        Ok(match row {
            Some(r) => (r.try_get("seq")?, r.try_get("hash")?),
            None => (0, GENESIS.to_string()),
        })
    }

    /// Inserts chained records all or none: one multi-row statement, or a transaction of
    /// several when there are more rows than one statement takes.
    async fn insert_audit(
        &self,
        conn: &mut AnyConnection,
        records: &[AuditRecord],
    ) -> Result<(), sqlx::Error> {
        if records.len() <= AUDIT_ROWS_PER_INSERT {
            return self.insert_audit_rows(conn, records).await;
        }
        let mut tx = conn.begin().await?;
        for chunk in records.chunks(AUDIT_ROWS_PER_INSERT) {
            self.insert_audit_rows(&mut tx, chunk).await?;
        }
        tx.commit().await
    }

    async fn insert_audit_rows(
        &self,
        conn: &mut AnyConnection,
        rows: &[AuditRecord],
    ) -> Result<(), sqlx::Error> {
        let sql = audit_insert_sql(self.backend, rows.len());
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in rows {
            q = q
                .bind(r.seq)
                .bind(r.at)
                .bind(r.kind.as_ref())
                .bind(r.actor.as_ref())
                .bind(r.token_id.as_deref())
                .bind(r.bound_user.as_deref())
                .bind(r.method.as_ref())
                .bind(r.path.as_str())
                .bind(r.decision.as_ref())
                .bind(r.reason.as_ref())
                .bind(r.status)
                .bind(r.request_bytes)
                .bind(r.response_bytes)
                .bind(r.latency_us)
                .bind(r.client_ip.as_str())
                .bind(r.prev_hash.as_str())
                .bind(r.hash.as_str());
        }
        q.execute(conn).await.map(|_| ())
    }

    /// Records matching `f`, newest first (at most 1000 per call).
    pub async fn audit_query(&self, f: &AuditFilter) -> anyhow::Result<Vec<AuditRecord>> {
        let mut sql = String::from("SELECT * FROM audit WHERE 1 = 1");
        let mut ints: Vec<(usize, i64)> = Vec::new();
        let mut texts: Vec<(usize, String)> = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if let Some(v) = f.from {
            let i = next();
            sql += &format!(" AND at >= ${i}");
            ints.push((i, v));
        }
        if let Some(v) = f.to {
            let i = next();
            sql += &format!(" AND at < ${i}");
            ints.push((i, v));
        }
        if let Some(v) = f.before {
            let i = next();
            sql += &format!(" AND seq < ${i}");
            ints.push((i, v));
        }
        for (col, v) in [
            ("token_id", &f.token_id),
            ("decision", &f.decision),
            ("kind", &f.kind),
        ] {
            if let Some(v) = v {
                let i = next();
                sql += &format!(" AND {col} = ${i}");
                texts.push((i, v.clone()));
            }
        }
        if let Some(v) = &f.user {
            let i = next();
            sql += &format!(" AND (bound_user = ${i} OR actor = ${i})");
            texts.push((i, v.clone()));
        }
        let limit = f.limit.unwrap_or(100).clamp(1, 1000);
        sql += &format!(" ORDER BY seq DESC LIMIT {limit}");
        // Bind in placeholder order.
        let mut binds: Vec<(usize, Result<i64, String>)> =
            ints.into_iter().map(|(i, v)| (i, Ok(v))).collect();
        binds.extend(texts.into_iter().map(|(i, v)| (i, Err(v))));
        binds.sort_by_key(|(i, _)| *i);
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (_, b) in binds {
            q = match b {
                Ok(v) => q.bind(v),
                Err(s) => q.bind(s),
            };
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Records in chain order after `after_seq`, for verification and export.
    pub async fn audit_after(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<AuditRecord>> {
        let rows = sqlx::query("SELECT * FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after_seq)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Answers when the database is reachable (for `/readyz`).
    pub async fn ping(&self) -> anyhow::Result<()> {
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

fn lines(s: String) -> Vec<String> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn token_from_row(r: &AnyRow) -> anyhow::Result<Token> {
    Ok(Token {
        id: r.try_get("id")?,
        label: r.try_get("label")?,
        user: r.try_get("bound_user")?,
        secret_hash: r.try_get("secret_hash")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        expires_at: r.try_get("expires_at")?,
        restrictions: lines(r.try_get("restrictions")?),
        ip_allowlist: lines(r.try_get("ip_allowlist")?),
        rate_limit_per_minute: r
            .try_get::<Option<i64>, _>("rate_limit_per_minute")?
            .map(|v| v.clamp(1, u32::MAX as i64) as u32),
        use_count: r.try_get("use_count")?,
        last_used_at: r.try_get("last_used_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

fn audit_from_row(r: &AnyRow) -> anyhow::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        kind: r.try_get("kind")?,
        actor: r.try_get("actor")?,
        token_id: r.try_get("token_id")?,
        bound_user: r.try_get("bound_user")?,
        method: r.try_get("method")?,
        path: r.try_get("path")?,
        decision: r.try_get("decision")?,
        reason: r.try_get("reason")?,
        status: r.try_get("status")?,
        request_bytes: r.try_get("request_bytes")?,
        response_bytes: r.try_get("response_bytes")?,
        latency_us: r.try_get("latency_us")?,
        client_ip: r.try_get("client_ip")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
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

/// The newest migration applied to the store (`None`: a new store).
async fn schema_version(pool: &AnyPool) -> Option<i64> {
    sqlx::query_scalar("SELECT MAX(version) FROM cfl_schema_migrations WHERE success = TRUE")
        .fetch_one(pool)
        .await
        .unwrap_or(None)
}

#[allow(dead_code)]
fn _genesis_matches_migration() -> bool {
    MIGRATIONS[0]
        .2
        .for_backend(Backend::Sqlite)
        .contains(GENESIS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Verifier;
    use crate::token::NewToken;

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
                kind: "proxy".into(),
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
            kind: "proxy".into(),
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
        assert!(_genesis_matches_migration());
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
                kind: "proxy".into(),
                decision: "allow".into(),
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
            kind: "proxy".into(),
            decision: "allow".into(),
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
                    kind: "proxy".into(),
                    decision: "allow".into(),
                    ..Default::default()
                })
                .collect();
            store.append_audit(&mut batch).await.unwrap();
            store.close().await;
        }
        let store = Store::open(&url).await.unwrap();
        let mut more = vec![AuditRecord {
            at: 9,
            kind: "admin".into(),
            decision: "allow".into(),
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
