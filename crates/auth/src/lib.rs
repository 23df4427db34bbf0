//! Credential primitives shared by the cfl client, the gateway and the simulator.
//!
//! Everything here is I/O-free (pure functions and plain types) so that the gateway can sign
//! every proxied request cheaply and the simulator can verify with exactly the same rules.
//!
//! - [`percent`]: RFC 5849 §3.6 percent-encoding and form decoding.
//! - [`oauth1`]: OAuth 1.0a with RSA-SHA1 (RFC 5849) as used by Confluence/Jira Data Center
//!   application links: signature base string, `Authorization: OAuth` header, signing with the
//!   consumer's private key, verification with its public key, three-legged and two-legged
//!   (impersonation via `xoauth_requestor_id`) requests.

pub mod oauth1;
pub mod percent;
pub mod redact;
