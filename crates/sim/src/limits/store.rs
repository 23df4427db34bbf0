//! What the limits layer keeps: a token bucket per caller, the armed faults and the request log.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::auth::AuthMethod;
use crate::config::RateLimitConfig;
use crate::SimConfig;

pub struct Limits {
    /// How many requests `GET /__sim/requests` remembers (`request_log_entries`).
    pub(super) log_capacity: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
    pub faults: Mutex<Faults>,
    pub log: Mutex<VecDeque<RequestRecord>>,
    pub seen: std::sync::atomic::AtomicU64,
}

struct Bucket {
    tokens: f64,
    last_ms: i64,
}

/// Faults armed through `POST /__sim/faults`; every field optional there.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Status (500–599) served to the next `count` matching requests.
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub count: u32,
    /// Only requests whose path starts with this (e.g. `/wiki/rest/api/content`) are affected.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// The next N matching responses are cut off mid-body (the connection drops).
    #[serde(default)]
    pub drop_connections: u32,
    /// Extra latency added to every request until cleared.
    #[serde(default)]
    pub latency_ms: u64,
}

/// One line of `GET /__sim/requests`. Query values of credential-looking parameters are
/// redacted; headers are never recorded.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub at: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub user: Option<String>,
    pub auth_method: Option<AuthMethod>,
    pub status: u16,
}

pub(super) enum Decision {
    Allowed { remaining: u32 },
    Limited { retry_after_s: u64 },
}

impl Limits {
    pub fn new(config: &SimConfig) -> Limits {
        Limits {
            log_capacity: config.request_log_entries,
            buckets: Mutex::new(HashMap::new()),
            faults: Mutex::new(Faults::default()),
            log: Mutex::new(VecDeque::new()),
            seen: Default::default(),
        }
    }

    pub(super) fn take(&self, key: &str, rl: &RateLimitConfig, now_ms: i64) -> Decision {
        let cap = rl.requests as f64;
        let per_ms = cap / (rl.interval_seconds as f64 * 1000.0);
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = b.entry(key.to_string()).or_insert(Bucket {
            tokens: cap,
            last_ms: now_ms,
        });
        let elapsed = (now_ms - bucket.last_ms).max(0) as f64;
        bucket.tokens = (bucket.tokens + elapsed * per_ms).min(cap);
        bucket.last_ms = now_ms;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Decision::Allowed {
                remaining: bucket.tokens.floor() as u32,
            }
        } else {
            let wait_ms = (1.0 - bucket.tokens) / per_ms;
            Decision::Limited {
                retry_after_s: ((wait_ms / 1000.0).ceil() as u64).max(1),
            }
        }
    }

    pub fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn recent(&self) -> std::sync::MutexGuard<'_, VecDeque<RequestRecord>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}
