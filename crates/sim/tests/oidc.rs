//! The OpenID Connect provider in `cfl sim` (`[oidc]`): discovery, the code flow with PKCE, the
//! ID token as a relying party checks it (signature against the JWKS by `kid`, `iss`, `aud`,
//! `exp`, `nonce`), key rotation, and each faulty-token control producing exactly its fault.
//!
//! ID tokens are verified the way a relying party does: the key is rebuilt from the JWKS `n`/`e`
//! of the header's `kid` and the RS256 signature checked with the `rsa` crate's verifier.

mod common;
use common::*;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const TENANT: &str = "11111111-2222-4333-8444-555555555555";
const REDIRECT: &str = "http://127.0.0.1:9/oidc/callback";
const ADMINS_ID: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const READERS_ID: &str = "aaaaaaaa-0000-4000-8000-000000000002";

fn oidc_sim(extra: &str) -> Sim {
    Sim::start(&format!(
        r#"flavor = "dc"

[oidc]
tenant = "{TENANT}"
{extra}

[[oidc.clients]]
client_id = "gateway"
client_secret = "gateway-secret"
redirect_uris = ["{REDIRECT}", "http://localhost:9/other"]

[[oidc.groups]]
name = "cfl-admins"
id = "{ADMINS_ID}"

[[oidc.groups]]
name = "cfl-readers"
id = "{READERS_ID}"

[[oidc.users]]
username = "ada@example.com"
password = "ada-pass"
name = "Ada Admin"
email = "ada@example.com"
groups = ["cfl-admins", "cfl-readers"]

[[oidc.users]]
username = "bob@example.com"
password = "bob-pass"
name = "Bob Reader"
email = "bob@example.com"
groups = ["cfl-readers"]
"#
    ))
}

fn issuer(sim: &Sim) -> String {
    sim.url(&format!("/{TENANT}/v2.0"))
}

fn authorize_url(sim: &Sim) -> String {
    sim.url(&format!("/{TENANT}/oauth2/v2.0/authorize"))
}

fn token_url(sim: &Sim) -> String {
    sim.url(&format!("/{TENANT}/oauth2/v2.0/token"))
}

/// A PKCE pair: (verifier, S256 challenge).
fn pkce(seed: &str) -> (String, String) {
    let verifier = format!("verifier-{seed}-0123456789abcdefghijklmnopqrstuvwxyz");
    let challenge = B64.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The authorization request's parameters for `gateway`, with `state` and `nonce`.
fn auth_params(challenge: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", "gateway".into()),
        ("redirect_uri", REDIRECT.into()),
        ("response_type", "code".into()),
        ("scope", "openid profile email".into()),
        ("state", "state-123".into()),
        ("nonce", "nonce-456".into()),
        ("code_challenge", challenge.into()),
        ("code_challenge_method", "S256".into()),
    ]
}

fn location(resp: &reqwest::Response) -> url::Url {
    let loc = resp
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {}", resp.status()))
        .to_str()
        .unwrap();
    url::Url::parse(loc).unwrap()
}

fn query(url: &url::Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Signs in through the login form (POST back with credentials); answers the code.
async fn sign_in(sim: &Sim, user: &str, password: &str, challenge: &str) -> String {
    let mut form = auth_params(challenge);
    form.push(("username", user.into()));
    form.push(("password", password.into()));
    let resp = http()
        .post(authorize_url(sim))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302, "{}", resp.text().await.unwrap());
    let to = location(&resp);
    assert!(to.as_str().starts_with(REDIRECT), "{to}");
    assert_eq!(query(&to, "state").as_deref(), Some("state-123"));
    query(&to, "code").expect("code in the redirect")
}

async fn redeem(sim: &Sim, code: &str, verifier: &str) -> reqwest::Response {
    http()
        .post(token_url(sim))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
            ("client_id", "gateway"),
            ("client_secret", "gateway-secret"),
        ])
        .send()
        .await
        .unwrap()
}

