//! What the audit modules' tests share: a record, a SQLite store in a temporary directory, and
//! the chain read back and verified.

use super::{AuditRecord, Decision, Kind, Verifier};
use crate::store::Durability;
use crate::store::Store;

/// A proxied GET of `path`.
pub fn record(path: &str) -> AuditRecord {
    AuditRecord {
        at: 1_700_000_000_000,
        kind: Kind::Proxy,
        actor: "svc".into(),
        method: "GET".into(),
        path: path.into(),
        decision: Decision::Allow,
        status: 200,
        client_ip: "127.0.0.1".into(),
        ..Default::default()
    }
}

/// A SQLite store at `g.sqlite` in `dir`, and its file.
pub async fn sqlite_store(dir: &tempfile::TempDir) -> (Store, std::path::PathBuf) {
    let file = dir.path().join("g.sqlite");
    let store = Store::open_with(&format!("sqlite:{}", file.display()), Durability::Process)
        .await
        .unwrap();
    (store, file)
}

/// The paths in the audit chain, in order, after verifying the whole chain.
pub async fn logged(store: &Store) -> Vec<String> {
    let all = store.audit_after(0, 1000).await.unwrap();
    let mut verifier = Verifier::default();
    for r in &all {
        verifier.push(r).unwrap();
    }
    all.into_iter().map(|r| r.path).collect()
}
