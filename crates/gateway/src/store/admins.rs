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

    pub(crate) async fn admin_count(&self) -> anyhow::Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM admin_tokens WHERE revoked_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }
}
