//! The DC personal access token API of `cfl sim` (`/rest/pat/latest`): shapes, limits, errors,
//! ownership and authentication with the tokens it mints.

mod common;
use common::*;

use base64::Engine;
use serde_json::{json, Value};

/// A DC simulator: admin (admin), bob (not admin), carol (not admin). `top` goes before the
/// tables, `tables` after the users.
fn dc(top: &str, tables: &str) -> Sim {
    Sim::start(&format!(
        r#"flavor = "dc"
{top}
[[users]]
name = "admin"
display_name = "Ada Admin"
email = "admin@example.com"
password = "admin"
admin = true

[[users]]
name = "bob"
display_name = "Bob"
email = "bob@example.com"
password = "bob-pw"

[[users]]
name = "carol"
display_name = "Carol"
email = "carol@example.com"
password = "carol-pw"
{tables}
[seed]
spaces = 1
pages_per_space = 1
"#
    ))
}

async fn create(sim: &Sim, auth: &str, body: Value) -> reqwest::Response {
    http()
        .post(sim.url("/rest/pat/latest/tokens"))
        .header("authorization", auth)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn whoami(sim: &Sim, auth: &str) -> (u16, Value) {
    let r = http()
        .get(sim.url("/rest/api/user/current"))
        .header("authorization", auth)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Milliseconds since the epoch of Confluence's `2024-05-01T12:00:00.000Z` dates.
fn ms(iso: &Value) -> i64 {
    let s = iso.as_str().expect("date string");
    assert!(
        s.len() == 24 && s.ends_with('Z'),
        "ISO-8601 with millis: {s}"
    );
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    // Days from civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    ((days * 24 + n(11, 13)) * 60 + n(14, 16)) * 60_000 + n(17, 19) * 1000 + n(20, 23)
}

#[tokio::test]
async fn create_returns_raw_token_once_and_it_authenticates_as_the_caller() {
    let sim = dc("", "");
    let bob = basic("bob", "bob-pw");
    let r = create(&sim, &bob, json!({"name": "ci", "expirationDuration": 30})).await;
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    let raw = made["rawToken"].as_str().expect("rawToken").to_string();
    // base64 of a 12-digit id, ':' and 20 random bytes.
    assert_eq!(raw.len(), 44);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&raw)
        .unwrap();
    assert_eq!(bytes.len(), 33);
    assert!(bytes[..12].iter().all(u8::is_ascii_digit));
    assert_eq!(bytes[12], b':');
    assert_eq!(made["name"], "ci");
    let created = ms(&made["createdAt"]);
    assert_eq!(ms(&made["expiringAt"]) - created, 30 * 86_400_000);
    assert!(made.get("lastAccessedAt").is_none());

    let (status, me) = whoami(&sim, &format!("Bearer {raw}")).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "bob");

    // Listing and reading never show the secret; the use is recorded.
    let list: Value = http()
        .get(sim.url("/rest/pat/latest/tokens"))
        .header("authorization", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], made["id"]);
    assert!(list[0].get("rawToken").is_none());
    assert!(list[0].get("lastAccessedAt").is_some());
    let one: Value = http()
        .get(sim.url(&format!("/rest/pat/latest/tokens/{}", made["id"])))
        .header("authorization", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["name"], "ci");
    assert!(one.get("rawToken").is_none());
    assert!(!one.to_string().contains(&raw));
}

