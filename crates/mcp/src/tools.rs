//! [`Tools`]: the tools over one site — the content API, the limits they run under, and the
//! dispatch of a call by name to `read`/`write`, with the checks every tool shares.

use cfl_client::content::{Content, PageRef};
use cfl_client::Client;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::errors::{self, ToolError};
use crate::policy::Policy;

/// The tools over one site: the content API and the limits they run under.
pub struct Tools {
    content: Content<'static>,
    pub(crate) policy: Policy,
}

impl Tools {
    /// The tools for `client` under `policy`. The client lives as long as the process (a server
    /// serves one site until it exits), which lets the content API's space cache outlive calls.
    pub fn new(client: Client, policy: Policy) -> Tools {
        let client: &'static Client = Box::leak(Box::new(client));
        Tools {
            content: Content::new(client),
            policy,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub(crate) fn content(&self) -> &Content<'static> {
        &self.content
    }

    /// Runs the tool `name` with `args`; `Ok` is the tool's JSON answer.
    pub async fn call(&self, name: &str, args: Value) -> Result<Value, ToolError> {
        self.policy.allows_tool(name).map_err(ToolError::Refused)?;
        match name {
            "search" => self.search(args).await,
            "get_page" => self.get_page(args).await,
            "get_page_children" => self.get_page_children(args).await,
            "get_space_tree" => self.get_space_tree(args).await,
            "list_spaces" => self.list_spaces(args).await,
            "get_attachment" => self.get_attachment(args).await,
            "get_labels" => self.get_labels(args).await,
            "create_page" => self.create_page(args).await,
            "update_page" => self.update_page(args).await,
            "add_label" => self.add_label(args).await,
            "add_comment" => self.add_comment(args).await,
            other => Err(ToolError::Refused(format!("there is no tool {other:?}"))),
        }
    }

    /// The text of a failure for the agent (naming the credential used).
    pub fn describe(&self, e: &ToolError) -> String {
        errors::describe(e, &self.content.client.cred)
    }

    /// The arguments of `tool`, or what is wrong with them.
    pub(crate) fn args<T: DeserializeOwned>(
        &self,
        tool: &str,
        args: Value,
    ) -> Result<T, ToolError> {
        let args = if args.is_null() {
            Value::Object(Default::default())
        } else {
            args
        };
        serde_json::from_value(args)
            .map_err(|e| ToolError::Arguments(format!("{tool}: bad arguments: {e}")))
    }

    /// The id of the page `raw` names (an id, a URL or `SPACE:Title`); a title in a space
    /// outside `--spaces` is refused before any lookup.
    pub(crate) async fn resolve(&self, raw: &str) -> Result<String, ToolError> {
        let r = PageRef::parse(raw)?;
        if let PageRef::Title { space, .. } = &r {
            self.check_space(space)?;
        }
        Ok(self.content.resolve(&r).await?)
    }

    pub(crate) fn check_space(&self, key: &str) -> Result<(), ToolError> {
        self.policy.allows_space(key).map_err(ToolError::Refused)
    }

    /// With `--spaces`, checks the space of the page (or Cloud folder) `id`: one request.
    pub(crate) async fn check_container(&self, id: &str) -> Result<(), ToolError> {
        if self.policy.spaces.is_none() {
            return Ok(());
        }
        let space = self.content.container_space(id).await?;
        self.check_space(&space)
    }
}
