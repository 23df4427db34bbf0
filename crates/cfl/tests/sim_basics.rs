//! `cfl sim` starts, announces itself, and answers as the configured flavour.

mod common;
use common::*;

#[tokio::test]
async fn dc_sim_prints_startup_line_and_checks_basic_auth() {
    let sim = Sim::example("sim-dc.toml", "");
    assert_eq!(sim.startup["flavor"], "dc");
    assert!(sim.base_url.starts_with("http://127.0.0.1:"));
    let c = http();
    let ok = c
        .get(sim.url("/rest/api/user/current"))
        .header("authorization", basic("admin", "admin"))
        .send()
        .await
        .unwrap();
    assert_ne!(ok.status(), 401);
    let bad = c
        .get(sim.url("/rest/api/user/current"))
        .header("authorization", basic("admin", "wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(
        bad.headers()["x-seraph-loginreason"],
        "AUTHENTICATED_FAILED"
    );
}

#[tokio::test]
async fn cloud_sim_reports_tenant_info() {
    let sim = Sim::example("sim-cloud.toml", "");
    assert_eq!(sim.startup["flavor"], "cloud");
    let body: serde_json::Value = http()
        .get(sim.url("/_edge/tenant_info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["cloudId"], sim.startup["cloud_id"]);
}

#[test]
fn bad_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "flavor = \"server\"\n").unwrap();
    let out = std::process::Command::new(CFL)
        .args(["sim", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("flavor") && err.contains("bad.toml"), "{err}");
}

#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = std::process::Command::new(CFL)
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("serve") && text.contains("token"),
            "{shell} completion lists the commands"
        );
    }
    let man = std::process::Command::new(CFL).arg("man").output().unwrap();
    let text = String::from_utf8(man.stdout).unwrap();
    assert!(text.contains(".TH cfl 1") && text.contains("serve"));
    let bad = std::process::Command::new(CFL)
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("possible values"));
}

#[test]
fn a_missing_config_is_one_clear_line_with_the_resolved_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(CFL)
        .args(["sim", "--config", "nope.toml"])
        .current_dir(dir.path())
        .env_remove("CFL_SIM_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let resolved = dir.path().canonicalize().unwrap().join("nope.toml");
    assert!(
        err.contains(&resolved.display().to_string())
            || err.contains(&dir.path().join("nope.toml").display().to_string()),
        "{err}"
    );
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
