//! `cfl serve --check-config`: every problem a config has, each as one line saying what is wrong
//! and how to fix it, without starting the gateway, opening the store or using the network.
//!
//! Unlike `server::check` (which stops at the first error, on the way to a start) this keeps going,
//! so an admin fixes a new server's config in one round. No line ever shows a secret: TOML
//! errors are reported by line and column, never with the offending text, since a malformed line
//! may hold an inline PAT.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::config::{GatewayConfig, IdentityConfig};

/// One thing that keeps the gateway from starting with this config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong, naming the setting (and file) concerned.
    pub what: String,
    /// How to fix it.
    pub fix: String,
}

impl Problem {
    fn new(what: impl Into<String>, fix: impl Into<String>) -> Problem {
        Problem {
            what: what.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.fix)
    }
}

/// Reads and parses the config file without validating its values, every relative path made
/// relative to the file's directory (as `GatewayConfig::load` does), so that `check` can report
/// all of its problems rather than the first.
pub fn read(path: &Path) -> Result<GatewayConfig, Problem> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problem::new(
            format!(
                "cannot read the config {}: {}",
                path.display(),
                io_reason(&e)
            ),
            fix_for_file(&e, "the config file"),
        )
    })?;
    let mut config: GatewayConfig = toml::from_str(&text).map_err(|e| {
        let at = e
            .span()
            .map(|s| {
                let (line, column) = line_column(&text, s.start);
                format!(" at line {line}, column {column}")
            })
            .unwrap_or_default();
        Problem::new(
            format!("{}{at} is not a valid gateway config", path.display()),
            format!(
                "{}; every setting is described in the documented example (examples/gateway.toml, /usr/share/doc/cfl/gateway.toml.example)",
                e.message().trim_end()
            ),
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let base = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    config.resolve_paths(&base);
    Ok(config)
}

/// Every problem in `config` (already read, with command-line overrides applied). `env` looks up
/// environment variables (the secrets the config names and the bootstrap admin token). Empty:
/// the gateway can start with it.
pub fn check(config: &GatewayConfig, env: &dyn Fn(&str) -> Option<String>) -> Vec<Problem> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut problems = Vec::new();
    if let Err(e) = config.validate() {
        let message = e.to_string();
        let message = message
            .strip_prefix("invalid gateway config: ")
            .unwrap_or(&message);
        // `[admin.oidc]` problems are all listed below, each with its own fix.
        if !message.contains("admin.oidc") {
            problems.push(Problem::new(
                message.to_string(),
                "correct this setting in the config",
            ));
        }
    }
    if let Some(oidc) = &config.admin.oidc {
        for (what, fix) in oidc.problems(env) {
            problems.push(Problem::new(what, fix));
        }
    }
    check_listen(config.listen, &mut problems);
    check_store(&config.store, &mut problems);
    if let Some(tls) = &config.tls {
        let before = problems.len();
        check_file(&tls.cert_file, "[tls] cert_file", &mut problems);
        check_file(&tls.key_file, "[tls] key_file", &mut problems);
        if problems.len() == before {
            if let Err(e) = crate::tls::Tls::load(&tls.cert_file, &tls.key_file) {
                problems.push(Problem::new(
                    format!("[tls]: {e:#}"),
                    "give a PEM certificate chain in cert_file and its PEM private key (PKCS#8, PKCS#1 or SEC1) in key_file",
                ));
            }
        }
    }
    check_identity(&config.upstream.identity, env, &mut problems);
    // Building the upstream checks what is left (header names, the PAT encryption key's
    // format); only when nothing above is wrong, so no problem is reported twice.
    if problems.is_empty() {
        if let Err(e) = crate::proxy::upstream::Upstream::from_config(&config.upstream) {
            problems.push(Problem::new(
                format!(
                    "[upstream.identity] mode {}: {e:#}",
                    config.upstream.identity.mode()
                ),
                "correct the identity settings (see the documented example for this mode)",
            ));
        }
    }
    let admin_env = config
        .admin
        .token_env
        .clone()
        .unwrap_or_else(|| "CFL_ADMIN_TOKEN".into());
    if let Some(secret) = env(&admin_env).filter(|s| !s.is_empty()) {
        if secret.chars().count() < crate::token::MIN_CUSTOM_SECRET {
            problems.push(Problem::new(
                format!(
                    "the admin token in {admin_env} is shorter than {} characters",
                    crate::token::MIN_CUSTOM_SECRET
                ),
                format!("set {admin_env} to a longer secret (e.g. openssl rand -base64 32), or unset it to have one generated on the first start"),
            ));
        }
    }
    problems
}

/// A port below the unprivileged range needs `CAP_NET_BIND_SERVICE`, which the packaged service
/// doesn't have unless the admin grants it: say so now rather than fail at bind time.
fn check_listen(listen: std::net::SocketAddr, problems: &mut Vec<Problem>) {
    #[cfg(target_os = "linux")]
    {
        const CAP_NET_BIND_SERVICE: u32 = 10;
        let first_unprivileged =
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
                .ok()
                .and_then(|s| s.trim().parse::<u16>().ok())
                .unwrap_or(1024);
        // CapEff in /proc/self/status: this process's effective capabilities, a hex mask.
        let may_bind_low = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let mask = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
                u64::from_str_radix(mask.trim(), 16).ok()
            })
            .is_none_or(|mask| mask & (1 << CAP_NET_BIND_SERVICE) != 0);
        let port = listen.port();
        if port != 0 && port < first_unprivileged && !may_bind_low {
            problems.push(Problem::new(
                format!("listen {listen}: ports below {first_unprivileged} need the capability CAP_NET_BIND_SERVICE, which this process lacks"),
                "listen on a port from 1024 up (e.g. 8443, behind a load balancer or a firewall redirect), or grant it: `systemctl edit cfl-gateway` with CapabilityBoundingSet=CAP_NET_BIND_SERVICE and AmbientCapabilities=CAP_NET_BIND_SERVICE",
            ));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (listen, problems);
}

/// A SQLite store's directory must exist and take new files (the database, its WAL and the
/// audit journal); an existing database file must be readable and writable. A PostgreSQL URL
/// must parse (the server itself is not contacted).
fn check_store(store: &str, problems: &mut Vec<Problem>) {
    if store.starts_with("postgres://") || store.starts_with("postgresql://") {
        if let Err(e) = url::Url::parse(store) {
            problems.push(Problem::new(
                format!("store: the PostgreSQL URL does not parse ({e})"),
                "write it as postgres://USER@HOST[:PORT]/DATABASE (percent-encode special characters; prefer PGPASSWORD or a .pgpass file to a password in the URL)",
            ));
        }
        return;
    }
    let Some(file) = crate::store::sqlite_path(store) else {
        return; // validate() names the unknown scheme
    };
    if !crate::store::is_file_path(&file) {
        return;
    }
    let dir = match file.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.to_path_buf(),
        None => PathBuf::from("."),
    };
    let shown = crate::store::redact_url(store);
    if !dir.is_dir() {
        problems.push(Problem::new(
            format!("store {shown}: the directory {} does not exist", dir.display()),
            "create it, owned by the user the gateway runs as, or point store at another sqlite:PATH",
        ));
        return;
    }
    // The honest test of "can this user create files here" (ownership, ACLs, read-only mounts,
    // a service's ProtectSystem): create one and remove it.
    let probe = dir.join(format!(".cfl-check-config-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => problems.push(Problem::new(
            format!(
                "store {shown}: cannot create files in {} ({})",
                dir.display(),
                io_reason(&e)
            ),
            "make the directory writable by the user the gateway runs as (SQLite keeps its WAL and the audit journal beside the database)",
        )),
    }
    if file.exists() {
        if let Err(e) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&file)
        {
            problems.push(Problem::new(
                format!(
                    "store {shown}: cannot open the database {} for writing ({})",
                    file.display(),
                    io_reason(&e)
                ),
                "give the user the gateway runs as read and write access to it (chown it to that user)",
            ));
        }
    }
}

