//! `oauth1`: Data Center OAuth 1.0a three-legged (an application link). Each request is signed
//! RSA-SHA1 with the consumer key and the user's access token (query and form parameters in the
//! base string), by `cfl_auth::oauth1`.

use std::sync::OnceLock;

use cfl_auth::oauth1::{Consumer, RequestParts, TokenParams};

use super::spec::Spec;
use super::{Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::credentials::Credential;
use crate::deployment::Deployment;
use crate::error::{Error, Result};
use crate::oauth::StoredSecret;

/// The consumer and the stored secret, shared with `oauth1-impersonation`.
pub(super) struct Signer {
    secret: StoredSecret,
    consumer: OnceLock<Consumer>,
}

impl Signer {
    pub fn new(cred: &Credential) -> Result<Signer> {
        Ok(Signer {
            secret: StoredSecret::parse(cred.secret())?,
            consumer: OnceLock::new(),
        })
    }

    /// The consumer, parsed from the stored key on first use.
    fn consumer(&self, cred: &Credential) -> Result<&Consumer> {
        if let Some(c) = self.consumer.get() {
            return Ok(c);
        }
        let key = cred.oauth.get("consumer_key").ok_or_else(|| {
            Error::Request("the profile has no consumer key; log in again".into())
        })?;
        let pem = self.secret.private_key.as_deref().ok_or_else(|| {
            Error::Request("the profile has no private key stored; log in again".into())
        })?;
        let c = crate::oauth::oauth1::consumer(key, pem)?;
        Ok(self.consumer.get_or_init(|| c))
    }

    /// The signed `Authorization` header for one request.
    pub fn sign(
        &self,
        cred: &Credential,
        req: Request<'_>,
        token: TokenParams<'_>,
    ) -> Result<Authorized> {
        let mut parts = RequestParts::new(req.method.as_str(), req.target.url());
        if let Some(b) = req.form_body {
            parts = parts.with_form_body(b);
        }
        let value = self
            .consumer(cred)?
            .authorization_now(&parts, token)
            .map_err(|e| Error::Request(format!("cannot sign the request: {e}")))?;
        Ok(Authorized::authorization(value))
    }

    pub fn stored_secret(&self) -> Pending<'_, Option<StoredSecret>> {
        Box::pin(async move { Ok(Some(self.secret.clone())) })
    }
}

/// No header outlives its request: each one is signed for its method and URL.
pub(super) fn no_reusable_header<'a>() -> Pending<'a, String> {
    Box::pin(async {
        Err(Error::Invalid(
            "OAuth 1.0a signs every request separately, so there is no reusable header; use `cfl api PATH`"
                .into(),
        ))
    })
}

/// What Confluence's `oauth_problem` means, with the fix (shared with `oauth1-impersonation`).
pub(super) fn problem(
    cred: &Credential,
    www_authenticate: Option<&str>,
    body: &str,
) -> Option<String> {
    let p = crate::oauth::oauth1::problem(www_authenticate, body)?;
    let key = cred.oauth.get("consumer_key").map(String::as_str);
    Some(crate::oauth::oauth1::explain_problem(&p, key.unwrap_or("")))
}

pub(super) fn refused(method: Method, login_cmd: &str) -> String {
    format!(
        "The OAuth 1.0a request was refused: check the application link (consumer key, public \
         key, impersonation). Fix: `{login_cmd} --method {method}`."
    )
}

pub(super) const SPEC: Spec = Spec {
    name: "oauth1",
    deployment: Deployment::DataCenter,
    stores_json: true,
    authorizer: |cred| Ok(Box::new(Oauth1::new(cred)?)),
};

pub struct Oauth1(Signer);

impl Oauth1 {
    pub fn new(cred: &Credential) -> Result<Oauth1> {
        Ok(Oauth1(Signer::new(cred)?))
    }
}

impl Authorizer for Oauth1 {
    fn method(&self) -> Method {
        Method::Oauth1
    }

    fn authorize<'a>(
        &'a self,
        ctx: Ctx<'a>,
        req: Request<'a>,
        _failed: Option<&'a str>,
    ) -> Pending<'a, Authorized> {
        let signed = match self.0.secret.access_token.as_deref() {
            Some(token) => self.0.sign(ctx.cred, req, TokenParams::Access { token }),
            None => Err(Error::Request(
                "the oauth1 profile has no access token; log in again".into(),
            )),
        };
        Box::pin(async move { signed })
    }

    fn reusable_header<'a>(&'a self, _ctx: Ctx<'a>) -> Pending<'a, String> {
        no_reusable_header()
    }

    fn stored_secret(&self) -> Pending<'_, Option<StoredSecret>> {
        self.0.stored_secret()
    }

    fn problem(
        &self,
        cred: &Credential,
        www_authenticate: Option<&str>,
        body: &str,
    ) -> Option<String> {
        problem(cred, www_authenticate, body)
    }

    fn refused(&self, _deployment: Deployment, login_cmd: &str, _server_message: &str) -> String {
        refused(Method::Oauth1, login_cmd)
    }
}
