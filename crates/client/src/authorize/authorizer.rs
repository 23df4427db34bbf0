//! The [`Authorizer`] trait every method implements, what it is given and what it answers, and
//! the small helpers the fixed-header methods share.

use std::future::Future;
use std::pin::Pin;

use base64::Engine;

use crate::config::Method;
use crate::credentials::Credential;
use crate::deployment::Deployment;
use crate::error::{Error, Result};
use crate::oauth::StoredSecret;

use super::target::Target;

/// An authorizer's answer, later (authorizers are trait objects, so no `async fn`).
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// What an authorizer may use while authorizing: the profile's settings and the transport (for
/// renewals through a token endpoint or a login request).
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub cred: &'a Credential,
    pub http: &'a reqwest::Client,
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
    pub(super) fn authorization(value: String) -> Authorized {
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

/// `Basic base64(login:secret)`.
pub(super) fn basic(login: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{login}:{secret}"))
    )
}

/// A fixed header, ready now.
pub(super) fn ready(a: Authorized) -> Pending<'static, Authorized> {
    Box::pin(async move { Ok(a) })
}
