//! OAuth 1.0a provider (DC application links): three-legged flow and two-legged impersonation.

use axum::extract::Request;
use axum::Router;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::Shared;

#[derive(Default)]
pub struct Store {}

pub fn routes() -> Router<Shared> {
    Router::new()
}

pub async fn authenticate_request(_state: &Shared, _req: &mut Request) -> ApiResult<Caller> {
    Err(ApiError::unauthorized(
        ErrorStyle::OAuth1,
        "OAuth 1.0a not implemented yet",
    ))
}
