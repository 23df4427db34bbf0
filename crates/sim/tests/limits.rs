//! Rate limiting in the real `cfl sim`: 429 with each flavour's headers and `{"message"}` body,
//! one bucket per credential, DC's X-RateLimit-* headers on successful responses, and recovery
//! once Retry-After has passed (real time on DC, the simulator clock on Cloud).

mod common;
use common::*;

use serde_json::Value;

#[tokio::test]
async fn dc_rate_limit_429_headers_and_recovery_after_retry_after() {
    let sim = Sim::example(
        "sim-dc.toml",
        "[rate_limit]\nrequests = 3\ninterval_seconds = 1\n",
    );
    let c = http();
    let get = |auth: String| {
        c.get(sim.url("/rest/api/space"))
            .header("authorization", auth)
            .send()
    };
    let mut last_ok = None;
    let mut limited = None;
    for _ in 0..10 {
        let r = get(basic("admin", "admin")).await.unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
        last_ok = Some(r);
    }
    let ok = last_ok.expect("some requests pass");
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-fillrate",
        "x-ratelimit-interval-seconds",
    ] {
        assert!(
            ok.headers().contains_key(h),
            "successful DC response lacks {h}"
        );
    }
    assert_eq!(ok.headers()["x-ratelimit-limit"], "3");
    let r = limited.expect("the bucket runs dry");
    let h = r.headers().clone();
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert_eq!(h["x-ratelimit-fillrate"], "3");
    assert_eq!(h["x-ratelimit-interval-seconds"], "1");
    assert!(
        !h.contains_key("x-ratelimit-reset"),
        "Cloud-only header on DC"
    );
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("Rate limit"));

    // Another credential has its own bucket.
    let other = get(basic("alice", "alice-pw")).await.unwrap();
    assert_eq!(other.status(), 200);

    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    assert_eq!(get(basic("admin", "admin")).await.unwrap().status(), 200);
}

#[tokio::test]
async fn cloud_rate_limit_429_headers_and_recovery_on_the_clock() {
    let sim = Sim::example(
        "sim-cloud.toml",
        "[rate_limit]\nrequests = 5\ninterval_seconds = 60\n",
    );
    let c = http();
    let auth = basic("alice@example.com", "ATATT3xFfGF0-classic-alice");
    let get = || {
        c.get(sim.url("/wiki/api/v2/spaces"))
            .header("authorization", &auth)
            .send()
    };
    let mut statuses = Vec::new();
    let mut limited = None;
    let mut near = false;
    for _ in 0..8 {
        let r = get().await.unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 200 && r.headers().get("x-ratelimit-nearlimit").is_some() {
            near = true;
        }
        if r.status() == 429 && limited.is_none() {
            limited = Some(r);
        }
    }
    assert_eq!(&statuses[..5], &[200; 5]);
    assert!(near, "Cloud warns before the limit");
    let r = limited.expect("429 after 5 requests");
    let h = r.headers().clone();
    for name in [
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-nearlimit",
        "ratelimit-reason",
    ] {
        assert!(h.contains_key(name), "429 lacks {name}");
    }
    assert!(
        !h.contains_key("x-ratelimit-fillrate"),
        "DC-only header on Cloud"
    );
    let reset = h["x-ratelimit-reset"].to_str().unwrap();
    assert!(
        reset.len() >= 20 && reset.contains('T') && reset.ends_with('Z'),
        "{reset}"
    );
    let retry: i64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].is_string());

    let r = c
        .post(sim.url("/__sim/clock"))
        .json(&serde_json::json!({"advance_seconds": retry}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(get().await.unwrap().status(), 200);
}

#[tokio::test]
async fn no_limit_headers_without_rate_limit() {
    let sim = Sim::example("sim-dc.toml", "");
    let r = http()
        .get(sim.url("/rest/api/space"))
        .header("authorization", basic("admin", "admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!r.headers().contains_key("x-ratelimit-limit"));
}
