//! `cfl mcp`: Confluence as Model Context Protocol tools for AI agents, on the official Rust SDK
//! (`rmcp`) over stdio.
//!
//! Every tool goes through `cfl_client::content` (Cloud speaks v2, Data Center v1), so an agent
//! gets the same typed results as `cfl --json`, from any profile and auth method — or through a
//! gateway token, whose rules the gateway enforces and audits again. This crate adds what a model
//! needs on top: results sized for a context window (`sizing`), the `--read-only`, `--spaces`
//! and `--tools` limits checked before any request (`policy`), and failures as tool errors that
//! say what Confluence answered (`errors`). `catalogue` lists the tools, `tools` holds the site
//! and dispatches calls to `read`/`write`, `server` is the MCP side (tools and
//! `confluence://page/…` resources) over stdio, `http` the same over streamable HTTP on loopback.

mod catalogue;
mod errors;
mod http;
mod policy;
mod read;
mod server;
mod sizing;
mod tools;
mod write;

pub use errors::ToolError;
pub use http::serve_http;
pub use policy::Policy;
pub use server::{serve_stdio, Server};
pub use tools::Tools;
