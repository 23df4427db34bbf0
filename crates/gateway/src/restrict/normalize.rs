//! Request-target normalisation: the one path that is both checked against the rules and
//! forwarded upstream, so no trick can make the gateway check one resource and Confluence serve
//! another.
//!
//! What it does, in order, and why:
//! - refuses a fragment (`#`): never sent by real clients, and servers disagree about it;
//! - strips `;params` from every segment, as Tomcat does before routing (`/a;x=1/b` is `/a/b`);
//! - decodes percent-encoded *unreserved* characters (`%44EV` is `DEV`, `%2e` is `.`) and writes
//!   other escapes in upper case; refuses encoded `/` and `\` (`%2F`, `%5C`), encoded control
//!   characters and NUL, malformed escapes, and escapes that don't decode to UTF-8 — servers
//!   disagree on all of these, so they are ambiguous;
//! - refuses double encoding (`%25` followed by two hex digits: `%252e%252e`, `%252f`) and an
//!   encoded `;` (`%3B`): a stack that decodes twice, or strips path parameters after decoding,
//!   would see a dot segment, a separator or a parameter the rules never saw;
//! - resolves `.` and `..` segments (refusing any that climb above the root) and collapses
//!   repeated slashes;
//! - drops an empty query (`/a?` is `/a`) and refuses malformed escapes in the query.

use std::borrow::Cow;

use std::fmt;

/// A request target after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Absolute path, canonical form (what rules see and what is forwarded).
    pub path: String,
    /// Raw query without the `?`, `None` when absent or empty.
    pub query: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    NotAbsolute,
    Fragment,
    EncodedSeparator,
    DoubleEncoding,
    EncodedSemicolon,
    BadEscape,
    ControlCharacter,
    InvalidUtf8,
    AboveRoot,
    TooLong,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathError::NotAbsolute => "the path must start with '/'",
            PathError::Fragment => "a '#' fragment is not allowed in a request path",
            PathError::EncodedSeparator => {
                "encoded '/' or '\\' (%2F, %5C) is ambiguous and refused"
            }
            PathError::DoubleEncoding => {
                "double percent-encoding (%25 followed by two hex digits, e.g. %252e) is ambiguous and refused: encode each character once"
            }
            PathError::EncodedSemicolon => {
                "an encoded ';' (%3B) is ambiguous (a path parameter to some servers) and refused"
            }
            PathError::BadEscape => "malformed percent-encoding",
            PathError::ControlCharacter => {
                "control characters, NUL, spaces or '\\' are not allowed"
            }
            PathError::InvalidUtf8 => "percent-encoded bytes do not form valid UTF-8",
            PathError::AboveRoot => "'..' segments climb above the root",
            PathError::TooLong => "the request target is too long",
        })
    }
}

impl std::error::Error for PathError {}

const MAX_TARGET: usize = 16 * 1024;

/// Normalises an origin-form request target (`/path?query`).
pub fn normalize(target: &str) -> Result<Target, PathError> {
    if target.len() > MAX_TARGET {
        return Err(PathError::TooLong);
    }
    if target.contains('#') {
        return Err(PathError::Fragment);
    }
    let (raw_path, raw_query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    if !raw_path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }

    // Most paths are canonical already, and a check for that is a tenth of the work of
    // rebuilding one (the `a_canonical_path_is_its_own_normal_form` property keeps them equal).
    let path = if is_canonical(raw_path) {
        raw_path.to_string()
    } else {
        canonical_path(raw_path)?
    };

    let query = match raw_query {
        None | Some("") => None,
        Some(q) => {
            check_query(q)?;
            Some(q.to_string())
        }
    };
    Ok(Target { path, query })
}

/// Whether an absolute path is its own normal form: printable ASCII without `%`, `\` or `;`,
/// and no empty (`//`), `.` or `..` segment (only the last may be empty: a trailing slash).
fn is_canonical(path: &str) -> bool {
    let allowed = |&b: &u8| (0x21..0x7f).contains(&b) && !matches!(b, b'%' | b'\\' | b';');
    if !path.as_bytes().iter().all(allowed) {
        return false;
    }
    let mut segments = path[1..].split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if (segment.is_empty() && !last) || segment == "." || segment == ".." {
            return false;
        }
    }
    true
}

