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
