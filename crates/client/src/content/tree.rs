//! A space as a tree: pages and — on Cloud — folders, each with its parent. Folders are a Cloud
//! content type without a body; a page's parent may be a folder, and folders nest. Listing a
//! space takes one request per 100 pages on Data Center (v1) and per 250 on Cloud (v2), bodies
//! included when asked; the folders above the pages cost one request each.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::{id_string, segment, Api, Content, ContentError, Page, V2};

/// A Cloud folder.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Folder {
    pub id: String,
    pub title: String,
    /// The page or folder it sits in; `None` at the top of the space.
    pub parent_id: Option<String>,
    /// `page` or `folder`, when there is a parent.
    pub parent_type: Option<String>,
    pub space_key: String,
    pub url: String,
}

/// One entry of a space's tree: a page or a folder, and where it hangs.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TreeNode {
    pub id: String,
    /// `page` or `folder`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub parent_id: Option<String>,
    /// `page` or `folder`, when there is a parent.
    pub parent_type: Option<String>,
    /// The page's version; 0 for folders.
    pub version: u64,
    /// ISO 8601 time of the page's last change, when known.
    pub last_modified: Option<String>,
    /// The storage-format body, when it was asked for (pages only).
    pub body: Option<String>,
}

impl TreeNode {
    pub fn is_folder(&self) -> bool {
        self.kind == "folder"
    }
}

fn parent_of_v2(v: &Value) -> (Option<String>, Option<String>) {
    let id = Some(id_string(&v["parentId"])).filter(|p| !p.is_empty());
    let kind = id
        .as_ref()
        .map(|_| v["parentType"].as_str().unwrap_or("page").to_string());
    (id, kind)
}

