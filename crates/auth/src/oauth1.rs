//! OAuth 1.0a with RSA-SHA1 (RFC 5849), as Confluence/Jira application links use it.
//!
//! Pure functions and types, no I/O, so the client, the gateway (which signs every proxied request)
//! and the simulator (which verifies) share one implementation:
//! - [`percent_encode`], [`signature_base_string`]: §3.6 and §3.4.1;
//! - [`AuthorizationHeader`]: building and parsing `Authorization: OAuth k="v", …`;
//! - [`RsaSha1Signer`] / [`RsaSha1Verifier`]: PKCS#1 v1.5 over SHA-1 with the `rsa` crate;
//! - [`Consumer`]: signs requests for the three-legged flow, with an access token, or two-legged
//!   with impersonation (`oauth_token=""` and `xoauth_requestor_id=USER` in the query).

use std::fmt;

use base64::Engine;
use rand::RngCore;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha1::Sha1;
use url::Url;

pub const SIGNATURE_METHOD: &str = "RSA-SHA1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("not an OAuth Authorization header: {0}")]
    Header(String),
    #[error("invalid RSA key: {0}")]
    Key(String),
    #[error("invalid URL: {0}")]
    Url(String),
}

/// RFC 5849 §3.6: everything but ALPHA / DIGIT / `-` `.` `_` `~` is `%XX` with upper-case hex.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` (and `+` as a space when `form` is true).
pub fn percent_decode(s: &str, form: bool) -> String {
    let s = if form {
        s.replace('+', " ")
    } else {
        s.to_string()
    };
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Decoded `name=value` pairs of a query string or form body (`a` alone is `a=""`).
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// §3.4.1.2: scheme and host lower-case, default port dropped, path kept, no query or fragment.
pub fn base_string_uri(url: &Url) -> String {
    let scheme = url.scheme().to_ascii_lowercase();
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let port = match (url.port(), scheme.as_str()) {
        (Some(80), "http") | (Some(443), "https") | (None, _) => String::new(),
        (Some(p), _) => format!(":{p}"),
    };
    let path = if url.path().is_empty() {
        "/"
    } else {
        url.path()
    };
    format!("{scheme}://{host}{port}{path}")
}

/// §3.4.1: `METHOD&uri&params`, where params are the query parameters, form body parameters and
/// oauth_* protocol parameters (without `oauth_signature` and `realm`), encoded, sorted by name
/// then value, joined with `&`.
pub fn signature_base_string(
    method: &str,
    url: &Url,
    form: &[(String, String)],
    oauth: &[(String, String)],
) -> String {
    let mut params: Vec<(String, String)> = url
        .query()
        .map(parse_form)
        .unwrap_or_default()
        .into_iter()
        .chain(form.iter().cloned())
        .chain(
            oauth
                .iter()
                .filter(|(k, _)| k != "oauth_signature" && k != "realm")
                .cloned(),
        )
        .map(|(k, v)| (percent_encode(&k), percent_encode(&v)))
        .collect();
    params.sort();
    let normalized = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        percent_encode(&base_string_uri(url)),
        percent_encode(&normalized)
    )
}

/// The parameters of an `Authorization: OAuth …` header (values decoded).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationHeader {
    pub realm: Option<String>,
    pub params: Vec<(String, String)>,
}

impl AuthorizationHeader {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses `OAuth realm="x", oauth_consumer_key="…", …`. Never panics on garbage.
    pub fn parse(header: &str) -> Result<AuthorizationHeader, OAuthError> {
        let rest = header.trim();
        let rest = match rest.get(..6) {
            Some(p) if p.eq_ignore_ascii_case("oauth ") => &rest[6..],
            _ => {
                return Err(OAuthError::Header(
                    "it does not start with \"OAuth \"".into(),
                ))
            }
        };
        let mut out = AuthorizationHeader::default();
        for part in split_params(rest)? {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| OAuthError::Header(format!("parameter {part:?} has no '='")))?;
            let k = k.trim();
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| OAuthError::Header(format!("the value of {k} is not quoted")))?;
            if k.eq_ignore_ascii_case("realm") {
                out.realm = Some(v.to_string());
            } else {
                if out.params.iter().any(|(e, _)| e == k) {
                    return Err(OAuthError::Header(format!("parameter {k} appears twice")));
                }
                out.params
                    .push((percent_decode(k, false), percent_decode(v, false)));
            }
        }
        Ok(out)
    }

    pub fn to_header_value(&self) -> String {
        let mut parts = Vec::with_capacity(self.params.len() + 1);
        if let Some(r) = &self.realm {
            parts.push(format!("realm=\"{}\"", percent_encode(r)));
        }
        for (k, v) in &self.params {
            parts.push(format!("{}=\"{}\"", percent_encode(k), percent_encode(v)));
        }
        format!("OAuth {}", parts.join(", "))
    }
}

