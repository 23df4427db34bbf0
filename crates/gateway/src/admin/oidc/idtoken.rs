//! ID-token verification (OpenID Connect Core §3.1.3.7): the RS256 signature against the
//! provider's key with the token's `kid` (RustCrypto's `rsa`, PKCS#1 v1.5 with SHA-256), then
//! `iss`, `aud` (and `azp` when there are several audiences), `exp`, `nbf` and `iat` with
//! [`SKEW_S`] of clock skew, and the `nonce` of this sign-in. Only RS256 is accepted: the
//! algorithm is never taken from the token's say-so beyond refusing every other one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::provider::{Jwk, Jwks};

/// Clock skew allowed between the gateway and the provider.
pub const SKEW_S: i64 = 60;

/// Why an ID token was refused; its code is the audit record's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Malformed,
    UnsupportedAlg,
    UnknownKid,
    BadSignature,
    WrongIssuer,
    WrongAudience,
    WrongAuthorizedParty,
    Expired,
    NotYetValid,
    IssuedInFuture,
    WrongNonce,
    NoSubject,
}

impl Refused {
    pub fn code(self) -> &'static str {
        match self {
            Refused::Malformed => "id_token_malformed",
            Refused::UnsupportedAlg => "id_token_alg",
            Refused::UnknownKid => "id_token_unknown_kid",
            Refused::BadSignature => "id_token_bad_signature",
            Refused::WrongIssuer => "id_token_wrong_iss",
            Refused::WrongAudience => "id_token_wrong_aud",
            Refused::WrongAuthorizedParty => "id_token_wrong_azp",
            Refused::Expired => "id_token_expired",
            Refused::NotYetValid => "id_token_not_yet_valid",
            Refused::IssuedInFuture => "id_token_iat_in_future",
            Refused::WrongNonce => "id_token_wrong_nonce",
            Refused::NoSubject => "id_token_no_sub",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            Refused::Malformed => "the ID token is not a well-formed JWT",
            Refused::UnsupportedAlg => "the ID token is not signed with RS256",
            Refused::UnknownKid => {
                "the ID token is signed with a key the provider does not publish (unknown kid)"
            }
            Refused::BadSignature => {
                "the ID token's signature does not verify with the provider's key"
            }
            Refused::WrongIssuer => {
                "the ID token was issued by another issuer than admin.oidc.issuer"
            }
            Refused::WrongAudience => {
                "the ID token is meant for another client than admin.oidc.client_id (aud)"
            }
            Refused::WrongAuthorizedParty => {
                "the ID token's authorized party (azp) is another client"
            }
            Refused::Expired => "the ID token has expired (check the gateway's clock)",
            Refused::NotYetValid => {
                "the ID token is not valid yet (nbf; check the gateway's clock)"
            }
            Refused::IssuedInFuture => {
                "the ID token was issued in the future (iat; check the gateway's clock)"
            }
            Refused::WrongNonce => "the ID token's nonce is not this sign-in's (a replayed token?)",
            Refused::NoSubject => "the ID token has no subject (sub)",
        }
    }
}

/// What this sign-in expects of its ID token.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    pub now_s: i64,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// A verified token's claims.
pub struct Claims(pub Value);

impl Claims {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0[name].as_str().filter(|s| !s.is_empty())
    }

    /// The groups claim as strings (a list, or one string).
    pub fn groups(&self, claim: &str) -> Vec<String> {
        match &self.0[claim] {
            Value::Array(a) => a
                .iter()
                .filter_map(|g| g.as_str())
                .map(str::to_string)
                .collect(),
            Value::String(s) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// Verifies `token` with `keys`; [`Refused::UnknownKid`] tells the caller to fetch the keys again.
pub fn verify(token: &str, keys: &Jwks, want: &Expected<'_>) -> Result<Claims, Refused> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refused::Malformed);
    };
    let header: Header = decode_json(h)?;
    if header.alg != "RS256" {
        return Err(Refused::UnsupportedAlg);
    }
    let key = find_key(keys, header.kid.as_deref()).ok_or(Refused::UnknownKid)?;
    let signature = B64.decode(s).map_err(|_| Refused::Malformed)?;
    check_signature(key, &token[..h.len() + 1 + p.len()], &signature)?;
    let claims: Value = decode_json(p)?;
    check_claims(&claims, want)?;
    Ok(Claims(claims))
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, Refused> {
    let bytes = B64.decode(part).map_err(|_| Refused::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| Refused::Malformed)
}

/// The RSA signing key named `kid` (without a `kid`, the only RSA key, if there is one).
fn find_key<'k>(keys: &'k Jwks, kid: Option<&str>) -> Option<&'k Jwk> {
    let usable = |k: &&Jwk| {
        k.kty == "RSA"
            && k.use_.as_deref().is_none_or(|u| u == "sig")
            && k.alg.as_deref().is_none_or(|a| a == "RS256")
    };
    match kid {
        Some(kid) => keys
            .keys
            .iter()
            .filter(usable)
            .find(|k| k.kid.as_deref() == Some(kid)),
        None => {
            let mut rsa = keys.keys.iter().filter(usable);
            match (rsa.next(), rsa.next()) {
                (Some(k), None) => Some(k),
                _ => None,
            }
        }
    }
}

