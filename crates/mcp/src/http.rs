//! `cfl mcp --http ADDR`: the same server over MCP's streamable HTTP at `http://ADDR/mcp`
//! (rmcp's tower service under axum, one session per client). It serves with the profile's
//! credential and asks callers for none, so it listens on loopback only; a remote agent gets a
//! gateway token instead.

use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

use crate::server::Server;
use crate::tools::Tools;

/// Serves MCP over HTTP on `addr` (a loopback address) until the process is stopped;
/// `on_listening` gets the bound address (port 0 picks a free one).
pub async fn serve_http(
    tools: Tools,
    addr: SocketAddr,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    if !addr.ip().is_loopback() {
        return Err(format!(
            "--http {addr}: cfl mcp serves with your credential and no sign-in of its own, so it \
             listens on loopback only (127.0.0.1 or [::1]); give a remote agent a gateway token \
             instead (README: AI agents)"
        ));
    }
    let server = Server::new(tools);
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    on_listening(bound);
    axum::serve(listener, router)
        .await
        .map_err(|e| format!("the MCP HTTP server stopped: {e}"))
}
