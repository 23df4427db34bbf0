//! `client-credentials`: OAuth 2.0 client credentials (Cloud service accounts through the API
//! gateway, or a DC provider). A short-lived bearer, fetched again with the client id and secret.

use super::bearer::{Bearer, Grant};
use super::spec::Spec;
use crate::deployment::Deployment;

pub(super) const SPEC: Spec = Spec {
    name: "client-credentials",
    deployment: Deployment::CloudScoped,
    stores_json: true,
    authorizer: |cred| Bearer::boxed(cred, Grant::ClientCredentials),
};
