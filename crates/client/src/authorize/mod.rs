//! How each auth method authorizes a request: one [`Authorizer`] per method, one file each. An
//! authorizer owns the method's URL rewrite ([`Authorizer::target`]), the header or cookie it
//! adds ([`Authorizer::authorize`]), whether a 401 can be cured by renewing and how
//! ([`Authorizer::renew`]), and what to tell the user when the server refuses it.
//!
//! A request can only be authorized for a [`Target`], and only an authorizer makes one, so a
//! URL that skipped the rewrite (e.g. `oauth1-impersonation`'s `xoauth_requestor_id`) cannot be
//! signed by mistake. Adding a method: its variant in [`crate::config::Method`] (the serde name),
//! one file here whose `SPEC` ([`Spec`]) gives its name, deployment, secret form and authorizer,
//! that file's line in [`Method::spec`] (and [`Method::ALL`]), and its login flow in
//! [`crate::login`].

mod api_token;
mod authorizer;
mod basic;
mod bearer;
mod client_credentials;
mod cookie;
mod dc_oauth2;
mod oauth1;
mod oauth1_impersonation;
mod oauth2;
mod pat;
mod scoped_token;
mod spec;
mod target;

pub(crate) use api_token::scoped_on_the_site;
use authorizer::{basic, ready};
pub use authorizer::{Authorized, Authorizer, Ctx, Pending, Request};
pub use spec::Spec;
pub use target::Target;

use crate::config::Method;
use crate::credentials::Credential;
use crate::deployment::Deployment;
use crate::error::{Error, Result};

impl Method {
    /// Every method, in the order `cfl auth login` offers them.
    pub const ALL: [Method; 10] = [
        Method::ApiToken,
        Method::ScopedToken,
        Method::Pat,
        Method::Basic,
        Method::Oauth2,
        Method::ClientCredentials,
        Method::Oauth1,
        Method::Oauth1Impersonation,
        Method::DcOauth2,
        Method::Cookie,
    ];

    /// The method's facts and authorizer, from its own file: the one table of methods.
    pub fn spec(self) -> &'static Spec {
        match self {
            Method::ApiToken => &api_token::SPEC,
            Method::ScopedToken => &scoped_token::SPEC,
            Method::Pat => &pat::SPEC,
            Method::Basic => &basic::SPEC,
            Method::Oauth2 => &oauth2::SPEC,
            Method::ClientCredentials => &client_credentials::SPEC,
            Method::Oauth1 => &oauth1::SPEC,
            Method::Oauth1Impersonation => &oauth1_impersonation::SPEC,
            Method::DcOauth2 => &dc_oauth2::SPEC,
            Method::Cookie => &cookie::SPEC,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.spec().name
    }

    pub fn parse(s: &str) -> Result<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Method::ALL.iter().map(|m| m.as_str()).collect();
                Error::Invalid(format!(
                    "unknown method {s:?}; expected one of: {}",
                    names.join(", ")
                ))
            })
    }

    /// Which deployment the method belongs to.
    pub fn deployment(self) -> Deployment {
        self.spec().deployment
    }

    /// Whether the stored secret is a JSON `StoredSecret` (the OAuth and cookie methods).
    pub fn stores_json(self) -> bool {
        self.spec().stores_json
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authorizer for a credential's method.
pub fn for_credential(cred: &Credential) -> Result<Box<dyn Authorizer>> {
    (cred.method.spec().authorizer)(cred)
}

#[cfg(test)]
mod tests;
