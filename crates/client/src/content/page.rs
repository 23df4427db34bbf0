//! Pages: get, create, update (the version number handled here; a 409 becomes
//! [`ContentError::Conflict`]), delete (to the trash), children and move (a new parent).
//! Data Center through v1 `/rest/api/content`, Cloud through v2 `/api/v2/pages`.

use serde::Serialize;
use serde_json::{json, Value};

use super::{id_string, segment, Api, Content, ContentError, V2};

/// A page in a list (`page children`, `search`), as `--json` prints it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub id: String,
    /// `page` or `blogpost`.
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub title: String,
    /// Empty when the server did not say (lists without the space expanded).
    pub space_key: String,
    /// 0 when the server did not say.
    pub version: u64,
    /// ISO 8601 time of the last change, when known.
    pub last_modified: Option<String>,
    pub url: String,
}

/// One page with its parent and (when asked for) its storage-format body.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PageDetail {
    #[serde(flatten)]
    pub page: Page,
    pub parent_id: Option<String>,
    /// What the parent is: `page`, or on Cloud also `folder`; absent when there is no parent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_type: Option<String>,
    /// The body in storage format; `null` when it was not fetched.
    pub body: Option<String>,
}

/// What `page update` changes; unset fields keep their current value.
#[derive(Debug, Default, Clone)]
pub struct PageChange {
    pub title: Option<String>,
    pub body: Option<String>,
    pub parent_id: Option<String>,
    /// The version this change was based on (e.g. read with `page get`): the update then fails
    /// with a conflict if anyone saved after it, instead of applying on top of their change.
    pub base_version: Option<u64>,
}

/// What a v1 update sends: the next version number and every field the v1 API requires.
pub fn update_body(current: &PageDetail, change: &PageChange) -> Value {
    let mut v = json!({
        "id": current.page.id,
        "type": if current.page.kind.is_empty() { "page" } else { current.page.kind.as_str() },
        "title": change.title.as_deref().unwrap_or(&current.page.title),
        "version": {"number": change.base_version.unwrap_or(current.page.version) + 1},
    });
    if let Some(b) = &change.body {
        v["body"] = json!({"storage": {"value": b, "representation": "storage"}});
    }
    if let Some(p) = &change.parent_id {
        v["ancestors"] = json!([{"id": p}]);
    }
    v
}

/// What a v2 update sends: v2 requires the status, title and body every time, so `current`
/// must have been read with its body when `change` brings none.
pub fn update_body_v2(current: &PageDetail, change: &PageChange) -> Value {
    let body = change
        .body
        .as_deref()
        .or(current.body.as_deref())
        .unwrap_or("");
    let mut v = json!({
        "id": current.page.id,
        "status": "current",
        "title": change.title.as_deref().unwrap_or(&current.page.title),
        "body": {"representation": "storage", "value": body},
        "version": {"number": change.base_version.unwrap_or(current.page.version) + 1},
    });
    if let Some(p) = &change.parent_id {
        v["parentId"] = json!(p);
    }
    v
}

const DETAIL: &str = "space,version,ancestors";

