//! The one error type of cfl-client. Callers decide by variant (and [`Error::status`]), never by
//! the text: the binary maps errors to exit codes in one place (`credential_refused` → 4).

/// Why a token endpoint said no, so callers can advise (log in again vs fix the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `invalid_client`: wrong client id or secret.
    Client,
    /// `invalid_grant`: the code or refresh token is unknown, expired, used or revoked.
    Grant,
    Other,
}

/// A failure the caller may need to tell apart from others.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server refused the request; `explanation` comes from [`crate::Client::explain`]
    /// (the status line, the server's message and, for a 401, the command that fixes it).
    #[error("{explanation}")]
    Http { status: u16, explanation: String },
    /// An update lost a race: someone saved a newer version meanwhile.
    #[error(
        "page {id} was changed by someone else meanwhile (you sent version {sent}; {server}). \
         Nothing was saved. Fetch the current page (`cfl page get {id} --body`), apply your \
         change to it, and run the update again."
    )]
    Conflict {
        id: String,
        sent: u64,
        server: String,
    },
    /// A lookup found nothing (a title, a file name).
    #[error("{0}")]
    NotFound(String),
    /// Input that cannot be used as given (a page reference, a label); the text says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// A request could not be sent, signed or authorized (unreachable server, missing key,
    /// renewal refused); the text names what to check.
    #[error("{0}")]
    Request(String),
    /// The transport failed (an unreachable server, an untrusted certificate, a body broken
    /// off); the message says what to check, the source what reqwest saw.
    #[error("{message}")]
    Transport {
        message: String,
        #[source]
        source: reqwest::Error,
    },
    /// A local file could not be read or written.
    #[error("{message}")]
    Io {
        message: String,
        #[source]
        source: std::io::Error,
    },
    /// A token endpoint refused a grant; `refusal` says which part, so the advice fits.
    #[error("{message}")]
    Grant { refusal: Refusal, message: String },
    /// The server kept answering 429/503 beyond the retry policy.
    #[error("{0}")]
    RateLimited(String),
    /// Another error, with what was being done when it happened.
    #[error("{message}")]
    Context {
        message: String,
        #[source]
        source: Box<Error>,
    },
    /// cfl itself failed (a task panicked, a value would not serialize): not the input's fault.
    #[error("{0}")]
    Internal(String),
    /// `cfl export` finished, but some pages failed (each was reported on its own).
    #[error("{failed} page(s) failed; run the same command again to fetch just those.")]
    PagesFailed {
        failed: usize,
        /// At least one failure was a refused credential: logging in again is the fix.
        credential_refused: bool,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What was being done, added to an error (shown as `what: why`), keeping its type inside
/// (a refusal under a context is still a refusal). On an `Option`, `None` is invalid input.
pub(crate) trait Context<T> {
    fn context(self, message: impl Into<String>) -> Result<T>;
    fn with_context<M: Into<String>>(self, message: impl FnOnce() -> M) -> Result<T>;
}

impl<T> Context<T> for Result<T> {
    fn context(self, message: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Context {
            message: message.into(),
            source: Box::new(e),
        })
    }

    fn with_context<M: Into<String>>(self, message: impl FnOnce() -> M) -> Result<T> {
        self.map_err(|e| Error::Context {
            message: message().into(),
            source: Box::new(e),
        })
    }
}

/// A local file failed: the message names the file, the source what the OS said.
impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn context(self, message: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::io(message, e))
    }

    fn with_context<M: Into<String>>(self, message: impl FnOnce() -> M) -> Result<T> {
        self.map_err(|e| Error::io(message(), e))
    }
}

/// The transport failed mid-way (a body broken off).
impl<T> Context<T> for std::result::Result<T, reqwest::Error> {
    fn context(self, message: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::transport(message, e))
    }

    fn with_context<M: Into<String>>(self, message: impl FnOnce() -> M) -> Result<T> {
        self.map_err(|e| Error::transport(message(), e))
    }
}

/// A local JSON file (a manifest, a journal) is unusable as given; the parser's words follow.
impl<T> Context<T> for std::result::Result<T, serde_json::Error> {
    fn context(self, message: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Invalid(format!("{}: {e}", message.into())))
    }

    fn with_context<M: Into<String>>(self, message: impl FnOnce() -> M) -> Result<T> {
        self.map_err(|e| Error::Invalid(format!("{}: {e}", message().into())))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, message: impl Into<String>) -> Result<T> {
        self.ok_or_else(|| Error::Invalid(message.into()))
    }

    fn with_context<M: Into<String>>(self, message: impl FnOnce() -> M) -> Result<T> {
        self.ok_or_else(|| Error::Invalid(message().into()))
    }
}

/// Returns an [`Error::Invalid`] made like `format!` (what the person asked for cannot be done).
macro_rules! invalid {
    ($($t:tt)*) => {
        return Err($crate::error::Error::Invalid(format!($($t)*)))
    };
}
pub(crate) use invalid;

impl Error {
    pub fn transport(message: impl Into<String>, source: reqwest::Error) -> Error {
        Error::Transport {
            message: message.into(),
            source,
        }
    }

    /// This error with what was being done when it happened (see [`Context`]).
    pub fn context(self, message: impl Into<String>) -> Error {
        Error::Context {
            message: message.into(),
            source: Box::new(self),
        }
    }

    /// An [`Error::Internal`] from another error, its sources in the text (`a: b`).
    pub fn internal(e: &dyn std::error::Error) -> Error {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        Error::Internal(text)
    }

    pub fn io(message: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            message: message.into(),
            source,
        }
    }

    /// The HTTP status behind the error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Http { status, .. } => Some(*status),
            Error::Conflict { .. } => Some(409),
            Error::Context { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Whether the server refused the credential (the fix is logging in again).
    pub fn credential_refused(&self) -> bool {
        match self {
            Error::PagesFailed {
                credential_refused, ..
            } => *credential_refused,
            Error::Context { source, .. } => source.credential_refused(),
            e => e.status() == Some(401),
        }
    }

    /// The message with its sources (`a: b: c`), for an error folded into another's text.
    pub fn with_sources(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_refusal_come_from_the_variant() {
        let http = |status| Error::Http {
            status,
            explanation: "HTTP 500 but the text says HTTP 401".into(),
        };
        assert!(http(401).credential_refused());
        assert!(!http(500).credential_refused(), "the text is never read");
        let e = http(401).context("reading page 1");
        assert_eq!(e.status(), Some(401), "a context keeps the status inside");
        assert!(e.credential_refused());
        assert_eq!(
            e.with_sources(),
            "reading page 1: HTTP 500 but the text says HTTP 401"
        );
    }
}
