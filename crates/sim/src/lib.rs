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
mod clock;
pub mod config;
pub mod content;
pub mod control;
pub mod error;
pub mod limits;
pub mod model;
pub mod oauth1;
pub mod oauth2;
pub mod oidc;
pub mod pat;
pub mod seed;
pub mod server;
mod state;
pub mod world;

pub use clock::{iso8601, Clock};
pub use config::{Flavor, SimConfig};
pub use server::{start, RunningSim};
pub use state::{Shared, SimState};
