//! What `cfl export` needs beyond the daily commands, per flavour. Export sends these requests
//! itself, through its adaptive limiter (`crate::export`), so this module gives the paths and
//! reads the answers rather than sending: the paths stay here, in the content layer.
//!
//! Data Center lists a space 100 pages a request with versions, ancestors and the first
//! attachments embedded (`expand=…children.attachment.version`), then reads each changed page's
//! body. Cloud lists pages with bodies 250 a request through [`Content::space_tree`] (v2), and
//! each changed page's attachments through v2 `/pages/{id}/attachments` (`downloadLink`).

use serde_json::Value;

use super::{id_string, query, segment, Api, V2};

/// A listed attachment: where its bytes are (relative to the API base, or absolute).
#[derive(Debug, Clone, PartialEq)]
pub struct BulkAttachment {
    pub id: String,
    pub title: String,
    pub version: u64,
    pub download: String,
}

/// A page from a Data Center listing.
#[derive(Debug, Clone)]
pub struct BulkPage {
    pub id: String,
    pub title: String,
    pub version: u64,
    /// Ancestor ids, root first.
    pub ancestors: Vec<String>,
    pub attachments: Vec<BulkAttachment>,
    /// False when the embedded attachment list may be cut short (fetch the full list).
    pub attachments_complete: bool,
}

/// The first request of a Data Center space listing (follow next links for the rest).
pub fn dc_space_listing(space_key: &str) -> String {
    format!(
        "/rest/api/content?{}",
        query(&[
            ("spaceKey", space_key),
            ("type", "page"),
            ("status", "current"),
            ("limit", "100"),
            ("expand", "version,ancestors,children.attachment.version"),
        ])
    )
}

/// A Data Center page's storage body and version.
pub fn dc_page_body(id: &str) -> String {
    format!(
        "/rest/api/content/{}?expand=body.storage,version",
        segment(id)
    )
}

/// The first request of a page's attachment list.
pub fn attachment_listing(api: Api, page_id: &str) -> String {
    match api {
        Api::V1 => format!(
            "/rest/api/content/{}/child/attachment?limit=100&expand=version",
            segment(page_id)
        ),
        Api::CloudV2 => format!("{V2}/pages/{}/attachments?limit=250", segment(page_id)),
    }
}

/// One attachment of a listing (v1 `_links.download`, v2 `downloadLink`).
pub fn attachment(api: Api, v: &Value) -> Option<BulkAttachment> {
    let download = match api {
        Api::V1 => v.pointer("/_links/download").and_then(Value::as_str),
        Api::CloudV2 => v["downloadLink"]
            .as_str()
            .or(v.pointer("/_links/download").and_then(Value::as_str)),
    }?;
    let id = id_string(&v["id"]);
    if id.is_empty() {
        return None;
    }
    Some(BulkAttachment {
        id,
        title: v["title"].as_str()?.to_string(),
        version: v
            .pointer("/version/number")
            .and_then(Value::as_u64)
            .unwrap_or(1),
        download: download.to_string(),
    })
}

/// One page of a Data Center listing.
pub fn dc_page(v: &Value) -> Option<BulkPage> {
    let ancestors = v["ancestors"]
        .as_array()
        .map(|a| a.iter().map(|x| id_string(&x["id"])).collect())
        .unwrap_or_default();
    let (attachments, complete) = match v.pointer("/children/attachment") {
        Some(a) => {
            let list: Vec<BulkAttachment> = a["results"]
                .as_array()
                .map(|r| r.iter().filter_map(|x| attachment(Api::V1, x)).collect())
                .unwrap_or_default();
            let size = a["size"].as_u64().unwrap_or(list.len() as u64);
            let limit = a["limit"].as_u64().unwrap_or(u64::MAX);
            let more = a.pointer("/_links/next").is_some() || size >= limit;
            (list, !more)
        }
        None => (vec![], false),
    };
    let id = id_string(&v["id"]);
    if id.is_empty() {
        return None;
    }
    Some(BulkPage {
        id,
        title: v["title"].as_str()?.to_string(),
        version: v.pointer("/version/number").and_then(Value::as_u64)?,
        ancestors,
        attachments,
        attachments_complete: complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_dc_listing_and_v2_attachments() {
        let v = serde_json::json!({"id": "12", "title": "T", "version": {"number": 3},
            "ancestors": [{"id": "1"}, {"id": 5}],
            "children": {"attachment": {"results": [{"id": "att7", "title": "a.png",
                "version": {"number": 2}, "_links": {"download": "/download/attachments/12/a.png"}}],
                "size": 1, "limit": 25}}});
        let p = dc_page(&v).unwrap();
        assert_eq!(p.ancestors, vec!["1", "5"]);
        assert_eq!(p.attachments[0].version, 2);
        assert!(p.attachments_complete);
        assert!(dc_page(&serde_json::json!({"id": "1"})).is_none());
        let a = serde_json::json!({"id": "att9", "title": "b.txt", "version": {"number": 4},
            "downloadLink": "/download/attachments/12/b.txt?version=4"});
        assert_eq!(
            attachment(Api::CloudV2, &a).unwrap().download,
            "/download/attachments/12/b.txt?version=4"
        );
        assert!(attachment(Api::V1, &a).is_none(), "v1 has no downloadLink");
        assert_eq!(
            attachment_listing(Api::CloudV2, "12"),
            "/api/v2/pages/12/attachments?limit=250"
        );
    }
}
