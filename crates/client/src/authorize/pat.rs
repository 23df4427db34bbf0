//! `pat`: a Data Center personal access token, `Authorization: Bearer PAT`.

use super::spec::Spec;
use super::{ready, Authorized, Authorizer, Ctx, Pending, Request};
use crate::config::Method;
use crate::deployment::Deployment;

pub(super) const SPEC: Spec = Spec {
    name: "pat",
    deployment: Deployment::DataCenter,
    stores_json: false,
    authorizer: |_cred| Ok(Box::new(Pat)),
};

pub struct Pat;

impl Authorizer for Pat {
    fn method(&self) -> Method {
        Method::Pat
    }

    fn authorize<'a>(
        &'a self,
        ctx: Ctx<'a>,
        _req: Request<'a>,
        _failed: Option<&'a str>,
    ) -> Pending<'a, Authorized> {
        ready(Authorized::authorization(format!(
            "Bearer {}",
            ctx.cred.secret()
        )))
    }

    fn refused(&self, deployment: Deployment, login_cmd: &str, _server_message: &str) -> String {
        if deployment.is_cloud() {
            return super::basic::refused_on_cloud(login_cmd);
        }
        format!(
            "The personal access token was refused: it may be expired or revoked. Create a new one \
             (profile → Personal Access Tokens), then `{login_cmd} --method pat`."
        )
    }
}
