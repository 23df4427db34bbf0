//! `[[audit.sinks]]`: where the audit chain is streamed (a SIEM), and how each setting is checked.
//! One flat table per sink, `kind` saying which settings apply, so a setting of the other kind is
//! named as misplaced rather than silently ignored.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// RFC 5424 messages over TCP (RFC 6587 octet counting), optionally TLS (RFC 5425).
    Syslog,
    /// Batches of records POSTed over HTTP(S).
    Https,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HttpsFormat {
    /// One JSON record a line (`application/x-ndjson`).
    #[default]
    Json,
    /// Splunk's HTTP Event Collector: `{"time", "host", "source", "sourcetype", "event"}` objects.
    SplunkHec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    /// Names the sink in logs and metrics, and keys its cursor in the store: renaming a sink
    /// starts it again from the chain's first record.
    pub name: String,
    pub kind: SinkKind,
    /// syslog: `HOST:PORT` of the receiver.
    #[serde(default)]
    pub address: Option<String>,
    /// syslog: TLS (RFC 5425) to the receiver, verified against the system's roots or `ca_file`.
    #[serde(default)]
    pub tls: bool,
    /// PEM certificate(s) of a private CA the receiver's certificate is checked against (instead
    /// of the system's roots); relative to the config file.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// syslog: APP-NAME (default `cfl-gateway`).
    #[serde(default)]
    pub app_name: Option<String>,
    /// syslog: facility, by name (`auth`, `authpriv`, `local0`…`local7`, …) or number 0–23
    /// (default `authpriv`).
    #[serde(default)]
    pub facility: Option<Facility>,
    /// syslog: HOSTNAME (default this machine's name).
    #[serde(default)]
    pub hostname: Option<String>,
    /// https: where batches are POSTed.
    #[serde(default)]
    pub url: Option<String>,
    /// https: `json` (default) or `splunk-hec`.
    #[serde(default)]
    pub format: Option<HttpsFormat>,
    /// https: environment variable holding the token (`Authorization: Splunk TOKEN` for HEC,
    /// `Bearer TOKEN` for json).
    #[serde(default)]
    pub token_env: Option<String>,
    /// splunk-hec: the events' sourcetype (default `cfl:audit`).
    #[serde(default)]
    pub sourcetype: Option<String>,
    /// splunk-hec: the index (default: the token's).
    #[serde(default)]
    pub index: Option<String>,
    /// Records read and sent at a time (default 100).
    #[serde(default = "default_batch")]
    pub batch_size: u32,
    /// Longest wait between attempts while the receiver is down (default 60; from 0.25 s doubling).
    #[serde(default = "default_max_backoff")]
    pub max_backoff_seconds: u64,
}

fn default_batch() -> u32 {
    100
}

fn default_max_backoff() -> u64 {
    60
}

/// Most records a batch may hold (a POST of this many stays a few MB).
pub const MAX_BATCH: u32 = 10_000;

/// A syslog facility (RFC 5424 §6.2.1), given by name or number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(pub u8);

const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

impl Default for Facility {
    fn default() -> Self {
        Facility(10) // authpriv: security and authorization messages
    }
}

impl<'de> Deserialize<'de> for Facility {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Facility, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Number(i64),
            Name(String),
        }
        let bad = || {
            serde::de::Error::custom(format!(
                "facility must be a number 0-23 or one of {}",
                FACILITIES.join(", ")
            ))
        };
        match Given::deserialize(d)? {
            Given::Number(n) => u8::try_from(n)
                .ok()
                .filter(|n| *n < 24)
                .map(Facility)
                .ok_or_else(bad),
            Given::Name(name) => FACILITIES
                .iter()
                .position(|f| f.eq_ignore_ascii_case(&name))
                .map(|i| Facility(i as u8))
                .ok_or_else(bad),
        }
    }
}

/// One thing wrong with a sink's settings: what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkProblem {
    pub what: String,
    pub fix: String,
}

impl std::fmt::Display for SinkProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.fix)
    }
}

