//! Admins signing in with an OpenID Connect provider (`[admin.oidc]`): the simulator plays the
//! provider (`[oidc]` in examples/sim-dc.toml), the gateway and the simulator run in-process on
//! loopback, and every step goes over HTTP as a browser or `cfl gateway login` would.

mod common;
use common::*;
use serde_json::{json, Value};

const TENANT: &str = "7d3e4b2a-1c5f-4e8d-9a6b-0f2c4d6e8a1b";
const SECRET_ENV: &str = "CFL_TEST_OIDC_CLIENT_SECRET";
const ADMINS: &str = "3f2b6c1e-9d4a-4e7b-8c5d-1a2b3c4d5e01";
const TOKEN_MANAGERS: &str = "3f2b6c1e-9d4a-4e7b-8c5d-1a2b3c4d5e02";
const AUDITORS: &str = "3f2b6c1e-9d4a-4e7b-8c5d-1a2b3c4d5e03";

struct Setup {
    sim: Sim,
    gw: Gateway,
}

impl Setup {
    /// The simulator (its demo client registered for this gateway's callback) and the gateway,
    /// each demo group given its role.
    fn start() -> Setup {
        Setup::with_roles(&format!(
            "admin = [\"{ADMINS}\"]\ntoken_manager = [\"{TOKEN_MANAGERS}\"]\nauditor = [\"{AUDITORS}\"]"
        ))
    }

    /// Like [`Setup::start`] with `roles` as the body of `[admin.oidc.roles]`.
    fn with_roles(roles: &str) -> Setup {
        // A free port first: the provider compares redirect URIs exactly.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let callback = format!("http://127.0.0.1:{port}/admin/oidc/callback");
        let sim_config = read_example("sim-dc.toml").replace(
            "redirect_uris = [\"http://127.0.0.1:8080/admin/oidc/callback\", \"http://localhost:8080/admin/oidc/callback\"]",
            &format!("redirect_uris = [{callback:?}]"),
        );
        assert!(
            sim_config.contains(&callback),
            "the example's client changed"
        );
        let sim = Sim::start(&sim_config);
        let extra = format!(
            r#"[admin.oidc]
issuer = "{}/{TENANT}/v2.0"
client_id = "cfl-gateway-demo"
client_secret_env = "{SECRET_ENV}"
provider_name = "Simulated Entra ID"
token_manager_users = "svc-.*"
[admin.oidc.roles]
{roles}
"#,
            sim.base_url
        );
        let gw = Gateway::start_listening(
            &sim,
            std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            OAUTH1_IDENTITY,
            &extra,
            &[(SECRET_ENV, "cfl-gateway-demo-secret")],
        );
        Setup { sim, gw }
    }

