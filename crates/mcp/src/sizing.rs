//! Results sized for a model's context: a long text is handed out in windows of characters
//! (`offset`/`limit`, with where the next window starts), and a list is handed out a slice at a
//! time behind an opaque `cursor`.

use serde::Serialize;

/// Characters of a body returned when the caller names no `limit`.
pub const DEFAULT_TEXT_LIMIT: usize = 20_000;
/// The most characters one call returns, whatever the caller asks.
pub const MAX_TEXT_LIMIT: usize = 100_000;
/// Items of a list returned when the caller names no `limit`.
pub const DEFAULT_LIST_LIMIT: usize = 25;
/// The most items one call returns.
pub const MAX_LIST_LIMIT: usize = 100;

/// One window of a longer text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextWindow {
    pub text: String,
    /// Where this window starts, in characters.
    pub offset: usize,
    /// Characters in the whole text.
    pub total_chars: usize,
    /// Where the next window starts; absent when this one reaches the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

/// The window of `text` from character `offset`, `limit` characters long (default and cap
/// above). Counting characters, not bytes, keeps every window valid UTF-8 and the offsets the
/// same as a model counts them. An offset past the end gives an empty window.
pub fn window(text: &str, offset: usize, limit: Option<usize>) -> TextWindow {
    let limit = limit.unwrap_or(DEFAULT_TEXT_LIMIT).clamp(1, MAX_TEXT_LIMIT);
    let total_chars = text.chars().count();
    let start = byte_at(text, offset);
    let end = byte_at(text, offset.saturating_add(limit));
    let next = offset.saturating_add(limit);
    TextWindow {
        text: text[start..end].to_string(),
        offset,
        total_chars,
        next_offset: (next < total_chars).then_some(next),
    }
}

/// The byte index of character `n` (the end of the text when it has fewer).
fn byte_at(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

/// Where a list call starts and how many items it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub start: usize,
    pub limit: usize,
}

impl Slice {
    /// From the caller's `cursor` (one this server gave, or none for the start) and `limit`.
    pub fn parse(cursor: Option<&str>, limit: Option<usize>) -> Result<Slice, String> {
        let start = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            None => 0,
            Some(c) => c
                .strip_prefix("at:")
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| {
                    format!(
                        "cursor {c:?} is not one this server gave; pass the `cursor` of the \
                         previous answer unchanged, or none to start from the beginning"
                    )
                })?,
        };
        Ok(Slice {
            start,
            limit: limit.unwrap_or(DEFAULT_LIST_LIMIT).clamp(1, MAX_LIST_LIMIT),
        })
    }

    /// How many items to fetch so that [`Slice::take`] knows whether more follow.
    pub fn fetch(&self) -> usize {
        self.start + self.limit + 1
    }

    /// This slice of `items` (fetched from the start, at least [`Slice::fetch`] of them when
    /// the server has that many) and the cursor of the next, when there is more.
    pub fn take<T>(&self, items: Vec<T>) -> Listed<T> {
        let total_seen = items.len();
        let end = self.start.saturating_add(self.limit);
        let items: Vec<T> = items
            .into_iter()
            .skip(self.start)
            .take(self.limit)
            .collect();
        Listed {
            items,
            cursor: (total_seen > end).then(|| format!("at:{end}")),
        }
    }
}

/// A slice of a list and the cursor of the next slice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next items; absent on the last slice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_text_comes_whole_without_a_next_offset() {
        let w = window("hello", 0, None);
        assert_eq!(w.text, "hello");
        assert_eq!(w.total_chars, 5);
        assert_eq!(w.next_offset, None);
    }

    #[test]
    fn a_long_text_comes_in_windows_that_join_back_to_it() {
        let text: String = (0..250)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let mut joined = String::new();
        let mut offset = 0;
        let mut calls = 0;
        loop {
            let w = window(&text, offset, Some(100));
            assert!(w.text.chars().count() <= 100);
            joined.push_str(&w.text);
            calls += 1;
            match w.next_offset {
                Some(n) => offset = n,
                None => break,
            }
        }
        assert_eq!(joined, text);
        assert_eq!(calls, 3);
    }

    #[test]
    fn windows_count_characters_not_bytes() {
        let w = window("äöü€x", 1, Some(3));
        assert_eq!(w.text, "öü€");
        assert_eq!(w.total_chars, 5);
        assert_eq!(w.next_offset, Some(4));
    }

    #[test]
    fn an_offset_past_the_end_is_an_empty_last_window() {
        let w = window("abc", 10, Some(5));
        assert_eq!(w.text, "");
        assert_eq!(w.next_offset, None);
    }

    #[test]
    fn limits_are_capped_and_never_zero() {
        let big = "x".repeat(MAX_TEXT_LIMIT + 10);
        assert_eq!(window(&big, 0, Some(usize::MAX)).text.len(), MAX_TEXT_LIMIT);
        assert_eq!(window("abc", 0, Some(0)).text, "a");
        assert_eq!(
            Slice::parse(None, Some(10_000)).unwrap().limit,
            MAX_LIST_LIMIT
        );
        assert_eq!(Slice::parse(None, Some(0)).unwrap().limit, 1);
    }

    #[test]
    fn a_cursor_walks_a_list_to_its_end_without_gaps_or_repeats() {
        let all: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let s = Slice::parse(cursor.as_deref(), Some(3)).unwrap();
            // The server returns at most what was asked for.
            let fetched: Vec<u32> = all.iter().copied().take(s.fetch()).collect();
            let page = s.take(fetched);
            seen.extend(page.items);
            match page.cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, all);
    }

    #[test]
    fn an_exact_fit_has_no_cursor() {
        let s = Slice::parse(None, Some(3)).unwrap();
        assert_eq!(s.take(vec![1, 2, 3]).cursor, None);
        assert_eq!(s.take(vec![1, 2, 3, 4]).cursor.as_deref(), Some("at:3"));
    }

    #[test]
    fn a_foreign_cursor_is_refused_with_advice() {
        let e = Slice::parse(Some("page2"), None).unwrap_err();
        assert!(e.contains("not one this server gave"), "{e}");
        assert!(Slice::parse(Some("at:x"), None).is_err());
        assert_eq!(Slice::parse(Some(""), None).unwrap().start, 0);
    }
}