#[tokio::test]
async fn creation_always_acts_as_the_caller() {
    let sim = dc("", "");
    let r = create(
        &sim,
        &basic("bob", "bob-pw"),
        json!({"name": "for-admin?", "expirationDuration": 5, "username": "admin", "userKey": "admin", "user": "admin"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let raw = r.json::<Value>().await.unwrap()["rawToken"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, me) = whoami(&sim, &format!("Bearer {raw}")).await;
    assert_eq!(me["username"], "bob");
}

#[tokio::test]
async fn eleventh_token_is_refused_with_403() {
    let sim = dc("", "");
    let bob = basic("bob", "bob-pw");
    for i in 0..10 {
        let r = create(
            &sim,
            &bob,
            json!({"name": format!("t{i}"), "expirationDuration": 1}),
        )
        .await;
        assert_eq!(r.status(), 201, "token {i}");
    }
    let r = create(&sim, &bob, json!({"name": "t10", "expirationDuration": 1})).await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(body["exception"].is_string());
    assert!(body["error"].as_str().unwrap().contains("10"), "{body}");
    // The limit is per user.
    let r = create(
        &sim,
        &basic("carol", "carol-pw"),
        json!({"name": "x", "expirationDuration": 1}),
    )
    .await;
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn validation_errors_are_400() {
    let sim = dc("", "");
    let bob = basic("bob", "bob-pw");
    for body in [
        json!({"name": "too-long-expiry", "expirationDuration": 366}),
        json!({"name": "zero", "expirationDuration": 0}),
        json!({"name": "x".repeat(41), "expirationDuration": 10}),
        json!({"name": "   ", "expirationDuration": 10}),
        json!({"expirationDuration": 10}),
    ] {
        let r = create(&sim, &bob, body.clone()).await;
        assert_eq!(r.status(), 400, "{body}");
        let err: Value = r.json().await.unwrap();
        assert!(err["error"].is_string() && err["exception"].is_string());
    }
    let r = http()
        .post(sim.url("/rest/pat/latest/tokens"))
        .header("authorization", &bob)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Exactly at the limits is fine.
    let r = create(
        &sim,
        &bob,
        json!({"name": "x".repeat(40), "expirationDuration": 365}),
    )
    .await;
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn eternal_tokens_follow_the_policy() {
    let sim = dc("", "");
    let r = create(&sim, &basic("bob", "bob-pw"), json!({"name": "forever"})).await;
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert!(made.get("expiringAt").is_none(), "{made}");

    let strict = dc(
        "",
        "[pats]\neternal_tokens_enabled = false\nmax_expiry_days = 90\n",
    );
    let bob = basic("bob", "bob-pw");
    assert_eq!(
        create(&strict, &bob, json!({"name": "forever"}))
            .await
            .status(),
        400
    );
    assert_eq!(
        create(
            &strict,
            &bob,
            json!({"name": "n", "expirationDuration": 91})
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        create(
            &strict,
            &bob,
            json!({"name": "n", "expirationDuration": 90})
        )
        .await
        .status(),
        201
    );
}

#[tokio::test]
async fn anonymous_caller_gets_401() {
    let sim = dc("anonymous_access = true", "");
    let r = http()
        .post(sim.url("/rest/pat/latest/tokens"))
        .json(&json!({"name": "anon", "expirationDuration": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["error"],
        "Requesting user is unauthorized to perform this operation"
    );
    let r = http()
        .get(sim.url("/rest/pat/latest/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn owner_and_admin_may_read_and_revoke_others_may_not() {
    let sim = dc("", "");
    let bob = basic("bob", "bob-pw");
    let made: Value = create(&sim, &bob, json!({"name": "b", "expirationDuration": 3}))
        .await
        .json()
        .await
        .unwrap();
    let raw = made["rawToken"].as_str().unwrap().to_string();
    let path = format!("/rest/pat/latest/tokens/{}", made["id"]);
    let c = http();
    let carol = c
        .get(sim.url(&path))
        .header("authorization", basic("carol", "carol-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(carol.status(), 401);
    let carol_del = c
        .delete(sim.url(&path))
        .header("authorization", basic("carol", "carol-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(carol_del.status(), 401);
    let admin = c
        .get(sim.url(&path))
        .header("authorization", basic("admin", "admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let missing = c
        .get(sim.url("/rest/pat/latest/tokens/99999"))
        .header("authorization", &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let del = c
        .delete(sim.url(&path))
        .header("authorization", &bob)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    // A revoked token no longer authenticates (anonymous access is off: 401).
    let (status, _) = whoami(&sim, &format!("Bearer {raw}")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn admin_search_and_bulk_revoke() {
    let sim = dc("", "");
    let bob = basic("bob", "bob-pw");
    let carol = basic("carol", "carol-pw");
    let admin = basic("admin", "admin");
    let mut bob_ids = vec![];
    for name in ["deploy-bot", "laptop"] {
        let v: Value = create(&sim, &bob, json!({"name": name, "expirationDuration": 10}))
            .await
            .json()
            .await
            .unwrap();
        bob_ids.push(v["id"].clone());
    }
    let carol_tok: Value = create(
        &sim,
        &carol,
        json!({"name": "deploy-other", "expirationDuration": 10}),
    )
    .await
    .json()
    .await
    .unwrap();
    let c = http();
    let search = |auth: String, body: Value| {
        let c = c.clone();
        let url = sim.url("/rest/pat/latest/tokens/search");
        async move {
            c.post(url)
                .header("authorization", auth)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(search(bob.clone(), json!({})).await.status(), 403);
    let all: Value = search(admin.clone(), json!({})).await.json().await.unwrap();
    assert_eq!(all["total"], 3);
    let deploy: Value = search(
        admin.clone(),
        json!({"tokenNameFilterExpression": "deploy", "sortBy": "name", "orderBy": "DESC"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let names: Vec<&str> = deploy["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["deploy-other", "deploy-bot"]);
    assert!(deploy["values"][0]["userKey"].is_string());
    assert!(!deploy.to_string().contains("rawToken"));
    let paged: Value = search(admin.clone(), json!({"limit": 2, "page": 1}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paged["values"].as_array().unwrap().len(), 1);
    assert_eq!(paged["isLastPage"], true);
    assert_eq!(
        search(admin.clone(), json!({"limit": 101})).await.status(),
        400
    );

    let r = c
        .delete(sim.url("/rest/pat/latest/admin/tokens"))
        .header("authorization", &bob)
        .json(&json!(bob_ids))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .delete(sim.url("/rest/pat/latest/admin/tokens"))
        .header("authorization", &admin)
        .json(&json!(bob_ids))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let left: Value = search(admin.clone(), json!({})).await.json().await.unwrap();
    assert_eq!(left["total"], 1);
    assert_eq!(left["values"][0]["id"], carol_tok["id"]);
}

#[tokio::test]
async fn pat_authenticated_creation_is_a_switch() {
    let sim = dc("", "");
    let first: Value = create(
        &sim,
        &basic("bob", "bob-pw"),
        json!({"name": "a", "expirationDuration": 2}),
    )
    .await
    .json()
    .await
    .unwrap();
    let bearer = format!("Bearer {}", first["rawToken"].as_str().unwrap());
    assert_eq!(
        create(&sim, &bearer, json!({"name": "b", "expirationDuration": 2}))
            .await
            .status(),
        201
    );

    let locked = dc("", "[pats]\nallow_pat_auth_to_create = false\n");
    let first: Value = create(
        &locked,
        &basic("bob", "bob-pw"),
        json!({"name": "a", "expirationDuration": 2}),
    )
    .await
    .json()
    .await
    .unwrap();
    let bearer = format!("Bearer {}", first["rawToken"].as_str().unwrap());
    assert_eq!(
        create(
            &locked,
            &bearer,
            json!({"name": "b", "expirationDuration": 2})
        )
        .await
        .status(),
        403
    );
}

#[tokio::test]
async fn seeded_example_pat_works_and_is_listed() {
    let sim = Sim::example("sim-dc.toml", "");
    let seeded = "Bearer NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=";
    let (status, me) = whoami(&sim, seeded).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "alice");
    let list: Value = http()
        .get(sim.url("/rest/pat/latest/tokens"))
        .header("authorization", seeded)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["name"], "laptop");
}
