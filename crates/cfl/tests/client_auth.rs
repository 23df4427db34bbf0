//! `cfl auth` against a real `cfl sim`: login per method on both flavours (verified before
//! saving), wrong secrets, anonymous answers, status/token/logout/switch, Jira-token reuse, and
//! no secret in any command's output except `cfl auth token`.

mod client_support;
mod common;

use client_support::*;
use common::*;

fn dc() -> Sim {
    Sim::example("sim-dc.toml", "")
}

/// A Cloud simulator (v1 content removed) that fails the test if any request met 410 Gone.
fn cloud() -> NoGoneSim {
    NoGoneSim(Sim::example("sim-cloud.toml", ""))
}

#[test]
fn dc_login_with_pat_and_basic_then_status_and_token() {
    let sim = dc();
    let cli = Cli::new();
    let out = cli.login_dc_pat("work", &sim.base_url);
    assert!(out.stderr.contains("Alice Author"), "{}", out.stderr);
    assert!(
        out.stderr.contains("UNENCRYPTED"),
        "file storage must be said out loud: {}",
        out.stderr
    );
    let out = cli.login(
        "legacy",
        &[
            "--site",
            &sim.base_url,
            "--method",
            "basic",
            "--username",
            "alice",
            "--password-stdin",
        ],
        DC_PASSWORD,
    );
    assert!(
        out.stderr.contains("legacy"),
        "basic must warn: {}",
        out.stderr
    );

    let status = cli.run(&["auth", "status", "--json"], None);
    assert_eq!(status.code, 0, "{}", status.all());
    let v = json(&status.stdout);
    let profiles = v["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2);
    for p in profiles {
        assert_eq!(p["deployment"], "dc");
        assert_eq!(p["user"]["login"], "alice", "{p}");
    }
    let legacy = profiles.iter().find(|p| p["name"] == "legacy").unwrap();
    assert_eq!(legacy["method"], "basic");
    assert_eq!(legacy["current"], true, "the last login is active");

    let tok = cli.run(&["auth", "token", "--profile", "work"], None);
    assert_eq!(tok.stdout.trim(), format!("Bearer {DC_PAT}"));
    let tok = cli.run(&["auth", "token"], None);
    assert_eq!(tok.stdout.trim(), basic("alice", DC_PASSWORD));
}

#[test]
fn cloud_login_with_api_token_detects_cloud_and_scoped_token_uses_the_gateway() {
    let sim = cloud();
    let cli = Cli::new();
    // No --deployment: a loopback URL is not *.atlassian.net, so the probe must find Cloud.
    cli.login(
        "site",
        &[
            "--site",
            &sim.base_url,
            "--method",
            "api-token",
            "--email",
            EMAIL,
            "--token-stdin",
        ],
        CLOUD_TOKEN,
    );
    cli.login(
        "scoped",
        &[
            "--site",
            &sim.base_url,
            "--method",
            "scoped-token",
            "--email",
            EMAIL,
            "--token-stdin",
            "--api-gateway-url",
            &sim.base_url,
        ],
        SCOPED_TOKEN,
    );
    let config = cli.config_text();
    let cloud_id = sim.startup["cloud_id"]
        .as_str()
        .unwrap_or("a436116f-02ce-4520-8fbb-7301462a1674");
    assert!(
        config.contains(&format!("{}/ex/confluence/{cloud_id}/wiki", sim.base_url)),
        "{config}"
    );
    assert!(
        config.contains(&format!("api_base = \"{}/wiki\"", sim.base_url)),
        "{config}"
    );
    assert!(
        !config.contains(SCOPED_TOKEN) && !config.contains(CLOUD_TOKEN),
        "secrets stay out of config.toml"
    );

    let v = json(&cli.run(&["auth", "status", "--json"], None).stdout);
    for p in v["profiles"].as_array().unwrap() {
        assert_eq!(p["user"]["login"], EMAIL, "{p}");
    }
    let deployments: Vec<_> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["deployment"].clone())
        .collect();
    assert!(deployments.contains(&"cloud".into()) && deployments.contains(&"cloud-scoped".into()));
}

