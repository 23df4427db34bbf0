//! The proxy path, as layers that each do one thing (outermost first):
//! `audit` → `authenticate` → `ip_allowlist` → `restrictions` → `rate_limit` → `forward`.
//! A layer that refuses answers with a [`refusal::Refusal`] and nothing reaches Confluence.

pub mod audit_layer;
pub mod authn;
pub mod checks;
pub mod forward;
pub mod minted;
pub mod refusal;
pub mod upstream;

use axum::middleware::{from_fn, from_fn_with_state};
use axum::Router;

use crate::server::Shared;

/// The router every non-admin request falls through to.
pub fn router(gw: Shared) -> Router<Shared> {
    // `layer` wraps everything added before it: the last one added runs first.
    Router::new()
        .fallback(forward::forward)
        .layer(from_fn_with_state(gw.clone(), checks::rate_limit))
        .layer(from_fn_with_state(gw.clone(), checks::restrictions))
        .layer(from_fn(checks::ip_allowlist))
        .layer(from_fn_with_state(gw.clone(), authn::authenticate))
        .layer(from_fn_with_state(gw, audit_layer::audit))
}