/// The normal form of an absolute path (see the module's documentation).
fn canonical_path(raw_path: &str) -> Result<String, PathError> {
    let mut segments: Vec<Cow<'_, str>> = Vec::new();
    let ends_with_slash = raw_path.len() > 1 && raw_path.ends_with('/');
    for raw in raw_path.split('/') {
        // Tomcat's path parameters: everything from the first ';' in a segment.
        let raw = raw.split(';').next().unwrap_or("");
        let seg = canonical_segment(raw)?;
        match &*seg {
            "" | "." => {}
            ".." => {
                if segments.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
            }
            _ => segments.push(seg),
        }
    }
    let mut path = String::with_capacity(raw_path.len());
    for s in &segments {
        path.push('/');
        path.push_str(s);
    }
    if path.is_empty() || (ends_with_slash && !segments.is_empty()) {
        path.push('/');
    }
    Ok(path)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// One segment in canonical form: unreserved escapes decoded, others upper-cased.
fn canonical_segment(raw: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = raw.as_bytes();
    // Printable ASCII without escapes is canonical as it is (most segments).
    if bytes
        .iter()
        .all(|&b| (0x21..0x7f).contains(&b) && b != b'%' && b != b'\\')
    {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    // The decoded bytes, only to check that escapes form valid UTF-8.
    let mut decoded: Vec<u8> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex_val),
                bytes.get(i + 2).copied().and_then(hex_val),
            ) else {
                return Err(PathError::BadEscape);
            };
            let v = h * 16 + l;
            match v {
                b'/' | b'\\' => return Err(PathError::EncodedSeparator),
                b';' => return Err(PathError::EncodedSemicolon),
                0..=0x1f | 0x7f => return Err(PathError::ControlCharacter),
                _ if is_unreserved(v) => out.push(v as char),
                _ => {
                    out.push('%');
                    out.push_str(&format!("{v:02X}"));
                }
            }
            decoded.push(v);
            i += 3;
        } else {
            if b <= 0x20 || b == 0x7f || b == b'\\' {
                return Err(PathError::ControlCharacter);
            }
            decoded.push(b);
            i += 1;
            // Raw non-ASCII is not valid in a request target; `raw` is &str so it's UTF-8, but
            // encode it so the forwarded form is canonical.
            if b >= 0x80 {
                out.push_str(&format!("%{b:02X}"));
            } else {
                out.push(b as char);
            }
        }
    }
    if std::str::from_utf8(&decoded).is_err() {
        return Err(PathError::InvalidUtf8);
    }
    // Checked on the output, since decoded characters follow the `%25` there: `%25%41%41` is
    // `%25AA`, which decodes to `%AA` and then to another byte.
    if out
        .as_bytes()
        .windows(5)
        .any(|w| w.starts_with(b"%25") && hex_val(w[3]).is_some() && hex_val(w[4]).is_some())
    {
        return Err(PathError::DoubleEncoding);
    }
    Ok(Cow::Owned(out))
}

fn check_query(q: &str) -> Result<(), PathError> {
    let bytes = q.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex_val),
                bytes.get(i + 2).copied().and_then(hex_val),
            ) else {
                return Err(PathError::BadEscape);
            };
            decoded.push(h * 16 + l);
            i += 3;
        } else {
            if b < 0x20 || b == 0x7f {
                return Err(PathError::ControlCharacter);
            }
            decoded.push(b);
            i += 1;
        }
    }
    std::str::from_utf8(&decoded)
        .map(|_| ())
        .map_err(|_| PathError::InvalidUtf8)
}