#[test]
fn wrong_secrets_save_nothing_and_explain() {
    let dc = dc();
    let cloud = cloud();
    let cli = Cli::new();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (
            vec!["--site", &dc.base_url, "--method", "pat", "--token-stdin"],
            "not-a-valid-pat",
            "personal access token",
        ),
        (
            vec![
                "--site",
                &dc.base_url,
                "--method",
                "basic",
                "--username",
                "alice",
                "--password-stdin",
            ],
            "wrong-pw",
            "password",
        ),
        (
            vec![
                "--site",
                &cloud.base_url,
                "--deployment",
                "cloud",
                "--method",
                "api-token",
                "--email",
                EMAIL,
                "--token-stdin",
            ],
            "ATATT-wrong",
            "id.atlassian.com",
        ),
        // A scoped token on the site URL: Cloud refuses it; the message points at scoped-token.
        (
            vec![
                "--site",
                &cloud.base_url,
                "--deployment",
                "cloud",
                "--method",
                "api-token",
                "--email",
                EMAIL,
                "--token-stdin",
            ],
            SCOPED_TOKEN,
            "--method scoped-token",
        ),
    ];
    for (args, secret, hint) in cases {
        let mut all = vec!["auth", "login", "--insecure-storage", "--profile", "p"];
        all.extend(args.iter().copied());
        let out = cli.run(&all, Some(secret));
        assert_ne!(out.code, 0, "{args:?} must fail");
        assert!(out.stderr.contains("nothing was saved"), "{}", out.stderr);
        assert!(
            out.stderr.contains(hint),
            "{args:?}: expected {hint:?} in {}",
            out.stderr
        );
        assert!(!out.all().contains(secret), "the secret must not be echoed");
        assert!(
            !cli.secrets_exist(),
            "no secret may be saved after a failed login"
        );
        assert!(
            !cli.config_text().contains("[profiles"),
            "no profile after a failed login"
        );
    }
}

#[test]
fn method_that_does_not_fit_the_deployment_is_refused_and_oauth_needs_its_flags() {
    let cloud = cloud();
    let cli = Cli::new();
    let out = cli.run(
        &[
            "auth",
            "login",
            "--site",
            &cloud.base_url,
            "--method",
            "pat",
            "--token-stdin",
        ],
        Some("x"),
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("Cloud") && out.stderr.contains("api-token"),
        "{}",
        out.stderr
    );
    let out = cli.run(
        &[
            "auth",
            "login",
            "--site",
            &cloud.base_url,
            "--method",
            "oauth2",
        ],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("--client-id"), "{}", out.stderr);
    let out = cli.run(
        &[
            "auth",
            "login",
            "--site",
            &cloud.base_url,
            "--method",
            "oauth1",
        ],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("does not offer oauth1"),
        "{}",
        out.stderr
    );
    let out = cli.run(
        &[
            "auth",
            "login",
            "--site",
            &cloud.base_url,
            "--method",
            "password",
        ],
        None,
    );
    assert!(out.stderr.contains("unknown method"), "{}", out.stderr);
    // Without a terminal and without a secret: a clear error, not a hang.
    let out = cli.run(
        &["auth", "login", "--site", &cloud.base_url, "--email", EMAIL],
        None,
    );
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("--token-stdin"), "{}", out.stderr);
}

#[test]
fn anonymous_answer_is_a_failure() {
    // CONFSERVER-98199: with anonymous access on, DC answers a bad PAT as anonymous, no 401.
    let sim = Sim::start(
        &read_example("sim-dc.toml").replace("anonymous_access = false", "anonymous_access = true"),
    );
    let cli = Cli::new();
    let out = cli.run(
        &[
            "auth",
            "login",
            "--insecure-storage",
            "--site",
            &sim.base_url,
            "--method",
            "pat",
            "--token-stdin",
        ],
        Some("bad-pat-answered-anonymously"),
    );
    assert_ne!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("anonymous"), "{}", out.stderr);
    assert!(!cli.secrets_exist());

    // A saved profile whose PAT stops working: status fails (non-zero) and says anonymous.
    cli.login_dc_pat("work", &sim.base_url);
    std::fs::write(
        cli.config_dir().join("secrets.toml"),
        "work = \"revoked-pat\"\n",
    )
    .unwrap();
    let status = cli.run(&["auth", "status"], None);
    assert_ne!(status.code, 0, "{}", status.all());
    assert!(status.stdout.contains("anonymous"), "{}", status.stdout);
}

