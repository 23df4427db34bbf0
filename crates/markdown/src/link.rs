//! Links to other pages: how storage format names them and how a caller resolves them.

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
