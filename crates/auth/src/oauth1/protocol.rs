//! The protocol's constants, its `oauth_problem` codes and this crate's OAuth 1.0a error.

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
