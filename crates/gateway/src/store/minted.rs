//! PATs the gateway minted for users, kept sealed so a replica or a restart reuses them.

use sqlx::Row;

use super::Store;

/// A PAT minted for a user, as stored: `sealed` is the encrypted raw token.
#[derive(Debug, Clone)]
pub(crate) struct MintedPatRow {
    pub pat_id: i64,
    pub sealed: String,
    pub expires_at: i64,
}

impl Store {
    pub(crate) async fn minted_pat(&self, user: &str) -> anyhow::Result<Option<MintedPatRow>> {
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

    pub(crate) async fn save_minted_pat(
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
}
