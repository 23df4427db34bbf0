//! The [`Content`] handle: which API it speaks ([`Api`]), its space key ↔ id cache, and the
//! request helpers every resource file uses (calls, paging, paths, web links).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::deployment::Deployment;
use crate::http::{Client, Response};
use crate::paginate;

/// Which REST API a [`Content`] speaks, chosen once from the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Data Center: v1 `/rest/api` for everything.
    V1,
    /// Cloud: v2 `/api/v2` wherever it exists, v1 for the rest.
    CloudV2,
}

impl Api {
    pub fn for_deployment(d: Deployment) -> Api {
        if d.is_cloud() {
            Api::CloudV2
        } else {
            Api::V1
        }
    }
}

/// Space keys and v2 space ids, both ways (Cloud v2 addresses spaces by id).
#[derive(Default)]
struct SpaceIds {
    id_of: HashMap<String, String>,
    key_of: HashMap<String, String>,
}

/// The content API of one site.
pub struct Content<'a> {
    pub client: &'a Client,
    pub(super) api: Api,
    spaces: Mutex<SpaceIds>,
}

/// v1 pages hold at most 100 results for content (the server clamps larger limits silently).
pub(super) const V1_PAGE: usize = 100;
/// v2 lists hold at most 250 results.
pub(super) const V2_PAGE: usize = 250;
/// Where v2 paths start, relative to the Cloud API base (`SITE/wiki`).
pub const V2: &str = "/api/v2";

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
    /// The content API for `client`'s site, speaking the API its deployment offers.
    pub fn new(client: &'a Client) -> Content<'a> {
        Content::with_api(client, Api::for_deployment(client.cred.deployment))
    }

    pub fn with_api(client: &'a Client, api: Api) -> Content<'a> {
        Content {
            client,
            api,
            spaces: Mutex::new(SpaceIds::default()),
        }
    }

    pub fn api(&self) -> Api {
        self.api
    }

    pub(super) fn remember_space(&self, key: &str, id: &str) {
        if key.is_empty() || id.is_empty() {
            return;
        }
        let mut s = self.spaces.lock().unwrap_or_else(|e| e.into_inner());
        s.id_of.insert(key.to_string(), id.to_string());
        s.key_of.insert(id.to_string(), key.to_string());
    }

    pub(super) fn known_space_id(&self, key: &str) -> Option<String> {
        let s = self.spaces.lock().unwrap_or_else(|e| e.into_inner());
        s.id_of.get(key).cloned()
    }

    pub(super) fn known_space_key(&self, id: &str) -> Option<String> {
        let s = self.spaces.lock().unwrap_or_else(|e| e.into_inner());
        s.key_of.get(id).cloned()
    }

    /// The failure of `r` as a typed error.
    pub fn error(&self, r: &Response) -> crate::Error {
        self.client.refusal(r, "")
    }

    /// Sends a request with an optional JSON body; a non-2xx answer is an error.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> crate::error::Result<Response> {
        let url = self.client.url(path)?;
        let mut headers = Vec::new();
        let bytes = match body {
            Some(b) => {
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
                Some(serde_json::to_vec(b).map_err(|e| crate::Error::internal(&e))?)
            }
            None => None,
        };
        let r = self.client.send(method, &url, &headers, bytes).await?;
        if !r.is_success() {
            return Err(self.error(&r));
        }
        Ok(r)
    }

    pub async fn get_json(&self, path: &str) -> crate::error::Result<Value> {
        self.call("GET", path, None).await?.json()
    }

    /// Follows next links (`Link` header, else `_links.next`: v1 offsets and v2 cursors alike)
    /// from `path` (which carries its own query) until `limit` results (all when `None`) are
    /// collected, asking for as many per request as the API allows (v1 100, v2 250).
    pub async fn collect(
        &self,
        path: &str,
        limit: Option<usize>,
    ) -> crate::error::Result<Vec<Value>> {
        let most = if path.starts_with(V2) {
            V2_PAGE
        } else {
            V1_PAGE
        };
        let per_page = limit.unwrap_or(most).clamp(1, most).to_string();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = self
            .client
            .url(&format!("{path}{sep}{}", query(&[("limit", &per_page)])))?;
        let mut out = Vec::new();
        loop {
            let r = self.client.send("GET", &url, &[], None).await?;
            if !r.is_success() {
                return Err(self.error(&r));
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
