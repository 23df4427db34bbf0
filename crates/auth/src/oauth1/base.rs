//! The signature base string (RFC 5849 §3.4.1): `METHOD&encoded-base-URI&encoded-parameters`.
//!
//! Both ends must build it byte for byte the same way, so signer and verifier share this code.

use url::Url;

use super::Error;
use crate::percent;

/// The parts of an HTTP request that OAuth 1.0a signs.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// HTTP method, any case (uppercased when signing).
    pub method: &'a str,
    /// The absolute URL the client sends to, query included (`http://host:port/path?query`).
    pub url: &'a str,
    /// The body, only when it is `application/x-www-form-urlencoded` (its parameters are signed).
    pub form_body: Option<&'a str>,
}

impl<'a> RequestParts<'a> {
    /// A request without a form body.
    pub fn new(method: &'a str, url: &'a str) -> RequestParts<'a> {
        RequestParts {
            method,
            url,
            form_body: None,
        }
    }

    /// Adds a form-encoded body whose parameters become part of the signature.
    pub fn with_form_body(mut self, body: &'a str) -> RequestParts<'a> {
        self.form_body = Some(body);
        self
    }
}

/// True for a `Content-Type` whose body parameters OAuth signs (`application/x-www-form-urlencoded`,
/// parameters such as `; charset=UTF-8` allowed).
pub fn is_form_content_type(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

pub(crate) fn parse_url(url: &str) -> Result<Url, Error> {
    let parsed = Url::parse(url).map_err(|e| Error::Url(format!("{e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Url(
            "only absolute http(s) URLs can be signed".into(),
        ));
    }
    Ok(parsed)
}

/// The base string URI (§3.4.1.2): lower-case scheme and host, default port dropped, path kept,
/// no query or fragment. `HTTP://EXAMPLE.COM:80/r%20v/X?id=123` → `http://example.com/r%20v/X`.
pub fn base_string_uri(url: &str) -> Result<String, Error> {
    let u = parse_url(url)?;
    let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
    // `Url::port` is None when the port is the scheme's default, which is what §3.4.1.2 wants.
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{}://{host}{port}{}", u.scheme(), u.path()))
}

/// Normalises decoded `(name, value)` pairs (§3.4.1.3.2): encode each, sort by name then value
/// (byte order, after encoding), join as `n=v` with `&`.
pub fn normalized_parameters<'p>(params: impl IntoIterator<Item = (&'p str, &'p str)>) -> String {
    let mut encoded: Vec<(String, String)> = params
        .into_iter()
        .map(|(n, v)| (percent::encode(n), percent::encode(v)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The request's own parameters, decoded: the URL query, then the form body (if any).
/// This is where `xoauth_requestor_id` is found.
pub fn request_parameters(req: &RequestParts<'_>) -> Result<Vec<(String, String)>, Error> {
    let url = parse_url(req.url)?;
    let mut params = percent::parse_form(url.query().unwrap_or(""));
    if let Some(body) = req.form_body {
        params.extend(percent::parse_form(body));
    }
    Ok(params)
}

/// The full signature base string. `protocol` are the `oauth_*` parameters that travel in the
/// `Authorization` header (decoded; `realm` and `oauth_signature` are skipped if present); the
/// query of `req.url` and the form body are added here.
pub fn signature_base_string(
    req: &RequestParts<'_>,
    protocol: &[(String, String)],
) -> Result<String, Error> {
    let uri = base_string_uri(req.url)?;
    let request = request_parameters(req)?;
    let params = request
        .iter()
        .chain(
            protocol
                .iter()
                .filter(|(n, _)| n != "realm" && n != "oauth_signature"),
        )
        .map(|(n, v)| (n.as_str(), v.as_str()));
    Ok(format!(
        "{}&{}&{}",
        percent::encode(&req.method.to_ascii_uppercase()),
        percent::encode(&uri),
        percent::encode(&normalized_parameters(params))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_string(), v.to_string())
    }

    /// RFC 5849 §3.4.1.1, the worked example, byte for byte (the RFC's HMAC-SHA1 parameters are
    /// kept: the base string does not depend on the signature method).
    #[test]
    fn rfc5849_section_3_4_1_1_example() {
        let req = RequestParts::new(
            "POST",
            "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
        )
        .with_form_body("c2&a3=2+q");
        let header = AuthorizationHeader::parse(
            "OAuth realm=\"Example\",\n oauth_consumer_key=\"9djdj82h48djs9d2\",\n \
             oauth_token=\"kkk9d7dh3k39sjv7\",\n oauth_signature_method=\"HMAC-SHA1\",\n \
             oauth_timestamp=\"137131201\",\n oauth_nonce=\"7d8f3e4a\",\n \
             oauth_signature=\"bYT5CMsGcbgUdFHObYMEfcx6bsw%3D\"",
        )
        .unwrap();
        let expected = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
                        %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
                        key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
                        ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
                        9d7dh3k39sjv7";
        assert_eq!(
            signature_base_string(&req, header.params()).unwrap(),
            expected
        );
    }

    use super::super::AuthorizationHeader;

    /// RFC 5849 §3.4.1.2 examples.
    #[test]
    fn base_string_uri_normalisation() {
        assert_eq!(
            base_string_uri("HTTP://EXAMPLE.COM:80/r%20v/X?id=123").unwrap(),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            base_string_uri("https://www.example.net:8080/?q=1").unwrap(),
            "https://www.example.net:8080/"
        );
        assert_eq!(
            base_string_uri("https://h:443/confluence/rest/api#frag").unwrap(),
            "https://h/confluence/rest/api"
        );
        assert!(base_string_uri("/relative").is_err());
        assert!(base_string_uri("ftp://h/x").is_err());
    }

    #[test]
    fn parameters_sort_by_name_then_value_after_encoding() {
        let params = [
            p("b", "2"),
            p("a", "z"),
            p("a", "y"),
            p("a b", "1"),
            p("A", ""),
        ];
        assert_eq!(
            normalized_parameters(params.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
            "A=&a=y&a=z&a%20b=1&b=2"
        );
    }

    #[test]
    fn form_content_type_detection() {
        assert!(is_form_content_type(
            "application/x-www-form-urlencoded; charset=UTF-8"
        ));
        assert!(is_form_content_type("Application/X-WWW-Form-Urlencoded"));
        assert!(!is_form_content_type("application/json"));
        assert!(!is_form_content_type("multipart/form-data; boundary=x"));
    }
}
