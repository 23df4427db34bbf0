//! A typed Confluence content API on top of [`crate::http::Client`]: spaces, pages, CQL search,
//! attachments and labels, plus page references (`id`, URL, `SPACE:Title`).
//!
//! Every call goes through the v1 REST API (`/rest/api/...`), which Cloud and Data Center share;
//! the profile's API base (Cloud `SITE/wiki`, DC `BASE`) makes the same path work on both. The
//! types here are the stable, documented `--json` shapes of the commands, not the server's JSON.

pub mod attachment;
pub mod label;
pub mod page;
pub mod pageref;
pub mod search;
pub mod space;

use serde_json::Value;

use crate::http::{Client, Response};
use crate::paginate;

pub use attachment::Attachment;
pub use label::Label;
pub use page::{Page, PageDetail};
pub use pageref::PageRef;
pub use space::Space;

/// A failed call, with what the server said and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The server refused the request (`explanation` comes from [`Client::explain`]).
    #[error("{explanation}")]
    Http { status: u16, explanation: String },
    /// An update lost a race: someone saved a newer version meanwhile.
    #[error(
        "page {id} was changed by someone else meanwhile (you sent version {sent}; {server}). \
         Nothing was saved. Fetch the current page (`cfl page get {id} --body`), apply your \
         change to it, and run the update again."
    )]
    Conflict {
        id: String,
        sent: u64,
        server: String,
    },
    /// A lookup found nothing (a title, a file name).
    #[error("{0}")]
    NotFound(String),
}

impl ContentError {
    /// The HTTP status behind the error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ContentError::Http { status, .. } => Some(*status),
            ContentError::Conflict { .. } => Some(409),
            ContentError::NotFound(_) => None,
        }
    }
}

/// The content API of one site.
pub struct Content<'a> {
    pub client: &'a Client,
}

/// v1 pages hold at most 100 results for content (the server clamps larger limits silently).
const V1_PAGE: usize = 100;

/// Percent-encodes one path segment (a space key, a label, a file name).
pub fn segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `k=v&…`, each value encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

impl<'a> Content<'a> {
    pub fn new(client: &'a Client) -> Content<'a> {
        Content { client }
    }

    /// The failure of `r` as a typed error.
    pub fn error(&self, r: &Response) -> ContentError {
        ContentError::Http {
            status: r.status,
            explanation: self.client.explain(r),
        }
    }

    /// Sends a request with an optional JSON body; a non-2xx answer is an error.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Response> {
        let url = self.client.url(path)?;
        let mut headers = Vec::new();
        let bytes = match body {
            Some(b) => {
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
                Some(serde_json::to_vec(b)?)
            }
            None => None,
        };
        let r = self.client.send(method, &url, &headers, bytes).await?;
        if !r.is_success() {
            return Err(self.error(&r).into());
        }
        Ok(r)
    }

    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        self.call("GET", path, None).await?.json()
    }

    /// Follows v1 `_links.next` from `path` (which carries its own query) until `limit` results
    /// (all when `None`) are collected.
    pub async fn collect(&self, path: &str, limit: Option<usize>) -> anyhow::Result<Vec<Value>> {
        let per_page = limit.unwrap_or(V1_PAGE).clamp(1, V1_PAGE).to_string();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = self
            .client
            .url(&format!("{path}{sep}{}", query(&[("limit", &per_page)])))?;
        let mut out = Vec::new();
        loop {
            let r = self.client.send("GET", &url, &[], None).await?;
            if !r.is_success() {
                return Err(self.error(&r).into());
            }
            let v = r.json()?;
            let results = v["results"].as_array().cloned().unwrap_or_default();
            let got = results.len();
            out.extend(results);
            if limit.is_some_and(|l| out.len() >= l) {
                out.truncate(limit.unwrap_or(usize::MAX));
                break;
            }
            match paginate::next_link(r.header("link"), &v) {
                Some(next) if got > 0 => {
                    url = self
                        .client
                        .url(&paginate::resolve(self.client.api_base(), &next))?;
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// The absolute web address of `_links.webui` (relative to `_links.base`, else the API base).
    pub fn web_url(&self, v: &Value) -> String {
        let webui = v["_links"]["webui"].as_str().unwrap_or("");
        if webui.is_empty() {
            return String::new();
        }
        if webui.starts_with("http://") || webui.starts_with("https://") {
            return webui.to_string();
        }
        let base = v["_links"]["base"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| self.client.api_base().as_str().to_string());
        format!("{}{}", base.trim_end_matches('/'), webui)
    }
}

/// A JSON id that may be a string or a number, as a string.
pub fn id_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}
