//! Links: to other pages, as storage format names them and a caller resolves them (storage →
//! Markdown), and what a Markdown link points at in Confluence (Markdown → storage).

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
    pub(crate) fn page_target(&self, r: &PageRef) -> String {
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

/// What a link in the Markdown points at in Confluence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// Another page (`ac:link` + `ri:page`), in the same space when `space` is `None`.
    Page {
        space: Option<String>,
        title: String,
    },
    /// A file attached to this page (`ac:link` + `ri:attachment`); the path is uploaded.
    Attachment { path: String },
}

/// Maps a local link path (decoded, without `#fragment`) to its target; `None` leaves the
/// default: `SPACE:Title` → that page, a local file that is not Markdown → an attachment,
/// anything else a plain `<a href>`.
pub type LinkResolver<'a> = &'a dyn Fn(&str) -> Option<LinkTarget>;

/// The default reading of a link target (see [`LinkResolver`]).
pub(crate) fn default_target(path: &str) -> Option<LinkTarget> {
    if let Some((key, title)) = path.split_once(':') {
        let is_key = key.len() >= 2
            && key
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && key.starts_with(|c: char| c.is_ascii_uppercase());
        if is_key && !title.is_empty() && !title.starts_with("//") {
            return Some(LinkTarget::Page {
                space: Some(key.to_string()),
                title: title.to_string(),
            });
        }
        return None;
    }
    if !is_local(path) || path.ends_with('/') {
        return None;
    }
    let name = file_name(path);
    let lower = name.to_ascii_lowercase();
    let markdown = lower.ends_with(".md") || lower.ends_with(".markdown");
    if markdown || !name.contains('.') || name.starts_with('.') {
        return None;
    }
    Some(LinkTarget::Attachment {
        path: path.to_string(),
    })
}

/// True for a link or image target on the local file system (no scheme, not an anchor).
pub fn is_local(dest: &str) -> bool {
    !(dest.is_empty()
        || dest.starts_with('#')
        || dest.starts_with("//")
        || dest.starts_with('/')
        || dest.contains("://")
        || dest.starts_with("mailto:")
        || dest.starts_with("data:"))
}

/// The file name part of a local path (what the attachment is called).
pub fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
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
