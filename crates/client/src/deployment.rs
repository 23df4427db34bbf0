//! Which kind of Confluence a URL is: Cloud (`*.atlassian.net`), Cloud through the API gateway
//! (`api.atlassian.com/ex/confluence/CLOUD_ID`), or Data Center — decided from the host name when
//! it says, else by a probe (`/_edge/tenant_info` answers only on Cloud), and `--deployment` wins.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deployment {
    #[serde(rename = "cloud")]
    Cloud,
    #[serde(rename = "cloud-scoped")]
    CloudScoped,
    #[serde(rename = "dc")]
    DataCenter,
}

impl Deployment {
    pub fn as_str(self) -> &'static str {
        match self {
            Deployment::Cloud => "cloud",
            Deployment::CloudScoped => "cloud-scoped",
            Deployment::DataCenter => "dc",
        }
    }

    pub fn parse(s: &str) -> Result<Deployment> {
        match s {
            "cloud" => Ok(Deployment::Cloud),
            "cloud-scoped" => Ok(Deployment::CloudScoped),
            "dc" | "datacenter" | "data-center" | "server" => Ok(Deployment::DataCenter),
            _ => Err(Error::Invalid(format!(
                "unknown deployment {s:?}; expected cloud, cloud-scoped or dc"
            ))),
        }
    }

    pub fn is_cloud(self) -> bool {
        self != Deployment::DataCenter
    }
}

impl std::fmt::Display for Deployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a site URL given by a user: adds `https://` when no scheme, drops a trailing `/`.
pub fn parse_site(input: &str) -> Result<Url> {
    let input = input.trim();
    let with_scheme = if input.contains("://") {
        input.to_string()
    } else {
        format!("https://{input}")
    };
    let mut url = Url::parse(&with_scheme)
        .map_err(|e| Error::Invalid(format!("{input:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::Invalid(format!("{input:?} is not an http(s) URL")));
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

/// What the URL alone says. `None`: could be anything (a DC, or a Cloud behind a custom name).
pub fn classify(url: &Url) -> Option<Deployment> {
    let host = url.host_str()?.to_ascii_lowercase();
    if host.ends_with(".atlassian.net") || host.ends_with(".jira.com") {
        return Some(Deployment::Cloud);
    }
    if gateway_cloud_id(url).is_some() {
        return Some(Deployment::CloudScoped);
    }
    None
}

/// `…/ex/confluence/{cloudId}` in the path → the cloud id.
pub fn gateway_cloud_id(url: &Url) -> Option<String> {
    let segs: Vec<&str> = url.path_segments()?.collect();
    let i = segs.windows(2).position(|w| w == ["ex", "confluence"])?;
    segs.get(i + 2)
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string())
}

/// A Cloud site's root: without a trailing `/wiki` (the REST base adds it back).
pub fn cloud_site_root(url: &Url) -> Url {
    let mut u = url.clone();
    let p = u
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/wiki")
        .to_string();
    u.set_path(&p);
    u
}

/// Joins a base URL and a path without losing the base's path.
pub fn join(base: &Url, path: &str) -> String {
    format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The REST base for a Cloud site (`SITE/wiki`).
pub fn cloud_api_base(site: &Url) -> String {
    join(&cloud_site_root(site), "wiki")
}

/// The REST base through the API gateway (`GATEWAY/ex/confluence/ID/wiki`).
pub fn scoped_api_base(gateway: &Url, cloud_id: &str) -> String {
    join(gateway, &format!("ex/confluence/{cloud_id}/wiki"))
}

/// Asks the server: Cloud answers `/_edge/tenant_info` with a cloud id; a DC answers its REST API
/// (with JSON, even a 401) at the URL given. Anything else is not a Confluence we know.
pub async fn probe(http: &reqwest::Client, site: &Url) -> Result<(Deployment, Option<String>)> {
    if let Ok(id) = tenant_cloud_id(http, site).await {
        return Ok((Deployment::Cloud, Some(id)));
    }
    let url = join(site, "rest/api/user/current");
    let resp = http
        .get(&url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| Error::transport(format!("cannot reach {site}"), e))?;
    let is_json = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let status = resp.status().as_u16();
    if is_json && matches!(status, 200 | 401 | 403) {
        return Ok((Deployment::DataCenter, None));
    }
    Err(Error::Invalid(format!(
        "{site} does not look like Confluence (GET {url} answered {status}); \
         check the URL (DC: include the context path, e.g. https://host/confluence) or pass --deployment"
    )))
}

/// Discovers the cloud id from `SITE/_edge/tenant_info`.
pub async fn tenant_cloud_id(http: &reqwest::Client, site: &Url) -> Result<String> {
    let url = join(&cloud_site_root(site), "_edge/tenant_info");
    let resp = http
        .get(&url)
        .send()
        .await
        .map_err(|e| Error::transport(format!("cannot reach {url}"), e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(Error::Request(format!(
            "GET {url} answered {status}: cannot discover the cloud id"
        )));
    }
    let v: serde_json::Value = resp
        .json()
        .await
        .map_err(|e| Error::transport("tenant_info is not JSON", e))?;
    v["cloudId"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| Error::Request(format!("GET {url} has no cloudId")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_urls() {
        let u = parse_site("acme.atlassian.net/wiki/").unwrap();
        assert_eq!(classify(&u), Some(Deployment::Cloud));
        assert_eq!(cloud_api_base(&u), "https://acme.atlassian.net/wiki");
        let g = parse_site("https://api.atlassian.com/ex/confluence/abc-123/wiki").unwrap();
        assert_eq!(classify(&g), Some(Deployment::CloudScoped));
        assert_eq!(gateway_cloud_id(&g).as_deref(), Some("abc-123"));
        let d = parse_site("http://conf.example.com:8090/confluence/").unwrap();
        assert_eq!(classify(&d), None);
        assert_eq!(d.as_str(), "http://conf.example.com:8090/confluence");
        assert_eq!(
            join(&d, "/rest/api/space"),
            "http://conf.example.com:8090/confluence/rest/api/space"
        );
        let gw = parse_site("http://127.0.0.1:9/").unwrap();
        assert_eq!(
            scoped_api_base(&gw, "id"),
            "http://127.0.0.1:9/ex/confluence/id/wiki"
        );
        assert!(parse_site("ftp://x").is_err());
        assert!(Deployment::parse("mainframe").is_err());
    }
}
