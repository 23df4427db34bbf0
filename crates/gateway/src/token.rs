//! Gateway tokens: the stored record, the validated creation request, and the compiled form the
//! proxy checks requests against.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::restrict::RuleSet;
use crate::secret::{public_id, Secret};

/// A token as stored (never the secret: only its hash).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Token {
    pub id: String,
    pub label: String,
    /// Bound username; `None` = any user (Basic `USER:TOKEN` names the user; static identity only).
    pub user: Option<String>,
    #[serde(skip)]
    pub secret_hash: String,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    /// Restriction rules, one per line.
    pub restrictions: Vec<String>,
    /// Addresses and CIDR blocks allowed to use the token; empty = any.
    pub ip_allowlist: Vec<String>,
    pub rate_limit_per_minute: Option<u32>,
    pub use_count: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// Only GET, HEAD and OPTIONS pass (on top of the rules).
    pub read_only: bool,
    /// Requests a UTC day, across replicas; `None`: no quota.
    pub requests_per_day: Option<u32>,
    /// The secret before the last rotation, accepted until `previous_valid_until`.
    #[serde(skip)]
    pub previous_secret_hash: Option<String>,
    pub previous_valid_until: Option<i64>,
    pub rotated_at: Option<i64>,
    /// Uses counted in the store for the UTC day `day_uses.0` (days since the epoch), across
    /// replicas.
    #[serde(skip)]
    pub day_uses: (i64, i64),
}

/// Why a token can't be used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unusable {
    Revoked,
    Expired,
}

/// Milliseconds in a day: quotas count per UTC day (days since the epoch).
pub const DAY_MS: i64 = 86_400_000;

/// Whether a method only reads: what a read-only token may send.
pub fn is_read_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

impl Token {
    pub fn usable_at(&self, now_ms: i64) -> Result<(), Unusable> {
        if self.revoked_at.is_some() {
            return Err(Unusable::Revoked);
        }
        if self.expires_at.is_some_and(|e| e <= now_ms) {
            return Err(Unusable::Expired);
        }
        Ok(())
    }
}

/// An admin's request to create a token (native API and `cfl token create`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    pub label: String,
    #[serde(default)]
    pub user: Option<String>,
    /// Expiry as epoch milliseconds…
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// …or as days from now (Extender's `daysUntilExpiry`).
    #[serde(default)]
    pub days_until_expiry: Option<i64>,
    #[serde(default)]
    pub restrictions: Vec<String>,
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// An admin-chosen secret (Extender compatibility). Omit it to get a generated `cfl_` secret.
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub requests_per_day: Option<u32>,
}

