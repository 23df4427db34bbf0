//! A failed tool call as the agent reads it: an MCP tool error (`isError: true`) whose text
//! says what Confluence (or the gateway in front of it) answered and what to do, never a
//! JSON-RPC error or a crash.

use cfl_client::content::ContentError;
use cfl_client::Credential;

/// Why a tool call failed.
#[derive(Debug)]
pub enum ToolError {
    /// Refused by this server's own flags (`--read-only`, `--spaces`, `--tools`).
    Refused(String),
    /// The arguments cannot be used as given.
    Arguments(String),
    /// Confluence, the gateway or the transport failed.
    Content(ContentError),
}

impl From<ContentError> for ToolError {
    fn from(e: ContentError) -> Self {
        ToolError::Content(e)
    }
}

/// The text of `e` for the agent; `cred` names which credential was used.
pub fn describe(e: &ToolError, cred: &Credential) -> String {
    match e {
        ToolError::Refused(m) | ToolError::Arguments(m) => m.clone(),
        ToolError::Content(c) => describe_content(c, cred),
    }
}

fn describe_content(e: &ContentError, cred: &Credential) -> String {
    let who = match &cred.profile {
        Some(p) => format!("the {} credential of profile {p:?}", cred.method),
        None => format!("the {} credential from CONFLUENCE_* variables", cred.method),
    };
    match e {
        ContentError::Http {
            status: 401,
            explanation,
        } => format!(
            "Confluence at {} refused {who} (HTTP 401); the person running `cfl mcp` must sign in \
             again, the agent cannot fix this.\n{explanation}",
            cred.api_base
        ),
        ContentError::Http {
            status: 403,
            explanation,
        } => format!("refused (HTTP 403) for {who}: the credential may not do this. {explanation}"),
        ContentError::Http {
            status: 404,
            explanation,
        } => format!(
            "not found (HTTP 404): the page, space or attachment does not exist or {who} cannot \
             see it. {explanation}"
        ),
        ContentError::Http {
            status: 410,
            explanation,
        } => format!("Confluence no longer offers this operation (HTTP 410 Gone): {explanation}"),
        ContentError::RateLimited(m) => format!(
            "Confluence kept rate-limiting after cfl waited and retried as it asked: {m} Try \
             again later, with fewer calls."
        ),
        ContentError::Conflict { id, sent, server } => format!(
            "page {id} was changed by someone else meanwhile (this update was based on version \
             {}; {server}). Nothing was saved. Call get_page again, apply the change to the \
             current body, and call update_page with the new `version` as baseVersion.",
            sent.saturating_sub(1)
        ),
        other => other.to_string(),
    }
}
