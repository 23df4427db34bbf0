//! Syslog over TCP (RFC 6587 octet counting), optionally TLS (RFC 5425), to rsyslog, syslog-ng
//! or a SIEM's collector.
//!
//! Syslog has no acknowledgement: a successful write and flush only means the kernel took the
//! bytes, and a receiver that closed the connection loses what was written into it after (its
//! kernel answers with a reset that reaches the sender later). So a batch counts as acknowledged
//! only once it was flushed at least [`SETTLE`] ago on a connection still open then: a receiver
//! that stopped in between shows as a closed connection, and what was written since its cursor
//! is sent again. What syslog can't tell is a receiver that read the bytes and lost them itself
//! (it crashed before writing them anywhere); RELP or the https sink close that gap.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::FutureExt;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::SinkConfig;
use super::format::{local_hostname, syslog_frame, SyslogHeader};
use crate::audit::AuditRecord;

/// How long a flushed batch's connection must stay open before the batch counts as received.
pub const SETTLE: Duration = Duration::from_millis(500);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

pub struct Syslog {
    address: String,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    header: SyslogHeader,
    conn: Option<Box<dyn Stream>>,
    /// Batches written on this connection, not yet acknowledged: (last seq, when flushed).
    unsettled: VecDeque<(i64, Instant)>,
    buf: Vec<u8>,
}