/// A full sign-in as Ada; answers the token response.
async fn tokens(sim: &Sim) -> Value {
    let (verifier, challenge) = pkce("ada");
    let code = sign_in(sim, "ada@example.com", "ada-pass", &challenge).await;
    let resp = redeem(sim, &code, &verifier).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn id_token(sim: &Sim) -> String {
    tokens(sim).await["id_token"].as_str().unwrap().to_string()
}

async fn jwks(sim: &Sim) -> Value {
    http()
        .get(sim.url(&format!("/{TENANT}/discovery/v2.0/keys")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&B64.decode(part).expect("base64url")).expect("JSON")
}

/// (header, claims) without any check.
fn parts(jwt: &str) -> (Value, Value) {
    let p: Vec<&str> = jwt.split('.').collect();
    assert_eq!(p.len(), 3, "a JWS compact serialization: {jwt}");
    (decode_part(p[0]), decode_part(p[1]))
}

#[derive(Debug, PartialEq)]
enum Verdict {
    Valid(Value),
    UnknownKid,
    BadSignature,
}

/// What a relying party's signature check says: the key by `kid` from the JWKS, RS256.
fn verify(jwt: &str, jwks: &Value) -> Verdict {
    let (header, claims) = parts(jwt);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    let kid = header["kid"].as_str().expect("kid in the header");
    let Some(jwk) = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
    else {
        return Verdict::UnknownKid;
    };
    let n = BigUint::from_bytes_be(&B64.decode(jwk["n"].as_str().unwrap()).unwrap());
    let e = BigUint::from_bytes_be(&B64.decode(jwk["e"].as_str().unwrap()).unwrap());
    let key = VerifyingKey::<Sha256>::new(RsaPublicKey::new(n, e).unwrap());
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = Signature::try_from(B64.decode(sig).unwrap().as_slice()).unwrap();
    match key.verify(input.as_bytes(), &sig) {
        Ok(()) => Verdict::Valid(claims),
        Err(_) => Verdict::BadSignature,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn discovery_document_points_at_entra_shaped_endpoints() {
    let sim = oidc_sim("");
    let iss = issuer(&sim);
    for path in [
        "/.well-known/openid-configuration".to_string(),
        format!("/{TENANT}/v2.0/.well-known/openid-configuration"),
    ] {
        let doc: Value = http()
            .get(sim.url(&path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["issuer"], iss, "{path}");
        assert_eq!(doc["authorization_endpoint"], authorize_url(&sim));
        assert_eq!(doc["token_endpoint"], token_url(&sim));
        assert_eq!(
            doc["jwks_uri"],
            sim.url(&format!("/{TENANT}/discovery/v2.0/keys"))
        );
        assert_eq!(doc["userinfo_endpoint"], sim.url("/oidc/userinfo"));
        assert_eq!(doc["response_types_supported"], json!(["code"]));
        assert_eq!(
            doc["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert!(doc["subject_types_supported"].as_array().unwrap().len() == 1);
        for scope in ["openid", "profile", "email"] {
            assert!(doc["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(scope)));
        }
        for claim in ["groups", "oid", "tid", "nonce", "preferred_username"] {
            assert!(doc["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(claim)));
        }
    }
    let keys = jwks(&sim).await;
    let key = &keys["keys"][0];
    assert_eq!(keys["keys"].as_array().unwrap().len(), 1);
    for (field, want) in [("kty", "RSA"), ("use", "sig"), ("alg", "RS256")] {
        assert_eq!(key[field], want);
    }
    assert_eq!(key["e"], "AQAB");
    assert_eq!(B64.decode(key["n"].as_str().unwrap()).unwrap().len(), 256);
    assert!(!key["kid"].as_str().unwrap().is_empty());
    assert_eq!(sim.startup["oidc"]["issuer"], iss);
    assert_eq!(
        sim.startup["oidc"]["users"][0]["username"],
        "ada@example.com"
    );
    assert!(
        !sim.startup.to_string().contains("ada-pass"),
        "no password in the start-up line"
    );
}

#[tokio::test]
async fn the_providers_endpoints_are_absent_without_oidc_config() {
    let sim = Sim::start("flavor = \"dc\"");
    for path in ["/.well-known/openid-configuration", "/__sim/oidc/faults"] {
        // Not served: DC's auth layer answers unrouted paths 401 before any 404.
        let resp = http().get(sim.url(path)).send().await.unwrap();
        assert_ne!(resp.status(), 200, "{path}");
    }
    assert!(sim.startup.get("oidc").is_none());
}

#[tokio::test]
async fn code_flow_with_pkce_issues_a_verifiable_id_token_with_entra_claims() {
    let sim = oidc_sim("");
    let (verifier, challenge) = pkce("ada");
    // A browser first gets the login form carrying the request along.
    let page = http()
        .get(authorize_url(&sim))
        .query(&auth_params(&challenge))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\">"), "{html}");
    assert!(
        html.contains("name=\"nonce\" value=\"nonce-456\""),
        "{html}"
    );
    assert!(html.contains(&format!("name=\"code_challenge\" value=\"{challenge}\"")));

    let code = sign_in(&sim, "ada@example.com", "ada-pass", &challenge).await;
    let resp = redeem(&sim, &code, &verifier).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let Verdict::Valid(claims) = verify(body["id_token"].as_str().unwrap(), &jwks(&sim).await)
    else {
        panic!("the ID token does not verify against the JWKS");
    };
    assert_eq!(claims["iss"], issuer(&sim));
    assert_eq!(claims["aud"], "gateway");
    assert_eq!(claims["nonce"], "nonce-456");
    assert_eq!(claims["name"], "Ada Admin");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["preferred_username"], "ada@example.com");
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["ver"], "2.0");
    assert_eq!(claims["groups"], json!([ADMINS_ID, READERS_ID]));
    let oid = claims["oid"].as_str().unwrap();
    assert_eq!(oid.len(), 36, "a GUID: {oid}");
    let sub = claims["sub"].as_str().unwrap();
    assert!(!sub.is_empty() && sub != oid, "pairwise sub: {sub}");
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!((iat - now()).abs() < 60, "iat {iat} is now");
    assert_eq!(exp - iat, 3600);

    // userinfo with the access token; the same subject.
    let access = body["access_token"].as_str().unwrap();
    let info: Value = http()
        .get(sim.url("/oidc/userinfo"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], sub);
    assert_eq!(info["email"], "ada@example.com");
    let refused = http()
        .get(sim.url("/oidc/userinfo"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn client_secret_basic_works_and_a_wrong_secret_is_invalid_client() {
    let sim = oidc_sim("");
    let (verifier, challenge) = pkce("basic");
    let code = sign_in(&sim, "bob@example.com", "bob-pass", &challenge).await;
    let wrong = http()
        .post(token_url(&sim))
        .header("authorization", basic("gateway", "nope"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    // The client was not authenticated, so the code is not spent.
    let ok = http()
        .post(token_url(&sim))
        .header("authorization", basic("gateway", "gateway-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    let (_, claims) = parts(body["id_token"].as_str().unwrap());
    assert_eq!(claims["name"], "Bob Reader");
    assert_eq!(claims["groups"], json!([READERS_ID]));
}

#[tokio::test]
async fn a_code_is_single_use_and_needs_the_right_verifier_and_redirect_uri() {
    let sim = oidc_sim("");
    let (verifier, challenge) = pkce("reuse");
    let code = sign_in(&sim, "ada@example.com", "ada-pass", &challenge).await;
    assert_eq!(redeem(&sim, &code, &verifier).await.status(), 200);
    let again = redeem(&sim, &code, &verifier).await;
    assert_eq!(again.status(), 400);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Wrong verifier: refused, and the code is spent by the attempt.
    let code = sign_in(&sim, "ada@example.com", "ada-pass", &challenge).await;
    let wrong = redeem(&sim, &code, "another-verifier-0123456789abcdefghijklmnopq").await;
    assert_eq!(wrong.status(), 400);
    let err: Value = wrong.json().await.unwrap();
    assert_eq!(err["error"], "invalid_grant");
    assert!(err["error_description"]
        .as_str()
        .unwrap()
        .contains("code_verifier"));
    assert_eq!(redeem(&sim, &code, &verifier).await.status(), 400);

    // Another registered redirect URI than the authorization request's: refused.
    let code = sign_in(&sim, "ada@example.com", "ada-pass", &challenge).await;
    let resp = http()
        .post(token_url(&sim))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://localhost:9/other"),
            ("code_verifier", verifier.as_str()),
            ("client_id", "gateway"),
            ("client_secret", "gateway-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Codes are short-lived: 60 s by default.
    let code = sign_in(&sim, "ada@example.com", "ada-pass", &challenge).await;
    http()
        .post(sim.url("/__sim/clock"))
        .json(&json!({"advance_seconds": 61}))
        .send()
        .await
        .unwrap();
    let late = redeem(&sim, &code, &verifier).await;
    assert_eq!(late.status(), 400);
    assert!(late.text().await.unwrap().contains("expired"));
}

#[tokio::test]
async fn authorization_errors_are_a_page_before_the_redirect_uri_is_trusted_and_a_redirect_after() {
    let sim = oidc_sim("");
    let (_, challenge) = pkce("errors");
    let send = |params: Vec<(&'static str, String)>| {
        let url = authorize_url(&sim);
        async move { http().get(url).query(&params).send().await.unwrap() }
    };
    // Unregistered redirect URI (a prefix of a registered one is not enough) or unknown client:
    // a page, never a redirect.
    for (key, value) in [
        ("redirect_uri", "http://127.0.0.1:9/oidc/callback/evil"),
        ("redirect_uri", "http://127.0.0.1:9/oidc"),
        ("client_id", "someone-else"),
    ] {
        let mut p = auth_params(&challenge);
        p.retain(|(k, _)| *k != key);
        p.push((key, value.into()));
        let resp = send(p).await;
        assert_eq!(resp.status(), 400, "{key}={value}");
        assert!(resp.headers().get("location").is_none());
        let page = resp.text().await.unwrap();
        assert!(page.contains("AADSTS"), "{page}");
    }
    // Once the redirect URI is known good: error=, with state.
    for (key, value, error) in [
        ("code_challenge_method", "plain", "invalid_request"),
        ("code_challenge", "", "invalid_request"),
        ("scope", "profile email", "invalid_scope"),
        ("response_type", "token", "unsupported_response_type"),
    ] {
        let mut p = auth_params(&challenge);
        p.retain(|(k, _)| *k != key);
        p.push((key, value.into()));
        let resp = send(p).await;
        assert_eq!(resp.status(), 302, "{key}={value}");
        let to = location(&resp);
        assert!(to.as_str().starts_with(REDIRECT));
        assert_eq!(query(&to, "error").as_deref(), Some(error), "{key}={value}");
        assert_eq!(query(&to, "state").as_deref(), Some("state-123"));
        assert!(query(&to, "code").is_none());
    }
    // prompt=none without a signed-in user: login_required.
    let mut p = auth_params(&challenge);
    p.push(("prompt", "none".into()));
    let to = location(&send(p).await);
    assert_eq!(query(&to, "error").as_deref(), Some("login_required"));

    // A wrong password shows the form again (no redirect, no code).
    let mut form = auth_params(&challenge);
    form.push(("username", "ada@example.com".into()));
    form.push(("password", "wrong".into()));
    let resp = http()
        .post(authorize_url(&sim))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.text().await.unwrap().contains("incorrect"));
    // Cancel: access_denied back to the app.
    let mut form = auth_params(&challenge);
    form.push(("cancel", "1".into()));
    let resp = http()
        .post(authorize_url(&sim))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&resp), "error").as_deref(),
        Some("access_denied")
    );
}

#[tokio::test]
async fn auto_login_signs_in_the_login_hint_user_without_the_form_and_only_when_enabled() {
    let (_, challenge) = pkce("auto");
    let mut p = auth_params(&challenge);
    p.push(("login_hint", "bob@example.com".into()));
    let off = oidc_sim("");
    let resp = http()
        .get(authorize_url(&off))
        .query(&p)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the form, not a sign-in");
    let on = oidc_sim("auto_login = true");
    let resp = http()
        .get(authorize_url(&on))
        .query(&p)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert!(query(&location(&resp), "code").is_some());
}

#[tokio::test]
async fn groups_claim_names_mode_sends_group_names() {
    let sim = oidc_sim("groups_claim = \"names\"");
    let (_, claims) = parts(&id_token(&sim).await);
    assert_eq!(claims["groups"], json!(["cfl-admins", "cfl-readers"]));
}

#[tokio::test]
async fn rotation_keeps_the_old_key_published_until_dropped() {
    let sim = oidc_sim("");
    let before = id_token(&sim).await;
    let old_kid = parts(&before).0["kid"].as_str().unwrap().to_string();

    let rotated: Value = http()
        .post(sim.url("/__sim/oidc/rotate"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_kid = rotated["kid"].as_str().unwrap().to_string();
    assert_ne!(new_kid, old_kid);
    assert_eq!(rotated["retired"], json!([old_kid]));
    let published = jwks(&sim).await;
    assert_eq!(kids(&published), vec![new_kid.clone(), old_kid.clone()]);
    assert!(matches!(verify(&before, &published), Verdict::Valid(_)));

    let after = id_token(&sim).await;
    assert_eq!(parts(&after).0["kid"], new_kid.as_str());
    assert!(matches!(verify(&after, &published), Verdict::Valid(_)));

    // The current key can't be dropped; the retired one can, once.
    let current = http()
        .delete(sim.url(&format!("/__sim/oidc/keys/{new_kid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(current.status(), 409);
    let url = sim.url(&format!("/__sim/oidc/keys/{old_kid}"));
    assert_eq!(http().delete(&url).send().await.unwrap().status(), 204);
    assert_eq!(http().delete(&url).send().await.unwrap().status(), 404);
    let published = jwks(&sim).await;
    assert_eq!(kids(&published), vec![new_kid]);
    assert_eq!(verify(&before, &published), Verdict::UnknownKid);
    assert!(matches!(verify(&after, &published), Verdict::Valid(_)));
}

async fn arm(sim: &Sim, body: Value) -> reqwest::Response {
    http()
        .post(sim.url("/__sim/oidc/faults"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_fault_control_spoils_the_next_id_token_in_exactly_its_way() {
    let sim = oidc_sim("");
    let iss = issuer(&sim);
    for fault in [
        "unknown_kid",
        "bad_signature",
        "wrong_iss",
        "wrong_aud",
        "expired",
        "wrong_nonce",
    ] {
        assert_eq!(arm(&sim, json!({"fault": fault})).await.status(), 200);
        let token = id_token(&sim).await;
        let keys = jwks(&sim).await;
        let verdict = verify(&token, &keys);
        match fault {
            "unknown_kid" => assert_eq!(verdict, Verdict::UnknownKid),
            "bad_signature" => assert_eq!(verdict, Verdict::BadSignature),
            _ => {
                let Verdict::Valid(c) = verdict else {
                    panic!("{fault}: the signature must stay valid, got {verdict:?}");
                };
                let exp = c["exp"].as_i64().unwrap();
                assert_eq!(
                    c["iss"] == iss.as_str(),
                    fault != "wrong_iss",
                    "{fault}: {c}"
                );
                assert_eq!(c["aud"] == "gateway", fault != "wrong_aud", "{fault}: {c}");
                assert_eq!(exp > now(), fault != "expired", "{fault}: {c}");
                assert_eq!(
                    c["nonce"] == "nonce-456",
                    fault != "wrong_nonce",
                    "{fault}: {c}"
                );
            }
        }
        // Used up: the next token is sound again.
        let sound = id_token(&sim).await;
        let Verdict::Valid(c) = verify(&sound, &keys) else {
            panic!("{fault} leaked into the next token");
        };
        assert_eq!(c["iss"], iss);
        assert_eq!(c["nonce"], "nonce-456");
    }
    // count, GET and DELETE.
    arm(&sim, json!({"fault": "wrong_aud", "count": 2})).await;
    let armed: Value = http()
        .get(sim.url("/__sim/oidc/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(armed, json!({"fault": "wrong_aud", "remaining": 2}));
    assert_ne!(parts(&id_token(&sim).await).1["aud"], "gateway");
    let cleared = http()
        .delete(sim.url("/__sim/oidc/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert_eq!(parts(&id_token(&sim).await).1["aud"], "gateway");
    // A typo is named.
    let bad = arm(&sim, json!({"fault": "wrong_audience"})).await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("wrong_aud"));
}

#[test]
fn config_mistakes_are_named() {
    for (extra, needle) in [
        (
            "[[oidc.users]]\nusername = \"x\"\npassword = \"p\"\nname = \"X\"\nemail = \"x@e\"\ngroups = [\"nope\"]",
            "group \"nope\" is not declared",
        ),
        (
            "[[oidc.clients]]\nclient_id = \"c\"\nclient_secret = \"s\"\nredirect_uris = [\"/relative\"]",
            "not an absolute URL",
        ),
    ] {
        let err = cfl_sim::SimConfig::parse(&format!("flavor = \"dc\"\n[oidc]\n{extra}"))
            .and_then(|c| c.validate())
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err}");
    }
}

#[tokio::test]
async fn the_demo_config_serves_oidc_with_its_documented_users() {
    let sim = Sim::example("sim-dc.toml", "");
    let oidc = &sim.startup["oidc"];
    let iss = oidc["issuer"].as_str().unwrap().to_string();
    let users: Vec<&str> = oidc["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        ["ada@example.com", "tom@example.com", "aud@example.com"]
    );
    let doc: Value = http()
        .get(format!("{iss}/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], iss.as_str());
    // The README's demo password signs Ada in.
    let (_, challenge) = pkce("demo");
    let mut form = auth_params(&challenge);
    form.retain(|(k, _)| *k != "client_id" && *k != "redirect_uri");
    form.push(("client_id", "cfl-gateway-demo".into()));
    form.push((
        "redirect_uri",
        "http://127.0.0.1:8080/admin/oidc/callback".into(),
    ));
    form.push(("username", "ada@example.com".into()));
    form.push(("password", "ada-demo".into()));
    let resp = http()
        .post(doc["authorization_endpoint"].as_str().unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    assert!(query(&location(&resp), "code").is_some());
}
