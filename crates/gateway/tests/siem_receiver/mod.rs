//! A syslog receiver for the audit sink tests: RFC 6587 octet-counted frames over TCP, each an
//! RFC 5424 message parsed strictly (header, the `cfl@32473` structured data, the JSON record).
//! It runs on a runtime of its own, so stopping it closes its listener and every connection at
//! once, as a receiver that goes down would. Shared by crates/cfl/tests/gateway_siem.rs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncReadExt;

/// One message as received.
#[derive(Debug, Clone)]
pub struct Frame {
    pub seq: i64,
    pub prev_hash: String,
    pub hash: String,
    pub pri: u16,
    pub app_name: String,
    pub msgid: String,
    /// The message: the whole record as JSON.
    pub record: Value,
}

#[derive(Default)]
struct Received {
    frames: Vec<Frame>,
    malformed: Vec<String>,
}

pub struct SyslogReceiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Received>>,
    /// Set: connections are left unread (a receiver on its way down).
    stalled: Arc<std::sync::atomic::AtomicBool>,
    /// How long it takes over each frame (a slow receiver makes a backlog).
    pace: Duration,
    runtime: Option<tokio::runtime::Runtime>,
}

impl SyslogReceiver {
    pub fn start() -> SyslogReceiver {
        SyslogReceiver::paced(Duration::ZERO)
    }

    /// A receiver that spends `pace` on each frame.
    pub fn paced(pace: Duration) -> SyslogReceiver {
        let mut r = SyslogReceiver {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            received: Arc::default(),
            stalled: Arc::default(),
            pace,
            runtime: None,
        };
        r.restart();
        r
    }

    /// Goes down: the listener and every connection close, unread bytes are lost.
    pub fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Goes down the hard way: stops reading for `stall` (what the gateway writes meanwhile
    /// stays in the kernel's buffers, its writes succeeding), then closes, discarding it.
    pub async fn stall_then_stop(&mut self, stall: Duration) {
        self.stalled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(stall).await;
        self.stop();
    }

    /// Comes back on the same address.
    pub fn restart(&mut self) {
        self.stop();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = listen(&rt, self.addr);
        self.addr = listener.local_addr().unwrap();
        self.stalled = Arc::default();
        let (received, stalled, pace) = (self.received.clone(), self.stalled.clone(), self.pace);
        rt.spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, received.clone(), stalled.clone(), pace));
            }
        });
        self.runtime = Some(rt);
    }

    pub fn frames(&self) -> Vec<Frame> {
        self.received.lock().unwrap().frames.clone()
    }

    pub fn malformed(&self) -> Vec<String> {
        self.received.lock().unwrap().malformed.clone()
    }
}

/// A listener on `addr` in `rt`, reusing the address so the old connections' TIME_WAIT doesn't
/// keep a restarted receiver off its port (callable from async tests: nothing blocks).
pub fn listen(rt: &tokio::runtime::Runtime, addr: SocketAddr) -> tokio::net::TcpListener {
    let _in_rt = rt.enter();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(addr).expect("bind the receiver");
    socket.listen(1024).unwrap()
}

impl Drop for SyslogReceiver {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn serve(
    mut conn: tokio::net::TcpStream,
    received: Arc<Mutex<Received>>,
    stalled: Arc<std::sync::atomic::AtomicBool>,
    pace: Duration,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        while stalled.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        // Every complete frame in the buffer.
        while let Some(space) = buf.iter().position(|b| *b == b' ') {
            let len: usize = match std::str::from_utf8(&buf[..space])
                .ok()
                .and_then(|s| s.parse().ok())
            {
                Some(len) => len,
                None => {
                    received.lock().unwrap().malformed.push(format!(
                        "no octet count: {:?}",
                        String::from_utf8_lossy(&buf[..space.min(40)])
                    ));
                    return;
                }
            };
            if buf.len() < space + 1 + len {
                break;
            }
            let msg = String::from_utf8_lossy(&buf[space + 1..space + 1 + len]).into_owned();
            buf.drain(..space + 1 + len);
            if !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
            let mut r = received.lock().unwrap();
            match parse(&msg) {
                Ok(frame) => r.frames.push(frame),
                Err(e) => r.malformed.push(format!("{e}: {msg}")),
            }
        }
    }
}

