//! Faults on demand through `/__sim/faults` (5xx for the next N requests, optionally by path
//! prefix; dropped connections mid-body), the clock endpoint's validation, and `/__sim/requests`
//! recording who the simulator saw, without secrets.

mod common;
use common::*;

use serde_json::{json, Value};

#[tokio::test]
async fn injected_5xx_hits_the_next_n_matching_requests_only() {
    let sim = Sim::example("sim-dc.toml", "");
    let c = http();
    let auth = basic("admin", "admin");
    let r = c
        .post(sim.url("/__sim/faults"))
        .json(&json!({"status": 503, "count": 2, "path_prefix": "/rest/api/content"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Outside the prefix: unaffected.
    let r = c
        .get(sim.url("/rest/api/space"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for _ in 0..2 {
        let r = c
            .get(sim.url("/rest/api/content"))
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        let body: Value = r.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("503"));
    }
    let r = c
        .get(sim.url("/rest/api/content"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Bad fault requests are refused clearly.
    let r = c
        .post(sim.url("/__sim/faults"))
        .json(&json!({"status": 404, "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(sim.url("/__sim/faults"))
        .json(&json!({"bogus": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // DELETE clears armed faults.
    c.post(sim.url("/__sim/faults"))
        .json(&json!({"status": 500, "count": 5}))
        .send()
        .await
        .unwrap();
    let r = c.delete(sim.url("/__sim/faults")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let r = c
        .get(sim.url("/rest/api/space"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn dropped_connection_cuts_the_body_then_recovers() {
    let sim = Sim::example("sim-cloud.toml", "");
    let c = http();
    let auth = basic("alice@example.com", "ATATT3xFfGF0-classic-alice");
    c.post(sim.url("/__sim/faults"))
        .json(&json!({"drop_connections": 1}))
        .send()
        .await
        .unwrap();
    let r = c
        .get(sim.url("/wiki/api/v2/pages?limit=50"))
        .header("authorization", &auth)
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the body should be cut off");
    let r = c
        .get(sim.url("/wiki/api/v2/pages?limit=50"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(!body["results"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn request_log_shows_the_caller_and_redacts_secrets() {
    // A top-level key goes before the example's first [table].
    let sim = Sim::start(&format!(
        "request_log_entries = 3\n{}",
        read_example("sim-dc.toml")
    ));
    let c = http();
    c.get(sim.url("/rest/api/space?spaceKey=DEV&access_token=s3cret-value"))
        .header("authorization", basic("alice", "alice-pw"))
        .send()
        .await
        .unwrap();
    c.get(sim.url("/rest/api/space"))
        .header(
            "authorization",
            "Bearer NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=",
        )
        .send()
        .await
        .unwrap();
    let log: Value = c
        .get(sim.url("/__sim/requests?limit=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reqs = log["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["user"], "alice");
    assert_eq!(reqs[0]["auth_method"], "password");
    assert_eq!(reqs[0]["method"], "GET");
    assert_eq!(reqs[0]["path"], "/rest/api/space");
    assert_eq!(reqs[0]["status"], 200);
    assert!(reqs[0]["query"].as_str().unwrap().contains("spaceKey=DEV"));
    let text = log.to_string();
    assert!(
        !text.contains("s3cret-value") && !text.contains("alice-pw"),
        "{text}"
    );
    assert!(!text.contains("NjEyMzQ1Njc4OTAx"), "{text}");
    let state: Value = c
        .get(sim.url("/__sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["spaces"], 2);
    assert_eq!(state["pages"], 26);
    assert!(state["requests"].as_u64().unwrap() >= 2);
    for path in [
        "/rest/api/user/current",
        "/rest/api/group",
        "/rest/api/space/OPS",
    ] {
        c.get(sim.url(path))
            .header("authorization", basic("alice", "alice-pw"))
            .send()
            .await
            .unwrap();
    }
    let full: Value = c
        .get(sim.url("/__sim/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        full["requests"].as_array().unwrap().len(),
        3,
        "request_log_entries = 3 keeps the three latest: {full}"
    );
    assert_eq!(full["requests"][0]["path"], "/rest/api/user/current");
    assert_eq!(full["requests"][2]["path"], "/rest/api/space/OPS");
    // The clock only moves forward.
    let r = c
        .post(sim.url("/__sim/clock"))
        .json(&json!({"advance_seconds": -5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
