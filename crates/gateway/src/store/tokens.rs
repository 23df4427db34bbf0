//! Token records: create, read, rotate, revoke (with a notice to other replicas), expiry warnings
//! and the daily counts of tokens with a quota.

use anyhow::Context;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Backend, Store};
use crate::token::Token;

impl Store {
    pub(crate) async fn insert_token(&self, t: &Token) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO tokens (id, label, bound_user, secret_hash, created_at, created_by, expires_at,
                restrictions, ip_allowlist, rate_limit_per_minute, use_count, last_used_at, revoked_at,
                read_only, requests_per_day)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, NULL, NULL, $11, $12)",
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
        .bind(i64::from(t.read_only))
        .bind(t.requests_per_day.map(i64::from))
        .execute(&self.pool)
        .await
        .context("cannot store the token")?;
        Ok(())
    }

    pub(crate) async fn tokens(&self) -> anyhow::Result<Vec<Token>> {
        let rows = sqlx::query("SELECT * FROM tokens ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from_row).collect()
    }

    pub(crate) async fn token(&self, id: &str) -> anyhow::Result<Option<Token>> {
        let row = sqlx::query("SELECT * FROM tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// The token whose secret, or previous secret (after a rotation), has this hash.
    pub(crate) async fn token_by_hash(&self, hash: &str) -> anyhow::Result<Option<Token>> {
        let row =
            sqlx::query("SELECT * FROM tokens WHERE secret_hash = $1 OR previous_secret_hash = $1")
                .bind(hash)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Gives a token a new secret; the current one becomes the previous, accepted until
    /// `previous_valid_until` (a secret before it is forgotten). `false` when the token doesn't
    /// exist or is revoked.
    pub(crate) async fn rotate_token(
        &self,
        id: &str,
        new_hash: &str,
        previous_valid_until: i64,
        at: i64,
    ) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE tokens SET previous_secret_hash = secret_hash, secret_hash = $1,
                previous_valid_until = $2, rotated_at = $3
             WHERE id = $4 AND revoked_at IS NULL",
        )
        .bind(new_hash)
        .bind(previous_valid_until)
        .bind(at)
        .bind(id)
        .execute(&self.pool)
        .await
        .context("cannot store the rotated token")?;
        Ok(r.rows_affected() > 0)
    }

    /// Tokens rotated at or after `since_ms` (on any replica), not revoked.
    pub(crate) async fn rotated_since(&self, since_ms: i64) -> anyhow::Result<Vec<Token>> {
        let rows =
            sqlx::query("SELECT * FROM tokens WHERE rotated_at >= $1 AND revoked_at IS NULL")
                .bind(since_ms)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// The uses counted on `day` (days since the epoch, UTC) of every token with a daily quota,
    /// as `(id, uses)`.
    pub(crate) async fn day_uses(&self, day: i64) -> anyhow::Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT id, day_uses FROM tokens
             WHERE requests_per_day IS NOT NULL AND usage_day = $1 AND revoked_at IS NULL",
        )
        .bind(day)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("day_uses")?)))
            .collect()
    }

    /// Marks a token revoked; `false` when it doesn't exist or was already revoked.
    pub(crate) async fn revoke_token(&self, id: &str, at: i64) -> anyhow::Result<bool> {
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
    pub(crate) async fn notify_revoked(&self, id: &str) -> anyhow::Result<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify('cfl_token_revoked', $1)")
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Tokens revoked at or after `since_ms`, as `(id, revoked_at)`.
    pub(crate) async fn revoked_since(&self, since_ms: i64) -> anyhow::Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT id, revoked_at FROM tokens WHERE revoked_at >= $1")
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("revoked_at")?)))
            .collect()
    }

    /// Active tokens expiring before `before_ms` that nobody was warned about yet.
    pub(crate) async fn tokens_to_warn(
        &self,
        now_ms: i64,
        before_ms: i64,
    ) -> anyhow::Result<Vec<Token>> {
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
    pub(crate) async fn claim_expiry_warning(&self, id: &str, now_ms: i64) -> anyhow::Result<bool> {
        let r = sqlx::query(
            "UPDATE tokens SET expiry_warned_at = $1 WHERE id = $2 AND expiry_warned_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
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
        read_only: r.try_get::<i64, _>("read_only")? != 0,
        requests_per_day: r
            .try_get::<Option<i64>, _>("requests_per_day")?
            .map(|v| v.clamp(1, u32::MAX as i64) as u32),
        previous_secret_hash: r.try_get("previous_secret_hash")?,
        previous_valid_until: r.try_get("previous_valid_until")?,
        rotated_at: r.try_get("rotated_at")?,
        day_uses: (
            r.try_get::<Option<i64>, _>("usage_day")?.unwrap_or(0),
            r.try_get("day_uses")?,
        ),
    })
}
