//! [`Spec`]: what is particular to one auth method, given by the method's own file and looked
//! up through [`Method::spec`](crate::config::Method::spec).

use super::authorizer::Authorizer;
use crate::credentials::Credential;
use crate::deployment::Deployment;
use crate::error::Result;

/// One auth method's facts, next to the code that authorizes its requests.
pub struct Spec {
    /// Its name in `config.toml` and on the command line (`--method`); the same as the serde
    /// name of its [`Method`](crate::config::Method) variant, so saved profiles keep loading.
    pub name: &'static str,
    /// The deployment it belongs to (client credentials exist on both; this is its Cloud one).
    pub deployment: Deployment,
    /// Whether its stored secret is a JSON [`StoredSecret`](crate::oauth::StoredSecret) (the
    /// OAuth and cookie methods) rather than one secret string.
    pub stores_json: bool,
    /// Makes the method's authorizer for a credential.
    pub authorizer: fn(&Credential) -> Result<Box<dyn Authorizer>>,
}
