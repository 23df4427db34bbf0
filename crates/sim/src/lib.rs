//! `cfl sim`: a Confluence stand-in faithful to the documented behaviour of Cloud and Data Center.
//!
//! Every integration test of cfl and the gateway demo run against it. One process serves one
//! flavour (`cloud` or `dc`) on one loopback address; for Cloud the same address plays the site
//! (`/wiki/...`), `api.atlassian.com` (`/ex/confluence/{cloudId}/...`) and `auth.atlassian.com`
//! (`/authorize`, `/oauth/token`).
//!
//! Layout: `config` (TOML), `model` (the in-memory world), `auth` (who is calling, checked the way
//! the real products check it), `content` (REST v1/v2 resources), `pat` (DC token API), `seed` (`--seed` files),
//! `oauth1`/`oauth2` (authorization servers), `oidc` (an OpenID Connect provider), `limits` (rate limiting, latency, faults),
//! `control` (`/__sim/*` for tests), `server` (binding and the start-up line).

pub mod auth;
pub mod config;
pub mod content;
pub mod control;
pub mod error;
pub mod extender;
pub mod limits;
pub mod model;
pub mod oauth1;
pub mod oauth2;
pub mod oidc;
pub mod pat;
pub mod seed;
pub mod server;
pub mod world;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use config::{Flavor, SimConfig};
pub use server::{start, RunningSim};

/// Shared by every handler.
pub struct SimState {
    pub config: SimConfig,
    pub db: Mutex<model::Db>,
    pub clock: Clock,
    pub auth: auth::AuthStore,
    pub limits: limits::Limits,
    /// Signs the media URLs `media_redirect` hands out; random per run.
    pub media_key: [u8; 32],
    /// The OpenID Connect provider, when the config has `[oidc]`.
    pub oidc: Option<oidc::Provider>,
}

pub type Shared = Arc<SimState>;

impl SimState {
    pub fn new(config: SimConfig) -> Shared {
        let clock = Clock::default();
        let db = world::build(&config, clock.now_ms());
        let limits = limits::Limits::new(&config);
        let mut media_key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut media_key);
        let oidc = config.oidc.as_ref().map(|_| oidc::Provider::new());
        Arc::new(SimState {
            media_key,
            oidc,
            db: Mutex::new(db),
            auth: auth::AuthStore::default(),
            limits,
            clock,
            config,
        })
    }

    /// Locks the world. A poisoned lock means a handler panicked mid-update; the simulator keeps
    /// serving (tests then fail on the data, not on a cascade of poison errors).
    pub fn db(&self) -> MutexGuard<'_, model::Db> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn flavor(&self) -> Flavor {
        self.config.flavor
    }
}

/// Wall clock plus an offset that tests move forward (`POST /__sim/clock`) to expire tokens
/// without sleeping.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn now_ms(&self) -> i64 {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        real + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn now_secs(&self) -> i64 {
        self.now_ms() / 1000
    }

    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// ISO-8601 with milliseconds and `Z`, the format Confluence uses for dates in JSON.
pub fn iso8601(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).unwrap_or_default()
}
