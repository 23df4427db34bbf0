//! `cfl serve`: a token gateway in front of Confluence for accounts that can't log in.
//!
//! Admins issue tokens bound to a user (or to anyone), restricted by method/URL/query/JSON rules,
//! an IP allowlist and an expiry. The gateway checks each request against its token, acts
//! upstream as the bound user, and audits everything.
//!
//! The binary uses the public modules: `server` (start, `--new-admin-token`), `config_check`
//! (`--check-config`),
//! `config`, `store` (opening a store for `cfl audit verify`) and `audit` (the chain's
//! verifier). Everything else is the crate's own; the `bench` feature opens what the benchmark
//! examples drive (`proxy::pool`, `audit::ingest`), the `fuzz` feature what the fuzz targets in
//! `fuzz/` drive (`proxy::authn`, `secret`). ARCHITECTURE.md has the module map.

pub mod audit;
pub mod config;
pub mod config_check;
pub mod server;
pub mod store;

pub(crate) mod admin;
pub(crate) mod cache;
pub(crate) mod expiry;
pub(crate) mod jobs;
pub(crate) mod listen;
pub(crate) mod metrics;
pub(crate) mod peer;
pub(crate) mod policy;
#[cfg(any(feature = "bench", feature = "fuzz"))]
pub mod proxy;
#[cfg(not(any(feature = "bench", feature = "fuzz")))]
pub(crate) mod proxy;
// Public until the three items only its own tests use (`RuleSet::lines`, `is_empty`, `source`)
// are removed: as `pub(crate)` they fail the build as dead code.
pub mod restrict;
pub(crate) mod revocations;
#[cfg(feature = "fuzz")]
pub mod secret;
#[cfg(not(feature = "fuzz"))]
pub(crate) mod secret;
pub(crate) mod sinks;
pub(crate) mod state;
pub(crate) mod tls;
pub(crate) mod token;
pub(crate) mod token_sync;
pub(crate) mod user_emails;
