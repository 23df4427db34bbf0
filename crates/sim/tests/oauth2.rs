//! OAuth 2.0 in `cfl sim`: Cloud 3LO (authorize, JSON token endpoint, rotating refresh tokens,
//! accessible resources), Cloud client credentials, the DC provider (PKCE S256 and plain,
//! refresh, client credentials) and how the issued bearers are accepted and scoped.

mod common;
use common::*;

use std::collections::HashMap;

use serde_json::{json, Value};

const CLOUD_ID: &str = "0d7c4a8e-1111-4222-8333-944455556666";
const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn cloud(tokens: &str) -> Sim {
    Sim::start(&format!(
        r#"flavor = "cloud"
anonymous_access = true
cloud_id = "{CLOUD_ID}"

[[users]]
name = "alice"
display_name = "Alice"
email = "alice@example.com"
api_tokens = ["classic-alice"]

[[users]]
name = "svc-ci"
display_name = "CI service account"
email = "svc-ci@serviceaccount.atlassian.com"
api_tokens = ["svc-classic"]

[[oauth2_clients]]
kind = "cloud-3lo"
client_id = "app"
client_secret = "app-secret"
redirect_uris = ["{REDIRECT}"]
scopes = ["read:confluence-user", "read:confluence-content.all", "write:confluence-content", "offline_access"]

[[oauth2_clients]]
kind = "cloud-client-credentials"
client_id = "svc-client"
client_secret = "svc-secret"
service_account = "svc-ci"
scopes = ["read:confluence-user", "read:confluence-content.all"]

[tokens]
{tokens}

[seed]
spaces = 1
pages_per_space = 1
"#
    ))
}

fn dc(top: &str, tokens: &str) -> Sim {
    Sim::start(&format!(
        r#"flavor = "dc"
{top}

[[users]]
name = "alice"
display_name = "Alice"
email = "alice@example.com"
password = "alice-pw"

[[users]]
name = "svc-sync"
display_name = "Synced service account"
email = "svc-sync@example.com"

[[oauth2_clients]]
kind = "dc"
client_id = "cli"
client_secret = "cli-secret"
redirect_uris = ["{REDIRECT}"]
scopes = ["READ", "WRITE"]

[[oauth2_clients]]
kind = "dc-client-credentials"
client_id = "svc"
client_secret = "svc-secret"
service_account = "svc-sync"
scopes = ["READ"]

[tokens]
{tokens}

[seed]
spaces = 1
pages_per_space = 1
"#
    ))
}

fn cloud_authorize_params<'a>(scope: &'a str, state: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("audience", "api.atlassian.com"),
        ("client_id", "app"),
        ("scope", scope),
        ("redirect_uri", REDIRECT),
        ("state", state),
        ("response_type", "code"),
        ("prompt", "consent"),
    ]
}

async fn authorize(
    sim: &Sim,
    path: &str,
    params: &[(&str, &str)],
    auth: Option<String>,
) -> reqwest::Response {
    let mut req = http().get(sim.url(path)).query(params);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    req.send().await.unwrap()
}

