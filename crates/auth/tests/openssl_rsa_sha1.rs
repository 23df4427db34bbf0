//! Independent check of our RSA-SHA1 signatures: PKCS#1 v1.5 is deterministic, so the openssl
//! CLI (`openssl dgst -sha1 -sign key.pem | base64`) must produce exactly the same bytes.
//! Skips (with a message) when `openssl` is not installed.

use std::io::Write;
use std::process::{Command, Stdio};

use base64::Engine;
use cfl_auth::oauth1::{signature_base_string, Consumer, PrivateKey, RequestParts, TokenParams};

fn key_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/keys")
        .join(name)
}

fn openssl_sign(key: &std::path::Path, data: &str) -> Option<String> {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha1", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(data.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    assert!(out.status.success(), "openssl dgst failed");
    Some(base64::engine::general_purpose::STANDARD.encode(out.stdout))
}

#[test]
fn our_signature_equals_openssl_dgst_sha1_sign() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipping: openssl CLI not installed");
        return;
    }
    for key_file in ["demo-consumer.key.pem", "other-consumer.key.pem"] {
        let path = key_path(key_file);
        let pem = std::fs::read_to_string(&path).unwrap();
        let consumer = Consumer::from_pem("cfl-gateway", &pem).unwrap();
        let url = "http://127.0.0.1:8090/confluence/rest/api/content?spaceKey=DEV&xoauth_requestor_id=svc-reports";
        let req = RequestParts::new("GET", url);
        let header = consumer
            .sign(&req, TokenParams::TwoLegged, "abc123", 1_763_000_000)
            .unwrap();
        let base = signature_base_string(&req, header.params()).unwrap();
        let ours = header.get("oauth_signature").unwrap();
        let theirs = openssl_sign(&path, &base).expect("run openssl");
        assert_eq!(ours, theirs, "{key_file}");
        // And the plain signer on an arbitrary string.
        let key = PrivateKey::from_pem(&pem).unwrap();
        assert_eq!(
            key.sign("POST&x&a%3Db").unwrap(),
            openssl_sign(&path, "POST&x&a%3Db").unwrap()
        );
    }
}
