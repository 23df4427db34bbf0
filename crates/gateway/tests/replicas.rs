//! Several gateway replicas (in-process) on one PostgreSQL database: tokens, revocations, counters and the
//! audit chain are shared. Runs against the real server that scripts/test.sh starts.

mod common;
use std::time::{Duration, Instant};

use common::*;

async fn status(gw: &Gateway, secret: &str) -> u16 {
    http()
        .get(gw.url("/rest/api/user/current"))
        .header("authorization", basic("svc-reports", secret))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn two_replicas_share_tokens_revocations_counters_and_audit() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    let sim = Sim::example("sim-dc.toml", "");
    let a = Gateway::start_with_store(&sim, OAUTH1_IDENTITY, &url);
    let b = Gateway::start_with_store(&sim, OAUTH1_IDENTITY, &url);

    // Created on A, works on B (B has never seen it: one store lookup, then cached).
    let (id, secret) = a.create_token(token_request("svc-reports")).await;
    assert_eq!(status(&b, &secret).await, 200);
    for _ in 0..3 {
        assert_eq!(status(&a, &secret).await, 200);
    }
    assert_eq!(status(&b, &secret).await, 200);

    // Counters from both replicas add up (each flushes its increments every second).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let t = a.token(&id).await;
        // A's own view adds its unflushed uses; B's arrive through the store.
        if t["useCount"] == 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "use counts never added up to 5: {t}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Revoked on B: refused on A within one second, although A had it cached.
    b.revoke(&id).await;
    let revoked_at = Instant::now();
    loop {
        if status(&a, &secret).await == 401 {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "replica A still accepted the token a second after B revoked it"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "revocation reached the other replica in {:?}",
        revoked_at.elapsed()
    );

    // Concurrent writers on both replicas keep one valid audit chain.
    let (_, busy) = b.create_token(token_request("svc-reports")).await;
    let mut tasks = Vec::new();
    for gw_url in [a.base_url.clone(), b.base_url.clone()] {
        for _ in 0..4 {
            let (u, auth) = (gw_url.clone(), basic("svc-reports", &busy));
            tasks.push(tokio::spawn(async move {
                let c = http();
                for i in 0..40 {
                    let r = c
                        .get(format!("{u}/rest/api/user/current?n={i}"))
                        .header("authorization", &auth)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    // The chain both replicas wrote is one unbroken chain (what `cfl audit verify` checks).
    let store = cfl_gateway::store::Store::open_existing(&url)
        .await
        .unwrap();
    let mut chain = cfl_gateway::audit::Verifier::default();
    let mut after = 0;
    loop {
        let page = store.audit_after(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            chain
                .push(r)
                .unwrap_or_else(|p| panic!("chain broken at {}: {p}", r.seq));
        }
    }
    assert!(chain.checked >= 320, "{} records", chain.checked);
}
