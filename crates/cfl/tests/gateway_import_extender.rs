//! Migration off Extender's "REST API Tokens" add-on (issue 24): a script that works against a
//! Confluence with the add-on (the simulator's `[extender]`) keeps working, its base URL the only
//! change, once `cfl token import-extender` has moved the tokens into `cfl serve`.

mod common;
use common::gateway::*;
use common::*;

use std::process::Output;

use serde_json::Value;

const REPORTS: &str = "ext-reports-secret-0123456789";
const EXPIRED: &str = "ext-expired-secret-0123456789";
const LOCAL: &str = "ext-local-ip-secret-0123456789";
const ELSEWHERE: &str = "ext-elsewhere-secret-012345678";

/// The add-on with four tokens: rules (one whose meaning anchored matching would change), an
/// expired one, one for this machine's address and one for another address.
fn extender_sim() -> Sim {
    Sim::example(
        "sim-dc.toml",
        &format!(
            r#"
[extender]
[[extender.tokens]]
label = "reports"
user = "svc-reports"
token = "{REPORTS}"
limit_to = ["[get].*/rest/api/space.*", "/rest/api/content"]
[[extender.tokens]]
label = "old job"
user = "alice"
token = "{EXPIRED}"
valid_until = 1000
[[extender.tokens]]
label = "local cron"
user = "alice"
token = "{LOCAL}"
ip = "127.0.0.1"
[[extender.tokens]]
label = "other host"
user = "alice"
token = "{ELSEWHERE}"
ip = "10.9.9.9"
"#
        ),
    )
}

fn impersonating_gateway(sim: &Sim) -> Gateway {
    Gateway::start(
        sim,
        "mode = \"oauth1-impersonation\"\nconsumer_key = \"cfl-gateway\"\nprivate_key_file = \"keys/demo-consumer.key.pem\"",
        "",
        &[],
    )
}

