//! Routing table and process lifecycle: bind, print the start-up JSON line, serve, shut down.

use std::net::SocketAddr;

use axum::routing::get;
use axum::{middleware, Router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::auth::ApiBase;
use crate::config::Flavor;
use crate::{
    auth, content, control, extender, limits, oauth1, oauth2, oidc, pat, Shared, SimConfig,
    SimState,
};

/// Everything that is reached with Confluence credentials (REST v1/v2, PATs), behind the auth
/// and rate-limit layers. `base` says which host the request came in on, since Cloud accepts
/// different credentials on the site and on `api.atlassian.com`.
fn api_routes(state: &Shared, base: ApiBase) -> Router<Shared> {
    let mut r = Router::new().merge(content::download_routes());
    match state.flavor() {
        // The fallback answers unrouted v1 paths 410 when the Cloud v1 spec lacks them.
        Flavor::Cloud => {
            r = r
                .nest(
                    "/rest/api",
                    content::v1_routes().merge(content::cloud_v1_routes()),
                )
                .nest("/api/v2", content::v2_routes())
                .fallback(content::gone::v1_fallback)
        }
        Flavor::Dc => {
            r = r
                .nest(
                    "/rest/api",
                    content::v1_routes().merge(content::dc_v1_routes()),
                )
                .nest("/rest/pat/latest", pat::routes())
                .merge(content::moves::dc_action_routes())
                .merge(extender::routes(state))
                .fallback(content::gone::v1_fallback)
        }
    }
    // Layers run outside-in: auth decides who is calling, the limiter meters that caller, then
    // Cloud's removed v1 operations answer 410 (a no-op on DC).
    r.layer(middleware::from_fn_with_state(
        state.clone(),
        content::gone::removed_v1,
    ))
    .layer(middleware::from_fn_with_state(
        state.clone(),
        limits::rate_limit,
    ))
    .layer(middleware::from_fn_with_state(
        (state.clone(), base),
        auth::authenticate,
    ))
}

pub fn router(state: Shared) -> Router {
    let app = match state.flavor() {
        Flavor::Cloud => Router::new()
            .nest("/wiki", api_routes(&state, ApiBase::Site))
            .nest(
                "/ex/confluence/{cloud_id}/wiki",
                api_routes(&state, ApiBase::ApiGateway),
            )
            .route("/_edge/tenant_info", get(auth::tenant_info))
            .merge(oauth2::cloud_routes())
            .merge(content::media::media_routes()),
        Flavor::Dc => {
            let inner = api_routes(&state, ApiBase::Site)
                .merge(oauth1::routes())
                .merge(oauth2::dc_routes())
                .merge(auth::dc_login_routes());
            if state.config.context_path.is_empty() {
                inner
            } else {
                Router::new().nest(&state.config.context_path, inner)
            }
        }
    };
    // Outside any DC context path: the provider is its own host in real life.
    let app = match &state.config.oidc {
        Some(c) => app.merge(oidc::routes(c)),
        None => app,
    };
    let app = if state.config.control_api {
        let mut controls = control::routes();
        if state.oidc.is_some() {
            controls = controls.nest("/oidc", oidc::control::routes());
        }
        app.nest("/__sim", controls)
    } else {
        app
    };
    app.layer(middleware::from_fn_with_state(
        state.clone(),
        limits::faults_and_latency,
    ))
    .with_state(state)
}

/// A simulator serving on a bound address until dropped or `shutdown` is called.
pub struct RunningSim {
    pub addr: SocketAddr,
    pub base_url: String,
    pub state: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningSim {
    /// The JSON line `cfl sim` prints on start so scripts and tests can find it.
    pub fn startup_line(&self) -> serde_json::Value {
        let c = &self.state.config;
        let mut line = serde_json::json!({
            "event": "listening",
            "base_url": self.base_url,
            "flavor": c.flavor.as_str(),
            "addr": self.addr.to_string(),
            "anonymous_access": c.anonymous_access,
        });
        if c.flavor == Flavor::Cloud {
            line["cloud_id"] = c.cloud_id.clone().into();
            line["api_base"] = format!("{}/wiki", self.base_url).into();
            line["gateway_base"] =
                format!("{}/ex/confluence/{}/wiki", self.base_url, c.cloud_id).into();
        } else {
            line["api_base"] = format!("{}{}", self.base_url, c.context_path).into();
        }
        if let (Some(oidc), Some(issuer)) = (&c.oidc, oidc::issuer(&self.state)) {
            line["oidc"] = serde_json::json!({
                "issuer": issuer,
                "discovery": format!("{issuer}/.well-known/openid-configuration"),
                "client_ids": oidc.clients.iter().map(|c| &c.client_id).collect::<Vec<_>>(),
                "users": oidc.users.iter().map(|u| serde_json::json!({
                    "username": u.username, "name": u.name, "groups": u.groups,
                })).collect::<Vec<_>>(),
            });
        }
        line
    }

    /// Stops accepting, finishes in-flight requests, and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Serves until the process is asked to stop (Ctrl-C / SIGTERM).
    pub async fn wait(mut self) -> std::io::Result<()> {
        match self.task.take() {
            Some(task) => task.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
}

/// Binds `listen` (port 0 picks a free port) and serves in the background.
pub async fn start(config: SimConfig, listen: SocketAddr) -> anyhow::Result<RunningSim> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let state = SimState::new(config);
    if let Some(provider) = &state.oidc {
        provider.set_base_url(format!("http://{addr}"));
    }
    let app = router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await
    });
    Ok(RunningSim {
        base_url: format!("http://{addr}"),
        addr,
        state,
        shutdown: Some(tx),
        task: Some(task),
    })
}
