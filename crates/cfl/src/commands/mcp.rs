//! `cfl mcp`: Confluence as MCP tools for AI agents (the server is `cfl-mcp`). This file only
//! reads the flags, builds the client from the profile (any auth method; a gateway token through
//! a profile or `CONFLUENCE_URL` + `CONFLUENCE_PAT` pointing at the gateway) and runs the server
//! on stdio or, with `--http`, on a loopback HTTP port.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::anyhow;

use super::{connect, Globals};
use crate::runtime::runtime;

#[derive(clap::Args)]
pub struct McpArgs {
    /// Serve only the read tools: create_page, update_page, add_label and add_comment are
    /// hidden and refused.
    #[arg(long)]
    pub read_only: bool,
    /// Only these spaces (comma-separated keys, e.g. DEV,DOCS): searches are scoped to them and
    /// any page elsewhere is refused.
    #[arg(long, value_delimiter = ',', value_name = "KEY,...")]
    pub spaces: Option<Vec<String>>,
    /// Serve only these tools (comma-separated names, e.g. search,get_page).
    #[arg(long, value_delimiter = ',', value_name = "TOOL,...")]
    pub tools: Option<Vec<String>>,
    /// Serve MCP's streamable HTTP at http://ADDR/mcp instead of stdio (loopback only,
    /// e.g. 127.0.0.1:8765).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
}

pub fn run(a: McpArgs, g: &Globals) -> anyhow::Result<ExitCode> {
    let policy = cfl_mcp::Policy::new(a.read_only, a.spaces, a.tools).map_err(|e| anyhow!(e))?;
    let client = connect::client(g)?;
    let tools = cfl_mcp::Tools::new(client, policy);
    let served = runtime()?.block_on(async move {
        match a.http {
            Some(addr) => {
                cfl_mcp::serve_http(tools, addr, |bound| {
                    eprintln!("cfl mcp: serving MCP at http://{bound}/mcp");
                })
                .await
            }
            None => cfl_mcp::serve_stdio(tools).await,
        }
    });
    served.map_err(|e| anyhow!(e))?;
    Ok(ExitCode::SUCCESS)
}
