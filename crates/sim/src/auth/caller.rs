//! Who a request runs as: the [`Caller`] the auth layer decides once and handlers read from the
//! request extensions. A leaf, so the credential stores (PATs, OAuth, OIDC) can name it without
//! depending on the layer that calls them.

use crate::error::{ApiError, ApiResult, ErrorStyle};

/// Which host a Cloud request arrived on. DC only has `Site`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiBase {
    /// `SITE.atlassian.net/wiki` (Cloud) or the DC base URL.
    Site,
    /// `api.atlassian.com/ex/confluence/{cloudId}/wiki`.
    ApiGateway,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMethod {
    Anonymous,
    /// DC `user:password`.
    Password,
    /// Cloud classic API token.
    ApiToken,
    /// Cloud scoped API token.
    ScopedToken,
    /// DC personal access token.
    Pat,
    /// A trusted SSO header (`trusted_header` in the config).
    TrustedHeader,
    /// DC `JSESSIONID` cookie.
    Session,
    /// OAuth 1.0a (three-legged access token, or two-legged).
    OAuth1,
    /// OAuth 2.0 bearer (Cloud 3LO, client credentials, DC provider).
    OAuth2,
    /// A token of the Extender add-on (`[extender]`).
    ExtenderToken,
}

/// The identity a request runs as, decided once by the auth layer.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Canonical username; `None` for anonymous.
    pub user: Option<String>,
    pub method: AuthMethod,
    /// `Some` when the credential is limited to scopes (scoped token, OAuth 2.0).
    pub scopes: Option<Vec<String>>,
    /// Authenticated by a session cookie: writes need `X-Atlassian-Token: no-check`.
    pub session: bool,
    /// The key the rate limiter meters (one bucket per credential).
    pub rate_key: String,
}

impl Caller {
    pub fn anonymous(rate_key: String) -> Caller {
        Caller {
            user: None,
            method: AuthMethod::Anonymous,
            scopes: None,
            session: false,
            rate_key,
        }
    }

    pub fn user(name: &str, method: AuthMethod, rate_key: String) -> Caller {
        Caller {
            user: Some(name.to_string()),
            method,
            scopes: None,
            session: false,
            rate_key,
        }
    }

    /// The username, or the error Confluence gives an anonymous caller where a user is needed.
    pub fn require_user(&self, style: ErrorStyle) -> ApiResult<&str> {
        self.user.as_deref().ok_or_else(|| {
            ApiError::unauthorized(
                style,
                "This request requires authentication. Please log in and try again.",
            )
        })
    }
}