/// Decoded `name=value` pairs of a query string (`+` is a space, as servlet containers read it).
pub fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = query else { return Vec::new() };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(t: &str) -> Result<String, PathError> {
        normalize(t).map(|t| t.path)
    }

    /// The table of path tricks: each must normalise to the resource it really reaches, or be
    /// refused.
    #[test]
    fn path_tricks_table() {
        let ok = [
            ("/rest/api/space", "/rest/api/space"),
            ("/rest//api///space", "/rest/api/space"),
            ("/rest/api/./space", "/rest/api/space"),
            ("/rest/api/x/../space", "/rest/api/space"),
            ("/rest/api/%2e%2e/api/space", "/rest/api/space"),
            ("/rest/api/%2E/space", "/rest/api/space"),
            ("/rest/api/space/%44EV", "/rest/api/space/DEV"),
            ("/rest/api;jsessionid=x/space", "/rest/api/space"),
            ("/rest/api/..;/api/space", "/rest/api/space"),
            ("/rest/api/space/a%20b", "/rest/api/space/a%20b"),
            ("/rest/api/space/a%c3%a9", "/rest/api/space/a%C3%A9"),
            // A percent sign not followed by two hex digits decodes to itself the next time too.
            ("/rest/api/space/100%25", "/rest/api/space/100%25"),
            ("/rest/api/space/%25zz", "/rest/api/space/%25zz"),
            ("/rest/api/space/", "/rest/api/space/"),
            ("/", "/"),
            ("//", "/"),
        ];
        for (input, want) in ok {
            assert_eq!(p(input).as_deref(), Ok(want), "{input}");
        }
        let refused = [
            ("/rest/api/space%2fDEV", PathError::EncodedSeparator),
            ("/rest/api/space%2FDEV", PathError::EncodedSeparator),
            ("/rest/api%5cspace", PathError::EncodedSeparator),
            ("/rest/api/space\\DEV", PathError::ControlCharacter),
            ("/rest/api/%00", PathError::ControlCharacter),
            ("/rest/api/%zz", PathError::BadEscape),
            ("/rest/api/%4", PathError::BadEscape),
            ("/rest/api/%ff%fe", PathError::InvalidUtf8),
            ("/rest/api/%252e%252e/x", PathError::DoubleEncoding),
            ("/rest/api/space%252fDEV", PathError::DoubleEncoding),
            ("/rest/api/space%252FDEV", PathError::DoubleEncoding),
            ("/rest/api/%2541", PathError::DoubleEncoding),
            ("/rest/api/%25%41%41", PathError::DoubleEncoding),
            (
                "/rest/api/..%3Bjsessionid=x/space",
                PathError::EncodedSemicolon,
            ),
            ("/rest/api/..%3bx/space", PathError::EncodedSemicolon),
            ("/../etc/passwd", PathError::AboveRoot),
            ("/rest/%2e%2e/%2e%2e/..", PathError::AboveRoot),
            ("/rest/api#frag", PathError::Fragment),
            ("/rest/api?#", PathError::Fragment),
            ("rest/api", PathError::NotAbsolute),
        ];
        for (input, err) in refused {
            assert_eq!(p(input), Err(err), "{input}");
        }
    }

    #[test]
    fn the_short_way_takes_only_canonical_paths() {
        for path in [
            "/",
            "/rest/api/user/current",
            "/rest/api/space/",
            "/a.b/~c_d-e",
        ] {
            assert!(is_canonical(path), "{path}");
        }
        for path in [
            "//", "/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..", "/.", "/a;x=1", "/a%41", "/a\\b",
            "/a b", "/a\tb", "/é",
        ] {
            assert!(!is_canonical(path), "{path}");
        }
    }

    proptest::proptest! {
        /// What the short way in `normalize` keeps as it is, the long way would not change.
        #[test]
        fn a_canonical_path_is_its_own_normal_form(
            segments in proptest::collection::vec(
                proptest::prop_oneof!["", r"\.", r"\.\.", "[a-z]{1,3}", "[a-z.~_-]{1,3}", r"[a-z;%/\\ ]{1,3}"],
                0..6,
            ),
            trailing: bool,
        ) {
            let mut path = format!("/{}", segments.join("/"));
            if trailing {
                path.push('/');
            }
            if is_canonical(&path) {
                proptest::prop_assert_eq!(canonical_path(&path), Ok(path.clone()));
            }
        }
    }

    proptest::proptest! {
        /// No path the gateway forwards means something else to a stack that percent-decodes it
        /// once more: after another round of decoding, no segment is a dot segment or holds a
        /// separator or `;`, and a third round changes nothing (no escape was hidden in one).
        #[test]
        fn a_forwarded_path_decoded_once_more_means_the_same(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    "%", "%25", "%2", "%5", "%3", "2", "5", "e", "E", "f", "F", "b", "B", "c", "C",
                    "3", "a", r"\.", "/", ";", "%2e", "%2E", "%2f", "%3b", "%3B", "%5c", "%41", "%c3%a9",
                ],
                1..16,
            ),
        ) {
            let input = format!("/{}", pieces.concat());
            if let Ok(target) = normalize(&input) {
                for segment in target.path.split('/') {
                    let once = percent_encoding::percent_decode_str(segment).collect::<Vec<u8>>();
                    proptest::prop_assert!(
                        once != b"." && once != b"..",
                        "{input} forwards {} with a dot segment after one more decoding", target.path
                    );
                    proptest::prop_assert!(
                        !once.iter().any(|b| matches!(b, b'/' | b'\\' | b';')),
                        "{input} forwards {} with a separator after one more decoding", target.path
                    );
                    let twice = percent_encoding::percent_decode(&once).collect::<Vec<u8>>();
                    proptest::prop_assert_eq!(
                        &twice, &once,
                        "{} decodes differently a second time", target.path
                    );
                }
            }
        }
    }

    #[test]
    fn empty_query_is_dropped_and_real_query_kept_raw() {
        assert_eq!(normalize("/a?").unwrap().query, None);
        let t = normalize("/a?cql=space%3DDEV&limit=5").unwrap();
        assert_eq!(t.query.as_deref(), Some("cql=space%3DDEV&limit=5"));
        assert_eq!(
            query_pairs(t.query.as_deref()),
            vec![
                ("cql".into(), "space=DEV".into()),
                ("limit".into(), "5".into())
            ]
        );
        assert_eq!(normalize("/a?x=%zz"), Err(PathError::BadEscape));
    }
}
