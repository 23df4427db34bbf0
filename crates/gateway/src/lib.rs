//! `cfl serve`: a token gateway in front of Confluence for accounts that can't log in.
//!
//! Admins issue tokens bound to a user (or to anyone), restricted by method/URL/query/JSON rules,
//! an IP allowlist and an expiry. The gateway checks each request against its token, acts
//! upstream as the bound user, and audits everything.
//!
//! Modules: `secret` (the token format: prefix, entropy, checksum, hashing) and `restrict`
//! (Extender-compatible restriction rules matched against a normalised path).

pub mod restrict;
pub mod secret;
