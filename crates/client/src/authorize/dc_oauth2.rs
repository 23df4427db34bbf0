//! `dc-oauth2`: the Data Center OAuth 2.0 provider (authorization code + PKCE). A bearer on the site, renewed with the refresh token.

use super::bearer::{self, Bearer, Grant};
use super::{Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::deployment::Deployment;
use crate::error::Result;
use crate::oauth::StoredSecret;

pub struct DcOauth2(Bearer);

impl DcOauth2 {
    pub fn new(cred: &crate::Credential) -> Result<DcOauth2> {
        Ok(DcOauth2(Bearer::new(cred, Grant::RefreshToken)?))
    }
}

impl Authorizer for DcOauth2 {
    fn method(&self) -> Method {
        Method::DcOauth2
    }

    fn authorize<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _req: Request<'a>,
        failed: Option<&'a str>,
    ) -> Pending<'a, Authorized> {
        self.0.authorize(ctx, failed)
    }

    fn renewable(&self) -> bool {
        true
    }

    fn renew<'a>(&'a self, ctx: Ctx<'a>) -> Pending<'a, ()> {
        self.0.force(ctx)
    }

    fn stored_secret(&self) -> Pending<'_, Option<StoredSecret>> {
        self.0.stored_secret()
    }

    fn refused(&self, _deployment: Deployment, login_cmd: &str, _server_message: &str) -> String {
        bearer::refused(Method::DcOauth2, login_cmd)
    }
}