impl SinkConfig {
    /// `[[audit.sinks]] NAME` for messages.
    fn label(&self) -> String {
        format!("[[audit.sinks]] {:?}", self.name)
    }

    /// The host and port of a syslog `address` (`HOST:PORT`, `[IPv6]:PORT`).
    pub fn host_port(address: &str) -> Option<(&str, u16)> {
        let (host, port) = address.rsplit_once(':')?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = port.parse().ok().filter(|p| *p != 0)?;
        (!host.is_empty() && !host.contains(char::is_whitespace)).then_some((host, port))
    }
}

/// Every problem with the sinks: names missing or repeated, settings of the other kind, a
/// missing address or URL, a CA file that can't be read, a token variable that isn't set.
/// `env` looks up environment variables; no message shows a secret.
pub fn problems(sinks: &[SinkConfig], env: &dyn Fn(&str) -> Option<String>) -> Vec<SinkProblem> {
    let mut out = Vec::new();
    let mut problem = |what: String, fix: &str| {
        out.push(SinkProblem {
            what,
            fix: fix.to_string(),
        })
    };
    let mut seen = std::collections::HashSet::new();
    for s in sinks {
        let at = s.label();
        let name_ok = !s.name.is_empty()
            && s.name.len() <= 64
            && s.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !name_ok {
            problem(
                format!("{at}: the name must be 1-64 letters, digits, '-', '_' or '.'"),
                "give each sink a short name such as \"siem\" (it keys the sink's position in the store)",
            );
        }
        if !seen.insert(s.name.as_str()) {
            problem(
                format!("{at}: two sinks have this name"),
                "give each sink its own name: each keeps its own position in the chain",
            );
        }
        if s.batch_size == 0 || s.batch_size > MAX_BATCH {
            problem(
                format!("{at}: batch_size = {} is out of range", s.batch_size),
                &format!("use 1 to {MAX_BATCH} (default 100)"),
            );
        }
        if s.max_backoff_seconds == 0 {
            problem(
                format!("{at}: max_backoff_seconds must be at least 1"),
                "use the number of seconds between attempts while the receiver is down (default 60)",
            );
        }
        misplaced_problems(s, &at, &mut problem);
        match s.kind {
            SinkKind::Syslog => syslog_problems(s, &at, &mut problem),
            SinkKind::Https => https_problems(s, &at, env, &mut problem),
        }
        if let Some(ca) = &s.ca_file {
            match std::fs::read(ca) {
                Err(e) => problem(
                    format!("{at}: cannot read ca_file {}: {e}", ca.display()),
                    "give the PEM file of the CA that signed the receiver's certificate (readable by the gateway's user)",
                ),
                Ok(pem) if !holds_certificates(&pem) => problem(
                    format!("{at}: ca_file {} holds no PEM certificate", ca.display()),
                    "give the CA certificate in PEM (-----BEGIN CERTIFICATE-----)",
                ),
                Ok(_) => {}
            }
            if s.kind == SinkKind::Syslog && !s.tls {
                problem(
                    format!("{at}: ca_file is set but tls is not"),
                    "set tls = true to connect with TLS, or remove ca_file",
                );
            }
        }
    }
    out
}

/// Whether `pem` holds at least one certificate, and nothing that fails to decode.
fn holds_certificates(pem: &[u8]) -> bool {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = rustls::pki_types::CertificateDer::pem_slice_iter(pem).collect();
    certs.is_ok_and(|c| !c.is_empty())
}