/// The TLS client settings: the private CA's certificates, or the system's roots.
pub(super) fn client_tls(
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<rustls::ClientConfig> {
    use hyper_rustls::ConfigBuilderExt;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS setup")?;
    let builder = match ca_file {
        Some(file) => {
            let pem = std::fs::read(file)
                .with_context(|| format!("cannot read ca_file {}", file.display()))?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert =
                    cert.with_context(|| format!("ca_file {} is not PEM", file.display()))?;
                roots.add(cert).with_context(|| {
                    format!("ca_file {}: a certificate is invalid", file.display())
                })?;
            }
            if roots.is_empty() {
                anyhow::bail!("ca_file {} holds no certificate", file.display());
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .with_native_roots()
            .context("cannot load the system's CA certificates (give ca_file)")?,
    };
    Ok(builder.with_no_client_auth())
}

impl Syslog {
    pub fn new(config: &SinkConfig) -> anyhow::Result<Syslog> {
        let address = config.address.clone().unwrap_or_default();
        let (host, _) = SinkConfig::host_port(&address)
            .with_context(|| format!("address {address:?} is not HOST:PORT"))?;
        let tls = if config.tls {
            let name = ServerName::try_from(host.to_string())
                .with_context(|| format!("{host:?} is not a TLS server name"))?;
            let connector =
                tokio_rustls::TlsConnector::from(Arc::new(client_tls(config.ca_file.as_deref())?));
            Some((connector, name))
        } else {
            None
        };
        Ok(Syslog {
            address,
            tls,
            header: SyslogHeader {
                facility: config.facility.unwrap_or_default().0,
                hostname: config.hostname.clone().unwrap_or_else(local_hostname),
                app_name: config
                    .app_name
                    .clone()
                    .unwrap_or_else(|| "cfl-gateway".into()),
                procid: std::process::id().to_string(),
            },
            conn: None,
            unsettled: VecDeque::new(),
            buf: Vec::new(),
        })
    }

    async fn connect(&self) -> anyhow::Result<Box<dyn Stream>> {
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.address))
            .await
            .map_err(|_| anyhow::anyhow!("connecting to {} timed out", self.address))?
            .with_context(|| format!("cannot connect to {}", self.address))?;
        let _ = tcp.set_nodelay(true);
        Ok(match &self.tls {
            None => Box::new(tcp),
            Some((connector, name)) => Box::new(
                tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name.clone(), tcp))
                    .await
                    .map_err(|_| anyhow::anyhow!("TLS handshake with {} timed out", self.address))?
                    .with_context(|| format!("TLS handshake with {} failed", self.address))?,
            ),
        })
    }

    /// Writes `records` (in order, after those already written) as one flush. Nothing is
    /// acknowledged yet: see [`Syslog::settled`].
    pub async fn send(&mut self, records: &[AuditRecord]) -> anyhow::Result<()> {
        self.check_open()?;
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => self.connect().await?,
        };
        self.buf.clear();
        for r in records {
            syslog_frame(&mut self.buf, &self.header, r);
        }
        let written = tokio::time::timeout(WRITE_TIMEOUT, async {
            conn.write_all(&self.buf).await?;
            conn.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => self.conn = Some(conn),
            Ok(Err(e)) => {
                self.reset();
                return Err(e).with_context(|| format!("writing to {} failed", self.address));
            }
            Err(_) => {
                self.reset();
                anyhow::bail!("writing to {} timed out", self.address);
            }
        }
        if let Some(last) = records.last() {
            self.unsettled.push_back((last.seq, Instant::now()));
        }
        Ok(())
    }

    /// The newest `seq` now acknowledged (flushed at least [`SETTLE`] ago, the connection still
    /// open), if any. An error: the receiver closed the connection, and every batch not yet
    /// acknowledged must be sent again.
    pub fn settled(&mut self) -> anyhow::Result<Option<i64>> {
        if self.unsettled.is_empty() {
            return Ok(None);
        }
        self.check_open()?;
        let mut acked = None;
        while let Some(&(seq, at)) = self.unsettled.front() {
            if at.elapsed() < SETTLE {
                break;
            }
            acked = Some(seq);
            self.unsettled.pop_front();
        }
        Ok(acked)
    }

    /// Fails (and forgets the connection and what was written on it) when the receiver closed
    /// the connection with batches not yet acknowledged; a connection closed with nothing
    /// outstanding (a receiver's idle timeout) is just dropped, and the next send opens another.
    /// A receiver sends nothing on a syslog connection, so anything readable is its end or an
    /// error; a TLS stream's own session messages are handled inside the read.
    fn check_open(&mut self) -> anyhow::Result<()> {
        let Some(conn) = &mut self.conn else {
            return Ok(());
        };
        let mut scratch = [0u8; 256];
        for _ in 0..16 {
            match conn.read(&mut scratch).now_or_never() {
                None => return Ok(()),
                Some(Ok(n)) if n > 0 => continue,
                Some(Ok(_)) | Some(Err(_)) => {
                    let lost = !self.unsettled.is_empty();
                    self.reset();
                    if lost {
                        anyhow::bail!("{} closed the connection", self.address);
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Drops the connection and whatever was written on it but not acknowledged.
    pub fn reset(&mut self) {
        self.conn = None;
        self.unsettled.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    fn record(seq: i64) -> AuditRecord {
        AuditRecord {
            seq,
            path: format!("/r/{seq}"),
            ..Default::default()
        }
    }

    async fn receive(listener: &TcpListener) -> (TcpStream, String) {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = conn.read(&mut buf).await.unwrap();
        (conn, String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// A batch counts once its connection outlived it by [`SETTLE`]; a receiver that closes
    /// before that makes it due again, and one that closes an idle connection costs nothing.
    #[tokio::test]
    async fn a_batch_is_acknowledged_only_once_its_connection_outlived_it() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config: SinkConfig = toml::from_str(&format!(
            "name = \"t\"\nkind = \"syslog\"\naddress = \"{}\"\n",
            listener.local_addr().unwrap()
        ))
        .unwrap();
        let mut sink = Syslog::new(&config).unwrap();

        sink.send(&[record(1)]).await.unwrap();
        let (conn, got) = receive(&listener).await;
        assert!(got.contains("seq=\"1\""), "{got}");
        assert_eq!(sink.settled().unwrap(), None, "not yet settled");
        drop(conn);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            sink.settled().is_err(),
            "closed before it settled: send again"
        );

        sink.send(&[record(1), record(2)]).await.unwrap();
        let (conn, _) = receive(&listener).await;
        tokio::time::sleep(SETTLE).await;
        assert_eq!(sink.settled().unwrap(), Some(2));
        drop(conn);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(sink.settled().unwrap(), None, "nothing was outstanding");
        sink.send(&[record(3)]).await.unwrap();
        let (_conn, got) = receive(&listener).await;
        assert!(got.contains("seq=\"3\""), "{got}");
    }
}