impl Content<'_> {
    /// A page from a v1 content object.
    pub fn page_from(&self, v: &Value) -> Page {
        Page {
            id: id_string(&v["id"]),
            kind: v["type"].as_str().unwrap_or("").to_string(),
            status: v["status"].as_str().unwrap_or("").to_string(),
            title: v["title"].as_str().unwrap_or("").to_string(),
            space_key: v["space"]["key"].as_str().unwrap_or("").to_string(),
            version: v["version"]["number"].as_u64().unwrap_or(0),
            last_modified: v["version"]["when"].as_str().map(str::to_string),
            url: self.web_url(v),
        }
    }

    /// A page from a v2 page object (which names its space by id: `space_key` says the key).
    pub fn page_from_v2(&self, v: &Value, space_key: String) -> Page {
        Page {
            id: id_string(&v["id"]),
            kind: v["type"].as_str().unwrap_or("page").to_string(),
            status: v["status"].as_str().unwrap_or("").to_string(),
            title: v["title"].as_str().unwrap_or("").to_string(),
            space_key,
            version: v["version"]["number"].as_u64().unwrap_or(0),
            last_modified: v["version"]["createdAt"].as_str().map(str::to_string),
            url: self.web_url(v),
        }
    }

    fn detail_from(&self, v: &Value) -> PageDetail {
        let parent_id = v["ancestors"]
            .as_array()
            .and_then(|a| a.last())
            .map(|a| id_string(&a["id"]));
        PageDetail {
            page: self.page_from(v),
            parent_type: parent_id.as_ref().map(|_| "page".to_string()),
            parent_id,
            body: v["body"]["storage"]["value"].as_str().map(str::to_string),
        }
    }

    async fn detail_from_v2(&self, v: &Value) -> crate::error::Result<PageDetail> {
        let space_key = self.space_key(&id_string(&v["spaceId"])).await?;
        let parent_id = Some(id_string(&v["parentId"])).filter(|p| !p.is_empty());
        Ok(PageDetail {
            page: self.page_from_v2(v, space_key),
            parent_type: parent_id
                .as_ref()
                .map(|_| v["parentType"].as_str().unwrap_or("page").to_string()),
            parent_id,
            body: v["body"]["storage"]["value"].as_str().map(str::to_string),
        })
    }

    /// A page by id, with its storage-format body when `with_body`.
    pub async fn page(&self, id: &str, with_body: bool) -> crate::error::Result<PageDetail> {
        match self.api {
            Api::V1 => {
                let expand = if with_body {
                    format!("{DETAIL},body.storage")
                } else {
                    DETAIL.to_string()
                };
                let v = self
                    .get_json(&format!(
                        "/rest/api/content/{}?expand={expand}",
                        segment(id)
                    ))
                    .await?;
                Ok(self.detail_from(&v))
            }
            Api::CloudV2 => {
                let format = if with_body {
                    "?body-format=storage"
                } else {
                    ""
                };
                match self
                    .get_json(&format!("{V2}/pages/{}{format}", segment(id)))
                    .await
                {
                    Ok(v) => self.detail_from_v2(&v).await,
                    // v2 keeps blog posts apart; a search hit may be one.
                    Err(e) if e.status() == Some(404) => {
                        let v = self
                            .get_json(&format!("{V2}/blogposts/{}{format}", segment(id)))
                            .await
                            .map_err(|_| e)?;
                        let mut d = self.detail_from_v2(&v).await?;
                        d.page.kind = "blogpost".into();
                        Ok(d)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Creates a page in `space` (a key), under `parent_id` (a page, or on Cloud a folder) or
    /// at the top of the space.
    pub async fn create_page(
        &self,
        space: &str,
        title: &str,
        parent_id: Option<&str>,
        body: &str,
    ) -> crate::error::Result<PageDetail> {
        match self.api {
            Api::V1 => {
                let mut req = json!({
                    "type": "page",
                    "title": title,
                    "space": {"key": space},
                    "body": {"storage": {"value": body, "representation": "storage"}},
                });
                if let Some(p) = parent_id {
                    req["ancestors"] = json!([{"id": p}]);
                }
                let v = self
                    .call(
                        "POST",
                        &format!("/rest/api/content?expand={DETAIL}"),
                        Some(&req),
                    )
                    .await?
                    .json()?;
                Ok(self.detail_from(&v))
            }
            Api::CloudV2 => {
                let mut req = json!({
                    "spaceId": self.space_id(space).await?,
                    "status": "current",
                    "title": title,
                    "body": {"representation": "storage", "value": body},
                });
                if let Some(p) = parent_id {
                    req["parentId"] = json!(p);
                }
                let v = self
                    .call("POST", &format!("{V2}/pages"), Some(&req))
                    .await?
                    .json()?;
                self.detail_from_v2(&v).await
            }
        }
    }

    /// PUTs `req` (a page body carrying its next version number) to `path`. A 409 means someone
    /// saved in between: reported as [`ContentError::Conflict`] with the version sent.
    pub(super) async fn put_version(
        &self,
        id: &str,
        path: &str,
        req: &Value,
    ) -> crate::error::Result<crate::http::Response> {
        let sent = req["version"]["number"].as_u64().unwrap_or(0);
        let url = self.client.url(path)?;
        let r = self
            .client
            .send(
                "PUT",
                &url,
                &[("Content-Type".into(), "application/json".into())],
                Some(serde_json::to_vec(req).map_err(|e| crate::Error::internal(&e))?),
            )
            .await?;
        if r.status == 409 {
            return Err(ContentError::Conflict {
                id: id.to_string(),
                sent,
                server: crate::http::error_message(&r.body)
                    .unwrap_or_else(|| "the server answered 409 Conflict".into()),
            });
        }
        if !r.is_success() {
            return Err(self.error(&r));
        }
        Ok(r)
    }

    /// Reads the current version and saves `change` as the next one. A 409 means someone saved
    /// in between: reported as [`ContentError::Conflict`], never retried over their change.
    pub async fn update_page(
        &self,
        id: &str,
        change: &PageChange,
    ) -> crate::error::Result<PageDetail> {
        let (path, req) = match self.api {
            Api::V1 => {
                let current = self.page(id, false).await?;
                (
                    format!("/rest/api/content/{}?expand={DETAIL}", segment(id)),
                    update_body(&current, change),
                )
            }
            Api::CloudV2 => {
                let current = self.page(id, change.body.is_none()).await?;
                (
                    format!("{V2}/pages/{}", segment(id)),
                    update_body_v2(&current, change),
                )
            }
        };
        let r = self.put_version(id, &path, &req).await?;
        match self.api {
            Api::V1 => Ok(self.detail_from(&r.json()?)),
            Api::CloudV2 => self.detail_from_v2(&r.json()?).await,
        }
    }

    /// Moves a page under a new parent (a page, or on Cloud a folder) as its last child. Data
    /// Center: an update that only changes the ancestors (a new version). Cloud: v1's move
    /// (`PUT /rest/api/content/{id}/move/append/{parent}`, which v2 lacks; the version stays).
    pub async fn move_page(&self, id: &str, parent_id: &str) -> crate::error::Result<PageDetail> {
        match self.api {
            Api::V1 => {
                self.update_page(
                    id,
                    &PageChange {
                        parent_id: Some(parent_id.to_string()),
                        ..PageChange::default()
                    },
                )
                .await
            }
            Api::CloudV2 => {
                self.call(
                    "PUT",
                    &format!(
                        "/rest/api/content/{}/move/append/{}",
                        segment(id),
                        segment(parent_id)
                    ),
                    None,
                )
                .await?;
                self.page(id, false).await
            }
        }
    }

    /// Moves a page to the trash (its children move up to its parent).
    pub async fn delete_page(&self, id: &str) -> crate::error::Result<()> {
        let path = match self.api {
            Api::V1 => format!("/rest/api/content/{}", segment(id)),
            Api::CloudV2 => format!("{V2}/pages/{}", segment(id)),
        };
        self.call("DELETE", &path, None).await?;
        Ok(())
    }

    /// The children of a page — on Cloud of a page or a folder, and folders among them (their
    /// `type` is `folder`, their version 0).
    pub async fn children(
        &self,
        id: &str,
        limit: Option<usize>,
    ) -> crate::error::Result<Vec<Page>> {
        match self.api {
            Api::V1 => {
                let all = self
                    .collect(
                        &format!(
                            "/rest/api/content/{}/child/page?expand=space,version",
                            segment(id)
                        ),
                        limit,
                    )
                    .await?;
                Ok(all.iter().map(|v| self.page_from(v)).collect())
            }
            Api::CloudV2 => self.direct_children(id, limit).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_sends_the_next_version_and_keeps_what_is_not_changed() {
        let cur = PageDetail {
            page: Page {
                id: "7".into(),
                kind: "page".into(),
                status: "current".into(),
                title: "Old".into(),
                space_key: "DEV".into(),
                version: 4,
                last_modified: None,
                url: String::new(),
            },
            parent_id: Some("1".into()),
            parent_type: Some("page".into()),
            body: None,
        };
        let v = update_body(&cur, &PageChange::default());
        assert_eq!(v["version"]["number"], 5);
        assert_eq!(v["title"], "Old");
        assert!(v.get("body").is_none() && v.get("ancestors").is_none());
        let v = update_body(
            &cur,
            &PageChange {
                title: Some("New".into()),
                body: Some("<p>x</p>".into()),
                parent_id: Some("9".into()),
                base_version: Some(2),
            },
        );
        assert_eq!(v["title"], "New");
        assert_eq!(v["version"]["number"], 3, "based on version 2");
        assert_eq!(v["body"]["storage"]["value"], "<p>x</p>");
        assert_eq!(v["ancestors"][0]["id"], "9");
    }

    #[test]
    fn a_v2_update_always_sends_status_title_and_body() {
        let cur = PageDetail {
            page: Page {
                id: "7".into(),
                kind: "page".into(),
                status: "current".into(),
                title: "Old".into(),
                space_key: "DEV".into(),
                version: 4,
                last_modified: None,
                url: String::new(),
            },
            parent_id: Some("1".into()),
            parent_type: Some("folder".into()),
            body: Some("<p>kept</p>".into()),
        };
        let v = update_body_v2(&cur, &PageChange::default());
        assert_eq!(v["version"]["number"], 5);
        assert_eq!(v["status"], "current");
        assert_eq!(v["title"], "Old");
        assert_eq!(
            v["body"]["value"], "<p>kept</p>",
            "v2 needs the body every time"
        );
        assert_eq!(v["body"]["representation"], "storage");
        assert!(v.get("parentId").is_none());
        let v = update_body_v2(
            &cur,
            &PageChange {
                body: Some("<p>new</p>".into()),
                parent_id: Some("9".into()),
                base_version: Some(2),
                ..PageChange::default()
            },
        );
        assert_eq!(v["body"]["value"], "<p>new</p>");
        assert_eq!(v["version"]["number"], 3);
        assert_eq!(v["parentId"], "9");
    }
}
