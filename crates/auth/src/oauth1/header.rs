//! The `Authorization: OAuth ...` header (RFC 5849 §3.5.1): building and parsing.
//!
//! Parsing is deliberately forgiving about whitespace and line breaks between parameters, and
//! strict about structure: every parameter is `name="value"`, names are unique, and anything else
//! is a [`Error::MalformedHeader`] naming what was wrong. It never panics on any input.

use super::Error;
use crate::percent;

/// A parsed (or to-be-built) OAuth `Authorization` header: optional realm plus decoded parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationHeader {
    /// `realm`, which is not a signed parameter.
    pub realm: Option<String>,
    params: Vec<(String, String)>,
}

impl AuthorizationHeader {
    /// A header with the given realm and decoded parameters (order kept).
    pub fn new(realm: Option<String>, params: Vec<(String, String)>) -> AuthorizationHeader {
        AuthorizationHeader { realm, params }
    }

    /// The decoded parameters other than `realm`, in header order.
    pub fn params(&self) -> &[(String, String)] {
        &self.params
    }

    /// The decoded value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Renders `OAuth realm="...", name="value", ...` with values percent-encoded per §3.6.
    pub fn to_header_value(&self) -> String {
        let mut parts = Vec::with_capacity(self.params.len() + 1);
        if let Some(realm) = &self.realm {
            parts.push(format!("realm=\"{}\"", percent::encode(realm)));
        }
        for (n, v) in &self.params {
            parts.push(format!("{}=\"{}\"", percent::encode(n), percent::encode(v)));
        }
        format!("OAuth {}", parts.join(", "))
    }

    /// Parses a full header value (`OAuth ...`, scheme case-insensitive).
    pub fn parse(value: &str) -> Result<AuthorizationHeader, Error> {
        let value = value.trim_start();
        let rest = match value.get(..5) {
            Some(scheme) if scheme.eq_ignore_ascii_case("oauth") => &value[5..],
            _ => return Err(malformed("the scheme is not OAuth")),
        };
        if !rest.is_empty() && !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
            return Err(malformed("the scheme is not OAuth"));
        }
        let mut header = AuthorizationHeader::default();
        let mut seen_realm = false;
        for (name, raw) in split_params(rest)? {
            let decoded = percent::decode(&raw);
            if name == "realm" {
                if seen_realm {
                    return Err(Error::DuplicateParameter(name));
                }
                seen_realm = true;
                header.realm = Some(decoded);
                continue;
            }
            let name = percent::decode(&name);
            if header.params.iter().any(|(n, _)| *n == name) {
                return Err(Error::DuplicateParameter(name));
            }
            header.params.push((name, decoded));
        }
        Ok(header)
    }
}

fn malformed(why: &str) -> Error {
    Error::MalformedHeader(why.to_string())
}

/// Splits `a="1", b="2"` into raw (still encoded) pairs.
fn split_params(s: &str) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    let skip_ws = |it: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        while it.peek().is_some_and(|(_, c)| c.is_ascii_whitespace()) {
            it.next();
        }
    };
    loop {
        skip_ws(&mut chars);
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        // name
        let mut end = start;
        while let Some(&(i, c)) = chars.peek() {
            if c == '=' || c == ',' || c.is_ascii_whitespace() || c == '"' {
                break;
            }
            end = i + c.len_utf8();
            chars.next();
        }
        let name = &s[start..end];
        if name.is_empty() {
            return Err(malformed("expected a parameter name"));
        }
        skip_ws(&mut chars);
        if chars.next().map(|(_, c)| c) != Some('=') {
            return Err(Error::MalformedHeader(format!(
                "parameter {name:?} has no '=value'"
            )));
        }
        skip_ws(&mut chars);
        let value = match chars.peek() {
            Some(&(q, '"')) => {
                chars.next();
                let vstart = q + 1;
                let mut vend = None;
                for (i, c) in chars.by_ref() {
                    if c == '"' {
                        vend = Some(i);
                        break;
                    }
                }
                match vend {
                    Some(e) => &s[vstart..e],
                    None => {
                        return Err(Error::MalformedHeader(format!(
                            "the value of {name:?} has no closing quote"
                        )))
                    }
                }
            }
            // Unquoted token values are not RFC 5849 but some clients send them; accept.
            Some(&(vstart, _)) => {
                let mut vend = vstart;
                while let Some(&(i, c)) = chars.peek() {
                    if c == ',' || c.is_ascii_whitespace() {
                        break;
                    }
                    vend = i + c.len_utf8();
                    chars.next();
                }
                &s[vstart..vend]
            }
            None => "",
        };
        out.push((name.to_string(), value.to_string()));
        skip_ws(&mut chars);
        match chars.next() {
            None => break,
            Some((_, ',')) => continue,
            Some((_, c)) => {
                return Err(Error::MalformedHeader(format!(
                    "expected ',' after {name:?}, found {c:?}"
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_encoding() {
        let h = AuthorizationHeader::new(
            Some("http://h:1/confluence".into()),
            vec![
                ("oauth_token".into(), String::new()),
                ("oauth_signature".into(), "a+b/c=".into()),
            ],
        );
        let text = h.to_header_value();
        assert_eq!(
            text,
            "OAuth realm=\"http%3A%2F%2Fh%3A1%2Fconfluence\", oauth_token=\"\", oauth_signature=\"a%2Bb%2Fc%3D\""
        );
        assert_eq!(AuthorizationHeader::parse(&text).unwrap(), h);
    }

    #[test]
    fn tolerates_whitespace_line_breaks_and_case() {
        let h = AuthorizationHeader::parse("oauth  a = \"1\" ,\r\n\tb=\"x%20y\",c=tok").unwrap();
        assert_eq!(h.get("a"), Some("1"));
        assert_eq!(h.get("b"), Some("x y"));
        assert_eq!(h.get("c"), Some("tok"));
        assert!(AuthorizationHeader::parse("OAuth")
            .unwrap()
            .params()
            .is_empty());
    }

    #[test]
    fn rejects_garbage_with_clear_errors() {
        let cases = [
            ("Basic abc", "scheme"),
            ("OAuthx a=\"1\"", "scheme"),
            ("OAuth a", "no '=value'"),
            ("OAuth a=\"1", "closing quote"),
            ("OAuth a=\"1\" b=\"2\"", "expected ','"),
            ("OAuth =\"1\"", "parameter name"),
            ("OAuth a=\"1\", a=\"2\"", "more than once"),
            ("", "scheme"),
            ("OAu", "scheme"),
            ("OAuth é=\"\u{0}\", ,", "parameter name"),
        ];
        for (input, expect) in cases {
            let err = AuthorizationHeader::parse(input).unwrap_err().to_string();
            assert!(err.contains(expect), "{input:?}: {err}");
        }
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        // Every prefix of a tricky header, including cuts inside multi-byte characters' neighbours.
        let tricky = "OAuth réalm=\"é\", \"x\"=, ==\"\", a=\"%zz%\", ü=ü,\"";
        for end in 0..=tricky.len() {
            if let Some(prefix) = tricky.get(..end) {
                let _ = AuthorizationHeader::parse(prefix);
            }
        }
    }
}
