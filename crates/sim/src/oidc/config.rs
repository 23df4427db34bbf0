//! `[oidc]` in the simulator config: the provider's tenant, its client apps and its users.
//!
//! Independent of the Confluence `[[users]]`: an identity provider has its own directory (the
//! gateway maps its groups to roles, not to Confluence accounts).

use std::collections::HashSet;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The tenant id in every path, as in Entra ID (`/{tenant}/v2.0` is the issuer path).
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// What the `groups` claim holds: group object ids (Entra ID's default) or group names.
    #[serde(default)]
    pub groups_claim: GroupsClaim,
    /// Seconds an authorization code can be redeemed (Entra ID: a few minutes; short for tests).
    #[serde(default = "default_code_ttl")]
    pub code_ttl_seconds: u64,
    /// Lifetime of the ID and access tokens (`expires_in`).
    #[serde(default = "default_token_ttl")]
    pub token_ttl_seconds: u64,
    /// Tests: an authorization request whose `login_hint` names a configured user signs that
    /// user in without the form. Never for anything but tests.
    #[serde(default)]
    pub auto_login: bool,
    #[serde(default)]
    pub clients: Vec<OidcClient>,
    #[serde(default)]
    pub groups: Vec<OidcGroup>,
    #[serde(default)]
    pub users: Vec<OidcUser>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupsClaim {
    /// Group object ids (GUIDs), what Entra ID sends by default.
    #[default]
    Ids,
    /// Group display names, what most other providers send (Entra ID: "sAMAccountName" option).
    Names,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: String,
    /// Compared exactly (no prefix or wildcard matching), as Entra ID does.
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcGroup {
    pub name: String,
    /// The group's object id (a GUID).
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcUser {
    /// What the login form asks for, and `preferred_username` (a UPN such as `ada@example.com`).
    pub username: String,
    pub password: String,
    pub name: String,
    pub email: String,
    /// Names of `[[oidc.groups]]` the user belongs to.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The user's object id (`oid`); derived from the username when absent.
    #[serde(default)]
    pub oid: Option<String>,
}

fn default_tenant() -> String {
    "7d3e4b2a-1c5f-4e8d-9a6b-0f2c4d6e8a1b".to_string()
}

fn default_code_ttl() -> u64 {
    60
}

fn default_token_ttl() -> u64 {
    3600
}

impl OidcConfig {
    /// Every problem is named with the field to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.tenant.is_empty()
            || !self
                .tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(format!(
                "oidc.tenant {:?} must be non-empty letters, digits, '-' or '.' (it is a URL path segment)",
                self.tenant
            ));
        }
        if self.code_ttl_seconds == 0 || self.token_ttl_seconds == 0 {
            return Err(
                "oidc.code_ttl_seconds and oidc.token_ttl_seconds must be at least 1".into(),
            );
        }
        let mut ids = HashSet::new();
        for c in &self.clients {
            if !ids.insert(&c.client_id) {
                return Err(format!(
                    "oidc.clients: client_id {:?} appears twice",
                    c.client_id
                ));
            }
            if c.redirect_uris.is_empty() {
                return Err(format!(
                    "oidc.clients {:?}: redirect_uris is empty; list the exact callback URLs",
                    c.client_id
                ));
            }
            if let Some(bad) = c.redirect_uris.iter().find(|u| url::Url::parse(u).is_err()) {
                return Err(format!(
                    "oidc.clients {:?}: redirect URI {bad:?} is not an absolute URL",
                    c.client_id
                ));
            }
        }
        let groups: HashSet<&str> = self.groups.iter().map(|g| g.name.as_str()).collect();
        if groups.len() != self.groups.len() {
            return Err("oidc.groups: a group name appears twice".into());
        }
        let mut names = HashSet::new();
        for u in &self.users {
            if !names.insert(u.username.to_ascii_lowercase()) {
                return Err(format!(
                    "oidc.users: username {:?} appears twice",
                    u.username
                ));
            }
            if let Some(g) = u.groups.iter().find(|g| !groups.contains(g.as_str())) {
                return Err(format!(
                    "oidc.users {:?}: group {g:?} is not declared in [[oidc.groups]]",
                    u.username
                ));
            }
        }
        Ok(())
    }

    pub fn user(&self, username: &str) -> Option<&OidcUser> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(username))
    }

    pub fn client(&self, client_id: &str) -> Option<&OidcClient> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }
}
