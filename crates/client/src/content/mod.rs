//! A typed Confluence content API on top of [`crate::http::Client`]: spaces, pages, folders, CQL
//! search, attachments and labels, plus page references (`id`, URL, `SPACE:Title`).
//!
//! This module is the only code that knows REST paths. The API is chosen once per [`Content`]
//! from the profile's deployment ([`Api`]): Data Center speaks v1 (`/rest/api/…`); Cloud speaks
//! v2 (`/api/v2/…`) wherever v2 has the operation, and v1 only where Atlassian offers no v2
//! (CQL search, label add/remove, attachment upload and download, page move, the current user),
//! because Cloud answers most v1 content paths with `410 Gone`. Paths are relative to the
//! profile's API base (Cloud `SITE/wiki`, scoped `…/ex/confluence/ID/wiki`, DC `BASE`). The types here are the stable, documented
//! `--json` shapes of the commands, not the server's JSON.

mod api;
pub mod attachment;
pub mod bulk;
pub mod comment;
pub mod label;
pub mod page;
pub mod pageref;
pub mod pat;
pub mod search;
pub mod space;
pub mod sync;
pub mod tree;

pub use api::{id_string, query, segment, Api, Content, V2};
pub use attachment::Attachment;
pub use label::Label;
pub use page::{Page, PageDetail};
pub use pageref::PageRef;
pub use space::Space;
pub use tree::{Folder, TreeNode};

/// A failed call, with what the server said and how to fix it (the crate's one error type).
pub use crate::error::Error as ContentError;
