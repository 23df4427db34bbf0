//! `cfl serve`: a token gateway in front of Confluence for accounts that can't log in.
//!
//! Admins issue tokens bound to a user (or to anyone), restricted by method/URL/query/JSON rules,
//! an IP allowlist and an expiry. The gateway checks each request against its token, acts
//! upstream as the bound user, and audits everything.
//!
//! Modules: `config` (TOML), `secret` (token format and hashing), `token` (records, validation,
//! compiled form), `restrict` (Extender-compatible rules on a normalised path), `store` (SQLite or
//! PostgreSQL), `audit` (hash chain and group commit), `cache` (tokens in memory), `proxy` (the
//! layered request path), `admin` (native and Extender admin APIs), `server` (assembly, start-up), `listen` (the plain-HTTP server and its fast path to the proxy).

pub mod admin;
pub mod audit;
pub mod cache;
pub mod config;
pub mod expiry;
pub mod listen;
pub mod metrics;
pub mod peer;
pub mod proxy;
pub mod restrict;
pub mod secret;
pub mod server;
pub mod state;
pub mod store;
pub mod tls;
pub mod token;
