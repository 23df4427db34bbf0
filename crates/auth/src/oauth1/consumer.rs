//! The client side: a [`Consumer`] (key + RSA private key) signs requests for every leg of
//! OAuth 1.0a as Atlassian application links use it.

use rand::distributions::{Alphanumeric, DistString};

use super::base::{parse_url, signature_base_string, RequestParts};
use super::{AuthorizationHeader, Error, PrivateKey, REQUESTOR_ID, RSA_SHA1};
use crate::percent;

/// Which leg of the protocol a request belongs to; decides `oauth_token`, `oauth_callback` and
/// `oauth_verifier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenParams<'a> {
    /// Temporary-credential (request token) request: `oauth_callback` (`"oob"` if none), no token.
    RequestToken { callback: &'a str },
    /// Token-credential (access token) request: the approved request token and its verifier.
    AccessToken {
        request_token: &'a str,
        verifier: &'a str,
    },
    /// A resource request with an access token (three-legged).
    Access { token: &'a str },
    /// A two-legged request: `oauth_token` present but empty. To act as a user, put
    /// `xoauth_requestor_id` in the URL's query with [`with_requestor_id`] (it is signed there).
    TwoLegged,
}

/// An OAuth 1.0a consumer: its key and RSA private key, and optionally a `realm` for the header.
#[derive(Debug, Clone)]
pub struct Consumer {
    key: String,
    private_key: PrivateKey,
    realm: Option<String>,
}

impl Consumer {
    pub fn new(key: impl Into<String>, private_key: PrivateKey) -> Consumer {
        Consumer {
            key: key.into(),
            private_key,
            realm: None,
        }
    }

    /// A consumer from its key and a PKCS#8 or PKCS#1 PEM private key.
    pub fn from_pem(key: impl Into<String>, pem: &str) -> Result<Consumer, Error> {
        Ok(Consumer::new(key, PrivateKey::from_pem(pem)?))
    }

    /// Sends `realm="..."` in the header (not signed; Atlassian ignores its value).
    pub fn with_realm(mut self, realm: impl Into<String>) -> Consumer {
        self.realm = Some(realm.into());
        self
    }

    /// The consumer key (`oauth_consumer_key`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Signs `req` with an explicit nonce and timestamp (deterministic; for tests and replays).
    pub fn sign(
        &self,
        req: &RequestParts<'_>,
        token: TokenParams<'_>,
        nonce: &str,
        timestamp: i64,
    ) -> Result<AuthorizationHeader, Error> {
        let mut params: Vec<(String, String)> =
            vec![("oauth_consumer_key".into(), self.key.clone())];
        match token {
            TokenParams::RequestToken { callback } => {
                params.push(("oauth_callback".into(), callback.into()))
            }
            TokenParams::AccessToken {
                request_token,
                verifier,
            } => {
                params.push(("oauth_token".into(), request_token.into()));
                params.push(("oauth_verifier".into(), verifier.into()));
            }
            TokenParams::Access { token } => params.push(("oauth_token".into(), token.into())),
            TokenParams::TwoLegged => params.push(("oauth_token".into(), String::new())),
        }
        params.extend([
            ("oauth_signature_method".into(), RSA_SHA1.into()),
            ("oauth_timestamp".into(), timestamp.to_string()),
            ("oauth_nonce".into(), nonce.into()),
            ("oauth_version".into(), "1.0".into()),
        ]);
        let base = signature_base_string(req, &params)?;
        let signature = self.private_key.sign(&base)?;
        params.push(("oauth_signature".into(), signature));
        Ok(AuthorizationHeader::new(self.realm.clone(), params))
    }

    /// The `Authorization` header value for `req`, with a fresh random nonce and the current time.
    pub fn authorization_now(
        &self,
        req: &RequestParts<'_>,
        token: TokenParams<'_>,
    ) -> Result<String, Error> {
        Ok(self
            .sign(req, token, &generate_nonce(), unix_timestamp())?
            .to_header_value())
    }
}

/// A random nonce: 32 alphanumeric characters (unreserved, so it needs no encoding).
pub fn generate_nonce() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
}

/// Seconds since 1970 by the system clock (`oauth_timestamp`).
pub fn unix_timestamp() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Appends `xoauth_requestor_id=USER` to the URL's query (RFC 3986-encoded, so `+` and spaces
/// survive), keeping any fragment. Use the returned URL both to sign and to send.
pub fn with_requestor_id(url: &str, user: &str) -> Result<String, Error> {
    parse_url(url)?;
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = match before_fragment.find('?') {
        None => "?",
        Some(_) if before_fragment.ends_with('?') || before_fragment.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut out = format!(
        "{before_fragment}{sep}{REQUESTOR_ID}={}",
        percent::encode(user)
    );
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO_KEY: &str = include_str!("../../../../examples/keys/demo-consumer.key.pem");

    #[test]
    fn requestor_id_is_appended_encoded() {
        assert_eq!(
            with_requestor_id("http://h/x", "svc reports+1").unwrap(),
            "http://h/x?xoauth_requestor_id=svc%20reports%2B1"
        );
        assert_eq!(
            with_requestor_id("http://h/x?a=1#top", "u").unwrap(),
            "http://h/x?a=1&xoauth_requestor_id=u#top"
        );
        assert_eq!(
            with_requestor_id("http://h/x?", "u").unwrap(),
            "http://h/x?xoauth_requestor_id=u"
        );
        assert!(with_requestor_id("not a url", "u").is_err());
    }

    #[test]
    fn each_leg_carries_the_right_parameters() {
        let c = Consumer::from_pem("k", DEMO_KEY).unwrap().with_realm("r");
        let req = RequestParts::new("POST", "http://h/plugins/servlet/oauth/request-token");
        let h = c
            .sign(&req, TokenParams::RequestToken { callback: "oob" }, "n", 1)
            .unwrap();
        assert_eq!(h.realm.as_deref(), Some("r"));
        assert_eq!(h.get("oauth_callback"), Some("oob"));
        assert_eq!(h.get("oauth_token"), None);
        let h = c
            .sign(
                &req,
                TokenParams::AccessToken {
                    request_token: "rt",
                    verifier: "v",
                },
                "n",
                1,
            )
            .unwrap();
        assert_eq!(
            (h.get("oauth_token"), h.get("oauth_verifier")),
            (Some("rt"), Some("v"))
        );
        let h = c.sign(&req, TokenParams::TwoLegged, "n", 1).unwrap();
        assert_eq!(h.get("oauth_token"), Some(""));
        assert_eq!(h.get("oauth_signature_method"), Some("RSA-SHA1"));
        assert_eq!(h.get("oauth_version"), Some("1.0"));
        let nonce = generate_nonce();
        assert_eq!(nonce.len(), 32);
        assert_ne!(nonce, generate_nonce());
    }
}
