//! `cfl man`: a page for cfl and for every command it lists (issue 19), each with ENVIRONMENT,
//! EXIT STATUS and EXAMPLES.

mod common;
use common::CFL;

use std::process::{Command, Output};

fn man(args: &[&str]) -> Output {
    Command::new(CFL).arg("man").args(args).output().unwrap()
}

fn page(args: &[&str]) -> String {
    let out = man(args);
    assert!(
        out.status.success(),
        "cfl man {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_sections(page: &str, what: &str) {
    for section in [".SH ENVIRONMENT", ".SH \"EXIT STATUS\"", ".SH EXAMPLES"] {
        assert!(page.contains(section), "{what} lacks {section}");
    }
}

#[test]
fn every_command_the_main_page_lists_has_a_page_of_its_own() {
    let main = page(&[]);
    assert_sections(&main, "cfl(1)");
    // clap lists subcommands as `cfl\-auth(1)`.
    let listed: Vec<String> = main
        .split("cfl\\-")
        .skip(1)
        .filter_map(|rest| rest.split_once("(1)").map(|(name, _)| name.to_string()))
        .filter(|name| name.chars().all(|c| c.is_ascii_lowercase()))
        .collect();
    assert!(listed.len() >= 15, "{listed:?}");
    for name in &listed {
        let p = page(&[name]);
        assert!(
            p.contains(&format!(".TH cfl-{name} 1")),
            "cfl man {name}: {p}"
        );
        assert_sections(&p, name);
    }
    // And their verbs: `cfl man auth login`.
    let login = page(&["auth", "login"]);
    assert!(login.contains(".TH cfl-auth-login 1"), "{login}");
    assert_sections(&login, "cfl-auth-login");
    assert!(login.contains("\\-\\-token\\-stdin"), "its own examples");
}

#[test]
fn pages_name_the_environment_each_command_reads() {
    let auth = page(&["auth"]);
    for var in [
        "CFL_CONFIG_DIR",
        "CFL_PROFILE",
        "CONFLUENCE_URL",
        "CONFLUENCE_PAT",
        "CFL_LOG",
        "NO_COLOR",
    ] {
        assert!(auth.contains(var), "cfl-auth(1) names {var}");
    }
    assert!(
        !auth.contains("CFL_ADMIN_TOKEN"),
        "not a variable cfl auth reads"
    );
    let token = page(&["token"]);
    for var in ["CFL_GATEWAY_URL", "CFL_ADMIN_TOKEN"] {
        assert!(token.contains(var), "cfl-token(1) names {var}");
    }
    let serve = page(&["serve"]);
    assert!(serve.contains("CFL_STORE") && serve.contains("\\-\\-new\\-admin\\-token"));
    // Exit status 4 belongs to commands that present a credential to Confluence.
    assert!(auth.contains("\n.TP\n\\fB4\\fR"), "{auth}");
    assert!(!serve.contains("\n.TP\n\\fB4\\fR"));
}

#[test]
fn an_unknown_command_is_a_clear_error() {
    let out = man(&["nope"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("`cfl nope` is not a command") && err.contains("auth"),
        "{err}"
    );
}

#[test]
fn pages_render_with_man_when_it_is_installed() {
    if Command::new("man").arg("--version").output().is_err() {
        eprintln!("skipping: man is not installed");
        return;
    }
    let roff = page(&["audit"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cfl-audit.1");
    std::fs::write(&file, roff).unwrap();
    let out = Command::new("man")
        .arg("-l")
        .arg(&file)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("EXIT STATUS") && text.contains("CFL_GATEWAY_URL"),
        "{text}"
    );
    assert!(
        text.contains("cfl audit verify --store sqlite:"),
        "examples print literally: {text}"
    );
}