/// The query of a 302 to the redirect URI.
fn redirected(r: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(r.status(), 302, "expected a redirect");
    let loc = r.headers()["location"].to_str().unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    reqwest::Url::parse(loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

async fn token_json(sim: &Sim, path: &str, body: Value) -> (u16, Value) {
    let r = http().post(sim.url(path)).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn token_form(sim: &Sim, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http().post(sim.url(path)).form(form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn cloud_code(sim: &Sim, scope: &str) -> String {
    let r = authorize(
        sim,
        "/authorize",
        &cloud_authorize_params(scope, "xyz"),
        Some(basic("alice@example.com", "classic-alice")),
    )
    .await;
    let q = redirected(&r);
    assert_eq!(q["state"], "xyz");
    q["code"].clone()
}

fn exchange(code: &str) -> Value {
    json!({"grant_type": "authorization_code", "client_id": "app", "client_secret": "app-secret",
           "code": code, "redirect_uri": REDIRECT})
}

async fn get_status(url: String, auth: &str) -> (u16, Value) {
    let r = http()
        .get(url)
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn gateway(sim: &Sim, path: &str) -> String {
    sim.url(&format!("/ex/confluence/{CLOUD_ID}/wiki{path}"))
}

#[tokio::test]
async fn cloud_3lo_flow_bearer_on_gateway_only_and_rotating_refresh() {
    let sim = cloud("");
    let code = cloud_code(&sim, "read:confluence-user offline_access").await;
    let (status, tok) = token_json(&sim, "/oauth/token", exchange(&code)).await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    assert_eq!(tok["scope"], "read:confluence-user offline_access");
    let access = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let refresh1 = tok["refresh_token"].as_str().unwrap().to_string();

    let (status, me) = get_status(gateway(&sim, "/rest/api/user/current"), &access).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "alice@example.com");
    let (status, _) = get_status(sim.url("/wiki/rest/api/user/current"), &access).await;
    assert_eq!(status, 401, "a bearer is refused on the site URL");

    let (status, sites) = get_status(sim.url("/oauth/token/accessible-resources"), &access).await;
    assert_eq!(status, 200);
    assert_eq!(sites[0]["id"], CLOUD_ID);
    assert_eq!(sites[0]["url"], sim.base_url);
    assert_eq!(sites[0]["scopes"], json!(["read:confluence-user"]));
    let (status, _) = get_status(sim.url("/oauth/token/accessible-resources"), "Bearer nope").await;
    assert_eq!(status, 401);

    let refresh = |rt: &str| json!({"grant_type": "refresh_token", "client_id": "app", "client_secret": "app-secret", "refresh_token": rt});
    let (status, tok2) = token_json(&sim, "/oauth/token", refresh(&refresh1)).await;
    assert_eq!(status, 200, "{tok2}");
    let refresh2 = tok2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh1, refresh2);
    let (status, err) = token_json(&sim, "/oauth/token", refresh(&refresh1)).await;
    assert_eq!(status, 403, "Atlassian answers invalid_grant with 403");
    assert_eq!(err["error"], "invalid_grant");
    let (status, _) = token_json(&sim, "/oauth/token", refresh(&refresh2)).await;
    assert_eq!(status, 200);
    let access2 = format!("Bearer {}", tok2["access_token"].as_str().unwrap());
    let (status, _) = get_status(gateway(&sim, "/rest/api/user/current"), &access2).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn cloud_code_is_single_use_and_bound_to_redirect_uri_and_secret() {
    let sim = cloud("");
    let code = cloud_code(&sim, "read:confluence-user").await;
    let mut wrong_secret = exchange(&code);
    wrong_secret["client_secret"] = "nope".into();
    let (status, err) = token_json(&sim, "/oauth/token", wrong_secret).await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_client");

    let (status, tok) = token_json(&sim, "/oauth/token", exchange(&code)).await;
    assert_eq!(status, 200);
    assert!(
        tok.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let (status, err) = token_json(&sim, "/oauth/token", exchange(&code)).await;
    assert_eq!(status, 403, "Atlassian answers invalid_grant with 403");
    assert_eq!(err["error"], "invalid_grant");

    let code = cloud_code(&sim, "read:confluence-user").await;
    let mut other_redirect = exchange(&code);
    other_redirect["redirect_uri"] = "http://127.0.0.1:9/other".into();
    let (status, err) = token_json(&sim, "/oauth/token", other_redirect).await;
    assert_eq!(status, 403, "Atlassian answers invalid_grant with 403");
    assert_eq!(err["error"], "invalid_grant");
}

#[tokio::test]
async fn cloud_authorize_refusals() {
    let sim = cloud("");
    let alice = || Some(basic("alice@example.com", "classic-alice"));
    // Unregistered redirect URI or client: an error page, never a redirect.
    let mut params = cloud_authorize_params("read:confluence-user", "s");
    params[3] = ("redirect_uri", "http://127.0.0.1:9/callback/evil");
    let r = authorize(&sim, "/authorize", &params, alice()).await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    let mut params = cloud_authorize_params("read:confluence-user", "s");
    params[1] = ("client_id", "unknown");
    let r = authorize(&sim, "/authorize", &params, alice()).await;
    assert_eq!(r.status(), 400);

    let mut params = cloud_authorize_params("read:confluence-user", "s");
    params.remove(0);
    let q = redirected(&authorize(&sim, "/authorize", &params, alice()).await);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "s");

    let params = cloud_authorize_params("manage:confluence-configuration", "s");
    let q = redirected(&authorize(&sim, "/authorize", &params, alice()).await);
    assert_eq!(q["error"], "invalid_scope");

    // Service accounts cannot consent.
    let params = cloud_authorize_params("read:confluence-user", "s");
    let r = authorize(
        &sim,
        "/authorize",
        &params,
        Some(basic("svc-ci@serviceaccount.atlassian.com", "svc-classic")),
    )
    .await;
    let q = redirected(&r);
    assert_eq!(q["error"], "access_denied");
    assert!(!q.contains_key("code"));

    let r = authorize(
        &sim,
        "/authorize",
        &params,
        Some(basic("alice@example.com", "wrong")),
    )
    .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn cloud_authorize_in_a_browser_form() {
    let sim = cloud("");
    let params = cloud_authorize_params("read:confluence-user", "st<>");
    let r = authorize(&sim, "/authorize", &params, None).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = r.text().await.unwrap();
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert!(page.contains(&format!("name=\"redirect_uri\" value=\"{REDIRECT}\"")));
    assert!(page.contains("value=\"st&lt;&gt;\""), "state is escaped");

    let mut form = params.clone();
    form.extend([
        ("username", "alice@example.com"),
        ("password", "classic-alice"),
        ("decision", "approve"),
    ]);
    let r = http()
        .post(sim.url("/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let q = redirected(&r);
    assert_eq!(q["state"], "st<>");
    let (status, _) = token_json(&sim, "/oauth/token", exchange(&q["code"])).await;
    assert_eq!(status, 200);

    let mut bad = params.clone();
    bad.extend([
        ("username", "alice@example.com"),
        ("password", "x"),
        ("decision", "approve"),
    ]);
    let r = http()
        .post(sim.url("/authorize"))
        .form(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("<form"));

    let mut deny = params.clone();
    deny.extend([
        ("username", "alice@example.com"),
        ("password", "classic-alice"),
        ("decision", "deny"),
    ]);
    let r = http()
        .post(sim.url("/authorize"))
        .form(&deny)
        .send()
        .await
        .unwrap();
    assert_eq!(redirected(&r)["error"], "access_denied");
}

#[tokio::test]
async fn cloud_client_credentials_act_as_the_service_account() {
    let sim = cloud("");
    let (status, tok) = token_form(
        &sim,
        "/oauth/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc-client"),
            ("client_secret", "svc-secret"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["expires_in"], 3600);
    assert!(tok.get("refresh_token").is_none());
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let (status, me) = get_status(gateway(&sim, "/rest/api/user/current"), &bearer).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "svc-ci@serviceaccount.atlassian.com");

    // Each client only gets its own grants.
    let (status, err) = token_json(
        &sim,
        "/oauth/token",
        json!({"grant_type": "client_credentials", "client_id": "app", "client_secret": "app-secret"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "unauthorized_client");
    let (status, err) = token_json(
        &sim,
        "/oauth/token",
        json!({"grant_type": "client_credentials", "client_id": "svc-client", "client_secret": "x"}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(err["error"], "invalid_client");
    let (status, err) = token_json(
        &sim,
        "/oauth/token",
        json!({"grant_type": "password", "client_id": "svc-client", "client_secret": "svc-secret"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn cloud_bearer_scopes_are_enforced() {
    let sim = cloud("");
    let (_, tok) = token_json(
        &sim,
        "/oauth/token",
        json!({"grant_type": "client_credentials", "client_id": "svc-client",
               "client_secret": "svc-secret", "scope": "read:confluence-content.all"}),
    )
    .await;
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let (status, body) = get_status(gateway(&sim, "/rest/api/user/current"), &bearer).await;
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Unauthorized; scope does not match");
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let sim = cloud("access_token_seconds = 1");
    let (_, tok) = token_json(
        &sim,
        "/oauth/token",
        json!({"grant_type": "client_credentials", "client_id": "svc-client", "client_secret": "svc-secret"}),
    )
    .await;
    assert_eq!(tok["expires_in"], 1);
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (status, _) = get_status(gateway(&sim, "/rest/api/user/current"), &bearer).await;
    assert_eq!(status, 401);

    // On DC an expired OAuth token is a 401 too, not the anonymous answer of a bad PAT.
    let sim = dc("anonymous_access = true", "access_token_seconds = 1");
    let (_, tok) = token_form(
        &sim,
        "/rest/oauth2/latest/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", "svc-secret"),
        ],
    )
    .await;
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (status, _) = get_status(sim.url("/rest/api/user/current"), &bearer).await;
    assert_eq!(status, 401);
}

async fn dc_code(sim: &Sim, scope: &str, challenge: Option<(&str, &str)>) -> String {
    let mut params = vec![
        ("client_id", "cli"),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", scope),
        ("state", "dc-state"),
    ];
    if let Some((method, c)) = challenge {
        params.extend([("code_challenge", c), ("code_challenge_method", method)]);
    }
    let r = authorize(
        sim,
        "/rest/oauth2/latest/authorize",
        &params,
        Some(basic("alice", "alice-pw")),
    )
    .await;
    redirected(&r)["code"].clone()
}

async fn dc_exchange(sim: &Sim, code: &str, verifier: Option<&str>) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", "cli"),
        ("client_secret", "cli-secret"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    token_form(sim, "/rest/oauth2/latest/token", &form).await
}

#[tokio::test]
async fn dc_pkce_s256_and_plain() {
    let sim = dc("", "");
    let code = dc_code(&sim, "READ", Some(("S256", CHALLENGE))).await;
    let (status, err) = dc_exchange(
        &sim,
        &code,
        Some("wrong-verifier-wrong-verifier-wrong-verifier"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_grant");
    // The failed attempt used the code up.
    let (status, _) = dc_exchange(&sim, &code, Some(VERIFIER)).await;
    assert_eq!(status, 400);

    let code = dc_code(&sim, "READ", Some(("S256", CHALLENGE))).await;
    let (status, _) = dc_exchange(&sim, &code, None).await;
    assert_eq!(status, 400, "a PKCE code needs the verifier");

    let code = dc_code(&sim, "READ", Some(("S256", CHALLENGE))).await;
    let (status, tok) = dc_exchange(&sim, &code, Some(VERIFIER)).await;
    assert_eq!(status, 200, "{tok}");
    assert!(tok["refresh_token"].is_string());
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let (status, me) = get_status(sim.url("/rest/api/user/current"), &bearer).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "alice");

    let code = dc_code(
        &sim,
        "READ",
        Some(("plain", "plain-verifier-0123456789-0123456789-0123")),
    )
    .await;
    let (status, _) = dc_exchange(
        &sim,
        &code,
        Some("plain-verifier-0123456789-0123456789-0123"),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn dc_scopes_read_and_write() {
    let sim = dc("", "");
    let create = |bearer: String| {
        let req = http()
            .post(sim.url("/rest/pat/latest/tokens"))
            .header("authorization", bearer)
            .json(&json!({"name": "via-oauth", "expirationDuration": 1}));
        async move { req.send().await.unwrap() }
    };
    let code = dc_code(&sim, "READ", None).await;
    let (_, tok) = dc_exchange(&sim, &code, None).await;
    let read = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let (status, _) = get_status(sim.url("/rest/pat/latest/tokens"), &read).await;
    assert_eq!(status, 200);
    let r = create(read).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "Unauthorized; scope does not match"
    );

    let code = dc_code(&sim, "WRITE", None).await;
    let (_, tok) = dc_exchange(&sim, &code, None).await;
    let write = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    assert_eq!(create(write).await.status(), 201);

    // A scope the client isn't registered for is refused at authorization.
    let r = authorize(
        &sim,
        "/rest/oauth2/latest/authorize",
        &[
            ("client_id", "cli"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "ADMIN"),
        ],
        Some(basic("alice", "alice-pw")),
    )
    .await;
    assert_eq!(redirected(&r)["error"], "invalid_scope");
}

#[tokio::test]
async fn dc_refresh_rotates_and_client_credentials_act_as_service_account() {
    let sim = dc("", "");
    let code = dc_code(&sim, "READ", None).await;
    let (_, tok) = dc_exchange(&sim, &code, None).await;
    let rt1 = tok["refresh_token"].as_str().unwrap().to_string();
    let refresh = |rt: String| {
        let form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", "cli".into()),
            ("client_secret", "cli-secret".into()),
            ("refresh_token", rt),
        ];
        let req = http()
            .post(sim.url("/rest/oauth2/latest/token"))
            .form(&form);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, tok2) = refresh(rt1.clone()).await;
    assert_eq!(status, 200);
    let (status, err) = refresh(rt1).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_grant");
    let (status, _) = refresh(tok2["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!(status, 200);

    // Client credentials with HTTP Basic client authentication.
    let r = http()
        .post(sim.url("/rest/oauth2/latest/token"))
        .header("authorization", basic("svc", "svc-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tok: Value = r.json().await.unwrap();
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let (status, me) = get_status(sim.url("/rest/api/user/current"), &bearer).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "svc-sync");
    // The ordinary incoming link has no client credentials grant.
    let (status, err) = token_form(
        &sim,
        "/rest/oauth2/latest/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "cli"),
            ("client_secret", "cli-secret"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "unauthorized_client");
}

#[tokio::test]
async fn example_configs_issue_working_tokens() {
    let sim = Sim::example("sim-cloud.toml", "");
    let (status, tok) = token_json(
        &sim,
        "/oauth/token",
        json!({"grant_type": "client_credentials", "client_id": "svc-ci-client", "client_secret": "svc-ci-secret"}),
    )
    .await;
    assert_eq!(status, 200, "{tok}");
    let bearer = format!("Bearer {}", tok["access_token"].as_str().unwrap());
    let gateway_base = sim.startup["gateway_base"].as_str().unwrap().to_string();
    let (status, me) = get_status(format!("{gateway_base}/rest/api/user/current"), &bearer).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], "svc-ci@serviceaccount.atlassian.com");

    let sim = Sim::example("sim-dc.toml", "");
    let r = authorize(
        &sim,
        "/rest/oauth2/latest/authorize",
        &[
            ("client_id", "cfl-cli"),
            ("redirect_uri", "http://127.0.0.1/callback"),
            ("response_type", "code"),
            ("scope", "READ WRITE"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
        Some(basic("alice", "alice-pw")),
    )
    .await;
    assert_eq!(r.status(), 302);
    let loc = reqwest::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let (status, tok) = token_form(
        &sim,
        "/rest/oauth2/latest/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "cfl-cli"),
            ("client_secret", "cfl-cli-secret"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1/callback"),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["scope"], "READ WRITE");
}
