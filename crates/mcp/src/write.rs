//! The write tools (refused under `--read-only` before they get here): `create_page`,
//! `update_page` (the version handled by the content layer; a 409 explained in `errors`),
//! `add_label`, `add_comment`. Bodies arrive as Markdown and leave as storage format.

use cfl_client::content::page::PageChange;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::errors::ToolError;
use crate::read::{internal, wants_storage};
use crate::tools::Tools;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateArgs {
    space: String,
    title: String,
    body: String,
    parent: Option<String>,
    format: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateArgs {
    page: String,
    body: Option<String>,
    title: Option<String>,
    base_version: Option<u64>,
    format: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelArgs {
    page: String,
    labels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentArgs {
    page: String,
    body: String,
    format: Option<String>,
}

/// The storage-format body of `body` (Markdown unless `format` says storage); a leading
/// `# Title` equal to the page title is dropped, as Confluence shows the title already.
fn storage_body(
    body: &str,
    format: Option<&str>,
    title: Option<&str>,
) -> Result<String, ToolError> {
    if wants_storage(format)? {
        return Ok(body.to_string());
    }
    Ok(match title {
        Some(t) => cfl_markdown::to_storage_titled(body, t).body,
        None => cfl_markdown::to_storage(body).body,
    })
}

/// What a write returns: the page as it is now, without its body.
fn saved(detail: &cfl_client::content::PageDetail) -> Result<Value, ToolError> {
    let mut v = serde_json::to_value(detail).map_err(internal)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("body");
    }
    Ok(v)
}

impl Tools {
    pub(crate) async fn create_page(&self, args: Value) -> Result<Value, ToolError> {
        let a: CreateArgs = self.args("create_page", args)?;
        if a.title.trim().is_empty() {
            return Err(ToolError::Arguments(
                "create_page needs a non-empty `title`".into(),
            ));
        }
        self.check_space(&a.space)?;
        let parent = match a.parent.as_deref().filter(|p| !p.trim().is_empty()) {
            Some(p) => {
                let id = self.resolve(p).await?;
                let space = self.content().container_space(&id).await?;
                if space != a.space {
                    return Err(ToolError::Arguments(format!(
                        "the parent {p:?} is in space {space}, not {}; give a parent in the same space",
                        a.space
                    )));
                }
                Some(id)
            }
            None => None,
        };
        let body = storage_body(&a.body, a.format.as_deref(), Some(&a.title))?;
        let detail = self
            .content()
            .create_page(&a.space, a.title.trim(), parent.as_deref(), &body)
            .await?;
        saved(&detail)
    }

    pub(crate) async fn update_page(&self, args: Value) -> Result<Value, ToolError> {
        let a: UpdateArgs = self.args("update_page", args)?;
        if a.body.is_none() && a.title.is_none() {
            return Err(ToolError::Arguments(
                "update_page needs `body` and/or `title` to change".into(),
            ));
        }
        let id = self.resolve(&a.page).await?;
        self.check_container(&id).await?;
        let title = a.title.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let body = match &a.body {
            Some(b) => Some(storage_body(b, a.format.as_deref(), title)?),
            None => None,
        };
        let change = PageChange {
            title: title.map(str::to_string),
            body,
            parent_id: None,
            base_version: a.base_version,
        };
        let detail = self.content().update_page(&id, &change).await?;
        saved(&detail)
    }

    pub(crate) async fn add_label(&self, args: Value) -> Result<Value, ToolError> {
        let a: LabelArgs = self.args("add_label", args)?;
        if a.labels.is_empty() {
            return Err(ToolError::Arguments(
                "add_label needs at least one label".into(),
            ));
        }
        let id = self.resolve(&a.page).await?;
        self.check_container(&id).await?;
        let labels = self.content().add_labels(&id, &a.labels).await?;
        Ok(json!({"pageId": id, "labels": labels}))
    }

    pub(crate) async fn add_comment(&self, args: Value) -> Result<Value, ToolError> {
        let a: CommentArgs = self.args("add_comment", args)?;
        let id = self.resolve(&a.page).await?;
        self.check_container(&id).await?;
        let body = storage_body(&a.body, a.format.as_deref(), None)?;
        let comment = self.content().add_comment(&id, &body).await?;
        serde_json::to_value(comment).map_err(internal)
    }
}
