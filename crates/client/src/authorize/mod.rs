//! How each auth method authorizes a request: one [`Authorizer`] per method, one file each. An
//! authorizer owns the method's URL rewrite ([`Authorizer::target`]), the header or cookie it
//! adds ([`Authorizer::authorize`]), whether a 401 can be cured by renewing and how
//! ([`Authorizer::renew`]), and what to tell the user when the server refuses it.
//!
//! A request can only be authorized for a [`Target`], and only an authorizer makes one, so a
//! URL that skipped the rewrite (e.g. `oauth1-impersonation`'s `xoauth_requestor_id`) cannot be
//! signed by mistake. Adding a method: a variant in [`crate::config::Method`], a file here,
//! its line in [`for_credential`], and its login flow in [`crate::login`].

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
mod target;

pub(crate) use api_token::scoped_on_the_site;
use authorizer::{basic, ready};
pub use authorizer::{Authorized, Authorizer, Ctx, Pending, Request};
pub use target::Target;

use crate::config::Method;
use crate::credentials::Credential;
use crate::error::Result;

/// The authorizer for a credential's method.
pub fn for_credential(cred: &Credential) -> Result<Box<dyn Authorizer>> {
    Ok(match cred.method {
        Method::ApiToken => Box::new(api_token::ApiToken),
        Method::ScopedToken => Box::new(scoped_token::ScopedToken),
        Method::Pat => Box::new(pat::Pat),
        Method::Basic => Box::new(basic::Basic),
        Method::Oauth2 => Box::new(oauth2::Oauth2::new(cred)?),
        Method::ClientCredentials => Box::new(client_credentials::ClientCredentials::new(cred)?),
        Method::DcOauth2 => Box::new(dc_oauth2::DcOauth2::new(cred)?),
        Method::Oauth1 => Box::new(oauth1::Oauth1::new(cred)?),
        Method::Oauth1Impersonation => {
            Box::new(oauth1_impersonation::Oauth1Impersonation::new(cred)?)
        }
        Method::Cookie => Box::new(cookie::Cookie::new(cred)?),
    })
}

#[cfg(test)]
mod tests;
