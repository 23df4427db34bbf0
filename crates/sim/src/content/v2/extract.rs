//! What almost every v2 handler reads first, as extractors: the query with its cursor paging
//! ([`V2List`]) and the `{id}` of a live page, blog post or folder ([`Live`]). A bad cursor, limit
//! or id is the v2 400, a missing or trashed one the v2 404, before the handler runs.

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, RawQuery};
use axum::http::request::Parts;

use super::{page_id, paging, S};
use crate::content::lookup::{live, not_found};
use crate::content::pagination::{V2Page, V2_DEFAULT_LIMIT};
use crate::content::query::query_pairs;
use crate::content::P1;
use crate::error::ApiError;
use crate::model::ContentId;
use crate::Shared;

/// A v2 list request: its query pairs and cursor paging, `DEFAULT` items when `limit` is absent.
pub(crate) struct V2List<const DEFAULT: usize = V2_DEFAULT_LIMIT> {
    pub pairs: Vec<(String, String)>,
    pub page: V2Page,
}

impl<S: Send + Sync, const DEFAULT: usize> FromRequestParts<S> for V2List<DEFAULT> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let RawQuery(raw) = RawQuery::from_request_parts(parts, state)
            .await
            .unwrap_or(RawQuery(None));
        let pairs = query_pairs(&raw);
        let page = paging(&pairs, DEFAULT)?;
        Ok(V2List { pairs, page })
    }
}

/// Which kind of content a [`Live`] id must be.
pub(crate) trait Kind {
    const KIND: &'static str;
}

pub(crate) struct PageKind;
impl Kind for PageKind {
    const KIND: &'static str = "page";
}

pub(crate) struct BlogKind;
impl Kind for BlogKind {
    const KIND: &'static str = "blogpost";
}

pub(crate) struct FolderKind;
impl Kind for FolderKind {
    const KIND: &'static str = "folder";
}

/// The last path parameter as the id of current content of kind `K`. The check runs under a
/// short lock; a handler that needs the content locks again (a concurrent delete only trashes,
/// so the entry is still there).
pub(crate) struct Live<K: Kind>(pub ContentId, pub PhantomData<K>);

pub(crate) type LivePage = Live<PageKind>;
pub(crate) type LiveFolder = Live<FolderKind>;

impl<K: Kind> FromRequestParts<Shared> for Live<K> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared,
    ) -> Result<Self, Self::Rejection> {
        let P1(raw) = P1::from_request_parts(parts, state).await?;
        let id = page_id(&raw)?;
        let db = state.db();
        live(&db, id, S)
            .ok()
            .filter(|c| c.kind == K::KIND)
            .ok_or_else(|| not_found(S, &raw))?;
        Ok(Live(id, PhantomData))
    }
}
