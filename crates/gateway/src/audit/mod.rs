//! The audit log: one record per proxied request and per admin action, chained by SHA-256 so an
//! edited, removed or reordered record is detectable (`cfl audit verify`).
//!
//! Records go through [`writer::AuditWriter`], which commits them in groups and tells each
//! request when its record is durable; the proxy sends no response before that.

#[cfg(feature = "bench")]
pub mod ingest;
#[cfg(not(feature = "bench"))]
pub(crate) mod ingest;
pub(crate) mod journal;
pub(crate) mod open;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod writer;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A field that is usually one of a few fixed words (`proxy`, `allow`, `GET`): those are
/// borrowed, so a request's record doesn't allocate (and the store thread free) them.
pub type Word = Cow<'static, str>;

/// A request method as a [`Word`]: the standard ones borrowed.
pub(crate) fn method_word(method: &axum::http::Method) -> Word {
    match method.as_str() {
        "GET" => Cow::Borrowed("GET"),
        "POST" => Cow::Borrowed("POST"),
        "PUT" => Cow::Borrowed("PUT"),
        "DELETE" => Cow::Borrowed("DELETE"),
        "PATCH" => Cow::Borrowed("PATCH"),
        "HEAD" => Cow::Borrowed("HEAD"),
        "OPTIONS" => Cow::Borrowed("OPTIONS"),
        other => Cow::Owned(other.to_string()),
    }
}

/// What a record is about. Stored and hashed as its word (`proxy`, `admin`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A request through the proxy.
    #[default]
    Proxy,
    /// An action on the admin API (or on the store directly, e.g. a recovery admin token).
    Admin,
}

/// Whether a request or action was let through. Stored and hashed as `allow` or `deny`; a record
/// nobody decided on says `deny`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    #[default]
    Deny,
}

/// A stored `kind` or `decision` that is none of the known words.
#[derive(Debug, thiserror::Error)]
#[error("the audit log holds an unknown {field} {value:?}")]
pub struct UnknownWord {
    field: &'static str,
    value: String,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Proxy => "proxy",
            Kind::Admin => "admin",
        }
    }
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Kind, UnknownWord> {
        match s {
            "proxy" => Ok(Kind::Proxy),
            "admin" => Ok(Kind::Admin),
            _ => Err(UnknownWord {
                field: "kind",
                value: s.to_string(),
            }),
        }
    }
}

impl std::str::FromStr for Decision {
    type Err = UnknownWord;
    fn from_str(s: &str) -> Result<Decision, UnknownWord> {
        match s {
            "allow" => Ok(Decision::Allow),
            "deny" => Ok(Decision::Deny),
            _ => Err(UnknownWord {
                field: "decision",
                value: s.to_string(),
            }),
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The hash that precedes the first record.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// Position in the chain (1-based), assigned when written.
    pub seq: i64,
    /// Epoch milliseconds.
    pub at: i64,
    pub kind: Kind,
    /// Who acted: the bound user for proxied calls, the admin for admin actions.
    pub actor: Word,
    /// Public id of the token used (never the secret).
    pub token_id: Option<String>,
    pub bound_user: Option<String>,
    pub method: Word,
    /// The normalised path (or the admin action, e.g. `token.create`).
    pub path: String,
    pub decision: Decision,
    pub reason: Word,
    pub status: i64,
    pub request_bytes: i64,
    pub response_bytes: i64,
    pub latency_us: i64,
    pub client_ip: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// SHA-256 over the previous hash and every field but the hash itself, in a fixed order.
    pub fn compute_hash(&self, prev_hash: &str) -> String {
        // The fields as a JSON array (see [`Fields`]), without building a `Value`, into a buffer
        // the thread reuses (hashing it in one update: fed piece by piece, SHA-256 would buffer
        // each of the many small pieces).
        thread_local! {
            static FIELDS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let mut h = Sha256::new();
        h.update(prev_hash.as_bytes());
        h.update(b"\n");
        FIELDS.with_borrow_mut(|buf| {
            buf.clear();
            // Serialising strings and integers into a Vec cannot fail.
            let fields = Fields {
                record: self,
                with_seq: true,
            };
            let _ = serde_json::to_writer(&mut *buf, &fields);
            h.update(buf.as_slice());
        });
        let mut hex = String::with_capacity(64);
        for b in h.finalize() {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 15)]));
        }
        hex
    }

    /// Sets `seq`, `prev_hash` and `hash` to extend a chain whose head is (`seq`, `hash`).
    pub(crate) fn chain_after(&mut self, head_seq: i64, head_hash: &str) {
        self.seq = head_seq + 1;
        self.prev_hash = head_hash.to_string();
        self.hash = self.compute_hash(head_hash);
    }
}

/// A record's fields in the chain's fixed order, as a JSON array: `seq` first for the hash, and
/// without `seq` for a journal line (the chain gives it when the record is stored). Every field
/// but the hashes; one list, so the hash and the journal can't disagree on it.
pub(crate) struct Fields<'a> {
    pub record: &'a AuditRecord,
    pub with_seq: bool,
}

impl Serialize for Fields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let r = self.record;
        // A tuple of known length serialises exactly as a Rust tuple would (`[a,b,…]`).
        let mut t = s.serialize_tuple(if self.with_seq { 15 } else { 14 })?;
        if self.with_seq {
            t.serialize_element(&r.seq)?;
        }
        t.serialize_element(&r.at)?;
        t.serialize_element(&r.kind)?;
        t.serialize_element(&r.actor)?;
        t.serialize_element(&r.token_id)?;
        t.serialize_element(&r.bound_user)?;
        t.serialize_element(&r.method)?;
        t.serialize_element(&r.path)?;
        t.serialize_element(&r.decision)?;
        t.serialize_element(&r.reason)?;
        t.serialize_element(&r.status)?;
        t.serialize_element(&r.request_bytes)?;
        t.serialize_element(&r.response_bytes)?;
        t.serialize_element(&r.latency_us)?;
        t.serialize_element(&r.client_ip)?;
        t.end()
    }
}