/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [cfl@32473 seq=".." prevHash=".." hash=".."] MSG`
fn parse(msg: &str) -> Result<Frame, String> {
    let rest = msg.strip_prefix('<').ok_or("no PRI")?;
    let (pri, rest) = rest.split_once('>').ok_or("no PRI end")?;
    let pri: u16 = pri.parse().map_err(|_| "PRI is not a number")?;
    let rest = rest.strip_prefix("1 ").ok_or("not version 1")?;
    let mut parts = rest.splitn(6, ' ');
    let mut next = |what: &str| parts.next().ok_or(format!("no {what}"));
    let timestamp = next("TIMESTAMP")?;
    let hostname = next("HOSTNAME")?;
    let app_name = next("APP-NAME")?.to_string();
    let procid = next("PROCID")?;
    let msgid = next("MSGID")?.to_string();
    let rest = next("STRUCTURED-DATA")?;
    time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("TIMESTAMP {timestamp}: {e}"))?;
    for (name, v) in [("HOSTNAME", hostname), ("PROCID", procid)] {
        if v.is_empty() || !v.bytes().all(|b| (33..=126).contains(&b)) {
            return Err(format!("{name} {v:?}"));
        }
    }
    let sd = rest
        .strip_prefix("[cfl@32473")
        .ok_or("no cfl@32473 element")?;
    let (params, body) = structured_data(sd)?;
    let body = body.strip_prefix(' ').ok_or("no MSG")?;
    let record: Value = serde_json::from_str(body).map_err(|e| format!("MSG is not JSON: {e}"))?;
    let seq: i64 = params
        .get("seq")
        .and_then(|s| s.parse().ok())
        .ok_or("no seq")?;
    let frame = Frame {
        seq,
        prev_hash: params.get("prevHash").cloned().ok_or("no prevHash")?,
        hash: params.get("hash").cloned().ok_or("no hash")?,
        pri,
        app_name,
        msgid,
        record,
    };
    if frame.record["seq"] != seq
        || frame.record["hash"] != frame.hash.as_str()
        || frame.record["prevHash"] != frame.prev_hash.as_str()
    {
        return Err("the structured data and the record disagree".into());
    }
    Ok(frame)
}

/// The PARAM-NAME="value" pairs up to the element's `]`, and what follows it.
fn structured_data(sd: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut params = BTreeMap::new();
    let mut rest = sd;
    loop {
        if let Some(after) = rest.strip_prefix(']') {
            return Ok((params, after));
        }
        rest = rest.strip_prefix(' ').ok_or("no space before a param")?;
        let (name, after) = rest.split_once("=\"").ok_or("no param value")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => {
                    if let Some((_, c)) = chars.next() {
                        value.push(c);
                    }
                }
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err("unterminated param value".into()),
            }
        };
        params.insert(name.to_string(), value);
        rest = &after[end + 1..];
    }
}

/// Checks that `records` (as received, duplicates and all) hold the whole chain 1..=`head`: the
/// first arrival of each `seq` in increasing order, every duplicate identical to the first, and
/// the chain verifying from the genesis hash (each hash recomputed from the record). Returns how
/// many duplicates there were.
pub fn assert_whole_chain(records: &[Value], head: i64) -> usize {
    let mut first: BTreeMap<i64, &Value> = BTreeMap::new();
    let mut order = Vec::new();
    let mut duplicates = 0;
    for r in records {
        let seq = r["seq"].as_i64().expect("a seq");
        match first.get(&seq) {
            Some(earlier) => {
                assert_eq!(*earlier, r, "record {seq} arrived twice, differently");
                duplicates += 1;
            }
            None => {
                first.insert(seq, r);
                order.push(seq);
            }
        }
    }
    let expected: Vec<i64> = (1..=head).collect();
    let missing: Vec<i64> = expected
        .iter()
        .filter(|s| !first.contains_key(s))
        .copied()
        .collect();
    assert!(missing.is_empty(), "records missing: {missing:?}");
    assert_eq!(
        order[..head as usize],
        expected[..],
        "records first arrived out of order"
    );
    let mut verifier = cfl_gateway::audit::Verifier::default();
    for seq in 1..=head {
        let record: cfl_gateway::audit::AuditRecord =
            serde_json::from_value(first[&seq].clone()).expect("a record");
        verifier
            .push(&record)
            .unwrap_or_else(|e| panic!("the received chain does not verify: {e}"));
    }
    duplicates
}
