//! The `cfl sim` binary: its flags, the start-up line on stdout, and one-line errors. What the
//! simulator serves is tested in-process in `crates/sim/tests/`.

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

#[test]
fn seed_flag_serves_the_seed_and_a_broken_seed_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[spaces]]\nkey = \"ENG\"\nhomepage = \"Nope\"\n").unwrap();
    let out = std::process::Command::new(CFL)
        .args(["sim", "--flavor", "dc", "--seed"])
        .arg(&broken)
        .env_remove("CFL_SIM_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.toml") && err.contains("homepage \"Nope\""),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let none = std::process::Command::new(CFL)
        .args(["sim"])
        .env_remove("CFL_SIM_CONFIG")
        .output()
        .unwrap();
    assert!(!none.status.success());
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("--config"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
}

#[tokio::test]
async fn flavor_and_seed_start_a_sim_without_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.toml");
    std::fs::write(
        &seed,
        "[[users]]\nname = \"tess\"\ndisplay_name = \"Tess\"\nemail = \"t@example.com\"\npassword = \"pw\"\n\
         [[spaces]]\nkey = \"ENG\"\n[[spaces.pages]]\ntitle = \"Home\"\nbody = \"<p>hi</p>\"\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(CFL)
        .args(["sim", "--flavor", "dc", "--port", "0", "--seed"])
        .arg(&seed)
        .env_remove("CFL_SIM_CONFIG")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let startup: serde_json::Value = serde_json::from_str(&line).unwrap();
    let base = startup["base_url"].as_str().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{startup}");
    assert_ne!(startup["addr"], "127.0.0.1:0", "{startup}");
    let r = http()
        .get(format!("{base}/rest/api/content?spaceKey=ENG&title=Home"))
        .header("authorization", basic("tess", "pw"))
        .send()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["title"], "Home", "{body}");
}
