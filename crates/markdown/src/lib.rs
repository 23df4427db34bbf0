//! cfl-markdown: converts between Markdown (CommonMark + tables) and Confluence's storage format,
//! and renders storage format as standalone HTML. Pure functions, no I/O.
//!
//! - [`to_storage`]: Markdown → storage. Code blocks become the `code` macro (language parameter,
//!   CDATA body), local images become attachment images (their paths are returned so the caller
//!   can upload them), links stay `<a href>`, raw HTML passes through.
//! - [`to_markdown`]: storage → Markdown. Page links (`<ac:link><ri:page …>`) go through a
//!   caller-given resolver; elements Markdown cannot express (other macros) are kept as raw HTML
//!   so a later publish restores them.
//! - [`to_storage_titled`]: the same, dropping a leading `# Title` equal to the page title.
//! - [`to_storage_linked`]: the same, with the caller mapping local links to pages (publish of a
//!   directory); `SPACE:Title` links become page links and links to local files that are not
//!   Markdown become attachment links (`Storage::attachments` lists them to upload).
//! - Code block languages map to Confluence's list (`code.rs`).
//! - [`to_markdown_reported`]: storage → Markdown plus what the Markdown only approximates.
//! - Both directions map panels ↔ GitHub alerts (`> [!NOTE]` …), task lists ↔ `- [ ]` / `- [x]`,
//!   the expand macro ↔ `<details><summary>`, status, mentions and emoticons (`inline.rs`),
//!   heading links ↔ `ac:anchor` (`anchor.rs`), footnotes (`footnote.rs`) and table alignment;
//!   the README's conversion table lists every form.
//! - [`to_html`]: storage → HTML for `cfl export --format html`.
//! - [`front_matter`]: the small `key: value` header cfl writes on exported Markdown.

mod anchor;
mod code;
mod dom;
mod escape;
mod footnote;
mod front;
mod html;
mod inline;
mod link;
mod md;
mod storage;
mod writer;

pub use code::{confluence_language, LANGUAGES};
pub use front::{front_matter, with_front_matter, FrontMatter};
pub use html::to_html;
pub use link::{
    decode_target, encode_segment, encode_target, file_name, is_local, LinkResolver, LinkTarget,
    Links, PageRef, PageResolver,
};
pub use md::{to_markdown, to_markdown_reported};
pub use storage::{to_storage, to_storage_linked, to_storage_titled};
pub use writer::Storage;

pub(crate) use escape::{escape_attr, escape_text};
