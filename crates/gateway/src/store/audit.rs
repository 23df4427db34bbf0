//! The audit chain's SQL: appending batches (re-chained from the real head when another writer
//! got there first), the INSERT the journal's ingest shares, and queries.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Row};

use super::{Backend, Store};
use crate::audit::{AuditRecord, GENESIS};

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

/// Which records to return from the audit log, newest first.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditFilter {
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
    /// Appends records, extending the chain from its newest record, atomically, on a pool
    /// connection (the gateway appends through its writer, with `append_audit_on`).
    #[cfg(test)]
    pub(crate) async fn append_audit(&self, records: &mut [AuditRecord]) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        self.append_audit_on(&mut conn, records, &mut None).await
    }

    /// [`Store::append_audit`] on the given connection (the writer's). `head` is the chain's
    /// newest (seq, hash) as this caller last wrote it, or `None` to read it; it is kept up to
    /// date. It is only a guess: another replica may have appended since, in which case the
    /// insert hits the primary key on `seq`, and the records are chained again from the real
    /// head. So the steady state is one statement per batch, and the chain stays linear with
    /// any number of writers.
    pub(crate) async fn append_audit_on(
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
                .bind(r.kind.as_str())
                .bind(r.actor.as_ref())
                .bind(r.token_id.as_deref())
                .bind(r.bound_user.as_deref())
                .bind(r.method.as_ref())
                .bind(r.path.as_str())
                .bind(r.decision.as_str())
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
    pub(crate) async fn audit_query(&self, f: &AuditFilter) -> anyhow::Result<Vec<AuditRecord>> {
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
        enum Bind {
            Int(i64),
            Text(String),
        }
        let mut binds: Vec<(usize, Bind)> =
            ints.into_iter().map(|(i, v)| (i, Bind::Int(v))).collect();
        binds.extend(texts.into_iter().map(|(i, v)| (i, Bind::Text(v))));
        binds.sort_by_key(|(i, _)| *i);
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (_, b) in binds {
            q = match b {
                Bind::Int(v) => q.bind(v),
                Bind::Text(s) => q.bind(s),
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
}

fn audit_from_row(r: &AnyRow) -> anyhow::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        kind: r.try_get::<String, _>("kind")?.parse()?,
        actor: r.try_get("actor")?,
        token_id: r.try_get("token_id")?,
        bound_user: r.try_get("bound_user")?,
        method: r.try_get("method")?,
        path: r.try_get("path")?,
        decision: r.try_get::<String, _>("decision")?.parse()?,
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
