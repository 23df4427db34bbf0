//! [`Target`]: the URL a request is authorized for, made only by the method files.

/// A URL after the method's rewrite: the only thing a request can be authorized for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    url: String,
}

impl Target {
    /// Made only by authorizers (here and in the method files).
    pub(super) fn new(url: impl Into<String>) -> Target {
        Target { url: url.into() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}
