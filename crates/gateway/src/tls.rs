//! HTTPS for the gateway's listener: the rustls server configuration built from the PEM files
//! in `[tls]`, and swapped in place when they change (SIGHUP, see `server.rs`). Connections
//! already open keep the configuration they were accepted with; new ones get the current one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

pub struct Tls {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<TlsAcceptor>,
}

impl Tls {
    /// Loads the certificate chain and private key (PEM).
    pub fn load(cert_file: &Path, key_file: &Path) -> anyhow::Result<Tls> {
        Ok(Tls {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            current: RwLock::new(acceptor(cert_file, key_file)?),
        })
    }

    /// Reads the files again and serves new connections with what they now hold. On error the
    /// current certificate stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = acceptor(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    /// The acceptor for a new connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn acceptor(cert_file: &Path, key_file: &Path) -> anyhow::Result<TlsAcceptor> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path)
            .with_context(|| format!("cannot read the TLS {what} {}", path.display()))
    };
    let chain = read(cert_file, "certificate")?;
    let certs = CertificateDer::pem_slice_iter(&chain)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{}: {e}", cert_file.display()))?;
    if certs.is_empty() {
        anyhow::bail!(
            "{} holds no certificate: expected PEM `-----BEGIN CERTIFICATE-----` blocks, the server's first",
            cert_file.display()
        );
    }
    let key = PrivateKeyDer::from_pem_slice(&read(key_file, "private key")?).map_err(|e| {
        anyhow::anyhow!(
            "{} holds no usable private key (expected an unencrypted PEM key: PKCS#8, PKCS#1 or SEC1): {e}",
            key_file.display()
        )
    })?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .with_context(|| {
            format!(
                "the TLS certificate {} and key {} don't go together",
                cert_file.display(),
                key_file.display()
            )
        })?;
    // The listener speaks HTTP/1.1 only; offering h2 would strand clients that pick it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Re-reads the certificate and key on SIGHUP (certificate rotation without a restart); a bad
/// pair is logged and the current one kept.
pub(crate) async fn reload_on_sighup(tls: Arc<Tls>) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            tracing::warn!("cannot listen for SIGHUP: TLS certificates will not be reloaded");
            return;
        };
        while hup.recv().await.is_some() {
            let reloading = tls.clone();
            match tokio::task::spawn_blocking(move || reloading.reload()).await {
                Ok(Ok(())) => {
                    tracing::info!(cert = %tls.cert_file().display(), "TLS certificate reloaded")
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %format!("{e:#}"), "TLS reload failed; keeping the current certificate")
                }
                Err(e) => {
                    tracing::error!(error = %e, "TLS reload did not run; keeping the current certificate")
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tls;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_a_certificate_and_key_are_refused_with_the_reason() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let err = |c: &Path, k: &Path| Tls::load(c, k).err().unwrap().to_string();

        assert!(err(&cert, &key).starts_with("cannot read the TLS certificate"));
        std::fs::write(&cert, "not pem at all\n").unwrap();
        assert!(err(&cert, &key).contains("holds no certificate"));
        std::fs::write(
            &cert,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(err(&cert, &key).starts_with("cannot read the TLS private key"));
        std::fs::write(
            &key,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(err(&cert, &key).contains("holds no usable private key"));
    }
}