/// Splits on commas outside quotes.
fn split_params(s: &str) -> Result<Vec<&str>, OAuthError> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(OAuthError::Header("unterminated quote".into()));
    }
    out.push(s[start..].trim());
    Ok(out.into_iter().filter(|p| !p.is_empty()).collect())
}

/// Signs base strings with an RSA private key (PKCS#1 v1.5, SHA-1).
#[derive(Clone)]
pub struct RsaSha1Signer {
    key: SigningKey<Sha1>,
}

impl fmt::Debug for RsaSha1Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaSha1Signer(<private key>)")
    }
}

impl RsaSha1Signer {
    /// Reads a PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<RsaSha1Signer, OAuthError> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| {
                OAuthError::Key(format!(
                    "expected a PEM RSA private key (PKCS#8 or PKCS#1): {e}"
                ))
            })?;
        Ok(RsaSha1Signer {
            key: SigningKey::<Sha1>::new(key),
        })
    }

    /// Base64 signature of `base` (deterministic: the same key and text give the same signature).
    pub fn sign(&self, base: &str) -> String {
        let sig = self.key.sign(base.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(sig.to_bytes())
    }
}

/// Verifies signatures with a consumer's RSA public key.
#[derive(Clone, Debug)]
pub struct RsaSha1Verifier {
    key: VerifyingKey<Sha1>,
}

impl RsaSha1Verifier {
    /// Reads an SPKI (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`) PEM.
    pub fn from_pem(pem: &str) -> Result<RsaSha1Verifier, OAuthError> {
        let key = RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map_err(|e| {
                OAuthError::Key(format!(
                    "expected a PEM RSA public key (SPKI or PKCS#1): {e}"
                ))
            })?;
        Ok(RsaSha1Verifier {
            key: VerifyingKey::<Sha1>::new(key),
        })
    }

    pub fn verify(&self, base: &str, signature_b64: &str) -> bool {
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(signature_b64.trim())
        else {
            return false;
        };
        let Ok(sig) = Signature::try_from(bytes.as_slice()) else {
            return false;
        };
        self.key.verify(base.as_bytes(), &sig).is_ok()
    }
}

/// A random nonce: 16 bytes, hex.
pub fn nonce() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn timestamp() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Which token a request is signed with.
#[derive(Debug, Clone, Copy)]
pub enum TokenParam<'a> {
    /// No `oauth_token` at all (the request-token call).
    None,
    /// `oauth_token=""`: two-legged.
    Empty,
    /// A request or access token.
    Token(&'a str),
}

/// An application link consumer: key plus RSA private key.
#[derive(Clone, Debug)]
pub struct Consumer {
    pub key: String,
    signer: RsaSha1Signer,
}

impl Consumer {
    pub fn new(key: impl Into<String>, private_key_pem: &str) -> Result<Consumer, OAuthError> {
        Ok(Consumer {
            key: key.into(),
            signer: RsaSha1Signer::from_pem(private_key_pem)?,
        })
    }

    /// The `Authorization` header value for a request. `url` carries the query (including
    /// `xoauth_requestor_id` for impersonation); `form` is the decoded form body, if any;
    /// `extra` adds protocol parameters such as `oauth_callback` or `oauth_verifier`.
    pub fn authorize(
        &self,
        method: &str,
        url: &Url,
        token: TokenParam<'_>,
        form: &[(String, String)],
        extra: &[(&str, &str)],
    ) -> String {
        self.authorize_with(method, url, token, form, extra, &nonce(), timestamp())
    }

    /// [`Consumer::authorize`] with a given nonce and timestamp (tests, vectors).
    #[allow(clippy::too_many_arguments)]
    pub fn authorize_with(
        &self,
        method: &str,
        url: &Url,
        token: TokenParam<'_>,
        form: &[(String, String)],
        extra: &[(&str, &str)],
        nonce: &str,
        timestamp: u64,
    ) -> String {
        let mut oauth: Vec<(String, String)> = vec![
            ("oauth_consumer_key".into(), self.key.clone()),
            ("oauth_nonce".into(), nonce.into()),
            ("oauth_signature_method".into(), SIGNATURE_METHOD.into()),
            ("oauth_timestamp".into(), timestamp.to_string()),
            ("oauth_version".into(), "1.0".into()),
        ];
        match token {
            TokenParam::None => {}
            TokenParam::Empty => oauth.push(("oauth_token".into(), String::new())),
            TokenParam::Token(t) => oauth.push(("oauth_token".into(), t.into())),
        }
        oauth.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let base = signature_base_string(method, url, form, &oauth);
        oauth.push(("oauth_signature".into(), self.signer.sign(&base)));
        AuthorizationHeader {
            realm: None,
            params: oauth,
        }
        .to_header_value()
    }

