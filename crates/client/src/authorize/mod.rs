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

pub(crate) use api_token::scoped_on_the_site;
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

use std::future::Future;
use std::pin::Pin;

use base64::Engine;

use crate::config::Method;
use crate::credentials::Credential;
use crate::deployment::Deployment;
use crate::error::{Error, Result};
use crate::oauth::StoredSecret;

/// An authorizer's answer, later (authorizers are trait objects, so no `async fn`).
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// What an authorizer may use while authorizing: the profile's settings and the transport (for
/// renewals through a token endpoint or a login request).
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub cred: &'a Credential,
    pub http: &'a reqwest::Client,
}

/// A URL after the method's rewrite: the only thing a request can be authorized for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    url: String,
}

impl Target {
    /// Made only by authorizers (here and in the method files).
    fn new(url: impl Into<String>) -> Target {
        Target { url: url.into() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

/// One request to authorize.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a reqwest::Method,
    pub target: &'a Target,
    /// A form-encoded body, which OAuth 1.0a signs too.
    pub form_body: Option<&'a str>,
}

/// The header to add, and the renewable value it carries (the bearer or session), so a 401 can
/// ask for exactly that one to be renewed.
#[derive(Clone, Debug)]
pub struct Authorized {
    pub header: &'static str,
    pub value: String,
    pub renewable: Option<String>,
}

impl Authorized {
    fn authorization(value: String) -> Authorized {
        Authorized {
            header: "Authorization",
            value,
            renewable: None,
        }
    }
}

pub trait Authorizer: Send + Sync {
    fn method(&self) -> Method;

    /// The URL a request really goes to. Most methods send it as it is.
    fn target(&self, _cred: &Credential, url: &str) -> Result<Target> {
        Ok(Target::new(url))
    }

    /// This request's credential. `failed`: the renewable value a request was just refused
    /// with (renew unless someone already has).
    fn authorize<'a>(
        &'a self,
        ctx: Ctx<'a>,
        req: Request<'a>,
        failed: Option<&'a str>,
    ) -> Pending<'a, Authorized>;

    /// Whether a 401 may be cured by renewing (then retried once).
    fn renewable(&self) -> bool {
        false
    }

    /// Renews now (`cfl auth refresh`).
    fn renew<'a>(&'a self, ctx: Ctx<'a>) -> Pending<'a, ()> {
        let m = ctx.cred.method;
        Box::pin(async move {
            Err(Error::Invalid(format!(
                "method {m} has nothing to refresh (only oauth2, dc-oauth2, client-credentials and cookie do)"
            )))
        })
    }

    /// A header a script can reuse for a while (`cfl auth token`), renewed first if due.
    fn reusable_header<'a>(&'a self, ctx: Ctx<'a>) -> Pending<'a, String> {
        Box::pin(async move {
            let target = self.target(ctx.cred, ctx.cred.api_base.as_str())?;
            let req = Request {
                method: &reqwest::Method::GET,
                target: &target,
                form_body: None,
            };
            Ok(self.authorize(ctx, req, None).await?.value)
        })
    }

    /// The stored secret as it is now (after renewals), for a login to save.
    fn stored_secret(&self) -> Pending<'_, Option<StoredSecret>> {
        Box::pin(async { Ok(None) })
    }

    /// An explanation the refusal itself carries (OAuth 1.0a's `oauth_problem`), if any.
    fn problem(
        &self,
        _cred: &Credential,
        _www_authenticate: Option<&str>,
        _body: &str,
    ) -> Option<String> {
        None
    }

    /// What to do when the server refused this method's credential (`login_cmd` is the
    /// `cfl auth login …` that fixes it; `server_message` what the server said, maybe empty).
    fn refused(&self, deployment: Deployment, login_cmd: &str, server_message: &str) -> String;
}

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

/// `Basic base64(login:secret)`.
fn basic(login: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{login}:{secret}"))
    )
}

/// A fixed header, ready now.
fn ready(a: Authorized) -> Pending<'static, Authorized> {
    Box::pin(async move { Ok(a) })
}

#[cfg(test)]
mod tests;
