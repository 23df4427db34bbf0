//! `cfl token create --read-only --quota-per-day` and `cfl token rotate` through the real binary,
//! against a real `cfl serve` and simulator (the policies themselves: crates/gateway/tests/policies.rs).

mod common;
use common::gateway::*;
use common::*;
use serde_json::Value;

async fn status(gw: &Gateway, method: &str, secret: &str) -> (u16, String) {
    let r = http()
        .request(method.parse().unwrap(), gw.url("/rest/api/space"))
        .header("authorization", basic("svc-reports", secret))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v["error"].as_str().unwrap_or("").to_string())
}

#[tokio::test]
async fn token_cli_makes_read_only_and_quota_tokens_and_rotates_them() {
    let sim = Sim::example("sim-dc.toml", "");
    let (identity, env) = static_identity();
    let gw = Gateway::start(&sim, identity, "", &env);
    let cfl = |args: &[&str]| {
        let out = std::process::Command::new(CFL)
            .args(args)
            .env("CFL_GATEWAY_URL", &gw.base_url)
            .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (ok, stdout, stderr) = cfl(&[
        "token",
        "create",
        "--label",
        "reader",
        "--user",
        "svc-reports",
        "--read-only",
        "--quota-per-day",
        "1000",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let created: Value = serde_json::from_str(&stdout).unwrap();
    let (id, old) = (
        created["token"]["id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    );
    assert_eq!(created["token"]["readOnly"], true);
    assert_eq!(created["token"]["requestsPerDay"], 1000);
    assert_eq!(status(&gw, "GET", &old).await.0, 200);
    assert_eq!(status(&gw, "POST", &old).await, (403, "read_only".into()));
    let (_, table, _) = cfl(&["token", "list"]);
    let line = table.lines().find(|l| l.contains(&id)).unwrap();
    assert!(line.contains("read-only, 1000/day"), "{table}");

    // Rotation: the new secret on stdout, once; the old one keeps working for the overlap.
    let (ok, stdout, stderr) = cfl(&["token", "rotate", &id, "--overlap", "1h"]);
    assert!(ok, "{stderr}");
    let new = stdout.trim().to_string();
    assert!(new.starts_with("cfl_") && new != old, "{stdout}");
    assert!(
        stderr.contains(&format!("Rotated {id}")) && stderr.contains("The old secret works until"),
        "{stderr}"
    );
    assert_eq!(status(&gw, "GET", &new).await.0, 200);
    assert_eq!(status(&gw, "GET", &old).await.0, 200);
    assert_eq!(
        status(&gw, "POST", &new).await.1,
        "read_only",
        "still read-only"
    );

    // Without an overlap the old secret stops at once.
    let (ok, newest, stderr) = cfl(&["token", "rotate", &id]);
    assert!(ok && stderr.contains("no longer works"), "{stderr}");
    assert_eq!(
        status(&gw, "GET", &new).await,
        (401, "token_rotated".into())
    );
    assert_eq!(status(&gw, "GET", newest.trim()).await.0, 200);

    // Mistakes are said in the CLI's terms.
    let (ok, _, stderr) = cfl(&["token", "rotate", &id, "--overlap", "1w"]);
    assert!(!ok && stderr.contains("90s, 30m, 24h or 7d"), "{stderr}");
    let (ok, _, stderr) = cfl(&["token", "rotate", &id, "--overlap", "9999d"]);
    assert!(
        !ok && stderr.contains("policy.max_rotation_overlap_hours"),
        "{stderr}"
    );
    let (ok, _, stderr) = cfl(&["token", "rotate", "tok_missing"]);
    assert!(!ok && stderr.contains("token_not_found"), "{stderr}");
}
