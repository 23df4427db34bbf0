//! The read tools, each one or a few content-layer calls: `search`, `get_page`,
//! `get_page_children`, `get_space_tree`, `list_spaces`, `get_attachment`, `get_labels`.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::errors::ToolError;
use crate::policy::text_query;
use crate::sizing::{window, Slice};
use crate::tools::Tools;

/// Attachments larger than this are described, not read (a model cannot use megabytes of text).
const MAX_TEXT_ATTACHMENT: u64 = 5 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    text: Option<String>,
    cql: Option<String>,
    space: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageArgs {
    page: String,
    format: Option<String>,
    offset: Option<usize>,
    limit: Option<usize>,
    cursor: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpaceArgs {
    space: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `format`: Markdown (the default) or storage.
pub(crate) fn wants_storage(format: Option<&str>) -> Result<bool, ToolError> {
    match format.map(str::trim) {
        None | Some("") | Some("markdown") => Ok(false),
        Some("storage") => Ok(true),
        Some(other) => Err(ToolError::Arguments(format!(
            "format {other:?} is not one of markdown, storage"
        ))),
    }
}

fn slice(cursor: Option<&str>, limit: Option<usize>) -> Result<Slice, ToolError> {
    Slice::parse(cursor, limit).map_err(ToolError::Arguments)
}

impl Tools {
    pub(crate) async fn search(&self, args: Value) -> Result<Value, ToolError> {
        let a: SearchArgs = self.args("search", args)?;
        let cql = match (
            a.cql.as_deref().map(str::trim),
            a.text.as_deref().map(str::trim),
        ) {
            (Some(cql), _) if !cql.is_empty() => cql.to_string(),
            (_, Some(text)) if !text.is_empty() => match &a.space {
                Some(space) => format!(
                    "space = {} and {}",
                    crate::policy::quote(space),
                    text_query(text)
                ),
                None => text_query(text),
            },
            _ => {
                return Err(ToolError::Arguments(
                    "search needs `text` (plain words) or `cql` (a CQL query)".into(),
                ))
            }
        };
        let s = slice(a.cursor.as_deref(), a.limit)?;
        let cql = self.policy.scope_cql(&cql);
        let found = self.content().search(&cql, Some(s.fetch())).await?;
        // The scoped CQL already keeps other spaces out; this drops any the server let through.
        let found = found
            .into_iter()
            .filter(|p| p.space_key.is_empty() || self.policy.allows_space(&p.space_key).is_ok())
            .collect();
        Ok(json!({"cql": cql, "results": s.take(found)}))
    }

    pub(crate) async fn get_page(&self, args: Value) -> Result<Value, ToolError> {
        let a: PageArgs = self.args("get_page", args)?;
        let storage = wants_storage(a.format.as_deref())?;
        let id = self.resolve(&a.page).await?;
        let detail = self.content().page(&id, true).await?;
        self.check_space(&detail.page.space_key)?;
        let raw = detail.body.clone().unwrap_or_default();
        let body = if storage {
            raw
        } else {
            cfl_markdown::to_markdown(&raw, &cfl_markdown::Links::default())
        };
        let w = window(&body, a.offset.unwrap_or(0), a.limit);
        let mut v = serde_json::to_value(&detail).map_err(internal)?;
        v["format"] = json!(if storage { "storage" } else { "markdown" });
        v["body"] = json!(w.text);
        v["offset"] = json!(w.offset);
        v["totalChars"] = json!(w.total_chars);
        if let Some(n) = w.next_offset {
            v["nextOffset"] = json!(n);
        }
        Ok(v)
    }

    pub(crate) async fn get_page_children(&self, args: Value) -> Result<Value, ToolError> {
        let a: PageArgs = self.args("get_page_children", args)?;
        let s = slice(a.cursor.as_deref(), a.limit)?;
        let id = self.resolve(&a.page).await?;
        self.check_container(&id).await?;
        let children = self.content().children(&id, Some(s.fetch())).await?;
        Ok(json!({"parentId": id, "children": s.take(children)}))
    }

    pub(crate) async fn get_space_tree(&self, args: Value) -> Result<Value, ToolError> {
        let a: SpaceArgs = self.args("get_space_tree", args)?;
        let space = a
            .space
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| ToolError::Arguments("get_space_tree needs `space` (a key)".into()))?;
        self.check_space(&space)?;
        let s = slice(a.cursor.as_deref(), a.limit)?;
        let mut nodes = self.content().space_tree(&space, false).await?;
        // Parents first, then by title, so slices are stable between calls.
        nodes.sort_by(|x, y| {
            x.parent_id
                .is_some()
                .cmp(&y.parent_id.is_some())
                .then(x.title.cmp(&y.title))
        });
        let nodes: Vec<Value> = nodes
            .iter()
            .map(|n| json!({"id": n.id, "type": n.kind, "title": n.title, "parentId": n.parent_id}))
            .collect();
        Ok(json!({"space": space, "total": nodes.len(), "nodes": s.take(nodes)}))
    }

    pub(crate) async fn list_spaces(&self, args: Value) -> Result<Value, ToolError> {
        let a: SpaceArgs = self.args("list_spaces", args)?;
        if a.space.is_some() {
            return Err(ToolError::Arguments("list_spaces takes no `space`".into()));
        }
        let s = slice(a.cursor.as_deref(), a.limit)?;
        // With --spaces the filter runs after fetching, so fetch them all to slice correctly.
        let fetch = self.policy.spaces.is_none().then(|| s.fetch());
        let spaces: Vec<_> = self
            .content()
            .spaces(fetch)
            .await?
            .into_iter()
            .filter(|sp| self.policy.allows_space(&sp.key).is_ok())
            .collect();
        Ok(json!({"spaces": s.take(spaces)}))
    }

    pub(crate) async fn get_labels(&self, args: Value) -> Result<Value, ToolError> {
        let a: PageArgs = self.args("get_labels", args)?;
        let id = self.resolve(&a.page).await?;
        self.check_container(&id).await?;
        let labels = self.content().labels(&id).await?;
        Ok(json!({"pageId": id, "labels": labels}))
    }

    pub(crate) async fn get_attachment(&self, args: Value) -> Result<Value, ToolError> {
        let a: PageArgs = self.args("get_attachment", args)?;
        let id = self.resolve(&a.page).await?;
        self.check_container(&id).await?;
        let Some(name) = a.name.filter(|n| !n.trim().is_empty()) else {
            let s = slice(a.cursor.as_deref(), a.limit)?;
            let list = self.content().attachments(&id, Some(s.fetch())).await?;
            return Ok(json!({"pageId": id, "attachments": s.take(list)}));
        };
        let meta = self
            .content()
            .attachment_named(&id, &name)
            .await?
            .ok_or_else(|| {
                ToolError::Arguments(format!(
                    "page {id} has no attachment named {name:?}; call get_attachment without \
                     `name` to list them"
                ))
            })?;
        let mut v = serde_json::to_value(&meta).map_err(internal)?;
        if !is_text(&meta.media_type) {
            v["content"] = json!(null);
            v["note"] = json!(format!(
                "{} is not a text type; only its metadata is returned",
                meta.media_type
            ));
            return Ok(v);
        }
        if meta.file_size > MAX_TEXT_ATTACHMENT {
            v["content"] = json!(null);
            v["note"] = json!("too large to read here (over 5 MiB); only its metadata is returned");
            return Ok(v);
        }
        let dir = tempfile::tempdir().map_err(|e| {
            ToolError::Content(cfl_client::Error::Internal(format!(
                "cannot make a temporary directory for the download: {e}"
            )))
        })?;
        let (path, _) = self.content().download(&id, &name, dir.path()).await?;
        let bytes = std::fs::read(&path).map_err(|e| {
            ToolError::Content(cfl_client::Error::Internal(format!(
                "cannot read the downloaded attachment: {e}"
            )))
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let w = window(&text, a.offset.unwrap_or(0), a.limit);
        v["content"] = json!(w.text);
        v["offset"] = json!(w.offset);
        v["totalChars"] = json!(w.total_chars);
        if let Some(n) = w.next_offset {
            v["nextOffset"] = json!(n);
        }
        Ok(v)
    }
}

/// Media types whose bytes a model can read as text.
fn is_text(media_type: &str) -> bool {
    let m = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    m.starts_with("text/")
        || m.ends_with("+json")
        || m.ends_with("+xml")
        || matches!(
            m.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-yaml"
                | "application/yaml"
                | "application/toml"
                | "application/x-sh"
                | "application/sql"
                | "application/csv"
        )
}

pub(crate) fn internal(e: serde_json::Error) -> ToolError {
    ToolError::Content(cfl_client::Error::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_are_read_and_others_described() {
        for t in [
            "text/plain",
            "text/markdown; charset=utf-8",
            "application/json",
            "application/vnd.api+json",
            "image/svg+xml",
        ] {
            assert!(is_text(t), "{t}");
        }
        for t in [
            "image/png",
            "application/pdf",
            "application/octet-stream",
            "",
        ] {
            assert!(!is_text(t), "{t}");
        }
    }

    #[test]
    fn format_is_markdown_unless_storage_is_asked_for() {
        assert!(!wants_storage(None).unwrap());
        assert!(!wants_storage(Some("markdown")).unwrap());
        assert!(wants_storage(Some("storage")).unwrap());
        assert!(wants_storage(Some("html")).is_err());
    }
}