#[test]
fn profiles_switch_env_override_and_logout() {
    let dc = dc();
    let cloud = cloud();
    let cli = Cli::new();
    cli.login_dc_pat("dc", &dc.base_url);
    cli.login_cloud("cloud", &cloud.base_url);
    let token = |extra: &[(&str, &str)], args: &[&str]| {
        let mut all = vec!["auth", "token"];
        all.extend_from_slice(args);
        cli.run_env(&all, None, extra).stdout.trim().to_string()
    };
    assert_eq!(
        token(&[], &[]),
        basic(EMAIL, CLOUD_TOKEN),
        "last login is active"
    );
    let sw = cli.run(&["auth", "switch", "dc"], None);
    assert_eq!(sw.code, 0, "{}", sw.all());
    assert_eq!(token(&[], &[]), format!("Bearer {DC_PAT}"));
    assert_eq!(
        token(&[("CFL_PROFILE", "cloud")], &[]),
        basic(EMAIL, CLOUD_TOKEN)
    );
    assert_eq!(
        token(&[("CFL_PROFILE", "cloud")], &["--profile", "dc"]),
        format!("Bearer {DC_PAT}")
    );
    let bad = cli.run(&["auth", "switch", "nope"], None);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("no profile named"), "{}", bad.stderr);

    // Status: both verified, the current one marked.
    let v = json(&cli.run(&["auth", "status", "--json"], None).stdout);
    let current: Vec<_> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["name"], "dc");

    let out = cli.run(&["auth", "logout", "--profile", "dc"], None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(
        out.stderr.contains("secrets.toml"),
        "says where it was removed from: {}",
        out.stderr
    );
    let secrets = std::fs::read_to_string(cli.config_dir().join("secrets.toml")).unwrap();
    assert!(
        !secrets.contains(DC_PAT) && secrets.contains("cloud"),
        "{secrets}"
    );
    assert!(!cli.config_text().contains("[profiles.dc]"));
    let out = cli.run(&["auth", "token", "--profile", "dc"], None);
    assert_ne!(out.code, 0);
    // No active profile now, but one remains: commands pick it.
    assert_eq!(token(&[], &[]), basic(EMAIL, CLOUD_TOKEN));
    assert_eq!(cli.run(&["auth", "logout"], None).code, 0);
    assert!(
        !cli.secrets_exist(),
        "the last secret gone, the file is gone"
    );
    let st = cli.run(&["auth", "status"], None);
    assert_ne!(st.code, 0);
    assert!(st.stderr.contains("not logged in"), "{}", st.stderr);
}

#[test]
fn cloud_login_reuses_a_jira_token_from_env_or_netrc() {
    let sim = cloud();
    let args = [
        "auth",
        "login",
        "--insecure-storage",
        "--site",
        &sim.base_url,
        "--deployment",
        "cloud",
        "--method",
        "api-token",
        "--email",
        EMAIL,
        "--use-jira-token",
    ];
    let cli = Cli::new().with_env("JIRA_API_TOKEN", CLOUD_TOKEN);
    let out = cli.run(&args, None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains("JIRA_API_TOKEN"), "{}", out.stderr);

    // A JIRA_URL naming another site: that token is not for this one.
    let cli = Cli::new()
        .with_env("JIRA_API_TOKEN", CLOUD_TOKEN)
        .with_env("JIRA_URL", "https://other.atlassian.net");
    let out = cli.run(&args, None);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("no Jira API token"), "{}", out.stderr);

    // ~/.netrc machine entry for the host.
    let cli = Cli::new();
    std::fs::write(
        cli.dir.path().join(".netrc"),
        format!("machine example.org login x password y\nmachine 127.0.0.1 login {EMAIL} password {CLOUD_TOKEN}\n"),
    )
    .unwrap();
    let out = cli.run(&args, None);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(out.stderr.contains(".netrc"), "{}", out.stderr);
    // Without the flag and without a terminal: mentioned, not used silently.
    let cli2 = Cli::new().with_env("JIRA_API_TOKEN", CLOUD_TOKEN);
    let out = cli2.run(&args[..args.len() - 1], None);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("--use-jira-token"), "{}", out.stderr);
}

