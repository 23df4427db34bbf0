//! Cloud REST v2 (`/wiki/api/v2`): spaces, pages, children, labels, attachments.
//! Filled in after the v1 core.

use axum::Router;

use crate::Shared;

pub fn routes() -> Router<Shared> {
    Router::new()
}
