//! Percent-encoding as OAuth 1.0a needs it (RFC 5849 §3.6) and `application/x-www-form-urlencoded`
//! decoding of query strings and bodies (RFC 5849 §3.4.1.3.1).
//!
//! OAuth encodes every byte except the RFC 3986 unreserved set (`A-Z a-z 0-9 - . _ ~`), with
//! upper-case hex digits. That differs from both form encoding (`+` for space) and the `url`
//! crate's path/query encodings, so signatures must use [`encode`] and nothing else.

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but the RFC 3986 unreserved characters.
const OAUTH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a string per RFC 5849 §3.6 (UTF-8 bytes, unreserved set kept, `%XX` upper case).
pub fn encode(s: &str) -> String {
    encode_bytes(s.as_bytes())
}

/// [`encode`] for raw bytes (a decoded query value need not be UTF-8).
pub fn encode_bytes(b: &[u8]) -> String {
    percent_encode(b, OAUTH).to_string()
}

/// Decodes `%XX` sequences only (`+` stays `+`), as used for `Authorization` header values.
/// Invalid sequences such as `%zz` are kept literally; invalid UTF-8 is replaced (U+FFFD).
pub fn decode(s: &str) -> String {
    String::from_utf8_lossy(&percent_decode(s.as_bytes()).collect::<Vec<u8>>()).into_owned()
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, then `%XX`.
pub fn decode_form(s: &str) -> String {
    let plus_as_space = s.replace('+', " ");
    decode(&plus_as_space)
}

/// Parses `a=1&b=&c` (a query string or a form body) into decoded `(name, value)` pairs, in order.
/// Empty segments are skipped and a segment without `=` has an empty value, as RFC 5849 §3.4.1.3.1
/// asks. Never fails: garbage produces odd parameters, which then fail signature verification.
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| match seg.split_once('=') {
            Some((n, v)) => (decode_form(n), decode_form(v)),
            None => (decode_form(seg), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_unreserved_characters() {
        assert_eq!(encode("abcABC123-._~"), "abcABC123-._~");
        assert_eq!(encode("a b+c/d=e&f*"), "a%20b%2Bc%2Fd%3De%26f%2A");
        assert_eq!(encode("é"), "%C3%A9");
        assert_eq!(encode("%"), "%25");
    }

    #[test]
    fn form_decoding_treats_plus_as_space() {
        assert_eq!(decode_form("2+q"), "2 q");
        assert_eq!(decode("2+q"), "2+q");
        assert_eq!(decode_form("%3D%253D"), "=%3D");
        assert_eq!(decode("%zz"), "%zz");
    }

    #[test]
    fn parses_forms_leniently() {
        assert_eq!(
            parse_form("c2&a3=2+q&&x=1=2"),
            vec![
                ("c2".to_string(), String::new()),
                ("a3".to_string(), "2 q".to_string()),
                ("x".to_string(), "1=2".to_string()),
            ]
        );
        assert!(parse_form("").is_empty());
    }
}
