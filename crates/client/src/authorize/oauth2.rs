//! `oauth2`: Cloud OAuth 2.0 (3LO). A bearer on the API gateway
//! (`GATEWAY/ex/confluence/CLOUD_ID/wiki`, the API base made at login), renewed with the rotating
//! refresh token.

use super::bearer::{Bearer, Grant};
use super::spec::Spec;
use crate::deployment::Deployment;

pub(super) const SPEC: Spec = Spec {
    name: "oauth2",
    deployment: Deployment::Cloud,
    stores_json: true,
    authorizer: |cred| Bearer::boxed(cred, Grant::RefreshToken),
};
