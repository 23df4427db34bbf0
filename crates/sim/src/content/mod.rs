//! REST content resources: v1 (`/rest/api`, Cloud and DC) and v2 (`/api/v2`, Cloud).

pub mod user;

use axum::Router;

use crate::Shared;

pub fn v1_routes() -> Router<Shared> {
    Router::new().merge(user::v1_routes())
}

pub fn v2_routes() -> Router<Shared> {
    Router::new()
}
