//! What `cfl export` needs beyond the daily commands, per flavour. Export sends these requests
//! itself, through its adaptive limiter (`crate::export`), so this module gives the paths and
//! reads the answers rather than sending: the paths stay here, in the content layer.
//!
//! Data Center lists a space 100 pages a request with versions, ancestors and the first
//! attachments embedded (`expand=…children.attachment.version`), then reads each changed page's
//! body. Cloud lists pages with bodies 250 a request through [`Content::space_tree`] (v2), and
//! each changed page's attachments through v2 `/pages/{id}/attachments` (`downloadLink`).

use serde_json::Value;

use super::{id_string, query, segment, Api, Content, V2};

/// A listed attachment: where its bytes are (an absolute URL on the API base).
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

/// One attachment of a listing (v1 `_links.download`, v2 `downloadLink`), read as the daily
/// commands read it; `None` without an id, a title or a download link.
pub fn attachment(c: &Content<'_>, v: &Value) -> Option<BulkAttachment> {
    let a = match c.api() {
        Api::V1 => c.attachment_from(v),
        Api::CloudV2 => c.attachment_from_v2(v),
    };
    if a.id.is_empty() || a.title.is_empty() || a.download_url.is_empty() {
        return None;
    }
    Some(BulkAttachment {
        id: a.id,
        title: a.title,
        // A listing without versions: every run sees the same one.
        version: a.version.max(1),
        download: a.download_url,
    })
}

/// One page of a Data Center listing (`c` reads its embedded attachments).
pub fn dc_page(c: &Content<'_>, v: &Value) -> Option<BulkPage> {
    let ancestors = v["ancestors"]
        .as_array()
        .map(|a| a.iter().map(|x| id_string(&x["id"])).collect())
        .unwrap_or_default();
    let (attachments, complete) = match v.pointer("/children/attachment") {
        Some(a) => {
            let list: Vec<BulkAttachment> = a["results"]
                .as_array()
                .map(|r| r.iter().filter_map(|x| attachment(c, x)).collect())
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

    fn client() -> crate::Client {
        let cred = crate::Credential::new(
            crate::Method::Pat,
            crate::Deployment::DataCenter,
            "https://wiki.example.com/",
            None,
            "not-a-secret".into(),
            crate::credentials::Source::Env,
        )
        .unwrap();
        crate::Client::new(cred, &crate::ClientOptions::default()).unwrap()
    }

    #[test]
    fn reads_a_dc_listing_and_v2_attachments() {
        let client = client();
        let v1 = Content::with_api(&client, Api::V1);
        let v2 = Content::with_api(&client, Api::CloudV2);
        let v = serde_json::json!({"id": "12", "title": "T", "version": {"number": 3},
            "ancestors": [{"id": "1"}, {"id": 5}],
            "children": {"attachment": {"results": [{"id": "att7", "title": "a.png",
                "version": {"number": 2}, "_links": {"download": "/download/attachments/12/a.png"}}],
                "size": 1, "limit": 25}}});
        let p = dc_page(&v1, &v).unwrap();
        assert_eq!(p.ancestors, vec!["1", "5"]);
        assert_eq!(p.attachments[0].version, 2);
        assert_eq!(
            p.attachments[0].download,
            "https://wiki.example.com/download/attachments/12/a.png"
        );
        assert!(p.attachments_complete);
        assert!(dc_page(&v1, &serde_json::json!({"id": "1"})).is_none());
        let a = serde_json::json!({"id": "att9", "title": "b.txt", "version": {"number": 4},
            "downloadLink": "/download/attachments/12/b.txt?version=4"});
        assert_eq!(
            attachment(&v2, &a).unwrap().download,
            "https://wiki.example.com/download/attachments/12/b.txt?version=4"
        );
        assert!(attachment(&v1, &a).is_none(), "v1 has no downloadLink");
        assert!(
            attachment(
                &v2,
                &serde_json::json!({"title": "c.txt", "downloadLink": "/d"})
            )
            .is_none(),
            "no id"
        );
        assert_eq!(
            attachment_listing(Api::CloudV2, "12"),
            "/api/v2/pages/12/attachments?limit=250"
        );
    }
}
