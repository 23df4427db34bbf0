//! Finds a `_method` field in a `multipart/form-data` body as it streams: the part headers are
//! read (`Content-Disposition`'s `name`), the parts' contents only searched for the next
//! delimiter, so an upload of any size costs one pass and no copy beyond a delimiter's length.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// A part's header block longer than this is refused: browsers write a few hundred bytes.
const MAX_PART_HEADERS: usize = 16 * 1024;

/// What the scan found that the request may not carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A part named like `_method` (the name as written).
    MethodField(String),
    /// A part's headers too long to be a browser's.
    HeadersTooLong,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::MethodField(name) => write!(f, "the multipart field {name}"),
            Found::HeadersTooLong => write!(
                f,
                "a multipart part's headers exceed {MAX_PART_HEADERS} bytes"
            ),
        }
    }
}

impl std::error::Error for Found {}

/// The boundary of a `multipart/form-data` content type; `None` for any other type (or none
/// given: then no server can split the body into fields either).
pub fn form_data_boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a delimiter: the preamble or a part's content.
    Content,
    /// After a delimiter, up to the blank line that ends the part's headers. The closing
    /// delimiter (`--BOUNDARY--`) is treated like any other: a parser stricter about line ends
    /// than this scan may not see it as the end, and would read on.
    Headers,
}

/// Scans a body chunk by chunk; see the module's documentation.
pub struct Scanner {
    /// `\n--BOUNDARY`: a line that starts with the delimiter (a bare `\n` too, for lenient
    /// parsers).
    delimiter: Vec<u8>,
    state: State,
    /// The bytes of the last chunk that the next one may complete: a delimiter's first bytes,
    /// or a header block so far.
    carry: Vec<u8>,
}

