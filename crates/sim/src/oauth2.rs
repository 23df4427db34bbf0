//! OAuth 2.0 authorization servers: Cloud (`auth.atlassian.com`) and the DC provider.

use axum::Router;

use crate::auth::{ApiBase, Caller};
use crate::error::{ApiResult, ErrorStyle};
use crate::Shared;

#[derive(Default)]
pub struct Store {}

pub fn cloud_routes() -> Router<Shared> {
    Router::new()
}

pub fn dc_routes() -> Router<Shared> {
    Router::new()
}

pub fn caller_for_access_token(
    _state: &Shared,
    _base: ApiBase,
    _token: &str,
    _style: ErrorStyle,
) -> ApiResult<Option<Caller>> {
    Ok(None)
}
