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
mod footnote;
mod front;
mod html;
mod inline;
mod md;
mod storage;

pub use code::{confluence_language, LANGUAGES};
pub use front::{front_matter, with_front_matter, FrontMatter};
pub use html::to_html;
pub use md::{to_markdown, to_markdown_reported};
pub use storage::{
    file_name, is_local, to_storage, to_storage_linked, to_storage_titled, LinkResolver,
    LinkTarget, Storage,
};

/// A link to another page, as storage format names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRef {
    pub space: Option<String>,
    pub title: String,
}

/// Maps a page reference to a link target.
pub type PageResolver<'a> = &'a dyn Fn(&PageRef) -> Option<String>;

/// How storage → Markdown/HTML turns references into link targets.
#[derive(Default)]
pub struct Links<'a> {
    /// A page link's target (e.g. a relative path to the exported file); `None` falls back to
    /// the title, percent-encoded, after `SPACE:` when the link names a space (which publish
    /// reads back as that page).
    pub page: Option<PageResolver<'a>>,
}

impl Links<'_> {
    fn page_target(&self, r: &PageRef) -> String {
        self.page
            .and_then(|f| f(r))
            .unwrap_or_else(|| match &r.space {
                Some(s) if !s.is_empty() => format!("{s}:{}", encode_target(&r.title)),
                _ => encode_target(&r.title),
            })
    }
}

/// A link target safe in Markdown's `(…)` and in an HTML attribute.
pub fn encode_target(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '"' => out.push_str("%22"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A file name or directory name as a link path segment (`%` too, so it decodes back exactly).
pub fn encode_segment(s: &str) -> String {
    encode_target(&s.replace('%', "%25"))
}

/// Undoes [`encode_target`] (and any other `%XX`), for local paths in Markdown links.
pub fn decode_target(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Text escaped for XML/HTML content.
pub(crate) fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Text escaped for a double-quoted XML/HTML attribute.
pub(crate) fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_encode_and_decode() {
        assert_eq!(encode_target("My page (v2)"), "My%20page%20%28v2%29");
        assert_eq!(decode_target("My%20page%20%28v2%29"), "My page (v2)");
        assert_eq!(decode_target("100%"), "100%");
        assert_eq!(decode_target("%zz"), "%zz");
    }
}
