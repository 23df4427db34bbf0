//! What the server holds: the pages of a space with versions, ancestors and attachments, listed
//! once up front so the plan needs no request per unchanged page.

use serde_json::Value;

use super::fetch::Fetcher;
use super::tree::{self, Listed, ListedAttachment};
use crate::content::{query, segment};
use crate::paginate;

/// The space key of page `id`.
pub async fn space_of_page(f: &Fetcher, id: &str) -> anyhow::Result<String> {
    let r = f
        .get(&format!("/rest/api/content/{id}?expand=space"), None)
        .await?;
    if r.status == 404 {
        anyhow::bail!("there is no page with id {id} (or you cannot see it)");
    }
    if !r.is_success() {
        anyhow::bail!("reading page {id}: {}", f.client.explain(&r));
    }
    let v = r.json()?;
    v.pointer("/space/key")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("the answer for page {id} names no space"))
}

fn no_space(space: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "there is no space {space:?} (or you cannot see it): check the key with `cfl space list`"
    )
}

/// Every current page of a space with versions, ancestors and attachments.
pub async fn space_pages(f: &Fetcher, space: &str) -> anyhow::Result<Vec<Listed>> {
    let mut url = format!(
        "/rest/api/content?{}",
        query(&[
            ("spaceKey", space),
            ("type", "page"),
            ("status", "current"),
            ("limit", "100"),
            ("expand", "version,ancestors,children.attachment.version"),
        ])
    );
    let mut pages = Vec::new();
    loop {
        let r = f.get(&url, None).await?;
        if r.status == 404 {
            return Err(no_space(space));
        }
        if !r.is_success() {
            anyhow::bail!("listing space {space}: {}", f.client.explain(&r));
        }
        let v = r.json()?;
        for item in v["results"].as_array().into_iter().flatten() {
            if let Some(p) = tree::parse_page(item) {
                pages.push(p);
            }
        }
        match paginate::next_link(r.header("link"), &v) {
            Some(n) => url = paginate::resolve(f.client.api_base(), &n),
            None => break,
        }
    }
    if pages.is_empty() {
        // An unknown key lists nothing rather than failing: ask for the space itself.
        let r = f
            .get(&format!("/rest/api/space/{}", segment(space)), None)
            .await?;
        if r.status == 404 {
            return Err(no_space(space));
        }
    }
    Ok(pages)
}

/// The full attachment list of a page whose embedded list may have been cut short.
pub async fn attachments(f: &Fetcher, id: &str) -> anyhow::Result<Vec<ListedAttachment>> {
    let mut url = format!("/rest/api/content/{id}/child/attachment?limit=100&expand=version");
    let mut out = Vec::new();
    loop {
        let r = f.get(&url, None).await?;
        if !r.is_success() {
            anyhow::bail!("listing attachments of page {id}: {}", f.client.explain(&r));
        }
        let v = r.json()?;
        out.extend(
            v["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(tree::parse_attachment),
        );
        match paginate::next_link(r.header("link"), &v) {
            Some(n) => url = paginate::resolve(f.client.api_base(), &n),
            None => break,
        }
    }
    Ok(out)
}

/// A page's storage body, version and title.
pub struct Body {
    pub storage: String,
    pub version: Option<u64>,
    pub title: Option<String>,
}

pub async fn body(f: &Fetcher, id: &str) -> anyhow::Result<Body> {
    let v = f
        .json(&format!(
            "/rest/api/content/{id}?expand=body.storage,version"
        ))
        .await?;
    Ok(Body {
        storage: v
            .pointer("/body/storage/value")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        version: v.pointer("/version/number").and_then(Value::as_u64),
        title: v["title"].as_str().map(str::to_string),
    })
}
