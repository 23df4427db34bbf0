//! Opening a store: connect and migrate (`store/`), then move what the audit journal beside a
//! SQLite store holds into it, so whoever opens the store sees every answered request, even one a
//! crashed gateway had only journaled. It sits above both the store and the journal, so neither
//! imports the other's opening.

use anyhow::Context;

use super::journal;
use crate::store::{is_file_path, sqlite_path, Durability, Store};

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
    pub(crate) async fn open_migrated_to(
        url: &str,
        durability: Durability,
        version: i64,
    ) -> anyhow::Result<Store> {
        recovered(Store::connect(url, durability, version, "rwc").await?).await
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
            let store = Store::connect(url, Durability::PowerLoss, i64::MAX, "rw").await?;
            return recovered(store).await;
        }
        Store::open(url).await
    }
}

/// The store, after the audit journal beside it (if any) was moved into it.
async fn recovered(store: Store) -> anyhow::Result<Store> {
    if let Some(dir) = store.journal_dir() {
        journal::recover(&store, &dir)
            .await
            .context("cannot move the audit journal into the store")?;
    }
    Ok(store)
}
