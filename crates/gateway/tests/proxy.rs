//! The gateway end to end, in-process: the proxy path, identities, the admin APIs, metrics and
//! forwarding headers against the simulator on loopback. What needs the `cfl` process (signals,
//! a crash, the CLI) is in crates/cfl/tests/gateway_proxy.rs.

mod common;
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

    let refusals = [
        (path, "Basic !!!".to_string(), 401, "malformed_credentials"),
        (
            path,
            "Bearer cfl_0000000000000000000000000000000000000000".to_string(),
            401,
            "unknown_token",
        ),
        (path, basic("alice", &secret), 401, "wrong_user"),
        (
            "/rest/api/%2e%2e%2f..",
            basic("svc-reports", &secret),
            400,
            "path_refused",
        ),
    ];
    for (target, authorization, status, expected) in refusals {
        let (s, v) = get(&gw, target, &authorization).await;
        assert_eq!(
            (s, code(&v).as_str()),
            (status, expected),
            "{authorization}"
        );
    }

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
             mode = \"client-credentials\"\nclient_id = \"svc-ci-client\"\nclient_secret_env = \"SVC_CI_SECRET_WRONG\"\ntoken_url = {:?}\n",
            sim.url("/oauth/token")
        ),
    )
    .unwrap();
    let bad = Gateway::spawn(dir, config, store, &[("SVC_CI_SECRET_WRONG", "wrong")]);
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