    /// Arms a deliberately faulty ID token at the provider.
    async fn arm(&self, fault: &str) {
        let r = http()
            .post(self.sim.url("/__sim/oidc/faults"))
            .json(&json!({"fault": fault}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
    }

    /// Follows the sign-in from the gateway through the provider's login form; the callback URL
    /// the provider sends the browser back to.
    async fn to_callback(&self, login_query: &str, user: &str, password: &str) -> String {
        let r = http()
            .get(self.gw.url(&format!("/admin/oidc/login?{login_query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "{:?}", r.text().await);
        let authorize = location(&r);
        let url = reqwest::Url::parse(&authorize).unwrap();
        assert!(authorize.starts_with(&self.sim.base_url), "{authorize}");
        let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
        assert!(
            get("state").is_some() && get("nonce").is_some() && get("code_challenge").is_some()
        );
        // The provider's login page, then its form posted back as a browser would.
        let page = http().get(&authorize).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("name=\"password\""));
        let mut form = params.clone();
        form.push(("username".into(), user.into()));
        form.push(("password".into(), password.into()));
        let mut action = url.clone();
        action.set_query(None);
        let r = http().post(action).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 302, "{:?}", r.text().await);
        let callback = location(&r);
        assert!(
            callback.starts_with(&self.gw.url("/admin/oidc/callback?")),
            "{callback}"
        );
        callback
    }

    /// A full browser sign-in: the session cookie's value.
    async fn sign_in(&self, user: &str, password: &str) -> String {
        let callback = self.to_callback("return_to=/admin/", user, password).await;
        let r = http().get(&callback).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r
            .headers()
            .get("set-cookie")
            .expect("a session cookie")
            .to_str()
            .unwrap()
            .to_string();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28800"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains("http-equiv=\"refresh\" content=\"0;url=/admin/\""),
            "{body}"
        );
        cookie
            .split(';')
            .next()
            .unwrap()
            .trim()
            .strip_prefix("cfl_admin_session=")
            .unwrap()
            .to_string()
    }

    /// A sign-in whose ID token is refused: the callback's JSON error.
    async fn refused_sign_in(&self, fault: &str) -> Value {
        self.arm(fault).await;
        self.refused_as("ada@example.com", "ada-demo").await
    }

    /// A sign-in the gateway refuses: the callback's JSON error, with its status.
    async fn refused_as(&self, user: &str, password: &str) -> Value {
        let callback = self.to_callback("return_to=/admin/", user, password).await;
        let r = http()
            .get(&callback)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("set-cookie").is_none());
        let status = r.status().as_u16();
        let mut body: Value = r.json().await.unwrap();
        body["status"] = status.into();
        body
    }

    fn origin(&self) -> String {
        self.gw.base_url.clone()
    }

