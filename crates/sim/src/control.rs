//! `/__sim/*`: endpoints tests use to steer the simulator (faults, clock, inspection).

use axum::Router;

use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
}
