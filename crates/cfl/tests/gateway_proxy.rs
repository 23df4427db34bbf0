//! `cfl serve` end to end: real gateway and simulator processes on loopback.

mod common;
use common::gateway::*;
use common::*;
use serde_json::{json, Value};

fn dc_sim() -> Sim {
    Sim::example("sim-dc.toml", "")
}

fn static_gateway(sim: &Sim) -> Gateway {
    let (identity, env) = static_identity();
    Gateway::start(sim, identity, "", &env)
}

async fn get(gw: &Gateway, path: &str, auth: &str) -> (u16, Value) {
    let r = http()
        .get(gw.url(path))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn forwards_with_the_upstream_identity_and_never_the_gateway_token() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let (_, secret) = gw.create_token(token_request("svc-reports")).await;
    assert!(secret.starts_with("cfl_"));

    let (status, me) = get(
        &gw,
        "/rest/api/user/current",
        &basic("svc-reports", &secret),
    )
    .await;
    assert_eq!(status, 200, "{me}");
    // The simulator saw the gateway's credential (alice's PAT), not the gateway token: had the
    // token been forwarded, Confluence would have answered 401.
    assert_eq!(me["username"], "alice");
    let (status, me) = get(&gw, "/rest/api/user/current", &format!("Bearer {secret}")).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("alice")));
    // Basic USER may differ in case, like Confluence usernames.
    assert_eq!(
        get(
            &gw,
            "/rest/api/user/current",
            &basic("SVC-Reports", &secret)
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn every_refusal_says_which() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let (id, secret) = gw.create_token(token_request("svc-reports")).await;
    let path = "/rest/api/user/current";
    let code = |v: &Value| v["error"].as_str().unwrap_or("").to_string();

    let r = http().get(gw.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("Basic"));
    assert_eq!(code(&r.json().await.unwrap()), "missing_token");

    let (s, v) = get(&gw, path, "Basic !!!").await;
    assert_eq!((s, code(&v).as_str()), (401, "malformed_credentials"));
    let (s, v) = get(
        &gw,
        path,
        "Bearer cfl_0000000000000000000000000000000000000000",
    )
    .await;
    assert_eq!((s, code(&v).as_str()), (401, "unknown_token"));
    let (s, v) = get(&gw, path, &basic("alice", &secret)).await;
    assert_eq!((s, code(&v).as_str()), (401, "wrong_user"));
    let (s, v) = get(&gw, "/rest/api/%2e%2e%2f..", &basic("svc-reports", &secret)).await;
    assert_eq!((s, code(&v).as_str()), (400, "path_refused"));

    // Revocation takes effect on the very next request.
    assert_eq!(get(&gw, path, &basic("svc-reports", &secret)).await.0, 200);
    gw.revoke(&id).await;
    let (s, v) = get(&gw, path, &basic("svc-reports", &secret)).await;
    assert_eq!((s, code(&v).as_str()), (401, "token_revoked"));

    // IP allowlist: loopback is not in 10.0.0.0/8.
    let (_, fenced) = gw
        .create_token(json!({"label": "fenced", "user": "svc-reports", "ipAllowlist": ["10.0.0.0/8", "2001:db8::/32"]}))
        .await;
    let (s, v) = get(&gw, path, &basic("svc-reports", &fenced)).await;
    assert_eq!((s, code(&v).as_str()), (403, "ip_not_allowed"));
    let (_, local) = gw
        .create_token(
            json!({"label": "local", "user": "svc-reports", "ipAllowlist": ["127.0.0.1", "::1"]}),
        )
        .await;
    assert_eq!(get(&gw, path, &basic("svc-reports", &local)).await.0, 200);

    // Expiry.
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 1500;
    let (_, short) = gw
        .create_token(json!({"label": "short", "user": "svc-reports", "expiresAt": soon}))
        .await;
    assert_eq!(get(&gw, path, &basic("svc-reports", &short)).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    let (s, v) = get(&gw, path, &basic("svc-reports", &short)).await;
    assert_eq!((s, code(&v).as_str()), (401, "token_expired"));

    // Per-token rate limit.
    let (_, limited) = gw
        .create_token(json!({"label": "slow", "user": "svc-reports", "rateLimitPerMinute": 2}))
        .await;
    for _ in 0..2 {
        assert_eq!(get(&gw, path, &basic("svc-reports", &limited)).await.0, 200);
    }
    let r = http()
        .get(gw.url(path))
        .header("authorization", basic("svc-reports", &limited))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn restrictions_check_method_path_query_and_json_body() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let (_, secret) = gw
        .create_token(json!({
            "label": "narrow", "user": "svc-reports",
            "restrictions": [
                "[get]/rest/api/user/current",
                "[get]/rest/api/user[QueryParam::username==alice|admin]",
                "[post]/rest/api/content[JsonData::space.key==DEV]"
            ]
        }))
        .await;
    let auth = basic("svc-reports", &secret);
    let refused = |s: u16, v: &Value| s == 403 && v["error"] == "restricted";

    assert_eq!(get(&gw, "/rest/api/user/current", &auth).await.0, 200);
    assert_eq!(get(&gw, "/rest//api/./user/current", &auth).await.0, 200);
    assert_eq!(
        get(&gw, "/rest/api/user?username=alice", &auth).await.0,
        200
    );
    let (s, v) = get(&gw, "/rest/api/user?username=svc-reports", &auth).await;
    assert!(refused(s, &v), "{s} {v}");
    let (s, v) = get(
        &gw,
        "/rest/api/user?username=alice&username=svc-reports",
        &auth,
    )
    .await;
    assert!(refused(s, &v), "{s} {v}");
    let (s, v) = get(&gw, "/rest/api/user/current/../../space", &auth).await;
    assert!(refused(s, &v), "{s} {v}");

    let post = |body: Value| {
        http()
            .post(gw.url("/rest/api/content"))
            .header("authorization", auth.clone())
            .json(&body)
            .send()
    };
    let r = post(json!({"type": "page", "title": "x", "space": {"key": "DEV"}}))
        .await
        .unwrap();
    assert_ne!(r.status(), 403, "a DEV page may be posted");
    let r = post(json!({"type": "page", "title": "x", "space": {"key": "HR"}}))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "restricted");
}

#[tokio::test]
async fn audit_records_every_request_and_verify_detects_an_edit() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let (id, secret) = gw.create_token(json!({"label": "audited", "user": "svc-reports", "restrictions": ["[get]/rest/api/user/current"]})).await;
    assert_eq!(
        get(
            &gw,
            "/rest/api/user/current",
            &basic("svc-reports", &secret)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        get(&gw, "/rest/api/space", &basic("svc-reports", &secret))
            .await
            .0,
        403
    );
    assert_eq!(
        get(
            &gw,
            "/rest/api/space",
            &basic("svc-reports", "not-a-token-at-all-xxxxx")
        )
        .await
        .0,
        401
    );
    let refused = "/rest/api/%2e%2e%2f..";
    assert_eq!(
        get(&gw, refused, &basic("svc-reports", &secret)).await.0,
        400
    );

    let records = gw.audit(&format!("tokenId={id}&kind=proxy")).await;
    let summary: Vec<(String, String, i64)> = records
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["decision"].as_str().unwrap().to_string(),
                r["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        summary.contains(&("/rest/api/user/current".into(), "allow".into(), 200)),
        "{summary:?}"
    );
    assert!(
        summary.contains(&("/rest/api/space".into(), "deny".into(), 403)),
        "{summary:?}"
    );
    assert!(records
        .iter()
        .all(|r| r["boundUser"] == "svc-reports" && r["clientIp"] == "127.0.0.1"));
    assert!(
        records
            .iter()
            .any(|r| r["decision"] == "allow" && r["reason"] == "rule 1"),
        "{records:?}"
    );
    // A path refused before the token is read is logged as it came.
    let all = gw.audit("kind=proxy&limit=1000").await;
    assert!(
        all.iter()
            .any(|r| r["path"] == refused && r["reason"] == "path_refused" && r["status"] == 400),
        "{all:?}"
    );
    let everything = serde_json::to_string(&gw.audit("limit=1000").await).unwrap();
    assert!(
        !everything.contains(&secret),
        "the audit log must never hold a secret"
    );
    assert!(
        everything.contains("token.create"),
        "admin actions are audited"
    );
    assert!(everything.contains("unknown_token"));

    let verify = |gw: &Gateway| {
        std::process::Command::new(CFL)
            .args(["audit", "verify", "--store", &gw.store])
            .output()
            .unwrap()
    };
    let ok = verify(&gw);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("intact"));

    let store = cfl_gateway::store::Store::open(&gw.store).await.unwrap();
    sqlx_update(
        &store,
        "UPDATE audit SET status = 200 WHERE decision = 'deny' AND path = '/rest/api/space'",
    )
    .await;
    let bad = verify(&gw);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("TAMPERED") && err.contains("altered"), "{err}");
}

