//! Finding content by id: the lookups every content handler shares, and the "not found" error
//! they answer with. A leaf: it names nothing else in `content`.

use crate::error::{ApiError, ApiResult, ErrorStyle};
use crate::model::{Attachment, Content, ContentId, Db};

pub fn not_found(style: ErrorStyle, id: &str) -> ApiError {
    match style {
        ErrorStyle::V2 => ApiError::not_found(style, "Not Found").with_code("NOT_FOUND"),
        _ => ApiError::not_found(
            style,
            format!("No content found with id: ContentId{{id={id}}}"),
        ),
    }
}

/// Parses a content id as it appears in a path; anything else is simply not found.
pub fn parse_id(raw: &str, style: ErrorStyle) -> ApiResult<ContentId> {
    raw.trim_start_matches("att")
        .parse()
        .map_err(|_| not_found(style, raw))
}

/// The current (not trashed) page with this id.
pub fn live(db: &Db, id: ContentId, style: ErrorStyle) -> ApiResult<&Content> {
    db.content
        .get(&id)
        .filter(|c| c.status == "current")
        .ok_or_else(|| not_found(style, &id.to_string()))
}

/// The attachments on one page.
pub fn attachments_of(db: &Db, page: ContentId) -> Vec<&Attachment> {
    db.attachments
        .values()
        .filter(|a| a.container_id == page)
        .collect()
}
