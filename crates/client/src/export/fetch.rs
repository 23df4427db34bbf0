//! Export's requests: every GET waits for a slot of the AIMD limiter (`limiter.rs`), goes out
//! once through the HTTP layer (`Client::get_once`: credentials, logging, no retry of its own),
//! feeds its rate-limit headers back to the limiter, and is retried here on 429/503 or a broken
//! connection. The waits are the HTTP layer's (`http::retry_delay`: `Retry-After`, the reset
//! headers, else exponential backoff) and so is the longest wait accepted
//! (`RetryPolicy::max_wait`); what export adds is the limiter, which must see every 429.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::Context;
use serde_json::Value;

use super::limiter::{Limiter, Signal};
use crate::http::{retry_delay, Response, Streamed};
use crate::Client;

/// Attempts of one request that was throttled (429/503) or broke off, before it counts as
/// failed. More than the HTTP layer's default: the limiter slows everyone down between them.
const MAX_ATTEMPTS: u32 = 10;

#[derive(Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub retried: AtomicU64,
}

impl Stats {
    pub fn get(n: &AtomicU64) -> u64 {
        n.load(Ordering::Relaxed)
    }
}

/// Requests through the limiter, with retries of throttling and broken connections.
pub struct Fetcher {
    pub client: Client,
    pub limiter: Arc<Limiter>,
    pub stats: Stats,
}

enum Outcome {
    Done(Response),
    Again(Duration),
}

impl Fetcher {
    pub fn new(client: Client, start: usize, max: usize) -> Fetcher {
        Fetcher {
            client,
            limiter: Limiter::new(start.min(max), max),
            stats: Stats::default(),
        }
    }

    async fn attempt(
        &self,
        url: &str,
        dest: Option<&Path>,
        attempt: u32,
    ) -> crate::error::Result<Outcome> {
        let slot = self.limiter.acquire().await;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let res = match dest {
            None => self.client.get_once(url, None).await,
            Some(dest) => self.download_once(url, dest).await,
        };
        drop(slot);
        let r = match res {
            Ok(r) => r,
            Err(_) if attempt + 1 < MAX_ATTEMPTS => {
                let d = retry_delay(
                    &Default::default(),
                    attempt,
                    SystemTime::now(),
                    rand::random(),
                );
                return Ok(Outcome::Again(d.min(Duration::from_secs(5))));
            }
            Err(e) => return Err(e),
        };
        let mut sig = Signal::from_headers(r.status, &r.headers);
        if r.status == 429 || r.status == 503 {
            let d = retry_delay(&r.headers, attempt, SystemTime::now(), rand::random());
            sig.throttled = true;
            sig.retry_after = Some(d);
            self.limiter.observe(sig);
            self.stats.throttled.fetch_add(1, Ordering::Relaxed);
            if attempt + 1 < MAX_ATTEMPTS && d <= self.client.retry.max_wait {
                return Ok(Outcome::Again(d));
            }
            return Ok(Outcome::Done(r));
        }
        self.limiter.observe(sig);
        Ok(Outcome::Done(r))
    }

    /// One download through the HTTP layer's redirect-following GET (to another host, such as
    /// Cloud's media store, without the credential), its body streamed into `dest`.
    async fn download_once(&self, url: &str, dest: &Path) -> crate::error::Result<Response> {
        use std::io::Write;
        let mut resp = match self
            .client
            .send_for_download(url, crate::http::SendPolicy::CallerPaced)
            .await?
        {
            Streamed::Ok(resp) => resp,
            Streamed::Read(r) => return Ok(r),
        };
        let status = resp.status();
        let r = Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("").to_string(),
            headers: resp.headers().clone(),
            body: Vec::new(),
            url: url.to_string(),
            method: "GET".into(),
        };
        let expected = resp.content_length();
        let mut f = std::fs::File::create(dest)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        let mut written = 0u64;
        while let Some(chunk) = resp.chunk().await.context("the download broke off")? {
            f.write_all(&chunk)
                .with_context(|| format!("cannot write {}", dest.display()))?;
            written += chunk.len() as u64;
        }
        if expected.is_some_and(|n| n != written) {
            crate::error::invalid!("the download broke off after {written} bytes");
        }
        f.sync_data()
            .with_context(|| format!("cannot write {}", dest.display()))?;
        Ok(r)
    }

    /// A GET (a path under the API base, or an absolute URL on the site), retried while
    /// throttled; the final response whatever its status. With `dest`, a 2xx body goes to that
    /// file instead of memory.
    pub async fn get(
        &self,
        path_or_url: &str,
        dest: Option<&Path>,
    ) -> crate::error::Result<Response> {
        let url = self.client.url(path_or_url)?;
        let mut attempt = 0;
        loop {
            match self.attempt(&url, dest, attempt).await? {
                Outcome::Done(r) => return Ok(r),
                Outcome::Again(d) => {
                    self.stats.retried.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(d).await;
                    attempt += 1;
                }
            }
        }
    }

    /// A GET that must succeed, as JSON.
    pub async fn json(&self, path_or_url: &str) -> crate::error::Result<Value> {
        let r = self.get(path_or_url, None).await?;
        if !r.is_success() {
            return Err(self.client.refusal(&r, &format!("GET {}", r.url)));
        }
        r.json()
    }
}
