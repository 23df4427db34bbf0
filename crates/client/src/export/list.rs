//! What the server holds, listed once up front so the plan needs no request per unchanged
//! page. The paths come from the content layer (`content::bulk`, `Content::space_tree`).
//!
//! Data Center: pages 100 a request with versions, ancestors and attachments (v1). Cloud: pages
//! and folders with parents, versions and bodies, 250 pages a request (v2); attachments are
//! listed (v2, with `downloadLink`) for each page whose body is fetched again.

use std::collections::HashMap;

use super::fetch::Fetcher;
use super::tree::{Listed, ListedAttachment};
use crate::content::{bulk, Api, Content, ContentError};
use crate::paginate;

fn no_space(space: &str) -> crate::Error {
    crate::Error::Invalid(format!(
        "there is no space {space:?} (or you cannot see it): check the key with `cfl space list`"
    ))
}

fn status_of(e: &crate::Error) -> Option<u16> {
    e.status()
}

/// The space key of page (or Cloud folder) `id`.
pub async fn space_of(f: &Fetcher, id: &str) -> crate::error::Result<String> {
    match Content::new(&f.client).container_space(id).await {
        Ok(k) if !k.is_empty() => Ok(k),
        Ok(_) => crate::error::invalid!("the answer for page {id} names no space"),
        Err(e) if status_of(&e) == Some(404) => {
            crate::error::invalid!("there is no page with id {id} (or you cannot see it)")
        }
        Err(e) => Err(e.context(format!("reading page {id}"))),
    }
}

/// Every current page (and on Cloud every folder) of a space.
pub async fn space(f: &Fetcher, api: Api, space: &str) -> crate::error::Result<Vec<Listed>> {
    match api {
        Api::V1 => dc_space(f, space).await,
        Api::CloudV2 => cloud_space(f, space).await,
    }
}

async fn dc_space(f: &Fetcher, space: &str) -> crate::error::Result<Vec<Listed>> {
    let mut url = bulk::dc_space_listing(space);
    let content = Content::with_api(&f.client, Api::V1);
    let mut pages = Vec::new();
    loop {
        let r = f.get(&url, None).await?;
        if r.status == 404 {
            return Err(no_space(space));
        }
        if !r.is_success() {
            return Err(f.client.refusal(&r, &format!("listing space {space}")));
        }
        let v = r.json()?;
        for item in v["results"].as_array().into_iter().flatten() {
            if let Some(p) = bulk::dc_page(&content, item) {
                pages.push(Listed {
                    id: p.id,
                    title: p.title,
                    version: p.version,
                    ancestors: p.ancestors,
                    attachments: p.attachments,
                    attachments_complete: p.attachments_complete,
                    folder: false,
                    body: None,
                });
            }
        }
        match paginate::next_link(r.header("link"), &v) {
            Some(n) => url = paginate::resolve(f.client.api_base(), &n),
            None => break,
        }
    }
    if pages.is_empty() {
        // An unknown key lists nothing rather than failing: ask for the space itself.
        if let Err(e) = Content::new(&f.client).space(space).await {
            return Err(if status_of(&e) == Some(404) {
                no_space(space)
            } else {
                e
            });
        }
    }
    Ok(pages)
}

async fn cloud_space(f: &Fetcher, space: &str) -> crate::error::Result<Vec<Listed>> {
    let content = Content::new(&f.client);
    let nodes = match content.space_tree(space, true).await {
        Ok(n) => n,
        Err(e) if matches!(status_of(&e), Some(404)) || is_not_found(&e) => {
            return Err(no_space(space))
        }
        Err(e) => return Err(e.context(format!("listing space {space}"))),
    };
    let parent: HashMap<&str, &str> = nodes
        .iter()
        .filter_map(|n| n.parent_id.as_deref().map(|p| (n.id.as_str(), p)))
        .collect();
    Ok(nodes
        .iter()
        .map(|n| {
            // Ancestors from the parent links, root first (a cycle cannot loop forever).
            let mut ancestors = Vec::new();
            let mut at = n.id.as_str();
            while let Some(p) = parent.get(at) {
                if ancestors.len() > nodes.len() {
                    break;
                }
                ancestors.push(p.to_string());
                at = p;
            }
            ancestors.reverse();
            Listed {
                id: n.id.clone(),
                title: n.title.clone(),
                version: n.version,
                ancestors,
                attachments: Vec::new(),
                attachments_complete: n.is_folder(),
                folder: n.is_folder(),
                body: n.body.clone(),
            }
        })
        .collect())
}

/// Whether `e` is a lookup that found nothing, under any context added on the way.
fn is_not_found(e: &crate::Error) -> bool {
    match e {
        ContentError::NotFound(_) => true,
        ContentError::Context { source, .. } => is_not_found(source),
        _ => false,
    }
}

/// A page's full attachment list.
pub async fn attachments(
    f: &Fetcher,
    api: Api,
    id: &str,
) -> crate::error::Result<Vec<ListedAttachment>> {
    let mut url = bulk::attachment_listing(api, id);
    let content = Content::with_api(&f.client, api);
    let mut out = Vec::new();
    loop {
        let r = f.get(&url, None).await?;
        if !r.is_success() {
            return Err(f
                .client
                .refusal(&r, &format!("listing attachments of page {id}")));
        }
        let v = r.json()?;
        out.extend(
            v["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| bulk::attachment(&content, a)),
        );
        match paginate::next_link(r.header("link"), &v) {
            Some(n) => url = paginate::resolve(f.client.api_base(), &n),
            None => break,
        }
    }
    Ok(out)
}

/// A Data Center page's storage body, version and title.
pub struct Body {
    pub storage: String,
    pub version: Option<u64>,
    pub title: Option<String>,
}

pub async fn dc_body(f: &Fetcher, id: &str) -> crate::error::Result<Body> {
    let v = f.json(&bulk::dc_page_body(id)).await?;
    Ok(Body {
        storage: v
            .pointer("/body/storage/value")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("")
            .to_string(),
        version: v
            .pointer("/version/number")
            .and_then(serde_json::Value::as_u64),
        title: v["title"].as_str().map(str::to_string),
    })
}
