use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::*;
use crate::credentials::Source;
use crate::deployment::Deployment;
use crate::http::{Client, ClientOptions};

const BASE: &str = "https://c.example.com/confluence";

fn cred(method: Method, login: Option<&str>, secret: &str, oauth: &[(&str, &str)]) -> Credential {
    let oauth: BTreeMap<String, String> = oauth
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Credential::new(
        method,
        method.deployment(),
        BASE,
        login.map(str::to_string),
        secret.to_string(),
        Source::Login,
    )
    .unwrap()
    .with_oauth(oauth)
}

/// The target and the header the method's authorizer gives a GET of `url`.
async fn authorize_get(c: &Credential, url: &str) -> (Target, Result<Authorized>) {
    let auth = for_credential(c).unwrap();
    assert_eq!(auth.method(), c.method);
    let http = crate::http::build_http(&ClientOptions::default()).unwrap();
    let ctx = Ctx {
        cred: c,
        http: &http,
    };
    let target = auth.target(c, url).unwrap();
    let req = Request {
        method: &reqwest::Method::GET,
        target: &target,
        form_body: None,
    };
    let a = auth.authorize(ctx, req, None).await;
    (target, a)
}

fn demo_key() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/keys/demo-consumer.key.pem"
    );
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn token_methods_send_a_fixed_header_to_the_url_as_given() {
    let url = format!("{BASE}/rest/api/space?limit=5");
    let cases = [
        (Method::ApiToken, Some("a@b.c"), "t", "Basic YUBiLmM6dA=="),
        (
            Method::ScopedToken,
            Some("a@b.c"),
            "t",
            "Basic YUBiLmM6dA==",
        ),
        (Method::Basic, Some("a@b.c"), "t", "Basic YUBiLmM6dA=="),
        (Method::Pat, None, "tok", "Bearer tok"),
    ];
    for (method, login, secret, header) in cases {
        let c = cred(method, login, secret, &[]);
        let (target, a) = authorize_get(&c, &url).await;
        let a = a.unwrap();
        assert_eq!(target.url(), url, "{method}");
        assert_eq!((a.header, a.value.as_str()), ("Authorization", header));
        assert!(!for_credential(&c).unwrap().renewable(), "{method}");
    }
}

#[tokio::test]
async fn bearer_methods_send_a_fresh_stored_bearer_without_renewing() {
    let secret = r#"{"access_token":"acc","refresh_token":"ref","expires_at":99999999999}"#;
    for method in [Method::Oauth2, Method::DcOauth2, Method::ClientCredentials] {
        // No token URL: a renewal would fail, so success proves none was attempted.
        let c = cred(method, None, secret, &[]);
        let (target, a) = authorize_get(&c, &format!("{BASE}/x")).await;
        let a = a.unwrap();
        assert_eq!(target.url(), format!("{BASE}/x"));
        assert_eq!(a.value, "Bearer acc", "{method}");
        assert_eq!(a.renewable.as_deref(), Some("acc"));
        assert!(for_credential(&c).unwrap().renewable());
    }
}

#[tokio::test]
async fn cookie_sends_the_live_session() {
    let secret = r#"{"password":"pw","session":"s1","expires_at":99999999999}"#;
    let c = cred(Method::Cookie, Some("alice"), secret, &[]);
    let (_, a) = authorize_get(&c, &format!("{BASE}/x")).await;
    let a = a.unwrap();
    assert_eq!((a.header, a.value.as_str()), ("Cookie", "JSESSIONID=s1"));
    let http = crate::http::build_http(&ClientOptions::default()).unwrap();
    let ctx = Ctx {
        cred: &c,
        http: &http,
    };
    let auth = for_credential(&c).unwrap();
    assert!(auth.reusable_header(ctx).await.is_err());
}

#[tokio::test]
async fn oauth1_signs_with_the_access_token() {
    let secret = serde_json::json!({"access_token": "acc-tok", "private_key": demo_key()});
    let c = cred(
        Method::Oauth1,
        None,
        &secret.to_string(),
        &[("consumer_key", "cfl-demo")],
    );
    let (target, a) = authorize_get(&c, &format!("{BASE}/rest/api/space")).await;
    let a = a.unwrap();
    assert_eq!(target.url(), format!("{BASE}/rest/api/space"));
    assert!(a.value.starts_with("OAuth "), "{}", a.value);
    assert!(a.value.contains("oauth_token=\"acc-tok\""), "{}", a.value);
    assert!(a.value.contains("oauth_signature="), "{}", a.value);
}

