//! OAuth 1.0a (RFC 5849) with RSA-SHA1, the way Atlassian Data Center application links use it.
//!
//! Submodules: [`base`] (signature base string, §3.4.1), [`header`] (`Authorization: OAuth`
//! building and parsing, §3.5.1), [`keys`] (RSA-SHA1 signing and verification), [`consumer`]
//! (the client side: [`Consumer`] signs requests), [`mod@verify`] (the server side: [`verify()`]).
//!
//! # Signing (client, gateway)
//! ```
//! use cfl_auth::oauth1::{Consumer, RequestParts, TokenParams, with_requestor_id};
//! # let pem = include_str!("../../../../examples/keys/demo-consumer.key.pem");
//! let consumer = Consumer::from_pem("cfl-gateway", pem).unwrap();
//! // Two-legged impersonation: oauth_token="" and xoauth_requestor_id in the query.
//! let url = with_requestor_id("http://127.0.0.1:8090/rest/api/user/current", "svc-reports").unwrap();
//! let req = RequestParts::new("GET", &url);
//! let authorization = consumer.authorization_now(&req, TokenParams::TwoLegged).unwrap();
//! assert!(authorization.starts_with("OAuth "));
//! ```
//!
//! # Verifying (simulator)
//! Parse the header with [`AuthorizationHeader::parse`], read the typed protocol parameters with
//! [`ProtocolParams::from_header`] (required parameters, RSA-SHA1, version), look up the
//! consumer's [`PublicKey`], then call [`verify()`]. Timestamp windows, nonces and tokens are
//! the caller's policy; [`Problem`] gives the standard `oauth_problem` codes to report.

pub mod base;
pub mod consumer;
pub mod header;
pub mod keys;
mod protocol;
pub mod verify;

pub use base::{
    base_string_uri, is_form_content_type, normalized_parameters, request_parameters,
    signature_base_string, RequestParts,
};
pub use consumer::{generate_nonce, unix_timestamp, with_requestor_id, Consumer, TokenParams};
pub use header::AuthorizationHeader;
pub use keys::{PrivateKey, PublicKey};
pub use protocol::{Error, Problem, REQUESTOR_ID, RSA_SHA1};
pub use verify::{verify, ProtocolParams};
