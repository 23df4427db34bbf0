//! Assembles the gateway: opens the store, bootstraps the first admin, loads the token cache,
//! starts the audit writer and the usage flusher, and serves admin + proxy routes until shut
//! down — then finishes in-flight requests, flushes counters and drains the audit queue.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::audit::writer::AuditWriter;
use crate::audit::{AuditRecord, Decision, Kind};
use crate::cache::TokenCache;
use crate::config::GatewayConfig;
use crate::proxy::upstream::Upstream;
use crate::secret::{public_id, Secret, SecretHash};
use crate::state::{now_ms, Gateway, Shared};
use crate::store::Store;
use crate::{admin, proxy};

/// A gateway serving on a bound address.
pub struct RunningGateway {
    pub addr: SocketAddr,
    pub base_url: String,
    pub(crate) gateway: Shared,
    /// The admin secret generated at this start (first start, no `CFL_ADMIN_TOKEN`): shown once.
    pub generated_admin_token: Option<String>,
    /// Where the admin secret generated at this start was written instead, and its id.
    pub admin_token_file: Option<(PathBuf, String)>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningGateway {
    pub fn startup_line(&self) -> serde_json::Value {
        let mut line = json!({
            "event": "listening",
            "base_url": self.base_url,
            "upstream": self.gateway.upstream.base,
            "identity": self.gateway.config.upstream.identity.mode(),
            "store": crate::store::redact_url(&self.gateway.config.store),
        });
        if let Some(t) = &self.generated_admin_token {
            line["admin_token"] = json!(t);
            line["admin_token_note"] =
                json!("generated on first start and shown once: store it now");
        }
        if let Some((file, id)) = &self.admin_token_file {
            line["admin_token_file"] = json!(file.display().to_string());
            line["admin_token_id"] = json!(id);
        }
        line
    }

    /// Stops accepting, finishes in-flight requests, flushes counters and the audit queue.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Where the admin token made on first start goes.
pub enum FirstAdminToken {
    /// Returned to the caller, to be shown once (a terminal, the demo).
    Return,
    /// Written to this new file (mode 0600, never overwritten), only its path and id shown:
    /// output that may end in a log (the journal) never holds the secret.
    File(PathBuf),
}

/// The default file for the first admin token: `admin-token` beside a SQLite store, else in the
/// current directory (the unit's state directory).
pub fn admin_token_file(config: &GatewayConfig) -> PathBuf {
    let dir = crate::store::sqlite_path(&config.store)
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let file = dir.join("admin-token");
    std::path::absolute(&file).unwrap_or(file)
}

/// The admin token made on first start, as it was handed out.
enum Generated {
    Secret(String),
    File(PathBuf, String),
}

/// Ensures an admin exists: `admin_secret` (e.g. from `CFL_ADMIN_TOKEN`) is registered if new;
/// with no admin at all and no secret given, one is generated (and audited) and handed out as
/// `first` says.
async fn bootstrap_admin(
    store: &Store,
    audit: &AuditWriter,
    admin_secret: Option<&str>,
    first: &FirstAdminToken,
    now: i64,
) -> anyhow::Result<Option<Generated>> {
    if let Some(secret) = admin_secret {
        let hash = SecretHash::of(secret).0;
        if store.admin_by_hash(&hash).await?.is_none() {
            store
                .insert_admin_token(&public_id(), "bootstrap (CFL_ADMIN_TOKEN)", &hash, now)
                .await?;
        }
        return Ok(None);
    }
    if store.admin_count().await? > 0 {
        return Ok(None);
    }
    let secret = Secret::generate();
    let id = public_id();
    // The file first: a token that can't be handed out is never created.
    if let FirstAdminToken::File(path) = first {
        write_new_secret_file(path, secret.expose())?;
    }
    let inserted = store
        .insert_admin_token(&id, "bootstrap (first start)", &secret.hash().0, now)
        .await;
    if let Err(e) = inserted {
        if let FirstAdminToken::File(path) = first {
            let _ = std::fs::remove_file(path);
        }
        return Err(e);
    }
    let record = local_admin_record("admin_token.create", "cfl serve (first start)", &id, now);
    if !audit.record(record).await {
        anyhow::bail!("cannot write the audit log");
    }
    Ok(Some(match first {
        FirstAdminToken::Return => Generated::Secret(secret.expose().to_string()),
        FirstAdminToken::File(path) => Generated::File(path.clone(), id),
    }))
}

/// Writes `secret` to `path`, a file that must not exist yet, readable only by this user.
fn write_new_secret_file(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        let fix = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (left from an earlier first start? keep the token it holds if you still need it, \
             delete the file and start again)"
        } else {
            ""
        };
        anyhow::anyhow!(
            "cannot write the first admin token to {}: {e}{fix}",
            path.display()
        )
    })?;
    let written = file
        .write_all(format!("{secret}\n").as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        anyhow::bail!(
            "cannot write the first admin token to {}: {e}",
            path.display()
        );
    }
    Ok(())
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when the store answers and the upstream accepts a connection.
async fn readyz(State(gw): State<Shared>) -> (StatusCode, Json<serde_json::Value>) {
    let store = gw.store.ping().await.is_ok();
    let upstream = gw
        .upstream
        .client
        .head(&gw.upstream.base)
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .is_ok();
    let status = if store && upstream {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({"store": store, "upstream": upstream})))
}