#[tokio::test]
async fn impersonation_targets_its_user_and_signs_two_legged() {
    let secret = serde_json::json!({"private_key": demo_key()});
    let c = cred(
        Method::Oauth1Impersonation,
        None,
        &secret.to_string(),
        &[("consumer_key", "cfl-demo"), ("as_user", "svc")],
    );
    let (target, a) = authorize_get(&c, &format!("{BASE}/rest/api/space?limit=5")).await;
    assert_eq!(
        target.url(),
        format!("{BASE}/rest/api/space?limit=5&xoauth_requestor_id=svc")
    );
    let a = a.unwrap();
    assert!(a.value.starts_with("OAuth "), "{}", a.value);
    assert!(a.value.contains("oauth_signature="), "{}", a.value);
    let auth = for_credential(&c).unwrap();
    let other = format!("{BASE}/x?xoauth_requestor_id=mallory");
    assert!(auth.target(&c, &other).is_err(), "another user is refused");
    let http = crate::http::build_http(&ClientOptions::default()).unwrap();
    let ctx = Ctx {
        cred: &c,
        http: &http,
    };
    assert!(auth.reusable_header(ctx).await.is_err());
}

/// A one-route-per-path HTTP server on loopback: the token endpoint issues `new` (counting its
/// calls), the API accepts only `Bearer new`.
async fn token_and_api_server(token_calls: Arc<AtomicUsize>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let calls = token_calls.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let (status, body) = if head.starts_with("post /oauth/token") {
                    calls.fetch_add(1, Ordering::SeqCst);
                    (
                        "200 OK",
                        r#"{"access_token":"new","refresh_token":"r2","expires_in":3600}"#,
                    )
                } else if head.contains("authorization: bearer new") {
                    ("200 OK", r#"{"ok":true}"#)
                } else {
                    ("401 Unauthorized", r#"{"message":"expired"}"#)
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    base
}

#[tokio::test]
async fn a_401_renews_the_bearer_once_and_retries() {
    let calls = Arc::new(AtomicUsize::new(0));
    let base = token_and_api_server(calls.clone()).await;
    // The stored bearer looks fresh (no expiry), so only the server's 401 can make cfl renew.
    let c = Credential::new(
        Method::DcOauth2,
        Deployment::DataCenter,
        &base,
        None,
        r#"{"access_token":"old","refresh_token":"r1"}"#.into(),
        Source::Login,
    )
    .unwrap()
    .with_oauth(
        [
            ("token_url", format!("{base}/oauth/token")),
            ("client_id", "app".to_string()),
            ("token_body", "form".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    );
    let client = Client::new(c, &ClientOptions::default()).unwrap();
    let url = client.url("/rest/api/user/current").unwrap();
    let r = client.send("GET", &url, &[], None).await.unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one renewal");
    let s = client.stored_secret().await.unwrap();
    assert_eq!(s.access_token.as_deref(), Some("new"));
    assert_eq!(
        s.refresh_token.as_deref(),
        Some("r2"),
        "the rotated token is kept"
    );
}

#[tokio::test]
async fn a_401_on_a_fixed_token_is_not_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let base = token_and_api_server(calls.clone()).await;
    let c = Credential::new(
        Method::Pat,
        Deployment::DataCenter,
        &base,
        None,
        "old".into(),
        Source::Login,
    )
    .unwrap();
    let client = Client::new(c, &ClientOptions::default()).unwrap();
    let url = client.url("/rest/api/user/current").unwrap();
    let r = client.send("GET", &url, &[], None).await.unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(
        client.explain(&r).contains("--method pat"),
        "{}",
        client.explain(&r)
    );
}

#[test]
fn each_method_explains_its_own_refusal() {
    let refused = |body: &str| crate::http::Response {
        status: 401,
        reason: "Unauthorized".into(),
        headers: Default::default(),
        body: body.as_bytes().to_vec(),
        url: format!("{BASE}/rest/api/space"),
        method: "GET".into(),
    };
    let explain = |method, login: Option<&str>, secret: &str, body: &str| {
        let client = Client::new(cred(method, login, secret, &[]), &ClientOptions::default());
        client.unwrap().explain(&refused(body))
    };
    let scoped = r#"{"message":"This API token is scoped"}"#;
    let cloud_token = explain(Method::ApiToken, Some("a@b.c"), "t", scoped);
    assert!(
        cloud_token.contains("--method scoped-token"),
        "{cloud_token}"
    );
    let plain = explain(Method::ApiToken, Some("a@b.c"), "t", "{}");
    assert!(plain.contains("--method api-token"), "{plain}");
    let pat = explain(Method::Pat, None, "t", scoped);
    assert!(
        pat.contains("--method pat") && !pat.contains("scoped-token"),
        "{pat}"
    );
    let fresh = r#"{"access_token":"a","expires_at":99999999999}"#;
    let bearer = explain(Method::DcOauth2, None, fresh, "{}");
    assert!(bearer.contains("even after renewing"), "{bearer}");
}

#[test]
fn each_method_file_names_its_method_as_saved_profiles_do() {
    for m in Method::ALL {
        // The name in config.toml is serde's; the one on the command line is the Spec's.
        let saved = serde_json::to_value(m).unwrap();
        assert_eq!(saved.as_str(), Some(m.spec().name), "{m:?}");
        assert_eq!(Method::parse(m.spec().name).unwrap(), m);
    }
    let mut names: Vec<_> = Method::ALL.iter().map(|m| m.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Method::ALL.len(), "two methods share a name");
}
