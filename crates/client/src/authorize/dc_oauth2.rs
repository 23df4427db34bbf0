//! `dc-oauth2`: the Data Center OAuth 2.0 provider (authorization code + PKCE). A bearer on the
//! site, renewed with the refresh token.

use super::bearer::{Bearer, Grant};
use super::spec::Spec;
use crate::deployment::Deployment;

pub(super) const SPEC: Spec = Spec {
    name: "dc-oauth2",
    deployment: Deployment::DataCenter,
    stores_json: true,
    authorizer: |cred| Bearer::boxed(cred, Grant::RefreshToken),
};
