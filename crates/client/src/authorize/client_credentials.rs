//! `client-credentials`: OAuth 2.0 client credentials (Cloud service accounts through the API gateway, or a DC provider). A short-lived bearer, fetched again with the client id and secret.

use super::bearer::{self, Bearer, Grant};
use super::{Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::deployment::Deployment;
use crate::error::Result;
use crate::oauth::StoredSecret;

pub struct ClientCredentials(Bearer);

impl ClientCredentials {
    pub fn new(cred: &crate::Credential) -> Result<ClientCredentials> {
        Ok(ClientCredentials(Bearer::new(
            cred,
            Grant::ClientCredentials,
        )?))
    }
}

impl Authorizer for ClientCredentials {
    fn method(&self) -> Method {
        Method::ClientCredentials
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
        bearer::refused(Method::ClientCredentials, login_cmd)
    }
}
