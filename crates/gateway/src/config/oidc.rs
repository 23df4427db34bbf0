//! `[admin.oidc]`: admins sign in with the company's OpenID Connect provider (Entra ID, Okta,
//! Keycloak, …), and the groups in their ID token give them a role.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer exactly as the provider's ID tokens name it; discovery reads
    /// `{issuer}/.well-known/openid-configuration`. Entra ID:
    /// `https://login.microsoftonline.com/{tenant-id}/v2.0`.
    pub issuer: String,
    /// The gateway's client (application) id at the provider.
    pub client_id: String,
    /// Environment variable holding the client secret (omit for a public client).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// The ID-token claim listing the user's groups (Entra ID sends group object ids).
    #[serde(default = "default_groups_claim")]
    pub groups_claim: String,
    /// Shown on the sign-in button ("Sign in with …"); default: the issuer's host.
    #[serde(default)]
    pub provider_name: Option<String>,
    /// The gateway's public callback URL, registered at the provider
    /// (`https://gateway.example.com/admin/oidc/callback`). Default: derived from each request's
    /// `Host`, which only suits a gateway reached by one name.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// How long a sign-in lasts.
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u64,
    /// Which groups get which role; a user in several gets the strongest.
    #[serde(default)]
    pub roles: RoleGroups,
    /// A regular expression (matched whole) limiting which bound users a `token-manager` may
    /// create, revoke and list tokens for. Default: any.
    #[serde(default)]
    pub token_manager_users: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleGroups {
    #[serde(default)]
    pub admin: Vec<String>,
    #[serde(default)]
    pub token_manager: Vec<String>,
    #[serde(default)]
    pub auditor: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email"].map(String::from).to_vec()
}

fn default_groups_claim() -> String {
    "groups".into()
}

/// A week.
const MAX_SESSION_MINUTES: u64 = 7 * 24 * 60;

fn default_session_minutes() -> u64 {
    480
}

impl OidcConfig {
    /// The name on the sign-in button.
    pub fn display_name(&self) -> String {
        self.provider_name.clone().unwrap_or_else(|| {
            url::Url::parse(&self.issuer)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_else(|| self.issuer.clone())
        })
    }

    /// Every problem as (what is wrong, how to fix it); `env` looks up environment variables.
    pub fn problems(&self, env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut bad = |what: String, fix: &str| out.push((what, fix.to_string()));
        match url::Url::parse(&self.issuer) {
            Ok(u) if u.scheme() == "https" || is_loopback_http(&u) => {}
            Ok(_) => bad(
                format!("admin.oidc.issuer {:?} is not https", self.issuer),
                "use the provider's https issuer URL (plain http only on loopback, for tests)",
            ),
            Err(e) => bad(
                format!("admin.oidc.issuer {:?} is not a URL ({e})", self.issuer),
                "use the issuer URL; Entra ID's is https://login.microsoftonline.com/TENANT-ID/v2.0",
            ),
        }
        if self.client_id.trim().is_empty() {
            bad(
                "admin.oidc.client_id is empty".into(),
                "copy the application (client) id from the provider's app registration",
            );
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            bad(
                format!("admin.oidc.scopes {:?} lacks \"openid\"", self.scopes),
                "add \"openid\" (the default is [\"openid\", \"profile\", \"email\"])",
            );
        }
        if self.groups_claim.trim().is_empty() {
            bad(
                "admin.oidc.groups_claim is empty".into(),
                "name the claim holding the groups; Entra ID and most providers use \"groups\"",
            );
        }
        if let Some(r) = &self.redirect_url {
            match url::Url::parse(r) {
                Ok(u) if u.path() == "/admin/oidc/callback" && u.query().is_none() => {}
                Ok(_) => bad(
                    format!("admin.oidc.redirect_url {r:?} is not the gateway's callback"),
                    "use https://YOUR-GATEWAY/admin/oidc/callback, as registered at the provider",
                ),
                Err(e) => bad(
                    format!("admin.oidc.redirect_url {r:?} is not an absolute URL ({e})"),
                    "use https://YOUR-GATEWAY/admin/oidc/callback, as registered at the provider",
                ),
            }
        }
        if self.session_minutes == 0 || self.session_minutes > MAX_SESSION_MINUTES {
            bad(
                format!("admin.oidc.session_minutes = {}", self.session_minutes),
                "use 1 to 10080 minutes (a week)",
            );
        }
        let r = &self.roles;
        if r.admin.is_empty() && r.token_manager.is_empty() && r.auditor.is_empty() {
            bad(
                "[admin.oidc.roles] gives no group a role, so nobody could sign in".into(),
                "set admin = [\"GROUP\"] (and token_manager, auditor) with group names or, for Entra ID, group object ids",
            );
        }
        if let Some(p) = &self.token_manager_users {
            if let Err(e) = regex::Regex::new(p) {
                bad(
                    format!(
                        "admin.oidc.token_manager_users {p:?} is not a regular expression ({e})"
                    ),
                    "give a regular expression matching whole user names, e.g. \"svc-.*\"",
                );
            }
        }
        if let Some(var) = &self.client_secret_env {
            if env(var).is_none_or(|v| v.is_empty()) {
                bad(
                    format!(
                        "admin.oidc.client_secret_env: the environment variable {var} is not set"
                    ),
                    "export it with the client secret from the provider's app registration",
                );
            }
        }
        out
    }

    /// The client secret from its environment variable.
    pub fn client_secret(&self) -> Option<String> {
        let var = self.client_secret_env.as_ref()?;
        std::env::var(var).ok().filter(|v| !v.is_empty())
    }
}

fn is_loopback_http(u: &url::Url) -> bool {
    u.scheme() == "http"
        && match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> OidcConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn defaults_and_every_problem_at_once() {
        let ok = parse(
            "issuer = \"https://login.microsoftonline.com/T/v2.0\"\nclient_id = \"c\"\n[roles]\nadmin = [\"g\"]\n",
        );
        assert_eq!(ok.scopes, ["openid", "profile", "email"]);
        assert_eq!(ok.groups_claim, "groups");
        assert_eq!(ok.session_minutes, 480);
        assert_eq!(ok.display_name(), "login.microsoftonline.com");
        assert!(ok.problems(&|_| None).is_empty());

        let bad = parse(
            "issuer = \"http://idp.example.com\"\nclient_id = \" \"\nscopes = [\"profile\"]\n\
             redirect_url = \"https://gw/elsewhere\"\nsession_minutes = 0\n\
             token_manager_users = \"(\"\nclient_secret_env = \"NOPE\"\n",
        );
        let problems: Vec<String> = bad
            .problems(&|_| None)
            .into_iter()
            .map(|(w, _)| w)
            .collect();
        for part in [
            "admin.oidc.issuer",
            "client_id",
            "scopes",
            "redirect_url",
            "session_minutes",
            "[admin.oidc.roles]",
            "token_manager_users",
            "NOPE is not set",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(part)),
                "{part}: {problems:?}"
            );
        }
        // Plain http is for a provider on loopback only.
        let local = parse(
            "issuer = \"http://127.0.0.1:9/T/v2.0\"\nclient_id = \"c\"\n[roles]\nauditor = [\"g\"]\n",
        );
        assert!(local.problems(&|_| None).is_empty());
    }
}
