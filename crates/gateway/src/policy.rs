//! `[policy]`: the limits an admin sets on every token, checked when a token is created (native
//! and Extender API alike) or rotated. Tokens made before a policy was set keep what they have.

use serde::Deserialize;

use crate::token::{NewToken, Token};

const DAY_MS: i64 = 86_400_000;

/// Longest lifetime a setting may name: `daysUntilExpiry`'s own bound.
const MAX_DAYS: u32 = 3650;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Longest lifetime a new token may ask for, in days; a token that never expires is refused
    /// too. Unset: no limit.
    #[serde(default)]
    pub max_lifetime_days: Option<u32>,
    /// The expiry given to a new token that asks for none, in days. Unset: such a token never
    /// expires (unless `max_lifetime_days` refuses it).
    #[serde(default)]
    pub default_expiry_days: Option<u32>,
    /// Every new token must name the addresses it may be used from.
    #[serde(default)]
    pub require_ip_allowlist: bool,
    /// Every new token must be bound to a user, also with a `static` identity (which can serve
    /// tokens for any user).
    #[serde(default)]
    pub require_bound_user: bool,
    /// Longest overlap a rotation may give the old secret, in hours.
    #[serde(default = "default_max_overlap_hours")]
    pub max_rotation_overlap_hours: u32,
}

fn default_max_overlap_hours() -> u32 {
    30 * 24
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            max_lifetime_days: None,
            default_expiry_days: None,
            require_ip_allowlist: false,
            require_bound_user: false,
            max_rotation_overlap_hours: default_max_overlap_hours(),
        }
    }
}

