//! Rate limiting (per credential, with Cloud's or DC's headers), injected latency and faults.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::{Shared, SimConfig};

pub struct Limits {}

impl Limits {
    pub fn new(_config: &SimConfig) -> Limits {
        Limits {}
    }
}

pub async fn rate_limit(State(_state): State<Shared>, req: Request, next: Next) -> Response {
    next.run(req).await
}

pub async fn faults_and_latency(
    State(_state): State<Shared>,
    req: Request,
    next: Next,
) -> Response {
    next.run(req).await
}
