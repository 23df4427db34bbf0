//! An audit record as each receiver takes it: an RFC 5424 syslog message in an RFC 6587
//! octet-counted frame, a JSON line, or a Splunk HEC event. Every form carries `seq`, `prevHash`
//! and `hash`, so a receiver can drop duplicates (by `seq`) and check the chain.

use std::fmt::Write;

use crate::audit::{AuditRecord, Decision};

/// The structured-data ID of the chain's fields: `cfl` under the enterprise number RFC 5612
/// reserves for documentation examples (cfl has none of its own).
pub const SD_ID: &str = "cfl@32473";

/// What an RFC 5424 message's header needs besides the record.
pub struct SyslogHeader {
    pub facility: u8,
    pub hostname: String,
    pub app_name: String,
    pub procid: String,
}

/// Appends `record` as an octet-counted RFC 5424 message (`LEN SP <PRI>1 TIMESTAMP HOSTNAME
/// APP-NAME PROCID MSGID [cfl@32473 seq prevHash hash] JSON`) to `out`. Severity: info for an
/// allowed request, notice for a refused one. MSGID is the record's kind (`proxy`, `admin`); the
/// message is the whole record as JSON.
pub fn syslog_frame(out: &mut Vec<u8>, header: &SyslogHeader, record: &AuditRecord) {
    let severity = match record.decision {
        Decision::Allow => 6,
        Decision::Deny => 5,
    };
    let mut msg = String::with_capacity(512);
    let _ = write!(
        msg,
        "<{}>1 {} {} {} {} {} [{SD_ID} seq=\"{}\" prevHash=\"",
        u16::from(header.facility) * 8 + severity,
        timestamp(record.at),
        header.hostname,
        header.app_name,
        header.procid,
        record.kind.as_str(),
        record.seq,
    );
    push_param_value(&mut msg, &record.prev_hash);
    msg.push_str("\" hash=\"");
    push_param_value(&mut msg, &record.hash);
    msg.push_str("\"] ");
    // A record serialises to JSON without fail (strings and integers).
    msg.push_str(&serde_json::to_string(record).unwrap_or_default());
    out.extend_from_slice(msg.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(msg.as_bytes());
}

/// An SD-PARAM value: `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
fn push_param_value(out: &mut String, value: &str) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// Epoch milliseconds as RFC 5424's TIMESTAMP (RFC 3339 in UTC, milliseconds).
fn timestamp(at_ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

/// Appends `record` as one JSON line.
pub fn json_line(out: &mut Vec<u8>, record: &AuditRecord) {
    let _ = serde_json::to_writer(&mut *out, record);
    out.push(b'\n');
}

/// What a Splunk HEC event carries besides the record.
pub struct HecMeta {
    pub host: String,
    pub sourcetype: String,
    pub index: Option<String>,
}

/// Appends `record` as a Splunk HEC event (`time` in epoch seconds); HEC takes events one after
/// another in one body.
pub fn hec_event(out: &mut Vec<u8>, meta: &HecMeta, record: &AuditRecord) {
    let mut event = serde_json::json!({
        "time": record.at as f64 / 1000.0,
        "host": meta.host,
        "source": "cfl-gateway",
        "sourcetype": meta.sourcetype,
        "event": record,
    });
    if let Some(index) = &meta.index {
        event["index"] = index.as_str().into();
    }
    let _ = serde_json::to_writer(&mut *out, &event);
    out.push(b'\n');
}

/// This machine's name for HOSTNAME and HEC's `host` ("-", RFC 5424's nil value, if unknown).
pub fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| (33..=126).contains(&b)))
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Kind;

    fn record() -> AuditRecord {
        AuditRecord {
            seq: 42,
            at: 1_700_000_000_123,
            kind: Kind::Proxy,
            actor: "alice".into(),
            method: "GET".into(),
            path: "/rest/api/space".into(),
            decision: Decision::Deny,
            reason: "rule".into(),
            status: 403,
            prev_hash: "ab]\"c".into(),
            hash: "ff".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_syslog_frame_is_octet_counted_rfc_5424() {
        let header = SyslogHeader {
            facility: 10,
            hostname: "gw1".into(),
            app_name: "cfl-gateway".into(),
            procid: "77".into(),
        };
        let mut out = Vec::new();
        syslog_frame(&mut out, &header, &record());
        let text = String::from_utf8(out).unwrap();
        let (len, msg) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), msg.len());
        // authpriv (10) * 8 + notice (5) = 85.
        let head = "<85>1 2023-11-14T22:13:20.123Z gw1 cfl-gateway 77 proxy [cfl@32473 seq=\"42\" prevHash=\"ab\\]\\\"c\" hash=\"ff\"] {";
        assert!(msg.starts_with(head), "{msg}");
        let json: serde_json::Value = serde_json::from_str(&msg[head.len() - 1..]).unwrap();
        assert_eq!(json["seq"], 42);
        assert_eq!(json["path"], "/rest/api/space");
    }

    #[test]
    fn hec_events_carry_time_in_seconds_and_the_record() {
        let meta = HecMeta {
            host: "gw1".into(),
            sourcetype: "cfl:audit".into(),
            index: Some("security".into()),
        };
        let mut out = Vec::new();
        hec_event(&mut out, &meta, &record());
        json_line(&mut out, &record());
        let mut lines = out.split(|b| *b == b'\n');
        let hec: serde_json::Value = serde_json::from_slice(lines.next().unwrap()).unwrap();
        assert_eq!(hec["time"], 1_700_000_000.123);
        assert_eq!(hec["sourcetype"], "cfl:audit");
        assert_eq!(hec["index"], "security");
        assert_eq!(hec["event"]["seq"], 42);
        assert_eq!(hec["event"]["prevHash"], "ab]\"c");
        let line: serde_json::Value = serde_json::from_slice(lines.next().unwrap()).unwrap();
        assert_eq!(line["hash"], "ff");
    }
}
