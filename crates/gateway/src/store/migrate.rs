//! The schema, as numbered migrations that run when a store is opened, and opening itself.

use std::borrow::Cow;

use anyhow::Context;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, AssertSqlSafe, SqlSafeStr};

use super::{prepare_sqlite, redact_url, sqlite_path, Backend, Durability, Store};

/// A migration's SQL: one text for both backends, or one for each where they differ.
pub(super) enum Sql {
    Both(&'static str),
    Each {
        sqlite: &'static str,
        postgres: &'static str,
    },
}

impl Sql {
    pub(super) fn for_backend(&self, backend: Backend) -> &'static str {
        match (self, backend) {
            (Sql::Both(sql), _) => sql,
            (Sql::Each { sqlite, .. }, Backend::Sqlite) => sqlite,
            (Sql::Each { postgres, .. }, Backend::Postgres) => postgres,
        }
    }
}

pub(super) const MIGRATIONS: &[(i64, &str, Sql)] = &[(
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
    // separate unique index beside the table, one more B-tree for every record to enter.
    // Rebuilding the table is SQLite's way to change a column's type.
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
), (
    8,
    "admin roles, admin sessions (OpenID Connect sign-in), pending sign-ins",
    Sql::Both(
        "ALTER TABLE admin_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
    CREATE TABLE admin_sessions (
        secret_hash TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        name TEXT NOT NULL,
        email TEXT,
        role TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    CREATE TABLE admin_pending (
        key_hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        expires_at BIGINT NOT NULL
    );",
    ),
)];

/// The newest migration applied to the store (`None`: a new store).
pub(super) async fn schema_version(pool: &AnyPool) -> Option<i64> {
    sqlx::query_scalar("SELECT MAX(version) FROM cfl_schema_migrations WHERE success = TRUE")
        .fetch_one(pool)
        .await
        .unwrap_or(None)
}

impl Store {
    /// Opens the store at `url` (SQLite files in `mode`: `rwc` creates, `rw` does not) and
    /// migrates it up to `version`. The public ways to open one (`audit/open.rs`) also recover
    /// the audit journal.
    pub(crate) async fn connect(
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
        Ok(store)
    }
}
