//! The state every handler shares: config, the world, the clock, issued credentials, limits.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::Clock;
use crate::config::{Flavor, SimConfig};
use crate::{auth, limits, model, oidc, world};

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
