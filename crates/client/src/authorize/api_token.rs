//! `api-token`: a Cloud classic API token, Basic `email:token` on `SITE/wiki`.

use super::spec::Spec;
use super::{basic, ready, Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::deployment::Deployment;

pub(super) const SPEC: Spec = Spec {
    name: "api-token",
    deployment: Deployment::Cloud,
    stores_json: false,
    authorizer: |_cred| Ok(Box::new(ApiToken)),
};

pub struct ApiToken;

/// Why Cloud refused an API token, or that Data Center takes none (shared with `scoped-token`).
pub(super) fn refused_token(method: Method, deployment: Deployment, login_cmd: &str) -> String {
    if deployment == Deployment::DataCenter {
        return format!(
            "Data Center does not accept Atlassian Cloud API tokens. Fix: `{login_cmd} --method pat`."
        );
    }
    format!(
        "The API token was refused: it may be expired, revoked, or belong to another email. \
         Create one at https://id.atlassian.com/manage-profile/security/api-tokens, then \
         `{login_cmd} --method {method}`."
    )
}

/// A scoped token is only taken through the API gateway (another method's profile).
pub(crate) fn scoped_on_the_site(login_cmd: &str) -> String {
    format!(
        "This is a scoped API token, which Cloud accepts only through the API gateway \
         (https://api.atlassian.com/ex/confluence/CLOUD_ID). Fix: `{login_cmd} --method scoped-token`."
    )
}

impl Authorizer for ApiToken {
    fn method(&self) -> Method {
        Method::ApiToken
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

    fn refused(&self, deployment: Deployment, login_cmd: &str, server_message: &str) -> String {
        // A scoped token sent to the site instead of the gateway: Cloud's refusal says "scoped".
        if server_message.contains("scoped") {
            return scoped_on_the_site(login_cmd);
        }
        refused_token(Method::ApiToken, deployment, login_cmd)
    }
}