/// Minimum length of an admin-chosen secret: shorter ones are guessable.
pub const MIN_CUSTOM_SECRET: usize = 20;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl NewToken {
    /// Validates everything and builds the record plus the secret to show once.
    pub fn build(self, created_by: &str, now_ms: i64) -> Result<(Token, String), Invalid> {
        let label = self.label.trim().to_string();
        if label.is_empty() || label.chars().count() > 100 {
            return Err(Invalid("label is required (1 to 100 characters)".into()));
        }
        let user = match self.user.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) if u.contains(':') || u.chars().any(char::is_control) => {
                return Err(Invalid(format!(
                    "user {u:?} may not contain ':' or control characters"
                )))
            }
            Some(u) => Some(u.to_string()),
        };
        let expires_at = match (self.expires_at, self.days_until_expiry) {
            (Some(_), Some(_)) => {
                return Err(Invalid(
                    "give expiresAt or daysUntilExpiry, not both".into(),
                ))
            }
            (Some(at), None) if at <= now_ms => {
                return Err(Invalid("expiresAt is in the past".into()))
            }
            (Some(at), None) => Some(at),
            (None, Some(d)) if !(1..=3650).contains(&d) => {
                return Err(Invalid("daysUntilExpiry must be between 1 and 3650".into()))
            }
            (None, Some(d)) => Some(now_ms + d * 86_400_000),
            (None, None) => None,
        };
        let restrictions: Vec<String> = self
            .restrictions
            .iter()
            .flat_map(|r| crate::restrict::rule::split_lines(r))
            .collect();
        RuleSet::parse(&restrictions.join("\n")).map_err(|e| Invalid(e.to_string()))?;
        let ip_allowlist: Vec<String> = self
            .ip_allowlist
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        parse_allowlist(&ip_allowlist).map_err(|e| Invalid(e.to_string()))?;
        if self.rate_limit_per_minute == Some(0) {
            return Err(Invalid(
                "rateLimitPerMinute must be at least 1 (omit it for no limit)".into(),
            ));
        }
        if self.requests_per_day == Some(0) {
            return Err(Invalid(
                "requestsPerDay must be at least 1 (omit it for no quota)".into(),
            ));
        }
        let secret = match self.token {
            Some(t) if t.chars().count() < MIN_CUSTOM_SECRET || t.contains(':') || t.chars().any(char::is_whitespace) => {
                return Err(Invalid(format!(
                    "a chosen token must be at least {MIN_CUSTOM_SECRET} characters, without ':' or spaces (omit it to get a generated one)"
                )))
            }
            Some(t) => t,
            None => Secret::generate().expose().to_string(),
        };
        let token = Token {
            id: public_id(),
            label,
            user,
            secret_hash: crate::secret::SecretHash::of(&secret).0,
            created_at: now_ms,
            created_by: created_by.to_string(),
            expires_at,
            restrictions,
            ip_allowlist,
            rate_limit_per_minute: self.rate_limit_per_minute,
            use_count: 0,
            last_used_at: None,
            revoked_at: None,
            read_only: self.read_only,
            requests_per_day: self.requests_per_day,
            previous_secret_hash: None,
            previous_valid_until: None,
            rotated_at: None,
            day_uses: (0, 0),
        };
        Ok((token, secret))
    }
}

/// A stored token that can't be compiled (its rules or allowlist no longer parse).
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error(transparent)]
    Rules(#[from] crate::restrict::RuleError),
    #[error(transparent)]
    Allowlist(#[from] BadAllowlistEntry),
}

/// An IP allowlist entry that is neither an address nor a CIDR block.
#[derive(Debug, thiserror::Error)]
#[error(
    "IP allowlist entry {0:?} is not an address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)"
)]
pub struct BadAllowlistEntry(String);

/// Parses allowlist entries: single addresses (v4/v6) or CIDR blocks.
pub fn parse_allowlist(entries: &[String]) -> Result<Vec<IpNet>, BadAllowlistEntry> {
    entries
        .iter()
        .map(|e| {
            e.parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| BadAllowlistEntry(e.clone()))
        })
        .collect()
}

/// A usable token, compiled for the hot path: rules and networks parsed once, usage counted in
/// memory and flushed to the store in batches.
#[derive(Debug)]
pub struct Active {
    pub token: Token,
    pub rules: RuleSet,
    pub networks: Vec<IpNet>,
    /// Uses not yet flushed to the store.
    pub pending_uses: AtomicI64,
    pub last_used_at: AtomicI64,
    /// Per-token limit: (window start ms, count in window).
    pub window: Mutex<(i64, u32)>,
    /// The daily quota's count, for tokens that have one.
    pub day: Mutex<DayCount>,
}

/// One UTC day's uses of a token with a quota. Each replica counts its own admissions (`here`)
/// and learns the others' from the store (`elsewhere`, see `Store::day_uses`), so across replicas
/// the count lags by what the others admitted since this replica last read the store.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// Days since the epoch (UTC).
    pub day: i64,
    /// Admitted by this replica that day.
    pub here: u64,
    /// Of `here`, handed to the store (the rest are still pending).
    pub flushed: u64,
    /// Counted in the store by other replicas (and earlier runs) that day.
    pub elsewhere: u64,
}

impl Active {
    pub fn compile(token: Token) -> Result<Active, CompileError> {
        let rules = RuleSet::parse(&token.restrictions.join("\n"))?;
        let networks = parse_allowlist(&token.ip_allowlist)?;
        let (day, stored) = token.day_uses;
        Ok(Active {
            last_used_at: AtomicI64::new(token.last_used_at.unwrap_or(0)),
            token,
            rules,
            networks,
            pending_uses: AtomicI64::new(0),
            // The first request opens the first window.
            window: Mutex::new((i64::MIN / 2, 0)),
            day: Mutex::new(DayCount {
                day,
                elsewhere: stored.max(0) as u64,
                ..DayCount::default()
            }),
        })
    }

