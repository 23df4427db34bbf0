//! `[extender]`: the simulator plays a Confluence with Extender's "REST API Tokens" installed.
//! Off when absent. Tokens are seeded here, secrets and all (the add-on keeps them readable).

use serde::Deserialize;

use crate::config::UserConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtenderConfig {
    /// The add-on's setting that accepts tokens as `Authorization: Bearer TOKEN` too (off by
    /// default, as in the add-on: Basic `USER:TOKEN` only).
    #[serde(default)]
    pub allow_bearer: bool,
    /// Tokens per page of `tokenTools/get` when the caller asks for none (50, as in the versions
    /// that page).
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    #[serde(default)]
    pub tokens: Vec<ExtenderTokenConfig>,
}

fn default_page_size() -> usize {
    50
}

/// One token as the add-on stores it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtenderTokenConfig {
    pub label: String,
    /// The bound user's name; empty: any user (who then must be named in Basic `USER:TOKEN`).
    #[serde(default)]
    pub user: String,
    /// The secret, as the add-on keeps it (in plain text).
    pub token: String,
    /// Rule lines (`[method]URL-REGEX[QueryParam::name==regex]`), searched anywhere in the raw
    /// request path; empty: every request.
    #[serde(default)]
    pub limit_to: Vec<String>,
    /// The one client address allowed; empty: any.
    #[serde(default)]
    pub ip: String,
    /// Epoch milliseconds after which the token is refused; 0: never.
    #[serde(default)]
    pub valid_until: i64,
    #[serde(default)]
    pub date_created: i64,
    #[serde(default)]
    pub counter: i64,
}

impl ExtenderConfig {
    /// Every token names a declared user (or none), has a label and a secret of its own, and
    /// rules that parse.
    pub fn validate(&self, users: &[UserConfig]) -> Result<(), String> {
        if self.page_size == 0 {
            return Err("extender.page_size must be at least 1".into());
        }
        let mut secrets = std::collections::HashSet::new();
        for t in &self.tokens {
            let name = &t.label;
            if name.trim().is_empty() || t.token.is_empty() {
                return Err("every [[extender.tokens]] needs a label and a token".into());
            }
            if !secrets.insert(t.token.as_str()) {
                return Err(format!(
                    "extender token {name:?}: two tokens share a secret"
                ));
            }
            if !t.user.is_empty() && !users.iter().any(|u| u.name.eq_ignore_ascii_case(&t.user)) {
                return Err(format!(
                    "extender token {name:?}: user {:?} is not a declared user",
                    t.user
                ));
            }
            if !t.ip.is_empty() && t.ip.parse::<std::net::IpAddr>().is_err() {
                return Err(format!(
                    "extender token {name:?}: ip {:?} is not one IP address",
                    t.ip
                ));
            }
            for line in &t.limit_to {
                super::rules::Rule::parse(line)
                    .map_err(|e| format!("extender token {name:?}: rule {line:?}: {e}"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::SimConfig;

    fn with_token(token: &str) -> String {
        format!(
            "flavor = \"dc\"\n[[users]]\nname = \"alice\"\ndisplay_name = \"A\"\nemail = \"a@x\"\n\
             [extender]\n[[extender.tokens]]\n{token}\n"
        )
    }

    #[test]
    fn mistakes_are_named() {
        for (token, says) in [
            (
                "label = \"t\"\ntoken = \"s\"\nuser = \"bob\"",
                "not a declared user",
            ),
            (
                "label = \"t\"\ntoken = \"s\"\nip = \"10.0.0.0/8\"",
                "not one IP address",
            ),
            (
                "label = \"t\"\ntoken = \"s\"\nlimit_to = [\"(\"]",
                "rule \"(\"",
            ),
            ("label = \" \"\ntoken = \"s\"", "needs a label and a token"),
        ] {
            let err = SimConfig::parse(&with_token(token))
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{token}: {err}");
        }
        let ok = with_token("label = \"t\"\ntoken = \"s\"\nuser = \"Alice\"\nip = \"127.0.0.1\"");
        SimConfig::parse(&ok).unwrap().validate().unwrap();
    }
}