impl Content<'_> {
    /// The web address of a Cloud page or folder when the server gave none.
    fn cloud_url(&self, v: &Value, space_key: &str, kind: &str, id: &str) -> String {
        let given = self.web_url(v);
        if !given.is_empty() || space_key.is_empty() {
            return given;
        }
        let what = if kind == "folder" { "folder" } else { "pages" };
        crate::deployment::join(
            self.client.api_base(),
            &format!("spaces/{}/{what}/{}", segment(space_key), segment(id)),
        )
    }

    /// A folder by id (Cloud only).
    pub async fn folder(&self, id: &str) -> crate::error::Result<Folder> {
        if self.api == Api::V1 {
            return Err(ContentError::NotFound(
                "folders exist only on Confluence Cloud; this profile is Data Center".into(),
            ));
        }
        let v = self
            .get_json(&format!("{V2}/folders/{}", segment(id)))
            .await?;
        let space_key = self.space_key(&id_string(&v["spaceId"])).await?;
        let (parent_id, parent_type) = parent_of_v2(&v);
        let id = id_string(&v["id"]);
        Ok(Folder {
            url: self.cloud_url(&v, &space_key, "folder", &id),
            id,
            title: v["title"].as_str().unwrap_or("").to_string(),
            parent_id,
            parent_type,
            space_key,
        })
    }

    /// The space key of a page — or on Cloud of a folder — that is to hold a new page.
    pub async fn container_space(&self, id: &str) -> crate::error::Result<String> {
        match self.page(id, false).await {
            Ok(p) => Ok(p.page.space_key),
            Err(e) if self.api == Api::CloudV2 && is_status(&e, 404) => {
                Ok(self.folder(id).await.map_err(|_| e)?.space_key)
            }
            Err(e) => Err(e),
        }
    }

    /// Cloud: the pages and folders directly under a page or a folder (`direct-children`).
    pub(super) async fn direct_children(
        &self,
        id: &str,
        limit: Option<usize>,
    ) -> crate::error::Result<Vec<Page>> {
        let of_page = format!("{V2}/pages/{}/direct-children", segment(id));
        let all = match self.collect(&of_page, limit).await {
            Ok(all) => all,
            // Not a page: perhaps a folder.
            Err(e) if is_status(&e, 404) => {
                let of_folder = format!("{V2}/folders/{}/direct-children", segment(id));
                self.collect(&of_folder, limit).await.map_err(|e2| {
                    if is_status(&e2, 404) {
                        e
                    } else {
                        e2
                    }
                })?
            }
            Err(e) => return Err(e),
        };
        // `direct-children` says no versions: the child pages' come from one batch read per 250.
        let page_ids: Vec<String> = all
            .iter()
            .filter(|v| v["type"].as_str().unwrap_or("page") == "page")
            .map(|v| id_string(&v["id"]))
            .collect();
        let pages = self.pages_by_id(&page_ids).await?;
        let mut out = Vec::with_capacity(all.len());
        for v in &all {
            let id = id_string(&v["id"]);
            let kind = v["type"].as_str().unwrap_or("page").to_string();
            let full = pages.get(&id).unwrap_or(v);
            let space_key = self.space_key(&id_string(&full["spaceId"])).await?;
            let mut p = self.page_from_v2(full, space_key);
            p.url = self.cloud_url(full, &p.space_key, &kind, &id);
            p.kind = kind;
            out.push(p);
        }
        Ok(out)
    }

    /// Cloud: v2 page objects (no bodies) by id, 250 ids a request.
    async fn pages_by_id(&self, ids: &[String]) -> crate::error::Result<HashMap<String, Value>> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(250) {
            let path = format!("{V2}/pages?{}", super::query(&[("id", &chunk.join(","))]));
            for v in self.collect(&path, None).await? {
                found.insert(id_string(&v["id"]), v);
            }
        }
        Ok(found)
    }

    /// Every current page of the space `space_key` with its parent and version (and body when
    /// `with_bodies`), plus on Cloud every folder above those pages. Parents come before
    /// nothing in particular: build the tree from `parent_id`.
    pub async fn space_tree(
        &self,
        space_key: &str,
        with_bodies: bool,
    ) -> crate::error::Result<Vec<TreeNode>> {
        match self.api {
            Api::V1 => {
                let expand = if with_bodies {
                    "version,ancestors,body.storage"
                } else {
                    "version,ancestors"
                };
                let path = format!(
                    "/rest/api/content?{}",
                    super::query(&[
                        ("spaceKey", space_key),
                        ("type", "page"),
                        ("status", "current"),
                        ("expand", expand),
                    ])
                );
                let all = self.collect(&path, None).await?;
                Ok(all
                    .iter()
                    .map(|v| {
                        let parent_id = v["ancestors"]
                            .as_array()
                            .and_then(|a| a.last())
                            .map(|a| id_string(&a["id"]));
                        TreeNode {
                            id: id_string(&v["id"]),
                            kind: "page".into(),
                            title: v["title"].as_str().unwrap_or("").to_string(),
                            parent_type: parent_id.as_ref().map(|_| "page".to_string()),
                            parent_id,
                            version: v["version"]["number"].as_u64().unwrap_or(0),
                            last_modified: v["version"]["when"].as_str().map(str::to_string),
                            body: v["body"]["storage"]["value"].as_str().map(str::to_string),
                        }
                    })
                    .collect())
            }
            Api::CloudV2 => {
                let space_id = self.space_id(space_key).await?;
                let format = if with_bodies {
                    "&body-format=storage"
                } else {
                    ""
                };
                let path = format!(
                    "{V2}/spaces/{}/pages?status=current{format}",
                    segment(&space_id)
                );
                let all = self.collect(&path, None).await?;
                let mut nodes: Vec<TreeNode> = all
                    .iter()
                    .map(|v| {
                        let (parent_id, parent_type) = parent_of_v2(v);
                        TreeNode {
                            id: id_string(&v["id"]),
                            kind: "page".into(),
                            title: v["title"].as_str().unwrap_or("").to_string(),
                            parent_id,
                            parent_type,
                            version: v["version"]["number"].as_u64().unwrap_or(0),
                            last_modified: v["version"]["createdAt"].as_str().map(str::to_string),
                            body: v["body"]["storage"]["value"].as_str().map(str::to_string),
                        }
                    })
                    .collect();
                self.add_folders(&mut nodes).await?;
                Ok(nodes)
            }
        }
    }

    /// Fetches every folder named as a parent in `nodes` (and their parent folders) into it.
    async fn add_folders(&self, nodes: &mut Vec<TreeNode>) -> crate::error::Result<()> {
        let mut known: HashSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
        let mut todo: Vec<String> = nodes
            .iter()
            .filter(|n| n.parent_type.as_deref() == Some("folder"))
            .filter_map(|n| n.parent_id.clone())
            .collect();
        while let Some(id) = todo.pop() {
            if !known.insert(id.clone()) {
                continue;
            }
            let f = self.folder(&id).await?;
            if f.parent_type.as_deref() == Some("folder") {
                if let Some(p) = &f.parent_id {
                    todo.push(p.clone());
                }
            }
            nodes.push(TreeNode {
                id: f.id,
                kind: "folder".into(),
                title: f.title,
                parent_id: f.parent_id,
                parent_type: f.parent_type,
                version: 0,
                last_modified: None,
                body: None,
            });
        }
        Ok(())
    }
}

/// Whether `e` is a [`ContentError`] with HTTP status `status`.
pub(super) fn is_status(e: &crate::Error, status: u16) -> bool {
    e.status() == Some(status)
}
