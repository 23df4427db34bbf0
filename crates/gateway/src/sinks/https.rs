//! Batches of records POSTed over HTTP(S): JSON lines to a generic webhook, or events to
//! Splunk's HTTP Event Collector. A 2xx answer acknowledges the whole batch; anything else (or
//! no answer) and the batch is sent again.

use std::time::Duration;

use anyhow::Context;

use super::config::{HttpsFormat, SinkConfig};
use super::format::{hec_event, json_line, local_hostname, HecMeta};
use crate::audit::AuditRecord;

const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Https {
    client: reqwest::Client,
    url: String,
    /// The `Authorization` header's value, if any (never logged).
    authorization: Option<reqwest::header::HeaderValue>,
    /// `None`: JSON lines.
    hec: Option<HecMeta>,
}

impl Https {
    /// `env` gives the token the config names by variable.
    pub fn new(config: &SinkConfig, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Https> {
        let url = config.url.clone().context("an https sink needs a url")?;
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(10));
        if url.starts_with("https:") {
            builder = builder
                .use_preconfigured_tls(super::syslog::client_tls(config.ca_file.as_deref())?);
        }
        let client = builder.build().context("cannot set up the HTTP client")?;
        let format = config.format.unwrap_or_default();
        let authorization = match &config.token_env {
            Some(var) => {
                let token = env(var).filter(|t| !t.trim().is_empty()).with_context(|| {
                    format!("the environment variable {var} (token_env) is not set")
                })?;
                let scheme = match format {
                    HttpsFormat::SplunkHec => "Splunk",
                    HttpsFormat::Json => "Bearer",
                };
                let mut value =
                    reqwest::header::HeaderValue::try_from(format!("{scheme} {}", token.trim()))
                        .map_err(|_| {
                            anyhow::anyhow!(
                                "the token in {var} holds characters a header can't carry"
                            )
                        })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let hec = (format == HttpsFormat::SplunkHec).then(|| HecMeta {
            host: local_hostname(),
            sourcetype: config
                .sourcetype
                .clone()
                .unwrap_or_else(|| "cfl:audit".into()),
            index: config.index.clone(),
        });
        Ok(Https {
            client,
            url,
            authorization,
            hec,
        })
    }

    /// POSTs `records` as one body; `Ok` once the receiver answered 2xx.
    pub async fn send(&mut self, records: &[AuditRecord]) -> anyhow::Result<()> {
        let mut body = Vec::with_capacity(records.len() * 400);
        for r in records {
            match &self.hec {
                Some(meta) => hec_event(&mut body, meta, r),
                None => json_line(&mut body, r),
            }
        }
        let content_type = match self.hec {
            Some(_) => "application/json",
            None => "application/x-ndjson",
        };
        let mut request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some(auth) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, auth.clone());
        }
        let answer = request
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("cannot POST to {}: {}", self.url, with_sources(&e)))?;
        let status = answer.status();
        if status.is_success() {
            return Ok(());
        }
        // A little of the answer says why (HEC: {"text": "Invalid token", "code": 4}).
        let text = answer.text().await.unwrap_or_default();
        let text: String = text.chars().take(200).collect();
        anyhow::bail!("{} answered {status}: {}", self.url, text.trim())
    }
}

/// reqwest's error text, with its source chain (the cause of a connection failure).
fn with_sources(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
