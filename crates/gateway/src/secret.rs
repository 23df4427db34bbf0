//! Gateway token secrets: `cfl_` + 32 base62 characters of entropy (190 bits) + a 6-character
//! base62 CRC32 checksum, like GitHub's `ghp_` tokens, so secret scanners can recognise them and
//! typos are caught before any lookup. Only a SHA-256 digest is ever stored.

use rand::Rng;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

pub const PREFIX: &str = "cfl_";
const ENTROPY_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;
/// Total length of a generated secret.
pub const SECRET_LEN: usize = PREFIX.len() + ENTROPY_LEN + CHECKSUM_LEN;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A freshly generated secret. Shown to the admin once, then only its hash is kept.
pub struct Secret(String);

impl Secret {
    pub fn generate() -> Secret {
        let mut rng = rand::rngs::OsRng;
        let mut s = String::with_capacity(SECRET_LEN);
        s.push_str(PREFIX);
        for _ in 0..ENTROPY_LEN {
            s.push(BASE62[rng.gen_range(0..62)] as char);
        }
        let sum = checksum(&s);
        s.push_str(&sum);
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// What a presented secret looks like, decided before any lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    /// `cfl_` format with a valid checksum.
    Valid,
    /// `cfl_` prefix but wrong length, alphabet or checksum: a typo or a forgery.
    Corrupt,
    /// Not our format: an admin-chosen token (Extender lets admins set the token value).
    Foreign,
}

pub fn shape(candidate: &str) -> Shape {
    let Some(body) = candidate.strip_prefix(PREFIX) else {
        return Shape::Foreign;
    };
    if candidate.len() != SECRET_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Shape::Corrupt;
    }
    let (head, sum) = candidate.split_at(PREFIX.len() + ENTROPY_LEN);
    if checksum(head).as_bytes().ct_eq(sum.as_bytes()).into() {
        Shape::Valid
    } else {
        Shape::Corrupt
    }
}

fn checksum(head: &str) -> String {
    let mut n = crc32fast::hash(head.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// SHA-256 of a secret, hex-encoded: the only form stored or used as a lookup key. Secrets carry
/// 190 bits of entropy, so a fast hash is enough (no password-style stretching needed).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SecretHash(pub String);

impl SecretHash {
    pub fn of(secret: &str) -> SecretHash {
        Digest::of(secret).hash()
    }
}

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretHash({}…)", &self.0[..8.min(self.0.len())])
    }
}

/// SHA-256 of a secret as its 32 bytes: the token cache's key, which a request finds without
/// hex-encoding it or hashing it again (see [`DigestHasher`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn of(secret: &str) -> Digest {
        Digest(Sha256::digest(secret.as_bytes()).into())
    }

    /// The stored form of a hash (`SecretHash`); `None` if `hex` is not 64 hex digits.
    pub fn from_hex(hex: &str) -> Option<Digest> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let nibble = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Some(Digest(out))
    }

    /// The stored form: lowercase hex.
    pub fn hash(&self) -> SecretHash {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for b in self.0 {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 15)]));
        }
        SecretHash(hex)
    }

    /// Constant-time equality, for the final check after a map lookup.
    pub fn ct_eq(&self, other: &Digest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for Digest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({:?})", self.hash())
    }
}

/// A map hasher for [`Digest`] keys that uses the digest's first 8 bytes as they are: SHA-256
/// output is already uniform, so hashing it again (std's SipHash) only costs time. The map holds
/// only tokens an admin made; a request's key is looked up, never inserted, so crafted keys
/// can't crowd a bucket.
#[derive(Default)]
pub struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `Digest` keys are hashed with this; mix anything else in rather than drop it.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A short, non-secret public id for a token (shown in lists and the audit log), like Vault's
/// accessor: `tok_` + 12 base62 characters.
pub fn public_id() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut s = String::from("tok_");
    for _ in 0..12 {
        s.push(BASE62[rng.gen_range(0..62)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_round_trips_through_its_stored_hex() {
        let d = Digest::of("cfl_example");
        assert_eq!(d.hash(), SecretHash::of("cfl_example"));
        assert_eq!(Digest::from_hex(&d.hash().0), Some(d));
        assert_eq!(Digest::from_hex(&d.hash().0.to_uppercase()), Some(d));
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63), &"a".repeat(65)] {
            assert_eq!(Digest::from_hex(bad), None, "{bad}");
        }
        assert!(d.ct_eq(&d) && !d.ct_eq(&Digest::of("cfl_other")));
    }

    #[test]
    fn generated_secrets_have_the_documented_shape() {
        let s = Secret::generate();
        assert_eq!(s.expose().len(), SECRET_LEN);
        assert!(s.expose().starts_with("cfl_"));
        assert_eq!(shape(s.expose()), Shape::Valid);
        assert_ne!(Secret::generate().expose(), s.expose());
    }

    #[test]
    fn a_single_changed_character_breaks_the_checksum() {
        let s = Secret::generate();
        let mut bytes = s.expose().as_bytes().to_vec();
        let i = PREFIX.len() + 5;
        bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
        assert_eq!(shape(std::str::from_utf8(&bytes).unwrap()), Shape::Corrupt);
        assert_eq!(shape("cfl_short"), Shape::Corrupt);
        assert_eq!(shape("token1234567890"), Shape::Foreign);
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let s = Secret::generate();
        assert!(!format!("{s:?}").contains(&s.expose()[4..]));
        assert!(!format!("{:?}", s.hash()).contains(&s.hash().0));
    }

    #[test]
    fn hash_is_sha256_hex() {
        // sha256("abc")
        assert_eq!(
            SecretHash::of("abc").0,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(Digest::of("abc").ct_eq(&Digest::of("abc")));
        assert!(!Digest::of("abc").ct_eq(&Digest::of("abd")));
    }
}
