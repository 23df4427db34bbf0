//! The HTTP client `cfl token` and `cfl audit` use to talk to a gateway's admin API.
//! The admin token comes from `CFL_ADMIN_TOKEN` (never a flag: flags end up in shell history).

use anyhow::Context;
use clap::Args;
use serde_json::Value;

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

pub struct AdminClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl AdminClient {
    pub fn new(args: &GatewayArgs) -> anyhow::Result<AdminClient> {
        let token = std::env::var("CFL_ADMIN_TOKEN").ok().filter(|t| !t.is_empty()).context(
            "set CFL_ADMIN_TOKEN to a gateway admin token (printed by `cfl serve` on its first start)",
        )?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("cfl/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(AdminClient {
            base: args.gateway.trim_end_matches('/').to_string(),
            token,
            http,
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let resp = req.bearer_auth(&self.token).send().await.with_context(|| {
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
        Err(Refused {
            status,
            code: text("error"),
            message: text("message"),
        }
        .into())
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
