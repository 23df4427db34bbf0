//! Audit sinks through the real `cfl serve` process: a gateway killed with SIGKILL in the middle
//! of traffic and delivery, restarted on the same SQLite store, leaves its syslog receiver with
//! every record (duplicates allowed, none missing); and `--check-config` names each mistake in
//! `[[audit.sinks]]` without showing a secret. The in-process cases (receivers going down under
//! load, PostgreSQL replicas) are in crates/gateway/tests/siem.rs.

mod common;
#[path = "../../gateway/tests/siem_receiver/mod.rs"]
mod siem_receiver;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::gateway::*;
use common::*;
use siem_receiver::{assert_whole_chain, SyslogReceiver};

/// Proxied requests, 4 at a time, until `stop`; counts the answered and the failed (a gateway
/// killed under them).
fn traffic(
    base_url: String,
    auth: String,
    stop: Arc<AtomicBool>,
) -> (
    tokio::task::JoinHandle<()>,
    Arc<AtomicUsize>,
    Arc<AtomicUsize>,
) {
    let (answered, failed) = (Arc::<AtomicUsize>::default(), Arc::<AtomicUsize>::default());
    let (a, f) = (answered.clone(), failed.clone());
    let task = tokio::spawn(async move {
        let workers = (0..4).map(|_| {
            let (url, auth, stop, a, f) = (
                base_url.clone(),
                auth.clone(),
                stop.clone(),
                a.clone(),
                f.clone(),
            );
            tokio::spawn(async move {
                let client = http();
                while !stop.load(Ordering::SeqCst) {
                    let sent = client
                        .get(format!("{url}/rest/api/space"))
                        .header("authorization", &auth)
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => a.fetch_add(1, Ordering::SeqCst),
                        _ => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            f.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                }
            })
        });
        for w in workers.collect::<Vec<_>>() {
            let _ = w.await;
        }
    });
    (task, answered, failed)
}

