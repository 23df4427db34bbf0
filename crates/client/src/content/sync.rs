//! What syncing a directory as a page tree (`cfl publish DIR`) needs beyond the daily calls:
//! the space's pages with their sibling positions and bodies in one listing, content properties
//! (how publish marks the pages it manages), sibling reordering, Cloud folders and archiving.
//! Data Center through v1 (reordering through the `movepage.action` the web UI uses, as DC's
//! REST API has no move), Cloud through v2 (v1 where v2 has no equivalent: move, archive).

use std::collections::HashSet;

use serde_json::{json, Value};

use super::page::{update_body, update_body_v2, PageChange, PageDetail};
use super::{id_string, query, segment, Api, Content, ContentError, Page, V2};

/// One page or folder of a space, with where it hangs and where among its siblings.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncNode {
    pub id: String,
    /// `page` or `folder`.
    pub kind: String,
    pub title: String,
    pub parent_id: Option<String>,
    /// 0 for folders.
    pub version: u64,
    /// The position among its siblings, when the server says.
    pub position: Option<i64>,
    /// The storage-format body (pages only).
    pub body: Option<String>,
}

impl SyncNode {
    pub fn is_folder(&self) -> bool {
        self.kind == "folder"
    }
}

/// Where a page goes relative to a sibling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Before,
    After,
}

