//! `oauth1-impersonation`: Data Center OAuth 1.0a two-legged, acting as the profile's user.
//! The user goes into every URL as `xoauth_requestor_id` (a signed query parameter), so the
//! rewrite is [`Authorizer::target`]: a URL naming another user is refused.

use cfl_auth::oauth1::TokenParams;

use super::oauth1::{self, Signer};
use super::spec::Spec;
use super::{Authorized, Authorizer, Ctx, Pending, Request, Target};
use crate::config::Method;
use crate::credentials::Credential;
use crate::deployment::Deployment;
use crate::error::{Error, Result};
use crate::oauth::StoredSecret;

pub(super) const SPEC: Spec = Spec {
    name: "oauth1-impersonation",
    deployment: Deployment::DataCenter,
    stores_json: true,
    authorizer: |cred| Ok(Box::new(Oauth1Impersonation::new(cred)?)),
};

pub struct Oauth1Impersonation(Signer);

impl Oauth1Impersonation {
    pub fn new(cred: &Credential) -> Result<Oauth1Impersonation> {
        Ok(Oauth1Impersonation(Signer::new(cred)?))
    }
}

fn as_user(cred: &Credential) -> Result<&str> {
    cred.oauth
        .get("as_user")
        .map(String::as_str)
        .ok_or_else(|| {
            Error::Request(
            "the oauth1-impersonation profile names no user to act as; log in again with --as USER"
                .into(),
        )
        })
}

impl Authorizer for Oauth1Impersonation {
    fn method(&self) -> Method {
        Method::Oauth1Impersonation
    }

    fn target(&self, cred: &Credential, url: &str) -> Result<Target> {
        let url = crate::oauth::oauth1::requestor_url(url, as_user(cred)?)?;
        Ok(Target::new(url))
    }

    fn authorize<'a>(
        &'a self,
        ctx: Ctx<'a>,
        req: Request<'a>,
        _failed: Option<&'a str>,
    ) -> Pending<'a, Authorized> {
        let signed = self.0.sign(ctx.cred, req, TokenParams::TwoLegged);
        Box::pin(async move { signed })
    }

    fn reusable_header<'a>(&'a self, _ctx: Ctx<'a>) -> Pending<'a, String> {
        oauth1::no_reusable_header()
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
        oauth1::problem(cred, www_authenticate, body)
    }

    fn refused(&self, _deployment: Deployment, login_cmd: &str, _server_message: &str) -> String {
        oauth1::refused(Method::Oauth1Impersonation, login_cmd)
    }
}
