//! Prometheus metrics at `/metrics`: requests by decision and status, upstream latency, token
//! cache hits and misses, audit queue depth, commits and records, each audit sink's delivery. No
//! label ever carries a token, user or path (a sink's label is its configured name), so the
//! endpoint reveals traffic volume only.

use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
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
    /// Each audit sink's delivery (registered when its task starts).
    pub sinks: std::sync::Mutex<Vec<Arc<SinkStats>>>,
}

/// How far one audit sink has delivered the chain (kept by its task, read at scrape time).
#[derive(Debug, Default)]
pub struct SinkStats {
    pub name: String,
    /// Records in the chain after the last one the receiver acknowledged.
    pub lag: AtomicI64,
    /// Records sent (a record sent again after a failure counts again).
    pub sent: AtomicU64,
    /// Failed attempts (connecting, writing, a non-2xx answer, a connection the receiver closed).
    pub failures: AtomicU64,
    /// When the receiver last acknowledged records (epoch ms; 0: not yet).
    pub last_success_ms: AtomicI64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SinkLabels {
    sink: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::default(),
            // 0.5 ms … ~16 s
            upstream_latency: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            sinks: Default::default(),
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

/// Per sink: lag, records sent, failures and the last acknowledgement, labelled by its name
/// (from the config, never from a request).
fn register_sinks(registry: &mut Registry, metrics: &Metrics) {
    let sinks = metrics.sinks.lock().unwrap_or_else(|e| e.into_inner());
    if sinks.is_empty() {
        return;
    }
    let lag = Family::<SinkLabels, Gauge>::default();
    let sent = Family::<SinkLabels, Counter>::default();
    let failures = Family::<SinkLabels, Counter>::default();
    let last = Family::<SinkLabels, Gauge<f64, AtomicU64>>::default();
    let load = |a: &AtomicI64| a.load(std::sync::atomic::Ordering::Relaxed);
    for s in sinks.iter() {
        let labels = SinkLabels {
            sink: s.name.clone(),
        };
        lag.get_or_create(&labels).set(load(&s.lag));
        sent.get_or_create(&labels)
            .inc_by(s.sent.load(std::sync::atomic::Ordering::Relaxed));
        failures
            .get_or_create(&labels)
            .inc_by(s.failures.load(std::sync::atomic::Ordering::Relaxed));
        last.get_or_create(&labels)
            .set(load(&s.last_success_ms) as f64 / 1000.0);
    }
    registry.register(
        "audit_sink_lag",
        "Audit records in the chain that the sink's receiver has not acknowledged yet",
        lag,
    );
    registry.register(
        "audit_sink_sent",
        "Audit records sent to the sink (resent ones again)",
        sent,
    );
    registry.register(
        "audit_sink_failures",
        "Failed deliveries to the sink (each is retried)",
        failures,
    );
    registry.register(
        "audit_sink_last_success_timestamp_seconds",
        "When the sink's receiver last acknowledged records (0: not yet)",
        last,
    );
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
    register_sinks(&mut registry, metrics);
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
