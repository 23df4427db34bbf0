//! Credential primitives shared by the cfl client, the gateway and the simulator.
//!
//! `oauth1`: OAuth 1.0a RSA-SHA1 signing and verification (application links, 2-legged
//! impersonation). Pure: no I/O, no clock except where a function says so.

pub mod oauth1;