    /// The signed-in admin's view of the session (and its CSRF token).
    async fn session(&self, cookie: &str) -> Value {
        let r = http()
            .get(self.gw.url("/admin/v1/session"))
            .header("cookie", format!("cfl_admin_session={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// A state-changing request as the admin page sends it: cookie, CSRF token, own origin.
    fn page_request(
        &self,
        method: reqwest::Method,
        path: &str,
        cookie: &str,
        csrf: &str,
    ) -> reqwest::RequestBuilder {
        http()
            .request(method, self.gw.url(path))
            .header("cookie", format!("cfl_admin_session={cookie}"))
            .header("x-csrf-token", csrf)
            .header("origin", self.origin())
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn an_admin_signs_in_through_the_provider_and_the_session_works() {
    let s = Setup::start();
    let info: Value = http()
        .get(s.gw.url("/admin/oidc/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        info,
        json!({"enabled": true, "provider": "Simulated Entra ID"})
    );

    let cookie = s.sign_in("ada@example.com", "ada-demo").await;
    let me = s.session(&cookie).await;
    assert_eq!(me["via"], "oidc");
    assert_eq!(me["name"], "Ada Admin");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["role"], "admin");
    assert_eq!(
        me["permissions"],
        json!(["tokens:read", "tokens:write", "audit:read", "admin"])
    );
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    assert!(me["expires_at"].as_i64().unwrap() > 0);

    let r = s
        .page_request(reqwest::Method::POST, "/admin/v1/tokens", &cookie, &csrf)
        .json(&token_request("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);

    // The audit log names the person and the role, and records the sign-in.
    let records = s.gw.audit("limit=20").await;
    let created = records
        .iter()
        .find(|r| r["path"] == "token.create")
        .expect("token.create audited");
    assert_eq!(created["actor"], "Ada Admin <ada@example.com>", "{created}");
    let reason = created["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("admin oidc:") && reason.ends_with("role admin"),
        "{reason}"
    );
    let sign_in = records
        .iter()
        .find(|r| r["path"] == "session.sign_in")
        .expect("sign-in audited");
    assert_eq!(sign_in["decision"], "allow");
    assert_eq!(sign_in["actor"], "Ada Admin <ada@example.com>");

    // Signing out ends the session for good.
    let r = s
        .page_request(reqwest::Method::DELETE, "/admin/v1/session", &cookie, &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let r = http()
        .get(s.gw.url("/admin/v1/session"))
        .header("cookie", format!("cfl_admin_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let records = s.gw.audit("limit=5").await;
    assert!(
        records
            .iter()
            .any(|r| r["path"] == "session.sign_out" && r["actor"] == "Ada Admin <ada@example.com>"),
        "{records:?}"
    );
}

#[tokio::test]
async fn each_id_token_check_refuses_on_its_own() {
    let s = Setup::start();
    for (fault, code) in [
        ("bad_signature", "id_token_bad_signature"),
        ("wrong_iss", "id_token_wrong_iss"),
        ("wrong_aud", "id_token_wrong_aud"),
        ("expired", "id_token_expired"),
        ("wrong_nonce", "id_token_wrong_nonce"),
        ("unknown_kid", "id_token_unknown_kid"),
    ] {
        let body = s.refused_sign_in(fault).await;
        assert_eq!(body["error"], code, "{fault}: {body}");
        assert_eq!(body["status"], 401, "{fault}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(
            !message.contains("eyJ"),
            "no token in the message: {message}"
        );
    }
    // Each failure is audited with its reason; then an honest token signs in again.
    let records = s.gw.audit("limit=50").await;
    let failed: Vec<&str> = records
        .iter()
        .filter(|r| r["path"] == "session.sign_in" && r["decision"] == "deny")
        .filter_map(|r| r["reason"].as_str())
        .collect();
    for code in [
        "id_token_bad_signature",
        "id_token_wrong_nonce",
        "id_token_unknown_kid",
    ] {
        assert!(failed.contains(&code), "{code} in {failed:?}");
    }
    s.sign_in("ada@example.com", "ada-demo").await;
}

#[tokio::test]
async fn a_state_works_once() {
    let s = Setup::start();
    let callback = s
        .to_callback("return_to=/admin/", "ada@example.com", "ada-demo")
        .await;
    let first = http().get(&callback).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let again = http()
        .get(&callback)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "state_unknown", "{body}");
    // And the browser sees a page, not JSON.
    let page = http().get(&callback).send().await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("state_unknown"));
}

#[tokio::test]
async fn a_rotated_key_is_fetched_by_its_kid() {
    let s = Setup::start();
    s.sign_in("ada@example.com", "ada-demo").await;
    let rotated: Value = http()
        .post(s.sim.url("/__sim/oidc/rotate"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(rotated["kid"].is_string());
    let cookie = s.sign_in("ada@example.com", "ada-demo").await;
    assert_eq!(s.session(&cookie).await["role"], "admin");
}

#[tokio::test]
async fn cookie_requests_need_the_csrf_token_and_the_own_origin() {
    let s = Setup::start();
    let cookie = s.sign_in("ada@example.com", "ada-demo").await;
    let csrf = s.session(&cookie).await["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let post = || {
        http()
            .post(s.gw.url("/admin/v1/tokens"))
            .header("cookie", format!("cfl_admin_session={cookie}"))
            .json(&token_request("alice"))
    };
    let no_token = post().header("origin", s.origin()).send().await.unwrap();
    assert_eq!(no_token.status(), 403);
    assert_eq!(no_token.json::<Value>().await.unwrap()["error"], "csrf");
    let wrong_token = post()
        .header("origin", s.origin())
        .header("x-csrf-token", "not-it")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), 403);
    let other_origin = post()
        .header("origin", "http://evil.example")
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(other_origin.status(), 403);
    assert_eq!(other_origin.json::<Value>().await.unwrap()["error"], "csrf");
    let no_origin = post().header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(no_origin.status(), 403);
    let both = post()
        .header("origin", s.origin())
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status(), 201, "{:?}", both.text().await);
    // Bearer requests carry no ambient credential: no CSRF token needed.
    let bearer = http()
        .post(s.gw.url("/admin/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&token_request("bob"))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 201);
}

#[tokio::test]
async fn roles_limit_what_each_admin_may_do() {
    let s = Setup::start();
    // The auditor reads the audit log and tokens, and may not create one.
    let auditor = s.sign_in("aud@example.com", "aud-demo").await;
    let me = s.session(&auditor).await;
    assert_eq!(me["role"], "auditor");
    assert_eq!(me["permissions"], json!(["tokens:read", "audit:read"]));
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let r = s
        .page_request(reqwest::Method::POST, "/admin/v1/tokens", &auditor, &csrf)
        .json(&token_request("svc-reports"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "forbidden_by_role");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("role auditor may not"),
        "{body}"
    );
    for path in [
        "/admin/v1/audit",
        "/admin/v1/audit/verify",
        "/admin/v1/tokens",
    ] {
        let r = http()
            .get(s.gw.url(path))
            .header("cookie", format!("cfl_admin_session={auditor}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }

    // The token-manager manages tokens of the users its pattern allows, and no admin tokens.
    let (other_id, _) = s.gw.create_token(token_request("alice")).await;
    let tom = s.sign_in("tom@example.com", "tom-demo").await;
    let me = s.session(&tom).await;
    assert_eq!(me["role"], "token-manager");
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let create = |user: &str| {
        s.page_request(reqwest::Method::POST, "/admin/v1/tokens", &tom, &csrf)
            .json(&token_request(user))
    };
    let r = create("svc-reports").send().await.unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = create("alice").send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "forbidden_by_role"
    );
    let r = s
        .page_request(
            reqwest::Method::DELETE,
            &format!("/admin/v1/tokens/{other_id}"),
            &tom,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let listed: Value = http()
        .get(s.gw.url("/admin/v1/tokens"))
        .header("cookie", format!("cfl_admin_session={tom}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let users: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["user"].as_str())
        .collect();
    assert_eq!(users, ["svc-reports"], "{listed}");
    let r = s
        .page_request(
            reqwest::Method::DELETE,
            &format!("/admin/v1/tokens/{id}"),
            &tom,
            &csrf,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s
        .page_request(reqwest::Method::POST, "/admin/v1/admin-tokens", &tom, &csrf)
        .json(&json!({"label": "mine", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http()
        .get(s.gw.url("/admin/v1/audit"))
        .header("cookie", format!("cfl_admin_session={tom}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The audit log says who did what, with which role.
    let records = s.gw.audit("limit=50").await;
    let revoked = records
        .iter()
        .find(|r| r["path"] == "token.revoke")
        .expect("revocation audited");
    assert_eq!(revoked["actor"], "Tom Tokenmanager <tom@example.com>");
    assert!(revoked["reason"]
        .as_str()
        .unwrap()
        .ends_with("role token-manager"));
    assert!(records.iter().any(|r| r["decision"] == "deny"
        && r["status"] == 403
        && r["actor"] == "Audrey Auditor <aud@example.com>"));
}

#[tokio::test]
async fn admin_tokens_have_roles() {
    let s = Setup::start();
    let r = http()
        .post(s.gw.url("/admin/v1/admin-tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"label": "audit reader", "role": "auditor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap();
    let me: Value = http()
        .get(s.gw.url("/admin/v1/session"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["via"], "token");
    assert_eq!(me["role"], "auditor");
    assert_eq!(me["csrf_token"], Value::Null);
    let r = http()
        .post(s.gw.url("/admin/v1/tokens"))
        .bearer_auth(secret)
        .json(&token_request("alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The bootstrap token is an admin.
    let me: Value = http()
        .get(s.gw.url("/admin/v1/session"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "admin");
    let id = created["id"].as_str().unwrap();
    let r = http()
        .delete(s.gw.url(&format!("/admin/v1/admin-tokens/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http()
        .get(s.gw.url("/admin/v1/session"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn the_cli_signs_in_through_its_loopback_redirect() {
    use base64::Engine;
    use sha2::Digest;
    let s = Setup::start();
    let verifier = "a-cli-verifier-of-enough-length-0123456789abcdef";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let query = format!(
        "cli_redirect=http%3A%2F%2F127.0.0.1%3A9%2Fcallback&cli_state=cli-state-1&cli_challenge={challenge}"
    );
    let callback = s.to_callback(&query, "tom@example.com", "tom-demo").await;
    let r = http().get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert!(r.headers().get("set-cookie").is_none());
    let back = reqwest::Url::parse(&location(&r)).unwrap();
    assert_eq!(back.host_str(), Some("127.0.0.1"));
    assert_eq!(back.path(), "/callback");
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert!(
        pairs.contains(&("state".into(), "cli-state-1".into())),
        "{pairs:?}"
    );
    let code = pairs.iter().find(|(k, _)| k == "code").unwrap().1.clone();

    let exchange = |verifier: &str| {
        http()
            .post(s.gw.url("/admin/oidc/cli/token"))
            .json(&json!({"code": code, "code_verifier": verifier}))
            .send()
    };
    let wrong = exchange("another-verifier").await.unwrap();
    assert_eq!(wrong.status(), 400);
    // A wrong verifier used the code up.
    let after = exchange(verifier).await.unwrap();
    assert_eq!(after.status(), 400);
    assert_eq!(
        after.json::<Value>().await.unwrap()["error"],
        "invalid_code"
    );

    // Again, right this time.
    let callback = s.to_callback(&query, "tom@example.com", "tom-demo").await;
    let r = http().get(&callback).send().await.unwrap();
    let back = reqwest::Url::parse(&location(&r)).unwrap();
    let code = back
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let r = http()
        .post(s.gw.url("/admin/oidc/cli/token"))
        .json(&json!({"code": code, "code_verifier": verifier}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["role"], "token-manager");
    assert_eq!(got["name"], "Tom Tokenmanager");
    let session = got["session"].as_str().unwrap();
    assert!(got["expires_at"].as_i64().unwrap() > 0);
    // The session is a bearer credential on the whole admin API, without CSRF.
    let r = http()
        .post(s.gw.url("/admin/v1/tokens"))
        .bearer_auth(session)
        .json(&token_request("svc-ci"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http()
        .delete(s.gw.url("/admin/v1/session"))
        .bearer_auth(session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http()
        .get(s.gw.url("/admin/v1/session"))
        .bearer_auth(session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn bad_login_requests_are_refused_before_the_provider() {
    let s = Setup::start();
    for query in [
        "return_to=https://evil.example/",
        "return_to=//evil.example/",
        "cli_redirect=http%3A%2F%2Fevil.example%2Fcb&cli_state=s&cli_challenge=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "cli_redirect=http%3A%2F%2F127.0.0.1%3A9%2Fcb&cli_state=s",
    ] {
        let r = http()
            .get(s.gw.url(&format!("/admin/oidc/login?{query}")))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{query}");
    }
    // A callback with a state this gateway never issued goes nowhere.
    let r = http()
        .get(s.gw.url("/admin/oidc/callback?error=access_denied&state=nope"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn a_user_in_no_mapped_group_is_refused_and_that_is_audited() {
    // Group names, not ids, map to nothing: the provider sends ids (as Entra ID does).
    let s = Setup::with_roles(&format!(
        "admin = [\"{ADMINS}\"]\nauditor = [\"cfl-auditors\"]"
    ));
    let body = s.refused_as("aud@example.com", "aud-demo").await;
    assert_eq!(body["error"], "no_role", "{body}");
    assert_eq!(body["status"], 403);
    assert!(
        body["message"].as_str().unwrap().contains("Audrey Auditor"),
        "{body}"
    );
    let records = s.gw.audit("limit=5").await;
    assert!(
        records.iter().any(|r| r["path"] == "session.sign_in"
            && r["decision"] == "deny"
            && r["reason"] == "no_role"),
        "{records:?}"
    );
}
