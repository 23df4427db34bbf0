//! The provider's RS256 signing keys: one current key signs, retired keys stay published in the
//! JWKS until dropped, so a relying party can be tested for `kid` lookup across a rotation.
//!
//! The first key is a fixed demo key (generating 2048-bit keys is slow in debug builds); each
//! rotation generates a fresh one. Signing uses the `rsa` crate's PKCS#1 v1.5 + SHA-256 signer.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Demo-only: a published private key. Anyone can sign tokens with it; never trust this issuer
/// outside tests and the demo.
const DEMO_KEY_PEM: &str = include_str!("demo-signing-key.pem");

pub struct SigningKeyPair {
    pub kid: String,
    signer: SigningKey<Sha256>,
    jwk: Value,
}

impl SigningKeyPair {
    fn new(key: RsaPrivateKey) -> SigningKeyPair {
        let public = key.to_public_key();
        let n = B64.encode(public.n().to_bytes_be());
        let e = B64.encode(public.e().to_bytes_be());
        let kid = thumbprint(&n, &e);
        let jwk = json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e});
        SigningKeyPair {
            kid,
            signer: SigningKey::<Sha256>::new(key),
            jwk,
        }
    }

    /// RS256 signature over `input`, base64url.
    pub fn sign(&self, input: &str) -> String {
        B64.encode(self.signer.sign(input.as_bytes()).to_bytes())
    }
}

/// RFC 7638 JWK thumbprint: a stable `kid` derived from the public key.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

pub struct KeyRing {
    current: SigningKeyPair,
    retired: Vec<SigningKeyPair>,
}

impl KeyRing {
    pub fn demo() -> KeyRing {
        let key = RsaPrivateKey::from_pkcs8_pem(DEMO_KEY_PEM).expect("the shipped demo key parses");
        KeyRing {
            current: SigningKeyPair::new(key),
            retired: vec![],
        }
    }

    pub fn current(&self) -> &SigningKeyPair {
        &self.current
    }

    /// Makes a newly generated key current; the old one stays published. Returns the new `kid`.
    pub fn rotate(&mut self, key: RsaPrivateKey) -> String {
        let next = SigningKeyPair::new(key);
        let kid = next.kid.clone();
        let old = std::mem::replace(&mut self.current, next);
        self.retired.push(old);
        kid
    }

    /// Unpublishes a retired key. The current key can't be dropped (rotate first).
    pub fn drop_retired(&mut self, kid: &str) -> Result<(), DropError> {
        if self.current.kid == kid {
            return Err(DropError::Current);
        }
        let before = self.retired.len();
        self.retired.retain(|k| k.kid != kid);
        if self.retired.len() == before {
            return Err(DropError::Unknown);
        }
        Ok(())
    }

    pub fn retired_kids(&self) -> Vec<String> {
        self.retired.iter().map(|k| k.kid.clone()).collect()
    }

    /// The JWKS document: current key first.
    pub fn jwks(&self) -> Value {
        let keys: Vec<&Value> = std::iter::once(&self.current)
            .chain(self.retired.iter())
            .map(|k| &k.jwk)
            .collect();
        json!({ "keys": keys })
    }
}

pub enum DropError {
    Current,
    Unknown,
}

/// A fresh 2048-bit key. Slow (seconds in debug builds): call off the async threads.
pub fn generate() -> Result<RsaPrivateKey, rsa::Error> {
    RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
}