#[tokio::test]
async fn a_gateway_killed_mid_delivery_resumes_from_its_cursor_and_loses_nothing() {
    let sim = Sim::example("sim-dc.toml", "");
    let receiver = SyslogReceiver::start();
    let (identity, env) = static_identity();
    let sinks = format!(
        "[audit]\ndurability = \"process\"\n[[audit.sinks]]\nname = \"rsyslog\"\nkind = \"syslog\"\naddress = \"{}\"\nbatch_size = 20\nmax_backoff_seconds = 1\n",
        receiver.addr
    );
    let mut gw = Gateway::start(&sim, identity, &sinks, &env);
    let (_, secret) = gw.create_token(token_request("svc-siem")).await;
    let auth = basic("svc-siem", &secret);

    // Traffic, and delivery under way: then SIGKILL, mid-request and mid-delivery.
    let stop = Arc::new(AtomicBool::new(false));
    let (load, answered, failed) = traffic(gw.base_url.clone(), auth.clone(), stop.clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.frames().len() < 150 {
        assert!(Instant::now() < deadline, "nothing delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Long enough for the cursor to move (a syslog batch counts once its connection outlived it
    // by half a second), with traffic still coming.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    gw.kill_hard();
    let answered_before_kill = answered.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    assert!(failed.load(Ordering::SeqCst) > 0, "the kill hit no request");
    let received_at_kill = receiver.frames().len();

    // The same store again: the journal is recovered, delivery resumes from the cursor.
    gw.restart();
    let stop = Arc::new(AtomicBool::new(false));
    let (load, _, _) = traffic(gw.base_url.clone(), auth, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    load.await.unwrap();
    let head = gw.audit("limit=1").await[0]["seq"].as_i64().unwrap();
    assert!(
        head as usize > answered_before_kill,
        "every answered request has its record: {head} ≤ {answered_before_kill}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seqs: std::collections::BTreeSet<i64> =
            receiver.frames().iter().map(|f| f.seq).collect();
        if (1..=head).all(|s| seqs.contains(&s)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the receiver holds {} of {head} records a minute after the restart",
            seqs.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(receiver.malformed(), Vec::<String>::new());
    let records: Vec<_> = receiver.frames().into_iter().map(|f| f.record).collect();
    let duplicates = assert_whole_chain(&records, head);
    eprintln!(
        "{head} records; {received_at_kill} received before the restart; {duplicates} sent twice"
    );
    assert!(
        duplicates < received_at_kill,
        "the restart sent everything again rather than resuming from the cursor"
    );
}

/// Runs `cfl serve --check-config` on `toml` (in a directory of its own) with `env`.
fn check_config(toml: &str, env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, toml).unwrap();
    let mut cmd = Command::new(CFL);
    cmd.args(["serve", "--check-config", "--config"])
        .arg(&config)
        .env_remove("CFL_ADMIN_TOKEN")
        .current_dir(dir.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn check_config_names_each_sink_mistake_and_no_secret() {
    let base = "listen = \"127.0.0.1:8443\"\nstore = \"sqlite:gateway.sqlite\"\n";
    let upstream = "[upstream]\nurl = \"https://confluence.example.com\"\n[upstream.identity]\nmode = \"static\"\ntoken_env = \"SIEM_CHECK_PAT\"\n";
    let pat = ("SIEM_CHECK_PAT", "pat-secret-value-123");
    let hec = ("SIEM_CHECK_HEC", "hec-secret-value-456");
    let good = format!(
        "{base}[[audit.sinks]]\nname = \"rsyslog\"\nkind = \"syslog\"\naddress = \"siem.example.com:6514\"\ntls = true\n\
         [[audit.sinks]]\nname = \"splunk\"\nkind = \"https\"\nurl = \"https://splunk.example.com:8088/services/collector/event\"\nformat = \"splunk-hec\"\ntoken_env = \"SIEM_CHECK_HEC\"\n{upstream}"
    );
    let (code, out) = check_config(&good, &[pat, hec]);
    assert_eq!(code, 0, "{out}");

    let bad = format!(
        "{base}[[audit.sinks]]\nname = \"rsyslog\"\nkind = \"syslog\"\naddress = \"siem.example.com\"\nca_file = \"missing-ca.pem\"\n\
         [[audit.sinks]]\nname = \"splunk\"\nkind = \"https\"\nurl = \"https://splunk.example.com:8088/services/collector/event\"\nformat = \"splunk-hec\"\ntoken_env = \"SIEM_CHECK_UNSET\"\n{upstream}"
    );
    let (code, out) = check_config(&bad, &[pat, hec]);
    assert_eq!(code, 1, "{out}");
    for expected in [
        "[[audit.sinks]] \"rsyslog\": address \"siem.example.com\" is not HOST:PORT: write it as",
        "[[audit.sinks]] \"rsyslog\": cannot read ca_file ",
        "[[audit.sinks]] \"rsyslog\": ca_file is set but tls is not: set tls = true",
        "[[audit.sinks]] \"splunk\": the environment variable SIEM_CHECK_UNSET (token_env) is not set: set SIEM_CHECK_UNSET",
    ] {
        assert!(out.contains(expected), "{expected:?} not in\n{out}");
    }
    // The relative ca_file is named where the gateway would look: beside the config.
    assert!(out.contains("missing-ca.pem"), "{out}");
    assert!(!out.contains(pat.1) && !out.contains(hec.1), "{out}");

    // An unknown kind or setting stops the read, naming the line.
    let (code, out) = check_config(
        &format!("{base}[[audit.sinks]]\nname = \"k\"\nkind = \"kafka\"\n{upstream}"),
        &[pat],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("line 5") && out.contains("syslog") && out.contains("https"),
        "{out}"
    );
}

/// Runs `--check-config` on a config holding the sinks in `block` (whose CA file
/// `/etc/cfl/siem-ca.pem` is replaced by a real one, and whose token variables are set): the
/// documented sinks must be ones the gateway takes.
fn assert_sinks_pass_check_config(block: &str, sinks: usize) {
    let certs = tempfile::tempdir().unwrap();
    let ca = certs.path().join("ca.pem");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=siem-ca", "-keyout"])
        .arg(certs.path().join("ca.key"))
        .arg("-out")
        .arg(&ca)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (installed by scripts/setup.sh)");
    assert!(status.success());
    assert!(block.contains("/etc/cfl/siem-ca.pem"), "{block}");
    let block = block.replace("/etc/cfl/siem-ca.pem", &ca.display().to_string());
    let toml = format!(
        "listen = \"127.0.0.1:8443\"\nstore = \"sqlite:gateway.sqlite\"\n{block}\n[upstream]\nurl = \"https://confluence.example.com\"\n[upstream.identity]\nmode = \"static\"\ntoken_env = \"SIEM_CHECK_PAT\"\n"
    );
    let env = [
        ("SIEM_CHECK_PAT", "pat"),
        ("CFL_SPLUNK_HEC_TOKEN", "hec"),
        ("CFL_AUDIT_HOOK_TOKEN", "hook"),
    ];
    let (code, out) = check_config(&toml, &env);
    assert_eq!(code, 0, "{out}\n{block}");
    assert_eq!(block.matches("[[audit.sinks]]").count(), sinks, "{block}");
}

#[test]
fn the_readme_sink_examples_pass_check_config() {
    let readme = std::fs::read_to_string(examples_dir().join("../README.md")).unwrap();
    let section = &readme[readme.find("### Audit to a SIEM").expect("the section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    assert_sinks_pass_check_config(block, 4);
}

/// examples/gateway.toml's commented sinks, uncommented, pass `--check-config` too.
#[test]
fn the_example_configs_commented_sinks_pass_check_config() {
    let example = read_example("gateway.toml");
    let block: String = example
        .lines()
        .skip_while(|l| *l != "# [[audit.sinks]]")
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_sinks_pass_check_config(&block, 2);
}
