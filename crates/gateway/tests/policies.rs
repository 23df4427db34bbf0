//! Token policies end to end, in-process against the simulator: `[policy]` limits on the native
//! and Extender APIs, read-only tokens, rotation with overlap and daily quotas.

mod common;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const DAY_MS: i64 = 86_400_000;

fn gateway(sim: &Sim, policy: &str) -> Gateway {
    let (identity, env) = static_identity();
    Gateway::start(sim, identity, &format!("[policy]\n{policy}\n"), &env)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// An admin call: (status, JSON answer).
async fn admin(gw: &Gateway, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = http()
        .request(method.parse().unwrap(), gw.url(path))
        .bearer_auth(ADMIN_TOKEN);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// A proxied call with the token: (status, error code or "", Retry-After).
async fn call(gw: &Gateway, method: &str, path: &str, secret: &str) -> (u16, String, Option<u64>) {
    let r = http()
        .request(method.parse().unwrap(), gw.url(path))
        .header("authorization", basic("svc-reports", secret))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v["error"].as_str().unwrap_or("").to_string(), retry)
}

#[tokio::test]
async fn a_longer_lifetime_or_none_is_refused_naming_the_limit_on_both_apis() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = gateway(&sim, "max_lifetime_days = 90");

    let (status, v) = admin(
        &gw,
        "POST",
        "/admin/v1/tokens",
        Some(json!({"label": "long", "user": "svc-reports", "daysUntilExpiry": 91})),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("policy_max_lifetime")),
        "{v}"
    );
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains("at most 90 days (policy.max_lifetime_days)"),
        "{message}"
    );
    // An expiry as a time is held to the same limit.
    let (status, v) = admin(
        &gw,
        "POST",
        "/admin/v1/tokens",
        Some(json!({"label": "long", "user": "svc-reports", "expiresAt": now_ms() + 100 * DAY_MS})),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("policy_max_lifetime")),
        "{v}"
    );
    // No expiry at all, and no default to give it one.
    let (status, v) = admin(
        &gw,
        "POST",
        "/admin/v1/tokens",
        Some(json!({"label": "forever", "user": "svc-reports"})),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("policy_max_lifetime")),
        "{v}"
    );
    assert!(
        v["message"].as_str().unwrap().contains("never expires"),
        "{v}"
    );
    let (status, _) = admin(
        &gw,
        "POST",
        "/admin/v1/tokens",
        Some(json!({"label": "ok", "user": "svc-reports", "daysUntilExpiry": 90})),
    )
    .await;
    assert_eq!(status, 201);

    // Extender's API, with its own field names and days as a string.
    for days in [json!("91"), json!(""), json!(365)] {
        let (status, v) = admin(
            &gw,
            "POST",
            "/rest/extender/1.0/tokenTools/set",
            Some(json!({"label": "ext", "userName": "svc-reports", "daysUntilExpiry": days})),
        )
        .await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some("policy_max_lifetime")),
            "{days}: {v}"
        );
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("policy.max_lifetime_days"),
            "{v}"
        );
    }
    let (status, v) = admin(
        &gw,
        "POST",
        "/rest/extender/1.0/tokenTools/set",
        Some(json!({"label": "ext", "userName": "svc-reports", "daysUntilExpiry": "30"})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
}

#[tokio::test]
async fn the_default_expiry_is_given_to_tokens_that_ask_for_none() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = gateway(&sim, "max_lifetime_days = 90\ndefault_expiry_days = 30");
    let before = now_ms();
    let (status, v) = admin(
        &gw,
        "POST",
        "/admin/v1/tokens",
        Some(json!({"label": "default", "user": "svc-reports"})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let expires = v["token"]["expiresAt"].as_i64().unwrap();
    assert!(
        (before + 30 * DAY_MS..=now_ms() + 30 * DAY_MS).contains(&expires),
        "{v}"
    );
    // A token's own expiry wins.
    let (_, v) = admin(
        &gw,
        "POST",
        "/admin/v1/tokens",
        Some(json!({"label": "own", "user": "svc-reports", "daysUntilExpiry": 2})),
    )
    .await;
    assert!(
        v["token"]["expiresAt"].as_i64().unwrap() < now_ms() + 3 * DAY_MS,
        "{v}"
    );
    // Extender's "never" (empty days) gets the default too.
    let (status, v) = admin(
        &gw,
        "POST",
        "/rest/extender/1.0/tokenTools/set",
        Some(json!({"label": "ext", "userName": "svc-reports", "daysUntilExpiry": ""})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let valid_until = v["validUntil"].as_i64().unwrap();
    assert!(
        valid_until >= before + 30 * DAY_MS && valid_until <= now_ms() + 30 * DAY_MS,
        "{v}"
    );
}

#[tokio::test]
async fn an_ip_allowlist_and_a_bound_user_can_be_required() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = gateway(
        &sim,
        "require_ip_allowlist = true\nrequire_bound_user = true",
    );
    let (status, v) = admin(
        &gw,
        "POST",
        "/admin/v1/tokens",
        Some(json!({"label": "open", "user": "svc-reports"})),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("policy_ip_allowlist_required")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("policy.require_ip_allowlist"),
        "{v}"
    );
    let (status, v) = admin(
        &gw,
        "POST",
        "/rest/extender/1.0/tokenTools/set",
        Some(json!({"label": "open", "userName": "svc-reports"})),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("policy_ip_allowlist_required")),
        "{v}"
    );
    // The static identity serves unbound tokens, but the policy wants a user.
    let (status, v) = admin(
        &gw,
        "POST",
        "/admin/v1/tokens",
        Some(json!({"label": "anyone", "ipAllowlist": ["127.0.0.1"]})),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("policy_bound_user_required")),
        "{v}"
    );

    let (_, secret) = gw
        .create_token(json!({"label": "ok", "user": "svc-reports", "ipAllowlist": ["127.0.0.1"]}))
        .await;
    assert_eq!(call(&gw, "GET", "/rest/api/space", &secret).await.0, 200);
}

#[tokio::test]
async fn a_read_only_token_reads_and_writes_nothing_and_keeps_its_rules() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = gateway(&sim, "");
    let (id, secret) = gw
        .create_token(json!({"label": "reader", "user": "svc-reports", "readOnly": true}))
        .await;
    assert_eq!(gw.token(&id).await["readOnly"], true);
    for method in ["GET", "HEAD", "OPTIONS"] {
        let (status, code, _) = call(&gw, method, "/rest/api/space", &secret).await;
        assert_ne!(code, "read_only", "{method}");
        assert!(status < 400 || method == "OPTIONS", "{method}: {status}");
    }
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let (status, code, _) = call(&gw, method, "/rest/api/content/1", &secret).await;
        assert_eq!((status, code.as_str()), (403, "read_only"), "{method}");
    }
    let denied = gw.audit(&format!("tokenId={id}&decision=deny")).await;
    assert!(
        denied.iter().all(|r| r["reason"] == "read_only"),
        "{denied:?}"
    );
    assert_eq!(denied.len(), 4);

    // Combined with rules: both must let a request through.
    let (_, narrow) = gw
        .create_token(
            json!({"label": "narrow reader", "user": "svc-reports", "readOnly": true,
            "restrictions": ["[get,post]/rest/api/space"]}),
        )
        .await;
    assert_eq!(call(&gw, "GET", "/rest/api/space", &narrow).await.0, 200);
    assert_eq!(
        call(&gw, "GET", "/rest/api/user/current", &narrow).await.1,
        "restricted"
    );
    assert_eq!(
        call(&gw, "POST", "/rest/api/space", &narrow).await.1,
        "read_only"
    );

    // The restriction tester says so too.
    let (_, v) = admin(
        &gw,
        "POST",
        "/admin/v1/check",
        Some(json!({"tokenId": id, "method": "DELETE", "path": "/rest/api/content/1"})),
    )
    .await;
    assert_eq!(v["decision"], "deny", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("read_only"), "{v}");
}

