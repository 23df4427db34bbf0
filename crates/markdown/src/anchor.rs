//! Heading links: Markdown's `#github-style-slug` ↔ Confluence's `ac:link ac:anchor="Heading
//! text"` on the same page. A fragment that names no heading is an anchor macro's name, as is.

use std::collections::HashMap;

/// GitHub's heading slug: lowercase, punctuation dropped (but `-` and `_`), spaces as `-`.
pub(crate) fn slug(text: &str) -> String {
    text.trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Slugs of the page's headings (in order, a repeated slug gets `-1`, `-2` …) to their text,
/// and back.
#[derive(Default)]
pub(crate) struct Headings {
    by_slug: HashMap<String, String>,
    by_text: HashMap<String, String>,
}

impl Headings {
    pub(crate) fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut h = Headings::default();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for text in texts {
            let base = slug(text);
            let n = seen.entry(base.clone()).or_default();
            let s = if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            *n += 1;
            let text = text.trim().to_string();
            h.by_slug.entry(s.clone()).or_insert_with(|| text.clone());
            h.by_text.entry(text).or_insert(s);
        }
        h
    }

    /// The heading text a `#fragment` links to.
    pub(crate) fn text(&self, fragment: &str) -> Option<&str> {
        self.by_slug.get(fragment).map(String::as_str)
    }

    /// The slug of the heading an anchor names.
    pub(crate) fn slug(&self, anchor: &str) -> Option<&str> {
        self.by_text.get(anchor.trim()).map(String::as_str)
    }
}