fn check_signature(key: &Jwk, signed: &str, signature: &[u8]) -> Result<(), Refused> {
    let component = |v: &Option<String>| {
        v.as_deref()
            .and_then(|s| B64.decode(s).ok())
            .map(|b| BigUint::from_bytes_be(&b))
    };
    let (Some(n), Some(e)) = (component(&key.n), component(&key.e)) else {
        return Err(Refused::BadSignature);
    };
    let public = RsaPublicKey::new(n, e).map_err(|_| Refused::BadSignature)?;
    let signature = Signature::try_from(signature).map_err(|_| Refused::BadSignature)?;
    VerifyingKey::<Sha256>::new(public)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| Refused::BadSignature)
}

fn check_claims(c: &Value, want: &Expected<'_>) -> Result<(), Refused> {
    if c["iss"].as_str() != Some(want.issuer) {
        return Err(Refused::WrongIssuer);
    }
    let audiences: Vec<&str> = match &c["aud"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&want.client_id) {
        return Err(Refused::WrongAudience);
    }
    let azp = c["azp"].as_str();
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(want.client_id) {
        return Err(Refused::WrongAuthorizedParty);
    }
    let time = |name: &str| c[name].as_i64();
    match time("exp") {
        Some(exp) if exp + SKEW_S > want.now_s => {}
        _ => return Err(Refused::Expired),
    }
    if time("nbf").is_some_and(|nbf| nbf - SKEW_S > want.now_s) {
        return Err(Refused::NotYetValid);
    }
    match time("iat") {
        Some(iat) if iat - SKEW_S <= want.now_s => {}
        Some(_) => return Err(Refused::IssuedInFuture),
        None => return Err(Refused::Malformed),
    }
    let nonce = c["nonce"].as_str().unwrap_or("");
    if !bool::from(nonce.as_bytes().ct_eq(want.nonce.as_bytes())) {
        return Err(Refused::WrongNonce);
    }
    if c["sub"].as_str().is_none_or(str::is_empty) {
        return Err(Refused::NoSubject);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn want(now_s: i64) -> Expected<'static> {
        Expected {
            issuer: "https://idp/v2.0",
            client_id: "gw",
            nonce: "n1",
            now_s,
        }
    }

    fn claims() -> Value {
        json!({"iss": "https://idp/v2.0", "aud": "gw", "exp": 2000, "iat": 1000, "nonce": "n1", "sub": "s"})
    }

    #[test]
    fn each_claim_check_refuses_on_its_own() {
        assert_eq!(check_claims(&claims(), &want(1500)), Ok(()));
        let with = |k: &str, v: Value| {
            let mut c = claims();
            c[k] = v;
            check_claims(&c, &want(1500))
        };
        assert_eq!(
            with("iss", json!("https://other")),
            Err(Refused::WrongIssuer)
        );
        assert_eq!(with("aud", json!("other")), Err(Refused::WrongAudience));
        assert_eq!(
            with("aud", json!(["gw", "x"])),
            Err(Refused::WrongAuthorizedParty)
        );
        assert_eq!(with("exp", json!(1400)), Err(Refused::Expired));
        assert_eq!(with("nbf", json!(1600)), Err(Refused::NotYetValid));
        assert_eq!(with("iat", json!(1600)), Err(Refused::IssuedInFuture));
        assert_eq!(with("nonce", json!("n2")), Err(Refused::WrongNonce));
        // Within the skew: accepted.
        assert_eq!(with("exp", json!(1450)), Ok(()));
        assert_eq!(with("iat", json!(1550)), Ok(()));
    }

    #[test]
    fn other_algorithms_are_refused_before_any_key_is_looked_at() {
        let h = B64.encode(br#"{"alg":"none"}"#);
        let p = B64.encode(claims().to_string());
        let t = format!("{h}.{p}.");
        assert_eq!(
            verify(&t, &Jwks::default(), &want(1500)).err(),
            Some(Refused::UnsupportedAlg)
        );
        let h = B64.encode(br#"{"alg":"HS256","kid":"k"}"#);
        assert_eq!(
            verify(&format!("{h}.{p}.AAAA"), &Jwks::default(), &want(1500)).err(),
            Some(Refused::UnsupportedAlg)
        );
    }
}
