//! REST content resources: v1 (`/rest/api`, Cloud and DC) and v2 (`/api/v2`, Cloud).
//!
//! Routes assembled here; what every handler reads from a request ([`Ctx`], [`P1`]/[`P2`]) and the
//! write guard every mutating handler calls live in `request.rs`.

// ApiError carries headers and is returned by value on purpose (handlers `?` it into a response);
// boxing it everywhere would cost more clarity than the few bytes it saves.
#![allow(clippy::result_large_err)]

pub mod archive;
pub mod attachment;
pub mod children;
pub mod comment;
pub mod cql;
pub mod gone;
pub mod history;
pub mod ids;
pub mod json;
pub mod label;
pub mod lookup;
pub mod media;
pub mod moves;
pub mod page;
pub mod pagination;
pub mod property;
pub mod query;
mod request;
pub mod search;
pub mod server_info;
pub mod space;
pub mod user;
pub mod v2;

use axum::Router;

use crate::Shared;

pub use request::{has_no_check, require_writer, Ctx, P1, P2};

pub fn v1_routes() -> Router<Shared> {
    Router::new()
        .merge(user::v1_routes())
        .merge(space::routes())
        .merge(page::routes())
        .merge(attachment::routes())
        .merge(label::routes())
        .merge(search::routes())
        .merge(history::routes())
        .merge(children::routes())
        .merge(children::dc_routes())
        .merge(property::content_routes())
        .merge(property::space_routes())
        .merge(server_info::routes())
}

/// v1 operations only Data Center has (Cloud never had them, so not even `legacy_v1` serves them).
pub fn dc_v1_routes() -> Router<Shared> {
    server_info::dc_routes()
}

/// v1 operations Cloud has and Data Center 9 does not: page move, page archive (and its long
/// task), the attachment download redirect.
pub fn cloud_v1_routes() -> Router<Shared> {
    Router::new()
        .merge(archive::routes())
        .merge(moves::routes())
        .merge(media::v1_routes())
        .merge(server_info::cloud_routes())
}

pub fn v2_routes() -> Router<Shared> {
    v2::routes()
}

/// `/download/attachments/{pageId}/{filename}`: mounted beside `/rest/api`, behind the auth layer.
pub fn download_routes() -> Router<Shared> {
    attachment::download_routes()
}
