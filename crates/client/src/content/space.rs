//! Spaces: list (paginated) and get by key. Cloud v2 addresses spaces by id, so this file also
//! maps keys to ids and back (`?keys=KEY`, `/spaces/{id}`), remembered within the [`Content`].

use serde::Serialize;
use serde_json::Value;

use super::{id_string, query, segment, Api, Content, ContentError, V2};

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
            // v2 names it `homepageId`.
            .or_else(|| v["homepageId"].as_str().map(str::to_string))
            .or_else(|| {
                // Unexpanded v1: `_expandable.homepage` is `/rest/api/content/ID`.
                v["_expandable"]["homepage"]
                    .as_str()
                    .and_then(|p| p.rsplit('/').next())
                    .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                    .map(str::to_string)
            });
        let s = Space {
            id: id_string(&v["id"]),
            key: v["key"].as_str().unwrap_or("").to_string(),
            name: v["name"].as_str().unwrap_or("").to_string(),
            kind: v["type"].as_str().unwrap_or("").to_string(),
            status: v["status"].as_str().unwrap_or("current").to_string(),
            homepage_id: homepage,
            url: self.web_url(v),
        };
        self.remember_space(&s.key, &s.id);
        s
    }

    /// Spaces the caller can see, up to `limit` (all when `None`).
    pub async fn spaces(&self, limit: Option<usize>) -> crate::error::Result<Vec<Space>> {
        let path = match self.api {
            Api::V1 => "/rest/api/space".to_string(),
            Api::CloudV2 => format!("{V2}/spaces"),
        };
        let all = self.collect(&path, limit).await?;
        Ok(all.iter().map(|v| self.space_from(v)).collect())
    }

    pub async fn space(&self, key: &str) -> crate::error::Result<Space> {
        match self.api {
            Api::V1 => {
                let v = self
                    .get_json(&format!("/rest/api/space/{}?expand=homepage", segment(key)))
                    .await?;
                Ok(self.space_from(&v))
            }
            Api::CloudV2 => {
                let v = self
                    .get_json(&format!("{V2}/spaces?{}", query(&[("keys", key)])))
                    .await?;
                let found = v["results"]
                    .as_array()
                    .and_then(|a| a.iter().find(|s| s["key"].as_str() == Some(key)));
                match found {
                    Some(s) => Ok(self.space_from(s)),
                    None => Err(ContentError::NotFound(format!(
                        "there is no space {key:?} (or you cannot see it); space keys are case \
                         sensitive: see `cfl space list`"
                    ))),
                }
            }
        }
    }

    /// The v2 id of the space `key` (Cloud), looked up once per [`Content`].
    pub async fn space_id(&self, key: &str) -> crate::error::Result<String> {
        if let Some(id) = self.known_space_id(key) {
            return Ok(id);
        }
        Ok(self.space(key).await?.id)
    }

    /// The key of the space with v2 id `id` (Cloud), looked up once per [`Content`]; empty when
    /// the space cannot be read.
    pub async fn space_key(&self, id: &str) -> crate::error::Result<String> {
        if id.is_empty() {
            return Ok(String::new());
        }
        if let Some(key) = self.known_space_key(id) {
            return Ok(key);
        }
        let v = self
            .get_json(&format!("{V2}/spaces/{}", segment(id)))
            .await?;
        Ok(self.space_from(&v).key)
    }
}