    /// Carries the counts of `old` (the same token before a rotation or a reload) over, so a
    /// new record doesn't reset its limits.
    pub fn take_counts_of(&self, old: &Active) {
        self.pending_uses.fetch_add(
            old.pending_uses.swap(0, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        self.last_used_at
            .fetch_max(old.last_used_at.load(Ordering::Relaxed), Ordering::Relaxed);
        *lock(&self.window) = *lock(&old.window);
        let old_day = *lock(&old.day);
        let mut day = lock(&self.day);
        if old_day.day >= day.day {
            *day = old_day;
        }
    }

    /// Counts `n` uses as handed to the store (see [`DayCount::flushed`]); negative: handed back
    /// (the flush failed).
    pub fn flushed(&self, n: i64) {
        if self.token.requests_per_day.is_some() {
            let mut d = lock(&self.day);
            d.flushed = (d.flushed as i64 + n).clamp(0, d.here as i64) as u64;
        }
    }

    /// The store's count for `day` across replicas: what is not this replica's is the others'.
    pub fn learn_day_total(&self, day: i64, total: i64) {
        let mut d = lock(&self.day);
        if d.day == day {
            // `flushed` counts a batch before the store has it, so this never over-counts the
            // others, and their count only grows in a day: keep the largest seen.
            let others = (total.max(0) as u64).saturating_sub(d.flushed);
            d.elsewhere = d.elsewhere.max(others);
        } else if d.day < day {
            *d = DayCount {
                day,
                elsewhere: total.max(0) as u64,
                ..DayCount::default()
            };
        }
    }

    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.networks.is_empty() || self.networks.iter().any(|n| n.contains(&ip))
    }

    pub fn record_use(&self, now_ms: i64) {
        self.pending_uses.fetch_add(1, Ordering::Relaxed);
        self.last_used_at.fetch_max(now_ms, Ordering::Relaxed);
    }

    /// The daily quota; `Err(seconds until the next UTC midnight)` when it is used up.
    pub fn take_quota(&self, now_ms: i64) -> Result<(), u64> {
        let Some(limit) = self.token.requests_per_day else {
            return Ok(());
        };
        let today = now_ms.div_euclid(DAY_MS);
        let mut d = lock(&self.day);
        if d.day != today {
            *d = DayCount {
                day: today,
                ..DayCount::default()
            };
        }
        if d.here + d.elsewhere >= u64::from(limit) {
            let next_midnight = (today + 1) * DAY_MS;
            return Err(((next_midnight - now_ms + 999) / 1000).max(1) as u64);
        }
        d.here += 1;
        Ok(())
    }

    /// Fixed one-minute window; `Err(seconds until the window resets)` when over the limit.
    pub fn take_rate(&self, now_ms: i64) -> Result<(), u64> {
        let Some(limit) = self.token.rate_limit_per_minute else {
            return Ok(());
        };
        let mut w = lock(&self.window);
        if now_ms - w.0 >= 60_000 {
            *w = (now_ms, 0);
        }
        if w.1 >= limit {
            return Err(((w.0 + 60_000 - now_ms).max(1000) / 1000) as u64);
        }
        w.1 += 1;
        Ok(())
    }
}

/// Epoch milliseconds as an RFC 3339 UTC time, for messages.
pub fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms since the epoch"))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `::ffff:10.0.0.1` is `10.0.0.1`: a v4 client on a dual-stack socket must match v4 rules.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(label: &str) -> NewToken {
        NewToken {
            label: label.into(),
            ..NewToken::default()
        }
    }

    #[test]
    fn builds_a_generated_secret_and_stores_only_its_hash() {
        let (t, secret) = new("ci").build("admin", 1_000).unwrap();
        assert!(secret.starts_with("cfl_"));
        assert_eq!(t.secret_hash, crate::secret::SecretHash::of(&secret).0);
        assert!(!serde_json::to_string(&t).unwrap().contains(&t.secret_hash));
    }

    #[test]
    fn validation_errors_say_what_to_fix() {
        let err = |n: NewToken| n.build("a", 1_000).unwrap_err().0;
        assert!(err(new("")).contains("label"));
        assert!(err(NewToken {
            days_until_expiry: Some(0),
            ..new("x")
        })
        .contains("daysUntilExpiry"));
        assert!(err(NewToken {
            expires_at: Some(10),
            ..new("x")
        })
        .contains("past"));
        assert!(err(NewToken {
            ip_allowlist: vec!["10.0.0.0/33".into()],
            ..new("x")
        })
        .contains("10.0.0.0/33"));
        assert!(err(NewToken {
            restrictions: vec!["[get](".into()],
            ..new("x")
        })
        .contains("line 1"));
        assert!(err(NewToken {
            token: Some("short".into()),
            ..new("x")
        })
        .contains("at least"));
        assert!(err(NewToken {
            user: Some("a:b".into()),
            ..new("x")
        })
        .contains("':'"));
    }

    #[test]
    fn ip_allowlist_v4_v6_and_mapped() {
        let (t, _) = NewToken {
            ip_allowlist: vec![
                "10.1.0.0/16".into(),
                "2001:db8::/32".into(),
                "192.0.2.7".into(),
            ],
            ..new("x")
        }
        .build("a", 0)
        .unwrap();
        let a = Active::compile(t).unwrap();
        assert!(a.ip_allowed("10.1.2.3".parse().unwrap()));
        assert!(a.ip_allowed("::ffff:10.1.2.3".parse().unwrap()));
        assert!(a.ip_allowed("2001:db8::1".parse().unwrap()));
        assert!(a.ip_allowed("192.0.2.7".parse().unwrap()));
        assert!(!a.ip_allowed("192.0.2.8".parse().unwrap()));
        assert!(!a.ip_allowed("10.2.0.1".parse().unwrap()));
    }

    #[test]
    fn rate_window() {
        let (t, _) = NewToken {
            rate_limit_per_minute: Some(2),
            ..new("x")
        }
        .build("a", 0)
        .unwrap();
        let a = Active::compile(t).unwrap();
        assert!(a.take_rate(1_000).is_ok());
        assert!(a.take_rate(2_000).is_ok());
        assert_eq!(a.take_rate(3_000), Err(58));
        assert!(a.take_rate(61_000).is_ok());
    }

    #[test]
    fn a_daily_quota_counts_here_and_elsewhere_and_renews_at_midnight() {
        let (t, _) = NewToken {
            requests_per_day: Some(3),
            ..new("x")
        }
        .build("a", 0)
        .unwrap();
        let a = Active::compile(t).unwrap();
        let (today, start) = (20_000, 20_000 * DAY_MS);
        assert!(a.take_quota(start + 1).is_ok());
        // The store: this replica's use (flushed) and one from another replica.
        a.flushed(1);
        a.learn_day_total(today, 2);
        assert!(a.take_quota(start + 2).is_ok());
        assert_eq!(a.take_quota(start + DAY_MS - 10_000), Err(10));
        // The store as of an earlier flush changes nothing that was counted here.
        a.learn_day_total(today, 1);
        assert_eq!(a.take_quota(start + DAY_MS - 10_000), Err(10));
        assert!(a.take_quota(start + DAY_MS).is_ok(), "a new day");
        let unlimited = Active::compile(new("y").build("a", 0).unwrap().0).unwrap();
        assert!((0..10).all(|i| unlimited.take_quota(i).is_ok()));
    }

    #[test]
    fn expiry_and_revocation() {
        let (mut t, _) = NewToken {
            days_until_expiry: Some(1),
            ..new("x")
        }
        .build("a", 0)
        .unwrap();
        assert_eq!(t.usable_at(1), Ok(()));
        assert_eq!(t.usable_at(86_400_000), Err(Unusable::Expired));
        t.revoked_at = Some(5);
        assert_eq!(t.usable_at(1), Err(Unusable::Revoked));
    }
}