impl Scanner {
    pub fn new(boundary: &str) -> Scanner {
        Scanner {
            delimiter: [b"\n--", boundary.as_bytes()].concat(),
            state: State::Content,
            // The body may open with the delimiter, on no line of its own.
            carry: b"\n".to_vec(),
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Found> {
        let joined;
        let buf: &[u8] = if self.carry.is_empty() {
            chunk
        } else {
            let mut b = std::mem::take(&mut self.carry);
            b.extend_from_slice(chunk);
            joined = b;
            &joined
        };
        let mut at = 0;
        loop {
            let rest = &buf[at..];
            match self.state {
                State::Content => match memchr::memmem::find(rest, &self.delimiter) {
                    Some(i) => {
                        at += i + self.delimiter.len();
                        self.state = State::Headers;
                    }
                    None => {
                        let keep = rest.len().min(self.delimiter.len() - 1);
                        self.carry = rest[rest.len() - keep..].to_vec();
                        return Ok(());
                    }
                },
                State::Headers => {
                    let end = [&b"\n\r\n"[..], b"\n\n"]
                        .iter()
                        .filter_map(|blank| {
                            memchr::memmem::find(rest, blank).map(|i| (i, blank.len()))
                        })
                        .min();
                    match end {
                        Some((i, len)) => {
                            check_part_headers(&rest[..i])?;
                            at += i + len;
                            self.state = State::Content;
                        }
                        None if rest.len() > MAX_PART_HEADERS => return Err(Found::HeadersTooLong),
                        None => {
                            self.carry = rest.to_vec();
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}

/// A part's header lines: refuses a `Content-Disposition` whose `name` (or RFC 2231 `name*`)
/// is `_method`.
fn check_part_headers(block: &[u8]) -> Result<(), Found> {
    let text = String::from_utf8_lossy(block);
    for line in text.lines() {
        let Some((header, value)) = line.split_once(':') else {
            continue;
        };
        if !header.trim().eq_ignore_ascii_case("content-disposition") {
            continue;
        }
        for param in value.split(';').skip(1) {
            let Some((key, raw)) = param.split_once('=') else {
                continue;
            };
            let key = key.trim();
            let name = if key.eq_ignore_ascii_case("name") {
                raw.trim().trim_matches('"').to_string()
            } else if key.eq_ignore_ascii_case("name*") {
                // charset'language'percent-encoded
                let encoded = raw.trim().rsplit('\'').next().unwrap_or("");
                percent_encoding::percent_decode_str(encoded)
                    .decode_utf8_lossy()
                    .into_owned()
            } else {
                continue;
            };
            if super::super::method_override::is_method_parameter(&name) {
                return Err(Found::MethodField(name));
            }
        }
    }
    Ok(())
}

/// A body passed on chunk by chunk as it is scanned: when the scan finds something, the body
/// ends in an error instead, so the upstream request is cut before that part's content and
/// Confluence (or anything before it) never reads the field.
pub struct Guarded {
    inner: Body,
    scanner: Scanner,
}

impl Guarded {
    pub fn new(inner: Body, scanner: Scanner) -> Guarded {
        Guarded { inner, scanner }
    }
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if let Err(found) = this.scanner.feed(data) {
                        tracing::warn!(%found, "multipart body cut: it carries a method override");
                        return Poll::Ready(Some(Err(axum::Error::new(found))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[(&str, &str)]) -> String {
        let mut b = String::from("preamble\r\n");
        for (disposition, content) in parts {
            b += &format!(
                "--XyZ\r\nContent-Disposition: {disposition}\r\nContent-Type: text/plain\r\n\r\n{content}\r\n"
            );
        }
        b + "--XyZ--\r\nepilogue name=\"_method\"\r\n\r\n"
    }

    /// Every split of the body into two chunks finds the same thing as one chunk.
    fn scan_every_split(text: &str) -> Result<(), Found> {
        let mut whole = Scanner::new("XyZ");
        let expected = whole.feed(text.as_bytes());
        for cut in 0..=text.len() {
            let mut s = Scanner::new("XyZ");
            let got = s
                .feed(&text.as_bytes()[..cut])
                .and_then(|()| s.feed(&text.as_bytes()[cut..]));
            assert_eq!(got, expected, "cut at {cut}");
        }
        expected
    }

    #[test]
    fn a_method_field_is_found_however_it_is_written_and_split() {
        for disposition in [
            "form-data; name=\"_method\"",
            "form-data; name=_method",
            "form-data; NAME=\"_METHOD\"",
            "form-data;name=\" _method \"",
            "form-data; name*=UTF-8''%5Fmethod",
        ] {
            let text = body(&[("form-data; name=\"title\"", "x"), (disposition, "DELETE")]);
            assert!(
                matches!(scan_every_split(&text), Err(Found::MethodField(_))),
                "{disposition}"
            );
        }
        // Bare line feeds, as lenient parsers accept them.
        let lf = "--XyZ\nContent-Disposition: form-data; name=\"_method\"\n\nDELETE\n--XyZ--\n";
        assert!(scan_every_split(lf).is_err());
    }

    #[test]
    fn uploads_that_only_mention_method_pass() {
        // A file whose content (not its part's name) holds the text, a field called `method`,
        // and the text after the closing delimiter.
        let text = body(&[
            (
                "form-data; name=\"file\"; filename=\"form.html\"",
                "<form><input name=\"_method\" value=\"DELETE\">\r\n--XyZnot\r\n\r\n</form>",
            ),
            ("form-data; name=\"method\"", "DELETE"),
            ("form-data; name=\"comment\"", ""),
        ]);
        assert_eq!(scan_every_split(&text), Ok(()));
    }

    #[test]
    fn boundaries_come_only_from_form_data() {
        assert_eq!(
            form_data_boundary("multipart/form-data; boundary=XyZ").as_deref(),
            Some("XyZ")
        );
        assert_eq!(
            form_data_boundary("Multipart/Form-Data; charset=utf-8; Boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(form_data_boundary("multipart/mixed; boundary=XyZ"), None);
        assert_eq!(form_data_boundary("multipart/form-data"), None);
        assert_eq!(form_data_boundary("application/json"), None);
    }

    #[test]
    fn endless_part_headers_are_refused() {
        let text = format!("--XyZ\r\nX-Pad: {}", "a".repeat(MAX_PART_HEADERS + 10));
        let mut s = Scanner::new("XyZ");
        assert_eq!(s.feed(text.as_bytes()), Err(Found::HeadersTooLong));
    }
}
