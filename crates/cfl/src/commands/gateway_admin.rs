//! The HTTP client `cfl token` and `cfl audit` use to talk to a gateway's admin API.
//! The credential is `CFL_ADMIN_TOKEN` (never a flag: flags end up in shell history), else the
//! admin session `cfl gateway login` stored for this gateway.

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use super::gateway::session::{self, StoredSession};

#[derive(Args, Clone)]
pub struct GatewayArgs {
    /// Gateway base URL.
    #[arg(
        long,
        env = "CFL_GATEWAY_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub gateway: String,
}

/// The gateway's refusal of an admin request: its HTTP status and `{"error", "message"}`.
#[derive(Debug)]
pub struct Refused {
    pub status: reqwest::StatusCode,
    pub code: Option<String>,
    pub message: Option<String>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.code, &self.message) {
            (Some(code), Some(msg)) => {
                write!(f, "gateway answered {} ({code}): {msg}", self.status)
            }
            _ => write!(f, "gateway answered {}", self.status),
        }
    }
}

impl std::error::Error for Refused {}

/// Which admin credential a request carries.
enum Credential {
    AdminToken(String),
    /// From `cfl gateway login`.
    Session(StoredSession),
}

pub struct AdminClient {
    base: String,
    credential: Credential,
    http: reqwest::Client,
}

/// The HTTP client for the admin API and the gateway's sign-in endpoints.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::Client::builder()
        .user_agent(concat!("cfl/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

impl AdminClient {
    /// `CFL_ADMIN_TOKEN`, else the stored session for `--gateway` (refused when it has expired).
    pub fn new(args: &GatewayArgs) -> anyhow::Result<AdminClient> {
        let base = args.gateway.trim_end_matches('/').to_string();
        let credential = match std::env::var("CFL_ADMIN_TOKEN").ok().filter(|t| !t.is_empty()) {
            Some(token) => Credential::AdminToken(token),
            None => match session::load(&base)? {
                Some(s) if s.expired() => anyhow::bail!(
                    "your admin session for {base} expired at {}: run `cfl gateway login --gateway {base}` again",
                    when(Some(s.expires_at * 1000))
                ),
                Some(s) => Credential::Session(s),
                None => anyhow::bail!(
                    "no admin credential for {base}: run `cfl gateway login --gateway {base}` to sign in \
                     with your identity provider, or set CFL_ADMIN_TOKEN to a gateway admin token \
                     (printed by `cfl serve` on its first start)"
                ),
            },
        };
        Ok(AdminClient {
            base,
            credential,
            http: http_client()?,
        })
    }

    /// A client carrying the stored session `s` (for `cfl gateway logout`).
    pub fn with_session(gateway: &str, s: StoredSession) -> anyhow::Result<AdminClient> {
        Ok(AdminClient {
            base: gateway.trim_end_matches('/').to_string(),
            credential: Credential::Session(s),
            http: http_client()?,
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let bearer = match &self.credential {
            Credential::AdminToken(t) => t,
            Credential::Session(s) => &s.session,
        };
        let resp = req.bearer_auth(bearer).send().await.with_context(|| {
            format!(
                "cannot reach the gateway at {} (set CFL_GATEWAY_URL or --gateway)",
                self.base
            )
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let text = |k: &str| body[k].as_str().map(str::to_string);
        let refused = Refused {
            status,
            code: text("error"),
            message: text("message"),
        };
        Err(self.explain(refused))
    }

    /// A refusal in terms of the credential used: what to run to fix it.
    fn explain(&self, r: Refused) -> anyhow::Error {
        let base = &self.base;
        match (&self.credential, r.status.as_u16(), r.code.as_deref()) {
            (Credential::Session(_), 401, _) => anyhow::Error::new(r).context(format!(
                "the gateway no longer accepts your admin session (signed out or expired): \
                 run `cfl gateway login --gateway {base}` again"
            )),
            (Credential::AdminToken(_), 401, _) => anyhow::Error::new(r).context(
                "the gateway refused CFL_ADMIN_TOKEN: check it, or unset it and run `cfl gateway login`",
            ),
            (Credential::Session(s), 403, Some("forbidden_by_role")) => {
                let role = s.role.clone();
                anyhow::Error::new(r)
                    .context(format!("your role ({role}) may not do this on {base}"))
            }
            (_, 403, Some("forbidden_by_role")) => anyhow::Error::new(r)
                .context(format!("this credential's role may not do this on {base}")),
            _ => r.into(),
        }
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await?
            .json()
            .await?)
    }

    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        Ok(self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await?
            .text()
            .await?)
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        Ok(self
            .send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await?
            .json()
            .await?)
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .send(self.http.delete(format!("{}{path}", self.base)))
            .await?
            .json()
            .await?)
    }
}

/// Epoch milliseconds as `2026-11-23 08:01:03Z`, or `-`.
pub fn when(ms: Option<i64>) -> String {
    let Some(ms) = ms.filter(|m| *m > 0) else {
        return "-".into();
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// Prints rows as aligned columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect());
    for r in rows {
        line(r.clone());
    }
}
