//! Footer comments on a page: add one (Data Center: v1 `POST /rest/api/content` with a `comment`
//! type and the page as container; Cloud: v2 `POST /api/v2/footer-comments`).

use serde::Serialize;
use serde_json::json;

use super::{id_string, Api, Content, V2};

/// A comment just added, as the MCP `add_comment` tool reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: String,
    pub page_id: String,
    /// The comment's version (1 for a new one; 0 when the server did not say).
    pub version: u64,
}

impl Content<'_> {
    /// Adds a footer comment with the storage-format `body` to the page `page_id`.
    pub async fn add_comment(&self, page_id: &str, body: &str) -> crate::error::Result<Comment> {
        if body.trim().is_empty() {
            crate::error::invalid!("an empty comment; give the comment's text");
        }
        let v = match self.api {
            Api::V1 => {
                let req = json!({
                    "type": "comment",
                    "container": {"id": page_id, "type": "page"},
                    "body": {"storage": {"value": body, "representation": "storage"}},
                });
                self.call("POST", "/rest/api/content", Some(&req))
                    .await?
                    .json()?
            }
            Api::CloudV2 => {
                let req = json!({
                    "pageId": page_id,
                    "body": {"representation": "storage", "value": body},
                });
                self.call("POST", &format!("{V2}/footer-comments"), Some(&req))
                    .await?
                    .json()?
            }
        };
        Ok(Comment {
            id: id_string(&v["id"]),
            page_id: page_id.to_string(),
            version: v["version"]["number"].as_u64().unwrap_or(0),
        })
    }
}
