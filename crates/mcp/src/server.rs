//! The MCP side, on `rmcp`: `initialize`, `tools/list` (what the policy lets through),
//! `tools/call` (every failure an `isError` result the agent can read), and pages as resources
//! (`confluence://page/{page}`, the page in Markdown).

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListResourceTemplatesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ResourceContents,
    ResourceTemplate, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use serde_json::{json, Value};

use crate::errors::ToolError;
use crate::tools::Tools;

/// Where page resources live: `confluence://page/` + an id, a URL-less `SPACE:Title`.
const PAGE_URI: &str = "confluence://page/";

const INSTRUCTIONS: &str = "Confluence through cfl. Find pages with `search` (plain words in \
`text`, or CQL), read them with `get_page` (Markdown; long bodies continue at `nextOffset`), \
and follow `cursor` for more list items. Errors explain what Confluence answered.";

/// The MCP server over one set of [`Tools`].
#[derive(Clone)]
pub struct Server {
    tools: Arc<Tools>,
}

impl Server {
    pub fn new(tools: Tools) -> Server {
        Server {
            tools: Arc::new(tools),
        }
    }
}

/// Serves MCP on stdin/stdout until the client closes them.
pub async fn serve_stdio(tools: Tools) -> Result<(), String> {
    let running = Server::new(tools)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("the MCP client did not complete the handshake: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| format!("the MCP server stopped: {e}"))?;
    Ok(())
}

fn text_result(v: &Value) -> CallToolResult {
    let text = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    CallToolResult::success(vec![ContentBlock::text(text)])
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("cfl", env!("CARGO_PKG_VERSION")))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = crate::catalogue::NAMES
            .iter()
            .filter(|n| self.tools.policy().lists(n))
            .filter_map(|n| crate::catalogue::definition(n))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let result = match self.tools.call(&request.name, args).await {
            Ok(v) => text_result(&v),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(self.tools.describe(&e))]),
        };
        Ok(result.into())
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{PAGE_URI}{{page}}"), "confluence-page")
                .with_title("Confluence page")
                .with_description("A page as Markdown; {page} is its id or SPACE:Title.")
                .with_mime_type("text/markdown"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        let Some(page) = uri.strip_prefix(PAGE_URI).filter(|p| !p.is_empty()) else {
            return Err(ErrorData::invalid_params(
                format!("{uri:?} is not a page resource; use {PAGE_URI}<id or SPACE:Title>"),
                None,
            ));
        };
        let page = percent_decode(page);
        let args = json!({"page": page, "limit": crate::sizing::MAX_TEXT_LIMIT});
        match self.tools.call("get_page", args).await {
            Ok(v) => {
                let text = v["body"].as_str().unwrap_or_default().to_string();
                Ok(ReadResourceResult::new(vec![
                    ResourceContents::text(text, uri).with_mime_type("text/markdown")
                ])
                .into())
            }
            Err(e @ ToolError::Arguments(_)) => {
                Err(ErrorData::invalid_params(self.tools.describe(&e), None))
            }
            Err(e) => Err(ErrorData::resource_not_found(self.tools.describe(&e), None)),
        }
    }
}

/// `%20` and friends in a resource URI (clients encode spaces in `SPACE:Title`).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