#[tokio::test]
async fn a_rotated_secret_works_until_its_overlap_ends_then_says_why_not() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = gateway(&sim, "max_rotation_overlap_hours = 1");
    let (id, old) = gw.create_token(token_request("svc-reports")).await;
    assert_eq!(call(&gw, "GET", "/rest/api/space", &old).await.0, 200);

    let (status, v) = admin(
        &gw,
        "POST",
        &format!("/admin/v1/tokens/{id}/rotate"),
        Some(json!({"overlapSeconds": 2})),
    )
    .await;
    let rotated_at = now_ms();
    assert_eq!(status, 200, "{v}");
    let new = v["secret"].as_str().unwrap().to_string();
    assert!(new.starts_with("cfl_") && new != old);
    assert_eq!(v["token"]["id"], id.as_str(), "the same token");
    let until = v["previousSecretValidUntil"].as_i64().unwrap();
    assert!(
        (rotated_at - 1_000..=rotated_at + 2_000).contains(&(until - 2_000)),
        "{v}"
    );

    // Both secrets work during the overlap; the old one's uses say so in the audit log.
    assert_eq!(call(&gw, "GET", "/rest/api/space", &new).await.0, 200);
    assert_eq!(call(&gw, "GET", "/rest/api/space", &old).await.0, 200);
    let allowed = gw
        .audit(&format!("tokenId={id}&decision=allow&kind=proxy"))
        .await;
    assert_eq!(allowed.len(), 3, "{allowed:?}");
    assert!(
        allowed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("previous secret"),
        "{allowed:?}"
    );
    assert!(
        !allowed[1]["reason"]
            .as_str()
            .unwrap()
            .contains("previous secret"),
        "{allowed:?}"
    );
    let rotations = gw.audit(&format!("tokenId={id}&kind=admin")).await;
    assert!(
        rotations.iter().any(|r| r["path"] == "token.rotate"),
        "{rotations:?}"
    );
    let shown = gw.token(&id).await;
    assert_eq!(shown["previousSecretValidUntil"], until);
    assert!(shown["rotatedAt"].as_i64().is_some(), "{shown}");

    // After the overlap: the old secret is refused by name, the new one works.
    tokio::time::sleep(Duration::from_millis(
        (until - now_ms()).max(0) as u64 + 200,
    ))
    .await;
    assert_eq!(
        call(&gw, "GET", "/rest/api/space", &old).await,
        (401, "token_rotated".into(), None)
    );
    assert_eq!(call(&gw, "GET", "/rest/api/space", &new).await.0, 200);

    // Rotating again without overlap: the secret before stops at once, the oldest is forgotten.
    let (status, v) = admin(
        &gw,
        "POST",
        &format!("/admin/v1/tokens/{id}/rotate"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let newest = v["secret"].as_str().unwrap().to_string();
    assert_eq!(
        call(&gw, "GET", "/rest/api/space", &new).await.1,
        "token_rotated"
    );
    assert_eq!(
        call(&gw, "GET", "/rest/api/space", &old).await.1,
        "unknown_token"
    );
    assert_eq!(call(&gw, "GET", "/rest/api/space", &newest).await.0, 200);

    // Beyond the policy's overlap, and a revoked token: refused.
    let (status, v) = admin(
        &gw,
        "POST",
        &format!("/admin/v1/tokens/{id}/rotate"),
        Some(json!({"overlapSeconds": 3601})),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("policy_max_overlap")),
        "{v}"
    );
    gw.revoke(&id).await;
    let (status, v) = admin(
        &gw,
        "POST",
        &format!("/admin/v1/tokens/{id}/rotate"),
        Some(json!({"overlapSeconds": 60})),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (409, Some("token_revoked")),
        "{v}"
    );
    let (status, _) = admin(
        &gw,
        "POST",
        "/admin/v1/tokens/tok_nope/rotate",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_rotated_token_found_through_the_store_knows_both_secrets() {
    // A gateway restarted on the same store after a rotation: nothing in memory but the store.
    let sim = Sim::example("sim-dc.toml", "");
    let mut first = gateway(&sim, "");
    let (id, old) = first.create_token(token_request("svc-reports")).await;
    let (status, v) = admin(
        &first,
        "POST",
        &format!("/admin/v1/tokens/{id}/rotate"),
        Some(json!({"overlapSeconds": 600})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let new = v["secret"].as_str().unwrap().to_string();
    first.shut_down();
    let dir = std::mem::replace(&mut first.dir, tempfile::tempdir().unwrap());
    let config = dir.path().join("gateway.toml");
    let (_, env) = static_identity();
    let second = Gateway::spawn(dir, config, first.store.clone(), &env);
    assert_eq!(call(&second, "GET", "/rest/api/space", &old).await.0, 200);
    assert_eq!(call(&second, "GET", "/rest/api/space", &new).await.0, 200);
}

#[tokio::test]
async fn a_daily_quota_refuses_the_next_request_until_midnight_utc() {
    let sim = Sim::example("sim-dc.toml", "");
    let gw = gateway(&sim, "");
    let (id, secret) = gw
        .create_token(json!({"label": "quota", "user": "svc-reports", "requestsPerDay": 3}))
        .await;
    assert_eq!(gw.token(&id).await["requestsPerDay"], 3);
    for _ in 0..3 {
        assert_eq!(call(&gw, "GET", "/rest/api/space", &secret).await.0, 200);
    }
    let (status, code, retry) = call(&gw, "GET", "/rest/api/space", &secret).await;
    let now = now_ms();
    assert_eq!((status, code.as_str()), (429, "quota_exceeded"));
    let to_midnight = ((now.div_euclid(DAY_MS) + 1) * DAY_MS - now) / 1000;
    let retry = retry.expect("Retry-After") as i64;
    assert!(
        (to_midnight - 5..=to_midnight + 5).contains(&retry),
        "{retry} vs {to_midnight}"
    );
    // Refused requests don't count as uses; a rate limit beside it is its own.
    assert_eq!(gw.token(&id).await["useCount"], 3);
    let (_, both) = gw
        .create_token(json!({"label": "both", "user": "svc-reports", "requestsPerDay": 100, "rateLimitPerMinute": 1}))
        .await;
    assert_eq!(call(&gw, "GET", "/rest/api/space", &both).await.0, 200);
    assert_eq!(
        call(&gw, "GET", "/rest/api/space", &both).await.1,
        "rate_limited"
    );
}

#[tokio::test]
async fn a_quota_survives_a_restart() {
    let sim = Sim::example("sim-dc.toml", "");
    let mut first = gateway(&sim, "");
    let (_, secret) = first
        .create_token(json!({"label": "quota", "user": "svc-reports", "requestsPerDay": 2}))
        .await;
    for _ in 0..2 {
        assert_eq!(call(&first, "GET", "/rest/api/space", &secret).await.0, 200);
    }
    first.shut_down();
    let dir = std::mem::replace(&mut first.dir, tempfile::tempdir().unwrap());
    let config = dir.path().join("gateway.toml");
    let (_, env) = static_identity();
    let second = Gateway::spawn(dir, config, first.store.clone(), &env);
    assert_eq!(
        call(&second, "GET", "/rest/api/space", &secret).await.1,
        "quota_exceeded"
    );
}

#[tokio::test]
async fn replicas_share_rotations_and_quotas() {
    let Some(url) = fresh_postgres_url().await else {
        return;
    };
    let sim = Sim::example("sim-dc.toml", "");
    let (identity, env) = static_identity();
    for (k, v) in env {
        std::env::set_var(k, v);
    }
    let a = Gateway::start_with_store(&sim, identity, &url);
    let b = Gateway::start_with_store(&sim, identity, &url);
    let (id, old) = a.create_token(token_request("svc-reports")).await;
    assert_eq!(
        call(&b, "GET", "/rest/api/space", &old).await.0,
        200,
        "B caches the token"
    );

    // Rotated on A without overlap: B learns it within its poll and refuses the old secret.
    let (status, v) = admin(
        &a,
        "POST",
        &format!("/admin/v1/tokens/{id}/rotate"),
        Some(json!({"overlapSeconds": 0})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let new = v["secret"].as_str().unwrap().to_string();
    assert_eq!(
        call(&b, "GET", "/rest/api/space", &new).await.0,
        200,
        "through the store"
    );
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let (status, code, _) = call(&b, "GET", "/rest/api/space", &old).await;
        if code == "token_rotated" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B still answers {status} {code} to the old secret"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A quota of 4 used up on A: B refuses once it has read the count.
    let (_, quota) = a
        .create_token(json!({"label": "quota", "user": "svc-reports", "requestsPerDay": 4}))
        .await;
    for _ in 0..4 {
        assert_eq!(call(&a, "GET", "/rest/api/space", &quota).await.0, 200);
    }
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (status, code, _) = call(&b, "GET", "/rest/api/space", &quota).await;
        if code == "quota_exceeded" {
            break;
        }
        // Each admitted request on B counts too: at most a poll's worth over the quota.
        assert_eq!(status, 200);
        assert!(
            Instant::now() < deadline,
            "B never refused the used-up quota"
        );
    }
}

#[test]
fn check_config_names_every_policy_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(
        &path,
        "[policy]\nmax_lifetime_days = 30\ndefault_expiry_days = 90\nmax_rotation_overlap_hours = 100000\n[upstream]\nurl = \"http://127.0.0.1:1\"\n[upstream.identity]\nmode = \"static\"\npat = \"x\"\n",
    )
    .unwrap();
    let err = cfl_gateway::config::GatewayConfig::load(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("default_expiry_days = 90 is longer than policy.max_lifetime_days = 30"),
        "{err}"
    );
    let config = cfl_gateway::config_check::read(&path).unwrap();
    let problems: Vec<String> = cfl_gateway::config_check::check(&config, &|_| None)
        .iter()
        .map(|p| p.to_string())
        .collect();
    let policy: Vec<&String> = problems.iter().filter(|p| p.contains("[policy]")).collect();
    assert_eq!(policy.len(), 2, "{problems:?}");
    assert!(
        policy[1].contains("max_rotation_overlap_hours = 100000"),
        "{problems:?}"
    );
    assert!(
        !problems
            .iter()
            .any(|p| !p.contains("[policy]") && p.contains("default_expiry_days")),
        "reported once: {problems:?}"
    );
}
