//! Admin sessions (an OpenID Connect sign-in) and pending sign-ins, in the store so every replica
//! shares them. Only hashes of the secrets are keys; a pending entry is taken (deleted) by the
//! one request that uses it, so it works once.

use sqlx::Row;

use super::Store;

/// Sign-ins under way (and CLI codes not yet exchanged) at most.
pub(crate) const MAX_PENDING: i64 = 10_000;

/// A signed-in admin's session as stored.
#[derive(Debug, Clone)]
pub(crate) struct SessionRow {
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub role: String,
    pub expires_at: i64,
}

impl Store {
    pub(crate) async fn insert_session(
        &self,
        hash: &str,
        s: &SessionRow,
        now: i64,
    ) -> anyhow::Result<()> {
        // Expired sessions and pending entries are of no use to anyone: swept as new ones come.
        sqlx::query("DELETE FROM admin_sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM admin_pending WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO admin_sessions (secret_hash, subject, name, email, role, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(hash)
        .bind(&s.subject)
        .bind(&s.name)
        .bind(s.email.as_deref())
        .bind(&s.role)
        .bind(now)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live (unexpired, unrevoked) session with this secret hash.
    pub(crate) async fn session(&self, hash: &str, now: i64) -> anyhow::Result<Option<SessionRow>> {
        let row = sqlx::query(
            "SELECT subject, name, email, role, expires_at FROM admin_sessions
             WHERE secret_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(SessionRow {
            subject: r.try_get("subject")?,
            name: r.try_get("name")?,
            email: r.try_get("email")?,
            role: r.try_get("role")?,
            expires_at: r.try_get("expires_at")?,
        }))
    }

    pub(crate) async fn revoke_session(&self, hash: &str, now: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE admin_sessions SET revoked_at = $2 WHERE secret_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Keeps `data` (JSON) under `key_hash` until `expires_at`, for one [`Store::take_pending`].
    /// `false` (nothing kept) when [`MAX_PENDING`] sign-ins are already under way: starting one
    /// needs no credential, so their number is bounded.
    pub(crate) async fn put_pending(
        &self,
        key_hash: &str,
        kind: &str,
        data: &str,
        expires_at: i64,
        now: i64,
    ) -> anyhow::Result<bool> {
        sqlx::query("DELETE FROM admin_pending WHERE expires_at < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM admin_pending")
            .fetch_one(&self.pool)
            .await?;
        if row.try_get::<i64, _>("n")? >= MAX_PENDING {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO admin_pending (key_hash, kind, data, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(key_hash)
        .bind(kind)
        .bind(data)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(true)
    }

    /// Removes and returns the pending entry, if it is of `kind` and not expired. Whoever takes
    /// it first has it: a second request with the same key finds nothing.
    pub(crate) async fn take_pending(
        &self,
        key_hash: &str,
        kind: &str,
        now: i64,
    ) -> anyhow::Result<Option<String>> {
        let row = sqlx::query(
            "DELETE FROM admin_pending WHERE key_hash = $1 RETURNING kind, data, expires_at",
        )
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let (k, data, expires_at): (String, String, i64) = (
            r.try_get("kind")?,
            r.try_get("data")?,
            r.try_get("expires_at")?,
        );
        Ok((k == kind && expires_at > now).then_some(data))
    }
}
