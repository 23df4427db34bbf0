//! The server side: typed protocol parameters and signature verification.
//!
//! Policy that needs state (timestamp window, nonce memory, consumer and token lookup) stays with
//! the caller; this module only answers "is this header well-formed" and "does the signature match".

use super::base::{signature_base_string, RequestParts};
use super::{AuthorizationHeader, Error, PublicKey, RSA_SHA1};

/// The `oauth_*` parameters of a request, checked for presence and syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolParams {
    pub consumer_key: String,
    /// `None` when absent (request-token requests); `Some("")` for two-legged requests.
    pub token: Option<String>,
    pub signature: String,
    pub timestamp: i64,
    pub nonce: String,
    pub callback: Option<String>,
    pub verifier: Option<String>,
}

impl ProtocolParams {
    /// Reads and checks the header's parameters: required ones present and non-empty,
    /// `oauth_signature_method` = RSA-SHA1, `oauth_version` absent or `1.0`, numeric timestamp.
    pub fn from_header(h: &AuthorizationHeader) -> Result<ProtocolParams, Error> {
        let required = |name: &'static str| -> Result<String, Error> {
            match h.get(name) {
                Some(v) if !v.is_empty() => Ok(v.to_string()),
                _ => Err(Error::MissingParameter(name)),
            }
        };
        let consumer_key = required("oauth_consumer_key")?;
        let method = required("oauth_signature_method")?;
        if method != RSA_SHA1 {
            return Err(Error::SignatureMethod(method));
        }
        if let Some(v) = h.get("oauth_version") {
            if v != "1.0" {
                return Err(Error::Version(v.to_string()));
            }
        }
        let signature = required("oauth_signature")?;
        let ts = required("oauth_timestamp")?;
        let timestamp = ts
            .parse::<i64>()
            .ok()
            .filter(|t| *t >= 0 && ts.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| Error::InvalidParameter {
                name: "oauth_timestamp",
                reason: "must be a number of seconds since 1970".into(),
            })?;
        let nonce = required("oauth_nonce")?;
        Ok(ProtocolParams {
            consumer_key,
            token: h.get("oauth_token").map(str::to_string),
            signature,
            timestamp,
            nonce,
            callback: h.get("oauth_callback").map(str::to_string),
            verifier: h.get("oauth_verifier").map(str::to_string),
        })
    }

    /// True for a two-legged request: `oauth_token` present and empty.
    pub fn is_two_legged(&self) -> bool {
        self.token.as_deref() == Some("")
    }
}

/// Verifies the RSA-SHA1 signature of a request whose `Authorization` header is `header`.
pub fn verify(
    key: &PublicKey,
    req: &RequestParts<'_>,
    header: &AuthorizationHeader,
) -> Result<(), Error> {
    let signature = header
        .get("oauth_signature")
        .filter(|s| !s.is_empty())
        .ok_or(Error::MissingParameter("oauth_signature"))?;
    let base = signature_base_string(req, header.params())?;
    key.verify(&base, signature)
}

#[cfg(test)]
mod tests {
    use super::super::{Consumer, PrivateKey, TokenParams};
    use super::*;

    const DEMO_KEY: &str = include_str!("../../../../examples/keys/demo-consumer.key.pem");

    fn signed(url: &str, token: TokenParams<'_>) -> (PublicKey, AuthorizationHeader) {
        let key = PrivateKey::from_pem(DEMO_KEY).unwrap();
        let consumer = Consumer::new("cfl-gateway", key.clone());
        let h = consumer
            .sign(
                &RequestParts::new("GET", url),
                token,
                "nonce1",
                1_700_000_000,
            )
            .unwrap();
        (key.public_key(), h)
    }

    #[test]
    fn accepts_own_signature_and_rejects_tampering() {
        let url = "http://127.0.0.1:8090/rest/api/user/current?xoauth_requestor_id=svc-reports";
        let (key, h) = signed(url, TokenParams::TwoLegged);
        verify(&key, &RequestParts::new("GET", url), &h).unwrap();
        verify(&key, &RequestParts::new("get", url), &h).unwrap();
        let tampered = url.replace("svc-reports", "admin");
        assert_eq!(
            verify(&key, &RequestParts::new("GET", &tampered), &h),
            Err(Error::SignatureInvalid)
        );
        assert_eq!(
            verify(&key, &RequestParts::new("POST", url), &h),
            Err(Error::SignatureInvalid)
        );
        let p = ProtocolParams::from_header(&h).unwrap();
        assert!(p.is_two_legged());
        assert_eq!(p.timestamp, 1_700_000_000);
        assert_eq!(p.nonce, "nonce1");
    }

    #[test]
    fn protocol_params_report_the_right_problem() {
        let (_, h) = signed("http://h/x", TokenParams::Access { token: "t" });
        let without = |name: &str| {
            AuthorizationHeader::new(
                None,
                h.params()
                    .iter()
                    .filter(|(n, _)| n != name)
                    .cloned()
                    .collect(),
            )
        };
        let with = |name: &str, value: &str| {
            let mut params: Vec<_> = h
                .params()
                .iter()
                .filter(|(n, _)| n != name)
                .cloned()
                .collect();
            params.push((name.to_string(), value.to_string()));
            AuthorizationHeader::new(None, params)
        };
        let problem = |h: AuthorizationHeader| {
            ProtocolParams::from_header(&h)
                .unwrap_err()
                .problem()
                .as_str()
        };
        assert_eq!(problem(without("oauth_nonce")), "parameter_absent");
        assert_eq!(problem(without("oauth_consumer_key")), "parameter_absent");
        assert_eq!(
            problem(with("oauth_signature_method", "HMAC-SHA1")),
            "signature_method_rejected"
        );
        assert_eq!(problem(with("oauth_version", "2.0")), "version_rejected");
        assert_eq!(problem(with("oauth_timestamp", "-5")), "parameter_rejected");
        assert_eq!(problem(with("oauth_timestamp", "+5")), "parameter_rejected");
        assert_eq!(
            ProtocolParams::from_header(&h).unwrap().token.as_deref(),
            Some("t")
        );
    }
}