/// The Prometheus metrics; live values (cache, queue) are read at scrape time.
async fn metrics(State(gw): State<Shared>) -> impl axum::response::IntoResponse {
    crate::metrics::render(&gw.metrics, &gw.cache, &gw.audit)
}

pub(crate) fn router(gw: Shared) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(admin::router(gw.clone()))
        .fallback_service(proxy::ProxyService(gw.clone()))
        .with_state(gw)
}

/// The listening address was taken (or not allowed): nothing else was opened.
#[derive(Debug)]
pub struct ListenError {
    pub addr: SocketAddr,
    pub io: std::io::Error,
}

impl std::fmt::Display for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot listen on {}: {}", self.addr, self.io)?;
        if self.io.kind() == std::io::ErrorKind::AddrInUse {
            write!(
                f,
                " (another program uses it: give another address with --listen, CFL_LISTEN or `listen` in the config)"
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ListenError {}

/// What the config needs from outside the store, each read and parsed: proof that the gateway
/// can serve with it, before the store is touched.
pub struct Checked {
    tls: Option<Arc<crate::tls::Tls>>,
    upstream: Upstream,
}

/// Checks the whole config without touching the store or the network: files readable, keys and
/// certificates parse, secrets from the environment present, URLs valid, a SQLite store's
/// directory there. `cfl serve --check-config` runs just this.
pub fn check(config: &GatewayConfig, admin_secret: Option<&str>) -> anyhow::Result<Checked> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    config.validate()?;
    let env = |k: &str| std::env::var(k).ok();
    if let Some(p) = crate::sinks::config::problems(&config.audit.sinks, &env).first() {
        anyhow::bail!("{p}");
    }
    let tls = match &config.tls {
        Some(t) => Some(Arc::new(
            crate::tls::Tls::load(&t.cert_file, &t.key_file)
                .context("cannot set up HTTPS ([tls])")?,
        )),
        None => None,
    };
    let upstream = Upstream::from_config(&config.upstream)
        .context("cannot set up the upstream ([upstream])")?;
    if let Some(file) = crate::store::sqlite_path(&config.store) {
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir.filter(|d| !d.is_dir()) {
            anyhow::bail!(
                "store {}: the directory {} does not exist",
                config.store,
                dir.display()
            );
        }
    }
    if let Some(secret) = admin_secret {
        check_admin_secret(secret)?;
    }
    Ok(Checked { tls, upstream })
}

fn check_admin_secret(secret: &str) -> anyhow::Result<()> {
    if secret.len() < crate::token::MIN_CUSTOM_SECRET {
        anyhow::bail!(
            "the admin token must be at least {} characters",
            crate::token::MIN_CUSTOM_SECRET
        );
    }
    Ok(())
}

/// An admin action taken on the store directly (not through the API), as an audit record.
fn local_admin_record(action: &str, actor: &'static str, id: &str, now: i64) -> AuditRecord {
    AuditRecord {
        at: now,
        kind: Kind::Admin,
        actor: actor.into(),
        method: "LOCAL".into(),
        path: action.into(),
        decision: Decision::Allow,
        reason: format!("admin {id}").into(),
        status: 201,
        client_ip: "-".into(),
        ..AuditRecord::default()
    }
}

/// A new admin token for whoever holds the store (`cfl serve --new-admin-token`): the way back
/// in when every admin token is lost. The store must exist; the token works at once, also on a
/// gateway running on that store, and the creation is in the audit log. Returns the secret.
pub async fn new_admin_token(config: &GatewayConfig) -> anyhow::Result<String> {
    let store = Store::open_existing(&config.store).await?;
    let now = now_ms();
    let secret = Secret::generate();
    let id = public_id();
    store
        .insert_admin_token(
            &id,
            "recovery (cfl serve --new-admin-token)",
            &secret.hash().0,
            now,
        )
        .await?;
    let mut record = [local_admin_record(
        "admin_token.create",
        "cfl serve --new-admin-token",
        &id,
        now,
    )];
    // Straight into the chain: a gateway running on this store holds its audit journal, and
    // appending re-chains from the real head if its writer got there first.
    let mut conn = store.pool().acquire().await?;
    store
        .append_audit_on(&mut conn, &mut record, &mut None)
        .await
        .context("the admin token was created but could not be audited")?;
    drop(conn);
    store.close().await;
    Ok(secret.expose().to_string())
}

/// Checks the config, takes the listening address, opens everything and starts serving. The
/// address is taken first and the bootstrap admin token made last, so a start that fails leaves
/// no store locked and no admin token nobody saw.
pub async fn start(
    config: GatewayConfig,
    admin_secret: Option<String>,
) -> anyhow::Result<RunningGateway> {
    start_with(config, admin_secret, FirstAdminToken::Return).await
}

/// The gateway's background tasks: started once the store is open, stopped before the final
/// usage flush and the audit queue's close.
struct BackgroundJobs {
    flusher: tokio::task::JoinHandle<()>,
    checkpointer: Option<tokio::task::JoinHandle<()>>,
    watcher: tokio::task::JoinHandle<()>,
    sinks: crate::sinks::Sinks,
    warner: tokio::task::JoinHandle<()>,
    token_sync: tokio::task::JoinHandle<()>,
}

impl BackgroundJobs {
    fn spawn(gw: &Shared) -> BackgroundJobs {
        let flusher = crate::jobs::spawn_every(
            Duration::from_secs(1),
            "flushing token usage",
            gw.clone(),
            |gw| async move { gw.flush_usage().await },
        );
        // Small, frequent checkpoints: each one's fsync makes the filesystem commit its journal,
        // which holds up the writer's next append, and a small checkpoint holds it up briefly where
        // a large one shows in the p99 latency. PostgreSQL needs none of this.
        let checkpointer = (gw.store.backend == crate::store::Backend::Sqlite).then(|| {
            crate::jobs::spawn_every(
                Duration::from_millis(100),
                "checkpointing the store",
                gw.clone(),
                |gw| async move { gw.store.checkpoint().await },
            )
        });
        let watcher = tokio::spawn(crate::revocations::watch(gw.clone()));
        let sinks = crate::sinks::spawn(gw);
        let warner = tokio::spawn(crate::expiry::run(gw.clone()));
        let token_sync = tokio::spawn(crate::token_sync::watch(gw.clone()));
        BackgroundJobs {
            flusher,
            checkpointer,
            watcher,
            sinks,
            warner,
            token_sync,
        }
    }

    async fn stop(self) {
        self.flusher.abort();
        if let Some(c) = self.checkpointer {
            c.abort();
        }
        self.watcher.abort();
        self.warner.abort();
        self.sinks.stop().await;
        self.token_sync.abort();
    }
}

/// [`start`], handing out a first admin token as `first` says.
pub async fn start_with(
    config: GatewayConfig,
    admin_secret: Option<String>,
    first: FirstAdminToken,
) -> anyhow::Result<RunningGateway> {
    let Checked { tls, upstream } = check(&config, admin_secret.as_deref())?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|io| ListenError {
            addr: config.listen,
            io,
        })?;
    let addr = listener.local_addr()?;
    let store = Store::open_with(&config.store, config.audit.durability).await?;
    let cache = TokenCache::load(&store).await?;
    let (audit, audit_task) = AuditWriter::start(store.clone(), config.audit.durability).await?;
    let generated =
        match bootstrap_admin(&store, &audit, admin_secret.as_deref(), &first, now_ms()).await {
            Ok(t) => t,
            Err(e) => {
                audit.close().await;
                let _ = audit_task.await;
                return Err(e);
            }
        };
    let gw = Arc::new(Gateway {
        config,
        store,
        cache,
        audit,
        upstream,
        metrics: Default::default(),
        admin_cache: Default::default(),
        user_emails: Default::default(),
        usage: Default::default(),
    });

    let (tx, rx) = oneshot::channel::<()>();
    let app = router(gw.clone());
    let jobs = BackgroundJobs::spawn(&gw);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let serve_gw = gw.clone();
    let task = tokio::spawn(async move {
        let reloader = tls
            .clone()
            .map(|t| tokio::spawn(crate::tls::reload_on_sighup(t)));
        crate::listen::serve(listener, serve_gw.clone(), app, tls, async move {
            let _ = rx.await;
        })
        .await;
        if let Some(r) = reloader {
            r.abort();
        }
        tracing::info!("shutting down: flushing usage counters and the audit queue");
        jobs.stop().await;
        if let Err(e) = serve_gw.flush_usage().await {
            tracing::error!(error = %e, "final usage flush failed");
        }
        serve_gw.audit.close().await;
        let _ = audit_task.await;
    });
    tracing::info!(%addr, upstream = %gw.upstream.base, identity = gw.config.upstream.identity.mode(), tokens = gw.cache.len(), "gateway listening");
    Ok(RunningGateway {
        base_url: format!("{scheme}://{addr}"),
        addr,
        gateway: gw,
        generated_admin_token: match &generated {
            Some(Generated::Secret(s)) => Some(s.clone()),
            _ => None,
        },
        admin_token_file: match generated {
            Some(Generated::File(path, id)) => Some((path, id)),
            _ => None,
        },
        shutdown: Some(tx),
        task: Some(task),
    })
}
