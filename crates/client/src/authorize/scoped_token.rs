//! `scoped-token`: a Cloud scoped API token. Cloud accepts it only through the API gateway, so
//! the profile's API base is `GATEWAY/ex/confluence/CLOUD_ID/wiki` (made by `cfl auth login`);
//! each request is Basic `email:token`.

use super::spec::Spec;
use super::{basic, ready, Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::deployment::Deployment;

pub(super) const SPEC: Spec = Spec {
    name: "scoped-token",
    deployment: Deployment::CloudScoped,
    stores_json: false,
    authorizer: |_cred| Ok(Box::new(ScopedToken)),
};

pub struct ScopedToken;

impl Authorizer for ScopedToken {
    fn method(&self) -> Method {
        Method::ScopedToken
    }

    fn authorize<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _req: Request<'a>,
        _failed: Option<&'a str>,
    ) -> Pending<'a, Authorized> {
        let login = ctx.cred.login.as_deref().unwrap_or_default();
        ready(Authorized::authorization(basic(login, ctx.cred.secret())))
    }

    fn refused(&self, deployment: Deployment, login_cmd: &str, _server_message: &str) -> String {
        super::api_token::refused_token(Method::ScopedToken, deployment, login_cmd)
    }
}