/// The identity's key file (read and parsed) and the environment variables it names (set).
fn check_identity(
    identity: &IdentityConfig,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) {
    let mode = identity.mode();
    let mut needs_env = |setting: &str, name: &str, what: &str| {
        if env(name).filter(|v| !v.is_empty()).is_none() {
            problems.push(Problem::new(
                format!("[upstream.identity] {setting} = {name:?}: the environment variable {name} is not set"),
                format!("set {name} to {what} in the gateway's environment (for the service: /etc/cfl/gateway.env, mode 0640)"),
            ));
        }
    };
    let mut key_file = None;
    match identity {
        IdentityConfig::Oauth1Impersonation {
            consumer_key,
            private_key_file,
        } => key_file = Some((consumer_key, private_key_file)),
        IdentityConfig::MintedPat {
            consumer_key,
            private_key_file,
            encryption_key_env,
            ..
        } => {
            needs_env(
                "encryption_key_env",
                encryption_key_env,
                "a 32-byte key, base64 (openssl rand -base64 32)",
            );
            key_file = Some((consumer_key, private_key_file));
        }
        IdentityConfig::Static { token_env, .. } => {
            if let Some(name) = token_env {
                needs_env("token_env", name, "the PAT or API token");
            }
        }
        IdentityConfig::ClientCredentials {
            client_secret_env,
            token_url,
            ..
        } => {
            needs_env(
                "client_secret_env",
                client_secret_env,
                "the OAuth 2.0 client secret",
            );
            if !matches!(url::Url::parse(token_url), Ok(u) if matches!(u.scheme(), "http" | "https"))
            {
                problems.push(Problem::new(
                    format!("[upstream.identity] token_url {token_url:?} is not an http(s) URL"),
                    "use https://auth.atlassian.com/oauth/token (the default) or your token endpoint",
                ));
            }
        }
        IdentityConfig::Header { secret_env, .. } => {
            needs_env(
                "secret_env",
                secret_env,
                "the secret shared with Confluence's SSO proxy",
            );
        }
    }
    if let Some((consumer_key, file)) = key_file {
        let before = problems.len();
        check_file(file, "[upstream.identity] private_key_file", problems);
        if problems.len() == before {
            let pem = std::fs::read_to_string(file).unwrap_or_default();
            if let Err(e) = cfl_auth::oauth1::Consumer::from_pem(consumer_key.clone(), &pem) {
                problems.push(Problem::new(
                    format!(
                        "[upstream.identity] private_key_file {} (mode {mode}) is not an RSA private key: {e}",
                        file.display()
                    ),
                    "give the PEM private key (PKCS#8 or PKCS#1) whose public key the application link in Confluence holds",
                ));
            }
        }
    }
}

