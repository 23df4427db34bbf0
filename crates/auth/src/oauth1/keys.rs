//! RSA-SHA1 (RFC 5849 §3.4.3): RSASSA-PKCS1-v1_5 over SHA-1 of the base string, base64-encoded.
//!
//! PKCS#1 v1.5 signatures are deterministic, which is what lets tests compare ours with
//! `openssl dgst -sha1 -sign`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha1::{Digest, Sha1};

use super::Error;

/// A consumer's RSA private key. `Debug` never prints key material.
#[derive(Clone)]
pub struct PrivateKey(RsaPrivateKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

impl PrivateKey {
    /// Reads `-----BEGIN PRIVATE KEY-----` (PKCS#8) or `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1).
    pub fn from_pem(pem: &str) -> Result<PrivateKey, Error> {
        let pem = pem.trim();
        let key = if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
            RsaPrivateKey::from_pkcs1_pem(pem).map_err(|e| Error::Key(format!("PKCS#1: {e}")))?
        } else if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
            RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| Error::Key(format!("PKCS#8: {e}")))?
        } else if pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(Error::Key(
                "encrypted private keys are not supported; decrypt it first (openssl pkey)".into(),
            ));
        } else {
            return Err(Error::Key(
                "expected a PEM 'PRIVATE KEY' (PKCS#8) or 'RSA PRIVATE KEY' (PKCS#1)".into(),
            ));
        };
        Ok(PrivateKey(key))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.to_public_key())
    }

    /// Signs `base_string` and returns the base64 signature (not yet percent-encoded).
    pub fn sign(&self, base_string: &str) -> Result<String, Error> {
        let digest = Sha1::digest(base_string.as_bytes());
        let sig = self
            .0
            .sign(Pkcs1v15Sign::new::<Sha1>(), &digest)
            .map_err(|e| Error::Signing(e.to_string()))?;
        Ok(STANDARD.encode(sig))
    }
}

/// A consumer's RSA public key, as stored by the application link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(RsaPublicKey);

impl PublicKey {
    /// Reads `-----BEGIN PUBLIC KEY-----` (SPKI) or `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1).
    pub fn from_pem(pem: &str) -> Result<PublicKey, Error> {
        let pem = pem.trim();
        let key = if pem.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
            RsaPublicKey::from_pkcs1_pem(pem).map_err(|e| Error::Key(format!("PKCS#1: {e}")))?
        } else if pem.starts_with("-----BEGIN PUBLIC KEY-----") {
            RsaPublicKey::from_public_key_pem(pem).map_err(|e| Error::Key(format!("SPKI: {e}")))?
        } else {
            return Err(Error::Key(
                "expected a PEM 'PUBLIC KEY' (SPKI) or 'RSA PUBLIC KEY' (PKCS#1)".into(),
            ));
        };
        Ok(PublicKey(key))
    }

    /// Checks a base64 signature over `base_string`. Bad base64 is [`Error::SignatureInvalid`].
    pub fn verify(&self, base_string: &str, signature_b64: &str) -> Result<(), Error> {
        let sig = STANDARD
            .decode(signature_b64.trim())
            .map_err(|_| Error::SignatureInvalid)?;
        let digest = Sha1::digest(base_string.as_bytes());
        self.0
            .verify(Pkcs1v15Sign::new::<Sha1>(), &digest, &sig)
            .map_err(|_| Error::SignatureInvalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO_KEY: &str = include_str!("../../../../examples/keys/demo-consumer.key.pem");
    const DEMO_PUB: &str = include_str!("../../../../examples/keys/demo-consumer.pub.pem");
    const OTHER_PUB: &str = include_str!("../../../../examples/keys/other-consumer.pub.pem");

    #[test]
    fn signs_and_verifies_with_the_matching_key_only() {
        let key = PrivateKey::from_pem(DEMO_KEY).unwrap();
        let sig = key.sign("GET&x&y").unwrap();
        let demo = PublicKey::from_pem(DEMO_PUB).unwrap();
        assert_eq!(demo, key.public_key());
        demo.verify("GET&x&y", &sig).unwrap();
        assert_eq!(demo.verify("GET&x&z", &sig), Err(Error::SignatureInvalid));
        assert_eq!(
            demo.verify("GET&x&y", "not base64!"),
            Err(Error::SignatureInvalid)
        );
        let other = PublicKey::from_pem(OTHER_PUB).unwrap();
        assert_eq!(other.verify("GET&x&y", &sig), Err(Error::SignatureInvalid));
        // Deterministic (PKCS#1 v1.5).
        assert_eq!(key.sign("GET&x&y").unwrap(), sig);
    }

    #[test]
    fn reads_pkcs1_pems_too() {
        use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey, LineEnding};
        let key = PrivateKey::from_pem(DEMO_KEY).unwrap();
        let pkcs1 = key.0.to_pkcs1_pem(LineEnding::LF).unwrap();
        let again = PrivateKey::from_pem(&pkcs1).unwrap();
        assert_eq!(again.sign("a").unwrap(), key.sign("a").unwrap());
        let pub1 = key.0.to_public_key().to_pkcs1_pem(LineEnding::LF).unwrap();
        assert_eq!(PublicKey::from_pem(&pub1).unwrap(), key.public_key());
    }

    #[test]
    fn bad_pems_are_clear_errors() {
        assert!(PrivateKey::from_pem("hello")
            .unwrap_err()
            .to_string()
            .contains("PKCS#8"));
        assert!(PrivateKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
        )
        .is_err());
        assert!(PublicKey::from_pem(DEMO_KEY).is_err());
        let dbg = format!("{:?}", PrivateKey::from_pem(DEMO_KEY).unwrap());
        assert_eq!(dbg, "PrivateKey(..)");
    }
}