fn position_of(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl Content<'_> {
    /// Every current page of the space with parent, version, sibling position and body (one
    /// request per 100 pages on Data Center, per 250 on Cloud), plus on Cloud the folders above
    /// them (one request each).
    pub async fn sync_listing(&self, space_key: &str) -> crate::error::Result<Vec<SyncNode>> {
        match self.api {
            Api::V1 => {
                let path = format!(
                    "/rest/api/content?{}",
                    query(&[
                        ("spaceKey", space_key),
                        ("type", "page"),
                        ("status", "current"),
                        ("expand", "version,ancestors,body.storage"),
                    ])
                );
                let all = self.collect(&path, None).await?;
                Ok(all
                    .iter()
                    .map(|v| SyncNode {
                        id: id_string(&v["id"]),
                        kind: "page".into(),
                        title: v["title"].as_str().unwrap_or("").to_string(),
                        parent_id: v["ancestors"]
                            .as_array()
                            .and_then(|a| a.last())
                            .map(|a| id_string(&a["id"])),
                        version: v["version"]["number"].as_u64().unwrap_or(0),
                        position: position_of(&v["extensions"]["position"]),
                        body: v["body"]["storage"]["value"].as_str().map(str::to_string),
                    })
                    .collect())
            }
            Api::CloudV2 => {
                let space_id = self.space_id(space_key).await?;
                let path = format!(
                    "{V2}/spaces/{}/pages?status=current&body-format=storage",
                    segment(&space_id)
                );
                let all = self.collect(&path, None).await?;
                let mut nodes: Vec<SyncNode> = all.iter().map(node_v2).collect();
                let mut known: HashSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
                let mut folders: Vec<String> = all
                    .iter()
                    .filter(|v| v["parentType"].as_str() == Some("folder"))
                    .map(|v| id_string(&v["parentId"]))
                    .collect();
                while let Some(id) = folders.pop() {
                    if id.is_empty() || !known.insert(id.clone()) {
                        continue;
                    }
                    let v = self
                        .get_json(&format!("{V2}/folders/{}", segment(&id)))
                        .await?;
                    if v["parentType"].as_str() == Some("folder") {
                        folders.push(id_string(&v["parentId"]));
                    }
                    let mut n = node_v2(&v);
                    n.kind = "folder".into();
                    n.body = None;
                    nodes.push(n);
                }
                Ok(nodes)
            }
        }
    }

    /// The value of the content property `key` of page `id`, if it has one.
    pub async fn page_property(&self, id: &str, key: &str) -> crate::error::Result<Option<Value>> {
        match self.api {
            Api::V1 => {
                let path = format!(
                    "/rest/api/content/{}/property/{}",
                    segment(id),
                    segment(key)
                );
                match self.get_json(&path).await {
                    Ok(v) => Ok(Some(v["value"].clone())),
                    Err(e) if super::tree::is_status(&e, 404) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            Api::CloudV2 => {
                let path = format!(
                    "{V2}/pages/{}/properties?{}",
                    segment(id),
                    query(&[("key", key)])
                );
                let v = self.get_json(&path).await?;
                Ok(v["results"]
                    .as_array()
                    .and_then(|a| a.iter().find(|p| p["key"].as_str() == Some(key)))
                    .map(|p| p["value"].clone()))
            }
        }
    }

    /// Adds the content property `key` to page `id` (which must not have it yet).
    pub async fn add_page_property(
        &self,
        id: &str,
        key: &str,
        value: &Value,
    ) -> crate::error::Result<()> {
        let path = match self.api {
            Api::V1 => format!("/rest/api/content/{}/property", segment(id)),
            Api::CloudV2 => format!("{V2}/pages/{}/properties", segment(id)),
        };
        self.call("POST", &path, Some(&json!({"key": key, "value": value})))
            .await?;
        Ok(())
    }

    /// Puts page `id` just before or after its sibling `target` (same parent). Data Center: the
    /// web UI's `movepage.action` (DC has no REST move); Cloud: v1's move. The version stays.
    pub async fn place_page(
        &self,
        id: &str,
        place: Place,
        target: &str,
    ) -> crate::error::Result<()> {
        match self.api {
            Api::V1 => {
                let position = match place {
                    Place::Before => "above",
                    Place::After => "below",
                };
                let path = format!(
                    "/pages/movepage.action?{}",
                    query(&[("pageId", id), ("targetId", target), ("position", position)])
                );
                self.call("POST", &path, None).await?;
            }
            Api::CloudV2 => {
                let position = match place {
                    Place::Before => "before",
                    Place::After => "after",
                };
                let path = format!(
                    "/rest/api/content/{}/move/{position}/{}",
                    segment(id),
                    segment(target)
                );
                self.call("PUT", &path, None).await?;
            }
        }
        Ok(())
    }

    /// Creates a Cloud folder in `space` under `parent_id` (a page or folder) or at the top.
    pub async fn create_folder(
        &self,
        space: &str,
        title: &str,
        parent_id: Option<&str>,
    ) -> crate::error::Result<SyncNode> {
        if self.api == Api::V1 {
            return Err(ContentError::NotFound(
                "folders exist only on Confluence Cloud; this profile is Data Center".into(),
            ));
        }
        let mut req = json!({"spaceId": self.space_id(space).await?, "title": title});
        if let Some(p) = parent_id {
            req["parentId"] = json!(p);
        }
        let v = self
            .call("POST", &format!("{V2}/folders"), Some(&req))
            .await?
            .json()?;
        let mut n = node_v2(&v);
        n.kind = "folder".into();
        Ok(n)
    }

    /// Archives pages (Cloud only: v1 `POST /rest/api/content/archive`, which v2 lacks; Data
    /// Center has no REST call for it).
    pub async fn archive_pages(&self, ids: &[String]) -> crate::error::Result<()> {
        if self.api == Api::V1 {
            return Err(ContentError::NotFound(
                "Data Center has no REST call to archive pages: use --orphans delete or keep"
                    .into(),
            ));
        }
        // The description types the ids as int64: send numbers, not the strings v2 uses.
        let pages = ids
            .iter()
            .map(|id| {
                id.parse::<u64>().map(|n| json!({"id": n})).map_err(|_| {
                    crate::Error::Invalid(format!("cannot archive page {id:?}: not a page id"))
                })
            })
            .collect::<crate::error::Result<Vec<Value>>>()?;
        self.call(
            "POST",
            "/rest/api/content/archive",
            Some(&json!({"pages": pages})),
        )
        .await?;
        Ok(())
    }
}

impl SyncNode {
    /// The page as [`Content::update_listed`] needs it (what the listing said).
    pub fn detail(&self, space_key: &str) -> PageDetail {
        PageDetail {
            page: Page {
                id: self.id.clone(),
                kind: "page".into(),
                status: "current".into(),
                title: self.title.clone(),
                space_key: space_key.to_string(),
                version: self.version,
                last_modified: None,
                url: String::new(),
            },
            parent_id: self.parent_id.clone(),
            parent_type: None,
            body: self.body.clone(),
        }
    }
}

impl Content<'_> {
    /// Saves `change` over `listed` (a page as a listing gave it: id, title, version, body)
    /// without reading it again: the version sent is the listed one + 1, so a save by someone
    /// else since the listing is a [`ContentError::Conflict`], as with [`Content::update_page`].
    pub async fn update_listed(
        &self,
        listed: &PageDetail,
        change: &PageChange,
    ) -> crate::error::Result<()> {
        let id = &listed.page.id;
        let (path, req) = match self.api {
            Api::V1 => (
                format!("/rest/api/content/{}", segment(id)),
                update_body(listed, change),
            ),
            Api::CloudV2 => (
                format!("{V2}/pages/{}", segment(id)),
                update_body_v2(listed, change),
            ),
        };
        self.put_version(id, &path, &req).await?;
        Ok(())
    }
}

fn node_v2(v: &Value) -> SyncNode {
    SyncNode {
        id: id_string(&v["id"]),
        kind: "page".into(),
        title: v["title"].as_str().unwrap_or("").to_string(),
        parent_id: Some(id_string(&v["parentId"])).filter(|p| !p.is_empty()),
        version: v["version"]["number"].as_u64().unwrap_or(0),
        position: position_of(&v["position"]),
        body: v["body"]["storage"]["value"].as_str().map(str::to_string),
    }
}