/// Keys set that belong to the other kind of sink (a syslog `url`, an https `address` …).
fn misplaced_problems(s: &SinkConfig, at: &str, problem: &mut impl FnMut(String, &str)) {
    let misplaced: Vec<&str> = match s.kind {
        SinkKind::Syslog => [
            ("url", s.url.is_some()),
            ("format", s.format.is_some()),
            ("token_env", s.token_env.is_some()),
            ("sourcetype", s.sourcetype.is_some()),
            ("index", s.index.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| *k)
        .collect(),
        SinkKind::Https => [
            ("address", s.address.is_some()),
            ("tls", s.tls),
            ("app_name", s.app_name.is_some()),
            ("facility", s.facility.is_some()),
            ("hostname", s.hostname.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| *k)
        .collect(),
    };
    if !misplaced.is_empty() {
        let (kind, fix) = match s.kind {
            SinkKind::Syslog => (
                "syslog",
                "remove them, or set kind = \"https\" for a webhook or Splunk HEC",
            ),
            SinkKind::Https => (
                "https",
                "remove them (an https sink's TLS follows its url), or set kind = \"syslog\"",
            ),
        };
        problem(
            format!(
                "{at}: {} do not apply to kind = \"{kind}\"",
                misplaced.join(", ")
            ),
            fix,
        );
    }
}

fn syslog_problems(s: &SinkConfig, at: &str, problem: &mut impl FnMut(String, &str)) {
    match s.address.as_deref() {
        None => problem(
            format!("{at}: a syslog sink needs an address"),
            "set address = \"HOST:PORT\" of the receiver (rsyslog/syslog-ng: 601 for TCP, 6514 for TLS)",
        ),
        Some(a) if SinkConfig::host_port(a).is_none() => problem(
            format!("{at}: address {a:?} is not HOST:PORT"),
            "write it as siem.example.com:6514 or [2001:db8::1]:601",
        ),
        Some(_) => {}
    }
    // RFC 5424 §6: APP-NAME and HOSTNAME are printable US-ASCII without spaces, 48 and 255 long.
    let printable = |v: &str, max: usize| {
        !v.is_empty() && v.len() <= max && v.bytes().all(|b| (33..=126).contains(&b))
    };
    if let Some(app) = &s.app_name {
        if !printable(app, 48) {
            problem(
                format!("{at}: app_name {app:?} is not a syslog APP-NAME"),
                "use 1-48 printable ASCII characters without spaces (default cfl-gateway)",
            );
        }
    }
    if let Some(host) = &s.hostname {
        if !printable(host, 255) {
            problem(
                format!("{at}: hostname {host:?} is not a syslog HOSTNAME"),
                "use this machine's name or address, printable ASCII without spaces",
            );
        }
    }
}

fn https_problems(
    s: &SinkConfig,
    at: &str,
    env: &dyn Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(String, &str),
) {
    match s.url.as_deref().map(url::Url::parse) {
        None => problem(
            format!("{at}: an https sink needs a url"),
            "set url = \"https://…\" (Splunk HEC: https://HOST:8088/services/collector/event)",
        ),
        Some(Err(e)) => problem(
            format!("{at}: url is not a URL ({e})"),
            "write it as https://siem.example.com/ingest",
        ),
        Some(Ok(u)) if !matches!(u.scheme(), "http" | "https") => problem(
            format!("{at}: url must be http:// or https://"),
            "use https:// (http:// only on a trusted network: records carry users and paths)",
        ),
        Some(Ok(u)) if !u.username().is_empty() || u.password().is_some() => problem(
            format!("{at}: url holds credentials"),
            "put the token in an environment variable and name it in token_env",
        ),
        Some(Ok(_)) => {}
    }
    let hec = s.format == Some(HttpsFormat::SplunkHec);
    match &s.token_env {
        None if hec => problem(
            format!("{at}: splunk-hec needs token_env"),
            "name the environment variable that holds the HEC token, e.g. token_env = \"CFL_SPLUNK_HEC_TOKEN\"",
        ),
        Some(var) if env(var).is_none_or(|v| v.trim().is_empty()) => problem(
            format!("{at}: the environment variable {var} (token_env) is not set"),
            &format!("set {var} in the gateway's environment (/etc/cfl/gateway.env for the service)"),
        ),
        _ => {}
    }
    if !hec && (s.sourcetype.is_some() || s.index.is_some()) {
        problem(
            format!("{at}: sourcetype and index apply to format = \"splunk-hec\" only"),
            "remove them, or set format = \"splunk-hec\"",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Sinks {
        sinks: Vec<SinkConfig>,
    }

    fn parse(toml: &str) -> Result<Vec<SinkConfig>, String> {
        toml::from_str::<Sinks>(toml)
            .map(|s| s.sinks)
            .map_err(|e| e.to_string())
    }

    fn check(toml: &str) -> Vec<String> {
        let env = |k: &str| (k == "HEC_TOKEN").then(|| "secret-hec-token".to_string());
        problems(&parse(toml).unwrap(), &env)
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn good_sinks_have_no_problems() {
        let ok = check(
            "[[sinks]]\nname = \"rsyslog\"\nkind = \"syslog\"\naddress = \"127.0.0.1:601\"\nfacility = \"local4\"\n\
             [[sinks]]\nname = \"splunk\"\nkind = \"https\"\nurl = \"https://splunk:8088/services/collector/event\"\nformat = \"splunk-hec\"\ntoken_env = \"HEC_TOKEN\"\n\
             [[sinks]]\nname = \"hook\"\nkind = \"https\"\nurl = \"https://hooks.example.com/audit\"\n",
        );
        assert_eq!(ok, Vec::<String>::new());
        let sinks = parse("[[sinks]]\nname = \"a\"\nkind = \"syslog\"\nfacility = 23\n").unwrap();
        assert_eq!(sinks[0].facility, Some(Facility(23)));
        assert_eq!(sinks[0].batch_size, 100);
    }

    #[test]
    fn each_mistake_is_named_with_its_fix() {
        let found = check(
            "[[sinks]]\nname = \"a\"\nkind = \"syslog\"\nurl = \"https://x\"\nca_file = \"/nonexistent/ca.pem\"\n\
             [[sinks]]\nname = \"a\"\nkind = \"https\"\nformat = \"splunk-hec\"\ntls = true\nbatch_size = 0\n\
             [[sinks]]\nname = \"b c\"\nkind = \"https\"\nurl = \"ftp://x\"\ntoken_env = \"UNSET_VAR\"\n",
        );
        let expect = [
            "[[audit.sinks]] \"a\": url do not apply to kind = \"syslog\"",
            "[[audit.sinks]] \"a\": a syslog sink needs an address",
            "[[audit.sinks]] \"a\": cannot read ca_file /nonexistent/ca.pem",
            "[[audit.sinks]] \"a\": ca_file is set but tls is not",
            "[[audit.sinks]] \"a\": two sinks have this name",
            "[[audit.sinks]] \"a\": batch_size = 0 is out of range",
            "[[audit.sinks]] \"a\": tls do not apply to kind = \"https\"",
            "[[audit.sinks]] \"a\": an https sink needs a url",
            "[[audit.sinks]] \"a\": splunk-hec needs token_env",
            "[[audit.sinks]] \"b c\": the name must be",
            "[[audit.sinks]] \"b c\": url must be http:// or https://",
            "[[audit.sinks]] \"b c\": the environment variable UNSET_VAR (token_env) is not set",
        ];
        for e in expect {
            assert!(
                found.iter().any(|f| f.starts_with(e)),
                "{e:?} not in {found:#?}"
            );
        }
        assert_eq!(found.len(), expect.len(), "{found:#?}");
        assert!(found.iter().all(|f| !f.contains("secret-hec-token")));
    }

    #[test]
    fn unknown_settings_and_values_are_refused_when_read() {
        let err = parse("[[sinks]]\nname = \"a\"\nkind = \"kafka\"\n").unwrap_err();
        assert!(err.contains("syslog") && err.contains("https"), "{err}");
        let err =
            parse("[[sinks]]\nname = \"a\"\nkind = \"syslog\"\nfacility = \"mars\"\n").unwrap_err();
        assert!(err.contains("local0"), "{err}");
        let err = parse("[[sinks]]\nname = \"a\"\nkind = \"syslog\"\nport = 5\n").unwrap_err();
        assert!(err.contains("unknown field `port`"), "{err}");
    }

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(SinkConfig::host_port("siem:6514"), Some(("siem", 6514)));
        assert_eq!(SinkConfig::host_port("[::1]:601"), Some(("::1", 601)));
        for bad in ["siem", "siem:", ":601", "siem:0", "siem:x", "a b:1"] {
            assert_eq!(SinkConfig::host_port(bad), None, "{bad}");
        }
    }
}
