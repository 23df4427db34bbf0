//! Data Center authentication in `cfl sim`: Basic (with the CAPTCHA lock-out), session cookies
//! from Basic and `/dologin.action`, the XSRF rule for cookie writes, and invalid PATs
//! (CONFSERVER-98199).

mod common;
use common::*;

use serde_json::{json, Value};

fn dc(top: &str, tables: &str) -> Sim {
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
display_name = "Synced account"
email = "svc-sync@example.com"
{tables}
[seed]
spaces = 1
pages_per_space = 1
"#
    ))
}

fn current(sim: &Sim) -> reqwest::RequestBuilder {
    http().get(sim.url("/rest/api/user/current"))
}

fn session_cookie(r: &reqwest::Response) -> String {
    let set = r
        .headers()
        .get("set-cookie")
        .expect("set-cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.starts_with("JSESSIONID="), "{set}");
    assert!(
        set.contains("; Path=/") && set.contains("HttpOnly"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

async fn login_form(sim: &Sim, user: &str, password: &str) -> reqwest::Response {
    http()
        .post(sim.url("/dologin.action"))
        .form(&[
            ("os_username", user),
            ("os_password", password),
            ("os_destination", "/rest/api/user/current"),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn basic_login_opens_a_session_the_cookie_then_authenticates() {
    let sim = dc("", "");
    let r = current(&sim)
        .header("authorization", basic("alice", "alice-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = session_cookie(&r);
    let me: Value = current(&sim)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");
    // A made-up cookie is no session: anonymous access is off, so 401.
    let r = current(&sim)
        .header("cookie", "JSESSIONID=0123456789ABCDEF0123456789ABCDEF")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn passwordless_user_can_never_pass_basic() {
    let sim = dc("", "");
    for secret in ["", "anything"] {
        let r = current(&sim)
            .header("authorization", basic("svc-sync", secret))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("set-cookie").is_none());
    }
    let r = login_form(&sim, "svc-sync", "").await;
    assert!(r.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn dologin_sets_a_cookie_and_redirects_to_the_destination() {
    let sim = dc("", "");
    let r = login_form(&sim, "alice", "alice-pw").await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/rest/api/user/current");
    assert_eq!(r.headers()["x-seraph-loginreason"], "OK");
    let cookie = session_cookie(&r);
    let me: Value = current(&sim)
        .header("cookie", format!("other=1; {cookie}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");

    let bad = login_form(&sim, "alice", "nope").await;
    assert_eq!(bad.status(), 200);
    assert_eq!(
        bad.headers()["x-seraph-loginreason"],
        "AUTHENTICATED_FAILED"
    );
    assert!(bad.headers().get("set-cookie").is_none());

    // No open redirect through os_destination.
    let r = http()
        .post(sim.url("/dologin.action"))
        .form(&[
            ("os_username", "alice"),
            ("os_password", "alice-pw"),
            ("os_destination", "//evil.example/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/index.action");
}

#[tokio::test]
async fn cookie_writes_need_the_xsrf_header() {
    let sim = dc("", "");
    let cookie = session_cookie(&login_form(&sim, "alice", "alice-pw").await);
    let body = json!({"name": "from-browser", "expirationDuration": 1});
    let c = http();
    let r = c
        .post(sim.url("/rest/pat/latest/tokens"))
        .header("cookie", &cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(r.text().await.unwrap(), "XSRF check failed");
    // Nothing was created.
    let list: Value = c
        .get(sim.url("/rest/pat/latest/tokens"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));

    let r = c
        .post(sim.url("/rest/pat/latest/tokens"))
        .header("cookie", &cookie)
        .header("x-atlassian-token", "no-check")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].clone();
    let r = c
        .delete(sim.url(&format!("/rest/pat/latest/tokens/{id}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Basic-authenticated writes are not subject to the cookie XSRF rule.
    let r = c
        .post(sim.url("/rest/pat/latest/tokens"))
        .header("authorization", basic("alice", "alice-pw"))
        .json(&json!({"name": "from-script", "expirationDuration": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn sessions_expire() {
    let sim = dc("", "[tokens]\nsession_seconds = 1\n");
    let cookie = session_cookie(&login_form(&sim, "alice", "alice-pw").await);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let r = current(&sim)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn repeated_failures_demand_a_captcha_until_a_browser_login() {
    let sim = dc("", "");
    let attempt = |pw: &'static str| {
        let req = current(&sim).header("authorization", basic("alice", pw));
        async move { req.send().await.unwrap() }
    };
    for _ in 0..3 {
        let r = attempt("wrong").await;
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["x-seraph-loginreason"], "AUTHENTICATED_FAILED");
    }
    // After 3 failures even the right password is denied: a REST client can't solve a CAPTCHA.
    for pw in ["wrong", "alice-pw"] {
        let r = attempt(pw).await;
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["x-seraph-loginreason"], "AUTHENTICATION_DENIED");
    }
    // A successful browser login (where the CAPTCHA would be solved) resets the count.
    assert_eq!(login_form(&sim, "alice", "alice-pw").await.status(), 302);
    assert_eq!(attempt("alice-pw").await.status(), 200);
}

#[tokio::test]
async fn success_resets_the_failure_count_and_threshold_is_configurable() {
    let sim = dc("captcha_after_failures = 2", "");
    let attempt = |pw: &'static str| {
        let req = current(&sim).header("authorization", basic("alice", pw));
        async move { req.send().await.unwrap() }
    };
    assert_eq!(attempt("wrong").await.status(), 401);
    assert_eq!(attempt("alice-pw").await.status(), 200);
    let r = attempt("wrong").await;
    assert_eq!(r.headers()["x-seraph-loginreason"], "AUTHENTICATED_FAILED");
    let r = attempt("wrong").await;
    assert_eq!(r.headers()["x-seraph-loginreason"], "AUTHENTICATED_FAILED");
    let r = attempt("alice-pw").await;
    assert_eq!(r.headers()["x-seraph-loginreason"], "AUTHENTICATION_DENIED");
}

#[tokio::test]
async fn invalid_pat_is_anonymous_when_anonymous_access_is_on() {
    let open = dc("anonymous_access = true", "");
    let r = current(&open)
        .header(
            "authorization",
            "Bearer NjEyMzQ1Njc4OTAxOm5vdC1hLXJlYWwtdG9rZW4hIQ==",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["type"], "anonymous");

    let closed = dc("anonymous_access = false", "");
    let r = current(&closed)
        .header(
            "authorization",
            "Bearer NjEyMzQ1Njc4OTAxOm5vdC1hLXJlYWwtdG9rZW4hIQ==",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn context_path_applies_to_login_and_cookie_path() {
    let sim = dc("context_path = \"/confluence\"", "");
    let r = http()
        .post(sim.url("/confluence/dologin.action"))
        .form(&[("os_username", "alice"), ("os_password", "alice-pw")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/confluence/index.action");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.contains("Path=/confluence"), "{set}");
    let cookie = set.split(';').next().unwrap();
    let me: Value = http()
        .get(sim.url("/confluence/rest/api/user/current"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "alice");
}
