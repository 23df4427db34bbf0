//! `oauth2`: Cloud OAuth 2.0 (3LO). A bearer on the API gateway (`GATEWAY/ex/confluence/CLOUD_ID/wiki`, the API base made at login), renewed with the rotating refresh token.

use super::bearer::{self, Bearer, Grant};
use super::{Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::deployment::Deployment;
use crate::error::Result;
use crate::oauth::StoredSecret;

pub struct Oauth2(Bearer);

impl Oauth2 {
    pub fn new(cred: &crate::Credential) -> Result<Oauth2> {
        Ok(Oauth2(Bearer::new(cred, Grant::RefreshToken)?))
    }
}

impl Authorizer for Oauth2 {
    fn method(&self) -> Method {
        Method::Oauth2
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
        bearer::refused(Method::Oauth2, login_cmd)
    }
}