/// The first problem found in a chain, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// A record's hash doesn't match its contents: it was edited.
    Altered { seq: i64 },
    /// A record doesn't point at its predecessor: one was removed or inserted.
    Broken { seq: i64 },
    /// Sequence numbers skip: records were removed.
    Gap { after: i64, next: i64 },
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainProblem::Altered { seq } => write!(
                f,
                "record {seq} was altered: its hash does not match its contents"
            ),
            ChainProblem::Broken { seq } => write!(
                f,
                "record {seq} does not follow its predecessor: records were removed or inserted"
            ),
            ChainProblem::Gap { after, next } => {
                write!(f, "records {}..{} are missing", after + 1, next - 1)
            }
        }
    }
}

/// Incremental verifier: feed records in `seq` order.
#[derive(Debug)]
pub struct Verifier {
    prev_seq: i64,
    prev_hash: String,
    pub checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            prev_seq: 0,
            prev_hash: GENESIS.to_string(),
            checked: 0,
        }
    }
}

impl Verifier {
    pub fn push(&mut self, r: &AuditRecord) -> Result<(), ChainProblem> {
        if r.seq != self.prev_seq + 1 {
            return Err(ChainProblem::Gap {
                after: self.prev_seq,
                next: r.seq,
            });
        }
        if r.prev_hash != self.prev_hash {
            return Err(ChainProblem::Broken { seq: r.seq });
        }
        if r.compute_hash(&r.prev_hash) != r.hash {
            return Err(ChainProblem::Altered { seq: r.seq });
        }
        self.prev_seq = r.seq;
        self.prev_hash = r.hash.clone();
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The enums are written, hashed and read back as the words the log always held, so
    /// existing chains still verify; a word the gateway never writes is an error, not a guess.
    #[test]
    fn kind_and_decision_keep_their_stored_words() {
        let r = AuditRecord {
            kind: Kind::Admin,
            decision: Decision::Deny,
            ..AuditRecord::default()
        };
        let fields = serde_json::to_string(&Fields {
            record: &r,
            with_seq: false,
        })
        .unwrap();
        assert!(
            fields.starts_with("[0,\"admin\",") && fields.contains(",\"deny\","),
            "{fields}"
        );
        for (word, kind) in [("proxy", Kind::Proxy), ("admin", Kind::Admin)] {
            assert_eq!(word.parse::<Kind>().unwrap(), kind);
            assert_eq!(kind.as_str(), word);
        }
        for (word, decision) in [("allow", Decision::Allow), ("deny", Decision::Deny)] {
            assert_eq!(word.parse::<Decision>().unwrap(), decision);
            assert_eq!(decision.as_str(), word);
        }
        let err = "Allow".parse::<Decision>().unwrap_err().to_string();
        assert_eq!(err, "the audit log holds an unknown decision \"Allow\"");
        assert!("".parse::<Kind>().is_err());
    }

    fn chain(n: usize) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let mut r = AuditRecord {
                at: i as i64,
                path: format!("/p/{i}"),
                decision: Decision::Allow,
                ..Default::default()
            };
            let (s, h) = out
                .last()
                .map(|p| (p.seq, p.hash.clone()))
                .unwrap_or((0, GENESIS.into()));
            r.chain_after(s, &h);
            out.push(r);
        }
        out
    }

    fn verify(records: &[AuditRecord]) -> Result<(), ChainProblem> {
        let mut v = Verifier::default();
        records.iter().try_for_each(|r| v.push(r))
    }

    #[test]
    fn hash_covers_the_fields_as_a_json_array() {
        // Pins the format: records written by earlier versions must still verify.
        let r = AuditRecord {
            seq: 7,
            at: 1_700_000_000_000,
            kind: Kind::Proxy,
            actor: "jdoe \"quoted\" ü".into(),
            token_id: Some("tok1".into()),
            bound_user: None,
            method: "GET".into(),
            path: "/rest/api/content".into(),
            decision: Decision::Allow,
            reason: "rule 1".into(),
            status: 200,
            request_bytes: 0,
            response_bytes: -1,
            latency_us: 1234,
            client_ip: "127.0.0.1".into(),
            ..Default::default()
        };
        let fields = serde_json::json!([
            r.seq,
            r.at,
            r.kind,
            r.actor,
            r.token_id,
            r.bound_user,
            r.method,
            r.path,
            r.decision,
            r.reason,
            r.status,
            r.request_bytes,
            r.response_bytes,
            r.latency_us,
            r.client_ip,
        ]);
        let mut h = Sha256::new();
        h.update(format!("{GENESIS}\n{fields}").as_bytes());
        let expected: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(r.compute_hash(GENESIS), expected);
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(()));
    }

    #[test]
    fn edits_removals_and_reorders_are_detected() {
        let mut edited = chain(5);
        edited[2].status = 200;
        assert_eq!(verify(&edited), Err(ChainProblem::Altered { seq: 3 }));

        let mut removed = chain(5);
        removed.remove(2);
        assert_eq!(
            verify(&removed),
            Err(ChainProblem::Gap { after: 2, next: 4 })
        );

        // Removing a record and renumbering still breaks the chain.
        let mut renumbered = chain(5);
        renumbered.remove(2);
        for (i, r) in renumbered.iter_mut().enumerate() {
            r.seq = i as i64 + 1;
        }
        assert!(verify(&renumbered).is_err());
    }
}
