//! The state every request handler shares, and the one clock. Everything below the assembly
//! (`server.rs`) reaches the gateway through [`Shared`]; this file imports none of them back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::audit::writer::AuditWriter;
use crate::cache::TokenCache;
use crate::config::GatewayConfig;
use crate::metrics::Metrics;
use crate::proxy::upstream::Upstream;
use crate::store::Store;

pub struct Gateway {
    pub config: GatewayConfig,
    pub store: Store,
    pub cache: TokenCache,
    pub audit: AuditWriter,
    pub upstream: Upstream,
    pub metrics: Metrics,
    pub admin_cache: AdminCache,
    /// Bound users' emails learned from Confluence (Basic `EMAIL:TOKEN`).
    pub user_emails: crate::user_emails::UserEmails,
    /// Held by a usage flush from taking the counts out of the cache until the store has them,
    /// and by readers of use counts (store plus cache), which would otherwise miss the counts in
    /// between.
    pub usage: tokio::sync::RwLock<()>,
}

pub type Shared = Arc<Gateway>;

/// Confluence admins recently confirmed (see `admin::confluence`), keyed by a hash of their
/// credentials: the username and when Confluence said so.
#[derive(Default)]
pub struct AdminCache {
    pub(crate) known: Mutex<HashMap<String, (String, Instant)>>,
}

/// Milliseconds since the Unix epoch: the time every record and expiry is written in.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Gateway {
    pub fn now_ms(&self) -> i64 {
        now_ms()
    }

    /// Writes the tokens' use counts gathered since the last flush (kept for a retry on failure).
    pub async fn flush_usage(&self) -> anyhow::Result<()> {
        let _flushing = self.usage.write().await;
        let updates = self.cache.take_usage();
        if let Err(e) = self.audit.flush_usage(updates.clone()).await {
            self.cache.return_usage(&updates);
            return Err(e);
        }
        Ok(())
    }
}
