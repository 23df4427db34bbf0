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
pub mod verify;

pub use base::{
    base_string_uri, is_form_content_type, normalized_parameters, request_parameters,
    signature_base_string, RequestParts,
};
pub use consumer::{generate_nonce, unix_timestamp, with_requestor_id, Consumer, TokenParams};
pub use header::AuthorizationHeader;
pub use keys::{PrivateKey, PublicKey};
pub use verify::{verify, ProtocolParams};

/// The only signature method supported (the one application links use).
pub const RSA_SHA1: &str = "RSA-SHA1";

/// The query parameter naming the user a two-legged request acts as.
pub const REQUESTOR_ID: &str = "xoauth_requestor_id";

/// `oauth_problem` codes from the OAuth Problem Reporting extension, as Atlassian reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    ParameterAbsent,
    ParameterRejected,
    SignatureMethodRejected,
    VersionRejected,
    TimestampRefused,
    NonceUsed,
    SignatureInvalid,
    ConsumerKeyUnknown,
    TokenRejected,
    PermissionUnknown,
    PermissionDenied,
    UserRefused,
}

impl Problem {
    /// The wire name, e.g. `signature_invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::ParameterAbsent => "parameter_absent",
            Problem::ParameterRejected => "parameter_rejected",
            Problem::SignatureMethodRejected => "signature_method_rejected",
            Problem::VersionRejected => "version_rejected",
            Problem::TimestampRefused => "timestamp_refused",
            Problem::NonceUsed => "nonce_used",
            Problem::SignatureInvalid => "signature_invalid",
            Problem::ConsumerKeyUnknown => "consumer_key_unknown",
            Problem::TokenRejected => "token_rejected",
            Problem::PermissionUnknown => "permission_unknown",
            Problem::PermissionDenied => "permission_denied",
            Problem::UserRefused => "user_refused",
        }
    }

    /// HTTP status per RFC 5849 §3.2: malformed requests are 400, rejected credentials 401.
    pub fn http_status(self) -> u16 {
        match self {
            Problem::ParameterAbsent
            | Problem::ParameterRejected
            | Problem::SignatureMethodRejected
            | Problem::VersionRejected => 400,
            _ => 401,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong building, parsing, signing or verifying. Messages never
/// contain key material or signatures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("malformed OAuth Authorization header: {0}")]
    MalformedHeader(String),
    #[error("OAuth parameter {0} is missing")]
    MissingParameter(&'static str),
    #[error("OAuth parameter {0} appears more than once")]
    DuplicateParameter(String),
    #[error("invalid OAuth parameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    #[error("unsupported oauth_signature_method {0:?} (only RSA-SHA1 is supported)")]
    SignatureMethod(String),
    #[error("unsupported oauth_version {0:?} (only 1.0)")]
    Version(String),
    #[error("invalid request URL: {0}")]
    Url(String),
    #[error("invalid RSA key: {0}")]
    Key(String),
    #[error("signing failed: {0}")]
    Signing(String),
    #[error("signature does not match the request")]
    SignatureInvalid,
}

impl Error {
    /// The `oauth_problem` a server reports for this error.
    pub fn problem(&self) -> Problem {
        match self {
            Error::MissingParameter(_) => Problem::ParameterAbsent,
            Error::SignatureMethod(_) => Problem::SignatureMethodRejected,
            Error::Version(_) => Problem::VersionRejected,
            Error::SignatureInvalid | Error::Signing(_) | Error::Key(_) => {
                Problem::SignatureInvalid
            }
            Error::MalformedHeader(_)
            | Error::DuplicateParameter(_)
            | Error::InvalidParameter { .. }
            | Error::Url(_) => Problem::ParameterRejected,
        }
    }
}