async fn sqlx_update(store: &cfl_gateway::store::Store, sql: &'static str) {
    use sqlx::Executor;
    store.pool().execute(sql).await.unwrap();
}

#[tokio::test]
async fn extender_endpoints_accept_extenders_own_payloads() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let admin = basic("admin", ADMIN_TOKEN);
    let c = http();

    let set: Value = c
        .post(gw.url("/rest/extender/1.0/tokenTools/set"))
        .header("authorization", &admin)
        .json(&json!({
            "label": "ansible",
            "daysUntilExpiry": "30",
            "userName": "svc-reports",
            "limitTo": "[get].*/rest/api/user/.*\\n[post].*/rest/api/space/EXTENDER/property.*<br>[get].*/rest/api/space.*"
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["status"], "ok");
    let secret = set["token"].as_str().unwrap().to_string();
    assert_eq!(
        get(
            &gw,
            "/rest/api/user/current",
            &basic("svc-reports", &secret)
        )
        .await
        .0,
        200
    );
    // Counters are flushed to the store in batches; the list adds the unflushed ones.
    let list: Value = c
        .get(gw.url("/rest/extender/1.0/tokenTools/get"))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["status"], "ok");
    let t = list["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "ansible")
        .unwrap()
        .clone();
    assert_eq!(t["user"], "svc-reports");
    assert_eq!(t["counter"], 1);
    assert_eq!(t["limitTo"].as_str().unwrap().split("<br>").count(), 3);
    assert!(t["validUntil"].as_i64().unwrap() > t["dateCreated"].as_i64().unwrap());
    assert!(
        !list.to_string().contains(&secret),
        "secrets are never readable back"
    );

    let del: Value = c
        .delete(gw.url("/rest/extender/1.0/tokenTools/delete"))
        .header("authorization", &admin)
        .json(&json!({"token": secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(del["status"], "ok");
    assert_eq!(
        get(
            &gw,
            "/rest/api/user/current",
            &basic("svc-reports", &secret)
        )
        .await
        .0,
        401
    );

    // Without admin credentials the admin API refuses.
    let r = c
        .get(gw.url("/rest/extender/1.0/tokenTools/get"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(gw.url("/admin/v1/tokens"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn token_cli_creates_lists_and_revokes() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let cfl = |args: &[&str]| {
        std::process::Command::new(CFL)
            .args(args)
            .env("CFL_GATEWAY_URL", &gw.base_url)
            .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
            .output()
            .unwrap()
    };
    let out = cfl(&[
        "token",
        "create",
        "--label",
        "cli",
        "--user",
        "svc-reports",
        "--days",
        "7",
        "--restrict",
        "[get].*",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(secret.starts_with("cfl_"));
    assert_eq!(
        get(
            &gw,
            "/rest/api/user/current",
            &basic("svc-reports", &secret)
        )
        .await
        .0,
        200
    );

    let list = cfl(&["token", "list", "--json"]);
    let tokens: Value = serde_json::from_slice(&list.stdout).unwrap();
    let id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "cli")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let table = String::from_utf8(cfl(&["token", "list"]).stdout).unwrap();
    assert!(
        table.starts_with("ID") && table.contains(&id) && !table.contains(&secret),
        "{table}"
    );

    assert!(cfl(&["token", "revoke", &id]).status.success());
    assert_eq!(
        get(
            &gw,
            "/rest/api/user/current",
            &basic("svc-reports", &secret)
        )
        .await
        .0,
        401
    );

    let bad = cfl(&[
        "token",
        "create",
        "--label",
        "x",
        "--user",
        "u",
        "--ip",
        "300.1.1.1",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("300.1.1.1"));
    let audit = cfl(&["audit", "verify"]);
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
}

/// kill -9 under load: every request that got an answer is in the audit log afterwards.
#[tokio::test]
async fn crash_loses_no_answered_request() {
    // On one thread (`--workers 1`, a single-threaded runtime) and on several.
    for workers in ["1", "2"] {
        crash_under_load(workers).await;
    }
}

async fn crash_under_load(threads: &str) {
    let sim = dc_sim();
    let (identity, [pat]) = static_identity();
    let mut gw = Gateway::start(&sim, identity, "", &[pat, ("CFL_WORKERS", threads)]);
    let (_, secret) = gw.create_token(token_request("svc-reports")).await;
    let auth = basic("svc-reports", &secret);
    let answered = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (url, auth, answered) = (gw.base_url.clone(), auth.clone(), answered.clone());
        workers.push(tokio::spawn(async move {
            let c = http();
            for i in 0..10_000 {
                let path = format!("/rest/api/probe/{w}-{i}");
                match c
                    .get(format!("{url}{path}"))
                    .header("authorization", &auth)
                    .send()
                    .await
                {
                    Ok(r) if r.status().as_u16() < 500 => answered.lock().unwrap().push(path),
                    _ => break,
                }
            }
        }));
    }
    // Let the load run, then kill the gateway without any chance to clean up.
    while answered.lock().unwrap().len() < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    gw.kill_hard();
    for w in workers {
        let _ = w.await;
    }
    let answered = answered.lock().unwrap().clone();
    let store = cfl_gateway::store::Store::open(&gw.store).await.unwrap();
    let mut logged = std::collections::HashSet::new();
    let mut chain = cfl_gateway::audit::Verifier::default();
    let mut after = 0;
    loop {
        let page = store.audit_after(after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            chain.push(r).unwrap();
        }
        logged.extend(page.into_iter().map(|r| r.path));
    }
    let missing: Vec<&String> = answered.iter().filter(|p| !logged.contains(*p)).collect();
    assert!(
        missing.is_empty(),
        "--workers {threads}: {} of {} answered requests missing from the audit log, e.g. {:?}",
        missing.len(),
        answered.len(),
        missing.first()
    );
}

const OAUTH1_IDENTITY: &str =
    "mode = \"oauth1-impersonation\"\nconsumer_key = \"cfl-gateway\"\nprivate_key_file = \"keys/demo-consumer.key.pem\"";

/// Each token acts upstream as its own bound user, through OAuth 1.0a impersonation.
#[tokio::test]
async fn oauth1_impersonation_acts_as_each_bound_user() {
    let sim = dc_sim();
    let gw = Gateway::start(&sim, OAUTH1_IDENTITY, "", &[]);
    let (_, svc) = gw.create_token(token_request("svc-reports")).await;
    let (_, alice) = gw.create_token(token_request("alice")).await;
    let (s, me) = get(&gw, "/rest/api/user/current", &basic("svc-reports", &svc)).await;
    assert_eq!(
        (s, me["username"].as_str()),
        (200, Some("svc-reports")),
        "{me}"
    );
    let (s, me) = get(
        &gw,
        "/rest/api/user/current?expand=status",
        &format!("Bearer {alice}"),
    )
    .await;
    assert_eq!((s, me["username"].as_str()), (200, Some("alice")), "{me}");

    // A client can't pick whom the gateway impersonates.
    for sneaky in [
        "/rest/api/user/current?xoauth_requestor_id=admin",
        "/rest/api/user/current?user_id=admin",
        "/rest/api/user/current?oauth_token=x",
    ] {
        let (s, v) = get(&gw, sneaky, &basic("svc-reports", &svc)).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (400, Some("reserved_parameter")),
            "{sneaky}"
        );
    }
    // Unbound tokens can't work with impersonation: refused at creation.
    let r = http()
        .post(gw.url("/admin/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"label": "anyone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "user_required");
}

/// The README's first command works: `cfl serve --demo` serves a token that acts as the
/// passwordless service account.
#[tokio::test]
async fn demo_serves_a_working_service_account_token() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(CFL)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env_remove("CFL_ADMIN_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let demo: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let base = demo["gateway"].as_str().unwrap();
    let token = demo["token"].as_str().unwrap();
    let r = http()
        .get(format!("{base}/rest/api/user/current"))
        .header("authorization", basic("svc-reports", token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "svc-reports");
    let w = http()
        .post(format!("{base}/rest/api/content"))
        .header("authorization", basic("svc-reports", token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(w.status(), 403, "the demo token is read-only");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let (_, secret) = gw.create_token(token_request("svc-reports")).await;
    assert_eq!(
        get(
            &gw,
            "/rest/api/user/current",
            &basic("svc-reports", &secret)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        get(
            &gw,
            "/rest/api/user/current",
            &basic("svc-reports", "wrong-token-xxxxxxxxxxxxxxx")
        )
        .await
        .0,
        401
    );
    let c = http();
    assert_eq!(
        c.get(gw.url("/healthz")).send().await.unwrap().status(),
        200
    );
    let ready: Value = c
        .get(gw.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready, json!({"store": true, "upstream": true}));
    let metrics = c
        .get(gw.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"cfl_gateway_requests_total{decision="allow",status="200"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"cfl_gateway_requests_total{decision="deny",status="401"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("cfl_gateway_upstream_latency_seconds_count 1"),
        "{metrics}"
    );
    assert!(metrics.contains("cfl_gateway_audit_queue_depth"));
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    // Both proxied requests (and the admin's token creation) were committed, in groups.
    let (records, commits) = (
        counter("cfl_gateway_audit_records_total"),
        counter("cfl_gateway_audit_commits_total"),
    );
    assert!(
        records >= 3 && (1..=records).contains(&commits),
        "{metrics}"
    );
    assert!(
        !metrics.contains(&secret) && !metrics.contains("svc-reports"),
        "metrics carry no tokens or users"
    );

    // Not ready when Confluence is gone.
    drop(sim);
    let r = c.get(gw.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["upstream"], false);
}

fn self_signed(dir: &std::path::Path, cn: &str) -> Vec<u8> {
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
        ])
        .arg(format!("/CN={cn}"))
        // A leaf certificate (webpki refuses a CA certificate used as the server's own).
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (installed by scripts/setup.sh)");
    assert!(status.success());
    std::fs::read(dir.join("cert.pem")).unwrap()
}

fn trusting(cert: &[u8]) -> reqwest::Client {
    let _ = http(); // installs the rustls provider
    reqwest::Client::builder()
        .no_proxy()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert).unwrap())
        .build()
        .unwrap()
}

/// HTTPS with rustls; SIGHUP swaps in a rotated certificate without a restart.
#[tokio::test]
async fn tls_certificate_reloads_on_sighup() {
    let sim = dc_sim();
    let certs = tempfile::tempdir().unwrap();
    let first = self_signed(certs.path(), "cfl-first");
    let (identity, env) = static_identity();
    let tls = format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        certs.path().join("cert.pem"),
        certs.path().join("key.pem")
    );
    let gw = Gateway::start(&sim, identity, &tls, &env);
    assert!(gw.base_url.starts_with("https://"), "{}", gw.base_url);
    let health = |c: reqwest::Client| {
        let url = gw.url("/healthz");
        async move { c.get(url).send().await.map(|r| r.status().as_u16()).ok() }
    };
    assert_eq!(health(trusting(&first)).await, Some(200));

    let second = self_signed(certs.path(), "cfl-second");
    assert_eq!(health(trusting(&second)).await, None, "not yet reloaded");
    let pid = gw.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while health(trusting(&second)).await != Some(200) {
        assert!(
            std::time::Instant::now() < deadline,
            "the rotated certificate was never served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        health(trusting(&first)).await,
        None,
        "the old certificate is gone"
    );
    // The admin API and the proxy both work over TLS, on HTTP/1.1 (the client offers h2 too).
    let r = trusting(&second)
        .post(gw.url("/admin/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&token_request("svc-reports"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let secret = r.json::<Value>().await.unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let r = trusting(&second)
        .get(gw.url("/rest/api/user/current"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.version()),
        (200, reqwest::Version::HTTP_11)
    );
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "alice");
    // Plain HTTP on the HTTPS port fails that connection only.
    let plain = gw.base_url.replacen("https://", "http://", 1) + "/healthz";
    assert!(http().get(plain).send().await.is_err());
    assert_eq!(health(trusting(&second)).await, Some(200));

    // A key file that holds no key, or another certificate's key, stops the start with the
    // reason, before any store is made.
    let other = tempfile::tempdir().unwrap();
    self_signed(other.path(), "cfl-other");
    let start_with_key = |key: std::path::PathBuf| {
        let config = std::fs::read_to_string(gw.dir.path().join("gateway.toml"))
            .unwrap()
            .replace(
                &format!("{:?}", certs.path().join("key.pem")),
                &format!("{key:?}"),
            )
            .replace("gw.sqlite", "never.sqlite");
        let bad_config = certs.path().join("bad.toml");
        std::fs::write(&bad_config, config).unwrap();
        let bad = std::process::Command::new(CFL)
            .args(["serve", "--config"])
            .arg(&bad_config)
            .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(!gw.dir.path().join("never.sqlite").exists());
        String::from_utf8_lossy(&bad.stderr).to_string()
    };
    let stderr = start_with_key(certs.path().join("cert.pem"));
    assert!(
        stderr.contains("cannot set up HTTPS") && stderr.contains("holds no usable private key"),
        "{stderr}"
    );
    let stderr = start_with_key(other.path().join("key.pem"));
    assert!(stderr.contains("don't go together"), "{stderr}");
}

/// Accepts HTTP POSTs on a loopback port and hands their JSON bodies over a channel.
async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let body = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break Some(buf[end + 4..end + 4 + len].to_vec());
                    }
                }
            };
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            if let Some(b) = body {
                let _ = tx.send(serde_json::from_slice(&b).unwrap_or(Value::Null));
            }
        }
    });
    (url, rx)
}

#[tokio::test]
async fn expiry_warnings_go_to_the_webhook_once() {
    let sim = dc_sim();
    let (hook, mut received) = webhook_receiver().await;
    let (identity, env) = static_identity();
    let extra = format!(
        "[expiry_warnings]\ndays_before = 5\ncheck_interval_seconds = 1\nwebhook_url = {hook:?}\n"
    );
    let gw = Gateway::start(&sim, identity, &extra, &env);
    let (soon, _) = gw
        .create_token(json!({"label": "soon", "user": "svc-reports", "daysUntilExpiry": 2}))
        .await;
    let (_later, _) = gw
        .create_token(json!({"label": "later", "user": "svc-reports", "daysUntilExpiry": 30}))
        .await;

    let warning = tokio::time::timeout(std::time::Duration::from_secs(5), received.recv())
        .await
        .expect("a warning within 5 s")
        .unwrap();
    assert_eq!(warning["event"], "token.expiring");
    assert_eq!(warning["token"]["id"], soon.as_str());
    assert_eq!(warning["daysLeft"], 2);
    assert_eq!(warning["token"]["user"], "svc-reports");
    // Sent once: a few more checks pass without another warning (and none for the 30-day token).
    let again = tokio::time::timeout(std::time::Duration::from_millis(2500), received.recv()).await;
    assert!(
        again.is_err(),
        "warned twice or warned about a token far from expiry: {again:?}"
    );
}

/// The PATs the simulator holds for `user`, read as that user through impersonation.
async fn pats_of(sim: &Sim, user: &str) -> Vec<Value> {
    use cfl_auth::oauth1::{with_requestor_id, Consumer, RequestParts, TokenParams};
    let consumer = Consumer::from_pem("cfl-gateway", &demo_private_key()).unwrap();
    let url = with_requestor_id(&sim.url("/rest/pat/latest/tokens"), user).unwrap();
    let auth = consumer
        .authorization_now(&RequestParts::new("GET", &url), TokenParams::TwoLegged)
        .unwrap();
    let v: Value = http()
        .get(&url)
        .header("authorization", auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.as_array()
        .cloned()
        .unwrap_or_else(|| panic!("not a PAT list: {v}"))
}

const PAT_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes, test only

fn minted_identity(extra: &str) -> String {
    format!("mode = \"minted-pat\"\nconsumer_key = \"cfl-gateway\"\nprivate_key_file = \"keys/demo-consumer.key.pem\"\nencryption_key_env = \"CFL_PAT_KEY\"\n{extra}")
}

/// A passwordless account gets a real PAT, minted once by impersonation, sealed at rest, reused.
#[tokio::test]
async fn minted_pat_is_created_once_reused_and_renewed() {
    let sim = dc_sim();
    let gw = Gateway::start(&sim, &minted_identity(""), "", &[("CFL_PAT_KEY", PAT_KEY)]);
    let (_, secret) = gw.create_token(token_request("svc-reports")).await;
    for _ in 0..3 {
        let (s, me) = get(
            &gw,
            "/rest/api/user/current",
            &basic("svc-reports", &secret),
        )
        .await;
        assert_eq!(
            (s, me["username"].as_str()),
            (200, Some("svc-reports")),
            "{me}"
        );
    }
    let pats = pats_of(&sim, "svc-reports").await;
    assert_eq!(pats.len(), 1, "minted once: {pats:?}");
    assert_eq!(pats[0]["name"], "cfl gateway (svc-reports)");

    // Sealed at rest: the stored value is not a token the simulator accepts.
    let store = cfl_gateway::store::Store::open(&gw.store).await.unwrap();
    let sealed: String =
        sqlx::query_scalar("SELECT sealed FROM minted_pats WHERE bound_user = 'svc-reports'")
            .fetch_one(store.pool())
            .await
            .expect("a stored PAT");
    let r = http()
        .get(sim.url("/rest/api/user/current"))
        .bearer_auth(&sealed)
        .send()
        .await
        .unwrap();
    assert_ne!(r.json::<Value>().await.unwrap()["username"], "svc-reports");

    // A restarted gateway (same store and key) reuses the stored PAT instead of minting again.
    let mut gw = gw;
    gw.restart();
    assert_eq!(
        get(
            &gw,
            "/rest/api/user/current",
            &basic("svc-reports", &secret)
        )
        .await
        .0,
        200
    );
    assert_eq!(pats_of(&sim, "svc-reports").await.len(), 1);
    drop(gw);

    // Renewal: a PAT inside the renewal window is replaced, and the old one revoked.
    let renewing = Gateway::start(
        &sim,
        &minted_identity("pat_days = 1\nrenew_before_days = 2"),
        "",
        &[("CFL_PAT_KEY", PAT_KEY)],
    );
    let (_, alice) = renewing.create_token(token_request("alice")).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        assert_eq!(
            get(&renewing, "/rest/api/user/current", &basic("alice", &alice))
                .await
                .1["username"],
            "alice"
        );
        let minted: Vec<Value> = pats_of(&sim, "alice")
            .await
            .into_iter()
            .filter(|p| p["name"] == "cfl gateway (alice)")
            .collect();
        assert_eq!(minted.len(), 1, "the replaced PAT is revoked: {minted:?}");
        ids.push(minted[0]["id"].clone());
    }
    assert_ne!(ids[0], ids[1], "renewed");

    // A bad key is a clear start-up error.
    let bad = std::process::Command::new(CFL)
        .args(["serve", "--config"])
        .arg(renewing.dir.path().join("gateway.toml"))
        .env("CFL_PAT_KEY", "too-short")
        .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("32 bytes"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// `header` identity: the gateway vouches for the bound user with a shared-secret header, as an
/// SSO proxy would; a client can't send those headers itself.
#[tokio::test]
async fn header_identity_acts_as_the_bound_user() {
    let sim = Sim::example(
        "sim-dc.toml",
        "[trusted_header]\nuser_header = \"X-Remote-User\"\nsecret_header = \"X-Proxy-Secret\"\nsecret = \"s3cret-shared-with-the-gateway\"\n",
    );
    let identity = "mode = \"header\"\nuser_header = \"X-Remote-User\"\nsecret_header = \"X-Proxy-Secret\"\nsecret_env = \"CFL_HEADER_SECRET\"";
    let gw = Gateway::start(
        &sim,
        identity,
        "",
        &[("CFL_HEADER_SECRET", "s3cret-shared-with-the-gateway")],
    );
    let (_, secret) = gw.create_token(token_request("svc-reports")).await;
    let (s, me) = get(
        &gw,
        "/rest/api/user/current",
        &basic("svc-reports", &secret),
    )
    .await;
    assert_eq!(
        (s, me["username"].as_str()),
        (200, Some("svc-reports")),
        "{me}"
    );
    // A client-sent user header is dropped: the bound user still wins.
    let r = http()
        .get(gw.url("/rest/api/user/current"))
        .header("authorization", basic("svc-reports", &secret))
        .header("x-remote-user", "admin")
        .header("x-proxy-secret", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["username"], "svc-reports");
    // Straight to the simulator without the secret: refused.
    let direct = http()
        .get(sim.url("/rest/api/user/current"))
        .header("x-remote-user", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 401);
}

/// An upstream that answers every request with its head (as a JSON string), one request per
/// connection: what the gateway sent, header by header.
async fn echo_upstream() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = Value::from(String::from_utf8_lossy(&head).into_owned()).to_string();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

/// The upstream learns who the client is and how it connected from the gateway alone: claims
/// the client made itself, its credentials and its cookies are dropped.
#[tokio::test]
async fn forwarding_headers_name_the_client_and_its_scheme() {
    let upstream = echo_upstream().await;
    let (identity, env) = static_identity();
    let certs = tempfile::tempdir().unwrap();
    let cert = self_signed(certs.path(), "cfl-forwarding");
    let tls = format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        certs.path().join("cert.pem"),
        certs.path().join("key.pem")
    );
    for (extra, client, proto) in [
        ("", http(), "http"),
        (tls.as_str(), trusting(&cert), "https"),
    ] {
        let gw = Gateway::start_at(&upstream, identity, extra, &env);
        let (_, secret) = gw
            .create_token_with(&client, token_request("svc-reports"))
            .await;
        let r = client
            .get(gw.url("/rest/api/space?limit=1"))
            .header("authorization", basic("svc-reports", &secret))
            .header("cookie", "JSESSIONID=client-session")
            .header("x-forwarded-for", "203.0.113.9")
            .header("forwarded", "for=203.0.113.9")
            .header("x-forwarded-proto", "ftp")
            .header("x-request-tag", "kept")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{proto}");
        let head = r.json::<String>().await.unwrap().to_ascii_lowercase();
        let lines: Vec<&str> = head.lines().collect();
        let gateway_host = gw.base_url.split("://").nth(1).unwrap();
        let upstream_host = upstream.trim_start_matches("http://");
        for expected in [
            "get /rest/api/space?limit=1 http/1.1".to_string(),
            format!("host: {upstream_host}"),
            "x-forwarded-for: 127.0.0.1".into(),
            format!("forwarded: for=127.0.0.1;proto={proto}"),
            format!("x-forwarded-proto: {proto}"),
            format!("x-forwarded-host: {gateway_host}"),
            format!("authorization: bearer {}", ALICE_PAT.to_ascii_lowercase()),
            "x-request-tag: kept".into(),
        ] {
            assert!(
                lines.contains(&expected.as_str()),
                "{proto}: no {expected:?} in\n{head}"
            );
        }
        for gone in [
            "203.0.113.9",
            "cookie",
            "jsessionid",
            "ftp",
            &secret.to_ascii_lowercase(),
        ] {
            assert!(
                !head.contains(gone),
                "{proto}: {gone:?} reached the upstream:\n{head}"
            );
        }
    }
}

/// SIGTERM while a request is in flight: it still completes, then the process exits with its
/// audit record and use count written.
#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests_and_flushes() {
    let sim = dc_sim();
    let mut gw = static_gateway(&sim);
    let (id, secret) = gw.create_token(token_request("svc-reports")).await;
    let armed = http()
        .post(sim.url("/__sim/faults"))
        .json(&json!({"latency_ms": 1500}))
        .send()
        .await
        .unwrap();
    assert!(armed.status().is_success());
    let slow = {
        let (url, auth) = (
            gw.url("/rest/api/user/current?slow=1"),
            basic("svc-reports", &secret),
        );
        tokio::spawn(async move {
            http()
                .get(url)
                .header("authorization", auth)
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &gw.child.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert_eq!(
        slow.await.unwrap().unwrap(),
        200,
        "the in-flight request completes"
    );
    let exit = tokio::task::spawn_blocking(move || {
        let status = gw.child.wait().unwrap();
        (status, gw)
    })
    .await
    .unwrap();
    assert!(exit.0.success(), "clean exit: {:?}", exit.0);
    let gw = exit.1;

    let store = cfl_gateway::store::Store::open(&gw.store).await.unwrap();
    let use_count: i64 = sqlx::query_scalar("SELECT use_count FROM tokens WHERE id = $1")
        .bind(&id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(use_count, 1, "the use counter was flushed on shutdown");
    let records = store.audit_after(0, 100).await.unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.path == "/rest/api/user/current" && r.status == 200),
        "the in-flight request was audited"
    );
}

/// A Cloud service account's client credentials: the gateway fetches and renews its own bearer
/// and calls the api.atlassian.com-style base as that account.
#[tokio::test]
async fn client_credentials_identity_fetches_and_renews_its_bearer() {
    let sim = Sim::example("sim-cloud.toml", "[tokens]\naccess_token_seconds = 2\n");
    let gateway_base = sim.startup["gateway_base"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("gw.sqlite").display());
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nstore = {store:?}\n[upstream]\nurl = {gateway_base:?}\nflavor = \"cloud\"\n\
             [upstream.identity]\nmode = \"client-credentials\"\nclient_id = \"svc-ci-client\"\n\
             client_secret_env = \"SVC_CI_SECRET\"\ntoken_url = {:?}\n",
            sim.url("/oauth/token")
        ),
    )
    .unwrap();
    let gw = Gateway::spawn(dir, config, store, &[("SVC_CI_SECRET", "svc-ci-secret")]);
    // Unbound tokens are allowed: the upstream account is fixed.
    let (_, secret) = gw
        .create_token(json!({"label": "ci", "restrictions": ["[get]/rest/api/user/current"]}))
        .await;
    let who = |gw: &Gateway| {
        let (url, auth) = (
            gw.url("/rest/api/user/current"),
            basic("ci-pipeline", &secret),
        );
        async move {
            http()
                .get(url)
                .header("authorization", auth)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(who(&gw).await["displayName"], "CI service account");
    // The 2-second bearer expired meanwhile; the gateway renewed it.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(who(&gw).await["displayName"], "CI service account");

    // A wrong secret is explained, not forwarded.
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("gw.sqlite").display());
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nstore = {store:?}\n[upstream]\nurl = {gateway_base:?}\n[upstream.identity]\n\
             mode = \"client-credentials\"\nclient_id = \"svc-ci-client\"\nclient_secret_env = \"SVC_CI_SECRET\"\ntoken_url = {:?}\n",
            sim.url("/oauth/token")
        ),
    )
    .unwrap();
    let bad = Gateway::spawn(dir, config, store, &[("SVC_CI_SECRET", "wrong")]);
    let (_, t) = bad.create_token(json!({"label": "x"})).await;
    let (s, v) = get(&bad, "/rest/api/user/current", &basic("ci", &t)).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (502, Some("identity_unavailable")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("refused the client credentials"),
        "{v}"
    );
}

/// Extender scripts send a Confluence admin's own credentials: the gateway asks Confluence.
#[tokio::test]
async fn confluence_admins_may_use_the_admin_api_with_their_own_credentials() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let c = http();
    let list = |auth: String| {
        let url = gw.url("/rest/extender/1.0/tokenTools/get");
        let c = c.clone();
        async move {
            c.get(url)
                .header("authorization", auth)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        list(basic("admin", "admin")).await,
        200,
        "admin is in confluence-administrators"
    );
    assert_eq!(
        list(basic("alice", "alice-pw")).await,
        401,
        "alice is not an admin"
    );
    assert_eq!(list(basic("admin", "wrong-password")).await, 401);
    // An action by a Confluence admin is audited under their name.
    let set: Value = c
        .post(gw.url("/rest/extender/1.0/tokenTools/set"))
        .header("authorization", basic("admin", "admin"))
        .json(&json!({"label": "by-confluence-admin", "userName": "svc-reports"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["status"], "ok");
    let audit = gw.audit("kind=admin").await;
    assert!(
        audit
            .iter()
            .any(|r| r["actor"] == "admin" && r["path"] == "token.create"),
        "{audit:?}"
    );
}

/// A token's use count never dips while the counts move from memory to the store: the admin API
/// reads both under the lock the flush holds (the web page renders the count it gets once).
#[tokio::test]
async fn use_counts_never_dip_while_they_are_flushed() {
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let (id, secret) = gw.create_token(token_request("svc-reports")).await;
    let auth = basic("svc-reports", &secret);
    let mut uses = 0;
    let started = std::time::Instant::now();
    // Several flushes (one a second) happen while uses are added and the count is read.
    while started.elapsed() < std::time::Duration::from_millis(2500) {
        if uses < 20 {
            assert_eq!(get(&gw, "/rest/api/user/current", &auth).await.0, 200);
            uses += 1;
        }
        let t = gw.token(&id).await;
        assert_eq!(
            t["useCount"],
            uses,
            "after {uses} uses the API said {} ({:?} in)",
            t["useCount"],
            started.elapsed()
        );
    }
}

/// `cfl token create` shows the gateway's refusal of an unknown condition and its warning about
/// a user Confluence doesn't know (the requests themselves: crates/gateway/tests/hardening.rs).
#[tokio::test]
async fn token_cli_relays_the_gateways_refusals_and_warnings() {
    const UNKNOWN_FOO: &str = "unknown condition `Foo` (use QueryParam or JsonData)";
    let sim = dc_sim();
    let gw = static_gateway(&sim);
    let out = std::process::Command::new(CFL)
        .args([
            "token",
            "create",
            "--label",
            "x",
            "--user",
            "svc-reports",
            "--restrict",
            "/rest/api/content[Foo::x==1]",
        ])
        .env("CFL_GATEWAY_URL", &gw.base_url)
        .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(UNKNOWN_FOO), "{stderr}");
    let out = std::process::Command::new(CFL)
        .args(["token", "create", "--label", "x", "--user", "ghost-user"])
        .env("CFL_GATEWAY_URL", &gw.base_url)
        .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: Confluence does not know user ghost-user"),
        "{stderr}"
    );
}
