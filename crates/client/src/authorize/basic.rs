//! `basic`: Data Center `user:password` (legacy; admins often disable it).

use super::spec::Spec;
use super::{basic, ready, Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::deployment::Deployment;

pub(super) const SPEC: Spec = Spec {
    name: "basic",
    deployment: Deployment::DataCenter,
    stores_json: false,
    authorizer: |_cred| Ok(Box::new(Basic)),
};

pub struct Basic;

/// Cloud takes neither PATs nor passwords (shared with `pat`).
pub(super) fn refused_on_cloud(login_cmd: &str) -> String {
    format!(
        "Cloud does not accept personal access tokens or passwords. Create an API token at \
         https://id.atlassian.com/manage-profile/security/api-tokens, then `{login_cmd} --method api-token`."
    )
}

impl Authorizer for Basic {
    fn method(&self) -> Method {
        Method::Basic
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
        if deployment.is_cloud() {
            return refused_on_cloud(login_cmd);
        }
        format!(
            "The username or password was refused (wrong, changed, or the account has no password). \
             Fix: `{login_cmd} --method basic`, or better a personal access token: `{login_cmd} --method pat`."
        )
    }
}
