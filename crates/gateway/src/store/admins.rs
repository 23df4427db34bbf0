//! Admin tokens (only their hashes).

use sqlx::Row;

use super::Store;

impl Store {
    pub(crate) async fn insert_admin_token(
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
    pub(crate) async fn admin_by_hash(
        &self,
        hash: &str,
    ) -> anyhow::Result<Option<(String, String)>> {
        Ok(self
            .admin_with_role(hash)
            .await?
            .map(|(id, label, _)| (id, label)))
    }

    /// The admin token with this hash, as `(id, label, role)`, if it exists and isn't revoked.
    pub(crate) async fn admin_with_role(
        &self,
        hash: &str,
    ) -> anyhow::Result<Option<(String, String, String)>> {
        let row = sqlx::query(
            "SELECT id, label, role FROM admin_tokens WHERE secret_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some((r.try_get("id")?, r.try_get("label")?, r.try_get("role")?)),
            None => None,
        })
    }

    /// An admin token with a role other than the bootstrap's `admin`.
    pub(crate) async fn insert_admin_token_with_role(
        &self,
        id: &str,
        label: &str,
        hash: &str,
        role: &str,
        at: i64,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO admin_tokens (id, label, secret_hash, created_at, role) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(label)
        .bind(hash)
        .bind(at)
        .bind(role)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Revokes an admin token by id; `false` if there is none (or it was revoked already).
    pub(crate) async fn revoke_admin_token(&self, id: &str, at: i64) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE admin_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn admin_count(&self) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM admin_tokens WHERE revoked_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }
}
