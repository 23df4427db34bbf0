//! Revocations made on other replicas, into this replica's token cache.

use std::time::Duration;

use crate::state::Shared;
use crate::store::Backend;

/// Keeps this replica's cache in step with revocations made on other replicas: PostgreSQL
/// `LISTEN` delivers them at once; a poll every few seconds catches any missed while the listening
/// connection was down (and is the only channel on SQLite, shared by processes on one host).
pub(crate) async fn watch(gw: Shared) {
    const POLL: Duration = Duration::from_secs(5);
    let mut since = gw.now_ms() - 60_000;
    let mut listener = None;
    if gw.store.backend == Backend::Postgres {
        match sqlx::postgres::PgListener::connect(gw.store.url()).await {
            Ok(mut l) => match l.listen("cfl_token_revoked").await {
                Ok(()) => listener = Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot LISTEN for revocations; polling instead")
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot open a LISTEN connection; polling instead")
            }
        }
    }
    let mut tick = tokio::time::interval(POLL);
    loop {
        let notified = async {
            match listener.as_mut() {
                Some(l) => l.recv().await.map(|n| n.payload().to_string()).ok(),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            id = notified => {
                if let Some(id) = id {
                    gw.cache.revoke(&id, gw.now_ms());
                    tracing::info!(token = %id, "revocation notice received");
                }
            }
            _ = tick.tick() => {
                let now = gw.now_ms();
                match gw.store.revoked_since(since - POLL.as_millis() as i64).await {
                    Ok(revoked) => {
                        for (id, at) in revoked {
                            gw.cache.revoke(&id, at);
                        }
                        since = now;
                    }
                    Err(e) => tracing::warn!(error = %e, "polling revocations failed"),
                }
            }
        }
    }
}
