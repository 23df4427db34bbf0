//! Prometheus metrics at `/metrics`: requests by decision and status, upstream latency, token
//! cache hits and misses, audit queue depth, commits and records. No label ever carries a token,
//! user or path, so the endpoint reveals traffic volume only.

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::audit::writer::AuditWriter;
use crate::cache::TokenCache;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// `allow` or `deny`.
    pub decision: &'static str,
    pub status: u16,
}

pub struct Metrics {
    pub requests: Family<RequestLabels, Counter>,
    pub upstream_latency: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::default(),
            // 0.5 ms … ~16 s
            upstream_latency: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
        }
    }
}

impl Metrics {
    pub fn request(&self, decision: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { decision, status })
            .inc();
    }
}

/// Renders the registry; live values (cache, queue) are read at scrape time.
pub fn render(metrics: &Metrics, cache: &TokenCache, audit: &AuditWriter) -> impl IntoResponse {
    let mut registry = Registry::with_prefix("cfl_gateway");
    registry.register(
        "requests",
        "Proxied requests by decision and status",
        metrics.requests.clone(),
    );
    registry.register(
        "upstream_latency_seconds",
        "Time from forwarding a request to Confluence's response head",
        metrics.upstream_latency.clone(),
    );
    let load = |a: &AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    registry.register(
        "token_cache_hits",
        "Token lookups answered from memory",
        ConstCounter::new(load(&cache.hits)),
    );
    registry.register(
        "token_cache_misses",
        "Token lookups that went to the store",
        ConstCounter::new(load(&cache.misses)),
    );
    registry.register(
        "tokens_cached",
        "Tokens held in memory",
        ConstGauge::new(cache.len() as i64),
    );
    let depth: &Arc<AtomicI64> = &audit.depth;
    registry.register(
        "audit_queue_depth",
        "Audit records waiting to be committed",
        ConstGauge::new(depth.load(std::sync::atomic::Ordering::Relaxed)),
    );
    registry.register(
        "audit_commits",
        "Commits of audit records (group commit: each covers every record queued at the time)",
        ConstCounter::new(load(&audit.commits)),
    );
    registry.register(
        "audit_records",
        "Audit records committed",
        ConstCounter::new(load(&audit.committed)),
    );
    let mut body = String::new();
    if encode(&mut body, &registry).is_err() {
        body = "# metrics could not be encoded\n".into();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}