/// A request the policy refuses: a stable code and a message naming the setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl PolicyConfig {
    /// Every setting that can't be meant, each as one line saying what is wrong.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let in_range = |name: &str, v: Option<u32>, problems: &mut Vec<String>| {
            if let Some(d) = v.filter(|d| !(1..=MAX_DAYS).contains(d)) {
                problems.push(format!(
                    "policy.{name} = {d}: give a number of days from 1 to {MAX_DAYS} (or leave it out for no limit)"
                ));
            }
        };
        in_range("max_lifetime_days", self.max_lifetime_days, &mut problems);
        in_range(
            "default_expiry_days",
            self.default_expiry_days,
            &mut problems,
        );
        if let (Some(default), Some(max)) = (self.default_expiry_days, self.max_lifetime_days) {
            if default > max {
                problems.push(format!(
                    "policy.default_expiry_days = {default} is longer than policy.max_lifetime_days = {max}: every token given the default would be refused; lower the default or raise the maximum"
                ));
            }
        }
        if self.max_rotation_overlap_hours > MAX_DAYS * 24 {
            problems.push(format!(
                "policy.max_rotation_overlap_hours = {}: give at most {} (ten years)",
                self.max_rotation_overlap_hours,
                MAX_DAYS * 24
            ));
        }
        problems
    }

    /// Gives a request without an expiry the default one.
    pub fn fill_defaults(&self, new: &mut NewToken) {
        if new.expires_at.is_none() && new.days_until_expiry.is_none() {
            new.days_until_expiry = self.default_expiry_days.map(i64::from);
        }
    }

    /// Checks a token about to be created (its expiry already defaulted and validated).
    pub fn check_new(&self, t: &Token) -> Result<(), Refused> {
        if let Some(max) = self.max_lifetime_days {
            let limit =
                format!("this gateway's tokens live at most {max} days (policy.max_lifetime_days)");
            match t.expires_at {
                None => {
                    return Err(Refused {
                        code: "policy_max_lifetime",
                        message: format!(
                            "a token that never expires is refused: {limit}; give daysUntilExpiry from 1 to {max}"
                        ),
                    })
                }
                Some(at) if at - t.created_at > i64::from(max) * DAY_MS => {
                    return Err(Refused {
                        code: "policy_max_lifetime",
                        message: format!(
                            "the expiry asked for is {} days away: {limit}; give daysUntilExpiry from 1 to {max}",
                            (at - t.created_at + DAY_MS - 1) / DAY_MS
                        ),
                    })
                }
                Some(_) => {}
            }
        }
        if self.require_ip_allowlist && t.ip_allowlist.is_empty() {
            return Err(Refused {
                code: "policy_ip_allowlist_required",
                message: "this gateway requires every token to name the addresses it may be used from (policy.require_ip_allowlist): give ipAllowlist (Extender: ip), e.g. [\"10.0.0.0/8\"]".into(),
            });
        }
        if self.require_bound_user && t.user.is_none() {
            return Err(Refused {
                code: "policy_bound_user_required",
                message: "this gateway requires every token to be bound to a user (policy.require_bound_user): give user (Extender: userName)".into(),
            });
        }
        Ok(())
    }

    /// Checks a rotation's overlap, in seconds.
    pub fn check_overlap(&self, overlap_seconds: i64) -> Result<(), Refused> {
        let max = self.max_rotation_overlap_hours;
        if overlap_seconds < 0 || overlap_seconds > i64::from(max) * 3600 {
            return Err(Refused {
                code: "policy_max_overlap",
                message: format!(
                    "overlapSeconds must be from 0 to {} ({max} hours, policy.max_rotation_overlap_hours)",
                    i64::from(max) * 3600
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(days: Option<i64>) -> Token {
        NewToken {
            label: "x".into(),
            days_until_expiry: days,
            ..NewToken::default()
        }
        .build("admin", 1_000)
        .unwrap()
        .0
    }

    #[test]
    fn the_maximum_lifetime_refuses_longer_and_never_naming_the_limit() {
        let p = PolicyConfig {
            max_lifetime_days: Some(90),
            ..PolicyConfig::default()
        };
        assert_eq!(p.check_new(&token(Some(90))), Ok(()));
        let longer = p.check_new(&token(Some(91))).unwrap_err();
        assert_eq!(longer.code, "policy_max_lifetime");
        assert!(
            longer
                .message
                .contains("at most 90 days (policy.max_lifetime_days)")
                && longer.message.contains("91 days away"),
            "{}",
            longer.message
        );
        let never = p.check_new(&token(None)).unwrap_err();
        assert!(never.message.contains("never expires"), "{}", never.message);
    }

    #[test]
    fn the_default_expiry_fills_only_a_request_without_one() {
        let p = PolicyConfig {
            default_expiry_days: Some(30),
            ..PolicyConfig::default()
        };
        let mut none = NewToken::default();
        p.fill_defaults(&mut none);
        assert_eq!(none.days_until_expiry, Some(30));
        let mut given = NewToken {
            expires_at: Some(5),
            ..NewToken::default()
        };
        p.fill_defaults(&mut given);
        assert_eq!(given.days_until_expiry, None);
    }

    #[test]
    fn settings_that_cannot_be_meant_are_named() {
        let p = PolicyConfig {
            max_lifetime_days: Some(30),
            default_expiry_days: Some(90),
            ..PolicyConfig::default()
        };
        let problems = p.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0]
            .contains("default_expiry_days = 90 is longer than policy.max_lifetime_days = 30"));
        let zero = PolicyConfig {
            max_lifetime_days: Some(0),
            ..PolicyConfig::default()
        };
        assert!(zero.problems()[0].contains("policy.max_lifetime_days = 0"));
        assert!(PolicyConfig::default().problems().is_empty());
    }

    #[test]
    fn allowlist_bound_user_and_overlap() {
        let p = PolicyConfig {
            require_ip_allowlist: true,
            require_bound_user: true,
            max_rotation_overlap_hours: 1,
            ..PolicyConfig::default()
        };
        assert_eq!(
            p.check_new(&token(None)).unwrap_err().code,
            "policy_ip_allowlist_required"
        );
        let mut t = token(None);
        t.ip_allowlist = vec!["10.0.0.0/8".into()];
        assert_eq!(
            p.check_new(&t).unwrap_err().code,
            "policy_bound_user_required"
        );
        t.user = Some("alice".into());
        assert_eq!(p.check_new(&t), Ok(()));
        assert_eq!(p.check_overlap(3600), Ok(()));
        assert_eq!(
            p.check_overlap(3601).unwrap_err().code,
            "policy_max_overlap"
        );
        assert!(p.check_overlap(-1).is_err());
    }
}