#[test]
fn no_command_prints_a_secret_except_auth_token() {
    let dc = dc();
    let cloud = cloud();
    let cli = Cli::new();
    let secrets = [
        DC_PAT,
        DC_PASSWORD,
        CLOUD_TOKEN,
        SCOPED_TOKEN,
        "bad-secret-xyz",
    ];
    let encoded: Vec<String> = [
        basic("alice", DC_PASSWORD),
        basic(EMAIL, CLOUD_TOKEN),
        basic(EMAIL, SCOPED_TOKEN),
        basic("alice", "bad-secret-xyz"),
    ]
    .iter()
    .map(|b| b.trim_start_matches("Basic ").to_string())
    .collect();
    let mut outputs = Vec::new();
    let mut run = |args: &[&str], stdin: Option<&str>| {
        outputs.push((args.join(" "), cli.run(args, stdin).all()))
    };
    run(
        &[
            "--verbose",
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "dc",
            "--site",
            &dc.base_url,
            "--method",
            "pat",
            "--token-stdin",
        ],
        Some(DC_PAT),
    );
    run(
        &[
            "--verbose",
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "b",
            "--site",
            &dc.base_url,
            "--method",
            "basic",
            "--username",
            "alice",
            "--password-stdin",
        ],
        Some(DC_PASSWORD),
    );
    run(
        &[
            "--verbose",
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "x",
            "--site",
            &dc.base_url,
            "--method",
            "basic",
            "--username",
            "alice",
            "--password-stdin",
        ],
        Some("bad-secret-xyz"),
    );
    run(
        &[
            "--verbose",
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "c",
            "--site",
            &cloud.base_url,
            "--method",
            "api-token",
            "--email",
            EMAIL,
            "--token-stdin",
        ],
        Some(CLOUD_TOKEN),
    );
    run(
        &[
            "--verbose",
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "s",
            "--site",
            &cloud.base_url,
            "--method",
            "scoped-token",
            "--email",
            EMAIL,
            "--token-stdin",
            "--api-gateway-url",
            &cloud.base_url,
        ],
        Some(SCOPED_TOKEN),
    );
    run(
        &[
            "--verbose",
            "auth",
            "login",
            "--insecure-storage",
            "--profile",
            "y",
            "--site",
            &cloud.base_url,
            "--method",
            "api-token",
            "--email",
            EMAIL,
            "--token-stdin",
        ],
        Some(SCOPED_TOKEN),
    );
    run(&["--verbose", "auth", "status"], None);
    run(&["auth", "status", "--json"], None);
    for p in ["dc", "b", "c", "s"] {
        run(
            &[
                "--verbose",
                "--profile",
                p,
                "api",
                "/rest/api/user/current",
                "-i",
            ],
            None,
        );
        // An unknown endpoint (on Cloud a v2 path: an unknown v1 path is a removed one).
        let missing = if p == "dc" {
            "/rest/api/does-not-exist"
        } else {
            "/api/v2/does-not-exist"
        };
        run(&["--verbose", "--profile", p, "api", missing], None);
    }
    run(
        &[
            "--verbose",
            "--profile",
            "dc",
            "api",
            "/rest/api/content",
            "-f",
            "title=x",
        ],
        None,
    );
    run(&["auth", "switch", "c"], None);
    run(&["auth", "logout", "--profile", "b"], None);
    for (cmd, out) in &outputs {
        for s in secrets
            .iter()
            .map(|s| s.to_string())
            .chain(encoded.iter().cloned())
        {
            assert!(!out.contains(&s), "`cfl {cmd}` printed a secret: {out}");
        }
    }
    // And the one command whose job is to print it does.
    let tok = cli.run(&["auth", "token", "--profile", "s"], None);
    assert!(tok.stdout.contains(&encoded[2]), "{}", tok.stdout);
}