    /// Two-legged impersonation: appends `xoauth_requestor_id=user` to `url`'s query and returns
    /// the URL to call and the header that signs it.
    pub fn impersonate(
        &self,
        method: &str,
        url: &Url,
        user: &str,
        form: &[(String, String)],
    ) -> (Url, String) {
        let mut url = url.clone();
        url.query_pairs_mut()
            .append_pair("xoauth_requestor_id", user);
        let header = self.authorize(method, &url, TokenParam::Empty, form, &[]);
        (url, header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5849 §3.4.1.1's worked example, exactly.
    #[test]
    fn rfc5849_signature_base_string() {
        let url = Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let form = parse_form("c2&a3=2+q");
        let header = AuthorizationHeader::parse(
            r#"OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D""#,
        )
        .unwrap();
        assert_eq!(header.realm.as_deref(), Some("Example"));
        assert_eq!(
            header.get("oauth_signature"),
            Some("bYT5CMsGcbgUdFHObYMEfcx6bsw=")
        );
        let base = signature_base_string("post", &url, &form, &header.params);
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    #[test]
    fn base_uri_normalisation() {
        let u = |s: &str| base_string_uri(&Url::parse(s).unwrap());
        assert_eq!(
            u("HTTP://EXAMPLE.COM:80/r%20v/X?id=123"),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            u("https://www.example.net:8080/?q=1"),
            "https://www.example.net:8080/"
        );
        assert_eq!(u("https://a.b:443/c"), "https://a.b/c");
    }

    #[test]
    fn header_parsing_refuses_garbage_without_panicking() {
        for bad in [
            "",
            "Basic abc",
            "OAuth ",
            "OAuth a",
            "OAuth a=b",
            "OAuth a=\"b",
            "OAuth a=\"1\", a=\"2\"",
            "OAuth é=\"\u{0}\"",
        ] {
            let _ = AuthorizationHeader::parse(bad);
        }
        assert!(AuthorizationHeader::parse("OAuth a=b").is_err());
        assert!(AuthorizationHeader::parse("OAuth a=\"1\", a=\"2\"").is_err());
        assert_eq!(
            AuthorizationHeader::parse("OAuth oauth_token=\"\"")
                .unwrap()
                .get("oauth_token"),
            Some("")
        );
    }

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let key = include_str!("../../../examples/keys/demo-consumer.key.pem");
        let public = include_str!("../../../examples/keys/demo-consumer.pub.pem");
        let other = include_str!("../../../examples/keys/other-consumer.pub.pem");
        let c = Consumer::new("cfl-gateway", key).unwrap();
        let url = Url::parse("http://127.0.0.1:8090/rest/api/space?limit=5").unwrap();
        let (url, header) = c.impersonate("GET", &url, "svc-reports", &[]);
        assert!(url
            .as_str()
            .ends_with("limit=5&xoauth_requestor_id=svc-reports"));
        let parsed = AuthorizationHeader::parse(&header).unwrap();
        assert_eq!(parsed.get("oauth_token"), Some(""));
        let base = signature_base_string("GET", &url, &[], &parsed.params);
        assert!(base.contains("xoauth_requestor_id%3Dsvc-reports"));
        let sig = parsed.get("oauth_signature").unwrap();
        assert!(RsaSha1Verifier::from_pem(public)
            .unwrap()
            .verify(&base, sig));
        assert!(!RsaSha1Verifier::from_pem(other).unwrap().verify(&base, sig));
        let tampered = base.replace("svc-reports", "admin");
        assert!(!RsaSha1Verifier::from_pem(public)
            .unwrap()
            .verify(&tampered, sig));
        assert!(!RsaSha1Verifier::from_pem(public)
            .unwrap()
            .verify(&base, "!!notbase64"));
    }

    #[test]
    fn bad_keys_are_explained() {
        let err = RsaSha1Signer::from_pem("not a key").unwrap_err();
        assert!(err.to_string().contains("PEM RSA private key"));
        assert!(RsaSha1Verifier::from_pem(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
        )
        .is_err());
    }

    /// RSA-SHA1 PKCS#1 v1.5 is deterministic, so an independent implementation (the openssl CLI)
    /// must produce the very same signature for the same key and text.
    #[test]
    fn signature_matches_openssl() {
        let key_path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/keys/demo-consumer.key.pem"
        );
        let base = "GET&http%3A%2F%2F127.0.0.1%3A8090%2Frest%2Fapi%2Fspace&oauth_consumer_key%3Dcfl-gateway%26oauth_token%3D%26xoauth_requestor_id%3Dsvc-reports";
        let out = match std::process::Command::new("openssl")
            .args(["dgst", "-sha1", "-sign", key_path])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        {
            Ok(mut child) => {
                use std::io::Write;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(base.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            }
            Err(_) => {
                eprintln!("skipping: the openssl CLI is not installed");
                return;
            }
        };
        assert!(out.status.success());
        let expected = base64::engine::general_purpose::STANDARD.encode(out.stdout);
        let signer =
            RsaSha1Signer::from_pem(include_str!("../../../examples/keys/demo-consumer.key.pem"))
                .unwrap();
        assert_eq!(signer.sign(base), expected);
    }
}
