//! Spaces: list (paginated) and get by key.

use serde::Serialize;
use serde_json::Value;

use super::{id_string, segment, Content};

/// A space, as `cfl space list|get --json` prints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Space {
    pub id: String,
    pub key: String,
    pub name: String,
    /// `global` or `personal`.
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    /// The home page's id, when the server says.
    pub homepage_id: Option<String>,
    pub url: String,
}

impl Content<'_> {
    fn space_from(&self, v: &Value) -> Space {
        let homepage = v["homepage"]["id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                // Unexpanded: `_expandable.homepage` is `/rest/api/content/ID`.
                v["_expandable"]["homepage"]
                    .as_str()
                    .and_then(|p| p.rsplit('/').next())
                    .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                    .map(str::to_string)
            });
        Space {
            id: id_string(&v["id"]),
            key: v["key"].as_str().unwrap_or("").to_string(),
            name: v["name"].as_str().unwrap_or("").to_string(),
            kind: v["type"].as_str().unwrap_or("").to_string(),
            status: v["status"].as_str().unwrap_or("current").to_string(),
            homepage_id: homepage,
            url: self.web_url(v),
        }
    }

    /// Spaces the caller can see, up to `limit` (all when `None`).
    pub async fn spaces(&self, limit: Option<usize>) -> anyhow::Result<Vec<Space>> {
        let all = self.collect("/rest/api/space", limit).await?;
        Ok(all.iter().map(|v| self.space_from(v)).collect())
    }

    pub async fn space(&self, key: &str) -> anyhow::Result<Space> {
        let v = self
            .get_json(&format!("/rest/api/space/{}?expand=homepage", segment(key)))
            .await?;
        Ok(self.space_from(&v))
    }
}