/// A file the config names: there, a file, readable by this user.
fn check_file(path: &Path, setting: &str, problems: &mut Vec<Problem>) {
    match std::fs::File::open(path) {
        Ok(f) if f.metadata().map(|m| m.is_file()).unwrap_or(false) => {}
        Ok(_) => problems.push(Problem::new(
            format!("{setting} {} is not a file", path.display()),
            "name the file itself (a relative path is relative to the config file's directory)",
        )),
        Err(e) => problems.push(Problem::new(
            format!("{setting} {}: {}", path.display(), io_reason(&e)),
            fix_for_file(&e, "the file"),
        )),
    }
}

fn io_reason(e: &std::io::Error) -> &'static str {
    match e.kind() {
        ErrorKind::NotFound => "no such file",
        ErrorKind::PermissionDenied => "permission denied",
        ErrorKind::ReadOnlyFilesystem => "read-only file system",
        ErrorKind::IsADirectory => "it is a directory",
        _ => "cannot be opened",
    }
}

fn fix_for_file(e: &std::io::Error, what: &str) -> String {
    match e.kind() {
        ErrorKind::NotFound => format!("create {what} there or correct the path (a relative path is relative to the config file's directory)"),
        ErrorKind::PermissionDenied => format!("make {what} readable by the user the gateway runs as (for the service: chgrp cfl-gateway FILE && chmod 640 FILE)"),
        _ => format!("check {what} and the directories above it"),
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_as_the_loader_resolves_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        for text in [
            "store = \"sqlite:data/gw.sqlite?cache=shared\"\n[tls]\ncert_file = \"tls/c.pem\"\nkey_file = \"/etc/k.pem\"\n[upstream]\nurl = \"http://127.0.0.1:1\"\n[upstream.identity]\nmode = \"oauth1-impersonation\"\nconsumer_key = \"k\"\nprivate_key_file = \"keys/k.pem\"\n",
            "[upstream]\nurl = \"http://127.0.0.1:1\"\n[upstream.identity]\nmode = \"minted-pat\"\nconsumer_key = \"k\"\nprivate_key_file = \"k.pem\"\nencryption_key_env = \"K\"\n",
            "store = \"postgres://u@h/db\"\n[upstream]\nurl = \"http://127.0.0.1:1\"\n[upstream.identity]\nmode = \"static\"\npat = \"x\"\n",
        ] {
            std::fs::write(&path, text).unwrap();
            let ours = read(&path).unwrap();
            let loaded = GatewayConfig::load(&path).unwrap();
            assert_eq!(format!("{ours:?}"), format!("{loaded:?}"));
        }
    }

    #[test]
    fn every_admin_oidc_problem_is_listed_once_and_secrets_come_from_env() {
        let text = "[admin.oidc]\nissuer = \"ftp://idp\"\nclient_id = \"\"\nclient_secret_env = \"OIDC_SECRET\"\n\
                    [upstream]\nurl = \"http://127.0.0.1:1\"\n[upstream.identity]\nmode = \"static\"\npat = \"x\"\n";
        let config: GatewayConfig = toml::from_str(text).unwrap();
        let lines: Vec<String> = check(&config, &|_| None)
            .iter()
            .map(|p| p.to_string())
            .filter(|p| p.contains("oidc"))
            .collect();
        for part in [
            "admin.oidc.issuer",
            "client_id",
            "[admin.oidc.roles]",
            "OIDC_SECRET is not set",
        ] {
            let n = lines.iter().filter(|l| l.contains(part)).count();
            assert_eq!(n, 1, "{part} once in {lines:#?}");
        }
        let with_secret = check(&config, &|k| (k == "OIDC_SECRET").then(|| "s".to_string()));
        assert!(
            with_secret
                .iter()
                .all(|p| !p.to_string().contains("OIDC_SECRET")),
            "{with_secret:?}"
        );
    }

    #[test]
    fn a_toml_error_names_the_line_and_never_shows_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.toml");
        std::fs::write(
            &path,
            "[upstream]\nurl = \"http://h\"\n[upstream.identity]\nmode = \"static\"\npat = \"s3cr3t-pat-value\n",
        )
        .unwrap();
        let problem = read(&path).unwrap_err().to_string();
        assert!(problem.contains("line 5"), "{problem}");
        assert!(!problem.contains("s3cr3t"), "{problem}");
    }
}