/// `cfl token import-extender --from SIM [extra]` as Confluence's admin, against `gw`.
fn import(sim: &Sim, gw: &Gateway, extra: &[&str]) -> (Output, String) {
    let out = std::process::Command::new(CFL)
        .args([
            "token",
            "import-extender",
            "--from",
            &sim.base_url,
            "--admin-user",
            "admin",
        ])
        .args(extra)
        .env("CFL_GATEWAY_URL", &gw.base_url)
        .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("CONFLUENCE_ADMIN_PASSWORD", "admin")
        .env("XDG_CONFIG_HOME", sim.dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

async fn status(base: &str, path: &str, auth: &str) -> u16 {
    http()
        .get(format!("{base}{path}"))
        .header("authorization", auth)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn gateway_tokens(gw: &Gateway) -> Vec<Value> {
    let v: Value = http()
        .get(gw.url("/admin/v1/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["tokens"].as_array().cloned().unwrap()
}

/// What the script does, against one base URL: (as name, as email, a path outside its rules,
/// the expired token, the local-IP token, the other-IP token).
async fn script(base: &str) -> [u16; 6] {
    [
        status(base, "/rest/api/space", &basic("svc-reports", REPORTS)).await,
        status(
            base,
            "/rest/api/space",
            &basic("svc-reports@example.com", REPORTS),
        )
        .await,
        status(
            base,
            "/rest/api/user/current",
            &basic("svc-reports", REPORTS),
        )
        .await,
        status(base, "/rest/api/space", &basic("alice", EXPIRED)).await,
        status(base, "/rest/api/space", &basic("alice@example.com", LOCAL)).await,
        status(base, "/rest/api/space", &basic("alice", ELSEWHERE)).await,
    ]
}

#[tokio::test]
async fn scripts_keep_working_after_the_import() {
    let sim = extender_sim();
    let gw = impersonating_gateway(&sim);

    // Against Confluence with the add-on.
    assert_eq!(script(&sim.base_url).await, [200, 200, 403, 401, 200, 403]);
    // The add-on's list (with the secrets) is for Confluence admins only.
    let list = "/rest/extender/1.0/tokenTools/get";
    assert_eq!(
        status(&sim.base_url, list, &basic("alice", "alice-pw")).await,
        403
    );
    assert_eq!(
        status(&sim.base_url, list, &basic("admin", "admin")).await,
        200
    );

    // The dry run prints the plan and writes nothing.
    let (out, plan) = import(&sim, &gw, &["--dry-run"]);
    assert!(
        out.status.success(),
        "{plan}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "warn         reports (user svc-reports, 2 rules, expires -)",
        "rule 2: `/rest/api/content` becomes `.*/rest/api/content.*`",
        "skip         old job: expired",
        "create       local cron (user alice, no rules, ip 127.0.0.1, expires -)",
        "create       other host (user alice, no rules, ip 10.9.9.9, expires -)",
    ] {
        assert!(plan.contains(line), "missing {line:?} in:\n{plan}");
    }
    for secret in [REPORTS, EXPIRED, LOCAL, ELSEWHERE] {
        assert!(!plan.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));
    }
    assert!(gateway_tokens(&gw).await.is_empty(), "the dry run wrote");

    // The import recreates the three valid tokens, rules converted.
    let (out, done) = import(&sim, &gw, &[]);
    assert!(
        out.status.success(),
        "{done}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(done.matches(" → tok_").count(), 3, "{done}");
    let tokens = gateway_tokens(&gw).await;
    assert_eq!(tokens.len(), 3);
    let reports = tokens.iter().find(|t| t["label"] == "reports").unwrap();
    assert_eq!(reports["user"], "svc-reports");
    assert_eq!(
        reports["restrictions"],
        serde_json::json!(["[get].*/rest/api/space.*", ".*/rest/api/content.*"])
    );
    let other = tokens.iter().find(|t| t["label"] == "other host").unwrap();
    assert_eq!(other["ipAllowlist"], serde_json::json!(["10.9.9.9"]));

    // The same script, only the base URL changed: the same answers (the expired token is
    // refused as unknown, since it was not imported).
    assert_eq!(script(&gw.base_url).await, [200, 200, 403, 401, 200, 403]);
    // Another user's email is not the bound user's.
    assert_eq!(
        status(
            &gw.base_url,
            "/rest/api/space",
            &basic("alice@example.com", REPORTS)
        )
        .await,
        401
    );

    // A second import finds them all there.
    let (out, again) = import(&sim, &gw, &[]);
    assert!(out.status.success(), "{again}");
    assert_eq!(again.matches("skip-exists").count(), 3, "{again}");
    assert_eq!(gateway_tokens(&gw).await.len(), 3);
}

/// A token that can't be moved is reported and makes the exit code 1; the others still are.
#[tokio::test]
async fn a_token_that_cannot_move_fails_the_import() {
    let sim = Sim::example(
        "sim-dc.toml",
        r#"
[extender]
[[extender.tokens]]
label = "short"
user = "alice"
token = "short-secret"
[[extender.tokens]]
label = "encoded"
user = "alice"
token = "ext-encoded-secret-0123456789"
limit_to = [".*/display/My%20Space.*"]
[[extender.tokens]]
label = "fine"
user = "alice"
token = "ext-fine-secret-0123456789abc"
"#,
    );
    let gw = impersonating_gateway(&sim);
    let (out, text) = import(&sim, &gw, &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("skip         short: its secret is not one the gateway accepts"),
        "{text}"
    );
    assert!(
        text.contains("skip         encoded: none of its rules could be kept"),
        "{text}"
    );
    assert!(text.contains("percent-escapes"), "{text}");
    assert!(text.contains("create       fine (user alice"), "{text}");
    assert_eq!(gateway_tokens(&gw).await.len(), 1);

    // Wrong admin credentials: a clear error, nothing written.
    let out = std::process::Command::new(CFL)
        .args([
            "token",
            "import-extender",
            "--from",
            &sim.base_url,
            "--admin-user",
            "alice",
        ])
        .env("CFL_GATEWAY_URL", &gw.base_url)
        .env("CFL_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("CONFLUENCE_ADMIN_PASSWORD", "alice-pw")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only Confluence administrators"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
